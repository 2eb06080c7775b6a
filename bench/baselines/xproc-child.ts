/**
 * A process of the cross-process SAB baselines (forked from the compiled xproc-child.js): maps
 * the memfd inherited as fd 4, takes its role from the first IPC message, runs it (blocking in
 * the futex, except 'pong-async'), and sends one { result } (or { error }) back.
 */
import { mapSegment, processWaiting } from '../../native';
import {
  makeXPingPong,
  makeXRing,
  xConsume,
  xDrain,
  xPingLoop,
  xPongLoop,
  xPongLoopAsync,
  xProduce,
  type XCounters,
} from './xproc-core';

export type XChildTask =
  | {
      role: 'ping';
      msgSize: number;
      spinIters: number;
      warmup: number;
      iterations: number;
      sampleEvery: number;
      maxMs: number;
      /** Busy work per side between taking a message and answering it, ns (default 0). */
      workNs?: number;
      /** When > 0, spin this long in the addon's loop instead of spinIters loads (default 0). */
      nativeSpinMs?: number;
    }
  | {
      role: 'pong' | 'pong-async';
      msgSize: number;
      spinIters: number;
      warmup: number;
      workNs?: number;
      nativeSpinMs?: number;
    }
  | {
      role: 'producer' | 'consumer';
      msgSize: number;
      slots: number;
      spinIters: number;
      warmup: number;
      count: number;
      maxMs: number;
    };

export interface XPingResult extends XCounters {
  done: number;
  samples: number[];
  elapsedNs: number;
}
export interface XStreamResult extends XCounters {
  /** hrtime (CLOCK_MONOTONIC, the same in every process), ns: producer start / consumer end. */
  t: string;
  /** Messages of the measured phase (fewer than asked when the producer stopped at maxMs). */
  messages: number;
  errors: number;
}

const FD = 4;

function ping(t: Extract<XChildTask, { role: 'ping' }>, sab: SharedArrayBuffer): XPingResult {
  const p = makeXPingPong(processWaiting, sab, t.msgSize, t.spinIters, t.workNs, t.nativeSpinMs);
  const samples = new Float64Array(Math.ceil(Math.max(t.iterations, t.warmup) / t.sampleEvery) + 2);
  const never = process.hrtime.bigint() + 3600n * 1_000_000_000n;
  const w = xPingLoop(p, 0, t.warmup, t.sampleEvery, samples, never, false);
  p.c = { notifies: 0, wakes: 0, sleeps: 0 };
  const t0 = process.hrtime.bigint();
  const r = xPingLoop(p, w.done, t.iterations, t.sampleEvery, samples, t0 + BigInt(t.maxMs * 1e6), true);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  return { done: r.done, samples: Array.from(samples.subarray(0, r.nSamples)), elapsedNs, ...p.c };
}

function stream(t: Extract<XChildTask, { role: 'producer' | 'consumer' }>, sab: SharedArrayBuffer): XStreamResult {
  const r = makeXRing(processWaiting, sab, t.msgSize, t.slots, t.spinIters);
  if (t.role === 'producer') {
    xProduce(r, t.warmup);
    xDrain(r);
    r.c = { notifies: 0, wakes: 0, sleeps: 0 };
    const t0 = process.hrtime.bigint();
    const messages = xProduce(r, t.count, t0 + BigInt(t.maxMs * 1e6));
    return { t: t0.toString(), messages, errors: 0, ...r.c };
  }
  xConsume(r, t.warmup);
  r.c = { notifies: 0, wakes: 0, sleeps: 0 };
  const messages = xConsume(r, t.count);
  return { t: process.hrtime.bigint().toString(), messages, errors: r.errors, ...r.c };
}

async function run(t: XChildTask): Promise<unknown> {
  const sab = mapSegment(FD);
  switch (t.role) {
    case 'ping':
      return ping(t, sab);
    case 'pong': {
      const p = makeXPingPong(processWaiting, sab, t.msgSize, t.spinIters, t.workNs, t.nativeSpinMs);
      const echoed = xPongLoop(p, t.warmup);
      return { echoed, ...p.c };
    }
    case 'pong-async': {
      const p = makeXPingPong(processWaiting, sab, t.msgSize, 0);
      const echoed = await xPongLoopAsync(p, t.warmup);
      return { echoed, ...p.c };
    }
    default:
      return stream(t, sab);
  }
}

process.once('message', (t: XChildTask) => {
  run(t).then(
    (result) => process.send!({ result }),
    (e: unknown) => process.send!({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
