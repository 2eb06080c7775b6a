// A peer process's side of a broker: it connects to the owner's socket, receives its segment
// (checking that it is sealed against shrinking, so no one can truncate it under the mapping),
// and from then on speaks to the broker only through the segment's two rings. Operations are the
// spec's (spec/types.ts Operation, without `peer`: the broker knows who is asking); answers are
// the spec's Invocation, and completions of pending operations arrive as the spec's Completion.
// Payload segments may be given as bytes (Uint8Array) instead of base64.
import * as fs from 'fs';
import * as net from 'net';
import type { Completion, Delivery, HandleName, Invocation, Limits, PeerId, Result } from '../../spec/types';
import { TesseraError } from '../common';
import { mapSegment, notify, receiveFds, segmentSeals, socketFd, wait, waitAsync } from '../../native';
import { ValueReader, ValueWriter } from './codec';
import { readLayout, QUIET_PENDING, RECORD_HEADER_BYTES, TAG, W, MORE, type SegmentLayout } from './layout';
import { isFrameError, RingReader, RingWriter, type RecordRef } from './ring';
import { SpinBudget, type SpinOptions } from './spin';
import type { Handshake } from './server';

/** A peer's waiting, counted (the benchmark reports wakes per message). */
export interface PeerWaits {
  spinsWon: number;
  spinsLost: number;
  sleeps: number;
  wakes: number;
}

export interface BrokerPeerOptions extends SpinOptions {
  /** How long to wait for the broker to answer the connection (ms, default 10 s). */
  connectTimeoutMs?: number;
}

/** A request as a peer sends it: a spec Operation without `peer` (any `peer` given is replaced by the broker). */
export type PeerRequest = { op: string } & Record<string, unknown>;

/** Connects to a broker's socket and takes the seat the owner gives this process. */
export async function connectBroker(socketPath: string, options: BrokerPeerOptions = {}): Promise<BrokerPeer> {
  const socket = new net.Socket();
  socket.pause(); // Node must not read: the handshake carries a descriptor
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(socketPath, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  const fd = socketFd(socket);
  const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
  for (;;) {
    let got: { data: Uint8Array; fds: number[] } | null;
    try {
      got = receiveFds(fd, { maxBytes: 1 << 20, maxFds: 1, timeoutMs: 0 });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ETIMEDOUT') throw e;
      if (Date.now() > deadline) {
        socket.destroy();
        throw new Error(`connectBroker: no answer from the broker at ${socketPath} within the timeout`);
      }
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    if (got === null || got.fds.length !== 1) {
      socket.destroy();
      throw new Error(`connectBroker: the broker at ${socketPath} refused this process`);
    }
    const segFd = got.fds[0];
    try {
      const seals = segmentSeals(segFd);
      if (!seals.shrink || !seals.grow) throw new Error('connectBroker: the segment is not sealed against resizing');
      const hello = JSON.parse(Buffer.from(got.data).toString('utf8')) as Handshake;
      const sab = mapSegment(segFd);
      return new BrokerPeer(socket, sab, hello, options);
    } finally {
      fs.closeSync(segFd);
    }
  }
}

export class BrokerPeer {
  readonly peer: PeerId;
  readonly bootstrap: HandleName[];
  readonly limits: Limits;
  readonly layout: SegmentLayout;
  /**
   * This peer's own segment, the only memory it shares with the broker: whatever a process
   * writes into it reaches the broker as requests it validates, and no other peer.
   */
  readonly sharedBuffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly requests: RingWriter;
  private readonly replies: RingReader;
  private readonly out = new ValueWriter(4096);
  private readonly decoder = new ValueReader();
  private readonly budget: SpinBudget;
  private nextRequest = 1;
  /** Requests posted and not answered, and the answers not yet claimed. */
  private readonly inFlight = new Set<number>();
  private readonly results = new Map<number, Invocation>();
  private readonly resultWaiters = new Map<number, (i: Invocation) => void>();
  /** Completions not yet claimed, by ticket, unless a listener takes them. */
  private readonly completions = new Map<number, Completion>();
  private completionListener: ((c: Completion) => void) | null = null;
  private resultListener: ((id: number, i: Invocation) => void) | null = null;
  /** The fragments of a record being reassembled. */
  private fragments: Buffer[] = [];
  private pumping = false;
  private closed = false;
  /** Requests the broker discarded because it could not read them (never, for this library's own requests). */
  discardedRequests = 0;
  /** How this peer waited: spins that saw the broker's answer, spins that ran out, futex sleeps, and bells that woke the broker. */
  readonly waits: PeerWaits = { spinsWon: 0, spinsLost: 0, sleeps: 0, wakes: 0 };

  constructor(
    private readonly socket: net.Socket,
    sab: SharedArrayBuffer,
    hello: Handshake,
    options: BrokerPeerOptions,
  ) {
    this.sharedBuffer = sab;
    this.i32 = new Int32Array(sab);
    const layout = readLayout(this.i32, sab.byteLength);
    if (layout === null) throw new Error('BrokerPeer: the segment is not laid out as a broker segment');
    this.layout = layout;
    this.peer = hello.peer;
    this.bootstrap = hello.handles;
    this.limits = hello.limits;
    const u8 = new Uint8Array(sab);
    this.requests = new RingWriter(
      this.i32,
      u8,
      layout.requestOffsetBytes,
      layout.requestBytes,
      W.REQ_TAIL,
      W.REQ_HEAD,
    );
    this.replies = new RingReader(
      this.i32,
      u8,
      layout.completionOffsetBytes,
      layout.completionBytes,
      W.CPL_TAIL,
      W.CPL_HEAD,
      layout.completionBytes,
      [TAG.RESULT, TAG.COMPLETION, TAG.DISCARDED],
      true,
    );
    this.budget = new SpinBudget(options);
    socket.on('close', () => this.disconnected());
  }

  get isConnected(): boolean {
    return !this.closed;
  }

  // ------------------------------------------------------------------ requests

  /**
   * Posts one operation; returns its request number (its answer is claimed by invoke / invokeSync).
   * `quietPending`: this thread will block until the operation completes, so a pending answer
   * need not wake it (invokeUntilDoneSync).
   */
  post(op: PeerRequest, quietPending = false): number {
    if (this.closed) throw new Error('BrokerPeer: disconnected from the broker');
    const id = this.nextRequest;
    this.nextRequest = (this.nextRequest % 0xffffffff) + 1;
    const w = this.out;
    w.reset();
    w.write(op);
    if (RECORD_HEADER_BYTES + w.pos > this.requests.maxBodyBytes / 2)
      throw new TesseraError('TOO_LARGE', `${op.op}: the request (${w.pos} bytes encoded) exceeds the ring`);
    const aux = quietPending ? QUIET_PENDING : 0;
    while (this.requests.write(TAG.REQUEST, id, aux, w.buf, 0, w.pos, false) < 0) this.waitForRoom();
    this.inFlight.add(id);
    this.requests.publish();
    this.ring();
    return id;
  }

  /** Wakes the broker if it may be asleep (it said so in BROKER_SLEEPING before its last look). */
  private ring(): void {
    if (Atomics.load(this.i32, W.BROKER_SLEEPING) !== 0) {
      Atomics.add(this.i32, W.BELL, 1);
      if (notify(this.i32, W.BELL, 1) > 0) this.waits.wakes++;
    }
  }

  private waitForRoom(): void {
    // The broker takes no request while it owes us records: read them first.
    this.pump();
    const i32 = this.i32;
    const seen = Atomics.load(i32, W.REQ_HEAD);
    this.ring();
    // Spin first, as for an answer: the broker makes room as it takes the requests before.
    const budget = this.budget;
    if (budget.spinWord(i32, W.REQ_HEAD, seen, budget.next()) !== seen) {
      budget.won();
      this.waits.spinsWon++;
      return;
    }
    budget.lost();
    this.waits.spinsLost++;
    Atomics.add(i32, W.ROOM_WAITERS, 1);
    this.ring();
    if (Atomics.load(i32, W.REQ_HEAD) === seen) {
      this.waits.sleeps++;
      wait(i32, W.REQ_HEAD, seen, 5);
    }
    Atomics.sub(i32, W.ROOM_WAITERS, 1);
  }

  /** post(), with a request too large for the ring answered as the error it is (a transport limit). */
  postOrRefuse(op: PeerRequest, quietPending = false): number | Invocation {
    try {
      return this.post(op, quietPending);
    } catch (e) {
      if (e instanceof TesseraError) return { ok: false, error: e.code as never };
      throw e;
    }
  }

  /** One operation, blocking this thread until its answer. */
  invokeSync(op: PeerRequest): Invocation {
    const id = this.postOrRefuse(op);
    if (typeof id !== 'number') return id;
    return this.resultSync(id);
  }

  /**
   * One operation, blocking this thread until it is done: its result, or, when it is pending
   * (a call, a receive or a send that waits), the result of its completion (TIME-2). Its pending
   * answer does not wake this thread: one wake-up fewer per waiting operation when it sleeps.
   */
  invokeUntilDoneSync(op: PeerRequest): Result {
    const id = this.postOrRefuse(op, true);
    const r = typeof id === 'number' ? this.resultSync(id) : id;
    return 'pending' in r ? this.waitCompletionSync(r.ticket)!.result : r;
  }

  /** The answer to request `id` (posted with post()), blocking this thread until it arrives. */
  resultSync(id: number): Invocation {
    for (;;) {
      const r = this.results.get(id);
      if (r !== undefined) {
        this.results.delete(id);
        return r;
      }
      this.waitRecordsSync(Infinity);
    }
  }

  /** One operation; the answer on the event loop (the peer spins, then sleeps on a pool thread). */
  invoke(op: PeerRequest): Promise<Invocation> {
    const id = this.postOrRefuse(op);
    if (typeof id !== 'number') return Promise.resolve(id);
    this.pump();
    const r = this.results.get(id);
    if (r !== undefined) {
      this.results.delete(id);
      return Promise.resolve(r);
    }
    return new Promise<Invocation>((resolve) => {
      this.resultWaiters.set(id, resolve);
      this.startPump();
    });
  }

  /** Every answer to a request posted with post() goes to `listener`, as soon as it is read (ring order). */
  onResult(listener: (id: number, i: Invocation) => void): void {
    this.resultListener = listener;
    for (const [id, r] of this.results) listener(id, r);
    this.results.clear();
    this.startPump();
  }

  /** Every completion from now on goes to `listener`, as soon as it is read (ring order), instead of being kept. */
  onCompletion(listener: (c: Completion) => void): void {
    this.completionListener = listener;
    for (const c of this.completions.values()) listener(c);
    this.completions.clear();
    this.startPump();
  }

  /** The completion of ticket, blocking this thread until it arrives (or timeoutMs passes: undefined). */
  waitCompletionSync(ticket: number, timeoutMs = Infinity): Completion | undefined {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const c = this.completions.get(ticket);
      if (c !== undefined) {
        this.completions.delete(ticket);
        return c;
      }
      if (performance.now() >= deadline) return undefined;
      this.waitRecordsSync(deadline);
    }
  }

  // ------------------------------------------------------------------ the completion ring

  /** Takes every record published; returns how many. */
  pump(): number {
    let n = 0;
    if (!this.replies.poll()) return 0;
    for (let rec = this.replies.next(); rec !== null; rec = this.replies.next()) {
      if (isFrameError(rec)) throw new Error(`BrokerPeer: the broker's ring is corrupt: ${rec.frameError}`);
      this.take(rec);
      n++;
    }
    this.replies.release();
    if (Atomics.load(this.i32, W.CPL_WANTED) !== 0) this.ring();
    return n;
  }

  private take(rec: RecordRef): void {
    let body = rec.body,
      start = rec.bodyStart,
      end = rec.bodyStart + rec.bodyBytes;
    if (rec.flags & MORE) {
      this.fragments.push(Buffer.from(rec.body.subarray(start, end)));
      return;
    }
    if (this.fragments.length > 0) {
      this.fragments.push(rec.body.subarray(start, end));
      body = Buffer.concat(this.fragments);
      start = 0;
      end = body.length;
      this.fragments = [];
    }
    const v = this.decoder.read(body, start, end);
    switch (rec.tag) {
      case TAG.RESULT: {
        this.inFlight.delete(rec.id);
        const waiter = this.resultWaiters.get(rec.id);
        if (waiter) {
          this.resultWaiters.delete(rec.id);
          waiter(v as Invocation);
        } else if (this.resultListener) this.resultListener(rec.id, v as Invocation);
        else this.results.set(rec.id, v as Invocation);
        return;
      }
      case TAG.COMPLETION: {
        const c = v as { ticket: number; op: Completion['op']; result: Result };
        const completion: Completion = { ticket: c.ticket, peer: this.peer, op: c.op, result: c.result };
        if (this.completionListener) this.completionListener(completion);
        else this.completions.set(c.ticket, completion);
        return;
      }
      case TAG.DISCARDED:
        // Requests in flight were not read by the broker: none of them took effect.
        for (const id of this.inFlight) this.answerLost(id);
        return;
    }
  }

  private answerLost(id: number): void {
    this.discardedRequests++;
    this.inFlight.delete(id);
    const r: Invocation = { ok: false, error: 'INVALID_ARGUMENT' };
    const waiter = this.resultWaiters.get(id);
    if (waiter) {
      this.resultWaiters.delete(id);
      waiter(r);
    } else if (this.resultListener) this.resultListener(id, r);
    else this.results.set(id, r);
  }

  /** Blocks until the broker publishes something (spinning first), or the deadline (performance.now ms). */
  private waitRecordsSync(deadline: number): void {
    if (this.pump() > 0) return;
    if (this.closed) throw new Error('BrokerPeer: disconnected from the broker');
    const i32 = this.i32;
    const seen = Atomics.load(i32, W.CPL_TAIL);
    if (this.replies.poll()) return;
    const budget = this.budget;
    if (budget.spinWord(i32, W.CPL_TAIL, seen, budget.next()) !== seen) {
      budget.won();
      this.waits.spinsWon++;
      return;
    }
    budget.lost();
    this.waits.spinsLost++;
    Atomics.add(i32, W.PEER_SLEEPERS, 1);
    const left = Math.min(deadline - performance.now(), 1000);
    if (Atomics.load(i32, W.CPL_TAIL) === seen && left > 0) {
      this.waits.sleeps++;
      wait(i32, W.CPL_TAIL, seen, left);
    }
    Atomics.sub(i32, W.PEER_SLEEPERS, 1);
  }

  /** Keeps reading the ring on the event loop while anyone waits for a result or listens for completions. */
  private startPump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.pumpLoop();
  }

  private async pumpLoop(): Promise<void> {
    const i32 = this.i32;
    try {
      const listening = () => this.completionListener !== null || this.resultListener !== null;
      while (!this.closed && (this.resultWaiters.size > 0 || listening())) {
        if (this.pump() > 0) continue;
        const seen = Atomics.load(i32, W.CPL_TAIL);
        if (this.replies.poll()) continue;
        // Spin only while an answer is due (a listener alone may wait for long).
        const due = this.inFlight.size > 0;
        const budget = this.budget;
        if (due && budget.spinWord(i32, W.CPL_TAIL, seen, budget.next()) !== seen) {
          budget.won();
          continue;
        }
        if (due) budget.lost();
        Atomics.add(i32, W.PEER_SLEEPERS, 1);
        try {
          const w = waitAsync(i32, W.CPL_TAIL, seen, 1000);
          if (w.async) await w.value;
        } finally {
          Atomics.sub(i32, W.PEER_SLEEPERS, 1);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private disconnected(): void {
    this.closed = true;
    for (const id of [...this.inFlight]) {
      this.inFlight.delete(id);
      const r: Invocation = { ok: false, error: 'CLOSED' };
      const w = this.resultWaiters.get(id);
      this.resultWaiters.delete(id);
      if (w) w(r);
      else if (this.resultListener) this.resultListener(id, r);
      else this.results.set(id, r);
    }
  }

  /** Leaves: the socket closes and the broker closes this peer (CLOSE-1..4). */
  disconnect(): void {
    this.closed = true;
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ bytes

  /** CALL-1 with one payload, blocking: the reply's payload, or a TesseraError for any other outcome. */
  callSync(handle: HandleName, payload: Uint8Array, timeoutMs?: number): Buffer {
    const r = this.invokeUntilDoneSync({
      op: 'call',
      handle,
      message: { segments: [payload] },
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    if (!r.ok) throw new TesseraError(r.error, 'call');
    return Buffer.from((r.value as { reply: { payload: string } }).reply.payload, 'base64');
  }

  /** CALL-3 with one payload, blocking until the broker ran it. */
  replySync(replyHandle: HandleName, payload: Uint8Array): void {
    const r = this.invokeSync({ op: 'reply', handle: replyHandle, message: { segments: [payload] } });
    if ('pending' in r || !r.ok) throw new TesseraError('pending' in r ? 'INVALID_ARGUMENT' : r.error, 'reply');
  }

  /** SEND-1 with one payload, blocking until the broker ran it. */
  sendSync(handle: HandleName, payload: Uint8Array): void {
    const r = this.invokeSync({ op: 'send', handle, message: { segments: [payload] } });
    if ('pending' in r || !r.ok) throw new TesseraError('pending' in r ? 'INVALID_ARGUMENT' : r.error, 'send');
  }

  /** RECV-1, RECV-2: up to max deliveries, waiting up to timeoutMs for the first. */
  receiveSync(max: number, timeoutMs = 0): Delivery[] {
    const result = this.invokeUntilDoneSync({ op: 'receive', max, ...(timeoutMs > 0 ? { timeoutMs } : {}) });
    if (!result.ok) throw new TesseraError(result.error, 'receive');
    return (result.value as { deliveries: Delivery[] }).deliveries;
  }
}
