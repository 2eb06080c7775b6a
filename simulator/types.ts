// The simulator's data types: scenarios, transport profiles, sweeps and results.
// JSON Schemas under simulator/schema/ are generated from this file
// (spec/tools/schemas.ts, `npm run schemas`); ajv checks every file a user gives.
import type { Badge, Credentials, ErrorCode, Right } from '../spec/types';

/**
 * A non-negative integer.
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type Int = number;

/**
 * A positive integer.
 * @TJS-type integer
 * @minimum 1
 * @maximum 9007199254740991
 */
export type PositiveInt = number;

/**
 * A simulated duration or time, in nanoseconds.
 * @minimum 0
 */
export type Nanos = number;

/**
 * A name used inside a scenario (peer, node or handle names).
 * @pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
 */
export type Name = string;

// ------------------------------------------------------------------ scenarios

/** Limits of the simulated bus; omitted ones take the registry defaults (BUS-1). */
export interface LimitsOverride {
  maxPeers?: PositiveInt;
  maxHandlesPerPeer?: PositiveInt;
  maxNodesPerPeer?: PositiveInt;
  maxPendingPerPeer?: PositiveInt;
  maxPayloadBytes?: PositiveInt;
  maxHandlesPerMessage?: PositiveInt;
  queueCapacityMessages?: PositiveInt;
  queueCapacityBytes?: PositiveInt;
  senderQuotaMessages?: PositiveInt;
  senderQuotaBytes?: PositiveInt;
  senderQuotaHandles?: PositiveInt;
}

/** A scenario: a workload on a simulated machine, with optional faults. */
export interface Scenario {
  /** @pattern ^[a-z0-9][a-z0-9-]*$ */
  name: string;
  description: string;
  /** Transport profile name (bundled) used when the command line gives none. Default tessera_shm. */
  transport?: string;
  /** Simulated CPUs (default 2, like the machine of baselines.md). */
  cpus?: PositiveInt;
  limits?: LimitsOverride;
  /** Relative spread of every cost (0 = exact costs; default 0.08). */
  jitter?: number;
  /** Other processes' load on the machine (measured by `tessera calibrate`); default none. */
  background?: BackgroundLoad;
  /** The workload: a bundled generator or explicit per-peer programs. */
  workload: Workload;
  /** Faults injected during the workload phase; the liveness phase follows. */
  faults?: Fault[];
}

export type Workload =
  | ScriptWorkload
  | PingPongWorkload
  | RpcPoolWorkload
  | FanoutWorkload
  | IntroductionChainWorkload
  | RevocationStormWorkload
  | BackpressureWorkload;

/**
 * Load of other processes: each CPU is held by them `cpus / CPUs` of every period (CPU i from
 * i/CPUs of the period on, so they are not all held at once). A thread running on a CPU when its
 * background share starts leaves it at its next operation boundary (a spinner at once), for an
 * idle CPU if there is one, else the front of the run queue.
 */
export interface BackgroundLoad {
  /** CPU-equivalents of load (0..CPUs; at most 95% of each CPU). */
  cpus: number;
  /** Length of one period, ns (default 4 ms, a scheduler tick at CONFIG_HZ=250). */
  periodNs?: Nanos;
  /** Where the number comes from. */
  source?: string;
}

/** Explicit peers and programs. */
export interface ScriptWorkload {
  kind: 'script';
  peers: PeerSpec[];
}

/** One client, one server: call/reply, or send + receive with a reply node. */
export interface PingPongWorkload {
  kind: 'pingpong';
  mode: 'call' | 'send-receive';
  rounds: PositiveInt;
  payloadBytes: Int;
  /** Server CPU time per request. */
  serviceNs?: Nanos;
  /** Client pause between rounds (off CPU). */
  thinkNs?: Nanos;
}

/** K client peers calling one server peer with M threads. */
export interface RpcPoolWorkload {
  kind: 'rpc-pool';
  clients: PositiveInt;
  serverThreads: PositiveInt;
  callsPerClient: PositiveInt;
  payloadBytes: Int;
  serviceNs?: Nanos;
  thinkNs?: Nanos;
  /** Receive batch size of a server thread (default 1). */
  batch?: PositiveInt;
  /** Per-call timeout (ms of the bus clock); absent: wait without limit. */
  timeoutMs?: Int;
}

/** One publisher multicasting to N subscribers. */
export interface FanoutWorkload {
  kind: 'fanout';
  subscribers: PositiveInt;
  messages: PositiveInt;
  payloadBytes: Int;
  /** Receive batch size of a subscriber. */
  batch?: PositiveInt;
  /** Publisher pause between messages (off CPU); paces the stream. */
  intervalNs?: Nanos;
  serviceNs?: Nanos;
}

/** A handle introduced along a chain of k peers, used by the last, then revoked at the source. */
export interface IntroductionChainWorkload {
  kind: 'introduction-chain';
  length: PositiveInt;
  /** Calls the last peer makes through the introduced handle before the revoke. */
  callsBeforeRevoke: PositiveInt;
}

/** Many holders of minted handles; the owner revokes them repeatedly while they send. */
export interface RevocationStormWorkload {
  kind: 'revocation-storm';
  holders: PositiveInt;
  rounds: PositiveInt;
  sendsPerRound: PositiveInt;
}

/** Fast producers, one slow consumer: the fairness of the per-sender quota (QUOTA-1). */
export interface BackpressureWorkload {
  kind: 'backpressure';
  producers: PositiveInt;
  messagesPerProducer: PositiveInt;
  payloadBytes: Int;
  consumerServiceNs: Nanos;
  /** A blocked send waits this long for room (SEND-7); 0: fail QUEUE_FULL at once. */
  sendTimeoutMs: Int;
  /** Producer pause between messages. */
  intervalNs?: Nanos;
}

/** A simulated peer: one process attached to the bus, running `threads` copies of its program. */
export interface PeerSpec {
  name: Name;
  threads?: PositiveInt;
  credentials?: Credentials;
  /** Nodes created right after attach, named for the program. */
  nodes?: NodeSpec[];
  /** Handles the bus owner gives at attach (BUS-3), from nodes of peers listed earlier. */
  bootstrap?: GrantSpec[];
  /** The program each of the `threads` threads runs; the peer closes when they have all ended. */
  program: Step[];
  /** Extra threads with their own programs that do not hold the peer open (e.g. a receiver). */
  helpers?: Step[][];
}

export interface NodeSpec {
  name: Name;
  /** Deliveries through this node carry sender credentials (CRED-1). */
  credentials?: boolean;
}

export interface GrantSpec {
  /** "peer.node" of a peer listed earlier. */
  node: string;
  /** The name the new peer's program uses for it. */
  as: Name;
  rights?: Right[];
  badge?: Badge;
}

/** A handle a message carries (SEND-4). */
export interface TransferSpec {
  handle: Name;
  rights?: Right[];
  move?: boolean;
}

/** Fields every step shares. */
export interface StepBase {
  /** Error codes this step may get without failing the scenario (in addition to fault outcomes). */
  expect?: ErrorCode[];
}

export type Step =
  | CallStep
  | SendStep
  | ReplyStep
  | ReceiveStep
  | ServeStep
  | MulticastStep
  | MintStep
  | ReleaseStep
  | RevokeStep
  | DestroyNodeStep
  | CloseStep
  | ComputeStep
  | SleepStep
  | RepeatStep
  | TimerStartStep
  | TimerStopStep;

/** call (CALL-1); the call's latency is recorded. */
export interface CallStep extends StepBase {
  do: 'call';
  to: Name;
  bytes: Int;
  transfers?: TransferSpec[];
  timeoutMs?: Int;
}
/** send (SEND-1); timeoutMs > 0 waits for room (SEND-7). */
export interface SendStep extends StepBase {
  do: 'send';
  to: Name;
  bytes: Int;
  transfers?: TransferSpec[];
  timeoutMs?: Int;
}
/** Answer the oldest call this peer has received and not answered (CALL-3). */
export interface ReplyStep extends StepBase {
  do: 'reply';
  bytes: Int;
  transfers?: TransferSpec[];
}
/**
 * receive (RECV-1); without timeoutMs it waits without limit. With `bind`, it receives until a
 * message or call arrives (notices are counted and skipped) and binds the handles it carries, in
 * order, to those names; a handle that arrives revoked or dead binds as such (later uses are
 * skipped with that outcome, as a program reading the delivery flag would).
 */
export interface ReceiveStep extends StepBase {
  do: 'receive';
  max?: PositiveInt;
  timeoutMs?: Int;
  bind?: Name[];
}
/**
 * A server loop: receive batches, spend serviceNs per delivery, reply to calls;
 * ends when a no-senders notice arrives (then the peer closes) or the peer closes.
 */
export interface ServeStep extends StepBase {
  do: 'serve';
  max?: PositiveInt;
  serviceNs?: Nanos;
  replyBytes?: Int;
  /** Answer plain messages through this handle (send + receive ping-pong). */
  answerTo?: Name;
  /** no-senders (default): a no-senders notice ends the loop and closes the peer; closed: run until the peer closes. */
  until?: 'no-senders' | 'closed';
  /** End the loop (without closing) after answering this many calls; the program goes on. */
  calls?: PositiveInt;
}
export interface MulticastStep extends StepBase {
  do: 'multicast';
  to: Name[];
  bytes: Int;
  transfers?: TransferSpec[];
}
export interface MintStep extends StepBase {
  do: 'mint';
  from: Name;
  as: Name;
  rights: Right[];
  badge?: Badge;
}
export interface ReleaseStep extends StepBase {
  do: 'release';
  handle: Name;
}
export interface RevokeStep extends StepBase {
  do: 'revoke';
  handle: Name;
}
export interface DestroyNodeStep extends StepBase {
  do: 'destroyNode';
  handle: Name;
}
export interface CloseStep extends StepBase {
  do: 'close';
}
/** CPU work of the thread's own (not IPC). */
export interface ComputeStep extends StepBase {
  do: 'compute';
  ns: Nanos;
}
/** Off-CPU pause (a timer sleep). */
export interface SleepStep extends StepBase {
  do: 'sleep';
  ns: Nanos;
}
export interface RepeatStep extends StepBase {
  do: 'repeat';
  times: PositiveInt;
  body: Step[];
}
/** Latency probe: the time from timerStart to the next timerStop is one latency sample. */
export interface TimerStartStep extends StepBase {
  do: 'timerStart';
}
export interface TimerStopStep extends StepBase {
  do: 'timerStop';
}

/** A fault: an operation done on behalf of a peer at a given time, or a receive pause. */
export interface Fault {
  atNs: Nanos;
  peer: Name;
  action: 'close' | 'destroyNode' | 'revoke' | 'release' | 'stop-receiving';
  /** The handle destroyNode/revoke/release uses. */
  handle?: Name;
  /** stop-receiving: how long the peer's threads stop taking deliveries. */
  forNs?: Nanos;
}

// ------------------------------------------------------------------ profiles

/** One cost with where its number comes from. */
export interface Cost {
  ns: number;
  /** Where the number comes from (baselines.md row, calibration run, or reasoning). */
  source: string;
}

/** CPU cost and kernel entries of one protocol operation on a transport. */
export interface OpCost {
  cpu: Cost;
  /** System calls the operation makes (0 for a user-space fast path). */
  syscalls: Int;
}

/** A transport as data: what each step costs (nanoseconds) and which mechanisms it has. */
export interface Profile {
  /** @pattern ^[a-z0-9_]+$ */
  name: string;
  description: string;
  /** One system call entry and exit (included in op cpu costs; counted separately). */
  syscall: Cost;
  /** Copying one KiB of payload once. */
  copyPerKiB: Cost;
  /** How many times a payload is copied between sender and receiver. */
  copies: Int;
  /** Passing one handle (fd for AF_UNIX SCM_RIGHTS). */
  handleTransfer: Cost;
  ops: {
    send: OpCost;
    call: OpCost;
    reply: OpCost;
    /** One receive call (whatever it returns). */
    receive: OpCost;
    /** Per delivery taken by a receive. */
    receivePerMessage: Cost;
    /** Extra per destination of a multicast. */
    multicastPerDestination: Cost;
    /** mint, release, revoke, destroyNode, createNode, close. */
    control: OpCost;
  };
  wake: {
    /** CPU the waker spends waking a sleeping thread. */
    waker: Cost;
    /** Whether waking a sleeper is its own system call (futex wake) rather than part of the op's. */
    wakeIsSyscall: boolean;
    /** From the wake to the woken thread being runnable on a CPU (scheduler path, IPI). */
    latency: Cost;
    /** CPU spent going to sleep. */
    sleep: Cost;
    sleepIsSyscall: boolean;
    /** How long a spinning waiter takes to see a change made on another CPU. */
    spinObserve: Cost;
  };
  scheduler: {
    contextSwitch: Cost;
    /** Extra when a thread resumes on another CPU than it last ran on. */
    migration: Cost;
    /**
     * Time slice (EEVDF base slice): a thread that has run this long loses its CPU at the next
     * scheduler tick to a thread waiting in its run queue (to the back of the least loaded run
     * queue). Absent or 0: no time slicing and no preemption (threads keep a CPU until they wait).
     */
    slice?: Cost;
    /**
     * How long a thread that got a CPU keeps it against a thread woken onto its CPU (at most the
     * slice); a thread woken later preempts it (a spinner at once, a worker at its next
     * operation). Absent: 0.
     */
    wakeupProtection?: Cost;
    /** Scheduler tick (1 / CONFIG_HZ); absent or 0: the slice ends the turn at once. */
    tick?: Cost;
  };
  spin: {
    /** Spin this long before sleeping (0: sleep at once). */
    budget: Cost;
    /** Skip the spin when it is not likely to pay (run queue busy, or recent waits longer than the budget). */
    adaptive: boolean;
    /**
     * With adaptive: the shm backend's rule instead (backends/shm DESIGN.md): a wait that ends
     * while spinning resets the budget to the maximum; one that has to sleep divides it by
     * `divisor`, to 0 below `floorNs`; at 0 every `probeEvery`th wait spins the full budget.
     */
    backoff?: SpinBackoff;
  };
  handoff: {
    /** A call switches its CPU straight to the server thread waiting in receive. */
    call: boolean;
    /** A reply switches straight to the caller when the replier is about to wait. */
    reply: boolean;
    /** The cost of such a direct switch (instead of wake latency + context switch). */
    switch: Cost;
  };
  /** A receive takes up to max deliveries (else one per receive call). */
  batchReceive: boolean;
  /** A receive right after a reply shares its system call (binder's write+read ioctl). */
  fuseReplyReceive: boolean;
}

export interface SpinBackoff {
  /** @minimum 1 */
  divisor: number;
  floorNs: Nanos;
  probeEvery: PositiveInt;
  source: string;
}

// ------------------------------------------------------------------ sweeps

/** A parameter grid: every combination of the axes, run in worker threads. */
export interface Sweep {
  /** @pattern ^[a-z0-9][a-z0-9-]*$ */
  name: string;
  /** A bundled scenario name or a scenario file path, relative to the sweep file. */
  scenario: string;
  seed?: string;
  transports: string[];
  /** Axes: a workload field (e.g. "subscribers") and the values it takes. */
  axes: SweepAxis[];
  /** The metrics to chart, one SVG each (default messagesPerSec and latencyP50Ns). */
  metrics?: string[];
}

export interface SweepAxis {
  field: string;
  values: number[];
}

// ------------------------------------------------------------------ results

export interface LatencySummary {
  count: Int;
  p50Ns: number;
  p99Ns: number;
  p999Ns: number;
  meanNs: number;
  maxNs: number;
}

export interface QueueOccupancy {
  receiver: string;
  sender: string;
  /** Time-weighted mean of the sender's messages in the receiver's queue. */
  meanMessages: number;
  maxMessages: Int;
  enqueued: Int;
}

export interface Totals {
  events: Int;
  operations: Int;
  messages: Int;
  calls: Int;
  wakes: Int;
  handoffs: Int;
  syscalls: Int;
  contextSwitches: Int;
  migrations: Int;
  /** Threads that lost their CPU before they were done (time slice, background load). */
  preemptions?: Int;
  cpuBusyNs: number;
  spinNs: number;
}

export interface MonitorReport {
  /** Step-level checks made (events, deliveries, results). */
  checks: Int;
  /** Full structural checks of the model state (sampled, and at the end). */
  stateChecks: Int;
  violations: ViolationReport[];
}

export interface ViolationReport {
  invariant: string;
  detail: string;
  atNs: number;
  replay: string;
}

export interface PeerTimeline {
  thread: string;
  /** [startNs, endNs, state] with state run | spin | sys. */
  spans: [number, number, string][];
}

export interface SimResults {
  scenario: string;
  transport: string;
  seed: string;
  cpus: PositiveInt;
  /** Simulated time of the whole run, ns. */
  simulatedNs: number;
  /** Simulated time of the workload phase (until the last program step), ns. */
  workloadNs: number;
  totals: Totals;
  latency: LatencySummary;
  messagesPerSec: number;
  callsPerSec: number;
  wakesPerMessage: number;
  handoffsPerMessage: number;
  syscallsPerMessage: number;
  contextSwitchesPerMessage: number;
  cpuNsPerMessage: number;
  /** Outcome counts of blocking and failing operations (reply, DEAD, NO_REPLY, TIMED_OUT...). */
  outcomes: { [code: string]: Int };
  queueOccupancy: QueueOccupancy[];
  monitors: MonitorReport;
  liveness: { ok: boolean; detail: string };
  /** Latency CDF points [ns, fraction], at most ~200 of them. */
  latencyCdf: [number, number][];
  timeline?: PeerTimeline[];
  /** Engine speed on this machine (not part of the hash). */
  performance: { wallMs: number; eventsPerSec: number; eventsPerCpuSec: number; operationsPerSec: number };
  /** sha256 of everything above except performance, and of the trace when one was written. */
  hash: string;
}

export interface SweepPoint {
  transport: string;
  params: { [field: string]: number };
  results: SimResults;
}

export interface SweepResults {
  sweep: string;
  points: SweepPoint[];
}
