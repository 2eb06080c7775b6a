// Calibration: fit a transport profile to measurements of this machine, and
// check how well the simulator then predicts them. Measurements come in as data
// (the simulator does not import the benches: `tessera calibrate` runs them).
//
// What is fitted, in rounds: (1) the per-message costs, scaled together so the
// simulated one-way stream matches the measured one; (2) when the CPU time of a
// round trip was measured, the CPU of the wake-up path (context switch, the
// waker's share, going to sleep) so the simulated round trip burns as much CPU;
// (3) the wake-up latency (or, for a spinning transport, the spin observe delay)
// so the simulated round trip takes as long. (2) is what splits a round trip
// into CPU work and off-CPU waiting, which a pool of clients shares very
// differently. What is not fitted: the RPC-pool throughput, which is then an
// out-of-sample check of the model (when a measurement exists).
import type { Profile, Scenario } from './types';
import { runScenario } from './run';
import { textTable } from './report';

/** What was measured for one transport, on this machine. */
export interface Measurement {
  transport: string;
  /** Median call/reply (or ping-pong) round trip, 64-byte messages. */
  rttNs: number | null;
  /** One-way stream of 64-byte messages, one receiver. */
  oneWayMsgsPerSec: number | null;
  /** CPU time (user + system, both sides) one call/reply round trip costs, when measured. */
  cpuNsPerRoundTrip?: number | null;
  /** RPC pool: calls per second with `rpcPool` clients and server threads. */
  rpcPoolCallsPerSec?: number | null;
  rpcPool?: { clients: number; serverThreads: number };
  /** Where each number comes from (bench record names and variants). */
  sources: string[];
}

export interface Prediction {
  rttNs: number;
  oneWayMsgsPerSec: number;
  rpcPoolCallsPerSec: number;
  /** CPU busy time of the simulated ping-pong per round trip (both sides). */
  cpuNsPerRoundTrip: number;
}

const SEED = '0xca1';

export function pingpongScenario(rounds = 3000): Scenario {
  return { name: 'calibration-pingpong', description: 'calibration: 64 B call/reply round trips', cpus: 2, workload: { kind: 'pingpong', mode: 'call', rounds, payloadBytes: 64 } };
}

export function streamScenario(messages = 20000): Scenario {
  return {
    name: 'calibration-stream', description: 'calibration: one-way stream of 64 B messages', cpus: 2,
    limits: { queueCapacityMessages: 1024, senderQuotaMessages: 1024 },
    workload: { kind: 'backpressure', producers: 1, messagesPerProducer: messages, payloadBytes: 64, consumerServiceNs: 0, sendTimeoutMs: 1000 },
  };
}

export function rpcPoolScenario(clients = 4, serverThreads = 1, calls = 1000): Scenario {
  return { name: 'calibration-rpc-pool', description: 'calibration: RPC pool', cpus: 2, workload: { kind: 'rpc-pool', clients, serverThreads, callsPerClient: calls, payloadBytes: 64 } };
}

/** The pool shape of both RPC-pool benches (C epoll server, Node event loop, shm bench): one server thread. */
export const DEFAULT_POOL = { clients: 4, serverThreads: 1 };

/** The simulator's predictions for the three calibration workloads. */
export function predict(profile: Profile, pool = DEFAULT_POOL, quick = false): Prediction {
  const run = (s: Scenario) => {
    const out = runScenario({ scenario: s, profile, seed: SEED });
    if (out.failure) throw new Error(`calibration run ${s.name} on ${profile.name} failed: ${out.failure.message}`);
    return out.results;
  };
  const pp = run(pingpongScenario(quick ? 1000 : 3000));
  const st = run(streamScenario(quick ? 5000 : 20000));
  const rp = run(rpcPoolScenario(pool.clients, pool.serverThreads, quick ? 300 : 1000));
  return {
    rttNs: pp.latency.p50Ns, oneWayMsgsPerSec: st.messagesPerSec, rpcPoolCallsPerSec: rp.callsPerSec,
    cpuNsPerRoundTrip: Math.round(pp.totals.cpuBusyNs / Math.max(1, pp.totals.calls)),
  };
}

/** The costs paid once per message (scaled together by the stream fit). */
function perMessageCosts(p: Profile) {
  return [p.ops.send.cpu, p.ops.call.cpu, p.ops.reply.cpu, p.ops.receive.cpu, p.ops.receivePerMessage];
}

/**
 * Fit step 1: scale the per-message costs so the simulated one-way stream moves to the measured
 * one. Damped (exponent 0.8): the stream and the round trip share costs. Returns the factor.
 * Costs are whole nanoseconds with floors (10 ns per op, 5 ns per delivery).
 */
export function scaleToStream(p: Profile, measuredMsgsPerSec: number, predictedMsgsPerSec: number): number {
  const f = Math.pow(predictedMsgsPerSec / measuredMsgsPerSec, 0.8);
  for (const o of [p.ops.send, p.ops.call, p.ops.reply, p.ops.receive]) o.cpu.ns = Math.max(10, Math.round(o.cpu.ns * f));
  p.ops.receivePerMessage.ns = Math.max(5, Math.round(p.ops.receivePerMessage.ns * f));
  return f;
}

/** The CPU costs of the wake-up path: a round trip pays each about twice (two wakes, two sleeps, two switches in). */
function wakePathCosts(p: Profile) {
  return [p.scheduler.contextSwitch, p.wake.waker, p.wake.sleep];
}

/**
 * Fit step 2: spread half the gap between the measured and the simulated CPU time of a round
 * trip over the wake-up path's CPU costs, in proportion to them (floor 50 ns each). Returns the
 * new context switch cost.
 */
export function matchRoundTripCpu(p: Profile, measuredCpuNs: number, predictedCpuNs: number): number {
  const costs = wakePathCosts(p);
  const total = costs.reduce((a, c) => a + c.ns, 0);
  const gap = (measuredCpuNs - predictedCpuNs) / 2;
  for (const c of costs) c.ns = Math.max(50, Math.round(c.ns + (total > 0 ? (gap * c.ns) / total : gap / costs.length)));
  return p.scheduler.contextSwitch.ns;
}

/**
 * Fit step 3: move the wake-up latency (a sleeping transport) or the spin observe delay (a
 * spinning one) by half the round-trip gap: a round trip has two one-way trips. Floors: 200 ns
 * wake latency, 20 ns observe delay. Returns the new value.
 */
export function moveToRoundTrip(p: Profile, measuredRttNs: number, predictedRttNs: number): number {
  const gap = (measuredRttNs - predictedRttNs) / 2;
  if (p.spin.budget.ns > 0) return (p.wake.spinObserve.ns = Math.max(20, Math.round(p.wake.spinObserve.ns + gap)));
  return (p.wake.latency.ns = Math.max(200, Math.round(p.wake.latency.ns + gap)));
}

/**
 * Fit a profile to measurements: a few rounds of (1) scaling the per-message costs to the
 * one-way stream, (2) matching the round trip's CPU time with the wake-up path's CPU costs (when
 * measured), (3) moving the wake-up latency (or the spin observe delay) to the round trip.
 * The RPC pool is not fitted: its prediction is the out-of-sample check. Deterministic (one seed).
 * `predictor` is for tests (a stand-in for the simulator with known answers).
 */
export function fitProfile(
  base: Profile, m: Measurement, label: string, rounds = 5,
  predictor: (p: Profile, pool: { clients: number; serverThreads: number }, quick: boolean) => Prediction = predict,
): { profile: Profile; prediction: Prediction } {
  const p: Profile = structuredClone(base);
  const pool = m.rpcPool ?? DEFAULT_POOL;
  const spinning = p.spin.budget.ns > 0;
  for (let i = 0; i < rounds; i++) {
    if (m.oneWayMsgsPerSec) {
      const pred = predictor(p, pool, true);
      if (pred.oneWayMsgsPerSec > 0) scaleToStream(p, m.oneWayMsgsPerSec, pred.oneWayMsgsPerSec);
    }
    if (m.cpuNsPerRoundTrip) matchRoundTripCpu(p, m.cpuNsPerRoundTrip, predictor(p, pool, true).cpuNsPerRoundTrip);
    if (m.rttNs) moveToRoundTrip(p, m.rttNs, predictor(p, pool, true).rttNs);
  }
  const note = `calibrated (${label}): fitted to ${m.sources.join('; ')}`;
  if (m.oneWayMsgsPerSec) for (const c of perMessageCosts(p)) c.source = `${note}; per-message costs scaled together to the one-way stream`;
  if (m.cpuNsPerRoundTrip) for (const c of wakePathCosts(p)) c.source = `${note}; the wake-up path's CPU costs scaled together to the round trip's CPU time`;
  if (m.rttNs) {
    if (spinning) p.wake.spinObserve.source = `${note}; set so the round trip matches`;
    else p.wake.latency.source = `${note}; set so the round trip matches`;
  }
  p.description = `${base.description} [${note}]`;
  return { profile: p, prediction: predictor(p, pool, false) };
}

export interface CheckRow {
  transport: string;
  metric: string;
  measured: number | null;
  predicted: number;
  /** (predicted - measured) / measured; null when not measured. */
  error: number | null;
  ok: boolean | null;
}

/** Predicted vs measured, within `tolerance` (25% by default). */
export function checkPredictions(m: Measurement, pred: Prediction, tolerance = 0.25): CheckRow[] {
  const row = (metric: string, measured: number | null | undefined, predicted: number): CheckRow => {
    const err = measured ? (predicted - measured) / measured : null;
    return { transport: m.transport, metric, measured: measured ?? null, predicted, error: err, ok: err === null ? null : Math.abs(err) <= tolerance };
  };
  return [
    row('call/reply round trip (ns)', m.rttNs, pred.rttNs),
    ...(m.cpuNsPerRoundTrip ? [row('CPU per round trip (ns)', m.cpuNsPerRoundTrip, pred.cpuNsPerRoundTrip)] : []),
    row('one-way msgs/s', m.oneWayMsgsPerSec, pred.oneWayMsgsPerSec),
    row(`RPC pool calls/s (${(m.rpcPool ?? DEFAULT_POOL).clients} clients, ${(m.rpcPool ?? DEFAULT_POOL).serverThreads} server thread${(m.rpcPool ?? DEFAULT_POOL).serverThreads > 1 ? 's' : ''})`, m.rpcPoolCallsPerSec, pred.rpcPoolCallsPerSec),
  ];
}

export function checkTable(rows: CheckRow[]): string {
  return textTable(['transport', 'metric', 'measured', 'predicted', 'error', 'within 25%'], rows.map((r) => [
    r.transport, r.metric, r.measured === null ? 'not measured' : r.measured.toFixed(0), r.predicted.toFixed(0),
    r.error === null ? '-' : `${(r.error * 100).toFixed(1)}%`, r.ok === null ? '-' : r.ok ? 'yes' : 'NO',
  ]), 2);
}
