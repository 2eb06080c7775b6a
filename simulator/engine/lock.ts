// The bus lock (profile.lock): one lock for the whole bus that every operation of a peer
// takes, as the shm backend's HDR_LOCK does (backends/shm/DESIGN.md, "What each lock and
// atomic protects"). An operation runs the part of its CPU cost outside the lock, asks for the
// lock (a LockAcquire event), holds it for the rest of its cost, and takes effect through the
// model when it releases it: the hold is its linearization point.
//
// What contention costs, and why (the profile's op costs are those of an uncontended lock whose
// line moves between two CPUs, as they were measured, so only what contention adds is added):
// - Waiting: a thread that finds the lock held waits, spinning on its CPU; with `spin` set it
//   sleeps on the lock once it has spun that long (a futex wait), and a release that finds no
//   spinner wakes the oldest sleeper (the releaser pays the wake), which asks again when it
//   runs (a newcomer may take the lock first: the lock is not fair to sleepers).
// - Handover: a release goes to the oldest spinner. With `handover: spinning` every spinner
//   polls the lock word: the release invalidates each copy, the spinners re-read the line one
//   at a time (the cache directory serves one miss after another), and the next holder gets it
//   after (S + 1) / 2 line transfers on average, S the spinners; one transfer is in its op cost
//   already, so the handover adds lineTransfer x (S - 1) / 2, and the lock's throughput falls as
//   spinners pile up (the collapse of non-scalable spinlocks on many cores). With
//   `handover: queued` (MCS, Linux qspinlock) each waiter polls its own line: nothing is added.
// Not modelled: a holder losing its CPU while it holds the lock (holds are one operation, and
// spinners keep their CPU, as with a kernel spinlock), NUMA distances (one transfer cost).
import type { BusLock } from '../types';
import type { Simulation } from './engine';
import { EventKind, Span, type ThreadRt } from './records';

/** What the lock did in a run (SimResults.lock). */
export interface LockCounts {
  acquisitions: number;
  /** Acquisitions that found the lock held (or handed over) and waited. */
  contended: number;
  /** Time from asking for the lock to holding it, all threads, ns. */
  waitNs: number;
  /** CPU time spent spinning for the lock, ns. */
  spinNs: number;
  /** Time the lock was held or in handover between holders, ns. */
  busyNs: number;
  /** The part of busyNs that handovers added (spinning waiters re-reading the line), ns. */
  handoverNs: number;
}

export class BusLockModel {
  /** The thread holding the lock, or the one it is being handed over to. */
  private holder: ThreadRt | null = null;
  /** Threads waiting for the lock, oldest first: spinning on a CPU, or asleep (in `asleep`). */
  private readonly waiters: ThreadRt[] = [];
  private readonly asleep = new Set<number>();
  readonly counts: LockCounts = { acquisitions: 0, contended: 0, waitNs: 0, spinNs: 0, busyNs: 0, handoverNs: 0 };

  constructor(
    private readonly sim: Simulation,
    private readonly lock: BusLock,
  ) {}

  /** A thread starts an operation of CPU cost `costNs` (jitter included) at now + delay: the part outside the lock first. */
  request(t: ThreadRt, delay: number, costNs: number): void {
    const inside = costNs * this.lock.holdFraction;
    t.prog.lockHoldNs = inside;
    t.prog.lockAskedNs = -1;
    this.sim.queue.push(this.sim.now + delay + (costNs - inside), EventKind.LockAcquire, t.id, t.sched.gen);
  }

  /** The thread asks for the lock now: it holds it at once, or waits. */
  acquire(t: ThreadRt): void {
    const sim = this.sim;
    const first = t.prog.lockAskedNs < 0;
    if (first) t.prog.lockAskedNs = sim.now;
    if (this.holder === null) return this.grant(t, 0);
    if (first) this.counts.contended++;
    this.waiters.push(t);
    t.prog.lockSpinStartNs = sim.now;
    sim.scheduler.mark(t, sim.now, Span.Lock);
    const spin = this.lock.spin;
    if (spin !== undefined) sim.queue.pushKeyed(t.id, sim.now + spin.ns, EventKind.LockSpinEnd, t.id, t.sched.gen);
  }

  /** A waiter has spun its budget: it sleeps on the lock (LockSpinEnd). */
  spinEnded(t: ThreadRt): void {
    const sim = this.sim;
    this.spun(t, sim.now);
    this.asleep.add(t.id);
    sim.scheduler.mark(t, sim.now, Span.Run);
    sim.waits.sleep(t, 0);
  }

  /** The holder's operation takes effect now: the lock goes to the oldest spinner, or wakes the oldest sleeper. */
  release(t: ThreadRt): void {
    if (this.holder !== t) return;
    this.holder = null;
    const sim = this.sim;
    let spinners = 0;
    let next = -1;
    for (let i = 0; i < this.waiters.length; i++)
      if (!this.asleep.has(this.waiters[i].id)) {
        if (next < 0) next = i;
        spinners++;
      }
    if (next >= 0) {
      const w = this.waiters.splice(next, 1)[0];
      sim.queue.cancel(w.id); // its spin end
      const extra =
        this.lock.handover === 'spinning' && spinners >= 2
          ? sim.cost((this.lock.lineTransfer.ns * (spinners - 1)) / 2)
          : 0;
      this.counts.handoverNs += extra;
      this.spun(w, sim.now + extra);
      return this.grant(w, extra);
    }
    if (this.waiters.length > 0) {
      const w = this.waiters.shift()!;
      this.asleep.delete(w.id);
      w.prog.lockRetry = true;
      sim.waits.wakeSleeping(w, t);
    }
  }

  /** The thread holds the lock from now + extra for the rest of its op's cost; the op takes effect at the end. */
  private grant(t: ThreadRt, extra: number): void {
    const sim = this.sim;
    const at = sim.now + extra;
    const hold = t.prog.lockHoldNs;
    this.holder = t;
    this.counts.acquisitions++;
    this.counts.waitNs += at - t.prog.lockAskedNs;
    this.counts.busyNs += extra + hold;
    t.prog.lockAskedNs = -1;
    sim.scheduler.mark(t, at, Span.Run);
    sim.queue.push(at + hold, EventKind.Apply, t.id, t.sched.gen);
  }

  /** A spinner stops spinning at `at`: its spin is CPU time. */
  private spun(t: ThreadRt, at: number): void {
    const ns = at - t.prog.lockSpinStartNs;
    this.counts.spinNs += ns;
    this.sim.metrics.busyNs += ns;
  }
}
