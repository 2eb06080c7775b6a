// A peer of the shared-memory bus, in the reference backend's shape (backends/
// reference: createNode, mint, release, revoke, destroyNode, send, sendWait, call,
// reply, multicast, tryReceive, receive, close), plus synchronous flavours for
// worker threads (sendSync, callSync, receiveSync: blocking, with a spin then a
// sleep). The allocation-free fast paths are apart, in `peer.fast` (fast.ts).
//
// Every method reads its arguments once into plain copies (the message into the
// core's staging area, backends/common.ts) and checks their shape before acting;
// a malformed argument fails INVALID_ARGUMENT without taking the lock, or CLOSED
// when the peer is closed (ERR-1). The remaining checks and the effects run in one
// lock hold (operations.ts).
import type { Delivery, HandleName, PeerId, ReplyDelivery } from '../../spec/types';
import {
  MALFORMED,
  MessageRead,
  namesRepeat,
  readBooleanOption,
  readCountOption,
  readMintOptions,
  readNames,
  readReceiveOptions,
  readTimeoutOption,
  TesseraError,
  type MessageInput,
} from '../common';
import * as rules from '../../model/rules';
import type { BusCore } from './core';
import type { ShmBus } from './bus';
import { fail, PeerSeat, type WaitStats } from './seat';
import { ShmFastPaths } from './fast';
import { DeliveryBuffer } from './deliveries';
import { batchNeeds, takeBatch } from './receive';
import { multicast } from './multicast';
import { cancelOwnCall } from './abandon';
import * as operations from './operations';
import * as status from './status';
import { isBlocked, type Status } from './status';
import { now } from './spin';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { NONE } = layout;
const { OK, STATUS } = status;
const { isCount, isName } = rules;

/** A call's options: its timeout (TIME-4) and whether the reply carries the replier's credentials (CRED-3). */
export interface CallOptions {
  timeoutMs?: number;
  replierCredentials?: boolean;
}

/** Wait until `p` settles or `ms` passed, whichever is first (the timer is cleared either way). */
async function settledOrAfter(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.min(ms, 2 ** 31 - 1))))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A blocked promise send of a peer (ShmPeer.sendWait): ended by `end`, waiting for `before`. */
interface Held {
  done: Promise<void>;
  end: () => void;
  before: Promise<void> | null;
}

export class ShmPeer {
  /** The allocation-free fast paths of this peer (bytes, batches, zero-copy views, ReplyRecv). */
  readonly fast: ShmFastPaths;
  /** A multicast's destinations, read once. */
  private readonly names: number[] = [];
  /** Deliveries the last tryReceive took into its batch. */
  received = 0;
  /** The batch tryReceive takes deliveries into. */
  readonly deliveryBuffer = new DeliveryBuffer();

  constructor(
    readonly seat: PeerSeat,
    readonly bootstrap: HandleName[],
    /** The bus, when this thread owns it. */
    readonly bus: ShmBus | null,
  ) {
    this.fast = new ShmFastPaths(seat);
  }

  get id(): PeerId {
    return this.seat.id;
  }
  get slot(): number {
    return this.seat.slot;
  }
  get core(): BusCore {
    return this.seat.core;
  }
  /** The ticket of the last call this peer started (TIME-2); 0 before any. */
  get lastCallTicket(): number {
    return this.seat.lastCallTicket;
  }
  /** PEER-2: whether this peer is open. */
  get isOpen(): boolean {
    return this.seat.open();
  }

  /** How this peer's waits ended (spins won and lost, sleeps, hand-offs, contended locks). */
  stats(): WaitStats {
    return this.seat.stats();
  }

  /**
   * One operation in one lock hold: CLOSED when the peer is closed, else what `op` says; throws
   * the error. `op` is one of the module-level OPS (no closure is made per call).
   */
  private hold(name: string, op: PeerOp, a: number, b: number, x: unknown = null): void {
    const seat = this.seat,
      core = seat.core;
    core.lock();
    let status: Status;
    try {
      status = seat.open() ? op(core, seat.slot, seat.id, a, b, x, this) : STATUS.CLOSED;
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (status !== OK) fail(status, name);
  }

  /**
   * NODE-1: a new node; returns its root handle (all rights, no badge). `acceptsHandles: false`
   * makes it refuse transfers (NODE-5).
   */
  createNode(options: { credentials?: boolean; acceptsHandles?: boolean } = {}): HandleName {
    const credentials = readBooleanOption(options, 'credentials');
    const acceptsHandles = credentials === MALFORMED ? MALFORMED : readBooleanOption(options, 'acceptsHandles');
    if (credentials === MALFORMED || acceptsHandles === MALFORMED)
      return this.seat.refused(STATUS.INVALID_ARGUMENT, 'createNode');
    this.hold('createNode', OPS.createNode, credentials === true ? 1 : 0, acceptsHandles === false ? 0 : 1);
    return this.core.outName;
  }

  /** MINT-1: derive a handle with the same or fewer rights; set a badge once. */
  mint(handle: HandleName, options: { rights: ('send' | 'grant')[]; badge?: number }): HandleName {
    const read = readMintOptions(options);
    if (read === MALFORMED || !isName(handle)) return this.seat.refused(STATUS.INVALID_ARGUMENT, 'mint');
    this.hold('mint', OPS.mint, handle, read.rights, read.badge ?? 0);
    return this.core.outName;
  }

  /** RELEASE-1. */
  release(handle: HandleName): void {
    if (!isName(handle)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'release');
    this.hold('release', OPS.release, handle, 0);
  }

  /** REVOKE-1: returns how many handles became revoked. */
  revoke(handle: HandleName): number {
    if (!isName(handle)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'revoke');
    this.hold('revoke', OPS.revoke, handle, 0);
    return this.core.outCount;
  }

  /**
   * DESTROY-1. With `derivedCount` (from a no-senders notice) only if nothing was derived since,
   * else STALE (DESTROY-5).
   */
  destroyNode(handle: HandleName, options: { derivedCount?: number } = {}): void {
    const derivedCount = readCountOption(options, 'derivedCount');
    if (!isName(handle) || derivedCount === MALFORMED) this.seat.refused(STATUS.INVALID_ARGUMENT, 'destroyNode');
    this.hold('destroyNode', OPS.destroyNode, handle, derivedCount === undefined ? -1 : (derivedCount as number));
  }

  /** NODE-6: whether two live node handles of this peer designate the same node. */
  sameNode(handle: HandleName, other: HandleName): boolean {
    if (!isName(handle) || !isName(other)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'sameNode');
    this.hold('sameNode', OPS.sameNode, handle, other);
    return this.core.outCount === 1;
  }

  /**
   * CANCEL-1: end this peer's pending call holding `ticket` (from lastCallTicket) CANCELLED; false
   * when no pending operation of this peer holds it (CANCEL-3). A waiting send or receive of this
   * thread is inside its own invocation and has no ticket another invocation could name.
   */
  cancel(ticket: number): boolean {
    if (!isCount(ticket)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'cancel');
    this.hold('cancel', OPS.cancel, ticket, 0);
    return this.core.outCount === 1;
  }

  /** The message of a send or call, read once into the core's staging area; false when malformed. */
  private stage(handle: unknown, message: unknown): boolean {
    return isName(handle) && this.core.staged.read(message, true);
  }

  /** SEND-1: non-blocking; QUEUE_FULL when there is no room. */
  send(handle: HandleName, message: MessageInput = {}): void {
    if (!this.stage(handle, message)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'send');
    const status = this.seat.trySend(handle, false);
    if (status !== OK) fail(status, 'send');
  }

  /** A wait's timeout (TIME-1, TIME-4): a safe non-negative integer, Infinity when left out (no limit), else MALFORMED. */
  private static waitTimeout(options: unknown): number | typeof MALFORMED {
    const t = readTimeoutOption(options);
    return t === undefined ? Infinity : t;
  }

  /** SEND-7, synchronous flavour: wait (spin, then sleep) for room, without limit or up to timeoutMs (TIME-4). */
  sendSync(handle: HandleName, message: MessageInput, options: { timeoutMs?: number } = {}): void {
    const timeoutMs = ShmPeer.waitTimeout(options);
    if (timeoutMs === MALFORMED || !this.stage(handle, message))
      return this.seat.refused(STATUS.INVALID_ARGUMENT, 'send');
    const seat = this.seat;
    const deadline = now() + timeoutMs,
      block = timeoutMs > 0;
    for (;;) {
      let status = seat.trySend(handle, block);
      if (isBlocked(status)) {
        if (now() >= deadline) fail(STATUS.TIMED_OUT, 'send');
        // Read the room word, then try again: room freed after that read wakes the wait.
        const { dest, seen } = seat.roomWord(handle);
        status = seat.trySend(handle, block);
        if (isBlocked(status) && dest !== NONE) seat.waitForRoom(dest, seen, deadline);
      }
      if (status === OK) return;
      if (!isBlocked(status)) fail(status, 'send');
      if (now() >= deadline) fail(STATUS.TIMED_OUT, 'send');
    }
  }

  /**
   * SEND-7, promise flavour: without limit or up to timeoutMs (TIME-4). A send short of room
   * becomes a blocked send of this peer (BOUND-2 counts it: TOO_MANY_PENDING at the limit, as the
   * last check): until it ends, every later operation of this peer that would enqueue on that
   * queue is short of room (SEND-8: `send` and `call` fail QUEUE_FULL, a later `sendWait` waits
   * behind it), and the blocked sends of this peer to one queue are retried oldest first.
   */
  async sendWait(handle: HandleName, message: MessageInput, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = ShmPeer.waitTimeout(options);
    // A copy of its own: other operations of this thread use the staging area while this one waits.
    const mine = new MessageRead();
    if (timeoutMs === MALFORMED || !isName(handle) || !mine.read(message, true))
      return this.seat.refused(STATUS.INVALID_ARGUMENT, 'send');
    const seat = this.seat,
      core = this.core;
    const deadline = now() + timeoutMs,
      block = timeoutMs > 0;
    const first = seat.roomWord(handle);
    core.staged.copyFrom(mine);
    const status = seat.trySend(handle, block);
    if (status === OK) return;
    if (!isBlocked(status) || first.dest === NONE) fail(status, 'send');
    if (core.pendingOf(seat.slot) >= core.limits.maxPendingPerPeer) fail(STATUS.TOO_MANY_PENDING, 'send'); // BOUND-2
    const held = this.holdSend(first.dest);
    try {
      // SEND-7: never enqueued before an older blocked send of this peer to the same queue.
      while (held.before !== null) {
        const left = deadline - now();
        if (left <= 0) fail(STATUS.TIMED_OUT, 'send');
        await settledOrAfter(held.before, left);
        held.before = this.heldBefore(first.dest, held);
      }
      for (;;) {
        const { dest, seen } = seat.roomWord(handle);
        core.staged.copyFrom(mine);
        const retry = seat.trySend(handle, block, true);
        if (retry === OK) return;
        if (!isBlocked(retry)) fail(retry, 'send');
        const left = deadline - now();
        if (left <= 0) fail(STATUS.TIMED_OUT, 'send');
        if (dest !== NONE) await seat.waitForRoomAsync(dest, seen, left);
      }
    } finally {
      this.releaseHeld(first.dest, held);
    }
  }

  /** This peer's blocked promise sends, by destination slot, oldest first (SEND-8). */
  private readonly held = new Map<number, Held[]>();
  /** A blocked send of this peer to `dest` begins: counted (SEND-8, BOUND-2) and queued behind the older ones. */
  private holdSend(dest: number): Held {
    let end: () => void = () => undefined;
    const done = new Promise<void>((r) => (end = r));
    const list = this.held.get(dest) ?? [];
    const h: Held = { done, end, before: list.length > 0 ? list[list.length - 1].done : null };
    list.push(h);
    this.held.set(dest, list);
    const core = this.core;
    core.heldSends[this.seat.slot * core.peers + dest]++;
    core.heldSendsOf[this.seat.slot]++;
    return h;
  }

  /** The end of the blocked send of this peer to `dest` just before `h` still held, or null. */
  private heldBefore(dest: number, h: Held): Promise<void> | null {
    const list = this.held.get(dest) ?? [];
    const i = list.indexOf(h);
    return i > 0 ? list[i - 1].done : null;
  }

  /** A blocked send ended (enqueued, failed or timed out): the next one of this peer to `dest` may go. */
  private releaseHeld(dest: number, h: Held): void {
    const list = this.held.get(dest) ?? [];
    const i = list.indexOf(h);
    if (i < 0) return; // released already (by close)
    list.splice(i, 1);
    if (list.length === 0) this.held.delete(dest);
    const core = this.core;
    core.heldSends[this.seat.slot * core.peers + dest]--;
    core.heldSendsOf[this.seat.slot]--;
    h.end();
  }

  /** The call's deadline: none when no timeout is given. */
  private static callDeadline(timeoutMs: number | undefined): number {
    return timeoutMs === undefined ? Infinity : now() + timeoutMs;
  }

  /** CALL-1, synchronous flavour: blocks this thread until the one outcome. */
  callSync(handle: HandleName, message: MessageInput = {}, options: CallOptions = {}): ReplyDelivery {
    const timeoutMs = readTimeoutOption(options);
    const replierCredentials = readBooleanOption(options, 'replierCredentials');
    if (timeoutMs === MALFORMED || replierCredentials === MALFORMED || !this.stage(handle, message))
      return this.seat.refused(STATUS.INVALID_ARGUMENT, 'call');
    // TIME-4: a call that may not wait; CRED-3: the replier's credentials on the reply
    const c = this.seat.startCall(handle, timeoutMs !== 0, replierCredentials === true);
    this.seat.awaitCall(c, this.core.callGen(c), ShmPeer.callDeadline(timeoutMs));
    return this.outcome(c);
  }

  /** CALL-1, promise flavour: resolves with the reply, or rejects with DEAD, NO_REPLY, TIMED_OUT or CLOSED. */
  async call(handle: HandleName, message: MessageInput = {}, options: CallOptions = {}): Promise<ReplyDelivery> {
    const timeoutMs = readTimeoutOption(options);
    const replierCredentials = readBooleanOption(options, 'replierCredentials');
    if (timeoutMs === MALFORMED || replierCredentials === MALFORMED || !this.stage(handle, message))
      return this.seat.refused(STATUS.INVALID_ARGUMENT, 'call');
    // TIME-4: a call that may not wait; CRED-3: the replier's credentials on the reply
    const c = this.seat.startCall(handle, timeoutMs !== 0, replierCredentials === true);
    await this.seat.awaitCallAsync(c, this.core.callGen(c), ShmPeer.callDeadline(timeoutMs));
    return this.outcome(c);
  }

  private outcome(c: number): ReplyDelivery {
    const r = this.seat.finishCall(c);
    if (!r.ok) throw new TesseraError(r.error, 'call');
    return (r.value as { reply: ReplyDelivery }).reply;
  }

  /** CALL-3: answer a call through its reply handle (straight to the caller, CALL-6). */
  reply(replyHandle: HandleName, message: MessageInput = {}): void {
    if (!this.stage(replyHandle, message)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'reply');
    this.hold('reply', OPS.reply, replyHandle, 0);
  }

  /** MCAST-1..5: returns the destinations skipped because their node is dead. */
  multicast(handles: HandleName[], message: MessageInput = {}): HandleName[] {
    this.multicastStaged(handles, message, false);
    const core = this.core;
    return core.outNamesCount === 0 ? [] : core.outNames.slice(0, core.outNamesCount);
  }

  /**
   * MCAST-6: a multicast to a group that skips the members whose queue is full (with `skipFull`,
   * the default here): the dead destinations (`skipped`) and the full ones (`full`).
   */
  publish(
    handles: HandleName[],
    message: MessageInput = {},
    options: { skipFull?: boolean } = {},
  ): { skipped: HandleName[]; full: HandleName[] } {
    const skipFull = readBooleanOption(options, 'skipFull');
    if (skipFull === MALFORMED) return this.seat.refused(STATUS.INVALID_ARGUMENT, 'multicast');
    this.multicastStaged(handles, message, skipFull !== false);
    const core = this.core;
    return { skipped: core.outNames.slice(0, core.outNamesCount), full: core.outFull.slice(0, core.outFullCount) };
  }

  private multicastStaged(handles: HandleName[], message: MessageInput, skipFull: boolean): void {
    const count = readNames(handles, this.names);
    const valid =
      count !== MALFORMED && count > 0 && !namesRepeat(this.names, count) && this.core.staged.read(message, false);
    if (!valid) return this.seat.refused(STATUS.INVALID_ARGUMENT, 'multicast');
    this.hold('multicast', OPS.multicast, count, skipFull ? 1 : 0, this.names);
  }

  /**
   * CALL-10, never waiting: answer through `replyHandle` and take what is queued now (at most
   * max), in one lock hold. A reply to an abandoned call is dropped (CALL-9); its
   * call-abandoned notice comes with the deliveries.
   */
  replyTryReceive(replyHandle: HandleName, message: MessageInput = {}, max = 64): Delivery[] {
    if (!this.stage(replyHandle, message) || !(isCount(max) && max >= 1))
      return this.seat.refused(STATUS.INVALID_ARGUMENT, 'replyReceive');
    this.hold('replyReceive', OPS.replyReceive, replyHandle, max);
    return this.deliveryBuffer.deliveries(this.received);
  }

  /**
   * RECV-1: what is queued now, at most max. The lock is held only to take the entries into an
   * internal batch (copying payloads out); the Delivery objects are built after unlocking.
   */
  tryReceive(max = 64): Delivery[] {
    if (!(isCount(max) && max >= 1)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'receive');
    this.hold('receive', OPS.receive, max, 0);
    const n = this.received;
    return this.deliveryBuffer.deliveries(n);
  }

  private static receiveOptions(options: unknown): { max: number; timeoutMs: number } | typeof MALFORMED {
    const read = readReceiveOptions(options);
    if (read === MALFORMED) return MALFORMED;
    read.max ??= 64;
    read.timeoutMs ??= Infinity; // TIME-4: left out, no limit
    return read as { max: number; timeoutMs: number };
  }

  /** RECV-2, synchronous flavour: wait for a batch, without limit or up to timeoutMs (TIME-4); [] on timeout. */
  receiveSync(options: { max?: number; timeoutMs?: number } = {}): Delivery[] {
    const read = ShmPeer.receiveOptions(options);
    if (read === MALFORMED) return this.seat.refused(STATUS.INVALID_ARGUMENT, 'receive');
    const deadline = now() + read.timeoutMs;
    for (;;) {
      if (this.core.queued(this.slot) > 0 || !this.seat.open()) {
        const out = this.tryReceive(read.max);
        if (out.length > 0) return out;
      }
      if (now() >= deadline) return [];
      this.seat.waitQueued(deadline);
    }
  }

  /** RECV-2, promise flavour. */
  async receive(options: { max?: number; timeoutMs?: number } = {}): Promise<Delivery[]> {
    const read = ShmPeer.receiveOptions(options);
    if (read === MALFORMED) return this.seat.refused(STATUS.INVALID_ARGUMENT, 'receive');
    const deadline = now() + read.timeoutMs;
    for (;;) {
      if (this.core.queued(this.slot) > 0 || !this.seat.open()) {
        const out = this.tryReceive(read.max);
        if (out.length > 0) return out;
      }
      const left = deadline - now();
      if (left <= 0) return [];
      await this.seat.sleepAsync(-1, 0, left);
    }
  }

  /** CLOSE-1..4. */
  close(): void {
    this.seat.uncollectedCall = NONE;
    this.hold('close', OPS.close, 0, 0);
    // Its blocked promise sends end CLOSED at their next retry; they hold nothing from now on (a
    // later peer in this slot starts with no blocked sends).
    for (const [dest, list] of this.held) for (const h of [...list]) this.releaseHeld(dest, h);
  }
}

/** An operation run by ShmPeer.hold: numbers a and b and one value x as the operation needs them. */
type PeerOp = (core: BusCore, slot: number, id: number, a: number, b: number, x: unknown, peer: ShmPeer) => Status;

/** The operations of the reference-shaped API, as module-level functions (so a call makes no closure). */
const OPS: Record<string, PeerOp> = {
  createNode: (core, slot, _id, credentials, accepts) =>
    operations.createNode(core, slot, credentials === 1, accepts === 1),
  mint: (core, slot, _id, handle, rights, badge) => operations.mint(core, slot, handle, rights, badge as number),
  release: (core, slot, _id, handle) => operations.releaseName(core, slot, handle),
  revoke: (core, slot, _id, handle) => operations.revoke(core, slot, handle),
  destroyNode: (core, slot, _id, handle, derivedCount) => operations.destroyNode(core, slot, handle, derivedCount),
  sameNode: (core, slot, _id, handle, other) => operations.sameNode(core, slot, handle, other),
  cancel: (core, slot, id, ticket) => {
    core.outCount = cancelOwnCall(core, slot, id, ticket) ? 1 : 0;
    return OK;
  },
  replyReceive: (core, slot, id, handle, max, _x, peer) => {
    const status = operations.replyDropping(core, slot, handle);
    return status === OK ? OPS.receive(core, slot, id, max, 0, null, peer) : status;
  },
  reply: (core, slot, _id, handle) => operations.reply(core, slot, handle),
  multicast: (core, slot, id, count, skipFull, names) =>
    multicast(core, slot, id, names as number[], count, skipFull === 1),
  close: (core, slot, id) => operations.close(core, slot, id),
  receive: (core, slot, _id, max, _b, _x, peer) => {
    const take = Math.min(max, core.queued(slot));
    let n = 0;
    if (take > 0) {
      const needs = batchNeeds(core, slot, take);
      n = takeBatch(core, slot, take, peer.deliveryBuffer.batchFor(take, needs.bytes, needs.handles));
    }
    peer.received = n;
    return OK;
  },
};
