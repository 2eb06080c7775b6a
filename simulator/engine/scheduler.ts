// The CPU scheduler: N CPUs, each running one thread at a time, per-CPU run queues with idle
// stealing and load balancing, context switch and migration costs, direct hand-off, and the
// Linux EEVDF rules that matter for IPC: a time slice that ends at a scheduler tick, and
// wake-up preemption by a thread that is owed CPU time (lag), within a wake-up protection.
import type { Simulation } from './engine';
import { Span, ThreadState, type CpuRt, type ThreadRt } from './records';

export class Scheduler {
  readonly cpus: CpuRt[] = [];
  /** Scheduler slice and tick (0: no time slicing). */
  readonly sliceNs: number;
  private readonly tickNs: number;
  /** How long a thread that got a CPU keeps it against woken threads (at most the slice). */
  private readonly protectNs: number;
  /** Timeline spans kept a thread: 4000, fewer when there are so many threads that all would pass 2,000,000. */
  private spanCap = 4000;

  constructor(
    private readonly sim: Simulation,
    cpus: number,
  ) {
    for (let i = 0; i < cpus; i++)
      this.cpus.push({
        id: i,
        current: null,
        queue: [],
        handoffTo: null,
        sliceStartNs: 0,
        wakePreempt: false,
        settledAtNs: 0,
        bgBusy: false,
      });
    const S = sim.profile.scheduler;
    this.sliceNs = S.slice?.ns ?? 0;
    this.tickNs = S.tick?.ns ?? 0;
    this.protectNs = Math.min(this.sliceNs, S.wakeupProtection?.ns ?? 0);
  }

  /** Size the timeline for the run's threads (once they are made). */
  sizeTimeline(threads: number): void {
    this.spanCap = Math.max(16, Math.min(4000, Math.floor(2_000_000 / Math.max(1, threads))));
  }

  /** A thread becomes runnable: its last CPU if idle, else any idle CPU, else a run queue. */
  makeRunnable(t: ThreadRt): void {
    const cpus = this.cpus;
    const now = this.sim.now;
    const s = t.sched;
    // A sleeper works its negative lag off while it sleeps (delayed dequeue); positive lag stays.
    if (s.lagNs < 0) s.lagNs = Math.min(0, s.lagNs + (now - s.offCpuAtNs));
    this.mark(t, now, Span.Ready);
    let target: CpuRt | null = null;
    if (s.lastCpu >= 0 && this.idle(cpus[s.lastCpu])) target = cpus[s.lastCpu];
    if (!target)
      for (const c of cpus)
        if (this.idle(c)) {
          target = c;
          break;
        }
    if (target) return this.dispatch(target, t, 0, false);
    // The CPU with the fewest runnable threads (the load balancer evens them out), its last CPU on a tie.
    let q = s.lastCpu >= 0 ? cpus[s.lastCpu] : cpus[0];
    for (const c of cpus) if (this.nrRunning(c) < this.nrRunning(q)) q = c;
    this.settle(q);
    q.queue.push(t);
    s.state = ThreadState.Ready;
    const cur = q.current;
    if (
      !cur ||
      q.bgBusy ||
      this.sliceNs <= 0 ||
      now <= q.sliceStartNs + this.protectNs ||
      s.lagNs < 0 ||
      cur.sched.lagNs >= 0
    )
      return;
    // Wake-up preemption (EEVDF): the woken thread is eligible (lag >= 0) and the running one is
    // not (it has had more than its share: lag < 0, so RUN_TO_PARITY does not protect it). A
    // spinner leaves at once (it waits in the run queue, its spin deadline still running); a
    // running thread at its next operation boundary (preemptDue).
    q.wakePreempt = true;
    if (cur.sched.state === ThreadState.Spinning) {
      this.sim.spin.interrupt(cur);
      cur.wait.waitingOp = true;
      this.preempt(cur);
    }
  }

  /**
   * Lag bookkeeping of a CPU up to now (EEVDF, equal weights): of the time since the last
   * settling, each of its n runnable threads was owed 1/n; the running one got all of it.
   * Lag is clamped to +-max(2 slices, tick), as the kernel does.
   */
  settle(c: CpuRt): void {
    const now = this.sim.now;
    const dt = now - c.settledAtNs;
    c.settledAtNs = now;
    if (dt <= 0 || this.sliceNs <= 0) return;
    const q = c.queue;
    const n = q.length + (c.current !== null || c.bgBusy ? 1 : 0);
    if (n <= 1) return;
    const share = dt / n;
    const limit = Math.max(2 * this.sliceNs, this.tickNs);
    const cur = c.current;
    if (cur !== null) cur.sched.lagNs = Math.max(-limit, cur.sched.lagNs - dt + share);
    for (let i = 0; i < q.length; i++) q[i].sched.lagNs = Math.min(limit, q[i].sched.lagNs + share);
  }

  idle(c: CpuRt): boolean {
    return c.current === null && c.handoffTo === null && !c.bgBusy;
  }

  /**
   * Whether the running thread is preempted at an op boundary at time `at`: background load
   * holds its CPU; or a thread woken onto its CPU after its wake-up protection (wake-up
   * preemption); or others wait in its run queue, its slice is over and a scheduler tick has come.
   */
  preemptDue(t: ThreadRt, at: number): boolean {
    const c = this.cpus[t.sched.cpu];
    if (c.handoffTo !== null) return false;
    if (c.bgBusy) return true;
    if (this.sliceNs <= 0 || c.queue.length === 0) return false;
    if (c.wakePreempt) return true;
    const expiry = c.sliceStartNs + this.sliceNs;
    if (at < expiry) return false;
    const tick = this.tickNs > 0 ? Math.ceil(expiry / this.tickNs) * this.tickNs : expiry;
    return at >= tick;
  }

  /** Take the CPU from a running (or spinning) thread: it goes to the back of a run queue. */
  preempt(t: ThreadRt): void {
    const sim = this.sim;
    const s = t.sched;
    const c = this.cpus[s.cpu];
    // The thread that was to take the CPU went to another (idle) CPU meanwhile: carry on.
    if (!c.bgBusy && c.queue.length === 0) {
      c.wakePreempt = false;
      return sim.run(t, 0);
    }
    this.settle(c);
    sim.metrics.preemptions++;
    this.mark(t, sim.now, Span.Ready);
    s.lastCpu = s.cpu;
    s.cpu = -1;
    s.state = ThreadState.Ready;
    s.gen++;
    c.current = null;
    if (c.bgBusy) {
      // Other processes take this CPU: the thread moves to an idle CPU if there is one.
      for (const o of this.cpus) if (this.idle(o)) return this.dispatch(o, t, 0, false);
      c.queue.unshift(t);
      sim.metrics.contextSwitches++;
      return;
    }
    const next = c.queue.shift()!;
    // To the back of the run queue of the CPU with the fewest runnable threads (periodic load
    // balancing), this one on a tie.
    let q = c;
    for (const o of this.cpus) if (this.nrRunning(o) < this.nrRunning(q)) q = o;
    if (q !== c) this.settle(q);
    q.queue.push(t); // not a wake-up: it waits for a tick there
    this.dispatch(c, next, 0, false);
  }

  /** Runnable threads of a CPU: the running one (or background load) and its run queue. */
  private nrRunning(c: CpuRt): number {
    return (c.current !== null || c.bgBusy ? 1 : 0) + c.queue.length;
  }

  /** Give CPU c to thread t after `delay` (a switch, or a direct hand-off), and run it. */
  dispatch(c: CpuRt, t: ThreadRt, delay: number, handoff: boolean): void {
    const sim = this.sim;
    const P = sim.profile;
    const s = t.sched;
    this.settle(c);
    c.wakePreempt = false;
    c.current = t;
    let cost = sim.cost(handoff ? P.handoff.switch.ns : P.scheduler.contextSwitch.ns);
    if (s.lastCpu >= 0 && s.lastCpu !== c.id) {
      sim.metrics.migrations++;
      cost += sim.cost(P.scheduler.migration.ns);
    }
    sim.metrics.contextSwitches++;
    sim.metrics.busyNs += cost;
    s.cpu = c.id;
    s.state = ThreadState.Running;
    s.gen++;
    this.mark(t, sim.now + delay, Span.Run);
    c.sliceStartNs = sim.now + delay;
    sim.run(t, delay + cost);
  }

  /** The thread leaves its CPU after `delay`: the hand-off target, its run queue, or a stolen thread runs next. */
  leaveCpu(t: ThreadRt, delay: number): void {
    const sim = this.sim;
    const s = t.sched;
    const c = this.cpus[s.cpu];
    this.settle(c);
    this.mark(t, sim.now + delay, s.state === ThreadState.Done ? Span.None : Span.Sleep);
    s.lastCpu = s.cpu;
    s.cpu = -1;
    c.current = null;
    const h = c.handoffTo;
    c.handoffTo = null;
    if (c.bgBusy) {
      if (h) c.queue.unshift(h);
      sim.metrics.contextSwitches++; // to the other process
      return;
    }
    let next = h;
    if (!next) next = c.queue.shift() ?? null;
    if (!next) next = this.steal();
    if (next) {
      this.dispatch(c, next, delay, h !== null); // one switch, thread to thread
      return;
    }
    sim.metrics.contextSwitches++; // to idle
  }

  /** The first thread of the longest run queue (idle stealing), or null when all are empty. */
  steal(): ThreadRt | null {
    let from: CpuRt | null = null;
    for (const o of this.cpus) if (o.queue.length > 0 && (!from || o.queue.length > from.queue.length)) from = o;
    if (!from) return null;
    this.settle(from);
    return from.queue.shift()!;
  }

  /**
   * The timeline: from `at` on the thread is in `state`; the span it was in ends there (a span
   * that continues the previous one in the same state extends it). Marks of one thread come in
   * time order; at most spanCap + 1 spans a thread are kept.
   */
  mark(t: ThreadRt, at: number, state: Span): void {
    const s = t.sched;
    const spans = s.spans;
    if (spans === null) return;
    if (at > s.spanStartNs) {
      if (s.spanState !== Span.None && spans.length <= this.spanCap) {
        const last = spans.length > 0 ? spans[spans.length - 1] : null;
        if (last !== null && last[1] === s.spanStartNs && last[2] === s.spanState) last[1] = at;
        else spans.push([s.spanStartNs, at, s.spanState]);
      }
      s.spanStartNs = at;
    }
    s.spanState = state;
  }
}
