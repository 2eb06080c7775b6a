// `tessera calibrate`: measure this machine and write simulator profiles.
// af_unix: the C socketpair baselines (bench/baselines: round trip, one-way stream, the CPU
// time of a round trip from the one-client pool run, and the RPC pool, one epoll server and 4
// client processes) when a C compiler exists, else Node `net` over a Unix socket. tessera_shm: the shared-memory backend's bench (bench/shm, run here, or
// its records from `npm run bench -- --json FILE` given with --shm-json). Each profile is fitted
// on the round trip (time, and CPU when measured) and the stream only; the RPC pool is the
// out-of-sample check. The fitted
// profiles, the measurements and the check rows are written to --out; the check table is printed.
// --measurements FILE skips measuring and fits to a measurements.json written earlier (or by hand).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type Command, parseFlags, UsageError } from '../command';
import { InputError, loadProfile } from '../../simulator/load';
import {
  DEFAULT_POOL,
  adoptKernelCosts,
  checkPredictions,
  checkTable,
  fitProfile,
  summarize,
  summaryTable,
  type CheckRow,
  type Measurement,
} from '../../simulator/calibration';
import type { Profile } from '../../simulator/types';
import {
  cPingPong,
  cRpcPoolRun,
  cStream,
  findCompiler,
  netPingPong,
  netRpcPoolRun,
  netStream,
  type BenchRecord,
} from '../../bench/baselines';

const TRANSPORTS = ['af_unix', 'tessera_shm'] as const;

/** Measured sizes: full (the defaults of baselines.md) or --quick (a few seconds in all). */
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

interface ShmBench {
  runShmBenchmarks(o: {
    quick?: boolean;
    log?: (s: string) => void;
    only?: string[];
    reps?: number;
  }): Promise<BenchRecord[]>;
}

/** The shm backend's bench, loaded by path at run time: it is built by another part of the tree (and may be absent). */
function loadShmBench(): ShmBench | null {
  const file = path.join(__dirname, '..', '..', 'bench', 'shm', 'index.js');
  if (!fs.existsSync(file)) return null;
  const mod = require(file) as Partial<ShmBench>;
  return typeof mod.runShmBenchmarks === 'function' ? (mod as ShmBench) : null;
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

async function measureShm(
  file: string | undefined,
  quick: boolean,
  log: (s: string) => void,
): Promise<Measurement | null> {
  if (file) {
    if (!fs.existsSync(file)) throw new InputError(`${file}: no such shm bench results file`);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchRecord[] | { records: BenchRecord[] };
    return shmMeasurement(Array.isArray(parsed) ? parsed : parsed.records, file);
  }
  const bench = loadShmBench();
  if (!bench) {
    log(
      'tessera_shm: the shm bench (bench/shm) is not built; skipped (or pass --shm-json FILE from `npm run bench -- --json FILE`)',
    );
    return null;
  }
  log(
    `tessera_shm: running the shm backend's bench (call, stream64, rpc; one repetition each)${quick ? ' (quick)' : ''}...`,
  );
  // One workload at a time, each with the background load during it.
  const runs = [];
  for (const id of ['call', 'stream64', 'rpc'])
    runs.push(await withBackground(() => bench.runShmBenchmarks({ quick, log, only: [id], reps: 1 })));
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

function readMeasurements(file: string): Measurement[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: cannot read measurements (${(err as Error).message})`);
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((m: Partial<Measurement>, i) => {
    const bad = (field: string) => new InputError(`${file}: invalid measurement at /${i}/${field}`);
    if (typeof m !== 'object' || m === null) throw bad('');
    if (typeof m.transport !== 'string') throw bad('transport');
    for (const k of ['rttNs', 'oneWayMsgsPerSec', 'rpcPoolCallsPerSec', 'cpuNsPerRoundTrip'] as const) {
      const v = m[k];
      if (v !== undefined && v !== null && !(typeof v === 'number' && v > 0)) throw bad(k);
    }
    if (m.backgroundCpus !== undefined) {
      if (typeof m.backgroundCpus !== 'object' || m.backgroundCpus === null) throw bad('backgroundCpus');
      for (const k of ['rtt', 'stream', 'pool'] as const) {
        const v = m.backgroundCpus[k];
        if (v !== undefined && v !== null && !(typeof v === 'number' && v >= 0)) throw bad(`backgroundCpus/${k}`);
      }
    }
    if (!Array.isArray(m.sources)) m.sources = [`${file}`];
  });
  return list as Measurement[];
}

/** Fit every measured transport (af_unix first: tessera_shm takes its kernel wake-up costs from it) and check the predictions. */
function fitAll(
  measurements: Measurement[],
  label: string,
  rounds: number,
  out: string,
  log: (s: string) => void,
): CheckRow[] {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'measurements.json'), JSON.stringify(measurements, null, 2) + '\n');
  const rows: CheckRow[] = [];
  const ordered = [...measurements].sort(
    (a, b) => Number(b.transport === 'af_unix') - Number(a.transport === 'af_unix'),
  );
  let kernel: Profile | null = null;
  for (const m of ordered) {
    log(
      `${m.transport}: fitting the profile (rtt ${m.rttNs?.toFixed(0) ?? '-'} ns, CPU per round trip ${m.cpuNsPerRoundTrip?.toFixed(0) ?? '-'} ns, stream ${m.oneWayMsgsPerSec?.toFixed(0) ?? '-'} msgs/s, background ${JSON.stringify(m.backgroundCpus ?? {})})...`,
    );
    const base = loadProfile(m.transport);
    if (kernel && m.transport === 'tessera_shm')
      adoptKernelCosts(base, kernel, `measured: the af_unix fit of the same run (${label})`);
    else if (m.transport === 'tessera_shm')
      log('  tessera_shm: no af_unix fit in this run: the kernel wake-up costs stay the bundled ones');
    const { profile, prediction } = fitProfile(base, m, label, rounds);
    if (m.transport === 'af_unix') kernel = profile;
    const file = path.join(out, `calibrated-${m.transport}.json`);
    fs.writeFileSync(file, JSON.stringify(profile, null, 2) + '\n');
    console.log(`wrote ${file}  (use: tessera sim pingpong --profile ${file})`);
    rows.push(...checkPredictions(m, prediction));
  }
  fs.writeFileSync(path.join(out, 'check.json'), JSON.stringify(rows, null, 2) + '\n');
  console.log(`wrote ${path.join(out, 'measurements.json')} and ${path.join(out, 'check.json')}\n`);
  return rows;
}

export const command: Command = {
  name: 'calibrate',
  summary:
    'Measure this machine (AF_UNIX baselines incl. an RPC pool, the shm bench) and write calibrated simulator profiles',
  usage:
    'tessera calibrate [--out DIR] [--only af_unix|tessera_shm] [--quick] [--shm-json FILE] [--measurements FILE] [--rounds N] [--repeat N]',
  async run(argv: string[]): Promise<number> {
    const { flags, positional } = parseFlags(argv, {
      out: 'string',
      'shm-json': 'string',
      only: 'string',
      quick: 'boolean',
      measurements: 'string',
      rounds: 'string',
      repeat: 'string',
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
    const only = typeof flags.only === 'string' ? flags.only : undefined;
    if (only !== undefined && !(TRANSPORTS as readonly string[]).includes(only))
      throw new UsageError(`--only takes ${TRANSPORTS.join(' or ')}, not ${only}`);
    const rounds = typeof flags.rounds === 'string' ? Number(flags.rounds) : 5;
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new UsageError('--rounds takes an integer 1..50');
    const repeat = typeof flags.repeat === 'string' ? Number(flags.repeat) : 1;
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new UsageError('--repeat takes an integer 1..20');
    if (repeat > 1 && typeof flags.measurements === 'string')
      throw new UsageError('--repeat measures again each time: not with --measurements');
    const out = typeof flags.out === 'string' ? flags.out : 'calibration';
    const log = (s: string) => console.error(s);
    const quick = flags.quick === true;
    const labelNow = () =>
      `${os.hostname()} ${new Date().toISOString().slice(0, 16)}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`;
    try {
      if (typeof flags.measurements === 'string') {
        const measurements = readMeasurements(flags.measurements).filter(
          (m) => only === undefined || m.transport === only,
        );
        if (measurements.length === 0) {
          log('nothing measured');
          return 1;
        }
        const rows = fitAll(measurements, labelNow(), rounds, out, log);
        console.log(checkTable(rows));
        console.log(
          '\nFitted on the round trip (time, and CPU when measured) and the one-way stream; the RPC pool is predicted out of sample.',
        );
        return rows.some((r) => r.ok === false) ? 1 : 0;
      }
      // Each repetition measures every transport in turn (interleaved), then fits and checks it.
      const reps: CheckRow[][] = [];
      const loads: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const dir = repeat > 1 ? path.join(out, `run${i + 1}`) : out;
        loads.push(os.loadavg()[0]);
        if (os.loadavg()[0] > os.cpus().length * 0.75)
          log(
            `warning: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs: measurements will be noisy`,
          );
        if (repeat > 1)
          log(
            `--- run ${i + 1} of ${repeat} (load average ${os
              .loadavg()
              .map((x) => x.toFixed(2))
              .join(' ')})`,
          );
        const measurements: Measurement[] = [];
        if (only === undefined || only === 'af_unix') measurements.push(await measureAfUnix(quick, log));
        if (only === undefined || only === 'tessera_shm') {
          const m = await measureShm(typeof flags['shm-json'] === 'string' ? flags['shm-json'] : undefined, quick, log);
          if (m) measurements.push(m);
        }
        if (measurements.length === 0) {
          log('nothing measured');
          return 1;
        }
        const rows = fitAll(measurements, labelNow(), rounds, dir, log);
        console.log(checkTable(rows));
        reps.push(rows);
      }
      if (repeat > 1) {
        const summary = summarize(reps);
        fs.writeFileSync(
          path.join(out, 'summary.json'),
          JSON.stringify({ runs: repeat, loadAverages: loads, rows: summary }, null, 2) + '\n',
        );
        console.log(
          `\nover ${repeat} runs (1-min load average at each start: ${loads.map((x) => x.toFixed(2)).join(', ')}); wrote ${path.join(out, 'summary.json')}\n`,
        );
        console.log(summaryTable(summary));
      }
      console.log(
        '\nFitted on the round trip (time, and CPU when measured) and the one-way stream; the RPC pool is predicted out of sample.',
      );
      return reps.some((rows) => rows.some((r) => r.ok === false)) ? 1 : 0;
    } catch (err) {
      if (err instanceof InputError) {
        console.error(`tessera calibrate: ${err.message}`);
        return 2;
      }
      throw err;
    }
  },
};
