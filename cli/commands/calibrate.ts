// `tessera calibrate`: measure this machine and write simulator profiles.
// af_unix: the C socketpair baselines (bench/baselines) when a C compiler exists,
// else Node `net` over a Unix socket. tessera_shm: the shared-memory backend's
// bench JSON (`npm run bench -- --json FILE`) when present. The fitted profiles
// and the measurements are written to --out; the check table is printed.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type Command, parseFlags } from '../command';
import { loadProfile } from '../../simulator/load';
import { checkPredictions, checkTable, fitProfile, type CheckRow, type Measurement } from '../../simulator/calibration';

/** The bench record shape (bench/baselines/common.ts and the shm bench's JSON). */
interface BenchRecord {
  name: string;
  variant: string;
  medianRttUs: number | null;
  p99RttUs?: number | null;
  msgsPerSec: number | null;
  bytesPerSec?: number | null;
  wakesPerMsg?: number | null;
  skipped?: string;
}

interface Baselines {
  findCompiler(): string | null;
  cPingPong(o: { iterations?: number; warmup?: number }): Promise<BenchRecord>;
  cStream(o: { count?: number; warmup?: number }): Promise<BenchRecord>;
  netPingPong(o: { iterations?: number; warmup?: number }): Promise<BenchRecord>;
  netStream(o: { count?: number; warmup?: number }): Promise<BenchRecord>;
}

function loadBaselines(): Baselines | null {
  // Loaded by path at run time: the baselines are built by another part of the tree.
  const file = path.join(__dirname, '..', '..', 'bench', 'baselines', 'index.js');
  if (!fs.existsSync(file)) return null;
  return require(file) as Baselines;
}

async function measureAfUnix(quick: boolean, log: (s: string) => void): Promise<Measurement | null> {
  const b = loadBaselines();
  if (!b) { log('af_unix: bench/baselines is not built; skipped'); return null; }
  const n = quick ? { iterations: 5000, warmup: 500 } : { iterations: 100_000, warmup: 10_000 };
  const s = quick ? { count: 50_000, warmup: 5000 } : { count: 1_000_000, warmup: 50_000 };
  const useC = b.findCompiler() !== null;
  log(`af_unix: measuring with ${useC ? 'the C socketpair baselines' : 'Node net over a Unix socket (no C compiler)'}...`);
  const rtt = useC ? await b.cPingPong(n) : await b.netPingPong(n);
  const stream = useC ? await b.cStream(s) : await b.netStream(s);
  const sources = [rtt, stream].map((r) => `${r.name} (${r.variant})${r.skipped ? ` skipped: ${r.skipped}` : ''}`);
  return {
    transport: 'af_unix',
    rttNs: rtt.medianRttUs === null ? null : rtt.medianRttUs * 1000,
    oneWayMsgsPerSec: stream.msgsPerSec,
    rpcPoolCallsPerSec: null,
    rpcPool: { clients: 4, serverThreads: 2 },
    sources,
  };
}

function measureShm(file: string | undefined, log: (s: string) => void): Measurement | null {
  if (!file || !fs.existsSync(file)) {
    log(`tessera_shm: no shm bench results${file ? ` at ${file}` : ''} (run \`npm run bench -- --json FILE\` and pass --shm-json FILE); skipped`);
    return null;
  }
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchRecord[] | { records: BenchRecord[] };
  const records = (Array.isArray(parsed) ? parsed : parsed.records).filter((r) => !r.skipped);
  const find = (re: RegExp, field: 'medianRttUs' | 'msgsPerSec') => records.find((r) => re.test(`${r.name} ${r.variant}`) && r[field] !== null);
  const rtt = find(/call|ping/i, 'medianRttUs');
  const stream = find(/stream|one-?way|send/i, 'msgsPerSec');
  const pool = find(/pool|rpc/i, 'msgsPerSec');
  const poolShape = pool ? /(\d+)\s*clients?.*?(\d+)\s*(server )?threads?/i.exec(`${pool.name} ${pool.variant}`) : null;
  return {
    transport: 'tessera_shm',
    rttNs: rtt?.medianRttUs != null ? rtt.medianRttUs * 1000 : null,
    oneWayMsgsPerSec: stream?.msgsPerSec ?? null,
    rpcPoolCallsPerSec: pool?.msgsPerSec ?? null,
    rpcPool: poolShape ? { clients: Number(poolShape[1]), serverThreads: Number(poolShape[2]) } : { clients: 4, serverThreads: 2 },
    sources: [rtt, stream, pool].filter((r): r is BenchRecord => !!r).map((r) => `${file}: ${r.name} (${r.variant})`),
  };
}

export const command: Command = {
  name: 'calibrate',
  summary: 'Measure this machine (AF_UNIX baselines, shm bench results) and write calibrated simulator profiles',
  usage: 'tessera calibrate [--out DIR] [--shm-json FILE] [--only af_unix|tessera_shm] [--quick]',
  async run(argv: string[]): Promise<number> {
    const { flags } = parseFlags(argv, { out: 'string', 'shm-json': 'string', only: 'string', quick: 'boolean' });
    const out = typeof flags.out === 'string' ? flags.out : 'calibration';
    const log = (s: string) => console.error(s);
    const quick = flags.quick === true;
    if (os.loadavg()[0] > os.cpus().length * 0.75) log(`warning: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs: measurements will be noisy`);
    const measurements: Measurement[] = [];
    if (flags.only === undefined || flags.only === 'af_unix') {
      const m = await measureAfUnix(quick, log);
      if (m) measurements.push(m);
    }
    if (flags.only === undefined || flags.only === 'tessera_shm') {
      const m = measureShm(typeof flags['shm-json'] === 'string' ? flags['shm-json'] : undefined, log);
      if (m) measurements.push(m);
    }
    if (measurements.length === 0) { log('nothing measured'); return 1; }
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'measurements.json'), JSON.stringify(measurements, null, 2) + '\n');
    const rows: CheckRow[] = [];
    const label = `${os.hostname()} ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs`;
    for (const m of measurements) {
      log(`${m.transport}: fitting the profile (rtt ${m.rttNs?.toFixed(0) ?? '-'} ns, stream ${m.oneWayMsgsPerSec?.toFixed(0) ?? '-'} msgs/s)...`);
      const { profile, prediction } = fitProfile(loadProfile(m.transport), m, label);
      const file = path.join(out, `calibrated-${m.transport}.json`);
      fs.writeFileSync(file, JSON.stringify(profile, null, 2) + '\n');
      console.log(`wrote ${file}  (use: tessera sim pingpong --profile ${file})`);
      rows.push(...checkPredictions(m, prediction));
    }
    console.log(`wrote ${path.join(out, 'measurements.json')}\n`);
    console.log(checkTable(rows));
    return rows.some((r) => r.ok === false) ? 1 : 0;
  },
};
