// The broker's engine room: the bus, in the broker's private memory, and the sessions of the
// peer processes. A round takes requests from the sessions' rings in turn, reads each once into
// private memory, decodes and checks it, runs it on the bus, and writes the result and every
// completion the step produced into the rings of the peers they belong to.
//
// The bus is the formal model's state in the broker's private memory, stepped in place by the
// model's transition (engine.ts): the broker is the only writer of every table, tree, quota,
// queue and of the bus order, and it checks nothing the bus checks (names, rights, sizes, limits
// are the bus's rules, ERR-1). What it adds is what a process boundary needs: who is asking (the session, never a
// field of the request), which operations a peer may invoke (not the owner's attach and tick),
// and bytes that cannot be a request at all.
import type { Completion, Invocation, Limits, Operation, PeerId, Result } from '../../spec/types';
import { OPERATIONS } from '../../spec/registry/operations';
import { ModelEngine } from './engine';
import { Malformed, ValueReader, ValueWriter } from './codec';
import { QUIET_PENDING, TAG, W, type SegmentLayout } from './layout';
import { isFrameError, type RecordRef } from './ring';
import { Session, type SessionCounters } from './session';

/** The operations a peer may invoke (spec/registry/operations: `by: 'peer'`). */
const PEER_OPERATIONS: ReadonlySet<string> = new Set(OPERATIONS.filter((o) => o.by === 'peer').map((o) => o.name));

/** Requests one session may have executed in one turn before the next session's turn (fairness). */
export const REQUESTS_PER_TURN = 16;

/** How the broker's bus is sized and clocked. */
export interface BrokerBusOptions {
  limits?: Partial<Limits>;
  /**
   * 'real' (default): the broker moves the bus clock to the time elapsed since its start before
   * every operation with a timeout and whenever a deadline it knows of is due (TIME-1 allows late,
   * never early). 'virtual': only the owner's tick moves it (TIME-1, the conformance driver).
   */
  clock?: 'real' | 'virtual';
}

/** Totals over the broker's life, for the benchmark's account of where the time goes. */
export interface BrokerTimes {
  requests: number;
  /** Nanoseconds reading requests out of the rings and decoding them. */
  decodeNs: number;
  /** Nanoseconds running operations on the bus. */
  runNs: number;
  /** Nanoseconds encoding results and completions and writing them into rings. */
  encodeNs: number;
  /** Requests taken out of the rings (counted whether or not the path is timed). */
  taken: number;
  /** Rounds that found work, and the broker thread's sleeps on its futex words. */
  busyRounds: number;
  sleeps: number;
  /** Futex wakes the broker issued that woke a peer thread. */
  wakes: number;
}

/** Fresh totals. */
export function zeroTimes(): BrokerTimes {
  return { requests: 0, decodeNs: 0, runNs: 0, encodeNs: 0, taken: 0, busyRounds: 0, sleeps: 0, wakes: 0 };
}

export type Notify = (i32: Int32Array, index: number) => void;

const INVALID: Invocation = { ok: false, error: 'INVALID_ARGUMENT' };

export class BrokerCore {
  readonly bus: ModelEngine;
  private readonly sessions: Session[] = [];
  private readonly byPeer = new Map<PeerId, Session>();
  private readonly writer = new ValueWriter(64 * 1024);
  private readonly reader = new ValueReader({ bytesAsBase64: true });
  private next = 0;
  /** The bus clock as the broker last set it, and when it started (real clock). */
  private busNowMs = 0;
  private readonly startMs = performance.now();
  private readonly realClock: boolean;
  /** Deadlines of pending operations with a timeout (real clock), by ticket. */
  private readonly deadlines = new Map<number, number>();
  private earliestDeadline = Infinity;
  /** Timing of the request path (only with `timed`). */
  readonly times: BrokerTimes = zeroTimes();
  timed = false;

  constructor(
    options: BrokerBusOptions,
    private readonly notify: Notify,
  ) {
    this.bus = new ModelEngine(options.limits ?? {});
    this.realClock = (options.clock ?? 'real') === 'real';
  }

  get limits(): Limits {
    return this.bus.limits;
  }

  // ------------------------------------------------------------------ the owner's side

  /**
   * An operation of the bus owner (attach, tick), or any operation the owner runs itself: the
   * owner is trusted. Completions go to the sessions of their peers and are also returned.
   */
  ownerRun(op: Operation): { invocation: Invocation; completions: Completion[] } {
    if (this.realClock && op.op !== 'tick') this.catchUp();
    const invocation = this.bus.run(op);
    const completions = this.bus.lastCompletions;
    if (op.op === 'tick' && !('pending' in invocation) && invocation.ok)
      this.busNowMs = (invocation.value as { nowMs: number }).nowMs;
    this.route(completions);
    this.publishAll();
    return { invocation, completions };
  }

  /** A session for an attached peer whose process has received its segment. */
  addSession(peer: PeerId, sab: SharedArrayBuffer, layout: SegmentLayout): void {
    if (this.byPeer.has(peer)) throw new Error(`peer ${peer} has a session already`);
    const s = new Session(peer, sab, layout, this.limits);
    this.sessions.push(s);
    this.byPeer.set(peer, s);
  }

  /**
   * The peer's process is gone (it died or hung up): its peer is closed with the spec's close
   * (CLOSE-1..4) if it is still open, its session dropped. Returns the completions of the close.
   */
  peerGone(peer: PeerId): Completion[] {
    const s = this.byPeer.get(peer);
    if (s) {
      s.live = false;
      this.byPeer.delete(peer);
      this.sessions.splice(this.sessions.indexOf(s), 1);
    }
    const r = this.bus.run({ op: 'close', peer });
    const completions = this.bus.lastCompletions;
    this.route(completions);
    this.publishAll();
    return 'pending' in r || r.ok ? completions : [];
  }

  counters(peer: PeerId): SessionCounters | null {
    return this.byPeer.get(peer)?.counters ?? null;
  }

  /** Completions given to each session so far, by peer (a driver waits until each process has read as many). */
  completionsGiven(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const s of this.sessions) out[s.peer] = s.counters.completions;
    return out;
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  // ------------------------------------------------------------------ rounds

  /**
   * One round: each session in turn (starting one further each round) gets its owed records
   * written, then, if it owes nothing, up to REQUESTS_PER_TURN requests executed. Returns how
   * many requests were executed and backlogs written (0: nothing to do).
   */
  round(): number {
    const n = this.sessions.length;
    if (n === 0) return 0;
    let executed = 0;
    const first = this.next++ % n;
    for (let k = 0; k < n; k++) {
      const s = this.sessions[(first + k) % n];
      if (s === undefined) continue;
      if (s.backlogged) {
        // What it is owed first, published at once (the peer may be asleep waiting for it).
        if (!s.flush()) continue;
        s.publish(this.notify);
        executed++;
        if (s.backlogged) continue;
      }
      if (!s.requests.poll()) continue;
      let took = 0;
      for (; took < REQUESTS_PER_TURN && !s.backlogged && s.live; took++) {
        const t0 = this.timed ? process.hrtime.bigint() : 0n;
        const rec = s.requests.next();
        if (rec === null) break;
        if (isFrameError(rec)) {
          s.counters.frameErrors++;
          s.counters.discardedBytes += rec.bytes;
          this.give(s, TAG.DISCARDED, 0, { reason: rec.frameError, bytes: rec.bytes });
          continue;
        }
        this.execute(s, rec, t0);
      }
      executed += took;
      this.times.taken += took;
      s.releaseRequests(this.notify);
      this.publishAll();
    }
    if (this.realClock && this.deadlines.size > 0 && this.elapsedMs() >= this.earliestDeadline) {
      this.catchUp();
      this.publishAll();
    }
    if (executed > 0) this.times.busyRounds++;
    return executed;
  }

  /** One request: decode (from the private copy), check who may do what, run, answer. */
  private execute(s: Session, rec: RecordRef, t0: bigint): void {
    s.counters.requests++;
    const aux = rec.aux,
      id = rec.id;
    const decoded = this.reader.read(rec.body, rec.bodyStart, rec.bodyStart + rec.bodyBytes);
    const op = this.operationOf(s, decoded);
    let invocation: Invocation;
    let completions: Completion[] = [];
    const t1 = this.timed ? process.hrtime.bigint() : 0n;
    if (op === null) {
      s.counters.notOperations++;
      invocation = INVALID;
    } else {
      const timeoutMs = (op as { timeoutMs?: unknown }).timeoutMs;
      const timed = this.realClock && typeof timeoutMs === 'number';
      if (timed) this.catchUp();
      invocation = this.bus.run(op);
      completions = this.bus.lastCompletions;
      if (timed && 'pending' in invocation && (timeoutMs as number) > 0)
        this.track(invocation.ticket, timeoutMs as number);
    }
    const t2 = this.timed ? process.hrtime.bigint() : 0n;
    if (!('pending' in invocation) && !invocation.ok) s.countError(invocation.error);
    // A pending answer to a peer that blocks until the completion wakes no one (QUIET_PENDING).
    this.give(s, TAG.RESULT, id, invocation, !('pending' in invocation && (aux & QUIET_PENDING) !== 0));
    this.route(completions);
    if (this.timed) {
      const t3 = process.hrtime.bigint();
      const times = this.times;
      times.requests++;
      times.decodeNs += Number(t1 - t0);
      times.runNs += Number(t2 - t1);
      times.encodeNs += Number(t3 - t2);
    }
  }

  /**
   * The operation a decoded request asks for, as this session's peer; null when it is not an
   * operation a peer may invoke. Segments sent as bytes become the spec's base64.
   */
  private operationOf(s: Session, v: unknown): Operation | null {
    if (v instanceof Malformed || typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const o = v as Record<string, unknown>;
    if (typeof o.op !== 'string' || !PEER_OPERATIONS.has(o.op)) return null;
    if (o.peer !== undefined && o.peer !== s.peer) s.counters.peerFieldReplaced++;
    // Who asks is the session, whatever the request says (PEER-2 then checks that peer).
    o.peer = s.peer;
    const m = o.message as { segments?: unknown } | undefined;
    if (typeof m === 'object' && m !== null && Array.isArray(m.segments)) {
      const segs = m.segments as unknown[];
      for (let i = 0; i < segs.length; i++)
        if (segs[i] instanceof Uint8Array) segs[i] = Buffer.from(segs[i] as Uint8Array).toString('base64');
    }
    return o as unknown as Operation;
  }

  /** Completions to the sessions of the peers they belong to (a peer without one gets none: it is gone). */
  private route(completions: readonly Completion[]): void {
    for (const c of completions) {
      if (this.deadlines.delete(c.ticket) && this.deadlines.size === 0) this.earliestDeadline = Infinity;
      const s = this.byPeer.get(c.peer);
      if (!s) continue;
      s.counters.completions++;
      this.give(s, TAG.COMPLETION, 0, { ticket: c.ticket, op: c.op, result: c.result });
    }
  }

  private give(s: Session, tag: number, id: number, value: unknown, wake = true): void {
    const w = this.writer;
    w.reset();
    w.write(value);
    s.give(tag, id, w.buf, w.pos, wake);
  }

  private publishAll(): void {
    for (const s of this.sessions) if (s.dirty) s.publish(this.notify);
  }

  // ------------------------------------------------------------------ the real clock

  private elapsedMs(): number {
    return Math.floor(performance.now() - this.startMs);
  }

  private track(ticket: number, timeoutMs: number): void {
    const deadline = this.busNowMs + timeoutMs;
    if (!Number.isSafeInteger(deadline)) return; // TIME-3: no deadline
    this.deadlines.set(ticket, deadline);
    if (deadline < this.earliestDeadline) this.earliestDeadline = deadline;
  }

  /** TIME-1: the bus clock moves to the time elapsed since the broker started; what is due expires. */
  private catchUp(): void {
    const target = this.elapsedMs();
    if (target <= this.busNowMs) return;
    const r = this.bus.run({ op: 'tick', ms: target - this.busNowMs });
    if ('pending' in r || !r.ok) return;
    this.busNowMs = (r.value as { nowMs: number }).nowMs;
    this.route(this.bus.lastCompletions);
    this.earliestDeadline = Infinity;
    for (const d of this.deadlines.values()) if (d < this.earliestDeadline) this.earliestDeadline = d;
  }

  /** Milliseconds until the earliest deadline the broker knows of (Infinity: none). */
  msToDeadline(): number {
    return this.earliestDeadline === Infinity ? Infinity : Math.max(0, this.earliestDeadline - this.elapsedMs());
  }

  // ------------------------------------------------------------------ sleeping

  /** Whether a session's ring holds a request not yet taken, or its owed records can now be written. */
  anyWork(): boolean {
    for (const s of this.sessions) {
      if (s.requests.poll() && !s.backlogged) return true;
      if (s.backlogged && s.completions.free() > 64) return true;
    }
    return false;
  }

  /**
   * Before sleeping: tells every peer that the broker may sleep (so a peer rings after publishing),
   * then looks once more; returns the bells to sleep on, or null if there is work after all.
   * The peer stores its tail and then reads BROKER_SLEEPING; the broker stores BROKER_SLEEPING and
   * then reads the tail: one of the two sees the other (all sequentially consistent).
   */
  prepareSleep(): { sessions: Session[]; bells: number[] } | null {
    const sessions = this.sessions;
    for (const s of sessions) Atomics.store(s.i32, W.BROKER_SLEEPING, 1);
    const bells = sessions.map((s) => Atomics.load(s.i32, W.BELL));
    if (this.anyWork()) {
      this.wake();
      return null;
    }
    return { sessions: sessions.slice(), bells };
  }

  /** After sleeping (or deciding not to): peers need not ring. Counts bells that rang for nothing. */
  wake(): void {
    for (const s of this.sessions) {
      Atomics.store(s.i32, W.BROKER_SLEEPING, 0);
      const bell = Atomics.load(s.i32, W.BELL);
      if (bell !== s.bellSeen) {
        if (!s.requests.poll() && !s.backlogged) s.counters.idleBells++;
        s.bellSeen = bell;
      }
    }
  }

  /** The result of an invocation, for callers that only need ok/err. */
  static resultOf(i: Invocation): Result | null {
    return 'pending' in i ? null : i;
  }
}
