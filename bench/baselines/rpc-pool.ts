/**
 * Baseline: an RPC pool over AF_UNIX. One server, `clients` client processes (default 4), each with
 * its own socket to the server; every client makes closed-loop calls (write a request, read the
 * reply) and times each round trip. Reported: calls per second over the window in which every
 * client was measuring (`msgsPerSec`, one call = request + reply), and the median and p99 round
 * trip over all clients; the `...Run` functions also give the CPU time (user + system, server and
 * clients together) per call. With one client it is a plain ping-pong, which is how the
 * calibration learns how much of a round trip is CPU work.
 *
 *   cRpcPool    C: the server process waits in epoll_wait over one socketpair per client and
 *               answers one request per ready socket in turn (bench/c/ipc_bench.c, mode rpcpool).
 *   netRpcPool  Node: the server is this process's event loop (net over a Unix socket path), the
 *               clients are forked rpc-pool-child.js processes; 4-byte length-prefixed frames.
 *
 * The simulator's calibration uses these as the out-of-sample RPC-pool check of the af_unix
 * profile (`tessera calibrate`): the profile is fitted on the round trip (its time and, from the
 * one-client run, its CPU) and the stream only.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { buildCBench, runC } from './c';
import { BenchRecord, emptyRecord, Log, noLog, rttStats, siblingEntry, skippedRecord } from './common';
import { FrameReader } from './frames';
import { sizeLabel } from './sab';

export interface RpcPoolOptions {
  /** Client processes (default 4). */
  clients?: number;
  /** Measured calls per client (default 50k). */
  iterations?: number;
  /** Warm-up calls per client (default 5k). */
  warmup?: number;
  msgSize?: number;
  /** Cap on the measured phase in ms (default 7000). */
  maxMs?: number;
  /** Compiler candidates (C only) instead of $CC, cc, gcc, clang. */
  compilers?: string[];
  log?: Log;
}

/** The shape of the pool, as the simulator's calibration reads it from the variant text. */
export function rpcPoolShape(clients: number): string {
  return `${clients} client${clients === 1 ? '' : 's'}, 1 server thread`;
}

/** A pool run: the record, and the CPU time per call (null when it could not be measured). */
export interface RpcPoolRun {
  record: BenchRecord;
  cpuUsPerCall: number | null;
}

interface CPoolResult {
  median_us: number | null;
  p99_us: number | null;
  msgs_per_sec: number | null;
  bytes_per_sec: number | null;
  samples: number;
  window_ms?: number;
  ready_per_wait?: number;
  cpu_us_per_call?: number;
}

export async function cRpcPool(opts: RpcPoolOptions = {}): Promise<BenchRecord> {
  return (await cRpcPoolRun(opts)).record;
}

export async function cRpcPoolRun(opts: RpcPoolOptions = {}): Promise<RpcPoolRun> {
  const clients = opts.clients ?? 4;
  const msgSize = opts.msgSize ?? 64;
  const log = opts.log ?? noLog;
  const server = clients === 1 ? 'C, plain read/write: the ping-pong' : 'C, epoll';
  const variant = `${sizeLabel(msgSize)} call/reply, ${rpcPoolShape(clients)} (${server}), one AF_UNIX socketpair per client process; rtt: clock_gettime every call`;
  const b = buildCBench(opts.compilers, log);
  if ('skipped' in b) {
    log(`  c.rpcpool: skipped (${b.skipped})`);
    return { record: skippedRecord('c.rpcpool', variant, b.skipped), cpuUsPerCall: null };
  }
  const maxMs = opts.maxMs ?? 7000;
  const args = [
    'rpcpool',
    String(opts.warmup ?? 5_000),
    String(opts.iterations ?? 50_000),
    String(msgSize),
    String(clients),
  ];
  const r = await runC<CPoolResult>(b.binary, args, maxMs);
  const rec = emptyRecord(
    'c.rpcpool',
    variant +
      (clients > 1 && r.ready_per_wait !== undefined
        ? `; ${r.ready_per_wait.toFixed(2)} ready sockets per epoll_wait`
        : ''),
  );
  rec.medianRttUs = r.median_us;
  rec.p99RttUs = r.p99_us;
  rec.msgsPerSec = r.msgs_per_sec;
  rec.bytesPerSec = r.bytes_per_sec;
  rec.samples = r.samples;
  log(
    `  c.rpcpool (${clients} client${clients === 1 ? '' : 's'}): ${Math.round(r.msgs_per_sec ?? 0)} calls/s, median ${r.median_us?.toFixed(2)} us, CPU ${r.cpu_us_per_call?.toFixed(2)} us per call (window ${r.window_ms?.toFixed(0)} ms)`,
  );
  return { record: rec, cpuUsPerCall: r.cpu_us_per_call ?? null };
}

/** What a client process sends back (process.send): its samples and its measured phase. */
export interface PoolChildReport {
  /** Round trips, ns. */
  rtt: number[];
  /** hrtime (ns, as a number) when each call completed. */
  doneAt: number[];
  startNs: number;
  endNs: number;
  /** CPU time (user + system) the client used in its measured phase, us. */
  cpuUs: number;
}

/** Calls per second over the window in which every client was measuring, from the clients' reports. */
export function poolWindowRate(reports: PoolChildReport[]): { callsPerSec: number; windowNs: number } {
  const w0 = Math.max(...reports.map((r) => r.startNs));
  const w1 = Math.min(...reports.map((r) => r.endNs));
  if (!(w1 > w0)) throw new Error("rpc pool: the clients' measured phases do not overlap");
  let n = 0;
  for (const r of reports) for (const t of r.doneAt) if (t > w0 && t <= w1) n++;
  return { callsPerSec: (n * 1e9) / (w1 - w0), windowNs: w1 - w0 };
}

let poolSeq = 0;

export async function netRpcPool(opts: RpcPoolOptions = {}): Promise<BenchRecord> {
  return (await netRpcPoolRun(opts)).record;
}

export async function netRpcPoolRun(opts: RpcPoolOptions = {}): Promise<RpcPoolRun> {
  const clients = opts.clients ?? 4;
  const msgSize = opts.msgSize ?? 64;
  const iterations = opts.iterations ?? 50_000;
  const warmup = opts.warmup ?? 5_000;
  const maxMs = opts.maxMs ?? 7000;
  const log = opts.log ?? noLog;
  const socketPath = path.join(os.tmpdir(), `tessera-rpcpool-${process.pid}-${++poolSeq}.sock`);
  fs.rmSync(socketPath, { force: true });
  const server = net.createServer((sock) => {
    sock.setNoDelay?.(true);
    // Echo every request frame back as the reply (the server's whole job).
    const reader = new FrameReader(function echoRequest(buf: Buffer, start: number, len: number) {
      sock.write(buf.subarray(start - 4, start + len));
    });
    sock.on('data', function onRequestData(chunk: Buffer) {
      reader.push(chunk);
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  const children: ChildProcess[] = [];
  try {
    const { file, execArgv } = siblingEntry(__dirname, 'rpc-pool-child');
    const ready: Promise<void>[] = [];
    const reports: Promise<PoolChildReport>[] = [];
    for (let i = 0; i < clients; i++) {
      const child = fork(file, [socketPath, String(warmup), String(iterations), String(msgSize), String(maxMs)], {
        execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      const messages = new Promise<PoolChildReport>((resolve, reject) => {
        let readyResolve: () => void = () => undefined;
        ready.push(new Promise<void>((r) => (readyResolve = r)));
        child.on('message', (m: { type: string; report?: PoolChildReport }) => {
          if (m.type === 'ready') readyResolve();
          else if (m.type === 'report' && m.report) resolve(m.report);
        });
        child.once('exit', (code) => reject(new Error(`rpc-pool child exited with ${code} before reporting`)));
        child.once('error', reject);
      });
      messages.catch(() => undefined); // observed below
      reports.push(messages);
    }
    await Promise.race([Promise.all(ready), Promise.all(reports)]);
    // Start together, as the C clients do: every client measures while all the others do.
    const serverCpu = process.cpuUsage();
    for (const c of children) c.send({ type: 'go' });
    const all = await Promise.all(reports);
    const server = process.cpuUsage(serverCpu);
    const { callsPerSec, windowNs } = poolWindowRate(all);
    const rtts = all.flatMap((r) => r.rtt);
    const { medianUs, p99Us } = rttStats(rtts, rtts.length);
    const rec = emptyRecord(
      'net.rpcpool',
      `${sizeLabel(msgSize)} call/reply, ${rpcPoolShape(clients)} (Node net event loop), Unix socket, ${clients} client processes (fork); rtt: hrtime every call`,
    );
    rec.medianRttUs = medianUs;
    rec.p99RttUs = p99Us;
    rec.msgsPerSec = callsPerSec;
    rec.bytesPerSec = callsPerSec * msgSize;
    rec.samples = rtts.length;
    const cpuUsPerCall =
      (server.user + server.system + all.reduce((a, r) => a + r.cpuUs, 0)) / Math.max(1, rtts.length);
    log(
      `  net.rpcpool (${clients} client${clients === 1 ? '' : 's'}): ${Math.round(callsPerSec)} calls/s, median ${medianUs?.toFixed(2)} us, CPU ${cpuUsPerCall.toFixed(2)} us per call (window ${(windowNs / 1e6).toFixed(0)} ms)`,
    );
    return { record: rec, cpuUsPerCall };
  } finally {
    // Clients exit once they have reported; one that did not (an error above) is stopped.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const timer = setTimeout(() => c.kill(), 2000);
            c.once('exit', () => {
              clearTimeout(timer);
              res();
            });
          }),
      ),
    );
    await new Promise<void>((res) => server.close(() => res()));
    fs.rmSync(socketPath, { force: true });
  }
}
