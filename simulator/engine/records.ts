// The engine's vocabulary: thread states, event kinds, the next action of a program, and
// the runtime records of peers, threads and CPUs. A thread's record is split by role: what
// the scheduler keeps (sched), where the program is (prog), and how it waits for a pending
// operation (wait); each module of the engine owns one of them.
import type { CallOp, Credentials, Delivery, Operation, ReceiveOp, Result, SendOp } from '../../spec/types';
import type { ServeStep, Step } from '../types';

/** Where a thread is (the scheduler's view). */
export const enum ThreadState {
  Ready = 0,
  Running = 1,
  Spinning = 2,
  Sleeping = 3,
  Done = 4,
}

/** What a queued engine event does when it pops. */
export const enum EventKind {
  /** A thread's operation has used its CPU cost: it takes effect (a: thread, b: generation). */
  Apply = 1,
  /** A thread resumes after a completion it saw while spinning. */
  Resume = 2,
  /** A spinning thread's budget ran out: it goes to sleep. */
  SpinEnd = 3,
  /** A woken (or timer-sleeping) thread becomes runnable. */
  Wake = 4,
  /** A group of operation deadlines (a: group): the bus clock moves to them. */
  Deadline = 5,
  /** A scenario fault (a: index in the scenario's faults). */
  Fault = 6,
  /** A thread is preempted at its operation boundary. */
  Preempt = 7,
  /** Background load starts (b = 1) or ends (b = 0) on a CPU (a: CPU). */
  Background = 8,
  /** A thread reaches the bus lock with its operation (lock.ts). */
  LockAcquire = 9,
  /** A thread spinning for the bus lock has spun its budget: it sleeps on the lock. */
  LockSpinEnd = 10,
}

/** What a thread is doing, as the timeline records it (PeerTimeline spans). */
export const enum Span {
  None = '',
  /** On a CPU: operation costs, switches, service time, compute. */
  Run = 'run',
  /** On a CPU, spinning while it waits for a pending operation. */
  Spin = 'spin',
  /** On a CPU, spinning for the bus lock. */
  Lock = 'lock',
  /** Off CPU, runnable: woken (wake-up latency) or waiting in a run queue. */
  Ready = 'ready',
  /** Off CPU, blocked: waiting for a pending operation, a timer, or the bus lock. */
  Sleep = 'sleep',
}

/** What a program does next. */
export const enum Action {
  /** Its program is over. */
  None = 0,
  /** Run the operation in prog.op. */
  Op = 1,
  /** Leave the CPU for prog.opBytes ns (a timer sleep). */
  Sleep = 2,
}

/** "Wait without limit": a deadline no simulation reaches (kept a safe integer, TIME-1). */
export const FOREVER_MS = 1e12;

/** One level of a program being run: a step list, the next step, and repetitions left. */
export interface Frame {
  body: Step[];
  i: number;
  left: number;
}

/** Where a receive's dequeued seqs go (a thread's program state, or scratch when no thread waits). */
export interface SeqBuf {
  /** Bus sequence numbers of the deliveries of the last receive (for the monitors): the first lastN. */
  lastSeqs: Float64Array;
  /** When each of those was sent (NaN for a notice): one-way latency. */
  lastSent: Float64Array;
  lastN: number;
}

/** Empty until a thread's first receive (the door grows it before it writes): short runs allocate nothing per thread. */
export const NO_SEQS = new Float64Array(0);

export interface PeerRt {
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

/** The scheduler's part of a thread: where it runs and the CPU time it has had and owes. */
export interface SchedState {
  state: ThreadState;
  cpu: number;
  lastCpu: number;
  /** Bumped whenever the thread's queued event goes stale (the loop drops events of an older generation). */
  gen: number;
  offCpuAtNs: number;
  /** CPU owed for work done on behalf of others during the last op (waking them). */
  debtNs: number;
  /** EEVDF lag: CPU time this thread is owed (+) or has had beyond its share (-), ns. */
  lagNs: number;
  /** The timeline: the current span's start and state, and the spans so far (null: no timeline). */
  spanStartNs: number;
  spanState: Span;
  spans: [number, number, string][] | null;
}

/** The interpreter's part of a thread: where it is in its program and the operation it runs. */
export interface ProgramState extends SeqBuf {
  frames: Frame[];
  /** The operation being executed and the step it is for. */
  op: Operation | null;
  step: Step | null;
  opStartNs: number;
  /** Payload bytes of the current op (for copy costs of what comes back); a sleep's length. */
  opBytes: number;
  /** The op in `op` is chosen but not started: the thread was preempted at the op boundary. */
  opReady: boolean;
  serve: ServeStep | null;
  batch: Delivery[];
  batchIndex: number;
  /** Calls answered by the current serve step. */
  served: number;
  /** A receive-with-bind step still waiting for a message. */
  bindNames: string[] | null;
  timerStartNs: number;
  afterReply: boolean;
  closing: boolean;
  /** The thread's last send or call op (and the timeout it was asked with), and its last receive op: reused when the next is the same. */
  lastMsgOp: SendOp | CallOp | null;
  lastMsgTimeout: number | undefined;
  lastRecvOp: ReceiveOp | null;
  /** The bus lock (lock.ts): the CPU time of the current op spent holding it, when the thread first asked for it, and when its spin on it began. */
  lockHoldNs: number;
  lockAskedNs: number;
  lockSpinStartNs: number;
  /** Woken from a sleep on the bus lock: ask for it again when the thread runs. */
  lockRetry: boolean;
}

/** How a thread waits for its pending operation: spin or sleep, and the completion to process. */
export interface WaitState {
  /** A completion waiting to be processed when the thread runs again. */
  resumeResult: Result | null;
  waitStartNs: number;
  avgWaitNs: number;
  /** A waiter preempted while spinning: its op is still pending, its spin ends at spinEndNs. */
  waitingOp: boolean;
  /** When the current spin began (for the spin time counted). */
  spinStartNs: number;
  spinEndNs: number;
  /** The spin budget of the shm backend's back-off rule (spin.backoff), and waits since the last probe. */
  spinBudgetNs: number;
  waitsSinceProbe: number;
}

export interface ThreadRt {
  readonly id: number;
  readonly name: string;
  readonly peer: PeerRt;
  /** A helper thread does not hold its peer open. */
  readonly helper: boolean;
  readonly sched: SchedState;
  readonly prog: ProgramState;
  readonly wait: WaitState;
}

export function newThread(
  id: number,
  name: string,
  peer: PeerRt,
  helper: boolean,
  program: Step[],
  timeline: boolean,
  spinBudgetNs: number,
): ThreadRt {
  return {
    id,
    name,
    peer,
    helper,
    sched: {
      state: ThreadState.Ready,
      cpu: -1,
      lastCpu: -1,
      gen: 0,
      offCpuAtNs: 0,
      debtNs: 0,
      lagNs: 0,
      spanStartNs: 0,
      spanState: Span.None,
      spans: timeline ? [] : null,
    },
    prog: {
      frames: [{ body: program, i: 0, left: 0 }],
      op: null,
      step: null,
      opStartNs: 0,
      opBytes: 0,
      opReady: false,
      serve: null,
      batch: [],
      batchIndex: 0,
      served: 0,
      bindNames: null,
      timerStartNs: 0,
      afterReply: false,
      closing: false,
      lastMsgOp: null,
      lastMsgTimeout: undefined,
      lastRecvOp: null,
      lastSeqs: NO_SEQS,
      lastSent: NO_SEQS,
      lastN: 0,
      lockHoldNs: 0,
      lockAskedNs: -1,
      lockSpinStartNs: 0,
      lockRetry: false,
    },
    wait: {
      resumeResult: null,
      waitStartNs: 0,
      avgWaitNs: 0,
      waitingOp: false,
      spinStartNs: 0,
      spinEndNs: 0,
      spinBudgetNs,
      waitsSinceProbe: 0,
    },
  };
}

export interface CpuRt {
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
