// The shm backend's benchmarks: each workload on a fresh bus, peers in worker
// threads, the main thread only orchestrating. Records as the baselines'.
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { once } from 'events';
import type { Worker } from 'worker_threads';
import { ShmBus, type ShmPeer } from '../../backends/shm';
import type { PeerSeat } from '../../backends/shm/seat';
import { SPIN_POLICY } from '../../backends/shm/spin-policy';
import { emptyRecord, rttStats, type BenchRecord, type Log } from '../baselines/common';
import { startPinned } from '../baselines/pin';

export interface ShmBenchOptions {
  quick?: boolean;
  log?: Log;
  /** Workload ids to run (default all): SHM_WORKLOADS. */
  only?: string[];
  /** Repetitions per workload (median reported); default 3 (1 with quick). */
  reps?: number;
}

const WORKER_JS = path.join(__dirname, 'worker.js');
const PROCESS_JS = path.join(__dirname, 'process-child.js');
const KIB64 = 65_536;

// Tables larger than a queue: handles in flight in a full queue never fill the receiver's table.
export const BENCH_LIMITS = {
  maxPeers: 8,
  maxHandlesPerPeer: 4096,
  maxPayloadBytes: KIB64,
  maxHandlesPerMessage: 4,
  queueCapacityMessages: 1024,
  queueCapacityBytes: 4 * 1024 * 1024,
  senderQuotaMessages: 1024,
  senderQuotaBytes: 4 * 1024 * 1024,
};

interface WaitReport {
  sleeps: number;
  spinsWon: number;
  spinsLost: number;
  lockContended: number;
}

/** Where a workload's peers run: worker threads of this process, or OS processes (a bus spanning processes). */
export type Span = 'threads' | 'processes';

/** The seat behind a peer's fast paths (benchmarks that drive or time its holds directly). */
export const peerSeat = (p: ShmPeer): PeerSeat => (p.fast as unknown as { seat: PeerSeat }).seat;

/**
 * A peer running a role (roles.ts) in a worker thread, or in a process when the bus spans
 * processes; `processFile`: another compiled entry for that process (one that joins the bus and
 * runs a role too).
 */
export async function spawn(
  bus: ShmBus,
  data: Record<string, unknown>,
  bootstrap: { from: number; handle: number; rights?: ('send' | 'grant')[] }[] = [],
  tuneV8 = true,
  processFile = PROCESS_JS,
) {
  const file = bus.segment ? processFile : WORKER_JS;
  if (!fs.existsSync(file)) throw new Error(`${file} missing: run from the compiled output (npm run bench)`);
  const r = bus.segment
    ? await startPinned(() => bus.spawnProcess(file, { bootstrap, data, fork: { serialization: 'advanced' }, tuneV8 }))
    : bus.spawnPeer(file, { credentials: { uid: 0, gid: 0, pid: process.pid }, bootstrap, workerData: data });
  const host = 'worker' in r ? r.worker : r.child;
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  host.on('message', (m: unknown) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const exited = once(host, 'exit');
  const next = <T>() =>
    queue.length > 0
      ? Promise.resolve(queue.shift() as T)
      : new Promise<T>((res) => waiters.push(res as (m: unknown) => void));
  return { ...r, next, exited };
}

function waits(label: string, w: WaitReport, perMsgs: number): string {
  return `${label}: spins won/lost ${w.spinsWon}/${w.spinsLost}, sleeps ${w.sleeps} (${(w.sleeps / perMsgs).toFixed(3)}/msg), contended locks ${w.lockContended}`;
}

async function callReply(
  spin: number,
  clients: number,
  iterations: number,
  warmup: number,
  log: Log,
  handoff = true,
  span: Span = 'threads',
  size = 64,
  tuneV8 = true,
): Promise<BenchRecord> {
  const bus = ShmBus.create({ limits: BENCH_LIMITS, spin, span });
  const server = await spawn(bus, { role: 'server', size, handoff: handoff ? 1 : 0 }, [], tuneV8);
  const { node } = await server.next<{ node: number }>();
  const cs = await Promise.all(
    Array.from({ length: clients }, () =>
      spawn(
        bus,
        { role: 'client', size, iterations, warmup },
        [{ from: server.peer, handle: node, rights: ['send'] }],
        tuneV8,
      ),
    ),
  );
  const results = await Promise.all(cs.map((c) => c.next<{ samples: Float64Array; elapsedNs: number } & WaitReport>()));
  const stopper = bus.attach({ uid: 0, gid: 0, pid: 0 }, [{ from: server.peer, handle: node, rights: ['send'] }]);
  stopper.send(stopper.bootstrap[0], { payload: 'stop' });
  const s = await server.next<WaitReport>();
  stopper.close();
  await Promise.all([server, ...cs].map((w) => w.exited));
  bus.dispose();
  const all = results.flatMap((r) => Array.from(r.samples));
  const { medianUs, p99Us } = rttStats(all, all.length);
  const calls = clients * iterations;
  const elapsed = Math.max(...results.map((r) => r.elapsedNs));
  const who = span === 'processes' ? 'process->process' : 'worker->worker';
  const sleep = span === 'processes' ? 'futex' : 'Atomics.wait';
  const rec = emptyRecord(
    span === 'processes' ? 'xproc.tessera.call' : clients === 1 ? 'shm.call' : 'shm.rpc',
    `${size === 64 ? '64B' : '64KiB'} call/reply, ${clients} client${clients > 1 ? 's' : ''} ${who} server${handoff ? '' : ' (queue, no hand-off)'}, spin ${spin === 0 ? `0 (${sleep} only)` : `<=${spin}us adaptive`}${span === 'processes' && !tuneV8 ? ', V8 default inlining budget' : ''}`,
  );
  rec.medianRttUs = medianUs;
  rec.meanRttUs = all.length === 0 ? null : all.reduce((a, v) => a + v, 0) / all.length / 1000;
  rec.p99RttUs = p99Us;
  rec.msgsPerSec = (calls * 1e9) / elapsed;
  rec.bytesPerSec = (calls * size * 1e9) / elapsed;
  rec.wakesPerMsg = (results.reduce((a, r) => a + r.sleeps, 0) + s.sleeps) / (2 * calls);
  rec.samples = all.length;
  log(
    `  ${rec.name} ${rec.variant}: median ${medianUs?.toFixed(2)} us, p99 ${p99Us?.toFixed(2)} us, ${Math.round(rec.msgsPerSec)} calls/s`,
  );
  log(`    ${waits('client', results[0], iterations)}; ${waits('server (whole run)', s, calls + clients * warmup)}`);
  return rec;
}

type StreamMode = 'bytes' | 'views' | 'objects' | 'handle' | 'mcast';

async function stream(
  name: string,
  variant: string,
  source: 'bytes' | 'objects' | 'handle' | 'mcast',
  sinkMode: 'batch' | 'views' | 'objects' | 'objectsEach',
  size: number,
  count: number,
  warmup: number,
  log: Log,
  nodes = 1,
  span: Span = 'threads',
): Promise<BenchRecord> {
  const bus = ShmBus.create({ limits: BENCH_LIMITS, spin: SPIN_POLICY.budgetUs, span });
  const copies = source === 'mcast' ? nodes : 1;
  const sink = await spawn(bus, {
    role: 'sink',
    size,
    nodes,
    expect: count * copies,
    warmupExpect: warmup * copies,
    mode: sinkMode,
  });
  const { nodes: ns } = await sink.next<{ nodes: number[] }>();
  const src = await spawn(
    bus,
    { role: 'source', size, count, warmup, mode: source },
    ns.map((handle) => ({ from: sink.peer, handle, rights: ['send'] })),
  );
  const [a, b] = await Promise.all([src.next<{ t0: string } & WaitReport>(), sink.next<{ t: string } & WaitReport>()]);
  await Promise.all([src.exited, sink.exited]);
  bus.dispose();
  const elapsedNs = Number(BigInt(b.t) - BigInt(a.t0));
  const rec = emptyRecord(name, variant);
  rec.msgsPerSec = (count * 1e9) / elapsedNs; // operations per second (a multicast is one)
  rec.bytesPerSec = (count * copies * size * 1e9) / elapsedNs;
  rec.wakesPerMsg = (a.sleeps + b.sleeps) / (count * copies);
  rec.samples = count;
  log(
    `  ${name} ${variant}: ${Math.round(rec.msgsPerSec)} ops/s, ${(rec.bytesPerSec / 1e6).toFixed(0)} MB/s, wakes/msg ${rec.wakesPerMsg.toFixed(4)}`,
  );
  log(`    ${waits('source', a, count)}; ${waits('sink', b, count * copies)}`);
  return rec;
}

/** Median of each figure over repetitions (records of one workload). */
function medianRecord(recs: BenchRecord[]): BenchRecord {
  const med = (k: 'medianRttUs' | 'meanRttUs' | 'p99RttUs' | 'msgsPerSec' | 'bytesPerSec' | 'wakesPerMsg') => {
    const v = recs
      .map((r) => r[k])
      .filter((x): x is number => typeof x === 'number')
      .sort((a, b) => a - b);
    return v.length === 0 ? null : v[Math.floor(v.length / 2)];
  };
  return {
    ...recs[0],
    variant: `${recs[0].variant}; median of ${recs.length}`,
    medianRttUs: med('medianRttUs'),
    ...(recs[0].meanRttUs !== undefined ? { meanRttUs: med('meanRttUs') } : {}),
    p99RttUs: med('p99RttUs'),
    msgsPerSec: med('msgsPerSec'),
    bytesPerSec: med('bytesPerSec'),
    wakesPerMsg: med('wakesPerMsg'),
    samples: recs.reduce((a, r) => a + r.samples, 0),
  };
}

/** The two ways the RPC pool's server answers the last call of each receive batch (the others get a plain reply). */
const POOL_SERVERS = [
  { handoff: false, how: 'reply then receive (two operations: replyBytes, receiveBatchSync)' },
  { handoff: true, how: 'replyReceive (one step: replyBytesAndReceiveSync, with hand-off)' },
] as const;

/** The RPC pool's record name: what its server does, (a) reply + receive or (b) replyReceive. */
export const RPC_POOL_NAMES = ['shm.rpcpool.reply+receive', 'shm.rpcpool.replyReceive'] as const;

/**
 * An RPC pool: `clients` client threads calling one node, served by one server thread (a node's
 * deliveries queue at its one owner), the server answering by (a) reply then receive or (b)
 * replyReceive. The two run in the same process run, interleaved round by round (a b, b a, ...)
 * so that a load change on the shared machine falls on both: two records, each the median of its
 * rounds with the rounds' spread.
 */
async function rpcPool(
  spin: number,
  clients: number,
  rounds: number,
  iterations: number,
  warmup: number,
  log: Log,
): Promise<BenchRecord[]> {
  const byServer: BenchRecord[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 === 0 ? [0, 1] : [1, 0])
      byServer[m].push(await callReply(spin, clients, iterations, warmup, log, POOL_SERVERS[m].handoff));
    const [a, b] = byServer.map((recs) => recs[r].msgsPerSec ?? NaN);
    log(`    round ${r + 1}/${rounds}: replyReceive / reply + receive calls/s ${(b / a).toFixed(3)}`);
  }
  return byServer.map((recs, m) => {
    const rec = medianRecord(recs);
    const spread = (k: 'medianRttUs' | 'p99RttUs' | 'msgsPerSec' | 'bytesPerSec'): [number, number] => {
      const v = recs.map((x) => x[k]).filter((x): x is number => x !== null);
      return [Math.min(...v), Math.max(...v)];
    };
    return {
      ...rec,
      name: RPC_POOL_NAMES[m],
      variant: `64B, ${clients} client threads -> 1 server thread on one node, ${POOL_SERVERS[m].how}, spin ${spin === 0 ? '0 (Atomics.wait only)' : `<=${spin}us adaptive`}; median of ${rounds} interleaved rounds`,
      regime: spin === 0 ? 'sleeping' : 'spinning',
      runs: rounds,
      perRun: {
        medianRttUs: recs.map((x) => x.medianRttUs),
        meanRttUs: recs.map((x) => x.meanRttUs ?? null),
        msgsPerSec: recs.map((x) => x.msgsPerSec),
        wakesPerMsg: recs.map((x) => x.wakesPerMsg),
      },
      spread: {
        medianRttUs: spread('medianRttUs'),
        p99RttUs: spread('p99RttUs'),
        msgsPerSec: spread('msgsPerSec'),
        bytesPerSec: spread('bytesPerSec'),
      },
    };
  });
}

export const SHM_WORKLOADS = [
  'call',
  'call0',
  'callq',
  'stream64',
  'stream64k',
  'send',
  'handle',
  'handleEach',
  'unicast',
  'multicast',
  'rpc',
  'rpcpool',
  'rpcpool0',
] as const;

/** Every workload by id, sized for a quick or a full run. */
function shmWorkloads(
  q: boolean,
  log: Log,
  rounds: number,
): Record<(typeof SHM_WORKLOADS)[number], () => Promise<BenchRecord | BenchRecord[]>> {
  const rtt = q ? { iterations: 2_000, warmup: 200 } : { iterations: 100_000, warmup: 10_000 };
  const small = q ? { count: 20_000, warmup: 2_000 } : { count: 1_000_000, warmup: 100_000 };
  const objects = q ? { count: 10_000, warmup: 1_000 } : { count: 200_000, warmup: 20_000 };
  const large = q ? { count: 200, warmup: 20 } : { count: 16_384, warmup: 1_600 };
  return {
    call: () => callReply(50, 1, rtt.iterations, rtt.warmup, log),
    call0: () => callReply(0, 1, rtt.iterations, rtt.warmup, log),
    callq: () => callReply(50, 1, rtt.iterations, rtt.warmup, log, false),
    stream64: () =>
      stream(
        'shm.stream',
        '64B one-way, sendBytesSync -> receiveBatchSync (copy)',
        'bytes',
        'batch',
        64,
        small.count,
        small.warmup,
        log,
      ),
    stream64k: () =>
      stream(
        'shm.stream',
        '64KiB one-way, sendBytesSync -> receiveBatchSync (views, each copied out by the sink)',
        'bytes',
        'views',
        KIB64,
        large.count,
        large.warmup,
        log,
      ),
    send: () =>
      stream(
        'shm.send',
        '64B, no handle (object API both sides)',
        'objects',
        'objects',
        64,
        objects.count,
        objects.warmup,
        log,
      ),
    handle: () =>
      stream(
        'shm.send',
        '64B + 1 handle (object API both sides, receiver releases it)',
        'handle',
        'objects',
        64,
        objects.count,
        objects.warmup,
        log,
      ),
    // Not a target workload (the target uses one release per handle): the same traffic with the
    // receiver releasing each batch's handles in one releaseEach, to show what the release holds cost.
    handleEach: () =>
      stream(
        'shm.send.releaseEach',
        '64B + 1 handle (object API both sides, receiver releases each batch with releaseEach)',
        'handle',
        'objectsEach',
        64,
        objects.count,
        objects.warmup,
        log,
      ),
    unicast: () =>
      stream(
        'shm.unicast',
        '64B send to 1 node (object API send, batch receive)',
        'objects',
        'batch',
        64,
        objects.count,
        objects.warmup,
        log,
      ),
    multicast: () =>
      stream(
        'shm.multicast',
        '64B multicast to 8 nodes (object API multicast, batch receive)',
        'mcast',
        'batch',
        64,
        objects.count,
        objects.warmup,
        log,
        8,
      ),
    rpc: () => callReply(50, 4, Math.ceil(rtt.iterations / 4), rtt.warmup, log),
    // Each runs its own interleaved rounds (--reps of them, at least 3): one record per server.
    rpcpool: () => rpcPool(50, 4, rounds, Math.ceil(rtt.iterations / 4), rtt.warmup, log),
    rpcpool0: () => rpcPool(0, 4, rounds, Math.ceil(rtt.iterations / 4), rtt.warmup, log),
  };
}

export async function runShmBenchmarks(opts: ShmBenchOptions = {}): Promise<BenchRecord[]> {
  const log = opts.log ?? (() => undefined);
  const q = opts.quick === true;
  const reps = opts.reps ?? (q ? 1 : 3);
  // The RPC pool pairs interleave their two servers over rounds: --reps of them, at least 3.
  const rounds = Math.max(3, opts.reps ?? (q ? 3 : 5));
  const workloads = shmWorkloads(q, log, rounds);
  const ids = SHM_WORKLOADS.filter((id) => !opts.only || opts.only.length === 0 || opts.only.includes(id));
  log(
    `shm workloads: ${ids.join(', ')} (${reps} repetition${reps === 1 ? '' : 's'} each; rpcpool pairs: ${rounds} interleaved rounds); 1-min load average ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs`,
  );
  const out: BenchRecord[] = [];
  for (const id of ids) {
    const first = await workloads[id]();
    if (Array.isArray(first)) {
      out.push(...first);
      continue;
    }
    const recs: BenchRecord[] = [first];
    for (let r = 1; r < reps; r++) recs.push((await workloads[id]()) as BenchRecord);
    out.push(reps === 1 ? recs[0] : medianRecord(recs));
  }
  return out;
}

/**
 * Tessera between two OS processes (a bus spanning processes, each peer in a forked process):
 * the cross-process table's rows (bench/baselines/xproc.ts runs them interleaved with its baselines).
 */
export const tesseraAcrossProcesses = {
  /**
   * Call/reply RTT, one client process and one server process. spinUs 0: the sleeping regime.
   * tuneV8 false: the processes keep V8's default inlining budget (spawnProcess's PEER_V8_FLAGS left out).
   */
  call: (size: number, spinUs: number, iterations: number, warmup: number, log: Log, tuneV8 = true) =>
    callReply(spinUs, 1, iterations, warmup, log, true, 'processes', size, tuneV8),
  /** One-way stream: sendBytesSync -> receiveBatchSync (64 B copied; 64 KiB as views, each copied out). */
  stream: (size: number, count: number, warmup: number, log: Log) =>
    stream(
      'xproc.tessera.stream',
      size === 64
        ? '64B one-way process->process, sendBytesSync -> receiveBatchSync (copy)'
        : '64KiB one-way process->process, sendBytesSync -> receiveBatchSync (views, each copied out by the sink)',
      'bytes',
      size === 64 ? 'batch' : 'views',
      size,
      count,
      warmup,
      log,
      1,
      'processes',
    ),
  /** 64 B messages by the object API, without a handle or with one the receiver releases. */
  send: (withHandle: boolean, count: number, warmup: number, log: Log) =>
    stream(
      'xproc.tessera.send',
      withHandle
        ? '64B + 1 handle process->process (object API both sides, receiver releases it)'
        : '64B, no handle, process->process (object API both sides)',
      withHandle ? 'handle' : 'objects',
      'objects',
      64,
      count,
      warmup,
      log,
      1,
      'processes',
    ),
};

export type { Worker, StreamMode };
