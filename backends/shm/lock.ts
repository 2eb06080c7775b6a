// The bus lock (DESIGN.md, "What each lock and atomic protects"): one word, 0 when
// free, else the holder's thread token. It serialises the check-and-effect phase of
// every operation. Acquiring spins briefly (longer than the longest common hold),
// then sleeps, announced in the waiter count so that a release wakes only when
// someone sleeps. A thread or process that died holding it is recognised by its
// token, and the bus owner takes the lock over (steal) to roll its operation back:
// when it learns of the death (recover), or while it waits for the lock itself, if it
// can tell the holder is dead (`deadHolder`: a process bus asks its pidfds), so that
// the owner never sleeps forever behind a holder that will not come back.
import * as layout from './layout';
import { now } from './spin';
import type { Waiting } from './waiting';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { HDR_LOCK, HDR_LOCK_WAITERS } = layout;

/** A bounded sleep: a holder that died between releasing and waking cannot strand a waiter. */
const LOCK_SLEEP_MS = 20;
/** How often a thread taking the lock over re-checks the word while another thread holds it. */
const STEAL_SLEEP_MS = 5;

export class BusLock {
  /** Spin this long (ms) before sleeping: longer than the longest common hold (a 64 KiB copy). */
  spinMs = 0.05;
  /** Acquisitions that had to spin or sleep (contention statistics). */
  contended = 0;
  /**
   * Whether the thread or process of a token is known dead (the bus owner of a process bus sets
   * it). A waiter asks it after each bounded sleep; when it says yes, the waiter steals the lock
   * and hands the dead token to `stolen` (which rolls the holder's operation back) before using it.
   */
  deadHolder: ((token: number) => boolean) | null = null;
  stolen: (deadToken: number) => void = () => undefined;
  /** Where a seated thread says it is counted in the lock's waiters (layout P_LOCK_WAITING), or -1. */
  announceAt = -1;

  constructor(
    private readonly int32: Int32Array,
    /** This thread's token (DESIGN.md): 1 for the bus owner's thread, peerId + 1 for a worker's. */
    readonly token: number,
    private readonly waiting: Waiting,
  ) {}

  acquire(): void {
    if (Atomics.compareExchange(this.int32, HDR_LOCK, 0, this.token) !== 0) this.acquireSlow();
  }

  private acquireSlow(): void {
    const I = this.int32;
    this.contended++;
    const t0 = now();
    for (let i = 1; ; i++) {
      if (Atomics.load(I, HDR_LOCK) === 0 && Atomics.compareExchange(I, HDR_LOCK, 0, this.token) === 0) return;
      if ((i & 63) === 0 && now() - t0 > this.spinMs) break;
    }
    Atomics.add(I, HDR_LOCK_WAITERS, 1);
    // Set after the count and cleared before it: a recovery that finds it set takes exactly this count back.
    if (this.announceAt >= 0) Atomics.store(I, this.announceAt, 1);
    try {
      for (;;) {
        const holder = Atomics.compareExchange(I, HDR_LOCK, 0, this.token);
        if (holder === 0) return;
        if (holder === this.token) throw new Error('shm bus: the bus lock is not re-entrant');
        if (this.waiting.wait(I, HDR_LOCK, holder, LOCK_SLEEP_MS) === 'timed-out' && this.stealFromDead(holder)) return;
      }
    } finally {
      if (this.announceAt >= 0) Atomics.store(I, this.announceAt, 0);
      Atomics.sub(I, HDR_LOCK_WAITERS, 1);
    }
  }

  /** Take the lock from `holder` if it is known dead; the dead holder's operation is rolled back first. */
  private stealFromDead(holder: number): boolean {
    if (this.deadHolder === null || !this.deadHolder(holder)) return false;
    if (Atomics.compareExchange(this.int32, HDR_LOCK, holder, this.token) !== holder) return false;
    this.stolen(holder);
    return true;
  }

  release(): void {
    Atomics.store(this.int32, HDR_LOCK, 0);
    if (Atomics.load(this.int32, HDR_LOCK_WAITERS) !== 0) this.wakeWaiter();
  }

  private wakeWaiter(): void {
    this.waiting.wake(this.int32, HDR_LOCK, 1);
  }

  /**
   * Take the lock from the dead thread whose token is `deadToken`, or normally if it is free.
   * Returns true when it was taken from the dead thread (its operation must be rolled back).
   */
  takeOver(deadToken: number): boolean {
    const I = this.int32;
    for (;;) {
      const holder = Atomics.compareExchange(I, HDR_LOCK, deadToken, this.token);
      if (holder === deadToken) return true;
      if (holder === 0) {
        this.acquire();
        return false;
      }
      // Another holder, which may be dead too (two processes killed together): steal from it first.
      if (this.waiting.wait(I, HDR_LOCK, holder, STEAL_SLEEP_MS) === 'timed-out' && this.stealFromDead(holder)) {
        return false;
      }
    }
  }
}
