/**
 * Where the scheduler ran the two processes of a cross-process run: sampled from /proc while
 * the run goes on, as the share of samples in which both last ran on the same vCPU.
 *
 * On two vCPUs that share decides a run. Two processes on one vCPU wake each other with a
 * context switch and cannot spin usefully; on two vCPUs a spin pays, while a wake-up of a
 * sleeping peer becomes an interrupt to the other vCPU, which costs far more on some virtual
 * machines. The figure lets a reader tell a run that measured the transport from one that
 * measured the placement.
 *
 * Every `everyMs` the orchestrating process reads the stat files of its descendants (children
 * and their children: the C benchmarks fork), keeps the last CPU each ran on and its CPU time,
 * and at the end takes the two that used the most CPU (itself and its one child when it has
 * only one: it is then a side of the run). Linux only (null elsewhere). A sample
 * costs the orchestrator a few tens of microseconds on one of the vCPUs, about 1% of it at the
 * default interval.
 */
import * as fs from 'fs';

/** The figure of one run: the share of samples with the two busiest descendants on one vCPU, and the samples it rests on. */
export interface Placement {
  sameVcpu: number;
  samples: number;
}

interface Seen {
  /** The CPU the process last ran on, per sample index (a hole: not seen in that sample). */
  cpu: number[];
  firstTicks: number;
  lastTicks: number;
  running: number;
}

/** Fewer samples than this give no figure: a run too short to say anything about its placement. */
const MIN_SAMPLES = 3;

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // the process ended between listing and reading
  }
}

/** state, last CPU and user+system ticks from /proc/<pid>/stat (fields 3, 39, 14 and 15). */
export function parseStat(text: string): { state: string; cpu: number; ticks: number } | null {
  const end = text.lastIndexOf(')');
  if (end < 0) return null;
  const f = text
    .slice(end + 2)
    .trim()
    .split(' ');
  const cpu = Number(f[36]),
    ticks = Number(f[11]) + Number(f[12]);
  if (f.length < 37 || !Number.isInteger(cpu) || !Number.isFinite(ticks)) return null;
  return { state: f[0], cpu, ticks };
}

/** Children of a process (its main thread's: Node forks from it), and theirs, depth first. */
function descendants(root: number, out: number[], depth = 0): number[] {
  if (depth > 3) return out;
  const text = readText(`/proc/${root}/task/${root}/children`);
  if (text === null) return out;
  for (const word of text.trim().split(/\s+/)) {
    const pid = Number(word);
    if (word !== '' && Number.isInteger(pid)) {
      out.push(pid);
      descendants(pid, out, depth + 1);
    }
  }
  return out;
}

export class PlacementSampler {
  private readonly seen = new Map<number, Seen>();
  private samples = 0;
  private readonly timer: NodeJS.Timeout | null;

  /** Starts sampling at once; `stop` ends it. Does nothing where /proc has no children files. */
  constructor(everyMs = 5) {
    const usable =
      process.platform === 'linux' && readText(`/proc/${process.pid}/task/${process.pid}/children`) !== null;
    this.timer = usable ? setInterval(() => this.sample(), everyMs) : null;
    this.timer?.unref();
  }

  private sample(): void {
    const index = this.samples++;
    for (const pid of [process.pid, ...descendants(process.pid, [])]) {
      const text = readText(`/proc/${pid}/stat`);
      const s = text === null ? null : parseStat(text);
      if (s === null) continue;
      let e = this.seen.get(pid);
      if (e === undefined) {
        e = { cpu: [], firstTicks: s.ticks, lastTicks: s.ticks, running: 0 };
        this.seen.set(pid, e);
      }
      e.cpu[index] = s.cpu;
      e.lastTicks = s.ticks;
      if (s.state === 'R') e.running++;
    }
  }

  /** The outcome of the first stop (later stops return it again). */
  private result: Placement | null | undefined = undefined;

  /** The run's figure, or null: no /proc, fewer than two processes seen, or too few samples with both. */
  stop(): Placement | null {
    if (this.result === undefined) this.result = this.figure();
    return this.result;
  }

  private figure(): Placement | null {
    if (this.timer === null) return null;
    clearInterval(this.timer);
    // This process only when it is one of the two sides (a run with a single child: Node net's).
    const others = [...this.seen.entries()].filter(([pid]) => pid !== process.pid).map(([, e]) => e);
    const self = this.seen.get(process.pid);
    const candidates = others.length >= 2 || self === undefined ? others : [...others, self];
    const busiest = candidates
      .sort((a, b) => b.lastTicks - b.firstTicks - (a.lastTicks - a.firstTicks) || b.running - a.running)
      .slice(0, 2);
    if (busiest.length < 2) return null;
    const [a, b] = busiest;
    let both = 0,
      same = 0;
    for (let i = 0; i < this.samples; i++) {
      const x = a.cpu[i],
        y = b.cpu[i];
      if (x === undefined || y === undefined) continue;
      both++;
      if (x === y) same++;
    }
    return both < MIN_SAMPLES ? null : { sameVcpu: same / both, samples: both };
  }
}
