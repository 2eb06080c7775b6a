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
import { DEFAULT_POOL, checkPredictions, checkTable, fitProfile, type CheckRow, type Measurement } from '../../simulator/calibration';
import { cPingPong, cRpcPoolRun, cStream, findCompiler, netPingPong, netRpcPoolRun, netStream, type BenchRecord } from '../../bench/baselines';

const TRANSPORTS = ['af_unix', 'tessera_shm'] as const;

/** Measured sizes: full (the defaults of baselines.md) or --quick (a few seconds in all). */
function sizes(quick: boolean) {
  return quick
    ? { rtt: { iterations: 3000, warmup: 300 }, stream: { count: 50_000, warmup: 5000 }, pool: { iterations: 2000, warmup: 200 } }
    : { rtt: { iterations: 100_000, warmup: 10_000 }, stream: { count: 1_000_000, warmup: 50_000 }, pool: { iterations: 50_000, warmup: 5000 } };
}

function source(r: BenchRecord): string {
  return `${r.name} (${r.variant})${r.skipped ? ` skipped: ${r.skipped}` : ''}`;
}

async function measureAfUnix(quick: boolean, log: (s: string) => void): Promise<Measurement> {
  const z = sizes(quick);
  const useC = findCompiler() !== null;
  log(`af_unix: measuring with ${useC ? 'the C socketpair baselines' : 'Node net over a Unix socket (no C compiler)'}${quick ? ' (quick)' : ''}...`);
  const rtt = useC ? await cPingPong({ ...z.rtt, log }) : await netPingPong({ ...z.rtt, log });
  const stream = useC ? await cStream({ ...z.stream, log }) : await netStream({ ...z.stream, log });
  const poolRun = useC ? cRpcPoolRun : netRpcPoolRun;
  // One client: the ping-pong again, with the CPU time it costs (what share of a round trip is work).
  const one = await poolRun({ ...z.rtt, clients: 1, log });
  const pool = await poolRun({ ...z.pool, clients: DEFAULT_POOL.clients, log });
  return {
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
  runShmBenchmarks(o: { quick?: boolean; log?: (s: string) => void }): Promise<BenchRecord[]>;
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
  const rtt = calls.find((r) => /adaptive/.test(r.variant)) ?? calls[0] ?? ok.find((r) => r.medianRttUs !== null && /call|ping/i.test(r.name) && !/rpc|pool/i.test(r.name));
  const stream = ok.find((r) => r.msgsPerSec !== null && /^shm\.stream\b/.test(r.name) && /\b64B\b/.test(r.variant))
    ?? ok.find((r) => r.msgsPerSec !== null && /stream|one-?way/i.test(`${r.name} ${r.variant}`));
  const pool = ok.find((r) => r.msgsPerSec !== null && /rpc|pool/i.test(r.name));
  const clients = pool ? /(\d+)\s*clients?/i.exec(pool.variant) : null;
  const threads = pool ? /(\d+)\s*(?:server )?threads?/i.exec(pool.variant) : null;
  return {
    transport: 'tessera_shm',
    rttNs: rtt?.medianRttUs != null ? rtt.medianRttUs * 1000 : null,
    oneWayMsgsPerSec: stream?.msgsPerSec ?? null,
    rpcPoolCallsPerSec: pool?.msgsPerSec ?? null,
    // The shm bench's server is one worker thread.
    rpcPool: { clients: clients ? Number(clients[1]) : DEFAULT_POOL.clients, serverThreads: threads ? Number(threads[1]) : 1 },
    sources: [rtt, stream, pool].filter((r): r is BenchRecord => !!r).map((r) => `${where}: ${source(r)}`),
  };
}

async function measureShm(file: string | undefined, quick: boolean, log: (s: string) => void): Promise<Measurement | null> {
  if (file) {
    if (!fs.existsSync(file)) throw new InputError(`${file}: no such shm bench results file`);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchRecord[] | { records: BenchRecord[] };
    return shmMeasurement(Array.isArray(parsed) ? parsed : parsed.records, file);
  }
  const bench = loadShmBench();
  if (!bench) {
    log('tessera_shm: the shm bench (bench/shm) is not built; skipped (or pass --shm-json FILE from `npm run bench -- --json FILE`)');
    return null;
  }
  log(`tessera_shm: running the shm backend's bench${quick ? ' (quick)' : ''}...`);
  return shmMeasurement(await bench.runShmBenchmarks({ quick, log }), 'bench/shm');
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
    if (!Array.isArray(m.sources)) m.sources = [`${file}`];
  });
  return list as Measurement[];
}

export const command: Command = {
  name: 'calibrate',
  summary: 'Measure this machine (AF_UNIX baselines incl. an RPC pool, the shm bench) and write calibrated simulator profiles',
  usage: 'tessera calibrate [--out DIR] [--only af_unix|tessera_shm] [--quick] [--shm-json FILE] [--measurements FILE] [--rounds N]',
  async run(argv: string[]): Promise<number> {
    const { flags, positional } = parseFlags(argv, { out: 'string', 'shm-json': 'string', only: 'string', quick: 'boolean', measurements: 'string', rounds: 'string' });
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
    const only = typeof flags.only === 'string' ? flags.only : undefined;
    if (only !== undefined && !(TRANSPORTS as readonly string[]).includes(only)) throw new UsageError(`--only takes ${TRANSPORTS.join(' or ')}, not ${only}`);
    const rounds = typeof flags.rounds === 'string' ? Number(flags.rounds) : 5;
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new UsageError('--rounds takes an integer 1..50');
    const out = typeof flags.out === 'string' ? flags.out : 'calibration';
    const log = (s: string) => console.error(s);
    const quick = flags.quick === true;
    try {
      let measurements: Measurement[] = [];
      if (typeof flags.measurements === 'string') {
        measurements = readMeasurements(flags.measurements).filter((m) => only === undefined || m.transport === only);
      } else {
        if (os.loadavg()[0] > os.cpus().length * 0.75) log(`warning: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs: measurements will be noisy`);
        if (only === undefined || only === 'af_unix') measurements.push(await measureAfUnix(quick, log));
        if (only === undefined || only === 'tessera_shm') {
          const m = await measureShm(typeof flags['shm-json'] === 'string' ? flags['shm-json'] : undefined, quick, log);
          if (m) measurements.push(m);
        }
      }
      if (measurements.length === 0) { log('nothing measured'); return 1; }
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'measurements.json'), JSON.stringify(measurements, null, 2) + '\n');
      const rows: CheckRow[] = [];
      const label = `${os.hostname()} ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`;
      for (const m of measurements) {
        log(`${m.transport}: fitting the profile (rtt ${m.rttNs?.toFixed(0) ?? '-'} ns, CPU per round trip ${m.cpuNsPerRoundTrip?.toFixed(0) ?? '-'} ns, stream ${m.oneWayMsgsPerSec?.toFixed(0) ?? '-'} msgs/s)...`);
        const { profile, prediction } = fitProfile(loadProfile(m.transport), m, label, rounds);
        const file = path.join(out, `calibrated-${m.transport}.json`);
        fs.writeFileSync(file, JSON.stringify(profile, null, 2) + '\n');
        console.log(`wrote ${file}  (use: tessera sim pingpong --profile ${file})`);
        rows.push(...checkPredictions(m, prediction));
      }
      fs.writeFileSync(path.join(out, 'check.json'), JSON.stringify(rows, null, 2) + '\n');
      console.log(`wrote ${path.join(out, 'measurements.json')} and ${path.join(out, 'check.json')}\n`);
      console.log(checkTable(rows));
      console.log('\nFitted on the round trip (time, and CPU when measured) and the one-way stream; the RPC pool is predicted out of sample.');
      return rows.some((r) => r.ok === false) ? 1 : 0;
    } catch (err) {
      if (err instanceof InputError) { console.error(`tessera calibrate: ${err.message}`); return 2; }
      throw err;
    }
  },
};
