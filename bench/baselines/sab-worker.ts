/**
 * Worker entry for the SharedArrayBuffer baselines. Runs synchronously from top-level code
 * through plain named functions (no await anywhere), then posts one { result } message.
 */
import { parentPort, workerData } from 'worker_threads';
import {
  calibrateSpinItersPerUs,
  consumeLoop,
  drainWait,
  makePingPongCtx,
  makeRingCtx,
  pingLoop,
  pongLoop,
  produceLoop,
} from './sab-core';

export type SabWorkerData =
  | {
      role: 'ping';
      sab: SharedArrayBuffer;
      msgSize: number;
      spinIters: number;
      warmup: number;
      iterations: number;
      sampleEvery: number;
      maxMs: number;
    }
  | { role: 'pong'; sab: SharedArrayBuffer; msgSize: number; spinIters: number; warmup: number }
  | {
      role: 'producer';
      sab: SharedArrayBuffer;
      msgSize: number;
      slots: number;
      spinIters: number;
      publishEvery: number;
      warmup: number;
      count: number;
    }
  | {
      role: 'consumer';
      sab: SharedArrayBuffer;
      msgSize: number;
      slots: number;
      spinIters: number;
      publishEvery: number;
      warmup: number;
      count: number;
    }
  | { role: 'calibrate' };

export interface PingResult {
  done: number;
  nSamples: number;
  samples: Float64Array;
  elapsedNs: number;
  notifies: number;
  wakes: number;
}
export interface PongResult {
  echoed: number;
  notifies: number;
  wakes: number;
}
export interface StreamSideResult {
  /** hrtime ns (as string, process-wide monotonic clock): producer start / consumer end. */
  t: string;
  notifies: number;
  wakes: number;
  errors: number;
}

function runPing(d: Extract<SabWorkerData, { role: 'ping' }>): PingResult {
  const c = makePingPongCtx(d.sab, d.msgSize, d.spinIters);
  const maxSamples = Math.ceil(Math.max(d.iterations, d.warmup) / Math.max(1, d.sampleEvery)) + 2;
  const samples = new Float64Array(maxSamples);
  const never = process.hrtime.bigint() + 3600n * 1_000_000_000n;
  let seq = 0;
  // Warm-up through the very same function (same JIT state as the measured run).
  const w = pingLoop(c, seq, d.warmup, d.sampleEvery, samples, never, false);
  seq += w.done;
  c.counters.notifies = 0;
  c.counters.wakes = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(d.maxMs * 1e6));
  const r = pingLoop(c, seq, d.iterations, d.sampleEvery, samples, deadline, true);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  return {
    done: r.done,
    nSamples: r.nSamples,
    samples,
    elapsedNs,
    notifies: c.counters.notifies,
    wakes: c.counters.wakes,
  };
}

function runPong(d: Extract<SabWorkerData, { role: 'pong' }>): PongResult {
  const c = makePingPongCtx(d.sab, d.msgSize, d.spinIters);
  const echoed = pongLoop(c, d.warmup);
  return { echoed, notifies: c.counters.notifies, wakes: c.counters.wakes };
}

function runProducer(d: Extract<SabWorkerData, { role: 'producer' }>): StreamSideResult {
  const c = makeRingCtx(d.sab, d.msgSize, d.slots, d.spinIters, d.publishEvery);
  produceLoop(c, d.warmup);
  drainWait(c);
  c.counters.notifies = 0;
  c.counters.wakes = 0;
  const t0 = process.hrtime.bigint();
  produceLoop(c, d.count);
  return { t: t0.toString(), notifies: c.counters.notifies, wakes: c.counters.wakes, errors: 0 };
}

function runConsumer(d: Extract<SabWorkerData, { role: 'consumer' }>): StreamSideResult {
  const c = makeRingCtx(d.sab, d.msgSize, d.slots, d.spinIters, d.publishEvery);
  consumeLoop(c, d.warmup);
  const warmErrors = c.errors;
  c.counters.notifies = 0;
  c.counters.wakes = 0;
  consumeLoop(c, d.count);
  const t1 = process.hrtime.bigint();
  return { t: t1.toString(), notifies: c.counters.notifies, wakes: c.counters.wakes, errors: c.errors + warmErrors };
}

function main(): void {
  const d = workerData as SabWorkerData;
  try {
    let result: unknown;
    switch (d.role) {
      case 'ping': {
        const r = runPing(d);
        parentPort!.postMessage({ result: r }, [r.samples.buffer as ArrayBuffer]);
        return;
      }
      case 'pong':
        result = runPong(d);
        break;
      case 'producer':
        result = runProducer(d);
        break;
      case 'consumer':
        result = runConsumer(d);
        break;
      case 'calibrate':
        result = calibrateSpinItersPerUs();
        break;
    }
    parentPort!.postMessage({ result });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}

main();
