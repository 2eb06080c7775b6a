// The simulator's data types: scenarios, transport profiles, sweeps and results.
// JSON Schemas under simulator/schema/ are generated from this file
// (spec/tools/schemas.ts, `npm run schemas`); ajv checks every file a user gives.
import type { Badge, Credentials, Right } from '../spec/types';

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
   * Names the scenario in results, charts and replay commands.
   * @pattern ^[a-z0-9][a-z0-9-]*$
   * @maxLength 64
   */
  name: string;
  /**
   * What it runs, for people.
   * @maxLength 4096
   */
  description: string;
  /**
   * Transport profile name (bundled) used when the command line gives none. Default tessera_shm.
   * @pattern ^[a-z0-9_]+$
   * @maxLength 64
   * @default "tessera_shm"
   */
  transport?: string;
  /**
   * Simulated CPUs: 1 to 1024 (default 2, the machine the bundled profiles were measured on).
   * @TJS-type integer
   * @minimum 1
   * @maximum 1024
   * @default 2
   */
  cpus?: number;
  /** Limits of the simulated bus (BUS-1). */
  limits?: LimitsOverride;
  /**
   * Relative spread of every cost: 0 (exact costs) to 1 (a cost varies from 0.37x to 2.7x); default 0.08.
   * @minimum 0
   * @maximum 1
   * @default 0.08
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
  | PairsWorkload
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
   * @default 4000000
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
  /** call: call/reply (CALL-1); send-receive: a send, and the answer through a reply node the client passed at the start. */
  mode: 'call' | 'send-receive';
  /** Round trips. */
  rounds: Times;
  /** Payload bytes of each request and reply. */
  payloadBytes: PayloadBytes;
  /**
   * Server CPU time per request.
   * @default 0
   */
  serviceNs?: Nanos;
  /**
   * Client pause between rounds (off CPU).
   * @default 0
   */
  thinkNs?: Nanos;
}

/**
 * Independent call/reply pairs: client i calls server i and no one else, so the pairs share
 * nothing but the bus (and its lock, where the profile has one): how far a design scales when
 * the work itself could scale perfectly.
 */
export interface PairsWorkload {
  kind: 'pairs';
  /**
   * Client/server pairs: 1 to 511.
   * @TJS-type integer
   * @minimum 1
   * @maximum 511
   */
  pairs: number;
  /** Calls each client makes. */
  rounds: Times;
  /** Payload bytes of each call and reply. */
  payloadBytes: PayloadBytes;
  /**
   * Server CPU time per call.
   * @default 0
   */
  serviceNs?: Nanos;
  /**
   * Client pause between calls (off CPU).
   * @default 0
   */
  thinkNs?: Nanos;
}

/** K client peers calling one server peer with M threads. */
export interface RpcPoolWorkload {
  kind: 'rpc-pool';
  /** Client peers, one thread each. */
  clients: PeerCount;
  /** Threads of the server peer, each serving the one queue. */
  serverThreads: ThreadCount;
  /** Calls each client makes. */
  callsPerClient: Times;
  /** Payload bytes of each call and reply. */
  payloadBytes: PayloadBytes;
  /**
   * Server CPU time per call.
   * @default 0
   */
  serviceNs?: Nanos;
  /**
   * Client pause between calls (off CPU).
   * @default 0
   */
  thinkNs?: Nanos;
  /**
   * Receive batch size of a server thread (default 1).
   * @default 1
   */
  batch?: BatchSize;
  /** Per-call timeout (ms of the bus clock); absent: wait without limit. */
  timeoutMs?: TimeoutMs;
  /** Server threads answer the last call of a batch and take the next batch in one step (CALL-10). */
  replyReceive?: boolean;
}

/** One publisher multicasting to N subscribers. */
export interface FanoutWorkload {
  kind: 'fanout';
  /** Subscriber peers, one thread each. */
  subscribers: PeerCount;
  /** Multicasts the publisher makes. */
  messages: Times;
  /** Payload bytes of each message. */
  payloadBytes: PayloadBytes;
  /**
   * Receive batch size of a subscriber.
   * @default 16
   */
  batch?: BatchSize;
  /**
   * Publisher pause between messages (off CPU); paces the stream.
   * @default 0
   */
  intervalNs?: Nanos;
  /**
   * Subscriber CPU time per message.
   * @default 0
   */
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
  /** Peers the owner gives a minted handle each round. */
  holders: PeerCount;
  /** Rounds of mint, give, revoke. */
  rounds: Times;
  /** Sends each holder makes through its handle a round. */
  sendsPerRound: Times;
}

/** Fast producers, one slow consumer: the fairness of the per-sender quota (QUOTA-1). */
export interface BackpressureWorkload {
  kind: 'backpressure';
  /** Producer peers, one thread each. */
  producers: PeerCount;
  /** Messages each producer sends. */
  messagesPerProducer: Times;
  /** Payload bytes of each message. */
  payloadBytes: PayloadBytes;
  /** Consumer CPU time per message: the slow side. */
  consumerServiceNs: Nanos;
  /** A blocked send waits this long for room (SEND-7); 0: fail QUEUE_FULL at once. */
  sendTimeoutMs: TimeoutMs;
  /**
   * Producer pause between messages.
   * @default 0
   */
  intervalNs?: Nanos;
}

/** A simulated peer: one process attached to the bus, running `threads` copies of its program. */
export interface PeerSpec {
  /** The peer's name: what bootstrap grants (`peer.node`) and faults call it. */
  name: Name;
  /**
   * Threads running `program`, each its own copy.
   * @default 1
   */
  threads?: ThreadCount;
  /** The uid, gid and pid the bus stamps on its messages through nodes with credentials (CRED-1). */
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
  /** The node's name in its peer's programs (a handle to the node). */
  name: Name;
  /**
   * Deliveries through this node carry sender credentials (CRED-1).
   * @default false
   */
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
  /** The granted handle's rights, a subset of the node's (absent: the same rights, send and grant). */
  rights?: Right[];
  /** A badge the receiver sees on every message through this handle (MINT-3); absent: the node's. */
  badge?: Badge;
}

import type { Step } from './step-types';
export type * from './step-types';

/** A fault: an operation done on behalf of a peer at a given time, or a receive pause. */
export interface Fault {
  /** When, in simulated time. */
  atNs: Nanos;
  /** The peer it acts for. */
  peer: Name;
  /** close: close the peer (CLOSE-1); destroyNode, revoke, release: that operation on `handle`; stop-receiving: its threads take no deliveries for forNs. */
  action: 'close' | 'destroyNode' | 'revoke' | 'release' | 'stop-receiving';
  /** The handle destroyNode/revoke/release uses. */
  handle?: Name;
  /**
   * stop-receiving: how long the peer's threads stop taking deliveries.
   * @default 1000000
   */
  forNs?: Nanos;
}

// ------------------------------------------------------------------ profiles

export type * from './profile-types';

// ------------------------------------------------------------------ sweeps and scale studies

export type * from './sweep-types';

// ------------------------------------------------------------------ results

export type * from './result-types';
