/**
 * Shared types and helpers for the IPC baseline benchmarks.
 *
 * Nothing in here runs a hot loop; see the per-transport modules for those.
 */
import * as fs from 'fs';
import * as path from 'path';

/** One measured (or skipped) configuration. */
export interface BenchRecord {
  /** Transport + pattern, e.g. "sab.pingpong". */
  name: string;
  /** Configuration and measuring method, e.g. "spin 0 (Atomics.wait only); rtt: hrtime every 4th RT". */
  variant: string;
  medianRttUs: number | null;
  /** Mean of the same round-trip samples (rows that report it; the pool rows of the shm bench). */
  meanRttUs?: number | null;
  p99RttUs: number | null;
  msgsPerSec: number | null;
  bytesPerSec: number | null;
  /** Notify/wake-ups that actually woke a sleeper, divided by messages. */
  wakesPerMsg: number | null;
  /** Round-trip samples (ping-pong) or messages (streams) the figures rest on. */
  samples: number;
  /** Set when the measurement could not run (e.g. no C compiler); all figures are then null. */
  skipped?: string;
  /** How the waiters wait: spinning (spin, then sleep) or sleeping (straight to the kernel). */
  regime?: Regime;
  /**
   * Cross-process rows: the share of samples in which the run's two busiest processes last ran on
   * the same vCPU (bench/baselines/placement.ts); null where it could not be sampled.
   */
  sameVcpu?: number | null;
  /** Cross-process rows of a --pin run: whether this row's sides were pinned to vCPUs of their own (bench/baselines/pin.ts). */
  pinned?: boolean;
  /** Runs the figures are the median of (cross-process rows). */
  runs?: number;
  /** Each run's figures in run order (rows whose runs pair with another row's: the shm RPC pool). */
  perRun?: Partial<Record<'medianRttUs' | 'meanRttUs' | 'msgsPerSec' | 'wakesPerMsg', (number | null)[]>>;
  /** The smallest and largest value of a figure over the runs. */
  spread?: Partial<Record<'medianRttUs' | 'p99RttUs' | 'msgsPerSec' | 'bytesPerSec' | 'sameVcpu', [number, number]>>;
}

/**
 * spinning: a waiter spins on the shared word (~30 us) before it sleeps, so a round trip whose
 * peer runs on the other vCPU never enters the kernel; sleeping: every wait goes to the kernel at
 * once (a futex, or a blocking socket call). On 2 vCPUs spinning only pays while both sides run.
 */
export type Regime = 'spinning' | 'sleeping';

export type Log = (line: string) => void;

export const noLog: Log = () => undefined;

export function emptyRecord(name: string, variant: string): BenchRecord {
  return {
    name,
    variant,
    medianRttUs: null,
    p99RttUs: null,
    msgsPerSec: null,
    bytesPerSec: null,
    wakesPerMsg: null,
    samples: 0,
  };
}

export function skippedRecord(name: string, variant: string, reason: string): BenchRecord {
  return { ...emptyRecord(name, variant), skipped: reason };
}

/** Sort a copy of the samples (nanoseconds) and return median and p99 in microseconds. */
export function rttStats(
  samplesNs: ArrayLike<number>,
  count: number,
): { medianUs: number | null; p99Us: number | null } {
  if (count <= 0) return { medianUs: null, p99Us: null };
  const sorted = Float64Array.from({ length: count }, (_, i) => samplesNs[i]);
  sorted.sort();
  return {
    medianUs: percentileSorted(sorted, 0.5) / 1000,
    p99Us: percentileSorted(sorted, 0.99) / 1000,
  };
}

/** Nearest-rank percentile of an ascending array (q in [0,1]). */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[rank];
}

/**
 * Locate a sibling entry file (worker or child process) of the calling module.
 * Compiled: dist/bench/baselines/<base>.js next to the caller. Under tsx (source .ts, no compiled
 * sibling), the .ts file is returned together with the execArgv that makes Node load it.
 */
export function siblingEntry(dir: string, base: string): { file: string; execArgv: string[] } {
  const js = path.join(dir, base + '.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  const ts = path.join(dir, base + '.ts');
  if (fs.existsSync(ts)) return { file: ts, execArgv: ['--require', 'tsx/cjs'] };
  throw new Error(`bench entry ${base}(.js|.ts) not found in ${dir}`);
}

/** Cost of one process.hrtime.bigint() pair, in ns (median of a few runs); for reporting only. */
export function measureHrtimeCostNs(): number {
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) runs.push(hrtimeCostOnce(20000));
  runs.sort((a, b) => a - b);
  return runs[3];
}

function hrtimeCostOnce(n: number): number {
  const start = process.hrtime.bigint();
  let sink = 0n;
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    sink += process.hrtime.bigint() - a;
  }
  const total = Number(process.hrtime.bigint() - start);
  if (sink < 0n) throw new Error('clock went backwards');
  return total / n;
}

export function fmtNum(v: number | null, digits: number): string {
  if (v === null || !Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

/** 1234567 -> "1.23M", 4321 -> "4.32k". */
export function fmtSi(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (a >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return v.toFixed(0);
}

/** Aligned plain-text table of the records. */
export function formatTable(records: BenchRecord[]): string {
  const header = ['name', 'variant', 'median us', 'p99 us', 'msgs/s', 'MB/s', 'wakes/msg', 'samples'];
  const rows: string[][] = records.map((r) => {
    if (r.skipped !== undefined) {
      return [r.name, r.variant, 'skipped: ' + r.skipped, '', '', '', '', '0'];
    }
    return [
      r.name,
      r.variant,
      fmtNum(r.medianRttUs, 2),
      fmtNum(r.p99RttUs, 2),
      fmtSi(r.msgsPerSec),
      r.bytesPerSec === null ? '-' : (r.bytesPerSec / 1e6).toFixed(0),
      r.wakesPerMsg === null ? '-' : r.wakesPerMsg.toFixed(4),
      String(r.samples),
    ];
  });
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  // A skipped row's reason spans the numeric columns: do not let it widen them.
  const numericStart = 2;
  for (let c = numericStart; c < header.length; c++) {
    widths[c] = Math.max(
      header[c].length,
      ...rows.filter((_, i) => records[i].skipped === undefined).map((row) => row[c].length),
    );
  }
  const rightAligned = (c: number) => c >= numericStart;
  const line = (row: string[], isSkipped: boolean) => {
    if (isSkipped) return [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[2]].join('  ');
    return row
      .map((cell, c) => (rightAligned(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  };
  const out = [line(header, false), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((row, i) => out.push(line(row, records[i].skipped !== undefined)));
  return out.join('\n');
}

/**
 * The clock of a callback-driven ping-pong (one ping in flight): call `ping()` right before each
 * send and `pong()` as each echo arrives; `pong()` says whether to send again. The first `warmup`
 * round trips are not sampled; the measured phase stops after `maxMs` (checked every 1024 samples).
 */
export class PingPongClock {
  readonly samples: Float64Array;
  private readonly total: number;
  private i = 0;
  private measured = 0;
  private t0 = 0n;
  private tStart = 0n;
  private deadline = 0n;

  constructor(
    private readonly warmup: number,
    iterations: number,
    private readonly maxMs: number,
  ) {
    this.samples = new Float64Array(iterations);
    this.total = warmup + iterations;
  }

  private startMeasuring(): void {
    this.tStart = process.hrtime.bigint();
    this.deadline = this.tStart + BigInt(Math.round(this.maxMs * 1e6));
  }

  ping(): void {
    if (this.tStart === 0n && this.warmup === 0) this.startMeasuring();
    this.t0 = process.hrtime.bigint();
  }

  /** An echo arrived: sample it; true when another round trip should follow. */
  pong(): boolean {
    const t1 = process.hrtime.bigint();
    if (this.i >= this.warmup) this.samples[this.measured++] = Number(t1 - this.t0);
    this.i++;
    if (this.i === this.warmup) this.startMeasuring();
    return this.i < this.total && !((this.measured & 1023) === 1023 && t1 > this.deadline);
  }

  result(): { done: number; samples: Float64Array; elapsedNs: number } {
    return { done: this.measured, samples: this.samples, elapsedNs: Number(process.hrtime.bigint() - this.tStart) };
  }
}
