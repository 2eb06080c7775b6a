// The in-process runner of a ShmBus (ShmBus.run, the conformance driver's entry
// point): one operation of the spec as given, with results, deliveries and
// completions exactly as the model's step gives them (handle names differ: slot and
// generation, HANDLE-2). The operation is read once into a plain copy, and its shape is
// checked by the model's own rules (model/rules.ts: every rule of the operation that can
// be decided without the bus state) before anything acts on it.
//
// The runner keeps the blocking operations of the peers it runs (TIME-2): calls are
// in the bus like every call; blocked sends (SEND-7) and waiting receives (RECV-2)
// wait here, in ticket order, and are served at the end of every step that changed
// something, as TIME-2 says: waiting receives take what arrived, then blocked sends
// are retried in ticket order (a send blocked by a full queue keeps later senders to
// that queue behind it), until nothing changes. Deadlines follow the bus clock,
// virtual (moved only by tick) or real.
import type {
  Completion,
  Delivery,
  ErrorCode,
  Invocation,
  Message,
  Operation,
  OperationName,
  Result,
} from '../../spec/types';
import { MessageRead, readPlain, readRightsBits } from '../common';
import type { BusState } from '../../model';
import { RULES } from '../../model/rules';
import type { BusCore, LocalWait, LocalWaits } from './core';
import { callResult, collectCall } from './calls';
import { cancelCall, timeoutCall } from './abandon';
import { nodeOfHandle, destOfHandle } from './tables';
import { batchNeeds, takeBatch } from './receive';
import { multicast } from './multicast';
import { notifyRoom } from './room';
import * as operations from './operations';
import { DeliveryBuffer } from './deliveries';
import * as status from './status';
import { errorCodeOf, isBlocked, type Status } from './status';
import * as layout from './layout';
import { now } from './spin';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { FH_NOW, NONE } = layout;
const { BLOCKED_BY_CAPACITY, OK, STATUS } = status;

/** A blocking operation of the runner, kept in ticket order (TIME-2). */
interface Wait {
  ticket: number;
  kind: 'call' | 'send' | 'receive';
  slot: number;
  peerId: number;
  /** Bus clock time at which it expires (TIME-1); null: never (a call without timeout). */
  deadline: number | null;
  /** A call: its slot and generation. */
  call: number;
  callGen: number;
  /** A receive: its max. */
  max: number;
  /** A blocked send: its target and its own copy of the message (SEND-7 retries re-check everything). */
  handle: number;
  /** A blocked send: the queue it waits for, as when it blocked (SEND-8 holds later sends behind it there). */
  dest: number;
  message: MessageRead | null;
}

/** What the runner needs of the bus that owns it: the peers it attached, and attach itself. */
export interface RunnerBus {
  readonly core: BusCore;
  /** PEER-2: the slot of an issued peer id, or null. */
  slotOf(id: unknown): number | null;
  attachOp(credentials: unknown, bootstrap: unknown): Result;
}

const err = (status: Status): Result => ({ ok: false, error: errorCodeOf(status) });
const result = (status: Status, value: object): Result => (status === OK ? { ok: true, value } : err(status));
const INVALID = err(STATUS.INVALID_ARGUMENT);

type Handler = (runner: InProcessRunner, slot: number, id: number, op: Record<string, unknown>) => Invocation;

export class InProcessRunner implements LocalWaits {
  private readonly waits: Wait[] = [];
  private readonly callWaits = new Map<number, Wait>();
  private completions: Completion[] = [];
  private readonly deliveries = new DeliveryBuffer();
  readonly core: BusCore;

  constructor(
    private readonly bus: RunnerBus,
    private readonly realClockStartMs: number | null,
  ) {
    this.core = bus.core;
    this.core.localWaits = this;
  }

  /** One operation; its completions (and those of earlier steps' effects on this thread) go to `completed`. */
  run(op: Operation, completed: (c: Completion[]) => void): Invocation {
    const plain = readPlain(op) as Record<string, unknown>;
    if (this.realClockStartMs !== null && plain?.op !== 'tick') this.catchUp();
    this.completions = [];
    const r = this.exec(plain);
    if ('pending' in r || r.ok || r.error === 'CALLER_GONE') this.serveWaits();
    completed(this.completions);
    this.completions = [];
    return r;
  }

  private catchUp(): void {
    const elapsed = Math.floor(now() - this.realClockStartMs!) - this.core.nowMs;
    if (elapsed > 0 && this.tick(elapsed).ok) this.serveWaits();
  }

  private exec(o: Record<string, unknown>): Invocation {
    if (typeof o !== 'object' || o === null) return INVALID;
    if (o.op === 'attach') {
      const shape = shapeError(o); // BUS-2's credentials; BUS-3's grants are checked against the peers by attachOp
      return shape !== null ? { ok: false, error: shape } : this.bus.attachOp(o.credentials, o.bootstrap);
    }
    if (o.op === 'tick') return this.tick(o.ms);
    const handler = typeof o.op === 'string' && Object.hasOwn(HANDLERS, o.op) ? HANDLERS[o.op] : undefined;
    if (handler === undefined) return INVALID; // ERR-1: not an operation of the spec
    const slot = this.bus.slotOf(o.peer);
    if (slot === null) return INVALID; // PEER-2
    if (!this.core.peerOpen(slot, o.peer as number)) return err(STATUS.CLOSED);
    const shape = shapeError(o);
    if (shape !== null) return { ok: false, error: shape };
    return handler(this, slot, o.peer as number, o);
  }

  /** One effect in one lock hold. */
  locked(fn: (core: BusCore) => Status): Status {
    const core = this.core;
    core.lock();
    let status: Status;
    try {
      status = fn(core);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return status;
  }

  /** A message the shape rules passed (SEND-5, MCAST-1), into the core's staging area: segments decoded, rights as bits. */
  stageMessage(m: Message): void {
    const staged = this.core.staged;
    staged.clear();
    for (const s of m.segments) {
      const bytes = Buffer.from(s, 'base64');
      staged.addSegment(bytes, bytes.length);
    }
    for (const t of m.transfers ?? []) {
      const bits = t.rights === undefined ? -1 : readRightsBits(t.rights);
      staged.addTransfer(t.handle, bits as number, t.move === true);
    }
  }

  /** TIME-1: the clock moves by ms (never past 2^53-1, so nowMs stays a safe integer); what is due expires in ticket order. */
  tick(ms: unknown): Result {
    const core = this.core;
    const shape = shapeError({ op: 'tick', ms });
    if (shape !== null) return { ok: false, error: shape };
    if (core.nowMs + (ms as number) > Number.MAX_SAFE_INTEGER) return INVALID;
    const nowAt = core.layout.fHeader + FH_NOW;
    this.locked(() => {
      core.journal.setF64(nowAt, core.float64[nowAt] + (ms as number));
      return OK;
    });
    const t = core.nowMs;
    for (const w of this.waits.filter((q) => q.deadline !== null && q.deadline <= t)) {
      if (!this.waits.includes(w)) continue;
      if (w.kind === 'call') this.locked((c) => (timeoutCall(c, w.call), OK));
      else this.complete(w, w.kind === 'send' ? err(STATUS.TIMED_OUT) : { ok: true, value: { deliveries: [] } });
    }
    return { ok: true, value: { nowMs: t } };
  }

  /**
   * A new wait of this runner, its ticket taken now (TIME-2), or TOO_MANY_PENDING over the
   * peer's limit (BOUND-2); without a timeout it has no deadline (TIME-4).
   */
  wait(
    kind: 'send' | 'receive',
    slot: number,
    peerId: number,
    timeoutMs: number | undefined,
    fields: Partial<Wait>,
  ): Invocation {
    if (this.core.pendingOf(slot) >= this.core.limits.maxPendingPerPeer) return err(STATUS.TOO_MANY_PENDING);
    let ticket = 0;
    this.locked((core) => ((ticket = core.nextTicket()), OK));
    this.waits.push({
      ticket,
      kind,
      slot,
      peerId,
      deadline: deadlineOf(this.core.nowMs, timeoutMs),
      call: NONE,
      callGen: 0,
      max: 0,
      handle: 0,
      dest: NONE,
      message: null,
      ...fields,
    });
    return { pending: true, ticket };
  }

  /** A call this runner started: its outcome completes it in the step that decides it. */
  waitForCall(slot: number, peerId: number, timeoutMs: number | undefined): Invocation {
    const core = this.core,
      c = core.outCall;
    const w: Wait = {
      ticket: core.outTicket,
      kind: 'call',
      slot,
      peerId,
      deadline: deadlineOf(core.nowMs, timeoutMs),
      call: c,
      callGen: core.callGen(c),
      max: 0,
      handle: 0,
      dest: NONE,
      message: null,
    };
    this.waits.push(w);
    this.callWaits.set(c, w);
    return { pending: true, ticket: w.ticket };
  }

  /** RECV-1 under the lock: up to max deliveries. */
  take(core: BusCore, slot: number, max: number): Delivery[] {
    const n = Math.min(max, core.queued(slot));
    if (n === 0) return [];
    const needs = batchNeeds(core, slot, n);
    return this.deliveries.deliveries(
      takeBatch(core, slot, n, this.deliveries.batchFor(n, needs.bytes, needs.handles)),
    );
  }

  private complete(w: Wait, r: Result): void {
    const i = this.waits.indexOf(w);
    if (i >= 0) this.waits.splice(i, 1);
    this.completions.push({ ticket: w.ticket, peer: w.peerId, op: w.kind, result: r });
  }

  // ------------------------------------------------------------------ LocalWaits (called by the core, in a lock hold)
  callResolved(c: number, gen: number): void {
    const w = this.callWaits.get(c);
    if (w === undefined || w.callGen !== gen) return;
    this.callWaits.delete(c);
    this.complete(w, callResult(this.core, c));
    collectCall(this.core, c);
  }

  sendsTo(node: number): LocalWait[] {
    return this.waits
      .filter((w) => w.kind === 'send' && nodeOfHandle(this.core, w.slot, w.handle) === node)
      .map((w) => this.ending(w));
  }

  waitsOf(slot: number, peerId: number): LocalWait[] {
    return this.waits
      .filter((w) => w.slot === slot && w.peerId === peerId && w.kind !== 'call')
      .map((w) => this.ending(w));
  }

  blockedSendTo(slot: number, dest: number): boolean {
    for (const w of this.waits) if (w.kind === 'send' && w.slot === slot && w.dest === dest) return true;
    return false;
  }

  waitingOf(slot: number): number {
    let n = 0;
    for (const w of this.waits) if (w.slot === slot && w.kind !== 'call') n++;
    return n;
  }

  /** CANCEL-1: the peer's pending operation holding `ticket` completes CANCELLED; whether there was one. */
  cancel(slot: number, peerId: number, ticket: number): boolean {
    const w = this.waits.find((q) => q.ticket === ticket && q.slot === slot && q.peerId === peerId);
    if (w === undefined) return false;
    if (w.kind === 'call') this.locked((c) => (cancelCall(c, w.call), OK));
    else this.complete(w, err(STATUS.CANCELLED));
    return true;
  }

  private ending(w: Wait): LocalWait {
    return { ticket: w.ticket, end: (error) => this.complete(w, { ok: false, error }) };
  }

  // ------------------------------------------------------------------ TIME-2: serving waits after a step
  /** Waiting receives take what arrived (RECV-2), then blocked sends are retried in ticket order (SEND-7), until nothing changes. */
  private serveWaits(): void {
    for (let changed = true; changed;) {
      changed = false;
      for (const w of this.waits.slice()) {
        if (w.kind !== 'receive' || this.core.queued(w.slot) === 0) continue;
        let deliveries: Delivery[] = [];
        this.locked((core) => ((deliveries = this.take(core, w.slot, w.max)), OK));
        this.complete(w, { ok: true, value: { deliveries } });
        changed = true;
      }
      // QUOTA-5: room notices now due, once no blocked send went anywhere this round
      changed = this.retryBlockedSends() || this.locked((core) => (notifyRoom(core) ? 1 : 0)) === 1 || changed;
    }
  }

  /**
   * SEND-7: the first blocked send (in ticket order) that no longer waits completes; whether one
   * did. A send is held back behind an older one to the same queue short of capacity, and behind
   * an older one of its own sender to the same queue (SEND-8).
   */
  private retryBlockedSends(): boolean {
    const core = this.core;
    const fullQueues = new Set<number>();
    const waitingPairs = new Set<number>(); // sender slot * peers + queue slot
    for (const w of this.waits.slice()) {
      if (w.kind !== 'send') continue;
      const dest = w.dest;
      if (fullQueues.has(dest)) continue; // FIFO behind a waiter blocked by capacity
      if (waitingPairs.has(w.slot * core.peers + dest)) continue; // behind its sender's older one (SEND-8)
      core.staged.copyFrom(w.message!);
      const status = core.peerOpen(w.slot, w.peerId)
        ? this.locked((c) => operations.send(c, w.slot, w.peerId, w.handle, true, true))
        : STATUS.CLOSED;
      if (isBlocked(status)) {
        if (status === BLOCKED_BY_CAPACITY) fullQueues.add(dest);
        else waitingPairs.add(w.slot * core.peers + dest);
        continue;
      }
      this.complete(w, result(status, {}));
      return true;
    }
    return false;
  }
}

/** Thrown by NO_STATE: the rule being asked reads the bus state, so it is not a shape rule. */
const STATE_NEEDED = Symbol('state needed');
const NO_STATE = new Proxy(
  {},
  {
    get() {
      throw STATE_NEEDED;
    },
  },
) as BusState;

/**
 * ERR-1 step 3 by the model's own rules: the first of the operation's rules (model/rules.ts)
 * that fails INVALID_ARGUMENT without reading the bus state, i.e. a rule about the operation's
 * shape (names, counts, rights, badges, the message, the multicast list); null when every one
 * passes. The rules that read the state (PEER-2, the target, room) are the backend's, asked by
 * the core, and so is a state-free rule with another code, which comes after state rules (a
 * call that may not wait times out only once the checks before it passed, TIME-4).
 */
export function shapeError(op: Record<string, unknown>): ErrorCode | null {
  const rules = RULES[op.op as OperationName] ?? [];
  for (const rule of rules) {
    let code: ErrorCode | null;
    try {
      code = rule.fails(NO_STATE, op);
    } catch (e) {
      if (e === STATE_NEEDED) continue;
      throw e;
    }
    if (code === 'INVALID_ARGUMENT') return code;
  }
  return null;
}

const optionalNumber = (x: unknown): number | undefined => (x === undefined ? undefined : (x as number));

/** TIME-4: an operation may wait when its timeoutMs is absent (no limit) or greater than 0. */
const mayWaitFor = (timeoutMs: number | undefined): boolean => timeoutMs === undefined || timeoutMs > 0;

/** TIME-1, TIME-4: the clock time a wait expires at; null without a timeout or past the clock's end. */
function deadlineOf(nowMs: number, timeoutMs: number | undefined): number | null {
  return timeoutMs === undefined || timeoutMs > Number.MAX_SAFE_INTEGER - nowMs ? null : nowMs + timeoutMs;
}

/**
 * The spec's peer operations, after PEER-2 and the shape (shapeError): each converts what it
 * was given (names, rights as bits, the message into the staging area) and runs in one lock hold.
 */
const HANDLERS: Record<string, Handler> = {
  createNode: (run, slot, _id, o) => {
    const status = run.locked((core) =>
      operations.createNode(core, slot, o.credentials === true, o.acceptsHandles !== false),
    );
    return result(status, { handle: run.core.outName });
  },
  mint: (run, slot, _id, o) => {
    const rights = readRightsBits(o.rights) as number,
      badge = optionalNumber(o.badge) ?? 0;
    const status = run.locked((core) => operations.mint(core, slot, o.handle as number, rights, badge));
    return result(status, { handle: run.core.outName });
  },
  release: (run, slot, _id, o) =>
    result(
      run.locked((core) => operations.releaseName(core, slot, o.handle as number)),
      {},
    ),
  revoke: (run, slot, _id, o) => {
    const status = run.locked((core) => operations.revoke(core, slot, o.handle as number));
    return result(status, { revoked: run.core.outCount });
  },
  destroyNode: (run, slot, _id, o) =>
    result(
      run.locked((core) =>
        operations.destroyNode(core, slot, o.handle as number, optionalNumber(o.derivedCount) ?? -1),
      ),
      {},
    ),
  sameNode: (run, slot, _id, o) => {
    const status = run.locked((core) => operations.sameNode(core, slot, o.handle as number, o.other as number));
    return result(status, { same: run.core.outCount === 1 });
  },
  send: (run, slot, id, o) => {
    run.stageMessage(o.message as Message);
    const handle = o.handle as number,
      timeoutMs = optionalNumber(o.timeoutMs);
    const status = run.locked((core) => operations.send(core, slot, id, handle, mayWaitFor(timeoutMs)));
    if (!isBlocked(status)) return result(status, {});
    const message = new MessageRead();
    message.copyFrom(run.core.staged);
    return run.wait('send', slot, id, timeoutMs, { handle, message, dest: destOfHandle(run.core, slot, handle) });
  },
  call: (run, slot, id, o) => {
    run.stageMessage(o.message as Message);
    const timeoutMs = optionalNumber(o.timeoutMs);
    const status = run.locked((core) =>
      operations.call(core, slot, id, o.handle as number, mayWaitFor(timeoutMs), o.replierCredentials === true),
    );
    return status === OK ? run.waitForCall(slot, id, timeoutMs) : err(status);
  },
  replyReceive: (run, slot, id, o) => {
    run.stageMessage(o.message as Message);
    const max = o.max as number,
      timeoutMs = optionalNumber(o.timeoutMs),
      handle = o.handle as number;
    // BOUND-2, before anything changes: a receive that would wait on the queue as the reply leaves it
    const core = run.core;
    if (mayWaitFor(timeoutMs) && core.pendingOf(slot) >= core.limits.maxPendingPerPeer) {
      const status = run.locked((c) => operations.replyChecks(c, slot, handle));
      if (status !== OK) return err(status);
      if (operations.queueEmptyAfterReply(core, slot, handle)) return err(STATUS.TOO_MANY_PENDING);
    }
    let deliveries: Delivery[] = [];
    let waits = false;
    const status = run.locked((c) => {
      const s = operations.replyDropping(c, slot, handle);
      if (s !== OK) return s;
      if (c.queued(slot) === 0 && mayWaitFor(timeoutMs)) waits = true;
      else deliveries = run.take(c, slot, max);
      return OK;
    });
    if (status !== OK) return err(status);
    return waits ? run.wait('receive', slot, id, timeoutMs, { max }) : { ok: true, value: { deliveries } };
  },
  reply: (run, slot, _id, o) => {
    run.stageMessage(o.message as Message);
    return result(
      run.locked((core) => operations.reply(core, slot, o.handle as number)),
      {},
    );
  },
  multicast: (run, slot, id, o) => {
    const names = o.handles as number[];
    run.stageMessage(o.message as Message);
    const status = run.locked((core) => multicast(core, slot, id, names, names.length, o.skipFull === true));
    const core = run.core;
    return result(status, {
      skipped: core.outNames.slice(0, core.outNamesCount),
      full: core.outFull.slice(0, core.outFullCount),
    });
  },
  receive: (run, slot, id, o) => {
    const max = o.max as number,
      timeoutMs = optionalNumber(o.timeoutMs);
    if (run.core.queued(slot) === 0 && mayWaitFor(timeoutMs)) return run.wait('receive', slot, id, timeoutMs, { max });
    let deliveries: Delivery[] = [];
    run.locked((core) => ((deliveries = run.take(core, slot, max)), OK));
    return { ok: true, value: { deliveries } };
  },
  cancel: (run, slot, id, o) => ({ ok: true, value: { cancelled: run.cancel(slot, id, o.ticket as number) } }),
  close: (run, slot, id) =>
    result(
      run.locked((core) => operations.close(core, slot, id)),
      {},
    ),
};
