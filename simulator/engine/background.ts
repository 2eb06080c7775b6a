// Background load: other processes hold each CPU a share of every period (CPU i from i/n of
// the period on, so the CPUs are not all held at once). A thread running on a CPU when its
// background share starts leaves it at its next operation boundary (a spinner at once), for
// an idle CPU if there is one, else the front of the run queue.
import type { Scenario } from '../types';
import type { Simulation } from './engine';
import { EventKind, ThreadState, type CpuRt } from './records';

export class BackgroundLoad {
  /** Each CPU is held by other processes busyNs of every periodNs (0: no background load). */
  readonly periodNs: number;
  private readonly busyNs: number;
  /** CPUs whose background load still cycles. */
  private live = 0;

  constructor(
    private readonly sim: Simulation,
    background: Scenario['background'],
    cpus: number,
  ) {
    const share = background ? Math.min(0.95, Math.max(0, background.cpus / cpus)) : 0;
    this.periodNs = background && share > 0 ? (background.periodNs ?? 4e6) : 0;
    this.busyNs = this.periodNs * share;
  }

  /** Queue the first period of every CPU. */
  start(): void {
    if (this.periodNs <= 0) return;
    const cpus = this.sim.scheduler.cpus;
    this.live = cpus.length;
    cpus.forEach((c, i) => this.sim.queue.push((i * this.periodNs) / cpus.length, EventKind.Background, i, 1));
  }

  /** Background load starts (holds the CPU) or ends on a CPU; the next period is scheduled while anything else can happen. */
  toggle(c: CpuRt, start: boolean): void {
    const sim = this.sim;
    const sched = sim.scheduler;
    sched.settle(c);
    if (start) {
      c.bgBusy = true;
      sim.queue.push(sim.now + this.busyNs, EventKind.Background, c.id, 0);
      const cur = c.current;
      if (cur && cur.sched.state === ThreadState.Spinning) {
        sim.spin.interrupt(cur);
        cur.wait.waitingOp = true;
        sched.preempt(cur);
      }
      // A running thread leaves at its next op boundary (preemptDue).
      return;
    }
    c.bgBusy = false;
    // The other CPUs' background events do not keep it going: only what the threads still have to do.
    if (
      sim.queue.length + sim.deadlines.extra > this.live - 1 ||
      sim.threads.some((t) => {
        const s = t.sched.state;
        return s === ThreadState.Ready || s === ThreadState.Running || s === ThreadState.Spinning;
      })
    ) {
      sim.queue.push(sim.now + this.periodNs - this.busyNs, EventKind.Background, c.id, 1);
    } else this.live--;
    if (c.current === null && c.handoffTo === null) {
      let next = null;
      if (c.queue.length > 0) {
        sched.settle(c);
        next = c.queue.shift()!;
      } else next = sched.steal();
      if (next) sched.dispatch(c, next, 0, false);
    }
  }
}
