// What a lock hold makes visible to waiting threads, published once it committed
// (DESIGN.md, "Wake-ups and spinning"): enqueues wake a receiver that waits, freed
// room wakes senders waiting for it, a call's outcome is its completion word, a
// filled hand-off mailbox its ready word. Publishers only read the sleeper counts
// (only a waiter changes its own count); a waiter increments its count before it
// re-checks, and all of these are sequentially consistent atomics, so either the
// waiter sees the change or the publisher sees the sleeper.
import * as layout from './layout';
import type { BusRecords } from './records';
import type { Waiting } from './waiting';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { C_CALLER, MB_STATE, P_MBREADY, P_ROOM, P_ROOM_WAITERS, P_SLEEP, P_WAITING, P_WAKE } = layout;

export class Wakeups {
  private readonly queueChangedList: Int32Array;
  private readonly queueChangedFlag: Uint8Array;
  private queueChangedCount = 0;
  private readonly roomFreedList: Int32Array;
  private readonly roomFreedFlag: Uint8Array;
  private roomFreedCount = 0;
  private readonly resolvedCalls: Int32Array;
  private readonly resolvedGens: Int32Array;
  private resolvedCount = 0;
  private readonly filledMailboxes: Int32Array;
  private readonly filledRegistrations: Int32Array;
  private filledCount = 0;
  /** Whether anything waits to be published. */
  pending = false;

  constructor(
    private readonly records: BusRecords,
    private readonly waiting: Waiting,
  ) {
    const peers = records.peers;
    this.queueChangedList = new Int32Array(peers);
    this.queueChangedFlag = new Uint8Array(peers);
    this.roomFreedList = new Int32Array(peers);
    this.roomFreedFlag = new Uint8Array(peers);
    this.resolvedCalls = new Int32Array(peers * records.callSlots);
    this.resolvedGens = new Int32Array(peers * records.callSlots);
    this.filledMailboxes = new Int32Array(peers);
    this.filledRegistrations = new Int32Array(peers);
  }

  /** Something was enqueued to (or the peer in) `slot` changed: wake its receiver if one waits. */
  queueChanged(slot: number): void {
    if (this.queueChangedFlag[slot] === 0) {
      this.queueChangedFlag[slot] = 1;
      this.queueChangedList[this.queueChangedCount++] = slot;
      this.pending = true;
    }
  }

  /** The queue of `slot` has more room: wake senders waiting for it. */
  roomFreed(slot: number): void {
    if (this.roomFreedFlag[slot] === 0) {
      this.roomFreedFlag[slot] = 1;
      this.roomFreedList[this.roomFreedCount++] = slot;
      this.pending = true;
    }
  }

  /** Call slot c (of generation gen) has its outcome (CALL-2). */
  callResolved(c: number, gen: number): void {
    this.resolvedCalls[this.resolvedCount] = c;
    this.resolvedGens[this.resolvedCount++] = gen;
    this.pending = true;
  }

  /** The mailbox of `slot` was filled for its registration `registration`. */
  mailboxFilled(slot: number, registration: number): void {
    this.filledMailboxes[this.filledCount] = slot;
    this.filledRegistrations[this.filledCount++] = registration;
    this.pending = true;
  }

  /** The hold was rolled back: nothing to publish. */
  discard(): void {
    for (let i = 0; i < this.queueChangedCount; i++) this.queueChangedFlag[this.queueChangedList[i]] = 0;
    for (let i = 0; i < this.roomFreedCount; i++) this.roomFreedFlag[this.roomFreedList[i]] = 0;
    this.queueChangedCount = 0;
    this.roomFreedCount = 0;
    this.resolvedCount = 0;
    this.filledCount = 0;
    this.pending = false;
  }

  /** After the commit: publish, waking only those who sleep. */
  publish(): void {
    this.pending = false;
    const I = this.records.int32,
      rec = this.records,
      waiting = this.waiting;
    // A call's outcome: its completion word (the caller spins on it); the caller's wake word only if it sleeps.
    for (let i = 0; i < this.resolvedCount; i++) {
      const c = this.resolvedCalls[i];
      Atomics.store(I, rec.callDoneAt(c), this.resolvedGens[i]);
      const p = rec.peerAt(I[rec.callAt(c) + C_CALLER]);
      if (Atomics.load(I, p + P_SLEEP) !== 0) {
        Atomics.add(I, p + P_WAKE, 1);
        waiting.wake(I, p + P_WAKE, Infinity);
      }
    }
    this.resolvedCount = 0;
    // A filled mailbox: its registration number. The receiver checks the ready word after announcing
    // itself in P_SLEEP and before sleeping, so the wake word needs a bump only when it sleeps.
    for (let i = 0; i < this.filledCount; i++) {
      const p = rec.peerAt(this.filledMailboxes[i]);
      Atomics.store(I, p + P_MBREADY, this.filledRegistrations[i]);
      if (Atomics.load(I, p + P_SLEEP) !== 0) {
        Atomics.add(I, p + P_WAKE, 1);
        waiting.wake(I, p + P_WAKE, Infinity);
      }
    }
    this.filledCount = 0;
    for (let i = 0; i < this.queueChangedCount; i++) {
      const slot = this.queueChangedList[i];
      this.queueChangedFlag[slot] = 0;
      const p = rec.peerAt(slot);
      // A busy receiver is not waiting: leave its wake line alone (no line transfer per message).
      // A receiver waits when it announced itself in P_WAITING, or registered its hand-off mailbox
      // (MB_STATE 1, set in its own lock hold, so seen by any hold after it, and by this read,
      // which follows this hold's lock acquisition).
      if (Atomics.load(I, p + P_WAITING) === 0 && I[rec.mailboxAt(slot) + MB_STATE] !== 1) continue;
      Atomics.add(I, p + P_WAKE, 1);
      if (Atomics.load(I, p + P_SLEEP) !== 0) waiting.wake(I, p + P_WAKE, Infinity);
    }
    this.queueChangedCount = 0;
    for (let i = 0; i < this.roomFreedCount; i++) {
      const slot = this.roomFreedList[i];
      this.roomFreedFlag[slot] = 0;
      const p = rec.peerAt(slot);
      Atomics.add(I, p + P_ROOM, 1);
      if (Atomics.load(I, p + P_ROOM_WAITERS) !== 0) waiting.wake(I, p + P_ROOM, Infinity);
    }
    this.roomFreedCount = 0;
  }
}
