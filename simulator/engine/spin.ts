// Spinning waiters: a thread whose operation is pending may spin on its CPU for a budget
// before it sleeps, and sees a completion made on another CPU after the profile's observe
// delay. The budget follows the profile: fixed, adaptive (skip the spin when the run queue
// is busy or recent waits were longer), or the shm backend's back-off rule (spin.backoff).
import type { Simulation } from './engine';
import { EventKind, Span, ThreadState, type CpuRt, type ThreadRt } from './records';

export class Spin {
  constructor(private readonly sim: Simulation) {}

  /** How long a thread about to wait on CPU `cpu` spins first (0: it sleeps at once). */
  budget(t: ThreadRt, isCall: boolean, cpu: CpuRt): number {
    const P = this.sim.profile;
    const w = t.wait;
    let budget = P.spin.budget.ns;
    if (isCall && P.handoff.call) budget = 0;
    if (cpu.handoffTo) budget = 0;
    const backoff = P.spin.backoff;
    if (budget > 0 && P.spin.adaptive) {
      if (backoff) {
        // The shm backend's rule: the budget left by the last waits; at 0, a full probe every probeEvery waits.
        if (w.spinBudgetNs > 0) budget = Math.min(budget, w.spinBudgetNs);
        else if (++w.waitsSinceProbe >= backoff.probeEvery) w.waitsSinceProbe = 0;
        else budget = 0;
      } else if (cpu.queue.length > 0 || w.avgWaitNs > budget) budget = 0;
    }
    return budget;
  }

  /** Spin (on the CPU) from now + delay until wait.spinEndNs unless the completion comes first; past it, sleep. */
  spinOn(t: ThreadRt, delay: number): void {
    const sim = this.sim;
    if (sim.now + delay >= t.wait.spinEndNs) {
      this.lost(t);
      return sim.waits.sleep(t, delay);
    }
    t.sched.state = ThreadState.Spinning;
    t.wait.spinStartNs = sim.now + delay;
    sim.scheduler.mark(t, sim.now + delay, Span.Spin);
    // Keyed by thread: a spinner that sees its completion takes its spin end back out of the queue.
    sim.queue.pushKeyed(t.id, t.wait.spinEndNs, EventKind.SpinEnd, t.id, t.sched.gen);
  }

  /** The spinner sees its completion (after the observe delay) and runs on. */
  sawCompletion(t: ThreadRt): void {
    const sim = this.sim;
    const s = t.sched;
    const at = sim.now + sim.cost(sim.profile.wake.spinObserve.ns);
    this.stopAt(t, at);
    this.won(t);
    sim.scheduler.mark(t, at, Span.Run);
    s.state = ThreadState.Running;
    sim.queue.push(at, EventKind.Resume, t.id, s.gen);
  }

  /** The spin budget ran out (the SpinEnd event): the thread goes to sleep. */
  expired(t: ThreadRt): void {
    const sim = this.sim;
    if (t.sched.state !== ThreadState.Spinning) return;
    const spun = sim.now - t.wait.spinStartNs;
    sim.metrics.spinNs += spun;
    sim.metrics.busyNs += spun;
    sim.scheduler.mark(t, sim.now, Span.Run);
    this.lost(t);
    sim.waits.sleep(t, 0);
  }

  /** The spinner is taken off its CPU now (preemption, background load); its op stays pending. */
  interrupt(t: ThreadRt): void {
    this.stopAt(t, this.sim.now);
  }

  /** The spin stops at `at`: its end event is cancelled, the CPU time spun is counted. */
  private stopAt(t: ThreadRt, at: number): void {
    const sim = this.sim;
    t.sched.gen++; // the spin end is stale now: take it out
    sim.queue.cancel(t.id);
    sim.metrics.spinNs += at - t.wait.spinStartNs;
    sim.metrics.busyNs += at - t.wait.spinStartNs;
  }

  /** A wait that ended while spinning resets the back-off budget to the full budget. */
  won(t: ThreadRt): void {
    if (this.sim.profile.spin.backoff) t.wait.spinBudgetNs = this.sim.profile.spin.budget.ns;
  }

  /**
   * A wait that had to sleep divides the back-off budget, down to 0 below its floor; with
   * shrinkOnlyWhenShared only when another thread waits for the spinner's CPU.
   */
  lost(t: ThreadRt): void {
    const b = this.sim.profile.spin.backoff;
    if (!b) return;
    if (b.shrinkOnlyWhenShared === true && t.wait.spinBudgetNs > 0) {
      const cpu = t.sched.cpu >= 0 ? this.sim.scheduler.cpus[t.sched.cpu] : undefined;
      if (cpu === undefined || cpu.queue.length === 0) return;
    }
    const next = t.wait.spinBudgetNs / b.divisor;
    t.wait.spinBudgetNs = next < b.floorNs ? 0 : next;
  }
}
