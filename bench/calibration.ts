// What `tessera calibrate` measures, as one public entry of the benchmarks:
// measureForCalibration(transport) runs the measurements a simulator profile is
// fitted to and returns them as a Measurement (simulator/calibration.ts).
// af_unix: the C socketpair baselines (round trip, one-way stream, the CPU time of
// a round trip from the one-client pool run, and the RPC pool, one epoll server and
// 4 client processes) when a C compiler exists, else Node `net` over a Unix socket.
// tessera_shm: the shared-memory backend's bench (bench/shm), or its records from
// `npm run bench -- --json FILE`. Each run records the load other processes put on
// the machine meanwhile (the simulated scenarios run with the same background).
import * as fs from 'fs';
import { InputError } from '../simulator/load';
import { DEFAULT_POOL, type Measurement } from '../simulator/calibration';
import {
  cPingPong,
  cRpcPoolRun,
  cStream,
  findCompiler,
  netPingPong,
  netRpcPoolRun,
  netStream,
  type BenchRecord,
} from './baselines';
import { runShmBenchmarks } from './shm';

/** The transports `tessera calibrate` measures and fits. */
export const CALIBRATED_TRANSPORTS = ['af_unix', 'tessera_shm'] as const;
export type CalibratedTransport = (typeof CALIBRATED_TRANSPORTS)[number];

/** Measured sizes: full (the full sizes of the bench baselines, bench/baselines/index.ts) or --quick (a few seconds in all). */
function sizes(quick: boolean) {
  return quick
    ? {
        rtt: { iterations: 3000, warmup: 300 },
        stream: { count: 50_000, warmup: 5000 },
        pool: { iterations: 2000, warmup: 200 },
      }
    : {
        rtt: { iterations: 100_000, warmup: 10_000 },
        stream: { count: 1_000_000, warmup: 50_000 },
        pool: { iterations: 50_000, warmup: 5000 },
      };
}

function source(r: BenchRecord): string {
  return `${r.name} (${r.variant})${r.skipped ? ` skipped: ${r.skipped}` : ''}`;
}

/** Clock ticks of /proc/stat and /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** Busy CPU ticks of the whole machine, and of this process with its waited-for children. */
function cpuTicks(): { busy: number; own: number } | null {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle, iowait and steal.
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6];
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // fields 14..17 (utime stime cutime cstime) are 11..14 after the state field.
    return { busy, own: f[11] + f[12] + f[13] + f[14] };
  } catch {
    return null; // not Linux
  }
}

/**
 * Run a measurement and the load other processes put on the machine meanwhile (CPU-equivalents):
 * the machine's busy time minus this process tree's (worker threads and reaped child processes
 * included), over the wall time. null where /proc is missing.
 */
export async function withBackground<T>(
  f: () => Promise<T>,
): Promise<{ value: T; backgroundCpus: number | null; ownCpus: number | null }> {
  const a = cpuTicks();
  const t0 = process.hrtime.bigint();
  const value = await f();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const b = cpuTicks();
  if (!a || !b || wallS <= 0) return { value, backgroundCpus: null, ownCpus: null };
  const other = (b.busy - a.busy - (b.own - a.own)) / USER_HZ;
  const r2 = (x: number) => Math.max(0, Math.round(x * 100) / 100);
  return { value, backgroundCpus: r2(other / wallS), ownCpus: r2((b.own - a.own) / USER_HZ / wallS) };
}

async function measureAfUnix(quick: boolean, log: (s: string) => void): Promise<Measurement> {
  const z = sizes(quick);
  const useC = findCompiler() !== null;
  log(
    `af_unix: measuring with ${useC ? 'the C socketpair baselines' : 'Node net over a Unix socket (no C compiler)'}${quick ? ' (quick)' : ''}...`,
  );
  const { value: rtt, backgroundCpus: bgRtt } = await withBackground(() =>
    useC ? cPingPong({ ...z.rtt, log }) : netPingPong({ ...z.rtt, log }),
  );
  const { value: stream, backgroundCpus: bgStream } = await withBackground(() =>
    useC ? cStream({ ...z.stream, log }) : netStream({ ...z.stream, log }),
  );
  const poolRun = useC ? cRpcPoolRun : netRpcPoolRun;
  // One client: the ping-pong again, with the CPU time it costs (what share of a round trip is work).
  const one = await poolRun({ ...z.rtt, clients: 1, log });
  const { value: pool, backgroundCpus: bgPool } = await withBackground(() =>
    poolRun({ ...z.pool, clients: DEFAULT_POOL.clients, log }),
  );
  log(
    `  af_unix: background load ${bgRtt ?? '-'} / ${bgStream ?? '-'} / ${bgPool ?? '-'} CPUs during the round trip / stream / pool runs`,
  );
  return {
    backgroundCpus: { rtt: bgRtt, stream: bgStream, pool: bgPool },
    transport: 'af_unix',
    rttNs: rtt.medianRttUs === null ? null : rtt.medianRttUs * 1000,
    oneWayMsgsPerSec: stream.msgsPerSec,
    cpuNsPerRoundTrip: one.cpuUsPerCall === null ? null : Math.round(one.cpuUsPerCall * 1000),
    rpcPoolCallsPerSec: pool.record.msgsPerSec,
    rpcPool: { ...DEFAULT_POOL },
    sources: [rtt, stream, one.record, pool.record].map(source),
  };
}

/**
 * The tessera_shm measurement from shm bench records: the 1-client call/reply round trip (the
 * adaptive-spin variant, as the profile spins), the 64 B one-way stream and the RPC pool.
 */
export function shmMeasurement(records: BenchRecord[], where: string): Measurement {
  const ok = records.filter((r) => !r.skipped);
  const calls = ok.filter((r) => r.medianRttUs !== null && /^shm\.call\b/.test(r.name));
  const rtt =
    calls.find((r) => /adaptive/.test(r.variant)) ??
    calls[0] ??
    ok.find((r) => r.medianRttUs !== null && /call|ping/i.test(r.name) && !/rpc|pool/i.test(r.name));
  const stream =
    ok.find((r) => r.msgsPerSec !== null && /^shm\.stream\b/.test(r.name) && /\b64B\b/.test(r.variant)) ??
    ok.find((r) => r.msgsPerSec !== null && /stream|one-?way/i.test(`${r.name} ${r.variant}`));
  const pool = ok.find((r) => r.msgsPerSec !== null && /rpc|pool/i.test(r.name));
  const clients = pool ? /(\d+)\s*clients?/i.exec(pool.variant) : null;
  const threads = pool ? /(\d+)\s*(?:server )?threads?/i.exec(pool.variant) : null;
  return {
    transport: 'tessera_shm',
    rttNs: rtt?.medianRttUs != null ? rtt.medianRttUs * 1000 : null,
    oneWayMsgsPerSec: stream?.msgsPerSec ?? null,
    rpcPoolCallsPerSec: pool?.msgsPerSec ?? null,
    // The shm bench's server is one worker thread taking up to 64 calls per receive (bench/shm/worker.ts).
    rpcPool: {
      clients: clients ? Number(clients[1]) : DEFAULT_POOL.clients,
      serverThreads: threads ? Number(threads[1]) : 1,
      batch: 64,
    },
    sources: [rtt, stream, pool].filter((r): r is BenchRecord => !!r).map((r) => `${where}: ${source(r)}`),
  };
}

async function measureShm(file: string | undefined, quick: boolean, log: (s: string) => void): Promise<Measurement> {
  if (file) {
    if (!fs.existsSync(file)) throw new InputError(`${file}: no such shm bench results file`);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchRecord[] | { records: BenchRecord[] };
    return shmMeasurement(Array.isArray(parsed) ? parsed : parsed.records, file);
  }
  log(
    `tessera_shm: running the shm backend's bench (call, stream64, rpc; one repetition each)${quick ? ' (quick)' : ''}...`,
  );
  // One workload at a time, each with the background load during it.
  const runs = [];
  for (const id of ['call', 'stream64', 'rpc'])
    runs.push(await withBackground(() => runShmBenchmarks({ quick, log, only: [id], reps: 1 })));
  const m = shmMeasurement(
    runs.flatMap((r) => r.value),
    'bench/shm',
  );
  m.backgroundCpus = { rtt: runs[0].backgroundCpus, stream: runs[1].backgroundCpus, pool: runs[2].backgroundCpus };
  log(
    `  tessera_shm: background load ${runs.map((r) => r.backgroundCpus ?? '-').join(' / ')} CPUs (this process: ${runs.map((r) => r.ownCpus ?? '-').join(' / ')}) during the round trip / stream / pool runs`,
  );
  return m;
}

export interface CalibrationOptions {
  /** A few seconds in all instead of the full sizes. */
  quick?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** tessera_shm: read the shm bench's records from this file (`npm run bench -- --json FILE`) instead of running it. */
  shmResultsFile?: string;
}

/** Measure one transport for `tessera calibrate`. */
export function measureForCalibration(
  transport: CalibratedTransport,
  options: CalibrationOptions = {},
): Promise<Measurement> {
  const log = options.log ?? (() => undefined);
  const quick = options.quick === true;
  return transport === 'af_unix' ? measureAfUnix(quick, log) : measureShm(options.shmResultsFile, quick, log);
}
