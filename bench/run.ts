// `npm run bench`: the shm backend and the IPC baselines in one process run,
// with ratios against the performance targets (targets() below: each a ratio to a baseline
// measured in the same run). Never a pass/fail test.
//   node dist/bench/run.js [--quick] [--json FILE] [--skip-baselines] [--only call,stream64,...]
//                          [--baselines sab,net.pingpong,c.pingpong] [--reps N] [--xproc-reps N] [--pin]
// --only picks shm workloads (bench/shm SHM_WORKLOADS); --baselines picks baseline groups
// (bench/baselines GROUP_IDS); --targets-only runs just the baselines the targets need.
// rpcpool / rpcpool0 (spinning / sleeping): an RPC pool whose server answers by reply then receive
// or by replyReceive, the two interleaved over rounds, printed with their ratio.
// The cross-process baselines (xproc.*) print as a table of their own: each row the median of
// --xproc-reps runs (default 5) with the spread of the runs, and its regime. With --pin each side
// of a two-process row runs on a vCPU of its own (bench/baselines/pin.ts), so that a spinning row
// is two processes spinning side by side, not wherever the scheduler put them.
import * as fs from 'fs';
import { fmtSi, formatTable, type BenchRecord } from './baselines/common';
import { formatSpreadTable, runBaselines } from './baselines';
import { ADDON_SPIN } from './baselines/xproc';
import { pinningUnavailable } from './baselines/pin';
import { RPC_POOL_NAMES, SHM_WORKLOADS, runShmBenchmarks } from './shm';
import { BROKER_ENGINES, brokerAccounts, formatAccounts, formatStreamAccounts, streamAccounts } from './broker';

/** The baseline groups the performance targets (targets() below) are ratios against. */
const TARGET_BASELINES = ['sab.pingpong', 'sab.stream', 'net.pingpong', 'c.pingpong'];

function listFlag(argv: string[], name: string): string[] | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const v = argv[at + 1];
  if (!v || v.startsWith('--')) throw new Error(`${name} needs a comma-separated list`);
  return v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

interface Target {
  name: string;
  /** The measured ratio (null when a record is missing). */
  ratio: number | null;
  /** Over the runs of a cross-process row: the ratio's least and greatest from its two figures' min..max. */
  range?: [number, number];
  /** Why the ratio does not mean what its name says (a "spinning" row whose waiters mostly slept). */
  caveat?: string;
  /** 'max': ratio must be <= limit; 'min': ratio must be >= limit. */
  kind: 'max' | 'min';
  limit: number;
  what: string;
}

function find(
  records: BenchRecord[],
  name: string,
  variantIncludes: string[] = [],
  variantExcludes: string[] = [],
): BenchRecord | undefined {
  return records.find(
    (r) =>
      r.name === name &&
      r.skipped === undefined &&
      variantIncludes.every((v) => r.variant.includes(v)) &&
      !variantExcludes.some((v) => r.variant.includes(v)),
  );
}

function best(
  records: BenchRecord[],
  name: string,
  key: 'msgsPerSec' | 'bytesPerSec' | 'medianRttUs',
  include: string[],
  exclude: string[] = [],
): number | null {
  const vals = records
    .filter(
      (r) =>
        r.name === name &&
        r.skipped === undefined &&
        include.every((v) => r.variant.includes(v)) &&
        !exclude.some((v) => r.variant.includes(v)),
    )
    .map((r) => r[key])
    .filter((v): v is number => v !== null);
  if (vals.length === 0) return null;
  return key === 'medianRttUs' ? Math.min(...vals) : Math.max(...vals);
}

const div = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null || b == null || b === 0 ? null : a / b;

export function targets(records: BenchRecord[]): Target[] {
  const call = find(records, 'shm.call', ['adaptive'], ['no hand-off']);
  const call0 = find(records, 'shm.call', ['spin 0']);
  const sabSpin =
    find(records, 'sab.pingpong', ['spin 30'])?.medianRttUs ??
    best(records, 'sab.pingpong', 'medianRttUs', [], ['spin 0']);
  const sab0 = find(records, 'sab.pingpong', ['spin 0'])?.medianRttUs;
  const net = find(records, 'net.pingpong')?.medianRttUs;
  const c = find(records, 'c.pingpong')?.medianRttUs;
  const stream64 = find(records, 'shm.stream', ['64B']);
  const stream64k = find(records, 'shm.stream', ['64KiB']);
  const ring64 = best(records, 'sab.stream', 'msgsPerSec', ['64B'], ['batch', 'published']);
  const ring64k = best(records, 'sab.stream', 'bytesPerSec', ['64KiB']);
  const plain = find(records, 'shm.send', ['no handle']);
  const withHandle = find(records, 'shm.send', ['1 handle']);
  const uni = find(records, 'shm.unicast');
  const multi = find(records, 'shm.multicast');
  return [
    {
      name: 'call RTT / bare SAB ping-pong (spin)',
      ratio: div(call?.medianRttUs, sabSpin),
      kind: 'max',
      limit: 3,
      what: 'x slower at most',
    },
    {
      name: 'Node net Unix socket RTT / call RTT',
      ratio: div(net, call?.medianRttUs),
      kind: 'min',
      limit: 20,
      what: 'x faster at least',
    },
    {
      name: 'C AF_UNIX RTT / call RTT',
      ratio: div(c, call?.medianRttUs),
      kind: 'min',
      limit: 4,
      what: 'x faster at least',
    },
    {
      name: 'call RTT spin 0 / bare Atomics.wait ping-pong',
      ratio: div(call0?.medianRttUs, sab0),
      kind: 'max',
      limit: 1.5,
      what: 'x slower at most',
    },
    {
      name: '64B stream / bare ring msgs/s',
      ratio: div(stream64?.msgsPerSec, ring64),
      kind: 'min',
      limit: 0.3,
      what: 'of the ring at least',
    },
    {
      name: '64KiB stream / bare ring bytes/s',
      ratio: div(stream64k?.bytesPerSec, ring64k),
      kind: 'min',
      limit: 0.5,
      what: 'of the ring at least',
    },
    {
      name: 'cost of a message with 1 handle / without',
      ratio: div(plain?.msgsPerSec, withHandle?.msgsPerSec),
      kind: 'max',
      limit: 1.5,
      what: 'x at most',
    },
    {
      name: 'wakes per message, 64B stream',
      ratio: stream64?.wakesPerMsg ?? null,
      kind: 'max',
      limit: 0.1,
      what: 'at most',
    },
    {
      name: 'cost of a multicast to 8 / a unicast',
      ratio: div(uni?.msgsPerSec, multi?.msgsPerSec),
      kind: 'max',
      limit: 3,
      what: 'x at most',
    },
  ];
}

type Figure = 'medianRttUs' | 'msgsPerSec';

/** a / b from two records' figures, with the widest range their runs' spreads allow. */
function ratioOf(a: BenchRecord | undefined, b: BenchRecord | undefined, f: Figure): Pick<Target, 'ratio' | 'range'> {
  const ratio = div(a?.[f], b?.[f]);
  const sa = a?.spread?.[f],
    sb = b?.spread?.[f];
  if (ratio === null || !sa || !sb) return { ratio };
  return { ratio, range: [sa[0] / sb[1], sa[1] / sb[0]] };
}

/**
 * A row labelled spinning whose waits mostly ended in the kernel (more than half a wake-up per
 * message: the spins lost, as on a loaded machine or when both processes share one vCPU) was not
 * measured in the spinning regime: the ratio is then flagged, not trusted.
 */
function notSpinning(...rs: (BenchRecord | undefined)[]): string | undefined {
  const slept = rs.filter((r) => r?.regime === 'spinning' && r.wakesPerMsg !== null && r.wakesPerMsg > 0.5);
  if (slept.length === 0) return undefined;
  return `not the spinning regime: ${slept.map((r) => `${r!.name} slept ${r!.wakesPerMsg!.toFixed(2)} wakes/msg`).join(', ')}`;
}

/**
 * The cross-process targets: Tessera between two processes against the baselines of the same run
 * (bench/baselines/xproc.ts), 64 B, each ratio with its regime and its range over the runs.
 */
export function crossProcessTargets(records: BenchRecord[]): Target[] {
  const callSpin = find(records, 'xproc.tessera.call', ['64B', 'adaptive'], ['V8 default']);
  const callSleep = find(records, 'xproc.tessera.call', ['64B', 'spin 0'], ['V8 default']);
  // The bare ping-pong that spins as Tessera's processes do: in the addon's loop (spin.ts).
  const sabSpin = find(records, 'xproc.sab.pingpong', ['64B', 'spin 30us', ADDON_SPIN]);
  const cUnix = find(records, 'xproc.c.unix.pingpong', ['64B']);
  const net = find(records, 'xproc.net.pingpong', ['64B']);
  const futexSleep = find(records, 'xproc.c.futex.pingpong', ['64B', 'futex only']);
  const plain = find(records, 'xproc.tessera.send', ['no handle']);
  const withHandle = find(records, 'xproc.tessera.send', ['1 handle']);
  return [
    {
      name: 'processes: call RTT / bare SAB ping-pong (both spinning)',
      ...ratioOf(callSpin, sabSpin, 'medianRttUs'),
      caveat: notSpinning(callSpin, sabSpin),
      kind: 'max',
      limit: 3,
      what: 'x slower at most',
    },
    {
      name: 'processes: C AF_UNIX RTT (sleeping) / call RTT (spinning)',
      ...ratioOf(cUnix, callSpin, 'medianRttUs'),
      caveat: notSpinning(callSpin),
      kind: 'min',
      limit: 4,
      what: 'x faster at least',
    },
    {
      name: 'processes: Node net RTT (sleeping) / call RTT (spinning)',
      ...ratioOf(net, callSpin, 'medianRttUs'),
      caveat: notSpinning(callSpin),
      kind: 'min',
      limit: 20,
      what: 'x faster at least',
    },
    {
      name: 'processes: cost of a message with 1 handle / without (spinning)',
      ...ratioOf(plain, withHandle, 'msgsPerSec'),
      kind: 'max',
      limit: 1.5,
      what: 'x at most',
    },
    {
      name: 'processes: call RTT / C futex ping-pong (both sleeping)',
      ...ratioOf(callSleep, futexSleep, 'medianRttUs'),
      kind: 'max',
      limit: 1.5,
      what: 'x slower at most',
    },
  ];
}

/** (b)/(a) of one figure: of the two rows' medians, and of each round (a round runs a and b back to back). */
interface PairedRatio {
  ofMedians: number | null;
  perRound: (number | null)[];
  /** Least and greatest of the rounds' ratios. */
  range?: [number, number];
}

type PoolFigure = 'medianRttUs' | 'meanRttUs' | 'msgsPerSec';

function paired(a: BenchRecord, b: BenchRecord, f: PoolFigure): PairedRatio {
  const ra = a.perRun?.[f] ?? [],
    rb = b.perRun?.[f] ?? [];
  const perRound = rb.map((v, i) => div(v, ra[i]));
  const known = perRound.filter((v): v is number => v !== null);
  return {
    ofMedians: div(b[f], a[f]),
    perRound,
    ...(known.length > 0 ? { range: [Math.min(...known), Math.max(...known)] as [number, number] } : {}),
  };
}

/** The RPC pool's two servers of one regime, measured in the same run: (b) replyReceive against (a) reply then receive. */
interface PoolComparison {
  regime: 'spinning' | 'sleeping';
  rows: {
    name: string;
    callsPerSec: number | null;
    meanRttUs: number | null;
    medianRttUs: number | null;
    wakesPerCall: number | null;
  }[];
  callsPerSec: PairedRatio;
  medianRtt: PairedRatio;
  meanRtt: PairedRatio;
  /** Set when a spinning row's waiters mostly slept (the load took the spins): not the spinning regime. */
  caveat?: string;
}

export function replyReceiveComparison(records: BenchRecord[]): PoolComparison[] {
  const out: PoolComparison[] = [];
  for (const regime of ['spinning', 'sleeping'] as const) {
    const [a, b] = RPC_POOL_NAMES.map((n) => records.find((r) => r.name === n && r.regime === regime));
    if (!a || !b) continue;
    out.push({
      regime,
      rows: [a, b].map((r) => ({
        name: r.name,
        callsPerSec: r.msgsPerSec,
        meanRttUs: r.meanRttUs ?? null,
        medianRttUs: r.medianRttUs,
        // a call is two messages: wakesPerMsg counts the sleeps of both sides per message
        wakesPerCall: r.wakesPerMsg === null ? null : 2 * r.wakesPerMsg,
      })),
      callsPerSec: paired(a, b, 'msgsPerSec'),
      medianRtt: paired(a, b, 'medianRttUs'),
      meanRtt: paired(a, b, 'meanRttUs'),
      caveat: notSpinning(a, b),
    });
  }
  return out;
}

export function formatComparison(cs: PoolComparison[]): string {
  const f = (v: number | null, d: number) => (v === null ? '-' : v.toFixed(d));
  const ratio = (r: PairedRatio) =>
    `${f(r.ofMedians, 3)}${r.range ? ` [rounds ${r.range[0].toFixed(2)}..${r.range[1].toFixed(2)}]` : ''}`;
  const lines: string[] = [];
  for (const c of cs) {
    for (const r of c.rows)
      lines.push(
        `${c.regime.padEnd(9)} ${r.name.padEnd(26)} ${fmtSi(r.callsPerSec).padStart(7)} calls/s  mean ${f(r.meanRttUs, 2)} us  median ${f(r.medianRttUs, 2)} us  wakes/call ${f(r.wakesPerCall, 3)}`,
      );
    lines.push(
      `${''.padEnd(9)} (b)/(a): calls/s ${ratio(c.callsPerSec)}, median RTT ${ratio(c.medianRtt)}, mean RTT ${ratio(c.meanRtt)}`,
    );
    if (c.caveat) lines.push(`${''.padEnd(9)} ${c.caveat}`);
  }
  return lines.join('\n');
}

function verdict(t: Target): string {
  if (t.ratio === null) return 'n/a (baseline missing or skipped)';
  if (t.caveat) return `n/a (${t.caveat})`;
  const met = t.kind === 'max' ? t.ratio <= t.limit : t.ratio >= t.limit;
  return met ? 'met' : 'MISSED';
}

export function formatTargets(ts: Target[]): string {
  const w = Math.max(...ts.map((t) => t.name.length));
  return ts
    .map(
      (t) =>
        `${t.name.padEnd(w)}  ${t.ratio === null ? '-'.padStart(8) : t.ratio.toFixed(3).padStart(8)}  target ${t.kind === 'max' ? '<=' : '>='} ${t.limit} (${t.what})  ${verdict(t)}${t.range ? `  [runs: ${t.range[0].toFixed(2)}..${t.range[1].toFixed(2)}]` : ''}`,
    )
    .join('\n');
}

/** The broker's rows as ratios to the C AF_UNIX rows of the same run. */
function brokerRatios(rs: BenchRecord[]): string[] {
  const row = (name: string, inc: string[], regime?: string) =>
    rs.find(
      (r) =>
        r.name === name &&
        r.skipped === undefined &&
        inc.every((i) => r.variant.includes(i)) &&
        (regime === undefined || r.regime === regime),
    );
  const out: string[] = [];
  const unix = row('xproc.c.unix.pingpong', ['64B']);
  for (const engine of BROKER_ENGINES)
    for (const regime of ['spinning', 'sleeping']) {
      const b = row('xproc.broker.call', ['64B', `${engine} engine`], regime);
      if (b?.medianRttUs && unix?.medianRttUs)
        out.push(
          `  call round trip, ${regime}, ${engine} engine: broker ${b.medianRttUs.toFixed(2)} us / C AF_UNIX ping-pong ${unix.medianRttUs.toFixed(2)} us = ${(b.medianRttUs / unix.medianRttUs).toFixed(2)}`,
        );
    }
  for (const engine of BROKER_ENGINES)
    for (const size of ['64B', '64KiB']) {
      const b = row('xproc.broker.stream', [size, `${engine} engine`]);
      const u = row('xproc.c.unix.stream', [size]);
      if (b?.msgsPerSec && u?.msgsPerSec)
        out.push(
          `  one-way ${size} messages/s, spinning, ${engine} engine: broker ${Math.round(b.msgsPerSec)} / C AF_UNIX ${Math.round(u.msgsPerSec)} = ${(b.msgsPerSec / u.msgsPerSec).toFixed(2)}`,
        );
    }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const jsonAt = argv.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
  const usage =
    'usage: run.js [--quick] [--json FILE] [--skip-baselines] [--only call,stream64,...] [--baselines sab,...] [--targets-only] [--reps N] [--xproc-reps N] [--pin]';
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${usage}\n--only: ${SHM_WORKLOADS.join(',')}`);
    return 0;
  }
  if (jsonAt >= 0 && !jsonFile) {
    console.error(usage);
    return 2;
  }
  let only: string[] | undefined, baselines: string[] | undefined;
  try {
    only = listFlag(argv, '--only');
    baselines = argv.includes('--targets-only') ? TARGET_BASELINES : listFlag(argv, '--baselines');
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  const repsAt = argv.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(argv[repsAt + 1]) : undefined;
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1)) {
    console.error(usage);
    return 2;
  }
  const xprocAt = argv.indexOf('--xproc-reps');
  const xprocReps = xprocAt >= 0 ? Number(argv[xprocAt + 1]) : undefined;
  if (xprocReps !== undefined && !(Number.isInteger(xprocReps) && xprocReps >= 1)) {
    console.error(usage);
    return 2;
  }
  const pin = argv.includes('--pin');
  const cannotPin = pin ? pinningUnavailable() : null;
  if (cannotPin !== null) {
    console.error(`--pin: ${cannotPin}`);
    return 2;
  }
  const log = (line: string) => console.error(line);
  const records: BenchRecord[] = [];
  log(`tessera bench (${quick ? 'quick' : 'full'}): shm backend, then baselines, in one process run`);
  records.push(...(await runShmBenchmarks({ quick, log, only, reps })));
  if (!argv.includes('--skip-baselines'))
    records.push(...(await runBaselines({ quick, log, only: baselines, xprocReps, xprocPin: pin })));
  const ts = targets(records);
  const xts = crossProcessTargets(records);
  const crossProcess = records.filter((r) => r.name.startsWith('xproc.'));
  console.log(formatTable(records.filter((r) => !r.name.startsWith('xproc.'))));
  if (crossProcess.length > 0) {
    const pinned = pin ? ', each side pinned to a vCPU of its own (--pin)' : '';
    console.log(`\ncross-process baselines (two OS processes${pinned}; median of the runs, [min..max] over the runs):`);
    console.log(formatSpreadTable(crossProcess));
  }
  const brokerLines = brokerRatios(crossProcess);
  if (brokerLines.length > 0) {
    console.log('\nthe broker against C AF_UNIX between processes (same run; < 1 is faster):');
    for (const l of brokerLines) console.log(l);
    if (brokerAccounts.length > 0) {
      console.log("where the broker's time goes (timed inside the broker's thread over the call rows):");
      for (const l of formatAccounts()) console.log(l);
    }
    if (streamAccounts.length > 0) {
      console.log("the broker's streams (counted by the broker and both peers):");
      for (const l of formatStreamAccounts()) console.log(l);
    }
  }
  console.log('\nratios against the performance targets (same run):');
  console.log(formatTargets(ts));
  const pool = replyReceiveComparison(records);
  if (pool.length > 0) {
    console.log(
      '\nRPC pool, replyReceive (b) vs reply + receive (a): same run, interleaved rounds; [rounds]: range over them',
    );
    console.log(formatComparison(pool));
  }
  if (crossProcess.length > 0) {
    console.log('\nratios across processes (same run; regime of each side named; [runs]: range over the runs):');
    console.log(formatTargets(xts));
  }
  if (jsonFile) {
    fs.writeFileSync(
      jsonFile,
      JSON.stringify(
        {
          quick,
          records,
          ratios: ts.map((t) => ({ ...t, verdict: verdict(t) })),
          crossProcessRatios: xts.map((t) => ({ ...t, verdict: verdict(t) })),
          replyReceiveVsReplyThenReceive: pool,
        },
        null,
        2,
      ) + '\n',
    );
    log(`wrote ${jsonFile}`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
