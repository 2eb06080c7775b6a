// The discrete-event simulation of peers on CPUs. Every protocol operation of a simulated
// peer goes through the formal model (bus-door.ts), so a scenario can never do what the spec
// forbids; the transport profile only says what each step costs.
//
// Time: the simulation clock is in nanoseconds; the model's clock (ms, TIME-1) is advanced
// by `tick` whenever the simulation crosses a millisecond at an operation, and at every
// deadline a pending operation has (deadlines.ts).
//
// Platform: N CPUs, each running one thread at a time (scheduler.ts: a burst ends at an
// operation; time slices end at a tick; a woken thread that is owed CPU preempts), per-CPU
// run queues with idle stealing, wake-up latency, context switch and migration costs,
// spinning (spin.ts) vs sleeping waiters (waiting.ts), direct hand-off where the profile
// has it, and other processes' load (background.ts).
//
// This file holds the event loop and a thread's run between two waits; the program
// interpreter (program.ts) chooses each thread's next operation.
import type { Operation } from '../../spec/types';
import type { BusEvent } from '../../model';
import { EventQueue } from '../heap';
import { Rng } from '../rng';
import { expandWorkload } from '../workloads';
import { SIM_BOUNDS } from '../check';
import type { Fault, Profile, Scenario, SimResults, Step } from '../types';
import { BackgroundLoad } from './background';
import { BusDoor, isPending } from './bus-door';
import { Deadlines } from './deadlines';
import { LivenessError, ScenarioError } from './errors';
import { BusLockModel } from './lock';
import { Metrics } from './metrics';
import { Interpreter } from './program';
import { Action, EventKind, FOREVER_MS, ThreadState, type PeerRt, type ThreadRt } from './records';
import { buildResults } from './results';
import { Scheduler } from './scheduler';
import { setupPeers } from './setup';
import { Spin } from './spin';
import { Waits } from './waiting';

export interface RunOptions {
  seed: string | number | bigint;
  profile: Profile;
  /** Collect a JSON-lines trace of spec-level events. */
  trace?: boolean;
  /** Collect a per-thread timeline (for the timeline chart). */
  timeline?: boolean;
  /**
   * Full structural state check every N model steps (default 2048; 1 = every step); once the
   * state holds more than N records, at least that many steps apart (O(1) per step).
   */
  stateCheckEvery?: number;
  /** For tests: change a copy of each step's bus events before the monitors see them. */
  tamper?: (events: BusEvent[], stepIndex: number) => BusEvent[];
  /** Stop after this many engine events (a runaway guard). */
  maxEvents?: number;
}

export class Simulation {
  readonly rng: Rng;
  readonly queue = new EventQueue(256);
  readonly profile: Profile;
  /** Simulated time, ns. */
  now = 0;
  /** CPU time the running thread has used since the current event (the thread's local clock offset). */
  d = 0;
  /** Engine events processed (each deadline of a group counts). */
  events = 0;
  readonly metrics = new Metrics();
  readonly door: BusDoor;
  readonly program: Interpreter;
  readonly scheduler: Scheduler;
  readonly waits: Waits;
  readonly spin: Spin;
  readonly deadlines: Deadlines;
  readonly background: BackgroundLoad;
  /** The bus lock, when the profile has one. */
  readonly lock: BusLockModel | null;
  readonly peers: PeerRt[] = [];
  readonly threads: ThreadRt[] = [];
  readonly byModelPeer = new Map<number, PeerRt>();
  readonly faults: Fault[];
  readonly timelineOn: boolean;
  /** Latency samples are one-way message delays when the workload makes no calls and has no timers. */
  oneWayLatency = false;
  /** When the last program step ended (the workload phase). */
  workloadEndNs = 0;
  private readonly jitterSpread: number;
  private liveness = false;
  /** The time of the last event that was not background load. */
  private lastActivityNs = 0;

  constructor(
    readonly scenario: Scenario,
    readonly options: RunOptions,
  ) {
    this.profile = options.profile;
    this.rng = new Rng(options.seed);
    this.jitterSpread = scenario.jitter ?? 0.08;
    this.faults = scenario.faults ?? [];
    this.timelineOn = options.timeline === true;
    this.door = new BusDoor(this, scenario, options);
    this.program = new Interpreter(this);
    const cpus = scenario.cpus ?? 2;
    this.scheduler = new Scheduler(this, cpus);
    this.waits = new Waits(this);
    this.spin = new Spin(this);
    this.deadlines = new Deadlines(this.queue);
    this.background = new BackgroundLoad(this, scenario.background, cpus);
    this.lock = this.profile.lock ? new BusLockModel(this, this.profile.lock) : null;
  }

  /** A cost of the profile with the run's jitter (0 stays 0). */
  cost(ns: number): number {
    return ns <= 0 ? 0 : ns * this.rng.jitter(this.jitterSpread);
  }

  /** Copying `bytes` of payload once. */
  copyNs(bytes: number): number {
    return (bytes / 1024) * this.profile.copyPerKiB.ns;
  }

  // ---------------------------------------------------------------- a thread between two waits

  /** Run a thread that is on a CPU: process what woke it, then start its next action after `delay`. */
  run(t: ThreadRt, delay: number): void {
    this.d = delay;
    const prog = t.prog;
    if (prog.lockRetry) {
      // Woken from a sleep on the bus lock: its op asks for the lock again.
      prog.lockRetry = false;
      this.queue.push(this.now + delay, EventKind.LockAcquire, t.id, t.sched.gen);
      return;
    }
    const w = t.wait;
    if (w.waitingOp) {
      w.waitingOp = false;
      if (!w.resumeResult) return this.spin.spinOn(t, delay);
      this.spin.won(t);
    }
    if (w.resumeResult) {
      const r = w.resumeResult;
      w.resumeResult = null;
      this.d += this.program.finish(t, r);
    }
    for (;;) {
      let action: Action;
      if (prog.opReady) {
        prog.opReady = false;
        action = Action.Op;
      } else action = this.program.nextAction(t);
      const delayNs = this.d;
      if (action === Action.Op) {
        if (this.scheduler.preemptDue(t, this.now + delayNs)) {
          // Preempted at the op boundary: the op starts when the thread runs again.
          prog.opReady = true;
          this.queue.push(this.now + delayNs, EventKind.Preempt, t.id, t.sched.gen);
          return;
        }
        const op = prog.op!;
        let c = this.program.opCost(t, op);
        c = this.cost(c);
        this.metrics.busyNs += c;
        prog.opStartNs = this.now + delayNs;
        if (this.lock !== null) return this.lock.request(t, delayNs, c);
        this.queue.push(this.now + delayNs + c, EventKind.Apply, t.id, t.sched.gen);
        return;
      }
      if (action === Action.Sleep) return this.waits.timerSleep(t, delayNs);
      // Action.None: the thread's program is over.
      if (!prog.closing && !t.peer.closed && !t.helper && --t.peer.programThreads === 0) {
        // The last program thread closes its peer (CLOSE-1), as a process exits.
        prog.closing = true;
        prog.op = { op: 'close', peer: t.peer.id };
        prog.step = null;
        continue;
      }
      t.sched.state = ThreadState.Done;
      if (!this.liveness) this.workloadEndNs = Math.max(this.workloadEndNs, this.now + delayNs);
      this.scheduler.leaveCpu(t, delayNs);
      return;
    }
  }

  /** The Apply event: the op's CPU cost has elapsed; it takes effect now. */
  private applyOp(t: ThreadRt): void {
    const op = t.prog.op!;
    const result = this.door.apply(op, t);
    this.lock?.release(t);
    const kind = op.op;
    if (kind === 'close') t.peer.closed = true;
    if (isPending(result)) {
      if (t.wait.resumeResult) return this.resume(t); // completed within the same step
      const timeoutMs = (op as { timeoutMs?: number }).timeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0 && timeoutMs < FOREVER_MS) {
        this.deadlines.push((this.door.state.nowMs + timeoutMs) * 1e6);
      }
      return this.waits.wait(t, kind === 'call');
    }
    const cpu = this.scheduler.cpus[t.sched.cpu];
    if (cpu.handoffTo && kind !== 'reply') {
      // The replier did not go to sleep after all: wake the caller the ordinary way.
      const w = cpu.handoffTo;
      cpu.handoffTo = null;
      this.metrics.handoffs--;
      this.waits.wakeSleeping(w, t);
    }
    this.d = 0;
    let delay = this.program.finish(t, result);
    delay += t.sched.debtNs;
    t.sched.debtNs = 0;
    this.run(t, delay);
  }

  /** Run on after a completion, paying the CPU debt of the wake-ups the thread made. */
  private resume(t: ThreadRt): void {
    const delay = 0 + t.sched.debtNs;
    t.sched.debtNs = 0;
    this.run(t, delay);
  }

  // ---------------------------------------------------------------- faults and the loop

  private fault(f: Fault): void {
    const peer = this.peers.find((p) => p.name === f.peer)!;
    if (f.action === 'stop-receiving') {
      peer.stoppedUntilNs = this.now + (f.forNs ?? 1e6);
      this.metrics.count('fault:stop-receiving');
      return;
    }
    const op: Operation =
      f.action === 'close'
        ? { op: 'close', peer: peer.id }
        : { op: f.action, peer: peer.id, handle: peer.env.get(f.handle ?? '') ?? 0 };
    const r = this.door.apply(op, null);
    if (op.op === 'close' && !('pending' in r) && r.ok) peer.closed = true;
    this.metrics.count(`fault:${f.action}:${'pending' in r ? 'pending' : r.ok ? 'ok' : r.error}`);
    this.door.fullCheck();
  }

  /** Run the event loop until nothing is left to happen. */
  private loop(maxEvents: number): void {
    const q = this.queue;
    while (q.pop()) {
      if (this.events > maxEvents)
        throw new ScenarioError('SETUP', 'engine', `more than ${maxEvents} events: runaway scenario`);
      if (q.popTime > SIM_BOUNDS.simulatedNs)
        throw new ScenarioError(
          'SETUP',
          'engine',
          `simulated time passed ${SIM_BOUNDS.simulatedNs} ns: runaway scenario`,
        );
      const kind = q.popKind;
      if (kind === EventKind.Deadline) {
        // A group of deadlines at the same time: each counts as an event.
        this.now = q.popTime;
        this.events += this.deadlines.popped(q.popA);
        this.door.syncClock();
        continue;
      }
      if (kind === EventKind.Fault) {
        this.now = q.popTime;
        this.events++;
        this.fault(this.faults[q.popA]);
        continue;
      }
      if (kind === EventKind.Background) {
        this.now = q.popTime;
        this.events++;
        this.background.toggle(this.scheduler.cpus[q.popA], q.popB === 1);
        continue;
      }
      const t = this.threads[q.popA];
      // Stale (cancelled): it does not happen, so it neither counts nor moves the clock (a
      // cancelled spin deadline must not stretch the run's simulated time).
      if (q.popB !== t.sched.gen) continue;
      this.now = q.popTime;
      this.lastActivityNs = this.now;
      this.events++;
      switch (kind) {
        case EventKind.Apply:
          this.applyOp(t);
          break;
        case EventKind.Resume:
          this.resume(t);
          break;
        case EventKind.SpinEnd:
          this.spin.expired(t);
          break;
        case EventKind.Wake:
          this.scheduler.makeRunnable(t);
          break;
        case EventKind.Preempt:
          this.scheduler.preempt(t);
          break;
        case EventKind.LockAcquire:
          this.lock!.acquire(t);
          break;
        case EventKind.LockSpinEnd:
          this.lock!.spinEnded(t);
          break;
      }
    }
  }

  /** The whole run: setup, workload phase, liveness phase, final checks. */
  execute(): void {
    const specs = expandWorkload(this.scenario.workload);
    const uses = (steps: Step[]): boolean =>
      steps.some((s) => s.do === 'call' || s.do === 'timerStart' || (s.do === 'repeat' && uses(s.body)));
    this.oneWayLatency = !specs.some((p) => uses(p.program) || (p.helpers ?? []).some(uses));
    setupPeers(this, specs);
    this.scheduler.sizeTimeline(this.threads.length);
    this.faults.forEach((f, i) => this.queue.push(f.atNs, EventKind.Fault, i, 0));
    this.background.start();
    for (const t of this.threads) this.scheduler.makeRunnable(t);
    const maxEvents = this.options.maxEvents ?? 50_000_000;
    this.loop(maxEvents);
    // (Background load may run on a little after the last thread event: it is not the workload.)
    this.workloadEndNs = Math.max(this.workloadEndNs, this.background.periodNs > 0 ? this.lastActivityNs : this.now);
    // Liveness: nothing can happen any more. Every call must have resolved (CALL-2).
    this.liveness = true;
    const stuck = this.door.state.pending.filter((p) => p.kind === 'call');
    if (stuck.length > 0) {
      const who = stuck.map((p) => this.byModelPeer.get(p.peer)?.name ?? p.peer).join(', ');
      throw new LivenessError(`${stuck.length} call(s) never resolved at quiescence (callers: ${who}); a deadlock`);
    }
    // Then the bus owner closes whoever is still open (servers waiting for work) and drains.
    for (const p of this.peers) {
      if (p.closed) continue;
      this.door.apply({ op: 'close', peer: p.id }, null);
      p.closed = true;
      this.loop(maxEvents);
    }
    this.door.finalCheck();
  }

  results(seed: bigint): SimResults {
    return buildResults(this, seed);
  }

  get traceOutput(): string[] | null {
    return this.door.traceLines;
  }
}
