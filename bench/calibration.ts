// What `tessera calibrate` measures, as one public entry of the benchmarks:
// measureForCalibration(transport) runs the measurements a simulator profile is
// fitted to and returns them as a Measurement (simulator/calibration.ts).
// af_unix: the C socketpair baselines (round trip, one-way stream, the CPU time of
// a round trip from the one-client pool run, and the RPC pool, one epoll server and
// 4 client processes) when a C compiler exists, else Node `net` over a Unix socket.
// tessera_shm: the shared-memory backend's bench (bench/shm), or its records from
// `npm run bench -- --json FILE`.
// tessera_shm_processes: the cross-process rows of the bench (bench/shm
// tesseraAcrossProcesses, as xproc.tessera.call / .stream run them): call/reply
// spinning and sleeping, one-way streams of 64 B and 64 KiB between two processes.
// tessera_broker: the broker's rows (bench/broker, as xproc.broker.call / .stream run
// them), spinning with the broker's own spin policy, sleeping, and both streams.
// Both need the native addon. Each run records the load other processes put on
// the machine meanwhile (the simulated scenarios run with the same background).
import * as fs from 'fs';
import * as os from 'os';
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
import { aggregateRuns, type Regime } from './baselines';
import { runShmBenchmarks, tesseraAcrossProcesses } from './shm';
import { brokerCall, brokerStream, type BrokerAccount } from './broker';
import { nativeAvailability } from '../native';
import { BROKER_SPIN_POLICY } from '../backends/broker/spin';
import { SPIN_POLICY } from '../backends/shm/spin-policy';

/** The transports `tessera calibrate` measures and fits. */
export const CALIBRATED_TRANSPORTS = ['af_unix', 'tessera_shm', 'tessera_shm_processes', 'tessera_broker'] as const;
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

/** The transports measured between OS processes, through the native addon. */
const NEEDS_ADDON: readonly CalibratedTransport[] = ['tessera_shm_processes', 'tessera_broker'];

/**
 * The addon a transport's rows need, or an InputError saying it is missing: the bench then
 * skips those rows, and there is nothing to fit.
 */
export function requireAddon(
  transport: CalibratedTransport,
  availability: { available: true } | { available: false; error: Error } = nativeAvailability(),
): void {
  if (!NEEDS_ADDON.includes(transport) || availability.available) return;
  throw new InputError(
    `${transport}: the native addon is not built, so its bench rows are skipped and there is nothing to fit ` +
      `(${availability.error.message}); build it with \`npm run build:native\` (npm ci does), or calibrate ` +
      `${CALIBRATED_TRANSPORTS.filter((t) => !NEEDS_ADDON.includes(t)).join(' or ')} with --only`,
  );
}

/** The sizes of the cross-process rows: the bench's full sizes (bench/baselines/xproc.ts), or a few seconds. */
function processSizes(quick: boolean) {
  return quick
    ? {
        rtt: { iterations: 1000, warmup: 100 },
        small: { count: 10_000, warmup: 1000 },
        large: { count: 100, warmup: 10 },
        maxMs: 1000,
        reps: 1,
      }
    : {
        rtt: { iterations: 20_000, warmup: 2000 },
        small: { count: 300_000, warmup: 30_000 },
        large: { count: 8192, warmup: 800 },
        maxMs: 3000,
        reps: 5,
      };
}

interface Row {
  regime: Regime;
  run: () => Promise<BenchRecord>;
}

/**
 * Every row `reps` times, interleaved (rep 1 of every row, then rep 2, ...) as the bench runs
 * them, so a change of the host's vCPU placement hits every row alike. Each row: the median over
 * its runs with their spread, and the mean background load during its runs.
 */
async function interleaved(
  rows: Row[],
  reps: number,
  log: (s: string) => void,
): Promise<{ record: BenchRecord; backgroundCpus: number | null }[]> {
  const runs: BenchRecord[][] = rows.map(() => []);
  const bgs: (number | null)[][] = rows.map(() => []);
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < rows.length; i++) {
      const { value, backgroundCpus } = await withBackground(rows[i].run);
      if (value.skipped) throw new InputError(`${value.name} (${value.variant}) skipped: ${value.skipped}`);
      runs[i].push(value);
      bgs[i].push(backgroundCpus);
    }
    if (reps > 1) log(`  run ${rep + 1}/${reps} of every row done (1-min load average ${os.loadavg()[0].toFixed(2)})`);
  }
  return rows.map((row, i) => {
    const b = bgs[i].filter((x): x is number => x !== null);
    return {
      record: aggregateRuns(runs[i], row.regime),
      backgroundCpus: b.length ? Math.round((b.reduce((a, x) => a + x, 0) / b.length) * 100) / 100 : null,
    };
  });
}

/** A row's source: name, variant, regime, and the median of its runs with their range. */
function spreadSource(r: BenchRecord): string {
  const f = r.medianRttUs !== null ? 'medianRttUs' : 'msgsPerSec';
  const s = r.spread?.[f];
  const show = (v: number) => (f === 'medianRttUs' ? `${v.toFixed(2)} us` : `${Math.round(v)} msgs/s`);
  const v = r[f];
  return `${r.name} (${r.variant}; ${r.regime}): ${v === null ? '-' : show(v)}${s && (r.runs ?? 1) > 1 ? `, median of ${r.runs} runs [${show(s[0])}..${show(s[1])}]` : ''}`;
}

/**
 * tessera_shm_processes: Tessera between two OS processes (bench/shm tesseraAcrossProcesses, the
 * xproc.tessera rows): call/reply with the shm backend's adaptive spin and with none (futex
 * only), one-way streams of 64 B and 64 KiB.
 */
async function measureShmProcesses(quick: boolean, log: (s: string) => void): Promise<Measurement> {
  const z = processSizes(quick);
  const t = tesseraAcrossProcesses;
  const spinUs = SPIN_POLICY.budgetUs;
  log(
    `tessera_shm_processes: the bench's xproc.tessera rows, ${z.reps} interleaved run(s)${quick ? ' (quick)' : ''}...`,
  );
  // The bench's 64 KiB round trips: a quarter of the 64 B iterations.
  const largeIterations = Math.ceil(z.rtt.iterations / 4);
  const [spin, sleep, small, large, largeRtt] = await interleaved(
    [
      { regime: 'spinning', run: () => t.call(64, spinUs, z.rtt.iterations, z.rtt.warmup, log) },
      { regime: 'sleeping', run: () => t.call(64, 0, z.rtt.iterations, z.rtt.warmup, log) },
      { regime: 'spinning', run: () => t.stream(64, z.small.count, z.small.warmup, log) },
      { regime: 'spinning', run: () => t.stream(65_536, z.large.count, z.large.warmup, log) },
      { regime: 'spinning', run: () => t.call(65_536, spinUs, largeIterations, z.rtt.warmup, log) },
    ],
    z.reps,
    log,
  );
  const m = processMeasurement('tessera_shm_processes', { spin, sleep, small, large }, undefined, log);
  m.largeRttNs = largeRtt.record.medianRttUs === null ? null : Math.round(largeRtt.record.medianRttUs * 1000);
  m.backgroundCpus!.largeRtt = largeRtt.backgroundCpus;
  m.sources.push(spreadSource(largeRtt.record));
  return m;
}

/** The figures of the four process rows, with their background loads. */
function processMeasurement(
  transport: string,
  rows: Record<'spin' | 'sleep' | 'small' | 'large', { record: BenchRecord; backgroundCpus: number | null }>,
  streamWindowMessages: number | undefined,
  log: (s: string) => void,
  note = '',
): Measurement {
  const { spin, sleep, small, large } = rows;
  const us = (r: BenchRecord) => (r.medianRttUs === null ? null : Math.round(r.medianRttUs * 1000));
  const m: Measurement = {
    transport,
    rttNs: us(spin.record),
    sleepingRttNs: us(sleep.record),
    oneWayMsgsPerSec: small.record.msgsPerSec,
    largeOneWayMsgsPerSec: large.record.msgsPerSec,
    rpcPoolCallsPerSec: null,
    ...(streamWindowMessages ? { streamWindowMessages } : {}),
    backgroundCpus: {
      rtt: spin.backgroundCpus,
      sleepingRtt: sleep.backgroundCpus,
      stream: small.backgroundCpus,
      largeStream: large.backgroundCpus,
    },
    sources: [spin, sleep, small, large].map((r) => spreadSource(r.record) + (r === spin ? note : '')),
  };
  log(
    `  ${transport}: background load ${[spin, sleep, small, large].map((r) => r.backgroundCpus ?? '-').join(' / ')} CPUs during the spinning / sleeping round trips and the 64 B / 64 KiB streams`,
  );
  return m;
}

/**
 * tessera_broker: the broker between processes (bench/broker, the xproc.broker rows): call round
 * trips spinning with the broker's own policy (the budget the profile states) and with none,
 * one-way streams of 64 B and 64 KiB (blocking sends, 32 in flight, as the bench); the broker's
 * own account of its request path over the spinning calls goes into the sources.
 */
async function measureBroker(quick: boolean, log: (s: string) => void): Promise<Measurement> {
  const z = processSizes(quick);
  const spinUs = BROKER_SPIN_POLICY.budgetUs;
  const window = 32;
  const brokered = (s: string) =>
    `${s} through the broker: 3 processes (the broker's owner with its thread, two peers, each mapping only its own segment)`;
  const accounts: BrokerAccount[] = [];
  const call = (spin: number) => async () => {
    const how = spin > 0 ? `spin ${spin}us (the broker's policy) then futex` : 'futex only';
    const r = await brokerCall(
      'xproc.broker.call',
      `${brokered('64B')}; call, the server's waiting receive, reply; ${how}`,
      {
        spinUs: spin,
        msgSize: 64,
        ...z.rtt,
        maxMs: z.maxMs,
        account: spin > 0,
      },
    );
    if (r.account) accounts.push(r.account);
    return r.record;
  };
  // As the bench's stream rows (bench/baselines/xproc.ts): 64 KiB messages received 16 at a time
  // through a 4 MiB completion ring, a warm-up stream first.
  const stream = (size: number, count: number, warmup: number) => () => {
    const batch = size === 64 ? 64 : 16;
    const completionRingBytes = size === 64 ? undefined : 4 * 1024 * 1024;
    return brokerStream(
      'xproc.broker.stream',
      `${brokered(size === 64 ? '64B' : '64KiB')}; blocking sends, ${window} in flight, received in batches of ${batch}${completionRingBytes ? ' (4 MiB completion ring)' : ''}; spin ${spinUs}us then futex`,
      { spinUs, msgSize: size, count, window, warmup, batch, completionRingBytes },
    );
  };
  log(`tessera_broker: the bench's xproc.broker rows, ${z.reps} interleaved run(s)${quick ? ' (quick)' : ''}...`);
  const [spin, sleep, small, large] = await interleaved(
    [
      { regime: 'spinning', run: call(spinUs) },
      { regime: 'sleeping', run: call(0) },
      // The bench's stream counts and warm-ups: a tenth of the 64 B ones, a quarter of the 64 KiB ones.
      {
        regime: 'spinning',
        run: stream(64, Math.max(100, Math.floor(z.small.count / 10)), Math.floor(z.small.warmup / 10)),
      },
      {
        regime: 'spinning',
        run: stream(65_536, Math.max(100, Math.floor(z.large.count / 4)), Math.floor(z.large.warmup / 4)),
      },
    ],
    z.reps,
    log,
  );
  const med = (f: (a: BrokerAccount) => number) => {
    const v = accounts.map(f).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)].toFixed(2) : '-';
  };
  const perRequest = accounts.map((a) => a.decodeUsPerRequest + a.runUsPerRequest + a.encodeUsPerRequest);
  const note = accounts.length
    ? `; the broker's account per request (median of ${accounts.length} runs): ${med((a) => a.decodeUsPerRequest)} us reading and decoding, ${med((a) => a.runUsPerRequest)} us running on the bus, ${med((a) => a.encodeUsPerRequest)} us encoding and writing answers`
    : '';
  const m = processMeasurement('tessera_broker', { spin, sleep, small, large }, window, log, note);
  // The broker thread is the bus lock: its time per request is the lock's hold per operation.
  const sorted = perRequest.sort((a, b) => a - b);
  m.lockHoldNsPerOp = sorted.length ? Math.round(sorted[Math.floor((sorted.length - 1) / 2)] * 1000) : null;
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
  requireAddon(transport);
  switch (transport) {
    case 'af_unix':
      return measureAfUnix(quick, log);
    case 'tessera_shm':
      return measureShm(options.shmResultsFile, quick, log);
    case 'tessera_shm_processes':
      return measureShmProcesses(quick, log);
    case 'tessera_broker':
      return measureBroker(quick, log);
  }
}
