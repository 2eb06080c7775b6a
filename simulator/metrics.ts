// The metrics of a run as data: each one's id (what sweep files and charts name), its label
// and unit in words, what it means, and where in SimResults it comes from. Charts label their
// axes from here, sweeps check the metrics they are asked for against it, the summary table
// formats with it, and the docs print it: one list for all of them.
import type { SimResults } from './types';
import { fmtNs, fmtRate } from './report';

/** How a metric's values read: a duration, a rate per second, a ratio per message, a fraction, or a count. */
export type MetricKind = 'ns' | 'rate' | 'ratio' | 'fraction' | 'count';

export interface MetricDef {
  /** The name sweep files and the CLI use (e.g. `latencyP99Ns`). */
  id: string;
  /** What it is, in words, for an axis or a table header. */
  label: string;
  /** Its unit, in words (`ns`, `messages/s`, `per message`...). */
  unit: string;
  kind: MetricKind;
  /** Which way is better, when one is. */
  better: 'higher' | 'lower' | null;
  /** What it measures, for the docs. */
  meaning: string;
  /** Where it comes from in SimResults (a field path, or how it is computed). */
  from: string;
  value(r: SimResults): number;
}

const LATENCY =
  "a latency sample is a call's round trip (issuing the call to having taken the reply in), the time from a timerStart step to the next timerStop, or, in workloads with neither, a message's one-way delay (sent to received)";

function latency(id: string, label: string, key: keyof SimResults['latency'], what: string): MetricDef {
  return {
    id,
    label,
    unit: 'ns',
    kind: 'ns',
    better: 'lower',
    meaning: `${what}; ${LATENCY}.`,
    from: `latency.${key}`,
    value: (r) => r.latency[key],
  };
}

const perMessage = (id: string, label: string, key: keyof SimResults & string, meaning: string): MetricDef => ({
  id,
  label,
  unit: 'per message',
  kind: 'ratio',
  better: 'lower',
  meaning,
  from: key,
  value: (r) => r[key] as number,
});

/** Every metric, in the order the docs list them. */
export const METRICS: readonly MetricDef[] = [
  {
    id: 'messagesPerSec',
    label: 'Throughput',
    unit: 'messages/s',
    kind: 'rate',
    better: 'higher',
    meaning:
      'Messages delivered (received, or answered as a call) per second of the workload phase (until the last program step ended).',
    from: 'messagesPerSec',
    value: (r) => r.messagesPerSec,
  },
  {
    id: 'callsPerSec',
    label: 'Calls completed',
    unit: 'calls/s',
    kind: 'rate',
    better: 'higher',
    meaning: 'Calls that got their reply, per second of the workload phase.',
    from: 'callsPerSec',
    value: (r) => r.callsPerSec,
  },
  latency('latencyP50Ns', 'Latency p50', 'p50Ns', 'The median latency sample'),
  latency('latencyP99Ns', 'Latency p99', 'p99Ns', 'The 99th percentile of latency samples'),
  latency('latencyP999Ns', 'Latency p99.9', 'p999Ns', 'The 99.9th percentile of latency samples'),
  latency('latencyMeanNs', 'Latency mean', 'meanNs', 'The mean of the latency samples'),
  latency('latencyMaxNs', 'Latency max', 'maxNs', 'The largest latency sample'),
  perMessage(
    'wakesPerMessage',
    'Wake-ups',
    'wakesPerMessage',
    'Threads woken from sleep through the scheduler (wake-up latency paid), per message; hand-offs are not counted here.',
  ),
  perMessage(
    'handoffsPerMessage',
    'Direct hand-offs',
    'handoffsPerMessage',
    "Wake-ups done by switching the waker's CPU straight to the woken thread (binder, seL4-style call paths), per message.",
  ),
  perMessage(
    'syscallsPerMessage',
    'System calls',
    'syscallsPerMessage',
    'Kernel entries (operations, futex sleeps and wakes where the profile makes them system calls), per message.',
  ),
  perMessage(
    'contextSwitchesPerMessage',
    'Context switches',
    'contextSwitchesPerMessage',
    'Switches of a CPU from one thread (or idle, or another process) to another, per message.',
  ),
  {
    id: 'cpuNsPerMessage',
    label: 'CPU time',
    unit: 'ns per message',
    kind: 'ns',
    better: 'lower',
    meaning:
      "CPU time the simulated threads used per message (operations, switches, spinning, lock spinning), without the programs' own compute and service time.",
    from: 'cpuNsPerMessage',
    value: (r) => r.cpuNsPerMessage,
  },
  {
    id: 'cpuUtilization',
    label: 'CPU busy',
    unit: 'fraction of all CPUs',
    kind: 'fraction',
    better: null,
    meaning:
      'Busy CPU time of the simulated threads over the workload phase times the CPUs: 1 when every CPU was busy.',
    from: 'totals.cpuBusyNs / (workloadNs x cpus)',
    value: (r) => (r.workloadNs > 0 ? r.totals.cpuBusyNs / (r.workloadNs * r.cpus) : 0),
  },
  {
    id: 'spinFraction',
    label: 'Spinning',
    unit: 'fraction of CPU time',
    kind: 'fraction',
    better: 'lower',
    meaning: 'The share of busy CPU time spent spinning for a pending operation (not for the bus lock).',
    from: 'totals.spinNs / totals.cpuBusyNs',
    value: (r) => (r.totals.cpuBusyNs > 0 ? r.totals.spinNs / r.totals.cpuBusyNs : 0),
  },
  {
    id: 'migrationsPerMessage',
    label: 'Migrations',
    unit: 'per message',
    kind: 'ratio',
    better: 'lower',
    meaning: 'Threads resumed on another CPU than they last ran on (cache and TLB refill), per message.',
    from: 'totals.migrations / totals.messages',
    value: (r) => r.totals.migrations / Math.max(1, r.totals.messages),
  },
  {
    id: 'lockWaitNsPerOp',
    label: 'Bus lock wait',
    unit: 'ns per operation',
    kind: 'ns',
    better: 'lower',
    meaning:
      'Mean time an operation waited for the bus lock (spinning or asleep), over all operations that took it; 0 without a bus lock.',
    from: 'lock.waitNs / lock.acquisitions',
    value: (r) => (r.lock && r.lock.acquisitions > 0 ? r.lock.waitNs / r.lock.acquisitions : 0),
  },
  {
    id: 'lockUtilization',
    label: 'Bus lock busy',
    unit: 'fraction of the workload phase',
    kind: 'fraction',
    better: null,
    meaning:
      'The share of the workload phase the bus lock was held or being handed over: near 1, the lock is the bottleneck; 0 without a bus lock.',
    from: 'lock.busyNs / workloadNs',
    value: (r) => (r.lock && r.workloadNs > 0 ? Math.min(1, r.lock.busyNs / r.workloadNs) : 0),
  },
  {
    id: 'lockContention',
    label: 'Contended lock acquisitions',
    unit: 'fraction of acquisitions',
    kind: 'fraction',
    better: 'lower',
    meaning: 'The share of bus lock acquisitions that found the lock held and waited; 0 without a bus lock.',
    from: 'lock.contended / lock.acquisitions',
    value: (r) => (r.lock && r.lock.acquisitions > 0 ? r.lock.contended / r.lock.acquisitions : 0),
  },
  {
    id: 'lockHandoverShare',
    label: 'Bus lock handovers',
    unit: 'fraction of lock busy time',
    kind: 'fraction',
    better: 'lower',
    meaning:
      "The share of the bus lock's busy time spent handing it over between spinning waiters (their cache-line transfers), rather than holding it; 0 without a bus lock or with a queued lock.",
    from: 'lock.handoverNs / lock.busyNs',
    value: (r) => (r.lock && r.lock.busyNs > 0 ? r.lock.handoverNs / r.lock.busyNs : 0),
  },
  {
    id: 'workloadNs',
    label: 'Workload time',
    unit: 'ns',
    kind: 'ns',
    better: 'lower',
    meaning:
      'Simulated time from the start to the end of the last program step (the liveness phase after it not included).',
    from: 'workloadNs',
    value: (r) => r.workloadNs,
  },
  {
    id: 'messages',
    label: 'Messages',
    unit: 'messages',
    kind: 'count',
    better: null,
    meaning: 'Messages delivered in the whole run.',
    from: 'totals.messages',
    value: (r) => r.totals.messages,
  },
  {
    id: 'preemptions',
    label: 'Preemptions',
    unit: 'threads preempted',
    kind: 'count',
    better: 'lower',
    meaning:
      'Threads that lost their CPU before they were done with it (time slice, wake-up preemption, background load).',
    from: 'totals.preemptions',
    value: (r) => r.totals.preemptions ?? 0,
  },
];

const BY_ID = new Map(METRICS.map((m) => [m.id, m]));

export function metricIds(): string[] {
  return METRICS.map((m) => m.id);
}

/** The metric with this id, or undefined. */
export function findMetric(id: string): MetricDef | undefined {
  return BY_ID.get(id);
}

/** The metric with this id; throws naming the valid ids when there is none. */
export function metric(id: string): MetricDef {
  const m = BY_ID.get(id);
  if (!m) throw new Error(`no metric "${id}" (metrics: ${metricIds().join(', ')})`);
  return m;
}

/** An axis title: the label in words and the unit. */
export function metricAxisLabel(m: MetricDef): string {
  return `${m.label} (${m.unit})`;
}

/** A value of the metric as people read it: 1.86 us, 2.10M, 0.42, 37%. */
export function formatMetric(m: MetricDef, v: number): string {
  if (!Number.isFinite(v)) return '-';
  switch (m.kind) {
    case 'ns':
      return fmtNs(v);
    case 'rate':
      return fmtRate(v);
    case 'ratio':
      return v.toFixed(2);
    case 'fraction':
      return `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;
    case 'count':
      return fmtRate(v);
  }
}
