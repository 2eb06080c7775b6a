// The summary table people read: one row per run, the metrics a design is judged by.
import type { SimResults } from './types';

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} us`;
  return `${ns.toFixed(0)} ns`;
}

export function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** An aligned text table; numeric columns right-aligned. */
export function textTable(header: string[], rows: string[][], leftColumns = 1): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface LabelledResults {
  label: string;
  results: SimResults;
}

/** The summary table: latency, throughput, wakes, syscalls, switches, CPU per message. */
export function summaryTable(runs: LabelledResults[]): string {
  const header = [
    'run',
    'p50',
    'p99',
    'p999',
    'msgs/s',
    'wakes/msg',
    'handoffs/msg',
    'syscalls/msg',
    'ctxsw/msg',
    'migrations',
    'CPU/msg',
  ];
  const rows = runs.map(({ label, results: r }) => [
    label,
    fmtNs(r.latency.p50Ns),
    fmtNs(r.latency.p99Ns),
    fmtNs(r.latency.p999Ns),
    fmtRate(r.messagesPerSec),
    r.wakesPerMessage.toFixed(2),
    r.handoffsPerMessage.toFixed(2),
    r.syscallsPerMessage.toFixed(2),
    r.contextSwitchesPerMessage.toFixed(2),
    String(r.totals.migrations),
    fmtNs(r.cpuNsPerMessage),
  ]);
  return textTable(header, rows);
}

/** Queue occupancy per sender (fairness of the per-sender quota, QUOTA-1). */
export function occupancyTable(r: SimResults, limit = 16): string {
  const rows = r.queueOccupancy
    .slice(0, limit)
    .map((o) => [o.receiver, o.sender, o.meanMessages.toFixed(2), String(o.maxMessages), String(o.enqueued)]);
  const more =
    r.queueOccupancy.length > limit ? `\n(${r.queueOccupancy.length - limit} more pairs in the JSON results)` : '';
  return textTable(['receiver', 'sender', 'mean queued', 'max queued', 'enqueued'], rows, 2) + more;
}

/** Everything about one run, as the CLI prints it. */
export function describeRun(r: SimResults): string {
  const outcomes =
    Object.entries(r.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  return [
    `scenario ${r.scenario} on ${r.transport}, ${r.cpus} CPUs, seed ${r.seed}`,
    `simulated ${fmtNs(r.simulatedNs)} (workload ${fmtNs(r.workloadNs)}); ${r.totals.operations} model operations, ${r.totals.messages} messages, ${r.totals.calls} calls`,
    '',
    summaryTable([{ label: r.transport, results: r }]),
    '',
    `latency samples ${r.latency.count}, mean ${fmtNs(r.latency.meanNs)}, max ${fmtNs(r.latency.maxNs)}; calls/s ${fmtRate(r.callsPerSec)}`,
    `totals: wakes ${r.totals.wakes}, hand-offs ${r.totals.handoffs}, syscalls ${r.totals.syscalls}, context switches ${r.totals.contextSwitches}, CPU busy ${fmtNs(r.totals.cpuBusyNs)} (spinning ${fmtNs(r.totals.spinNs)})`,
    `outcomes: ${outcomes}`,
    '',
    'queue occupancy per sender:',
    r.queueOccupancy.length ? occupancyTable(r) : '(no messages queued)',
    '',
    `monitors: ${r.monitors.checks} step checks, ${r.monitors.stateChecks} full state checks, ${r.monitors.violations.length} violations; liveness: ${r.liveness.ok ? 'ok' : 'FAILED'} (${r.liveness.detail})`,
    `engine: ${r.totals.events} events, ${r.totals.operations} model operations in ${r.performance.wallMs} ms = ${fmtRate(r.performance.eventsPerSec)} events/s (${fmtRate(r.performance.eventsPerCpuSec)} per CPU second)`,
  ].join('\n');
}
