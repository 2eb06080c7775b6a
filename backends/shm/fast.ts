// The fast paths of a peer (`peer.fast`): one payload of bytes and no handles, no
// Delivery objects, nothing allocated per message, each payload byte copied once,
// the lock taken once per operation, and a peer woken only if it sleeps (DESIGN.md).
// Arguments are checked as everywhere else (read once, INVALID_ARGUMENT or CLOSED
// before the lock); a batch must come from createReceiveBatch and `max` fit it.
import type { HandleName } from '../../spec/types';
import { bytesLength, isBytes, MALFORMED, readNameList } from '../common';
import * as rules from '../../model/rules';
import { ReceiveBatch } from './batch';
import { replyInto } from './calls';
import { batchFitsMailbox, readHandOff, registerHandOff, settleHandOff } from './handoff';
import { takeBatch } from './receive';
import * as operations from './operations';
import { CALL_RECHECK_MS, fail, type PeerSeat } from './seat';
import * as status from './status';
import { isBlocked, type Status } from './status';
import * as spin from './spin';
import { now, spinUntilEqualsOrChanged, spinUntilChanged } from './spin';
import { destOfHandle, recordNamed } from './tables';
import * as layout from './layout';
import { prefetchWrite } from './prefetch';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { C_OUTCOME, C_REPLY, C_STATE, ENTRY_CALL, HDR_LOCK, MB_CALL, MB_STATE, NONE, P_FREE, P_ROOM, P_ROOM_WAITERS } =
  layout;
const { OK, STATUS } = status;
const { SPIN_EQUALS, SPIN_TIMED_OUT } = spin;
const { isCount, isName } = rules;

export class ShmFastPaths {
  /** Names given to releaseEach, read once. */
  private readonly releaseNames: Float64Array;
  /** Where warmCall and warmReply leave what they read (a store the compiler cannot drop). */
  private warmed = 0;
  /** The bus lock's contended acquisitions of this thread when it last prefetched (see quiet). */
  private contendedSeen = 0;

  constructor(private readonly seat: PeerSeat) {
    this.releaseNames = new Float64Array(seat.core.tableSize);
  }

  /** SEND-1 with one payload and no handles; false on QUEUE_FULL. */
  sendBytes(handle: HandleName, bytes: Uint8Array): boolean {
    if (!isName(handle) || !this.seat.core.staged.setBytes(bytes)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'send');
    const status = this.seat.trySend(handle, true);
    if (status === OK) return true;
    if (isBlocked(status)) return false;
    return fail(status, 'send');
  }

  /** SEND-7 with one payload and no handles, waiting as long as it takes for room (spin, then sleep on the queue's room word). */
  sendBytesSync(handle: HandleName, bytes: Uint8Array): void {
    const seat = this.seat;
    if (!isName(handle) || !seat.core.staged.setBytes(bytes)) seat.refused(STATUS.INVALID_ARGUMENT, 'send');
    for (;;) {
      let status = seat.trySend(handle, true);
      if (isBlocked(status)) {
        // Read the room word, then try again: room freed after that read wakes the wait.
        const { dest, seen } = seat.roomWord(handle);
        status = seat.trySend(handle, true);
        if (isBlocked(status) && dest !== NONE) seat.waitForRoom(dest, seen, Infinity);
      }
      if (status === OK) return;
      if (!isBlocked(status)) fail(status, 'send');
    }
  }

  /**
   * CALL-1 with one payload: one lock hold (which also collects the previous call), a spin or
   * sleep on the call's own completion word, and the reply's bytes read straight from the
   * call's reply area into `replyOut` (as many as fit) without the lock. Returns the reply's
   * length; throws TesseraError for the other outcomes. No timeout: no deadline.
   */
  callBytesSync(handle: HandleName, bytes: Uint8Array, replyOut: Uint8Array, timeoutMs?: number): number {
    const seat = this.seat,
      core = seat.core;
    const valid =
      isName(handle) &&
      isBytes(replyOut) &&
      (timeoutMs === undefined || isCount(timeoutMs)) &&
      core.staged.setBytes(bytes);
    if (!valid) seat.refused(STATUS.INVALID_ARGUMENT, 'call');
    const outLength = bytesLength(replyOut);
    const c = seat.startCall(handle, timeoutMs !== 0); // TIME-4: a call that may not wait
    const I = core.int32,
      replyRecord = I[core.callAt(c) + C_REPLY]; // the callee's record the next call's reply handle takes (LIFO)
    seat.awaitCall(c, core.callGen(c), timeoutMs === undefined ? Infinity : now() + timeoutMs);
    // The reply's two lines (its outcome and its bytes) at once, then the next call's: all overlap.
    this.warmed = I[core.callAt(c) + C_OUTCOME] + I[core.replyAreaAt(c) >> 2];
    this.warmCall(handle, c, replyRecord);
    const n = replyInto(core, c, replyOut, outLength);
    seat.uncollectedCall = c;
    if (n < 0) fail(-n, 'call');
    return n;
  }

  /**
   * Once a call's outcome is seen, the lines of the callee that the next call's hold will write
   * and that the callee's hold wrote last: the bus lock, its peer record, its mailbox and payload,
   * the table record its next reply handle takes (the one this call's took: the free list is LIFO),
   * and this call's record. Between processes each is a cache miss that the hold would meet in
   * turn; asked for here, together and while the reply is read, they overlap. With the addon they
   * are prefetched for writing (the hold then finds them writable); without it, or while others
   * contend for the lock (see quiet), a word of each is read instead. Racy reads decide nothing:
   * a hold reads every word again under the lock.
   */
  private warmCall(handle: number, c: number, replyRecord: number): void {
    const core = this.seat.core,
      I = core.int32;
    const dest = destOfHandle(core, this.seat.slot, handle);
    if (dest === NONE) return;
    const record = replyRecord >>> 0 < core.peers * core.tableSize ? core.handleAt(replyRecord) : -1;
    if (prefetchWrite !== null && this.quiet()) {
      prefetchWrite(
        I,
        HDR_LOCK,
        core.peerAt(dest) + P_FREE,
        core.mailboxAt(dest) + MB_STATE,
        core.mailboxPayloadAt(dest) >> 2,
        record,
        core.callAt(c) + C_STATE,
      );
      return;
    }
    let w = I[core.peerAt(dest) + P_FREE] + I[core.mailboxAt(dest) + MB_STATE];
    if (record >= 0) w += I[record];
    this.warmed = w;
  }

  /**
   * The same for the reply a delivered call will get, as soon as the mailbox's header is read: the
   * bus lock, this peer's record and mailbox, the reply handle's record, the call record and the
   * call's reply area. The record comes from the reply handle's name and the call from the
   * mailbox (MB_CALL), not from the record itself: reading the record first would be one more miss
   * in a row before the others could start.
   */
  private warmReply(replyHandle: number): void {
    const core = this.seat.core,
      I = core.int32,
      slot = this.seat.slot;
    const r = recordNamed(core, slot, replyHandle);
    const c = I[core.mailboxAt(slot) + MB_CALL];
    const known = c >>> 0 < core.peers * core.callSlots;
    if (prefetchWrite !== null && this.quiet()) {
      prefetchWrite(
        I,
        HDR_LOCK,
        core.peerAt(slot) + P_FREE,
        core.mailboxAt(slot) + MB_STATE,
        r === NONE ? -1 : core.handleAt(r),
        known ? core.callAt(c) + C_STATE : -1,
        known ? core.replyAreaAt(c) >> 2 : -1,
      );
      return;
    }
    let w = I[core.peerAt(slot) + P_FREE];
    if (r !== NONE) w += I[core.handleAt(r)];
    if (known) w += I[core.callAt(c) + C_STATE];
    this.warmed = w;
  }

  /**
   * Whether no acquisition of the bus lock by this thread met another holder since the last
   * prefetch. A write prefetch takes a line away from whoever holds it; while others contend for
   * the lock, the lines may be in a holder's hands, and taking them would lengthen that hold.
   */
  private quiet(): boolean {
    const n = this.seat.core.busLock.contended;
    const quiet = n === this.contendedSeen;
    this.contendedSeen = n;
    return quiet;
  }

  /** CALL-3 with one payload: straight into the caller's reply area (CALL-6). */
  replyBytes(replyHandle: HandleName, bytes: Uint8Array): void {
    const seat = this.seat,
      core = seat.core;
    if (!isName(replyHandle) || !core.staged.setBytes(bytes)) seat.refused(STATUS.INVALID_ARGUMENT, 'reply');
    core.lock();
    let status: Status;
    try {
      status = seat.open() ? operations.replyDropping(core, seat.slot, replyHandle) : STATUS.CLOSED;
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (status !== OK) fail(status, 'reply');
  }

  /**
   * RELEASE-1, several times: releases names[0 .. count-1] (an array or a typed array; count at
   * most the table size) in order, as that many releases run back to back in one lock hold
   * (each linearized there, nothing else between). A release that fails (a name that does not
   * resolve, or that is not a name) changes nothing. Returns how many failed.
   */
  releaseEach(names: ArrayLike<number>, count?: number): number {
    const seat = this.seat,
      core = seat.core;
    const n = readNameList(names, count, core.tableSize, this.releaseNames);
    if (n === MALFORMED) return seat.refused(STATUS.INVALID_ARGUMENT, 'release');
    let failed = 0,
      status: Status = OK;
    core.lock();
    try {
      if (!seat.open()) status = STATUS.CLOSED;
      else
        for (let i = 0; i < n; i++) {
          const name = this.releaseNames[i];
          if (!isName(name) || operations.releaseName(core, seat.slot, name) !== OK) failed++;
        }
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (status !== OK) fail(status, 'release');
    return failed;
  }

  /** The shape of a batch receive: a batch from createReceiveBatch, max from 1 to its capacity, a timeout. */
  private static batchValid(batch: unknown, max: unknown, timeoutMs: unknown): boolean {
    return ReceiveBatch.is(batch) && isCount(max) && max >= 1 && max <= batch.capacity && isCount(timeoutMs);
  }

  /**
   * RECV-1 into a batch: up to max deliveries in one lock hold, waiting up to timeoutMs (0: not
   * at all) for the first. Returns the count. With a batch made with `views: true`, payloads
   * are views into the queue, valid until the next receive.
   */
  receiveBatchSync(batch: ReceiveBatch, max: number, timeoutMs: number): number {
    if (!ShmFastPaths.batchValid(batch, max, timeoutMs)) this.seat.refused(STATUS.INVALID_ARGUMENT, 'receive');
    return this.receiveInto(batch, max, timeoutMs > 0 ? now() + timeoutMs : 0);
  }

  private receiveInto(batch: ReceiveBatch, max: number, deadline: number): number {
    const seat = this.seat,
      core = seat.core;
    for (;;) {
      if (core.queued(seat.slot) > 0) {
        core.lock();
        let n: number;
        try {
          n = seat.open() ? takeBatch(core, seat.slot, max, batch) : -1;
        } catch (e) {
          core.abort();
          throw e;
        }
        core.unlock();
        if (n < 0) fail(STATUS.CLOSED, 'receive');
        if (n > 0) return n;
      } else if (!seat.open()) fail(STATUS.CLOSED, 'receive');
      batch.count = 0;
      if (deadline === 0 || now() >= deadline) return 0; // a receive that does not wait reads no clock
      seat.waitQueued(deadline);
    }
  }

  /**
   * CALL-3 then RECV-1 in one lock hold (seL4's ReplyRecv): reply to a call, then take what is
   * queued, or, with an empty queue, offer this peer's mailbox for a direct hand-off and wait:
   * the next sender or caller delivers straight into it in its own lock hold, so a call/reply
   * round trip takes one lock hold on each side. Payloads over the mailbox's size, notices and
   * multicasts still come through the queue. A reply to a caller that is gone is dropped and the
   * receive goes on (CALL-10); any other failure of the reply throws, and nothing is received.
   */
  replyBytesAndReceiveSync(
    replyHandle: HandleName,
    bytes: Uint8Array,
    batch: ReceiveBatch,
    max: number,
    timeoutMs: number,
  ): number {
    const seat = this.seat,
      core = seat.core,
      I = seat.int32;
    if (!isName(replyHandle) || !ShmFastPaths.batchValid(batch, max, timeoutMs) || !core.staged.setBytes(bytes))
      seat.refused(STATUS.INVALID_ARGUMENT, 'reply');
    let status: Status,
      n = 0,
      registration = 0,
      seen = 0;
    core.lock();
    try {
      // CALL-10: a reply to a caller that is gone is dropped (the reply handle consumed) and the receive goes on.
      status = seat.open() ? operations.replyDropping(core, seat.slot, replyHandle) : STATUS.CLOSED;
      if (status === OK) {
        if (core.queued(seat.slot) > 0) n = takeBatch(core, seat.slot, max, batch);
        else if (timeoutMs > 0 && batchFitsMailbox(core, batch)) {
          registration = registerHandOff(core, seat.slot);
          // A registered mailbox counts as a waiting receiver (Wakeups.publish): an enqueue
          // committed after this hold bumps the wake word read here.
          if (registration !== 0) seen = Atomics.load(I, seat.wakeAt);
        }
      }
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (status !== OK) fail(status, 'reply');
    if (n > 0) return n;
    if (registration === 0) return this.receiveInto(batch, max, timeoutMs > 0 ? now() + timeoutMs : 0);
    return this.awaitHandOff(registration, seen, batch, max, timeoutMs);
  }

  /**
   * Wait for hand-off registration `registration` to be filled (or something else to arrive, or
   * timeoutMs). No clock is read unless the spin ends without the hand-off: the deadline counts
   * from the spin's end, so a wait that times out may run late by the spin budget at most.
   */
  private awaitHandOff(
    registration: number,
    seen: number,
    batch: ReceiveBatch,
    max: number,
    timeoutMs: number,
  ): number {
    const seat = this.seat,
      I = seat.int32;
    if (Atomics.load(I, seat.readyAt) === registration) return this.readMailbox(batch);
    const budget = seat.spin.budget();
    if (budget > 0) {
      // both words are on this peer's wake line: one line to watch
      const ended = spinUntilEqualsOrChanged(I, seat.readyAt, registration, seat.wakeAt, seen, budget);
      if (ended === SPIN_TIMED_OUT) seat.spin.spinLost();
      else seat.spin.spinWon();
      if (ended === SPIN_EQUALS) return this.readMailbox(batch);
    }
    const deadline = now() + timeoutMs;
    for (;;) {
      if (Atomics.load(I, seat.wakeAt) === seen) {
        Atomics.add(I, seat.sleepAt, 1);
        const w = Atomics.load(I, seat.wakeAt);
        const left = deadline - now();
        if (Atomics.load(I, seat.readyAt) !== registration && w === seen && left > 0) {
          seat.sleeps++;
          seat.core.waiting.wait(I, seat.wakeAt, w, left < CALL_RECHECK_MS ? left : CALL_RECHECK_MS);
        }
        Atomics.sub(I, seat.sleepAt, 1);
      }
      if (Atomics.load(I, seat.readyAt) === registration) return this.readMailbox(batch);
      // Something else arrived, time passed, or the filler's publication is late: settle under the lock.
      const moved = Atomics.load(I, seat.wakeAt) !== seen;
      const expired = now() >= deadline;
      const n = this.settleMailbox(registration, batch, max, !moved && !expired, moved);
      if (n > 0) return n;
      if (moved || expired) {
        if (!seat.open()) fail(STATUS.CLOSED, 'receive');
        if (now() >= deadline) {
          batch.count = 0;
          return 0;
        }
        return this.receiveInto(batch, max, deadline);
      }
    }
  }

  private readMailbox(batch: ReceiveBatch): number {
    this.seat.handedOff++;
    const n = readHandOff(this.seat.core, this.seat.slot, batch);
    if (batch.kind[0] === ENTRY_CALL) this.warmReply(batch.replyHandle[0]);
    return n;
  }

  /** Under the lock: the mailbox's delivery if it was filled, else withdraw it (unless `keep`) and take the queue if it `moved`. */
  private settleMailbox(registration: number, batch: ReceiveBatch, max: number, keep: boolean, moved: boolean): number {
    const seat = this.seat,
      core = seat.core;
    core.lock();
    let n: number;
    try {
      n = settleHandOff(core, seat.slot, registration, batch, keep);
      if (n > 0) seat.handedOff++;
      else if (moved && core.queued(seat.slot) > 0 && seat.open()) n = takeBatch(core, seat.slot, max, batch);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return n;
  }

  /**
   * Wait until the queue behind `handle` may have room again (after QUEUE_FULL from a
   * non-blocking operation such as multicast): spin on its room word, then sleep on it, up to
   * timeoutMs. Returns at once if the handle no longer leads to a live node.
   */
  awaitRoom(handle: HandleName, timeoutMs: number): void {
    const seat = this.seat,
      I = seat.int32;
    if (!isName(handle) || !isCount(timeoutMs)) seat.refused(STATUS.INVALID_ARGUMENT, 'awaitRoom');
    const { dest, seen } = seat.roomWord(handle);
    if (dest === NONE) return;
    const p = seat.core.peerAt(dest);
    const budget = seat.spin.budget();
    if (budget > 0) {
      if (spinUntilChanged(I, p + P_ROOM, seen, budget)) return seat.spin.spinWon();
      seat.spin.spinLost();
    }
    Atomics.add(I, p + P_ROOM_WAITERS, 1);
    if (Atomics.load(I, p + P_ROOM) === seen && timeoutMs > 0) {
      seat.sleeps++;
      seat.core.waiting.wait(I, p + P_ROOM, seen, timeoutMs);
    }
    Atomics.sub(I, p + P_ROOM_WAITERS, 1);
  }
}
