// A peer's seat on the bus, as the thread that runs it holds it: its slot and id,
// its spin policy and wait statistics, and the waits both of its APIs use (the
// reference-shaped ShmPeer and its fast paths). A waiter reads the word it will wait
// on, re-checks its condition, spins on the word for up to its budget, then sleeps
// (announced in a sleeper count, so a publisher wakes it only then), always with a
// bound, re-checking under the lock where a publication could have been lost
// (DESIGN.md, "Wake-ups and spinning").
import { TesseraError } from '../common';
import type { BusCore } from './core';
import type { Result } from '../../spec/types';
import { callResult, collectCall } from './calls';
import { timeoutCall } from './abandon';
import { call, send } from './operations';
import { destOfHandle } from './tables';
import * as status from './status';
import { errorCodeOf, type Status } from './status';
import { now, SpinPolicy, spinUntilChanged, spinUntilEquals } from './spin';
import * as layout from './layout';
import { currentCpu, nativeAvailability } from '../../native';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { NONE, P_CPU, P_MBREADY, P_ROOM, P_ROOM_WAITERS, P_SLEEP, P_STATUS, P_WAITING, P_WAKE } = layout;
const { OK, STATUS } = status;

/** A sleeper re-checks a call under the lock this often (a resolver that died between commit and publication). */
export const CALL_RECHECK_MS = 50;
/** A sender waiting for room re-tries at least this often. */
const ROOM_RECHECK_MS = 50;

/** Whether this thread can learn the CPU it runs on (the native addon loads here); asked once. */
let cpuKnownHere: boolean | null = null;
function cpuKnown(): boolean {
  if (cpuKnownHere === null) cpuKnownHere = nativeAvailability().available && currentCpu() >= 0;
  return cpuKnownHere;
}

export function fail(status: Status, op: string): never {
  throw new TesseraError(errorCodeOf(status), op);
}

/** How a peer's waits ended, for benchmarks and tests. */
export interface WaitStats {
  /** Waits that actually slept. */
  sleeps: number;
  /** Waits that ended while spinning / after the spin ran out. */
  spinsWon: number;
  spinsLost: number;
  /** Deliveries received through the hand-off mailbox (ReplyRecv). */
  handedOff: number;
  /** Lock acquisitions of this thread that had to spin or sleep. */
  lockContended: number;
}

export class PeerSeat {
  readonly spin: SpinPolicy;
  sleeps = 0;
  handedOff = 0;
  /** The fast call path collects its last call at the next call (one lock hold per call). */
  uncollectedCall = NONE;
  /** The ticket of the last call this peer started (TIME-2); 0 before any. */
  lastCallTicket = 0;
  readonly int32: Int32Array;
  /** This peer's wake word, sleeper count, hand-off ready word and waiting-receiver count. */
  readonly wakeAt: number;
  readonly sleepAt: number;
  readonly readyAt: number;
  readonly waitingAt: number;

  constructor(
    readonly core: BusCore,
    readonly slot: number,
    readonly id: number,
    spinUs: number,
  ) {
    this.spin = new SpinPolicy(spinUs);
    if (spinUs > 0 && cpuKnown()) this.spin.sharesCpu = () => this.sharesCpu();
    this.int32 = core.int32;
    const p = core.peerAt(slot);
    this.wakeAt = p + P_WAKE;
    this.sleepAt = p + P_SLEEP;
    this.readyAt = p + P_MBREADY;
    this.waitingAt = p + P_WAITING;
  }

  /** PEER-2: whether the peer is open. Only its own thread (or the owner, once that thread died) closes it. */
  open(): boolean {
    return this.core.peerOpen(this.slot, this.id);
  }

  /** The status of an operation refused before the lock: CLOSED first (ERR-1), else `status`. */
  refused(status: Status, op: string): never {
    return fail(this.open() ? status : STATUS.CLOSED, op);
  }

  /**
   * One send attempt under the lock with what is staged (the handle checked for shape): a
   * status, BLOCKED_BY_* when there is no room and `block` (SEND-7). `retried`: the retry of this
   * peer's oldest blocked send to that queue (SEND-8 holds every other send behind it).
   */
  trySend(handle: number, block: boolean, retried = false): Status {
    const core = this.core;
    core.lock();
    let status: Status;
    try {
      status = this.open() ? send(core, this.slot, this.id, handle, block, retried) : STATUS.CLOSED;
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return status;
  }

  /**
   * CALL-1 with what is staged, in one lock hold that also collects the previous fast call;
   * returns the call slot (its ticket in the core's outTicket), or throws the error.
   */
  startCall(handle: number, mayWait = true, replierCredentials = false): number {
    const core = this.core;
    core.lock();
    let status: Status;
    try {
      if (this.uncollectedCall !== NONE) {
        collectCall(core, this.uncollectedCall);
        this.uncollectedCall = NONE;
      }
      status = this.open() ? call(core, this.slot, this.id, handle, mayWait, replierCredentials) : STATUS.CLOSED;
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (status !== OK) fail(status, 'call');
    this.lastCallTicket = core.outTicket;
    return core.outCall;
  }

  /** The outcome of a resolved call (collected: its slot is freed once nothing refers to it). */
  finishCall(c: number): Result {
    const core = this.core;
    core.lock();
    let result: Result;
    try {
      result = callResult(core, c);
      collectCall(core, c);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return result;
  }

  /**
   * A spin of this thread ran out: publish the CPU it runs on (P_CPU) and say whether another open
   * peer that is not asleep last published the same (it may be the one to answer, and it cannot
   * run while this thread spins). A peer's P_CPU is as old as its last lost spin: a stale yes
   * shrinks the budget as every lost spin once did; a stale no costs one more full spin, until
   * the peer, whose own spins run out while this thread holds their CPU, publishes where it runs.
   */
  private sharesCpu(): boolean {
    const core = this.core,
      I = this.int32;
    const cpu = currentCpu() + 1;
    if (cpu <= 0) return true;
    Atomics.store(I, core.peerAt(this.slot) + P_CPU, cpu);
    for (let s = 0; s < core.peers; s++) {
      const p = core.peerAt(s);
      if (s === this.slot || Atomics.load(I, p + P_STATUS) !== 1 || Atomics.load(I, p + P_SLEEP) !== 0) continue;
      if (Atomics.load(I, p + P_CPU) === cpu) return true;
    }
    return false;
  }

  stats(): WaitStats {
    return {
      sleeps: this.sleeps,
      spinsWon: this.spin.won,
      spinsLost: this.spin.lost,
      handedOff: this.handedOff,
      lockContended: this.core.busLock.contended,
    };
  }

  /** Wait on `index` while it holds `seen`, at most `timeoutMs`, announced in the sleeper count at `sleepersAt`. */
  private sleepOn(index: number, seen: number, sleepersAt: number, timeoutMs: number): void {
    const I = this.int32;
    Atomics.add(I, sleepersAt, 1);
    if (Atomics.load(I, index) === seen && timeoutMs > 0) {
      this.sleeps++;
      this.core.waiting.wait(I, index, seen, timeoutMs);
    }
    Atomics.sub(I, sleepersAt, 1);
  }

  /**
   * Wait until this peer's queue may hold something (or it closed) or the deadline passes:
   * announce in P_WAITING (publishers bump the wake word only while someone waits), read the
   * wake word, re-check the queue, spin on the word, then sleep on it.
   */
  waitQueued(deadline: number): void {
    const I = this.int32,
      wakeAt = this.wakeAt;
    Atomics.add(I, this.waitingAt, 1);
    const seen = Atomics.load(I, wakeAt);
    if (this.core.queued(this.slot) === 0 && this.open()) {
      const budget = this.spin.budget();
      let won = false;
      if (budget > 0) {
        won = spinUntilChanged(I, wakeAt, seen, budget);
        if (won) this.spin.spinWon();
        else this.spin.spinLost();
      }
      if (!won) this.sleepOn(wakeAt, seen, this.sleepAt, deadline - now());
    }
    Atomics.sub(I, this.waitingAt, 1);
  }

  /**
   * Wait until call c (generation gen) has a committed outcome or the deadline passes (then it
   * is expired: TIMED_OUT unless something else resolved it first). Spins on the call's
   * completion word, then sleeps on this peer's wake word (announced in P_SLEEP first).
   */
  awaitCall(c: number, gen: number, deadline: number): void {
    const core = this.core,
      I = this.int32,
      doneAt = core.callDoneAt(c);
    if (Atomics.load(I, doneAt) === gen) return;
    const budget = this.spin.budget();
    if (budget > 0) {
      if (spinUntilEquals(I, doneAt, gen, budget)) {
        this.spin.spinWon();
        return;
      }
      this.spin.spinLost();
    }
    let recheckAt = now() + CALL_RECHECK_MS;
    for (;;) {
      const t = now();
      if (t >= deadline) return this.expireCall(c);
      if (t >= recheckAt) {
        if (this.resolvedUnderLock(c)) return;
        recheckAt = t + CALL_RECHECK_MS;
      }
      Atomics.add(I, this.sleepAt, 1);
      const w = Atomics.load(I, this.wakeAt);
      if (Atomics.load(I, doneAt) === gen) {
        Atomics.sub(I, this.sleepAt, 1);
        return;
      }
      this.sleeps++;
      core.waiting.wait(I, this.wakeAt, w, Math.min(deadline - t, recheckAt - t));
      Atomics.sub(I, this.sleepAt, 1);
      if (Atomics.load(I, doneAt) === gen) return;
    }
  }

  /** The promise flavour of awaitCall. */
  async awaitCallAsync(c: number, gen: number, deadline: number): Promise<void> {
    const doneAt = this.core.callDoneAt(c);
    let recheckAt = now() + CALL_RECHECK_MS;
    for (;;) {
      if (Atomics.load(this.int32, doneAt) === gen) return;
      const t = now();
      if (t >= deadline) return this.expireCall(c);
      if (t >= recheckAt) {
        if (this.resolvedUnderLock(c)) return;
        recheckAt = t + CALL_RECHECK_MS;
      }
      await this.sleepAsync(doneAt, gen, Math.min(deadline - t, recheckAt - t));
    }
  }

  private resolvedUnderLock(c: number): boolean {
    const core = this.core;
    core.lock();
    const state = core.callState(c);
    core.unlock();
    return state === 2;
  }

  private expireCall(c: number): void {
    const core = this.core;
    core.lock();
    try {
      timeoutCall(core, c);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
  }

  /** Where `handle` leads and that queue's room word now (read before a send attempt); dest NONE if it leads nowhere live. */
  roomWord(handle: number): { dest: number; seen: number } {
    const dest = destOfHandle(this.core, this.slot, handle);
    return { dest, seen: dest === NONE ? 0 : Atomics.load(this.int32, this.core.peerAt(dest) + P_ROOM) };
  }

  /**
   * After a send found no room in `dest`'s queue: spin until its room word moves from `seen`,
   * or sleep on it (announced in the room-waiter count), until the deadline or a bounded time.
   */
  waitForRoom(dest: number, seen: number, deadline: number): void {
    const I = this.int32,
      p = this.core.peerAt(dest);
    const budget = this.spin.budget();
    if (budget > 0) {
      if (spinUntilChanged(I, p + P_ROOM, seen, budget)) return this.spin.spinWon();
      this.spin.spinLost();
    }
    this.sleepOn(p + P_ROOM, seen, p + P_ROOM_WAITERS, Math.min(deadline - now(), ROOM_RECHECK_MS));
  }

  /** The promise flavour of waitForRoom (no spin). */
  async waitForRoomAsync(dest: number, seen: number, leftMs: number): Promise<void> {
    const I = this.int32,
      p = this.core.peerAt(dest);
    if (Atomics.load(I, p + P_ROOM) !== seen) return;
    Atomics.add(I, p + P_ROOM_WAITERS, 1);
    try {
      const w = this.core.waiting.waitAsync(I, p + P_ROOM, seen, Math.min(leftMs, ROOM_RECHECK_MS));
      if (typeof w !== 'string') await w;
    } finally {
      Atomics.sub(I, p + P_ROOM_WAITERS, 1);
    }
  }

  /**
   * The promise flavours' sleep: announce, re-check, then wait without blocking the thread on
   * the wake word. A receive passes doneAt -1 (it announces in P_WAITING too and re-checks its
   * queue); a call its completion word and generation.
   */
  async sleepAsync(doneAt: number, gen: number, leftMs: number): Promise<void> {
    const I = this.int32,
      wakeAt = this.wakeAt,
      receive = doneAt < 0;
    const ready = () => (receive ? this.core.queued(this.slot) > 0 || !this.open() : Atomics.load(I, doneAt) === gen);
    if (ready()) return;
    if (receive) Atomics.add(I, this.waitingAt, 1);
    Atomics.add(I, this.sleepAt, 1);
    try {
      const w = Atomics.load(I, wakeAt);
      // A wait that returns at once still costs ~0.7 us: check first.
      if (ready()) return;
      this.sleeps++;
      const r = this.core.waiting.waitAsync(I, wakeAt, w, leftMs);
      if (typeof r !== 'string') await r;
    } finally {
      Atomics.sub(I, this.sleepAt, 1);
      if (receive) Atomics.sub(I, this.waitingAt, 1);
    }
  }
}
