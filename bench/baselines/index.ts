/**
 * IPC baseline benchmarks: the transports Tessera's backends are compared against.
 *
 *   runBaselines({ quick, only, log })  runs the selected groups and returns BenchRecords;
 *   formatTable(records)                renders them as an aligned text table.
 *
 * Group ids for `only` (an entry selects every id equal to it or starting with it plus "."):
 *   sab.pingpong, sab.stream, pm.pingpong, pm.stream, net.pingpong, net.stream,
 *   c.pingpong, c.stream, c.scm.pingpong    e.g. only: ["sab", "c.scm"]
 *   xproc.*: the cross-process rows (xproc.ts), each run several times, interleaved, with spread
 *
 * Run from the compiled output (workers and the forked child are the compiled .js files):
 *   node dist/bench/baselines/run.js [--quick] [--only sab,net]
 */
import * as os from 'os';
import { measureHrtimeCostNs, noLog } from './common';
import type { BenchRecord, Log } from './common';
import { cPingPong, cScmPingPong, cStream } from './c';
import { netPingPong, netStream } from './net';
import { pmPingPong, pmStream } from './pm';
import { getSpinItersPerUs, sabPingPong, sabStream } from './sab';
import { runCrossProcess, XPROC_GROUP_IDS } from './xproc';

export type { BenchRecord, Log } from './common';
export { formatTable } from './common';
export type { Regime } from './common';
export { aggregateRuns, formatSpreadTable, runCrossProcess, XPROC_GROUP_IDS } from './xproc';
export { getSpinItersPerUs, sabPingPong, sabStream } from './sab';
export type { SabPingPongOptions, SabStreamOptions } from './sab';
export { pmPingPong, pmStream } from './pm';
export type { PmPingPongOptions, PmStreamOptions } from './pm';
export { netPingPong, netStream } from './net';
export type { NetPingPongOptions, NetStreamOptions } from './net';
export { buildCBench, cPingPong, cScmPingPong, cStream, findCompiler } from './c';
export type { CPingPongOptions, CScmOptions, CStreamOptions, FdMode } from './c';

export interface RunBaselinesOptions {
  /** Tiny iteration counts (a few seconds in all) instead of the full sizes. */
  quick?: boolean;
  /** Group ids or prefixes to run (default: all). */
  only?: string[];
  /** Progress lines. */
  log?: (line: string) => void;
  /** Runs of each cross-process configuration (default 5, 2 with quick). */
  xprocReps?: number;
  /** Pin each side of a cross-process run to a vCPU of its own (pin.ts). */
  xprocPin?: boolean;
}

interface Sizes {
  rtt: { iterations: number; warmup: number };
  rttC: { iterations: number; warmup: number };
  small: { count: number; warmup: number };
  smallC: { count: number; warmup: number };
  large: { count: number; warmup: number };
}

const FULL: Sizes = {
  rtt: { iterations: 100_000, warmup: 10_000 },
  rttC: { iterations: 200_000, warmup: 20_000 },
  small: { count: 1_000_000, warmup: 100_000 },
  smallC: { count: 1_000_000, warmup: 10_000 },
  large: { count: 16_384, warmup: 1_600 },
};

const QUICK: Sizes = {
  rtt: { iterations: 2_000, warmup: 200 },
  rttC: { iterations: 2_000, warmup: 200 },
  small: { count: 20_000, warmup: 2_000 },
  smallC: { count: 20_000, warmup: 2_000 },
  large: { count: 200, warmup: 20 },
};

const KIB64 = 65_536;

type Step = { label: string; run: () => Promise<BenchRecord> };

function groups(z: Sizes, log: Log): Record<string, Step[]> {
  return {
    'sab.pingpong': [
      { label: 'spin 0', run: () => sabPingPong({ ...z.rttC, spinUs: 0, log }) },
      { label: 'spin 30us', run: () => sabPingPong({ ...z.rttC, spinUs: 30, log }) },
    ],
    'sab.stream': [
      { label: '64B wait only', run: () => sabStream({ ...z.small, spinUs: 0, log }) },
      { label: '64B spin 30us', run: () => sabStream({ ...z.small, spinUs: 30, log }) },
      { label: '64B batch 32', run: () => sabStream({ ...z.small, spinUs: 0, publishEvery: 32, log }) },
      { label: '64KiB wait only', run: () => sabStream({ ...z.large, msgSize: KIB64, spinUs: 0, log }) },
      { label: '64KiB spin 30us', run: () => sabStream({ ...z.large, msgSize: KIB64, spinUs: 30, log }) },
    ],
    'pm.pingpong': [
      { label: 'main<->worker', run: () => pmPingPong({ ...z.rtt, between: 'main', log }) },
      { label: 'worker<->worker', run: () => pmPingPong({ ...z.rtt, between: 'worker', log }) },
    ],
    'pm.stream': [
      { label: '64B', run: () => pmStream({ ...z.small, log }) },
      { label: '64KiB', run: () => pmStream({ ...z.large, msgSize: KIB64, log }) },
    ],
    'net.pingpong': [{ label: '64B', run: () => netPingPong({ ...z.rtt, log }) }],
    'net.stream': [
      { label: '64B', run: () => netStream({ ...z.small, log }) },
      { label: '64KiB', run: () => netStream({ ...z.large, msgSize: KIB64, log }) },
    ],
    'c.pingpong': [{ label: '64B', run: () => cPingPong({ ...z.rttC, log }) }],
    'c.stream': [
      { label: '64B', run: () => cStream({ ...z.smallC, log }) },
      { label: '64KiB', run: () => cStream({ ...z.large, msgSize: KIB64, log }) },
    ],
    'c.scm.pingpong': [
      { label: 'no fd', run: () => cScmPingPong({ ...z.rtt, fdMode: 'none', log }) },
      { label: 'same fd', run: () => cScmPingPong({ ...z.rtt, fdMode: 'same', log }) },
      { label: 'new fd', run: () => cScmPingPong({ ...z.rtt, fdMode: 'new', log }) },
    ],
  };
}

export const GROUP_IDS: readonly string[] = [...Object.keys(groups(QUICK, noLog)), ...XPROC_GROUP_IDS];

/** Group ids selected by `only` (all when empty/undefined); throws on an entry matching none. */
export function selectGroups(only?: string[]): string[] {
  if (!only || only.length === 0) return [...GROUP_IDS];
  const picked = new Set<string>();
  for (const e of only) {
    const hits = GROUP_IDS.filter((g) => g === e || g.startsWith(e + '.'));
    if (hits.length === 0) throw new Error(`unknown baseline "${e}"; known: ${GROUP_IDS.join(', ')}`);
    hits.forEach((h) => picked.add(h));
  }
  return GROUP_IDS.filter((g) => picked.has(g));
}

export async function runBaselines(opts: RunBaselinesOptions = {}): Promise<BenchRecord[]> {
  const log = opts.log ?? noLog;
  const ids = selectGroups(opts.only);
  const all = groups(opts.quick ? QUICK : FULL, log);
  log(`baselines (${opts.quick ? 'quick' : 'full'}): ${ids.join(', ')}`);
  const load = os.loadavg()[0];
  const cpus = os.cpus().length;
  if (load > cpus * 0.75) {
    log(
      `  WARNING: 1-min load average ${load.toFixed(1)} on ${cpus} CPUs: other work competes for the CPUs; figures will be inflated and noisy`,
    );
  }
  if (ids.some((g) => g.startsWith('sab.'))) {
    const rate = await getSpinItersPerUs();
    log(
      `  spin calibration: ${rate.toFixed(1)} Atomics.load iterations/us; hrtime.bigint() pair ~${measureHrtimeCostNs().toFixed(0)} ns`,
    );
  }
  const out: BenchRecord[] = [];
  for (const id of ids) {
    if (XPROC_GROUP_IDS.includes(id)) continue;
    for (const step of all[id]) {
      log(`${id} ${step.label} ...`);
      const t0 = Date.now();
      const rec = await step.run();
      log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      out.push(rec);
    }
  }
  const xproc = ids.filter((id) => XPROC_GROUP_IDS.includes(id));
  if (xproc.length > 0)
    out.push(
      ...(await runCrossProcess({ quick: opts.quick, log, groups: xproc, reps: opts.xprocReps, pin: opts.xprocPin })),
    );
  return out;
}
export { cRpcPool, cRpcPoolRun, netRpcPool, netRpcPoolRun, poolWindowRate, rpcPoolShape } from './rpc-pool';
export type { PoolChildReport, RpcPoolOptions, RpcPoolRun } from './rpc-pool';
