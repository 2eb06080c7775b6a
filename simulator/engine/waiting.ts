// Waiting and waking: a thread whose operation is pending (TIME-2) spins or sleeps; the
// model step that completes it wakes it (through the scheduler's wake-up path, or by a
// direct hand-off of the waker's CPU where the profile has one), and a timer sleep ends by
// itself. The waker pays for the wake-up on its next run (its CPU debt).
import type { Operation, Result } from '../../spec/types';
import type { Simulation } from './engine';
import { EventKind, Span, ThreadState, type ThreadRt } from './records';

export class Waits {
  constructor(private readonly sim: Simulation) {}

  /** The thread's operation is pending: spin, or sleep (TIME-2). */
  wait(t: ThreadRt, isCall: boolean): void {
    const sim = this.sim;
    const s = t.sched;
    t.wait.waitStartNs = sim.now;
    const budget = sim.spin.budget(t, isCall, sim.scheduler.cpus[s.cpu]);
    const delay = s.debtNs;
    s.debtNs = 0;
    if (budget > 0) {
      t.wait.spinEndNs = sim.now + delay + budget;
      sim.metrics.busyNs += delay;
      if (sim.scheduler.preemptDue(t, sim.now + delay)) {
        // Preempted before it could spin (woken thread, slice, background): it waits in the run queue.
        t.wait.waitingOp = true;
        sim.queue.push(sim.now + delay, EventKind.Preempt, t.id, s.gen);
        return;
      }
      return sim.spin.spinOn(t, delay);
    }
    this.sleep(t, delay);
  }

  /** Go to sleep after `delay` (the sleep's own CPU cost added), leaving the CPU. */
  sleep(t: ThreadRt, delay: number): void {
    const sim = this.sim;
    const P = sim.profile;
    const c = sim.cost(P.wake.sleep.ns);
    sim.metrics.busyNs += c;
    if (P.wake.sleepIsSyscall) sim.metrics.syscalls++;
    t.sched.state = ThreadState.Sleeping;
    t.sched.offCpuAtNs = sim.now + delay + c;
    sim.scheduler.leaveCpu(t, delay + c);
  }

  /**
   * A completion for a thread that waits (or one that just issued the op), made by a step of
   * `waker` (null: the bus owner) doing an operation of kind `kind`.
   */
  completed(t: ThreadRt, result: Result, waker: ThreadRt | null, kind: Operation['op']): void {
    const sim = this.sim;
    const w = t.wait;
    w.resumeResult = result;
    const waited = sim.now - w.waitStartNs;
    w.avgWaitNs = w.avgWaitNs * 0.75 + waited * 0.25;
    if (t === waker) return; // completed inside its own step: applyOp resumes it
    const state = t.sched.state;
    if (state === ThreadState.Spinning) return sim.spin.sawCompletion(t);
    if (state !== ThreadState.Sleeping) return;
    const P = sim.profile;
    if (waker && waker.sched.cpu >= 0) {
      const cpu = sim.scheduler.cpus[waker.sched.cpu];
      // A replyReceive that found its queue empty is about to wait: its receive half waits (CALL-10).
      const replierWaits =
        kind === 'reply'
          ? this.aboutToWait(waker)
          : kind === 'replyReceive' && sim.door.state.peers[waker.peer.id].queue.length === 0;
      const handoff =
        cpu.handoffTo === null && ((kind === 'call' && P.handoff.call) || (P.handoff.reply && replierWaits));
      if (handoff) {
        cpu.handoffTo = t;
        t.sched.state = ThreadState.Ready;
        sim.scheduler.mark(t, Math.max(sim.now, t.sched.offCpuAtNs), Span.Ready);
        sim.metrics.handoffs++;
        return;
      }
    }
    this.wakeSleeping(t, waker);
  }

  /** Whether a replier's next step is a receive that will find its queue empty (binder's reply + read). */
  private aboutToWait(t: ThreadRt): boolean {
    const prog = t.prog;
    return (
      prog.serve !== null &&
      prog.batchIndex >= prog.batch.length &&
      this.sim.door.state.peers[t.peer.id].queue.length === 0
    );
  }

  /** Wake a sleeping thread through the scheduler: runnable after the wake-up latency. */
  wakeSleeping(t: ThreadRt, waker: ThreadRt | null): void {
    const sim = this.sim;
    const P = sim.profile;
    const s = t.sched;
    sim.metrics.wakes++;
    if (waker) {
      waker.sched.debtNs += sim.cost(P.wake.waker.ns);
      if (P.wake.wakeIsSyscall) sim.metrics.syscalls++;
    }
    s.state = ThreadState.Ready;
    s.gen++;
    const woken = Math.max(sim.now, s.offCpuAtNs);
    sim.scheduler.mark(t, woken, Span.Ready);
    sim.queue.push(woken + sim.cost(P.wake.latency.ns), EventKind.Wake, t.id, s.gen);
  }

  /** A timer sleep of prog.opBytes ns after `delay`: the thread leaves its CPU and wakes by itself. */
  timerSleep(t: ThreadRt, delay: number): void {
    const sim = this.sim;
    const s = t.sched;
    const ns = t.prog.opBytes;
    s.state = ThreadState.Ready;
    s.gen++;
    sim.queue.push(sim.now + delay + ns + sim.cost(sim.profile.wake.latency.ns), EventKind.Wake, t.id, s.gen);
    sim.scheduler.leaveCpu(t, delay);
    sim.scheduler.mark(t, sim.now + delay + ns, Span.Ready);
  }
}
