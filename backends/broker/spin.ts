// Spinning before sleeping, on both sides of a peer's rings. A waiter spins (reads a word) for up
// to its budget, then sleeps on a futex; a spin that ends in time resets the budget, one that had
// to sleep divides it, down to 0 (sleep at once), and at 0 every probeEvery-th wait spins the
// full budget again to find out whether spinning pays once more. The simulator's tessera_broker
// profile states the same numbers (a test holds them equal).
//
// A broker is a third party in every exchange, so a round trip between two peers keeps three
// threads busy; on a machine with fewer CPUs than spinners, a spinner holds the CPU the thread it
// waits for needs. A spinning waiter therefore gives its CPU away every yieldEveryProbes probes
// (sched_yield: nothing happens when no other thread is runnable on its CPU).
import { yieldCpu } from '../../native';

export const BROKER_SPIN_POLICY = {
  /** The longest spin before sleeping, µs. */
  budgetUs: 50,
  /** A wait that had to sleep divides the budget by this. */
  divisor: 4,
  /** A budget below this, µs, falls to 0. */
  floorUs: 1,
  /** At budget 0, every probeEvery-th wait spins the full budget again. */
  probeEvery: 64,
  /** A spinner gives its CPU away (sched_yield) every this many probes of the word (0: never). */
  yieldEveryProbes: 4,
} as const;

/** How a waiter spins: the longest spin (0: sleep at once) and whether it yields its CPU while spinning. */
export interface SpinOptions {
  spinUs?: number;
  yieldCpu?: boolean;
}

/** Probes between two reads of the clock. */
const CLOCK_EVERY = 64;

export class SpinBudget {
  private budgetUs: number;
  private sleeps = 0;
  readonly maxUs: number;
  readonly yieldEvery: number;

  constructor(options: SpinOptions = {}) {
    this.maxUs = options.spinUs ?? BROKER_SPIN_POLICY.budgetUs;
    this.budgetUs = this.maxUs;
    this.yieldEvery = options.yieldCpu === false ? 0 : BROKER_SPIN_POLICY.yieldEveryProbes;
  }

  /** The budget of the next wait, µs (the full budget on a probe). */
  next(): number {
    if (this.budgetUs > 0 || this.maxUs === 0) return this.budgetUs;
    return ++this.sleeps % BROKER_SPIN_POLICY.probeEvery === 0 ? this.maxUs : 0;
  }

  /** The wait ended while spinning. */
  won(): void {
    this.budgetUs = this.maxUs;
  }

  /** The wait had to sleep. */
  lost(): void {
    const b = this.budgetUs / BROKER_SPIN_POLICY.divisor;
    this.budgetUs = b < BROKER_SPIN_POLICY.floorUs ? 0 : b;
  }

  /**
   * Spins while i32[index] === seen, up to budgetUs; the value it changed to, or `seen` when the
   * budget ran out. Yields the CPU every yieldEvery probes.
   */
  spinWord(i32: Int32Array, index: number, seen: number, budgetUs: number): number {
    if (budgetUs <= 0) return Atomics.load(i32, index);
    const yieldEvery = this.yieldEvery;
    let t0 = -1;
    for (let probes = 1; ; probes++) {
      const v = Atomics.load(i32, index);
      if (v !== seen) return v;
      if (yieldEvery > 0 && probes % yieldEvery === 0) yieldCpu();
      if (probes % CLOCK_EVERY === 0) {
        const t = performance.now();
        if (t0 < 0) t0 = t;
        else if ((t - t0) * 1000 >= budgetUs) return seen;
      }
    }
  }
}

/** An idle spin of a loop that polls many words (the broker): call tick() once per idle pass. */
export class IdleSpin {
  private probes = 0;
  private t0 = -1;
  private budgetUs = 0;

  constructor(private readonly budget: SpinBudget) {}

  /** A new idle stretch starts. */
  start(): void {
    this.probes = 0;
    this.t0 = -1;
    this.budgetUs = this.budget.next();
  }

  /** One idle pass: false once the budget is spent (time to sleep). */
  tick(): boolean {
    if (this.budgetUs <= 0) return false;
    const p = ++this.probes;
    if (this.budget.yieldEvery > 0 && p % this.budget.yieldEvery === 0) yieldCpu();
    if (p % CLOCK_EVERY === 0) {
      const t = performance.now();
      if (this.t0 < 0) this.t0 = t;
      else if ((t - this.t0) * 1000 >= this.budgetUs) return false;
    }
    return true;
  }
}
