// The simulator's results: what one run reports (SimResults) and a sweep's points. JSON
// Schemas under simulator/schema/ are generated from these (through simulator/types.ts).
import type { Int, PositiveInt } from './types';

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

/** The bus lock of a profile that has one: how often it was taken and waited for, and how busy it was. */
export interface LockTotals {
  acquisitions: Int;
  /** Acquisitions that found the lock held and waited. */
  contended: Int;
  /** Time from asking for the lock to holding it, all threads, ns. */
  waitNs: number;
  /** CPU time spent spinning for the lock, ns. */
  spinNs: number;
  /** Time the lock was held or being handed over, ns. */
  busyNs: number;
  /** The part of busyNs that handovers to one of several spinning waiters added, ns. */
  handoverNs: number;
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
  /**
   * [startNs, endNs, state], in time order, with state `run` (on a CPU: op costs, switches,
   * service, compute), `spin` (on a CPU, spinning for a pending operation), `lock` (on a CPU,
   * spinning for the bus lock), `ready` (runnable: woken, or waiting in a run queue) or `sleep`
   * (blocked: a pending operation, a timer, the bus lock). At most a few thousand spans a thread.
   */
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
  /** Present when the profile has a bus lock. */
  lock?: LockTotals;
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
  /** Latency CDF points [ns, fraction of samples at or below]: every percent, then ever finer into the tail (99%, 99.9%, ...) up to the largest sample; at most ~200. */
  latencyCdf: [number, number][];
  timeline?: PeerTimeline[];
  /** Engine speed on this machine (not part of the hash). */
  performance: { wallMs: number; eventsPerSec: number; eventsPerCpuSec: number; operationsPerSec: number };
  /** sha256 of everything above except performance, and of the trace when one was written. */
  hash: string;
}

/** One run of a sweep: a transport, the axes' values, a seed. */
export interface SweepPoint {
  transport: string;
  /** Each axis's field (as the sweep file names it) and its value at this point. */
  params: { [field: string]: number };
  seed: string;
  results: SimResults;
}

export interface SweepResults {
  sweep: string;
  /** Runs per point (seeds seed, seed + 1, ...). */
  seeds: PositiveInt;
  /** Transport-major, then the axes' combinations (first axis slowest), then seeds. */
  points: SweepPoint[];
}

/** One scenario on several transports (`tessera sim SCENARIO --compare T1,T2,... --json FILE`). */
export interface CompareResults {
  scenario: string;
  seed: string;
  /** One run per transport, in the order given. */
  runs: SimResults[];
}

/** What `tessera sim --scale-study` writes: every run's metrics, and what it was computed from. */
export interface ScaleStudyResults {
  study: string;
  /** sha256 of the study file, its scenarios and the profiles it ran: stale when they change. */
  inputsDigest: string;
  cores: PositiveInt[];
  transports: string[];
  /** The seeds of every point. */
  seeds: string[];
  /** Workload-major, then transport, core count and seed. */
  runs: ScaleRun[];
}

export interface ScaleRun {
  workload: string;
  transport: string;
  cores: PositiveInt;
  seed: string;
  /** The fields the core count set. */
  params: { [field: string]: number };
  /** Every metric of the registry, by id (6 significant digits). */
  metrics: { [metric: string]: number };
  /** Liveness held and no invariant was violated. */
  ok: boolean;
  /** SimResults.hash of the run: it replays byte for byte. */
  hash: string;
}
