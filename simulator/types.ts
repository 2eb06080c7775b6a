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
 * A simulated duration or time, in nanoseconds: 0 to 10^12 (1000 s).
 * @minimum 0
 * @maximum 1000000000000
 */
export type Nanos = number;

/**
 * A name used inside a scenario (peer, node or handle names).
 * @pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
 * @maxLength 64
 */
export type Name = string;

/**
 * How many times: rounds, repetitions, messages, calls (1 to 10,000,000; a whole run executes
 * at most 5,000,000 steps).
 * @TJS-type integer
 * @minimum 1
 * @maximum 10000000
 */
export type Times = number;

/**
 * Payload bytes of one message: 0 to 16 MiB, and at most the scenario's maxPayloadBytes (SEND-2).
 * @TJS-type integer
 * @minimum 0
 * @maximum 16777216
 */
export type PayloadBytes = number;

/**
 * A timeout in ms of the bus clock: 0 to 86,400,000 (one day).
 * @TJS-type integer
 * @minimum 0
 * @maximum 86400000
 */
export type TimeoutMs = number;

/**
 * A number of peers a workload generator makes besides its one central peer: 1 to 1023.
 * @TJS-type integer
 * @minimum 1
 * @maximum 1023
 */
export type PeerCount = number;

/**
 * Threads of one peer: 1 to 1024.
 * @TJS-type integer
 * @minimum 1
 * @maximum 1024
 */
export type ThreadCount = number;

/**
 * Deliveries one receive may take: 1 to 4096.
 * @TJS-type integer
 * @minimum 1
 * @maximum 4096
 */
export type BatchSize = number;

/**
 * A cost of the profile, ns: 0 to 10^10 (10 s).
 * @minimum 0
 * @maximum 10000000000
 */
export type CostNs = number;

// ------------------------------------------------------------------ scenarios

/** Limits of the simulated bus; omitted ones take the registry defaults (BUS-1). */
export interface LimitsOverride {
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 1024
   */
  maxPeers?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 65536
   */
  maxHandlesPerPeer?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 16777216
   */
  maxPayloadBytes?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 64
   */
  maxHandlesPerMessage?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 65536
   */
  queueCapacityMessages?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 268435456
   */
  queueCapacityBytes?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 65536
   */
  senderQuotaMessages?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 268435456
   */
  senderQuotaBytes?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 65536
   */
  maxNodesPerPeer?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 65536
   */
  maxPendingPerPeer?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 65536
   */
  senderQuotaHandles?: number;
}

/** A scenario: a workload on a simulated machine, with optional faults. */
export interface Scenario {
  /**
   * @pattern ^[a-z0-9][a-z0-9-]*$
   * @maxLength 64
   */
  name: string;
  /** @maxLength 4096 */
  description: string;
  /**
   * Transport profile name (bundled) used when the command line gives none. Default tessera_shm.
   * @pattern ^[a-z0-9_]+$
   * @maxLength 64
   */
  transport?: string;
  /**
   * Simulated CPUs: 1 to 1024 (default 2, the machine the bundled profiles were measured on).
   * @TJS-type integer
   * @minimum 1
   * @maximum 1024
   */
  cpus?: number;
  limits?: LimitsOverride;
  /**
   * Relative spread of every cost: 0 (exact costs) to 1 (a cost varies from 0.37x to 2.7x); default 0.08.
   * @minimum 0
   * @maximum 1
   */
  jitter?: number;
  /** Other processes' load on the machine (measured by `tessera calibrate`); default none. */
  background?: BackgroundLoad;
  /** The workload: a bundled generator or explicit per-peer programs. */
  workload: Workload;
  /**
   * Faults injected during the workload phase; the liveness phase follows. At most 1024.
   * @maxItems 1024
   */
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
  /**
   * CPU-equivalents of load (0 to the scenario's CPUs; at most 95% of each CPU).
   * @minimum 0
   * @maximum 1024
   */
  cpus: number;
  /**
   * Length of one period, ns: 10 us to 10 s (default 4 ms, a scheduler tick at CONFIG_HZ=250).
   * @minimum 10000
   * @maximum 10000000000
   */
  periodNs?: number;
  /**
   * Where the number comes from.
   * @maxLength 4096
   */
  source?: string;
}

/** Explicit peers and programs. */
export interface ScriptWorkload {
  kind: 'script';
  /**
   * The peers, in attach order: 1 to 1024 (and at most limits.maxPeers).
   * @minItems 1
   * @maxItems 1024
   */
  peers: PeerSpec[];
}

/** One client, one server: call/reply, or send + receive with a reply node. */
export interface PingPongWorkload {
  kind: 'pingpong';
  mode: 'call' | 'send-receive';
  rounds: Times;
  payloadBytes: PayloadBytes;
  /** Server CPU time per request. */
  serviceNs?: Nanos;
  /** Client pause between rounds (off CPU). */
  thinkNs?: Nanos;
}

/** K client peers calling one server peer with M threads. */
export interface RpcPoolWorkload {
  kind: 'rpc-pool';
  clients: PeerCount;
  serverThreads: ThreadCount;
  callsPerClient: Times;
  payloadBytes: PayloadBytes;
  serviceNs?: Nanos;
  thinkNs?: Nanos;
  /** Receive batch size of a server thread (default 1). */
  batch?: BatchSize;
  /** Per-call timeout (ms of the bus clock); absent: wait without limit. */
  timeoutMs?: TimeoutMs;
  /** Server threads answer the last call of a batch and take the next batch in one step (CALL-10). */
  replyReceive?: boolean;
}

/** One publisher multicasting to N subscribers. */
export interface FanoutWorkload {
  kind: 'fanout';
  subscribers: PeerCount;
  messages: Times;
  payloadBytes: PayloadBytes;
  /** Receive batch size of a subscriber. */
  batch?: BatchSize;
  /** Publisher pause between messages (off CPU); paces the stream. */
  intervalNs?: Nanos;
  serviceNs?: Nanos;
  /** Subscribers (counted in `subscribers`) that never read: they sleep through the run. */
  slowSubscribers?: PeerCount;
  /** The publisher skips subscribers whose queue is full instead of failing the multicast (MCAST-6). */
  skipFull?: boolean;
}

/** A handle introduced along a chain of k peers, used by the last, then revoked at the source. */
export interface IntroductionChainWorkload {
  kind: 'introduction-chain';
  /**
   * Peers along the chain: 1 to 1023.
   * @TJS-type integer
   * @minimum 1
   * @maximum 1023
   */
  length: number;
  /** Calls the last peer makes through the introduced handle before the revoke. */
  callsBeforeRevoke: Times;
}

/** Many holders of minted handles; the owner revokes them repeatedly while they send. */
export interface RevocationStormWorkload {
  kind: 'revocation-storm';
  holders: PeerCount;
  rounds: Times;
  sendsPerRound: Times;
}

/** Fast producers, one slow consumer: the fairness of the per-sender quota (QUOTA-1). */
export interface BackpressureWorkload {
  kind: 'backpressure';
  producers: PeerCount;
  messagesPerProducer: Times;
  payloadBytes: PayloadBytes;
  consumerServiceNs: Nanos;
  /** A blocked send waits this long for room (SEND-7); 0: fail QUEUE_FULL at once. */
  sendTimeoutMs: TimeoutMs;
  /** Producer pause between messages. */
  intervalNs?: Nanos;
}

/** A simulated peer: one process attached to the bus, running `threads` copies of its program. */
export interface PeerSpec {
  name: Name;
  threads?: ThreadCount;
  credentials?: Credentials;
  /**
   * Nodes created right after attach, named for the program.
   * @maxItems 1024
   */
  nodes?: NodeSpec[];
  /**
   * Handles the bus owner gives at attach (BUS-3), from nodes of peers listed earlier.
   * @maxItems 1024
   */
  bootstrap?: GrantSpec[];
  /**
   * The program each of the `threads` threads runs; the peer closes when they have all ended.
   * @maxItems 10000
   */
  program: Step[];
  /**
   * Extra threads with their own programs that do not hold the peer open (e.g. a receiver).
   * @maxItems 64
   */
  helpers?: Step[][];
}

export interface NodeSpec {
  name: Name;
  /** Deliveries through this node carry sender credentials (CRED-1). */
  credentials?: boolean;
}

export interface GrantSpec {
  /**
   * "peer.node" of a peer listed earlier.
   * @pattern ^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_.-]*$
   * @maxLength 129
   */
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
  /**
   * Error codes this step may get without failing the scenario (in addition to fault outcomes).
   * @maxItems 32
   */
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
  bytes: PayloadBytes;
  /** @maxItems 64 */
  transfers?: TransferSpec[];
  timeoutMs?: TimeoutMs;
}
/** send (SEND-1); timeoutMs > 0 waits for room (SEND-7). */
export interface SendStep extends StepBase {
  do: 'send';
  to: Name;
  bytes: PayloadBytes;
  /** @maxItems 64 */
  transfers?: TransferSpec[];
  timeoutMs?: TimeoutMs;
}
/** Answer the oldest call this peer has received and not answered (CALL-3). */
export interface ReplyStep extends StepBase {
  do: 'reply';
  bytes: PayloadBytes;
  /** @maxItems 64 */
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
  max?: BatchSize;
  timeoutMs?: TimeoutMs;
  /**
   * @minItems 1
   * @maxItems 64
   * @items.type string
   * @items.pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
   * @items.maxLength 64
   */
  bind?: string[];
}
/**
 * A server loop: receive batches, spend serviceNs per delivery, reply to calls;
 * ends when a no-senders notice arrives (then the peer closes) or the peer closes.
 */
export interface ServeStep extends StepBase {
  do: 'serve';
  max?: BatchSize;
  serviceNs?: Nanos;
  replyBytes?: PayloadBytes;
  /** Answer plain messages through this handle (send + receive ping-pong). */
  answerTo?: Name;
  /** no-senders (default): a no-senders notice ends the loop and closes the peer; closed: run until the peer closes. */
  until?: 'no-senders' | 'closed';
  /** End the loop (without closing) after answering this many calls; the program goes on. */
  calls?: Times;
  /** Answer the last call of a batch with replyReceive, which takes the next batch in the same step (CALL-10). */
  replyReceive?: boolean;
}
export interface MulticastStep extends StepBase {
  do: 'multicast';
  /** Skip destinations whose queue is full (MCAST-6); without it a full one fails the whole multicast. */
  skipFull?: boolean;
  /**
   * @minItems 1
   * @maxItems 1024
   * @items.type string
   * @items.pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
   * @items.maxLength 64
   */
  to: string[];
  bytes: PayloadBytes;
  /** @maxItems 64 */
  transfers?: TransferSpec[];
}
export interface MintStep extends StepBase {
  do: 'mint';
  from: Name;
  as: Name;
  /** @maxItems 2 */
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
  times: Times;
  /**
   * The steps repeated (repeats nest at most 16 deep).
   * @maxItems 10000
   */
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

export type * from './profile-types';

// ------------------------------------------------------------------ sweeps

/** A parameter grid: every combination of the axes, run in worker threads. */
export interface Sweep {
  /**
   * @pattern ^[a-z0-9][a-z0-9-]*$
   * @maxLength 64
   */
  name: string;
  /**
   * A bundled scenario name or a scenario file path, relative to the sweep file.
   * @maxLength 4096
   */
  scenario: string;
  /**
   * The seed of every point: decimal or 0x-hex, below 2^64.
   * @pattern ^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$
   */
  seed?: string;
  /**
   * Bundled transport profiles: 1 to 32.
   * @minItems 1
   * @maxItems 32
   * @items.type string
   * @items.pattern ^[a-z0-9_]+$
   * @items.maxLength 64
   */
  transports: string[];
  /**
   * Axes: a workload field (e.g. "subscribers") and the values it takes; 1 to 4 axes, at most
   * 4096 points in all (transports included).
   * @minItems 1
   * @maxItems 4
   */
  axes: SweepAxis[];
  /**
   * The metrics to chart, one SVG each (default messagesPerSec and latencyP50Ns).
   * @maxItems 32
   * @items.type string
   * @items.maxLength 64
   */
  metrics?: string[];
}

export interface SweepAxis {
  /**
   * @pattern ^[A-Za-z][A-Za-z0-9]*$
   * @maxLength 64
   */
  field: string;
  /**
   * @minItems 1
   * @maxItems 64
   */
  values: number[];
}

// ------------------------------------------------------------------ results

export type * from './result-types';
