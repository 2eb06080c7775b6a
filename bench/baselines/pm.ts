/**
 * Baseline 3: worker_threads postMessage. Ping-pong main<->worker (parentPort) and
 * worker<->worker (MessageChannel), and a one-way worker->worker stream with credit-based flow
 * control.
 */
import { MessageChannel, Worker } from 'worker_threads';
import { BenchRecord, emptyRecord, Log, noLog, PingPongClock, rttStats, siblingEntry } from './common';
import type { PmPingResult } from './pm-worker';
import { sizeLabel } from './sab';
import { runWorkerGroup } from './workers';

export interface PmPingPongOptions {
  /** Measured round trips (default 100k). */
  iterations?: number;
  /** Warm-up round trips (default 10k). */
  warmup?: number;
  msgSize?: number;
  /** "main" = main thread <-> worker over parentPort; "worker" = two workers over a MessageChannel. */
  between?: 'main' | 'worker';
  /** Stop the measured phase early after this many ms (default 7000). */
  maxMs?: number;
  log?: Log;
}

export async function pmPingPong(opts: PmPingPongOptions = {}): Promise<BenchRecord> {
  const iterations = opts.iterations ?? 100_000;
  const warmup = opts.warmup ?? 10_000;
  const msgSize = opts.msgSize ?? 64;
  const between = opts.between ?? 'worker';
  const maxMs = opts.maxMs ?? 7000;
  const log = opts.log ?? noLog;
  let r: PmPingResult;
  if (between === 'main') {
    r = await mainPing(msgSize, warmup, iterations, maxMs);
  } else {
    const { port1, port2 } = new MessageChannel();
    const [, ping] = await runWorkerGroup<unknown>(
      [
        { entry: 'pm-worker', workerData: { role: 'echo-port', port: port2 }, transferList: [port2] },
        {
          entry: 'pm-worker',
          workerData: { role: 'ping-port', port: port1, msgSize, warmup, iterations, maxMs },
          transferList: [port1],
        },
      ],
      maxMs * 2 + 60_000,
    );
    r = ping as PmPingResult;
  }
  const { medianUs, p99Us } = rttStats(r.samples, r.done);
  const rec = emptyRecord(
    'pm.pingpong',
    `${sizeLabel(msgSize)} ${between === 'main' ? 'main<->worker (parentPort)' : 'worker<->worker (MessageChannel)'}, Uint8Array cloned; rtt: hrtime every RT`,
  );
  rec.medianRttUs = medianUs;
  rec.p99RttUs = p99Us;
  rec.samples = r.done;
  log(
    `  pm.pingpong ${between}: ${r.done} RTs in ${(r.elapsedNs / 1e6).toFixed(0)} ms${r.done < iterations ? ` [stopped early at ${maxMs} ms]` : ''}`,
  );
  return rec;
}

/** Main thread pings a worker that echoes on parentPort. */
function mainPing(msgSize: number, warmup: number, iterations: number, maxMs: number): Promise<PmPingResult> {
  return new Promise<PmPingResult>((resolve, reject) => {
    const { file, execArgv } = siblingEntry(__dirname, 'pm-worker');
    const w = new Worker(file, { workerData: { role: 'echo-parent' }, execArgv });
    const payload = new Uint8Array(msgSize).fill(7);
    const clock = new PingPongClock(warmup, iterations, maxMs);
    let finished: PmPingResult | undefined;
    const timer = setTimeout(
      () => {
        void w.terminate();
        reject(new Error('pm main ping timed out'));
      },
      maxMs * 2 + 60_000,
    );
    w.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    w.on('exit', () => {
      clearTimeout(timer);
      if (finished) resolve(finished);
      else reject(new Error('pm echo worker exited early'));
    });
    w.on('message', function onMainPong(m: Uint8Array | { result?: unknown; error?: string }) {
      if (finished) return; // the echo worker's final { result }
      if (!(m instanceof Uint8Array)) return reject(new Error(`pm echo worker: ${JSON.stringify(m)}`));
      if (clock.pong()) {
        clock.ping();
        w.postMessage(payload);
        return;
      }
      finished = clock.result();
      w.postMessage(null);
    });
    w.once('online', () => {
      clock.ping();
      w.postMessage(payload);
    });
  });
}

export interface PmStreamOptions {
  /** Measured messages (default 1M; ~16k for 64 KiB). */
  count?: number;
  /** Warm-up messages (default count/10). */
  warmup?: number;
  msgSize?: number;
  /** Bytes allowed in flight (unacknowledged); default 4 MiB, clamped to 16..4096 messages. */
  windowBytes?: number;
  /** The producer stops early after this many ms of the measured phase (default 7000). */
  maxMs?: number;
  log?: Log;
}

export async function pmStream(opts: PmStreamOptions = {}): Promise<BenchRecord> {
  const msgSize = opts.msgSize ?? 64;
  const count = opts.count ?? 1_000_000;
  const warmup = opts.warmup ?? Math.max(1, Math.floor(count / 10));
  const log = opts.log ?? noLog;
  const maxMs = opts.maxMs ?? 7000;
  const window = Math.max(16, Math.min(4096, Math.floor((opts.windowBytes ?? 4 * 1024 * 1024) / msgSize)));
  const ackEvery = Math.max(1, Math.floor(window / 4));
  const { port1, port2 } = new MessageChannel();
  const [cons, prod] = (await runWorkerGroup<unknown>(
    [
      {
        entry: 'pm-worker',
        workerData: { role: 'consumer', port: port2, msgSize, warmup, ackEvery },
        transferList: [port2],
      },
      {
        entry: 'pm-worker',
        workerData: { role: 'producer', port: port1, msgSize, warmup, count, window, maxMs },
        transferList: [port1],
      },
    ],
    180_000,
  )) as [
    { t: string; received: number; bytes: number; bad: number },
    { t: string; sent: number; consumerCount: number },
  ];
  if (cons.bad > 0) throw new Error(`pm stream: ${cons.bad} bad messages`);
  if (cons.received !== prod.sent) throw new Error(`pm stream: sent ${prod.sent}, received ${cons.received}`);
  const n = prod.sent;
  const elapsedNs = Number(BigInt(cons.t) - BigInt(prod.t));
  const rec = emptyRecord(
    'pm.stream',
    `${sizeLabel(msgSize)} one-way worker->worker (MessageChannel), window ${window} msgs, ack every ${ackEvery}`,
  );
  rec.msgsPerSec = (n * 1e9) / elapsedNs;
  rec.bytesPerSec = (n * msgSize * 1e9) / elapsedNs;
  rec.samples = n;
  log(
    `  pm.stream ${sizeLabel(msgSize)}: ${n} msgs in ${(elapsedNs / 1e6).toFixed(1)} ms${n < count ? ` [stopped early at ${maxMs} ms]` : ''}`,
  );
  return rec;
}
