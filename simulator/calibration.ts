// Calibration: fit a transport profile to measurements of this machine, and
// check how well the simulator then predicts them. Measurements come in as data
// (the simulator does not import the benches: `tessera calibrate` runs them).
//
// What is fitted: the per-message costs (scaled together so the simulated
// one-way stream matches the measured one) and the wake-up latency (or, for a
// spinning transport, the spin observe delay) so the simulated round trip
// matches. What is not fitted: the RPC-pool throughput, which is then an
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

export function rpcPoolScenario(clients = 4, serverThreads = 2, calls = 1000): Scenario {
  return { name: 'calibration-rpc-pool', description: 'calibration: RPC pool', cpus: 2, workload: { kind: 'rpc-pool', clients, serverThreads, callsPerClient: calls, payloadBytes: 64 } };
}

/** The simulator's predictions for the three calibration workloads. */
export function predict(profile: Profile, pool = { clients: 4, serverThreads: 2 }, quick = false): Prediction {
  const run = (s: Scenario) => {
    const out = runScenario({ scenario: s, profile, seed: SEED });
    if (out.failure) throw new Error(`calibration run ${s.name} on ${profile.name} failed: ${out.failure.message}`);
    return out.results;
  };
  const pp = run(pingpongScenario(quick ? 1000 : 3000));
  const st = run(streamScenario(quick ? 5000 : 20000));
  const rp = run(rpcPoolScenario(pool.clients, pool.serverThreads, quick ? 300 : 1000));
  return { rttNs: pp.latency.p50Ns, oneWayMsgsPerSec: st.messagesPerSec, rpcPoolCallsPerSec: rp.callsPerSec };
}

function scaleCosts(p: Profile, f: number): void {
  for (const o of [p.ops.send, p.ops.call, p.ops.reply, p.ops.receive]) o.cpu.ns = Math.max(10, Math.round(o.cpu.ns * f));
  p.ops.receivePerMessage.ns = Math.max(5, Math.round(p.ops.receivePerMessage.ns * f));
}

/**
 * Fit a profile to measurements: a few rounds of (1) scaling the per-message costs to the
 * one-way stream, (2) moving the wake-up latency (or the spin observe delay) to the round trip.
 */
export function fitProfile(base: Profile, m: Measurement, label: string, rounds = 5): { profile: Profile; prediction: Prediction } {
  const p: Profile = structuredClone(base);
  const spinning = p.spin.budget.ns > 0;
  for (let i = 0; i < rounds; i++) {
    const pred = predict(p, m.rpcPool, true);
    if (m.oneWayMsgsPerSec && pred.oneWayMsgsPerSec > 0) {
      // Damped: the stream and the round trip share costs.
      scaleCosts(p, Math.pow(pred.oneWayMsgsPerSec / m.oneWayMsgsPerSec, 0.8));
    }
    const pred2 = predict(p, m.rpcPool, true);
    if (m.rttNs) {
      const gap = (m.rttNs - pred2.rttNs) / 2; // two one-way trips per round trip
      if (spinning) p.wake.spinObserve.ns = Math.max(20, Math.round(p.wake.spinObserve.ns + gap));
      else p.wake.latency.ns = Math.max(200, Math.round(p.wake.latency.ns + gap));
    }
  }
  const note = `calibrated (${label}): fitted to ${m.sources.join('; ')}`;
  for (const c of [p.ops.send.cpu, p.ops.call.cpu, p.ops.reply.cpu, p.ops.receive.cpu, p.ops.receivePerMessage]) c.source = `${note}; per-message costs scaled together to the one-way stream`;
  if (spinning) p.wake.spinObserve.source = `${note}; set so the round trip matches`;
  else p.wake.latency.source = `${note}; set so the round trip matches`;
  p.description = `${base.description} [${note}]`;
  return { profile: p, prediction: predict(p, m.rpcPool) };
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
    row('one-way msgs/s', m.oneWayMsgsPerSec, pred.oneWayMsgsPerSec),
    row(`RPC pool calls/s (${m.rpcPool?.clients ?? 4} clients, ${m.rpcPool?.serverThreads ?? 2} threads)`, m.rpcPoolCallsPerSec, pred.rpcPoolCallsPerSec),
  ];
}

export function checkTable(rows: CheckRow[]): string {
  return textTable(['transport', 'metric', 'measured', 'predicted', 'error', 'within 25%'], rows.map((r) => [
    r.transport, r.metric, r.measured === null ? 'not measured' : r.measured.toFixed(0), r.predicted.toFixed(0),
    r.error === null ? '-' : `${(r.error * 100).toFixed(1)}%`, r.ok === null ? '-' : r.ok ? 'yes' : 'NO',
  ]), 2);
}
