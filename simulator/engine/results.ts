// The results of a run, assembled from what the engine counted: totals, latency summary and
// CDF, per-message rates, outcomes, queue occupancy, monitor counts and the timeline.
import { formatSeed } from '../rng';
import type { PeerTimeline, SimResults } from '../types';
import type { Simulation } from './engine';
import { round } from './metrics';

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
        spans: (t.sched.spans ?? []).map(([a, b, s]) => [round(a), round(b), s] as [number, number, string]),
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

/** At most 200 points [ns, fraction] of the sorted samples' CDF. */
function latencyCdf(lat: Float64Array): [number, number][] {
  const cdf: [number, number][] = [];
  if (lat.length) {
    const n = Math.min(200, lat.length);
    for (let i = 0; i < n; i++) {
      const idx = Math.min(lat.length - 1, Math.floor(((i + 1) / n) * lat.length) - 1);
      cdf.push([round(lat[Math.max(0, idx)]), round((Math.max(0, idx) + 1) / lat.length, 4)]);
    }
  }
  return cdf;
}
