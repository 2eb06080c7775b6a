// What a run counts: operations, messages, wake-ups, switches, CPU time, latency samples
// and the outcomes of operations. Every module of the engine adds to one Metrics; the
// results are assembled from it at the end (results.ts).

export class Metrics {
  operations = 0;
  messages = 0;
  calls = 0;
  wakes = 0;
  handoffs = 0;
  syscalls = 0;
  contextSwitches = 0;
  migrations = 0;
  /** Threads that lost their CPU before they were done (time slice, background load). */
  preemptions = 0;
  busyNs = 0;
  computeNs = 0;
  spinNs = 0;
  /** The most frequent outcome, counted apart from the map (one per call). */
  replies = 0;
  private latency = new Float64Array(1024);
  private latencyCount = 0;
  private readonly outcomes = new Map<string, { n: number }>();

  count(key: string): void {
    // One lookup per count: each key's counter is a box.
    const box = this.outcomes.get(key);
    if (box !== undefined) box.n++;
    else this.outcomes.set(key, { n: 1 });
  }

  /** One latency sample, ns. */
  sample(ns: number): void {
    if (this.latencyCount === this.latency.length) {
      const l = new Float64Array(this.latency.length * 2);
      l.set(this.latency);
      this.latency = l;
    }
    this.latency[this.latencyCount++] = ns;
  }

  /** The latency samples, sorted (a copy). */
  sortedLatency(): Float64Array {
    return this.latency.slice(0, this.latencyCount).sort();
  }

  /** Outcome counts by key, keys sorted, replies included. */
  outcomeCounts(): Record<string, number> {
    const outcomes: Record<string, number> = {};
    const counted = new Map<string, number>();
    for (const [k, box] of this.outcomes) counted.set(k, box.n);
    if (this.replies > 0) counted.set('reply', (counted.get('reply') ?? 0) + this.replies);
    for (const k of [...counted.keys()].sort()) outcomes[k] = counted.get(k)!;
    return outcomes;
  }
}

/** The outcome key of a notice type ("notice:" + type), made once per type. */
const NOTICE_KEYS = new Map<string, string>();
export function noticeKey(type: string): string {
  let k = NOTICE_KEYS.get(type);
  if (k === undefined) NOTICE_KEYS.set(type, (k = `notice:${type}`));
  return k;
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
