// The results of a run, assembled from what the engine counted: totals, latency summary and
// CDF, per-message rates, outcomes, queue occupancy, monitor counts and the timeline.
import { formatSeed } from '../rng';
import type { LockTotals, PeerTimeline, SimResults } from '../types';
import type { Simulation } from './engine';
import type { LockCounts } from './lock';
import { round } from './metrics';

function lockTotals(c: LockCounts): LockTotals {
  return {
    acquisitions: c.acquisitions,
    contended: c.contended,
    waitNs: round(c.waitNs),
    spinNs: round(c.spinNs),
    busyNs: round(c.busyNs),
    handoverNs: round(c.handoverNs),
  };
}

export function buildResults(sim: Simulation, seed: bigint): SimResults {
  const M = sim.metrics;
  const lat = M.sortedLatency();
  const pct = (q: number) =>
    lat.length ? lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(q * lat.length) - 1))] : 0;
  let sum = 0;
  for (const x of lat) sum += x;
  const nameOf = (id: number) => sim.byModelPeer.get(id)?.name ?? `peer${id}`;
  const m = Math.max(1, M.messages);
  const T = sim.workloadEndNs;
  const timeline: PeerTimeline[] | undefined = sim.timelineOn
    ? sim.threads.map((t) => ({
        thread: t.name,
        spans: roundSpans(t.sched.spans ?? []),
      }))
    : undefined;
  const monitors = sim.door.monitors;
  return {
    scenario: sim.scenario.name,
    transport: sim.profile.name,
    seed: formatSeed(seed),
    cpus: sim.scheduler.cpus.length,
    simulatedNs: round(sim.now),
    workloadNs: round(T),
    totals: {
      events: sim.events,
      operations: M.operations,
      messages: M.messages,
      calls: M.calls,
      wakes: M.wakes,
      handoffs: M.handoffs,
      syscalls: M.syscalls,
      contextSwitches: M.contextSwitches,
      migrations: M.migrations,
      ...(M.preemptions > 0 ? { preemptions: M.preemptions } : {}),
      cpuBusyNs: round(M.busyNs),
      spinNs: round(M.spinNs),
    },
    ...(sim.lock ? { lock: lockTotals(sim.lock.counts) } : {}),
    latency: {
      count: lat.length,
      p50Ns: round(pct(0.5)),
      p99Ns: round(pct(0.99)),
      p999Ns: round(pct(0.999)),
      meanNs: round(lat.length ? sum / lat.length : 0),
      maxNs: round(lat.length ? lat[lat.length - 1] : 0),
    },
    messagesPerSec: round(T > 0 ? (M.messages / T) * 1e9 : 0),
    callsPerSec: round(T > 0 ? (M.calls / T) * 1e9 : 0),
    wakesPerMessage: round(M.wakes / m, 4),
    handoffsPerMessage: round(M.handoffs / m, 4),
    syscallsPerMessage: round(M.syscalls / m, 4),
    contextSwitchesPerMessage: round(M.contextSwitches / m, 4),
    cpuNsPerMessage: round((M.busyNs - M.computeNs) / m),
    outcomes: M.outcomeCounts(),
    queueOccupancy: sim.door.occupancy.report(T, nameOf),
    monitors: { checks: monitors.checks, stateChecks: monitors.stateChecks, violations: [] },
    liveness: { ok: true, detail: 'every call resolved; all peers closed; nothing left' },
    latencyCdf: latencyCdf(lat),
    ...(timeline ? { timeline } : {}),
    performance: { wallMs: 0, eventsPerSec: 0, eventsPerCpuSec: 0, operationsPerSec: 0 },
    hash: '',
  };
}

/** Spans to 0.1 ns; one that rounds to nothing is dropped. */
function roundSpans(spans: [number, number, string][]): [number, number, string][] {
  const out: [number, number, string][] = [];
  for (const [a, b, s] of spans) {
    const ra = round(a),
      rb = round(b);
    if (rb > ra) out.push([ra, rb, s]);
  }
  return out;
}

/**
 * Points [ns, fraction at or below] of the sorted samples' CDF: one per percent, then ten per
 * decade of the tail (1 - 10^-2.1, 1 - 10^-2.2, ... while a sample is left beyond), and the
 * largest sample; at most ~170 points for 10^7 samples. The q-quantile is the smallest sample
 * with at least q of them at or below it (as the p50/p99/p999 of the summary).
 */
function latencyCdf(lat: Float64Array): [number, number][] {
  const n = lat.length;
  if (n === 0) return [];
  const ranks = new Set<number>();
  const steps = Math.min(100, n);
  for (let i = 1; i <= steps; i++) ranks.add(Math.ceil((i / steps) * n) - 1);
  for (let k = 21; 10 ** (-k / 10) * n >= 1; k++) ranks.add(Math.min(n - 1, Math.ceil((1 - 10 ** (-k / 10)) * n) - 1));
  ranks.add(n - 1);
  return [...ranks]
    .sort((a, b) => a - b)
    .map((idx) => [round(lat[Math.max(0, idx)]), round((Math.max(0, idx) + 1) / n, 7)]);
}
