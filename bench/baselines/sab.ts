/**
 * Baselines 1 and 2: bare SharedArrayBuffer ping-pong and one-way ring stream between two worker
 * threads. The main thread only creates the buffer, starts the workers and collects results.
 */
import { BenchRecord, emptyRecord, Log, noLog, rttStats } from './common';
import { pingPongBytes, ringBytes } from './sab-core';
import type { PingResult, PongResult, StreamSideResult } from './sab-worker';
import { runWorkerGroup } from './workers';

let spinItersPerUs: number | undefined;

/** Spin-loop iterations per microsecond, calibrated once (in a worker) and cached. */
export async function getSpinItersPerUs(): Promise<number> {
  if (spinItersPerUs === undefined) {
    const [rate] = await runWorkerGroup<number>([{ entry: 'sab-worker', workerData: { role: 'calibrate' } }], 60_000);
    spinItersPerUs = rate;
  }
  return spinItersPerUs;
}

export interface SabPingPongOptions {
  /** Measured round trips (default 200k). */
  iterations?: number;
  /** Warm-up round trips through the same code (default 20k). */
  warmup?: number;
  /** Message size in bytes, multiple of 4, >= 4 (default 64). */
  msgSize?: number;
  /** Spin budget before Atomics.wait, in microseconds (0 = Atomics.wait only). Default 30. */
  spinUs?: number;
  /** Time every Nth round trip with process.hrtime.bigint() (default 4). */
  sampleEvery?: number;
  /** Stop the measured phase early after this many ms (default 7000). */
  maxMs?: number;
  log?: Log;
}

export async function sabPingPong(opts: SabPingPongOptions = {}): Promise<BenchRecord> {
  const iterations = opts.iterations ?? 200_000;
  const warmup = opts.warmup ?? 20_000;
  const msgSize = opts.msgSize ?? 64;
  const spinUs = opts.spinUs ?? 30;
  const sampleEvery = Math.max(1, Math.floor(opts.sampleEvery ?? 4));
  const maxMs = opts.maxMs ?? 7000;
  const log = opts.log ?? noLog;
  checkMsgSize(msgSize);
  const rate = spinUs > 0 ? await getSpinItersPerUs() : 0;
  const spinIters = Math.round(spinUs * rate);
  const sab = new SharedArrayBuffer(pingPongBytes(msgSize));
  const common = { sab, msgSize, spinIters, warmup };
  const [pong, ping] = (await runWorkerGroup<PongResult | PingResult>(
    [
      { entry: 'sab-worker', workerData: { role: 'pong', ...common } },
      { entry: 'sab-worker', workerData: { role: 'ping', ...common, iterations, sampleEvery, maxMs } },
    ],
    maxMs * 2 + 60_000,
  )) as [PongResult, PingResult];
  const { medianUs, p99Us } = rttStats(ping.samples, ping.nSamples);
  const rec = emptyRecord(
    'sab.pingpong',
    `${msgSize}B worker<->worker, ${spinUs > 0 ? `spin ${spinUs}us (${spinIters} iters) then wait` : 'spin 0 (Atomics.wait only)'}; rtt: hrtime every ${sampleEvery === 1 ? '' : ordinal(sampleEvery) + ' '}RT`,
  );
  rec.medianRttUs = medianUs;
  rec.p99RttUs = p99Us;
  rec.wakesPerMsg = ping.done > 0 ? (ping.wakes + pong.wakes) / (2 * ping.done) : null;
  rec.samples = ping.nSamples;
  log(
    `  sab.pingpong spin=${spinUs}us: ${ping.done} RTs in ${(ping.elapsedNs / 1e6).toFixed(0)} ms (mean ${(ping.elapsedNs / 1000 / Math.max(1, ping.done)).toFixed(2)} us incl. sampling), ` +
      `notifies ping/pong ${ping.notifies}/${pong.notifies}, woke ${ping.wakes}/${pong.wakes}` +
      (ping.done < iterations ? ` [stopped early at ${maxMs} ms]` : ''),
  );
  return rec;
}

export interface SabStreamOptions {
  /** Measured messages (default 1M for 64 B; callers pass ~16k for 64 KiB). */
  count?: number;
  /** Warm-up messages (default count/10). */
  warmup?: number;
  /** Message size, multiple of 4, >= 4 (default 64). */
  msgSize?: number;
  /** Spin budget before Atomics.wait, microseconds (default 0 = wait only). */
  spinUs?: number;
  /** Publish the head/tail index every N messages (default 1 = every message, unbatched). */
  publishEvery?: number;
  /** Ring data size in bytes; slot count is rounded down to a power of two, at least 8 (default 2 MiB). */
  ringBytes?: number;
  log?: Log;
}

export async function sabStream(opts: SabStreamOptions = {}): Promise<BenchRecord> {
  const msgSize = opts.msgSize ?? 64;
  const count = opts.count ?? 1_000_000;
  const warmup = opts.warmup ?? Math.max(1, Math.floor(count / 10));
  const spinUs = opts.spinUs ?? 0;
  const publishEvery = Math.max(1, Math.floor(opts.publishEvery ?? 1));
  const log = opts.log ?? noLog;
  checkMsgSize(msgSize);
  const slots = Math.max(8, 2 ** Math.floor(Math.log2(Math.max(1, (opts.ringBytes ?? 2 * 1024 * 1024) / msgSize))));
  if (publishEvery > slots) throw new Error('publishEvery must not exceed the slot count');
  const rate = spinUs > 0 ? await getSpinItersPerUs() : 0;
  const spinIters = Math.round(spinUs * rate);
  const sab = new SharedArrayBuffer(ringBytes(msgSize, slots));
  const common = { sab, msgSize, slots, spinIters, publishEvery, warmup, count };
  const [cons, prod] = await runWorkerGroup<StreamSideResult>(
    [
      { entry: 'sab-worker', workerData: { role: 'consumer', ...common } },
      { entry: 'sab-worker', workerData: { role: 'producer', ...common } },
    ],
    120_000,
  );
  if (cons.errors > 0) throw new Error(`sab stream: ${cons.errors} messages out of sequence`);
  const elapsedNs = Number(BigInt(cons.t) - BigInt(prod.t));
  const rec = emptyRecord(
    'sab.stream',
    `${sizeLabel(msgSize)} one-way worker->worker, ${spinUs > 0 ? `spin ${spinUs}us then wait` : 'wait only'}` +
      `${publishEvery > 1 ? `, index published every ${publishEvery}` : ''}, ${slots} slots`,
  );
  rec.msgsPerSec = (count * 1e9) / elapsedNs;
  rec.bytesPerSec = (count * msgSize * 1e9) / elapsedNs;
  rec.wakesPerMsg = (prod.wakes + cons.wakes) / count;
  rec.samples = count;
  log(
    `  sab.stream ${sizeLabel(msgSize)} spin=${spinUs}us batch=${publishEvery}: ${count} msgs in ${(elapsedNs / 1e6).toFixed(1)} ms; ` +
      `producer notified ${prod.notifies} (woke ${prod.wakes}), consumer notified ${cons.notifies} (woke ${cons.wakes})`,
  );
  return rec;
}

function checkMsgSize(msgSize: number): void {
  if (!Number.isInteger(msgSize) || msgSize < 4 || msgSize % 4 !== 0)
    throw new Error(`msgSize must be a multiple of 4 >= 4, got ${msgSize}`);
}

export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes}B`;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}
