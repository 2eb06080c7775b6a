// One attached peer process as the broker sees it: its segment (layout.ts), a reader of its
// request ring and a writer of its completion ring, and what the broker owes it that did not
// fit in the ring yet. Everything here is the broker's private memory except the segment.
import type { PeerId } from '../../spec/types';
import { MAGIC, TAG, W, type SegmentLayout, maxRequestBytes } from './layout';
import type { Limits } from '../../spec/types';
import { RingReader, RingWriter } from './ring';

/** What a session counted: the hostile-peer tests and the statistics read these. */
export interface SessionCounters {
  requests: number;
  /** Requests answered with an error, by code (frame errors not included). */
  errors: Record<string, number>;
  /** Requests that were not an operation of the spec a peer may invoke (undecodable, or an owner's operation). */
  notOperations: number;
  /** Requests naming a peer id other than the session's own (the field is replaced). */
  peerFieldReplaced: number;
  /** Times the request ring's bytes could not be read as records; all published bytes were discarded. */
  frameErrors: number;
  discardedBytes: number;
  /** Bells rung while the ring held nothing new. */
  idleBells: number;
  /** Completions of pending operations given to the peer (TIME-2). */
  completions: number;
  /** Records written to the peer, and bytes kept back because its ring was full. */
  recordsOut: number;
  maxBacklogBytes: number;
}

/** A record owed to the peer: its bytes (a private copy) and how much of it was written. */
interface Owed {
  tag: number;
  id: number;
  bytes: Buffer;
  written: number;
}

export class Session {
  readonly i32: Int32Array;
  readonly requests: RingReader;
  readonly completions: RingWriter;
  /** Records not yet (wholly) in the completion ring, oldest first. */
  private readonly owed: Owed[] = [];
  private owedBytes = 0;
  /** Written since the last publish. */
  dirty = false;
  /** Whether a record written since the last publish must wake the peer's sleeping threads. */
  private wakeDue = false;
  /** The bell's value when the broker last looked. */
  bellSeen = 0;
  /** False once the process is gone (its peer closed); the session is then dropped. */
  live = true;
  readonly counters: SessionCounters = {
    requests: 0,
    errors: {},
    notOperations: 0,
    peerFieldReplaced: 0,
    frameErrors: 0,
    discardedBytes: 0,
    idleBells: 0,
    completions: 0,
    recordsOut: 0,
    maxBacklogBytes: 0,
  };

  constructor(
    readonly peer: PeerId,
    sab: SharedArrayBuffer,
    readonly layout: SegmentLayout,
    limits: Limits,
  ) {
    this.i32 = new Int32Array(sab);
    const u8 = new Uint8Array(sab);
    if (this.i32[W.MAGIC] !== MAGIC) throw new Error(`the segment of peer ${peer} is not laid out`);
    this.requests = new RingReader(
      this.i32,
      u8,
      layout.requestOffsetBytes,
      layout.requestBytes,
      W.REQ_TAIL,
      W.REQ_HEAD,
      Math.min(layout.requestBytes, maxRequestBytes(limits) + 64),
      [TAG.REQUEST],
      false,
    );
    this.completions = new RingWriter(
      this.i32,
      u8,
      layout.completionOffsetBytes,
      layout.completionBytes,
      W.CPL_TAIL,
      W.CPL_HEAD,
    );
  }

  /** Whether records are owed: the broker takes no new request from the peer until they are written. */
  get backlogged(): boolean {
    return this.owed.length > 0;
  }

  /**
   * Owes the peer a record with body src[0 .. bytes): written now as far as the ring has room,
   * the rest (in fragments) when the peer has read what is before it. `wake`: false for a record
   * no sleeping thread of the peer waits for (it is published, but wakes no one).
   */
  give(tag: number, id: number, src: Buffer, bytes: number, wake = true): void {
    if (wake) this.wakeDue = true;
    if (this.owed.length === 0) {
      const n = this.completions.write(tag, id, 0, src, 0, bytes, true);
      if (n >= 0) this.dirty = true;
      if (n === bytes) {
        this.counters.recordsOut++;
        return;
      }
      this.keep(tag, id, src, Math.max(n, 0), bytes);
      return;
    }
    this.keep(tag, id, src, 0, bytes);
  }

  private keep(tag: number, id: number, src: Buffer, written: number, bytes: number): void {
    const copy = Buffer.allocUnsafe(bytes);
    src.copy(copy, 0, 0, bytes);
    this.owed.push({ tag, id, bytes: copy, written });
    this.owedBytes += bytes - written;
    if (this.owedBytes > this.counters.maxBacklogBytes) this.counters.maxBacklogBytes = this.owedBytes;
    Atomics.store(this.i32, W.CPL_WANTED, 1);
  }

  /** Writes what is owed as far as the ring has room; whether anything was written. */
  flush(): boolean {
    let wrote = false;
    this.wakeDue = true;
    while (this.owed.length > 0) {
      const o = this.owed[0];
      const left = o.bytes.length - o.written;
      const n = this.completions.write(o.tag, o.id, 0, o.bytes, o.written, left, true);
      if (n < 0) break;
      wrote = true;
      this.dirty = true;
      o.written += n;
      this.owedBytes -= n;
      if (n < left) break;
      this.owed.shift();
      this.counters.recordsOut++;
    }
    if (this.owed.length === 0) Atomics.store(this.i32, W.CPL_WANTED, 0);
    return wrote;
  }

  /** Publishes the records written (and wakes the peer's threads asleep on them). */
  publish(notify: (i32: Int32Array, index: number) => void): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.completions.publish();
    if (!this.wakeDue) return;
    this.wakeDue = false;
    if (Atomics.load(this.i32, W.PEER_SLEEPERS) !== 0) notify(this.i32, W.CPL_TAIL);
  }

  /** Publishes how far the broker read the requests (and wakes a peer thread waiting for room). */
  releaseRequests(notify: (i32: Int32Array, index: number) => void): void {
    this.requests.release();
    if (Atomics.load(this.i32, W.ROOM_WAITERS) !== 0) notify(this.i32, W.REQ_HEAD);
  }

  countError(code: string): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
  }
}
