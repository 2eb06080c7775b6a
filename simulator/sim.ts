// The discrete-event simulation of peers on CPUs. Every protocol operation of a
// simulated peer goes through the formal model (applyInPlace on the
// simulation's own bus state), so a scenario can never do what the spec
// forbids; the transport profile only says what each step costs.
//
// Time: the simulation clock is in nanoseconds; the model's clock (ms, TIME-1)
// is advanced by `tick` whenever the simulation crosses a millisecond at an
// operation, and at every deadline a pending operation has.
//
// Platform: N CPUs, each running one thread at a time (no time slicing: every
// burst ends at an operation; a spinning waiter yields when another thread
// becomes runnable on its CPU), per-CPU run queues with idle stealing, wake-up
// latency, context switch and migration costs, spinning vs sleeping waiters and
// direct hand-off (sync wake-up onto the waker's CPU) where the profile has it.
import type {
  Completion,
  Credentials,
  Delivery,
  ErrorCode,
  Invocation,
  Limits,
  Message,
  MintOp,
  Operation,
  ReceiveOp,
  Result,
  SendOp,
  CallOp,
  Transfer,
} from '../spec/types';
import { resolveLimits } from '../spec/registry/limits';
import { applyInPlace, initialState, type BusEvent, type BusState } from '../model';
import { EventQueue } from './heap';
import { Rng, formatSeed, parseSeed } from './rng';
import { expandWorkload } from './workloads';
import { InvariantViolation, Monitors, fingerprint, type Violation } from './monitors';
import { SeqRing } from './seq-ring';
import { TicketTable } from './ticket-table';
import type {
  Fault,
  PeerSpec,
  PeerTimeline,
  Profile,
  QueueOccupancy,
  Scenario,
  ServeStep,
  SimResults,
  Step,
  TransferSpec,
} from './types';

// ------------------------------------------------------------------ errors

/** The model rejected a scenario step with an error the program did not expect: the scenario breaks the spec. */
export class ScenarioError extends Error {
  constructor(
    readonly code: ErrorCode | 'SETUP',
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
    this.name = 'ScenarioError';
  }
}

/** Outcomes a correct program must be ready for: faults and races cause them (CALL-2, SEND-7, QUOTA-2). */
const OUTCOMES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'DEAD',
  'REVOKED',
  'NO_REPLY',
  'TIMED_OUT',
  'CLOSED',
  'CALLER_GONE',
]);

/** "Wait without limit": a deadline no simulation reaches (kept a safe integer, TIME-1). */
export const FOREVER_MS = 1e12;

// ------------------------------------------------------------------ runtime records

const READY = 0,
  RUNNING = 1,
  SPINNING = 2,
  SLEEPING = 3,
  DONE = 4;
const EV_APPLY = 1,
  EV_RESUME = 2,
  EV_SPIN_END = 3,
  EV_WAKE = 4,
  EV_DEADLINE = 5,
  EV_FAULT = 6,
  EV_PREEMPT = 7,
  EV_BG = 8;
const A_NONE = 0,
  A_OP = 1,
  A_SLEEP = 2;

interface Frame {
  body: Step[];
  i: number;
  left: number;
}

/** Empty until a thread's first receive (takeSeqs grows before it writes): short runs allocate nothing per thread. */
const NO_SEQS = new Float64Array(0);

/** Where a receive's dequeued seqs go (a thread, or scratch when no thread waits). */
interface SeqBuf {
  lastSeqs: Float64Array;
  lastSent: Float64Array;
  lastN: number;
}

interface PeerRt {
  index: number;
  name: string;
  id: number;
  credentials: Credentials;
  env: Map<string, number>;
  /** Reply handles of calls received by plain receive steps, oldest first (for reply steps). */
  replyQueue: number[];
  programThreads: number;
  closed: boolean;
  stoppedUntilNs: number;
  threads: ThreadRt[];
}

interface ThreadRt {
  id: number;
  name: string;
  peer: PeerRt;
  helper: boolean;
  frames: Frame[];
  state: number;
  cpu: number;
  lastCpu: number;
  gen: number;
  /** The operation being executed and what it is for. */
  op: Operation | null;
  step: Step | null;
  opStartNs: number;
  /** Payload bytes of the current op (for copy costs of what comes back). */
  opBytes: number;
  /** A completion waiting to be processed when the thread runs again. */
  resumeResult: Result | null;
  waitStartNs: number;
  avgWaitNs: number;
  offCpuAtNs: number;
  /** CPU owed for work done on behalf of others during the last op (waking them). */
  debtNs: number;
  serve: ServeStep | null;
  batch: Delivery[];
  batchIndex: number;
  /** A receive-with-bind step still waiting for a message. */
  bindNames: string[] | null;
  timerStartNs: number;
  afterReply: boolean;
  closing: boolean;
  ended: boolean;
  spanStartNs: number;
  spans: [number, number, string][] | null;
  /** Bus sequence numbers of the deliveries of the last receive (for the monitors): the first lastN. */
  lastSeqs: Float64Array;
  /** When each of those was sent (NaN for a notice): one-way latency. */
  lastSent: Float64Array;
  lastN: number;
  /** The thread's last send or call op (and the timeout it was asked with), and its last receive op: reused when the next is the same. */
  lastMsgOp: SendOp | CallOp | null;
  lastMsgTimeout: number | undefined;
  lastRecvOp: ReceiveOp | null;
  /** Calls answered by the current serve step. */
  served: number;
  /** The op in t.op is chosen but not started: the thread was preempted at the op boundary. */
  opReady: boolean;
  /** A waiter preempted while spinning: its op is still pending, its spin ends at spinEndNs. */
  waitingOp: boolean;
  spinEndNs: number;
  /** The spin budget of the shm backend's back-off rule (spin.backoff), and waits since the last probe. */
  spinBudgetNs: number;
  waitsSinceProbe: number;
  /** EEVDF lag: CPU time this thread is owed (+) or has had beyond its share (-), ns. */
  lagNs: number;
}

interface CpuRt {
  id: number;
  current: ThreadRt | null;
  queue: ThreadRt[];
  handoffTo: ThreadRt | null;
  /** When the current thread got the CPU (its slice runs from here). */
  sliceStartNs: number;
  /** A thread woken onto this CPU preempts the current one at its next operation boundary. */
  wakePreempt: boolean;
  /** Lag bookkeeping of this CPU's threads is up to this time. */
  settledAtNs: number;
  /** Background load (other processes) holds this CPU now. */
  bgBusy: boolean;
}

export interface RunOptions {
  seed: string | number | bigint;
  profile: Profile;
  /** Collect a JSON-lines trace of spec-level events. */
  trace?: boolean;
  /** Collect a per-thread timeline (for the timeline chart). */
  timeline?: boolean;
  /** Full structural state check every N model steps (default 2048; 1 = every step). */
  stateCheckEvery?: number;
  /** For tests: change a copy of each step's bus events before the monitors see them. */
  tamper?: (events: BusEvent[], stepIndex: number) => BusEvent[];
  /** Stop after this many engine events (a runaway guard). */
  maxEvents?: number;
}

export interface RunOutcome {
  results: SimResults;
  trace: string[] | null;
  /** Set when the run stopped early: a violated invariant, a scenario error or a liveness failure. */
  failure: { kind: 'invariant' | 'scenario' | 'liveness'; message: string; replay: string } | null;
}

// ------------------------------------------------------------------ the simulation

export class Simulation {
  readonly rng: Rng;
  readonly queue = new EventQueue(256);
  readonly state: BusState;
  readonly limits: Limits;
  readonly monitors: Monitors;
  now = 0;
  private readonly profile: Profile;
  private readonly jitterSpread: number;
  private readonly peers: PeerRt[] = [];
  private readonly threads: ThreadRt[] = [];
  private readonly cpus: CpuRt[] = [];
  /** The thread waiting on each ticket of a pending operation (tickets only grow, TIME-2). */
  private readonly waiters = new TicketTable(64);
  private readonly byModelPeer = new Map<number, PeerRt>();
  private readonly payloads = new Map<number, string>();
  private readonly messages0 = new Map<number, Message>();
  private readonly faults: Fault[];
  private readonly stateCheckEvery: number;
  private readonly tamper: RunOptions['tamper'];
  private readonly traceLines: string[] | null;
  private readonly timelineOn: boolean;
  private stepCount = 0;
  // Metrics.
  events = 0;
  private operations = 0;
  private messages = 0;
  private calls = 0;
  private wakes = 0;
  private handoffs = 0;
  private syscalls = 0;
  private contextSwitches = 0;
  private migrations = 0;
  private busyNs = 0;
  private computeNs = 0;
  private spinNs = 0;
  private latency = new Float64Array(1024);
  private latencyCount = 0;
  private readonly outcomes = new Map<string, { n: number }>();
  /** The most frequent outcome, counted apart from the map (one per call). */
  private replies = 0;
  /**
   * Per bus seq of a queued message (not notices): sender, receiver, occupancy pair (i32
   * columns 0..2) and the simulated time of the send that enqueued it (f64 column 0).
   */
  private readonly seqs = new SeqRing(3, 1);
  /** Per event of the current step: when the message a dequeue took was sent (NaN: a notice). */
  private eventSentNs = new Float64Array(64);
  /** (receiver, sender) -> pair index + 1 (0: none yet), indexed receiver * pairStride + sender. */
  private pairOf = new Int32Array(0);
  private pairStride = 0;
  // Occupancy per pair, in typed arrays (no object per pair touched in the hot path).
  private pairReceiver: number[] = [];
  private pairSender: number[] = [];
  private pairCount = new Int32Array(16);
  private pairMax = new Int32Array(16);
  private pairEnqueued = new Int32Array(16);
  private pairAreaNs = new Float64Array(16);
  private pairSinceNs = new Float64Array(16);
  /** Scratch for the seqs of a completion whose waiter is gone. */
  private readonly scratch: SeqBuf = { lastSeqs: new Float64Array(16), lastSent: new Float64Array(16), lastN: 0 };
  private workloadEndNs = 0;
  private liveness = false;
  /** Latency samples are one-way message delays when the workload makes no calls and has no timers. */
  private oneWayLatency = false;
  /** CPU time the running thread has used since the current event (the thread's local clock offset). */
  private d = 0;
  /** Scheduler slice and tick (0: no time slicing). */
  private readonly sliceNs: number;
  private readonly tickNs: number;
  /** How long a thread that got a CPU keeps it against woken threads (at most the slice). */
  private readonly protectNs: number;
  /** Background load: each CPU is held by other processes bgBusyNs of every bgPeriodNs (0: none). */
  private readonly bgPeriodNs: number;
  private readonly bgBusyNs: number;
  private preemptions = 0;
  /** CPUs whose background load still cycles; the time of the last event that was not background. */
  private bgLive = 0;
  private lastActivityNs = 0;

  constructor(
    readonly scenario: Scenario,
    readonly options: RunOptions,
  ) {
    this.profile = options.profile;
    this.rng = new Rng(options.seed);
    this.jitterSpread = scenario.jitter ?? 0.08;
    this.limits = resolveLimits(scenario.limits ?? {});
    this.state = initialState(this.limits);
    this.monitors = new Monitors(this.limits);
    this.faults = scenario.faults ?? [];
    this.stateCheckEvery = Math.max(1, options.stateCheckEvery ?? 2048);
    this.tamper = options.tamper;
    this.traceLines = options.trace ? [] : null;
    this.timelineOn = options.timeline === true;
    for (let i = 0; i < (scenario.cpus ?? 2); i++)
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
    const P = options.profile;
    this.sliceNs = P.scheduler.slice?.ns ?? 0;
    this.tickNs = P.scheduler.tick?.ns ?? 0;
    this.protectNs = Math.min(this.sliceNs, P.scheduler.wakeupProtection?.ns ?? 0);
    const bg = scenario.background;
    const share = bg ? Math.min(0.95, Math.max(0, bg.cpus / this.cpus.length)) : 0;
    this.bgPeriodNs = bg && share > 0 ? (bg.periodNs ?? 4e6) : 0;
    this.bgBusyNs = this.bgPeriodNs * share;
  }

  // ---------------------------------------------------------------- setup

  /** Attach the peers, create their nodes and give bootstrap handles (BUS-2, BUS-3), at time 0 and no cost. */
  private setup(specs: PeerSpec[]): void {
    const byName = new Map<string, PeerRt>();
    specs.forEach((spec, index) => {
      if (byName.has(spec.name)) throw new ScenarioError('SETUP', `peer ${spec.name}`, 'two peers with the same name');
      const bootstrap = (spec.bootstrap ?? []).map((g) => {
        const [peerName, nodeName] = g.node.split('.');
        const from = byName.get(peerName);
        const handle = from?.env.get(nodeName);
        if (!from || handle === undefined)
          throw new ScenarioError(
            'SETUP',
            `peer ${spec.name} bootstrap ${g.node}`,
            `no node ${g.node} among the peers listed before ${spec.name}`,
          );
        return {
          fromPeer: from.id,
          handle,
          ...(g.rights ? { rights: g.rights } : {}),
          ...(g.badge !== undefined ? { badge: g.badge } : {}),
        };
      });
      const credentials = spec.credentials ?? { uid: 1000 + index, gid: 1000, pid: 100 + index };
      const attached = this.setupOp({ op: 'attach', credentials, bootstrap }, `peer ${spec.name} attach`) as {
        peer: number;
        handles: number[];
      };
      const peer: PeerRt = {
        index,
        name: spec.name,
        id: attached.peer,
        credentials,
        env: new Map(),
        replyQueue: [],
        programThreads: spec.threads ?? 1,
        closed: false,
        stoppedUntilNs: 0,
        threads: [],
      };
      this.monitors.registerPeer(peer.id, credentials);
      (spec.bootstrap ?? []).forEach((g, i) => peer.env.set(g.as, attached.handles[i]));
      for (const node of spec.nodes ?? []) {
        const made = this.setupOp(
          { op: 'createNode', peer: peer.id, credentials: node.credentials === true },
          `peer ${spec.name} node ${node.name}`,
        ) as { handle: number };
        peer.env.set(node.name, made.handle);
        this.monitors.registerNode(peer.id, made.handle, node.credentials === true);
      }
      byName.set(spec.name, peer);
      this.byModelPeer.set(peer.id, peer);
      this.peers.push(peer);
      const programs: [Step[], boolean][] = [];
      for (let i = 0; i < peer.programThreads; i++) programs.push([spec.program, false]);
      for (const h of spec.helpers ?? []) programs.push([h, true]);
      programs.forEach(([program, helper], i) => {
        const t: ThreadRt = {
          id: this.threads.length,
          name: `${spec.name}#${i}`,
          peer,
          helper,
          frames: [{ body: program, i: 0, left: 0 }],
          state: READY,
          cpu: -1,
          lastCpu: -1,
          gen: 0,
          op: null,
          step: null,
          opStartNs: 0,
          opBytes: 0,
          resumeResult: null,
          waitStartNs: 0,
          avgWaitNs: 0,
          offCpuAtNs: 0,
          debtNs: 0,
          serve: null,
          batch: [],
          batchIndex: 0,
          bindNames: null,
          timerStartNs: 0,
          afterReply: false,
          closing: false,
          ended: false,
          spanStartNs: 0,
          spans: this.timelineOn ? [] : null,
          lastSeqs: NO_SEQS,
          lastSent: NO_SEQS,
          lastN: 0,
          lastMsgOp: null,
          lastMsgTimeout: undefined,
          lastRecvOp: null,
          served: 0,
          opReady: false,
          waitingOp: false,
          spinEndNs: 0,
          spinBudgetNs: this.profile.spin.budget.ns,
          waitsSinceProbe: 0,
          lagNs: 0,
        };
        this.threads.push(t);
        peer.threads.push(t);
      });
    });
    for (const f of this.faults) {
      if (!byName.has(f.peer)) throw new ScenarioError('SETUP', `fault at ${f.atNs} ns`, `no peer ${f.peer}`);
    }
  }

  private setupOp(op: Operation, where: string): unknown {
    const r = this.apply(op, null);
    if ('pending' in r || !r.ok)
      throw new ScenarioError(
        'pending' in r ? 'SETUP' : r.error,
        `setup: ${where}`,
        `the model rejected ${op.op} with ${'pending' in r ? 'pending' : r.error}`,
      );
    return r.value;
  }

  // ---------------------------------------------------------------- the model door

  /** Apply one operation through the model, feed the monitors, and wake whoever it completed. */
  private apply(op: Operation, by: ThreadRt | null): Invocation {
    const kind = op.op;
    if (kind !== 'tick') this.syncClock();
    this.seqs.step++;
    const state = this.state;
    const before = fingerprint(state);
    const out = applyInPlace(state, op);
    this.stepCount++;
    this.operations++;
    const result = out.result;
    const completions = out.completions;
    const events = this.tamper ? this.tamper(out.events.slice(), this.stepCount) : out.events;
    const pending = isPending(result);
    const v = this.monitors.step(
      op,
      result,
      completions,
      events,
      pending || (result as Result).ok ? null : before,
      state,
    );
    if (v !== null) this.violate(v);
    if (this.stepCount % this.stateCheckEvery === 0) this.fullCheck();
    if (this.traceLines) this.traceStep(op, by, result, events);
    if (events.length > 0) this.account(events, by);
    // Deliveries of this step, in order, checked against the dequeue events (INV-10, INV-9).
    this.cursor = 0;
    if (kind === 'receive' && !pending && (result as Result).ok) {
      const d = ((result as { value: unknown }).value as { deliveries: Delivery[] }).deliveries;
      const buf: SeqBuf = by !== null ? by : this.scratch;
      this.takeSeqs(events, op.peer, d.length, buf);
      const dv = this.monitors.deliveries(op.peer, d, buf.lastSeqs, buf.lastN);
      if (dv !== null) this.violate(dv);
    }
    const nc = completions.length;
    for (let i = 0; i < nc; i++) {
      const c = completions[i];
      if (c.op === 'receive' && c.result.ok) {
        const d = (c.result.value as { deliveries: Delivery[] }).deliveries;
        const waiter = this.waiterOf(c.ticket);
        const buf: SeqBuf = waiter !== null ? waiter : this.scratch;
        this.takeSeqs(events, c.peer, d.length, buf);
        const dv = this.monitors.deliveries(c.peer, d, buf.lastSeqs, buf.lastN);
        if (dv !== null) this.violate(dv);
      }
    }
    if (pending && by !== null) this.setWaiter((result as { ticket: number }).ticket, by);
    for (let i = 0; i < nc; i++) this.completed(completions[i], by, kind);
    return result;
  }

  private cursor = 0;

  /**
   * The next n dequeue events of a peer in this step's events (the deliveries of one receive):
   * their seqs into `seqs`, and when each was sent into `sent` (from account(), same step).
   */
  private takeSeqs(events: readonly BusEvent[], peer: number, n: number, buf: SeqBuf): void {
    if (n > buf.lastSeqs.length) {
      buf.lastSeqs = new Float64Array(n * 2);
      buf.lastSent = new Float64Array(n * 2);
    }
    const seqs = buf.lastSeqs,
      sent = buf.lastSent;
    let k = 0;
    while (k < n && this.cursor < events.length) {
      const i = this.cursor++;
      const e = events[i];
      if (e.type === 'dequeue' && e.peer === peer) {
        seqs[k] = e.seq;
        sent[k] = this.eventSentNs[i];
        k++;
      }
    }
    buf.lastN = k;
  }

  /** The thread waiting on a ticket, or null (a thread that ended, the setup, a fault). */
  private waiterOf(ticket: number): ThreadRt | null {
    const slot = this.waiters.find(ticket);
    return slot >= 0 ? this.threads[this.waiters.value(slot)] : null;
  }

  private setWaiter(ticket: number, t: ThreadRt): void {
    this.waiters.add(ticket, t.id);
  }

  /** Keep the model's clock (ms) in step with the simulation's (ns) (TIME-1). */
  private syncClock(): void {
    // Fast path: well inside the model's current millisecond (the margin covers the rounding of
    // now / 1e6 for any clock below 1e12 ms; the model's clock only moves forward, by ticks).
    if (this.now < this.clockSkipBelowNs) return;
    const ms = Math.floor(this.now / 1e6);
    if (ms > this.state.nowMs) this.apply({ op: 'tick', ms: ms - this.state.nowMs }, null);
    this.clockSkipBelowNs = (this.state.nowMs + 1) * 1e6 - 4096;
  }

  /** Below this simulated time, syncClock has nothing to do (see there). */
  private clockSkipBelowNs = 0;

  private violate(v: Violation): never {
    throw new InvariantViolation(v, this.now);
  }

  private fullCheck(): void {
    const v = this.monitors.state(this.state);
    if (v) this.violate(v);
  }

  /** Occupancy per (receiver, sender) and one-way latency bookkeeping from bus events. */
  private account(events: readonly BusEvent[], by: ThreadRt | null): void {
    const now = this.now;
    const ring = this.seqs;
    if (events.length > this.eventSentNs.length) this.eventSentNs = new Float64Array(events.length * 2);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.type === 'enqueue') {
        if (e.kind === 'notice') continue;
        const slot = ring.add(e.seq);
        const o = this.pair(e.to, e.from);
        const cols = ring.i32;
        cols[0][slot] = e.from;
        cols[1][slot] = e.to;
        cols[2][slot] = o;
        ring.f64[0][slot] = by !== null ? by.opStartNs : now;
        this.pairAreaNs[o] += this.pairCount[o] * (now - this.pairSinceNs[o]);
        this.pairSinceNs[o] = now;
        const count = ++this.pairCount[o];
        this.pairEnqueued[o]++;
        if (count > this.pairMax[o]) this.pairMax[o] = count;
      } else if (e.type === 'dequeue' || e.type === 'discard') {
        this.eventSentNs[i] = NaN;
        const slot = ring.find(e.seq);
        if (slot < 0 || ring.i32[1][slot] !== e.peer) continue; // a notice
        const o = ring.i32[2][slot];
        this.eventSentNs[i] = ring.f64[0][slot];
        ring.retire(slot);
        this.pairAreaNs[o] += this.pairCount[o] * (now - this.pairSinceNs[o]);
        this.pairSinceNs[o] = now;
        this.pairCount[o]--;
      }
    }
  }

  /** The occupancy record of a (receiver, sender) pair, made at its first message. */
  private pair(receiver: number, sender: number): number {
    if (receiver >= this.pairStride || sender >= this.pairStride) this.growPairs(Math.max(receiver, sender) + 1);
    const k = receiver * this.pairStride + sender;
    const o = this.pairOf[k];
    if (o !== 0) return o - 1;
    const i = this.pairReceiver.length;
    this.pairReceiver.push(receiver);
    this.pairSender.push(sender);
    if (i >= this.pairCount.length) {
      const n = this.pairCount.length * 2;
      const g32 = (x: Int32Array) => {
        const y = new Int32Array(n);
        y.set(x);
        return y;
      };
      const g64 = (x: Float64Array) => {
        const y = new Float64Array(n);
        y.set(x);
        return y;
      };
      this.pairCount = g32(this.pairCount);
      this.pairMax = g32(this.pairMax);
      this.pairEnqueued = g32(this.pairEnqueued);
      this.pairAreaNs = g64(this.pairAreaNs);
      this.pairSinceNs = g64(this.pairSinceNs);
    }
    this.pairSinceNs[i] = this.now;
    this.pairOf[k] = i + 1;
    return i;
  }

  private growPairs(atLeast: number): void {
    const stride = Math.max(8, atLeast * 2);
    const next = new Int32Array(stride * stride);
    for (let r = 0; r < this.pairStride; r++)
      for (let c = 0; c < this.pairStride; c++) next[r * stride + c] = this.pairOf[r * this.pairStride + c];
    this.pairOf = next;
    this.pairStride = stride;
  }

  private traceStep(op: Operation, by: ThreadRt | null, result: Invocation, events: readonly BusEvent[]): void {
    const r = 'pending' in result ? { pending: result.ticket } : result.ok ? { ok: true } : { error: result.error };
    const o: Record<string, unknown> = { op: op.op };
    if ('handle' in op) o.handle = op.handle;
    if (op.op === 'multicast') o.handles = op.handles;
    if (op.op === 'tick') o.ms = op.ms;
    this.traceLines!.push(
      JSON.stringify({
        tNs: Math.round(this.now),
        thread: by ? by.name : 'bus',
        peer: 'peer' in op ? op.peer : null,
        ...o,
        result: r,
      }),
    );
    for (const e of events)
      this.traceLines!.push(JSON.stringify({ tNs: Math.round(this.now), event: e.type, ...e, type: undefined }));
  }

  // ---------------------------------------------------------------- costs

  private cost(ns: number): number {
    return ns <= 0 ? 0 : ns * this.rng.jitter(this.jitterSpread);
  }

  private copyNs(bytes: number): number {
    return (bytes / 1024) * this.profile.copyPerKiB.ns;
  }

  private payload(bytes: number): string {
    let p = this.payloads.get(bytes);
    if (p === undefined) this.payloads.set(bytes, (p = Buffer.alloc(bytes).toString('base64')));
    return p;
  }

  // ---------------------------------------------------------------- threads

  /** Run a thread that is on a CPU: process what woke it, then start its next action after `delay`. */
  private run(t: ThreadRt, delay: number): void {
    this.d = delay;
    if (t.waitingOp) {
      t.waitingOp = false;
      if (!t.resumeResult) return this.spinOn(t, delay);
      this.spinWon(t);
    }
    if (t.resumeResult) {
      const r = t.resumeResult;
      t.resumeResult = null;
      this.d += this.finish(t, r);
    }
    for (;;) {
      let action: number;
      if (t.opReady) {
        t.opReady = false;
        action = A_OP;
      } else action = this.nextAction(t);
      const delayNs = this.d;
      if (action === A_OP) {
        if (this.preemptDue(t, this.now + delayNs)) {
          // Preempted at the op boundary: the op starts when the thread runs again.
          t.opReady = true;
          this.queue.push(this.now + delayNs, EV_PREEMPT, t.id, t.gen);
          return;
        }
        const op = t.op!;
        let c = this.opCost(t, op);
        c = this.cost(c);
        this.busyNs += c;
        t.opStartNs = this.now + delayNs;
        this.queue.push(this.now + delayNs + c, EV_APPLY, t.id, t.gen);
        return;
      }
      if (action === A_SLEEP) return this.timerSleep(t, delayNs);
      // A_NONE: the thread's program is over.
      if (!t.closing && !t.peer.closed && !t.helper && --t.peer.programThreads === 0) {
        // The last program thread closes its peer (CLOSE-1), as a process exits.
        t.closing = true;
        t.op = { op: 'close', peer: t.peer.id };
        t.step = null;
        continue;
      }
      t.ended = true;
      t.state = DONE;
      if (!this.liveness) this.workloadEndNs = Math.max(this.workloadEndNs, this.now + delayNs);
      this.leaveCpu(t, delayNs);
      return;
    }
  }

  private opCost(t: ThreadRt, op: Operation): number {
    const P = this.profile;
    let c = 0;
    let sys = 0;
    switch (op.op) {
      case 'send':
      case 'call':
      case 'reply':
      case 'multicast': {
        const o = op.op === 'multicast' ? P.ops.send : P.ops[op.op];
        c = o.cpu.ns;
        sys = o.syscalls;
        const bytes = t.opBytes;
        const transfers = op.message.transfers?.length ?? 0;
        const copies = op.op === 'multicast' ? op.handles.length : 1;
        c += this.copyNs(bytes) * copies + transfers * P.handleTransfer.ns * copies;
        if (op.op === 'multicast') {
          c += (op.handles.length - 1) * P.ops.multicastPerDestination.ns;
          if (P.ops.multicastPerDestination.ns >= P.ops.send.cpu.ns * 0.5) sys *= op.handles.length; // one send per destination
        }
        t.afterReply = op.op === 'reply';
        break;
      }
      case 'receive':
        c = P.ops.receive.cpu.ns;
        sys = P.ops.receive.syscalls;
        if (t.afterReply && P.fuseReplyReceive && sys > 0) {
          sys = 0;
          c = Math.max(0, c - P.syscall.ns);
        }
        t.afterReply = false;
        break;
      default:
        c = P.ops.control.cpu.ns;
        sys = P.ops.control.syscalls;
        t.afterReply = false;
    }
    this.syscalls += sys;
    return c;
  }

  /** The thread's next action; sets t.op for A_OP. Zero-cost steps and compute are folded in. */
  private nextAction(t: ThreadRt): number {
    const peer = t.peer;
    if (t.closing) return peer.closed ? A_NONE : A_OP;
    for (;;) {
      if (peer.closed) return A_NONE;
      if (t.bindNames) return this.receiveOp(t, 1, FOREVER_MS);
      if (t.serve) {
        const s = t.serve;
        if (t.batchIndex < t.batch.length) {
          const d = t.batch[t.batchIndex++];
          if (d.kind === 'notice') {
            if (d.notice.type === 'no-senders' && (s.until ?? 'no-senders') === 'no-senders') {
              t.serve = null;
              t.batch = [];
              t.op = { op: 'close', peer: peer.id };
              t.step = null;
              return A_OP;
            }
            continue;
          }
          this.compute(t, s.serviceNs ?? 0);
          if (d.kind === 'call') {
            if (s.calls !== undefined && ++t.served >= s.calls) t.serve = null; // answer this one, then go on
            return this.messageOp(t, 'reply', d.replyHandle, s.replyBytes ?? 0, undefined, undefined, null);
          }
          if (d.kind === 'message' && s.answerTo !== undefined)
            return this.messageOp(
              t,
              'send',
              this.resolve(t, s.answerTo),
              s.replyBytes ?? 0,
              undefined,
              undefined,
              null,
            );
          continue;
        }
        if (peer.stoppedUntilNs > this.now) {
          t.opBytes = peer.stoppedUntilNs - this.now;
          return A_SLEEP;
        }
        return this.receiveOp(t, s.max ?? 1, FOREVER_MS);
      }
      const step = this.nextStep(t);
      if (!step) return A_NONE;
      t.step = step;
      switch (step.do) {
        case 'timerStart':
          t.timerStartNs = this.now + this.d;
          continue;
        case 'timerStop':
          this.sample(this.now + this.d - t.timerStartNs);
          continue;
        case 'compute':
          this.compute(t, step.ns);
          continue;
        case 'sleep':
          t.opBytes = step.ns;
          return A_SLEEP;
        case 'serve':
          t.serve = step;
          t.batch = [];
          t.batchIndex = 0;
          t.served = 0;
          continue;
        case 'call':
        case 'send': {
          const h = this.resolve(t, step.to);
          if (h < 0) {
            this.skip(t, h);
            continue;
          }
          const flagged = this.flaggedTransfer(t, step.transfers);
          if (flagged < 0) {
            this.skip(t, flagged);
            continue;
          } // it arrived revoked/dead (RECV-3)
          return this.messageOp(t, step.do, h, step.bytes, step.transfers, step.timeoutMs, step);
        }
        case 'reply':
          return this.messageOp(t, 'reply', peer.replyQueue.shift() ?? 0, step.bytes, step.transfers, undefined, step);
        case 'multicast': {
          const handles = step.to.map((n) => this.resolve(t, n));
          const live = handles.filter((h) => h >= 0);
          if (live.length === 0) {
            this.skip(t, handles[0]);
            continue;
          }
          t.opBytes = step.bytes;
          t.op = {
            op: 'multicast',
            peer: peer.id,
            handles: live,
            message: this.message(t, step.bytes, step.transfers),
          };
          return A_OP;
        }
        case 'receive':
          if (peer.stoppedUntilNs > this.now) {
            t.frames[t.frames.length - 1].i--;
            t.opBytes = peer.stoppedUntilNs - this.now;
            return A_SLEEP;
          }
          if (step.bind) t.bindNames = step.bind;
          return this.receiveOp(t, step.max ?? 1, step.timeoutMs ?? FOREVER_MS);
        case 'mint': {
          const h = this.resolve(t, step.from);
          if (h < 0) {
            this.skip(t, h);
            continue;
          }
          const mint: MintOp = { op: 'mint', peer: peer.id, handle: h, rights: step.rights };
          if (step.badge !== undefined) mint.badge = step.badge;
          t.op = mint;
          return A_OP;
        }
        case 'release':
        case 'revoke':
        case 'destroyNode': {
          const h = this.resolve(t, step.handle);
          if (h < 0) {
            this.skip(t, h);
            continue;
          }
          t.op = { op: step.do, peer: peer.id, handle: h };
          return A_OP;
        }
        case 'close':
          t.op = { op: 'close', peer: peer.id };
          return A_OP;
        case 'repeat':
          continue; // handled by nextStep
      }
    }
  }

  private compute(t: ThreadRt, ns: number): void {
    if (ns <= 0) return;
    const c = this.cost(ns);
    this.computeNs += c;
    this.busyNs += c;
    this.d += c;
    void t;
  }

  private skip(t: ThreadRt, marker: number): void {
    this.count(marker === -1 ? 'REVOKED' : 'DEAD');
  }

  /** A name in the peer's program: a handle name; -1/-2 for a handle that arrived revoked/dead; 0 (never issued) when unknown. */
  private resolve(t: ThreadRt, name: string): number {
    return t.peer.env.get(name) ?? 0;
  }

  private message(t: ThreadRt, bytes: number, transfers: TransferSpec[] | undefined): Message {
    if (!transfers || transfers.length === 0) {
      // The model never changes a message it is given (a blocked send keeps its own clone, SEND-7).
      if (bytes === this.lastMessageBytes) return this.lastMessage!;
      let m = this.messages0.get(bytes);
      if (!m) this.messages0.set(bytes, (m = { segments: [this.payload(bytes)] }));
      this.lastMessageBytes = bytes;
      this.lastMessage = m;
      return m;
    }
    const m: Message = { segments: [this.payload(bytes)] };
    const list: Transfer[] = [];
    for (let i = 0; i < transfers.length; i++) {
      const x = transfers[i];
      const tr: Transfer = { handle: this.resolve(t, x.handle) };
      if (x.rights) tr.rights = x.rights;
      if (x.move) tr.move = true;
      list.push(tr);
    }
    m.transfers = list;
    return m;
  }

  /** The first transfer whose handle arrived revoked (-1) or dead (-2), or 0 when none did. */
  private flaggedTransfer(t: ThreadRt, transfers: TransferSpec[] | undefined): number {
    if (transfers === undefined) return 0;
    for (let i = 0; i < transfers.length; i++) {
      const h = this.resolve(t, transfers[i].handle);
      if (h < 0) return h;
    }
    return 0;
  }

  /** The message without transfers made last, and its payload size (-1: none yet). */
  private lastMessageBytes = -1;
  private lastMessage: Message | null = null;

  private messageOp(
    t: ThreadRt,
    kind: 'send' | 'call' | 'reply',
    handle: number,
    bytes: number,
    transfers: TransferSpec[] | undefined,
    timeoutMs: number | undefined,
    step: Step | null,
  ): number {
    t.opBytes = bytes;
    t.step = step;
    const message = this.message(t, bytes, transfers);
    // The same send or call as the thread's last one (a loop): its op again (the model keeps no
    // reference to an op and changes none; a blocked send keeps its own copy, SEND-7).
    const last = t.lastMsgOp;
    if (
      kind !== 'reply' &&
      last !== null &&
      last.op === kind &&
      last.handle === handle &&
      last.message === message &&
      t.lastMsgTimeout === timeoutMs
    ) {
      t.op = last;
      return A_OP;
    }
    if (kind === 'reply') t.op = { op: 'reply', peer: t.peer.id, handle, message };
    else if (kind === 'call')
      t.op =
        timeoutMs === undefined
          ? { op: 'call', peer: t.peer.id, handle, message }
          : { op: 'call', peer: t.peer.id, handle, message, timeoutMs };
    else
      t.op = timeoutMs
        ? { op: 'send', peer: t.peer.id, handle, message, timeoutMs }
        : { op: 'send', peer: t.peer.id, handle, message };
    if (kind !== 'reply') {
      t.lastMsgOp = t.op as SendOp | CallOp;
      t.lastMsgTimeout = timeoutMs;
    }
    return A_OP;
  }

  private receiveOp(t: ThreadRt, max: number, timeoutMs: number): number {
    const m = this.profile.batchReceive ? max : 1;
    const last = t.lastRecvOp;
    t.op =
      last !== null && last.max === m && last.timeoutMs === timeoutMs
        ? last
        : (t.lastRecvOp = { op: 'receive', peer: t.peer.id, max: m, timeoutMs });
    t.opBytes = 0;
    return A_OP;
  }

  private nextStep(t: ThreadRt): Step | null {
    const frames = t.frames;
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.i < f.body.length) {
        const s = f.body[f.i++];
        if (s.do === 'repeat') {
          frames.push({ body: s.body, i: 0, left: s.times - 1 });
          continue;
        }
        return s;
      }
      if (f.left > 0) {
        f.left--;
        f.i = 0;
        continue;
      }
      frames.pop();
    }
    return null;
  }

  /** Where a thread is in its program, for error messages: "peer#0 step 2.1 (send)". */
  private where(t: ThreadRt): string {
    const path = t.frames.map((f) => f.i).join('.');
    const what = t.serve ? 'serve' : t.step ? t.step.do : t.op ? t.op.op : '?';
    return `peer ${t.peer.name} thread ${t.name} step ${path || 'end'} (${what}${t.op ? ` -> ${t.op.op}` : ''})`;
  }

  /**
   * Queue a deadline event at `at`. Deadlines pushed one after another at the same time (a
   * sender blocked with the same timeout in the same model millisecond) share one queued event
   * that stands for all of them: a later one would pop after the first at the same time, and all
   * it does is count itself and sync the clock, which the first already did. The queue stays
   * small (backpressure keeps thousands of these pending) and the counts stay exact.
   */
  private pushDeadline(at: number): void {
    if (at === this.dlLastTime && this.dlLastGroup >= 0) {
      this.dlCount[this.dlLastGroup]++;
      this.dlExtra++;
      return;
    }
    let g: number;
    if (this.dlFreeCount > 0) g = this.dlFree[--this.dlFreeCount];
    else {
      g = this.dlFresh++;
      if (g >= this.dlCount.length) {
        const c = new Int32Array(this.dlCount.length * 2);
        c.set(this.dlCount);
        this.dlCount = c;
        const f = new Int32Array(this.dlFree.length * 2);
        f.set(this.dlFree);
        this.dlFree = f;
      }
    }
    this.dlCount[g] = 1;
    this.dlLastTime = at;
    this.dlLastGroup = g;
    this.queue.push(at, EV_DEADLINE, g, 0);
  }

  /** Deadline groups (pushDeadline): deadlines each stands for, free group numbers, the last group pushed (-1: popped). */
  private dlCount = new Int32Array(64);
  private dlFree = new Int32Array(64);
  private dlFreeCount = 0;
  private dlFresh = 0;
  private dlLastTime = -1;
  private dlLastGroup = -1;
  /** Deadlines queued beyond the one event of their group (queue length as if each were its own event). */
  private dlExtra = 0;

  /** The EV_APPLY event: the op's CPU cost has elapsed; it takes effect now. */
  private applyOp(t: ThreadRt): void {
    const op = t.op!;
    const result = this.apply(op, t);
    const kind = op.op;
    if (kind === 'close') t.peer.closed = true;
    if (isPending(result)) {
      if (t.resumeResult) return this.resume(t, 0); // completed within the same step
      const timeoutMs = (op as { timeoutMs?: number }).timeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0 && timeoutMs < FOREVER_MS) {
        this.pushDeadline((this.state.nowMs + timeoutMs) * 1e6);
      }
      return this.wait(t, kind === 'call');
    }
    const cpu = this.cpus[t.cpu];
    if (cpu.handoffTo && kind !== 'reply') {
      // The replier did not go to sleep after all: wake the caller the ordinary way.
      const w = cpu.handoffTo;
      cpu.handoffTo = null;
      this.handoffs--;
      this.wakeSleeping(w, t);
    }
    this.d = 0;
    let delay = this.finish(t, result);
    delay += t.debtNs;
    t.debtNs = 0;
    this.run(t, delay);
  }

  /** Process an operation's result; returns the CPU time its processing costs (receive side). */
  private finish(t: ThreadRt, result: Result): number {
    const op = t.op!;
    if (!result.ok) {
      const code = result.error;
      this.count(code);
      if (t.bindNames && code !== 'CLOSED') t.bindNames = null;
      if (code === 'CLOSED') {
        t.bindNames = null;
        t.serve = null;
        return 0;
      }
      if (OUTCOMES.has(code) || (t.step?.expect?.includes(code) ?? false)) return 0;
      if (code === 'QUEUE_FULL' && op.op === 'send' && (op.timeoutMs ?? 0) > 0) return 0;
      throw new ScenarioError(code, this.where(t), `the model rejected ${op.op} with ${code}`);
    }
    const P = this.profile;
    switch (op.op) {
      case 'call': {
        this.calls++;
        this.messages++;
        this.replies++;
        const reply = (result.value as { reply: { payload: string } }).reply;
        const bytes = (reply.payload.length * 3) >> 2;
        const c = this.cost(P.ops.receivePerMessage.ns + (P.copies >= 2 ? this.copyNs(bytes) : 0));
        // The round trip: from issuing the call to having taken the reply in.
        this.sample(this.now + this.d + c - t.opStartNs);
        return c;
      }
      case 'receive': {
        const deliveries = (result.value as { deliveries: Delivery[] }).deliveries;
        let c = 0;
        let gotMessage = false;
        const bindNames = t.bindNames;
        let bound = 0;
        for (const d of deliveries) {
          if (d.kind === 'notice') {
            this.count(noticeKey(d.notice.type));
            continue;
          }
          if (d.kind === 'reply') continue;
          gotMessage = true;
          this.messages++;
          const bytes = (d.payload.length * 3) >> 2;
          c +=
            P.ops.receivePerMessage.ns +
            (P.copies >= 2 ? this.copyNs(bytes) : 0) +
            d.handles.length * P.handleTransfer.ns * 0.5;
          if (bindNames) {
            for (const h of d.handles) {
              if (bound < bindNames.length)
                t.peer.env.set(bindNames[bound++], h.name ?? (h.state === 'revoked' ? -1 : -2));
            }
          }
          if (d.kind === 'call' && !t.serve) t.peer.replyQueue.push(d.replyHandle);
        }
        if (!t.serve && !bindNames && deliveries.length === 0) this.count('empty-receive');
        if (bindNames && gotMessage) t.bindNames = null;
        if (t.serve) {
          t.batch = deliveries;
          t.batchIndex = 0;
        }
        if (this.oneWayLatency) {
          const done = this.now + this.d + c;
          const sent = t.lastSent;
          for (let i = 0; i < t.lastN; i++) if (sent[i] === sent[i]) this.sample(done - sent[i]); // NaN: a notice
        }
        return this.cost(c);
      }
      case 'mint':
        if (t.step?.do === 'mint') t.peer.env.set(t.step.as, (result.value as { handle: number }).handle);
        return 0;
      default:
        return 0;
    }
  }

  private count(key: string): void {
    // One lookup per count: each key's counter is a box.
    const box = this.outcomes.get(key);
    if (box !== undefined) box.n++;
    else this.outcomes.set(key, { n: 1 });
  }

  private sample(ns: number): void {
    if (this.latencyCount === this.latency.length) {
      const l = new Float64Array(this.latency.length * 2);
      l.set(this.latency);
      this.latency = l;
    }
    this.latency[this.latencyCount++] = ns;
  }

  // ---------------------------------------------------------------- waiting and waking

  /** The thread's operation is pending: spin, or sleep (TIME-2). */
  private wait(t: ThreadRt, isCall: boolean): void {
    const P = this.profile;
    t.waitStartNs = this.now;
    const cpu = this.cpus[t.cpu];
    let budget = P.spin.budget.ns;
    if (isCall && P.handoff.call) budget = 0;
    if (cpu.handoffTo) budget = 0;
    const backoff = P.spin.backoff;
    if (budget > 0 && P.spin.adaptive) {
      if (backoff) {
        // The shm backend's rule: the budget left by the last waits; at 0, a full probe every probeEvery waits.
        if (t.spinBudgetNs > 0) budget = Math.min(budget, t.spinBudgetNs);
        else if (++t.waitsSinceProbe >= backoff.probeEvery) t.waitsSinceProbe = 0;
        else budget = 0;
      } else if (cpu.queue.length > 0 || t.avgWaitNs > budget) budget = 0;
    }
    const delay = t.debtNs;
    t.debtNs = 0;
    if (budget > 0) {
      t.spinEndNs = this.now + delay + budget;
      this.busyNs += delay;
      this.closeSpan(t, this.now + delay, 'run');
      if (this.preemptDue(t, this.now + delay)) {
        // Preempted before it could spin (woken thread, slice, background): it waits in the run queue.
        t.waitingOp = true;
        this.queue.push(this.now + delay, EV_PREEMPT, t.id, t.gen);
        return;
      }
      return this.spinOn(t, delay);
    }
    this.sleep(t, delay);
  }

  /** Spin (on the CPU) until t.spinEndNs unless the completion comes first; past it, sleep. */
  private spinOn(t: ThreadRt, delay: number): void {
    if (this.now + delay >= t.spinEndNs) {
      this.spinLost(t);
      return this.sleep(t, delay);
    }
    t.state = SPINNING;
    t.spanStartNs = this.now + delay;
    // Keyed by thread: a spinner that sees its completion takes its spin end back out of the queue.
    this.queue.pushKeyed(t.id, t.spinEndNs, EV_SPIN_END, t.id, t.gen);
  }

  private spinWon(t: ThreadRt): void {
    if (this.profile.spin.backoff) t.spinBudgetNs = this.profile.spin.budget.ns;
  }

  private spinLost(t: ThreadRt): void {
    const b = this.profile.spin.backoff;
    if (!b) return;
    const next = t.spinBudgetNs / b.divisor;
    t.spinBudgetNs = next < b.floorNs ? 0 : next;
  }

  private sleep(t: ThreadRt, delay: number): void {
    const P = this.profile;
    const c = this.cost(P.wake.sleep.ns);
    this.busyNs += c;
    if (P.wake.sleepIsSyscall) this.syscalls++;
    t.state = SLEEPING;
    t.offCpuAtNs = this.now + delay + c;
    this.leaveCpu(t, delay + c);
  }

  /** A completion for a thread that waits (or one that just issued the op). */
  private completed(c: Completion, waker: ThreadRt | null, kind: Operation['op']): void {
    const slot = this.waiters.find(c.ticket);
    if (slot < 0) return; // a thread that ended (closed) or the setup
    const t = this.threads[this.waiters.value(slot)];
    this.waiters.remove(slot);
    t.resumeResult = c.result;
    const waited = this.now - t.waitStartNs;
    t.avgWaitNs = t.avgWaitNs * 0.75 + waited * 0.25;
    if (t === waker) return; // completed inside its own step: applyOp resumes it
    if (t.state === SPINNING) {
      t.gen++; // the spin end is stale now: take it out
      this.queue.cancel(t.id);
      this.spinWon(t);
      const observe = this.cost(this.profile.wake.spinObserve.ns);
      this.spinNs += this.now + observe - t.spanStartNs;
      this.busyNs += this.now + observe - t.spanStartNs;
      this.closeSpan(t, this.now + observe, 'spin');
      t.spanStartNs = this.now + observe;
      t.state = RUNNING;
      this.queue.push(this.now + observe, EV_RESUME, t.id, t.gen);
      return;
    }
    if (t.state !== SLEEPING) return;
    const P = this.profile;
    if (waker && waker.cpu >= 0) {
      const cpu = this.cpus[waker.cpu];
      const handoff =
        cpu.handoffTo === null &&
        ((kind === 'call' && P.handoff.call) || (kind === 'reply' && P.handoff.reply && this.aboutToWait(waker)));
      if (handoff) {
        cpu.handoffTo = t;
        t.state = READY;
        this.handoffs++;
        return;
      }
    }
    this.wakeSleeping(t, waker);
  }

  /** Whether a replier's next step is a receive that will find its queue empty (binder's reply + read). */
  private aboutToWait(t: ThreadRt): boolean {
    return t.serve !== null && t.batchIndex >= t.batch.length && this.state.peers[t.peer.id].queue.length === 0;
  }

  private wakeSleeping(t: ThreadRt, waker: ThreadRt | null): void {
    const P = this.profile;
    this.wakes++;
    if (waker) {
      waker.debtNs += this.cost(P.wake.waker.ns);
      if (P.wake.wakeIsSyscall) this.syscalls++;
    }
    t.state = READY;
    t.gen++;
    this.queue.push(Math.max(this.now, t.offCpuAtNs) + this.cost(P.wake.latency.ns), EV_WAKE, t.id, t.gen);
  }

  private timerSleep(t: ThreadRt, delay: number): void {
    const ns = t.opBytes;
    t.state = READY;
    t.gen++;
    this.queue.push(this.now + delay + ns + this.cost(this.profile.wake.latency.ns), EV_WAKE, t.id, t.gen);
    this.leaveCpu(t, delay);
  }

  private resume(t: ThreadRt, delay: number): void {
    delay += t.debtNs;
    t.debtNs = 0;
    this.run(t, delay);
  }

  // ---------------------------------------------------------------- scheduler

  /** A thread becomes runnable: its last CPU if idle, else any idle CPU, else a run queue. */
  private makeRunnable(t: ThreadRt): void {
    const cpus = this.cpus;
    // A sleeper works its negative lag off while it sleeps (delayed dequeue); positive lag stays.
    if (t.lagNs < 0) t.lagNs = Math.min(0, t.lagNs + (this.now - t.offCpuAtNs));
    let target: CpuRt | null = null;
    if (t.lastCpu >= 0 && this.idle(cpus[t.lastCpu])) target = cpus[t.lastCpu];
    if (!target)
      for (const c of cpus)
        if (this.idle(c)) {
          target = c;
          break;
        }
    if (target) return this.dispatch(target, t, 0, false);
    // The CPU with the fewest runnable threads (the load balancer evens them out), its last CPU on a tie.
    let q = t.lastCpu >= 0 ? cpus[t.lastCpu] : cpus[0];
    for (const c of cpus) if (this.nrRunning(c) < this.nrRunning(q)) q = c;
    this.settle(q);
    q.queue.push(t);
    t.state = READY;
    const cur = q.current;
    if (
      !cur ||
      q.bgBusy ||
      this.sliceNs <= 0 ||
      this.now <= q.sliceStartNs + this.protectNs ||
      t.lagNs < 0 ||
      cur.lagNs >= 0
    )
      return;
    // Wake-up preemption (EEVDF): the woken thread is eligible (lag >= 0) and the running one is
    // not (it has had more than its share: lag < 0, so RUN_TO_PARITY does not protect it). A
    // spinner leaves at once (it waits in the run queue, its spin deadline still running); a
    // running thread at its next operation boundary (preemptDue).
    q.wakePreempt = true;
    if (cur.state === SPINNING) {
      cur.gen++;
      this.queue.cancel(cur.id);
      this.spinNs += this.now - cur.spanStartNs;
      this.busyNs += this.now - cur.spanStartNs;
      this.closeSpan(cur, this.now, 'spin');
      cur.waitingOp = true;
      this.preempt(cur);
    }
  }

  /**
   * Lag bookkeeping of a CPU up to now (EEVDF, equal weights): of the time since the last
   * settling, each of its n runnable threads was owed 1/n; the running one got all of it.
   * Lag is clamped to +-max(2 slices, tick), as the kernel does.
   */
  private settle(c: CpuRt): void {
    const dt = this.now - c.settledAtNs;
    c.settledAtNs = this.now;
    if (dt <= 0 || this.sliceNs <= 0) return;
    const q = c.queue;
    const n = q.length + (c.current !== null || c.bgBusy ? 1 : 0);
    if (n <= 1) return;
    const share = dt / n;
    const limit = Math.max(2 * this.sliceNs, this.tickNs);
    const cur = c.current;
    if (cur !== null) cur.lagNs = Math.max(-limit, cur.lagNs - dt + share);
    for (let i = 0; i < q.length; i++) q[i].lagNs = Math.min(limit, q[i].lagNs + share);
  }

  private idle(c: CpuRt): boolean {
    return c.current === null && c.handoffTo === null && !c.bgBusy;
  }

  /**
   * Whether the running thread is preempted at an op boundary at time `at`: background load
   * holds its CPU; or a thread woken onto its CPU after its wake-up protection (wake-up
   * preemption); or others wait in its run queue, its slice is over and a scheduler tick has come.
   */
  private preemptDue(t: ThreadRt, at: number): boolean {
    const c = this.cpus[t.cpu];
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
  private preempt(t: ThreadRt): void {
    const c = this.cpus[t.cpu];
    // The thread that was to take the CPU went to another (idle) CPU meanwhile: carry on.
    if (!c.bgBusy && c.queue.length === 0) {
      c.wakePreempt = false;
      return this.run(t, 0);
    }
    this.settle(c);
    this.preemptions++;
    this.closeSpan(t, this.now, t.waitingOp ? 'spin' : 'run');
    t.lastCpu = t.cpu;
    t.cpu = -1;
    t.state = READY;
    t.gen++;
    c.current = null;
    if (c.bgBusy) {
      // Other processes take this CPU: the thread moves to an idle CPU if there is one.
      for (const o of this.cpus) if (this.idle(o)) return this.dispatch(o, t, 0, false);
      c.queue.unshift(t);
      this.contextSwitches++;
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

  /** Background load starts (holds the CPU) or ends on a CPU; the next period is scheduled while anything else can happen. */
  private background(c: CpuRt, start: boolean): void {
    this.settle(c);
    if (start) {
      c.bgBusy = true;
      this.queue.push(this.now + this.bgBusyNs, EV_BG, c.id, 0);
      const cur = c.current;
      if (cur && cur.state === SPINNING) {
        cur.gen++;
        this.queue.cancel(cur.id);
        this.spinNs += this.now - cur.spanStartNs;
        this.busyNs += this.now - cur.spanStartNs;
        cur.waitingOp = true;
        this.preempt(cur);
      }
      // A running thread leaves at its next op boundary (preemptDue).
      return;
    }
    c.bgBusy = false;
    // The other CPUs' background events do not keep it going: only what the threads still have to do.
    if (
      this.queue.length + this.dlExtra > this.bgLive - 1 ||
      this.threads.some((t) => t.state === READY || t.state === RUNNING || t.state === SPINNING)
    ) {
      this.queue.push(this.now + this.bgPeriodNs - this.bgBusyNs, EV_BG, c.id, 1);
    } else this.bgLive--;
    if (c.current === null && c.handoffTo === null) {
      let from: CpuRt | null = c.queue.length > 0 ? c : null;
      if (!from)
        for (const o of this.cpus) if (o.queue.length > 0 && (!from || o.queue.length > from.queue.length)) from = o;
      if (from) {
        this.settle(from);
        this.dispatch(c, from.queue.shift()!, 0, false);
      }
    }
  }

  private dispatch(c: CpuRt, t: ThreadRt, delay: number, handoff: boolean): void {
    const P = this.profile;
    this.settle(c);
    c.wakePreempt = false;
    c.current = t;
    let cost = this.cost(handoff ? P.handoff.switch.ns : P.scheduler.contextSwitch.ns);
    if (t.lastCpu >= 0 && t.lastCpu !== c.id) {
      this.migrations++;
      cost += this.cost(P.scheduler.migration.ns);
    }
    this.contextSwitches++;
    this.busyNs += cost;
    t.cpu = c.id;
    t.state = RUNNING;
    t.gen++;
    t.spanStartNs = this.now + delay;
    c.sliceStartNs = this.now + delay;
    this.run(t, delay + cost);
  }

  private leaveCpu(t: ThreadRt, delay: number): void {
    const c = this.cpus[t.cpu];
    this.settle(c);
    this.closeSpan(t, this.now + delay, 'run');
    t.lastCpu = t.cpu;
    t.cpu = -1;
    c.current = null;
    const h = c.handoffTo;
    c.handoffTo = null;
    if (c.bgBusy) {
      if (h) c.queue.unshift(h);
      this.contextSwitches++; // to the other process
      return;
    }
    let next = h;
    if (!next) next = c.queue.shift() ?? null;
    if (!next) {
      let from: CpuRt | null = null;
      for (const o of this.cpus) if (o.queue.length > 0 && (!from || o.queue.length > from.queue.length)) from = o;
      if (from) {
        this.settle(from);
        next = from.queue.shift()!;
      }
    }
    if (next) {
      this.dispatch(c, next, delay, h !== null); // one switch, thread to thread
      return;
    }
    this.contextSwitches++; // to idle
  }

  private closeSpan(t: ThreadRt, end: number, state: string): void {
    if (!t.spans || t.spans.length > 4000) return;
    if (end > t.spanStartNs) t.spans.push([t.spanStartNs, end, state]);
  }

  // ---------------------------------------------------------------- faults and liveness

  private fault(f: Fault): void {
    const peer = this.peers.find((p) => p.name === f.peer)!;
    if (f.action === 'stop-receiving') {
      peer.stoppedUntilNs = this.now + (f.forNs ?? 1e6);
      this.count('fault:stop-receiving');
      return;
    }
    const op: Operation =
      f.action === 'close'
        ? { op: 'close', peer: peer.id }
        : { op: f.action, peer: peer.id, handle: peer.env.get(f.handle ?? '') ?? 0 };
    const r = this.apply(op, null);
    if (op.op === 'close' && !('pending' in r) && r.ok) peer.closed = true;
    this.count(`fault:${f.action}:${'pending' in r ? 'pending' : r.ok ? 'ok' : r.error}`);
    this.fullCheck();
  }

  /** Run the event loop until nothing is left to happen. */
  private loop(maxEvents: number): void {
    const q = this.queue;
    while (q.pop()) {
      if (this.events > maxEvents)
        throw new ScenarioError('SETUP', 'engine', `more than ${maxEvents} events: runaway scenario`);
      const kind = q.popKind;
      if (kind === EV_DEADLINE) {
        // A group of deadlines at the same time (pushDeadline): each counts as an event.
        const g = q.popA;
        const n = this.dlCount[g];
        this.dlFree[this.dlFreeCount++] = g;
        if (g === this.dlLastGroup) this.dlLastGroup = -1;
        this.dlExtra -= n - 1;
        this.now = q.popTime;
        this.events += n;
        this.syncClock();
        continue;
      }
      if (kind === EV_FAULT) {
        this.now = q.popTime;
        this.events++;
        this.fault(this.faults[q.popA]);
        continue;
      }
      if (kind === EV_BG) {
        this.now = q.popTime;
        this.events++;
        this.background(this.cpus[q.popA], q.popB === 1);
        continue;
      }
      const t = this.threads[q.popA];
      // Stale (cancelled): it does not happen, so it neither counts nor moves the clock (a
      // cancelled spin deadline must not stretch the run's simulated time).
      if (q.popB !== t.gen) continue;
      this.now = q.popTime;
      this.lastActivityNs = this.now;
      this.events++;
      switch (kind) {
        case EV_APPLY:
          this.applyOp(t);
          break;
        case EV_RESUME:
          this.resume(t, 0);
          break;
        case EV_SPIN_END:
          if (t.state === SPINNING) {
            this.spinNs += this.now - t.spanStartNs;
            this.busyNs += this.now - t.spanStartNs;
            this.closeSpan(t, this.now, 'spin');
            this.spinLost(t);
            this.sleep(t, 0);
          }
          break;
        case EV_WAKE:
          this.makeRunnable(t);
          break;
        case EV_PREEMPT:
          this.preempt(t);
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
    this.setup(specs);
    this.faults.forEach((f, i) => this.queue.push(f.atNs, EV_FAULT, i, 0));
    // Background load: CPU i is held from i/n of each period on, so the CPUs are not all held at once.
    if (this.bgPeriodNs > 0) {
      this.bgLive = this.cpus.length;
      this.cpus.forEach((c, i) => this.queue.push((i * this.bgPeriodNs) / this.cpus.length, EV_BG, i, 1));
    }
    for (const t of this.threads) this.makeRunnable(t);
    const maxEvents = this.options.maxEvents ?? 50_000_000;
    this.loop(maxEvents);
    // (Background load may run on a little after the last thread event: it is not the workload.)
    this.workloadEndNs = Math.max(this.workloadEndNs, this.bgPeriodNs > 0 ? this.lastActivityNs : this.now);
    // Liveness: nothing can happen any more. Every call must have resolved (CALL-2).
    this.liveness = true;
    const stuck = this.state.pending.filter((p) => p.kind === 'call');
    if (stuck.length > 0) {
      const who = stuck.map((p) => this.byModelPeer.get(p.peer)?.name ?? p.peer).join(', ');
      throw new LivenessError(`${stuck.length} call(s) never resolved at quiescence (callers: ${who}); a deadlock`);
    }
    // Then the bus owner closes whoever is still open (servers waiting for work) and drains.
    for (const p of this.peers) {
      if (p.closed) continue;
      this.apply({ op: 'close', peer: p.id }, null);
      p.closed = true;
      this.loop(maxEvents);
    }
    const v = this.monitors.finish(this.state);
    if (v) this.violate(v);
  }

  // ---------------------------------------------------------------- results

  results(seed: bigint): SimResults {
    const lat = this.latency.slice(0, this.latencyCount).sort();
    const pct = (q: number) =>
      lat.length ? lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(q * lat.length) - 1))] : 0;
    let sum = 0;
    for (const x of lat) sum += x;
    const cdf: [number, number][] = [];
    if (lat.length) {
      const n = Math.min(200, lat.length);
      for (let i = 0; i < n; i++) {
        const idx = Math.min(lat.length - 1, Math.floor(((i + 1) / n) * lat.length) - 1);
        cdf.push([round(lat[Math.max(0, idx)]), round((Math.max(0, idx) + 1) / lat.length, 4)]);
      }
    }
    const nameOf = (id: number) => this.byModelPeer.get(id)?.name ?? `peer${id}`;
    const occupancy: QueueOccupancy[] = this.pairReceiver
      .map((_, i) => i)
      .sort((a, b) => this.pairReceiver[a] - this.pairReceiver[b] || this.pairSender[a] - this.pairSender[b])
      .map((o) => {
        const area = this.pairAreaNs[o] + this.pairCount[o] * (this.workloadEndNs - this.pairSinceNs[o]);
        return {
          receiver: nameOf(this.pairReceiver[o]),
          sender: nameOf(this.pairSender[o]),
          meanMessages: round(this.workloadEndNs > 0 ? area / this.workloadEndNs : 0, 3),
          maxMessages: this.pairMax[o],
          enqueued: this.pairEnqueued[o],
        };
      });
    const m = Math.max(1, this.messages);
    const T = this.workloadEndNs;
    const timeline: PeerTimeline[] | undefined = this.timelineOn
      ? this.threads.map((t) => ({
          thread: t.name,
          spans: (t.spans ?? []).map(([a, b, s]) => [round(a), round(b), s] as [number, number, string]),
        }))
      : undefined;
    const outcomes: Record<string, number> = {};
    const counted = new Map<string, number>();
    for (const [k, box] of this.outcomes) counted.set(k, box.n);
    if (this.replies > 0) counted.set('reply', (counted.get('reply') ?? 0) + this.replies);
    for (const k of [...counted.keys()].sort()) outcomes[k] = counted.get(k)!;
    return {
      scenario: this.scenario.name,
      transport: this.profile.name,
      seed: formatSeed(seed),
      cpus: this.cpus.length,
      simulatedNs: round(this.now),
      workloadNs: round(T),
      totals: {
        events: this.events,
        operations: this.operations,
        messages: this.messages,
        calls: this.calls,
        wakes: this.wakes,
        handoffs: this.handoffs,
        syscalls: this.syscalls,
        contextSwitches: this.contextSwitches,
        migrations: this.migrations,
        ...(this.preemptions > 0 ? { preemptions: this.preemptions } : {}),
        cpuBusyNs: round(this.busyNs),
        spinNs: round(this.spinNs),
      },
      latency: {
        count: lat.length,
        p50Ns: round(pct(0.5)),
        p99Ns: round(pct(0.99)),
        p999Ns: round(pct(0.999)),
        meanNs: round(lat.length ? sum / lat.length : 0),
        maxNs: round(lat.length ? lat[lat.length - 1] : 0),
      },
      messagesPerSec: round(T > 0 ? (this.messages / T) * 1e9 : 0),
      callsPerSec: round(T > 0 ? (this.calls / T) * 1e9 : 0),
      wakesPerMessage: round(this.wakes / m, 4),
      handoffsPerMessage: round(this.handoffs / m, 4),
      syscallsPerMessage: round(this.syscalls / m, 4),
      contextSwitchesPerMessage: round(this.contextSwitches / m, 4),
      cpuNsPerMessage: round((this.busyNs - this.computeNs) / m),
      outcomes,
      queueOccupancy: occupancy,
      monitors: { checks: this.monitors.checks, stateChecks: this.monitors.stateChecks, violations: [] },
      liveness: { ok: true, detail: 'every call resolved; all peers closed; nothing left' },
      latencyCdf: cdf,
      ...(timeline ? { timeline } : {}),
      performance: { wallMs: 0, eventsPerSec: 0, eventsPerCpuSec: 0, operationsPerSec: 0 },
      hash: '',
    };
  }

  get traceOutput(): string[] | null {
    return this.traceLines;
  }
}

export class LivenessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LivenessError';
  }
}

/** Whether an invocation is pending (a ticket) rather than a result. */
function isPending(r: Invocation): r is { pending: true; ticket: number } {
  return (r as { pending?: boolean }).pending === true;
}

/** The outcome key of a notice type ("notice:" + type), made once per type. */
const NOTICE_KEYS = new Map<string, string>();
function noticeKey(type: string): string {
  let k = NOTICE_KEYS.get(type);
  if (k === undefined) NOTICE_KEYS.set(type, (k = `notice:${type}`));
  return k;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export { parseSeed };
