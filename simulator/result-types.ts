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
