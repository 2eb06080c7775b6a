// Spinning on shared words before sleeping, and the adaptive budget of one peer
// (DESIGN.md, "Wake-ups and spinning"). A spin is plain loads of a shared word: it
// works the same between processes as between threads. Where the native addon loads, the
// loop runs in it, with the CPU's spin-wait hint between probes (which JavaScript cannot
// issue); the JavaScript loops below are the same spins without the hint.
import { performance } from 'perf_hooks';
import { nativeAvailability, SPIN_CHANGED, SPIN_EQUALS, SPIN_TIMED_OUT, type SpinWait } from '../../native';
import { SPIN_POLICY } from './spin-policy';

export const now = (): number => performance.now();

// The clock starts at the 64th probe, not before the first: a wait that ends within 64 probes
// (the common case of a round trip whose peer runs) never reads the clock, which costs about as
// much as the probes themselves. A budget is therefore exceeded by at most 64 probes.

/** What ended spinUntilEqualsOrChanged: the native spinWait's codes. */
export { SPIN_CHANGED, SPIN_EQUALS, SPIN_TIMED_OUT };

/**
 * The environment variable that keeps every spin of this process in JavaScript (value `js`):
 * for measuring what the native loop is worth, and for running as where the addon is absent.
 */
export const SPIN_ENV = 'TESSERA_SHM_SPIN';

function loadSpinWait(): SpinWait | null {
  if (process.env[SPIN_ENV] === 'js') return null;
  const a = nativeAvailability();
  return a.available ? a.addon.spinWait : null;
}

/** The addon's spin loop, or null where it does not load (every spin then runs in JavaScript). */
const nativeSpin: SpinWait | null = loadSpinWait();

/** Whether this thread's spins run in the native addon (with the CPU's spin-wait hint). */
export const spinsNatively = (): boolean => nativeSpin !== null;

/** Spin until `words[index]` moves away from `seen` or `budgetMs` passed; whether it moved. */
export function spinUntilChanged(words: Int32Array, index: number, seen: number, budgetMs: number): boolean {
  if (nativeSpin !== null) return nativeSpin(words, -1, 0, index, seen, budgetMs) === SPIN_CHANGED;
  return jsSpinUntilChanged(words, index, seen, budgetMs);
}

/** Spin until `words[index]` equals `want` or `budgetMs` passed; whether it does. */
export function spinUntilEquals(words: Int32Array, index: number, want: number, budgetMs: number): boolean {
  if (nativeSpin !== null) return nativeSpin(words, index, want, -1, 0, budgetMs) === SPIN_EQUALS;
  return jsSpinUntilEquals(words, index, want, budgetMs);
}

/**
 * Spin until `words[wantIndex]` equals `want` (first) or `words[seenIndex]` moves away from
 * `seen`, or `budgetMs` passed. Both words on one line make it one line to watch.
 */
export function spinUntilEqualsOrChanged(
  words: Int32Array,
  wantIndex: number,
  want: number,
  seenIndex: number,
  seen: number,
  budgetMs: number,
): number {
  if (nativeSpin !== null) return nativeSpin(words, wantIndex, want, seenIndex, seen, budgetMs);
  return jsSpinUntilEqualsOrChanged(words, wantIndex, want, seenIndex, seen, budgetMs);
}

/** spinUntilChanged in JavaScript. */
export function jsSpinUntilChanged(words: Int32Array, index: number, seen: number, budgetMs: number): boolean {
  let t0 = -1;
  for (let i = 1; ; i++) {
    if (Atomics.load(words, index) !== seen) return true;
    if ((i & 63) === 0) {
      const t = now();
      if (t0 < 0) t0 = t;
      else if (t - t0 > budgetMs) return false;
    }
  }
}

/** spinUntilEquals in JavaScript. */
export function jsSpinUntilEquals(words: Int32Array, index: number, want: number, budgetMs: number): boolean {
  let t0 = -1;
  for (let i = 1; ; i++) {
    if (Atomics.load(words, index) === want) return true;
    if ((i & 63) === 0) {
      const t = now();
      if (t0 < 0) t0 = t;
      else if (t - t0 > budgetMs) return false;
    }
  }
}

/** spinUntilEqualsOrChanged in JavaScript. */
export function jsSpinUntilEqualsOrChanged(
  words: Int32Array,
  wantIndex: number,
  want: number,
  seenIndex: number,
  seen: number,
  budgetMs: number,
): number {
  let t0 = -1;
  for (let i = 1; ; i++) {
    if (Atomics.load(words, wantIndex) === want) return SPIN_EQUALS;
    if (Atomics.load(words, seenIndex) !== seen) return SPIN_CHANGED;
    if ((i & 63) === 0) {
      const t = now();
      if (t0 < 0) t0 = t;
      else if (t - t0 > budgetMs) return SPIN_TIMED_OUT;
    }
  }
}

/** How often a peer whose spin budget fell to 0 tries a full spin again (in waits). */
const PROBE_EVERY = SPIN_POLICY.probeEvery;
const DIVISOR = SPIN_POLICY.divisor;
const FLOOR_MS = SPIN_POLICY.floorUs / 1000;
const SHRINK_ONLY_WHEN_SHARED = SPIN_POLICY.shrinkOnlyWhenShared;

/**
 * One peer's spin budget (SPIN_POLICY). A wait that ends while spinning resets it to the maximum;
 * one that had to sleep divides it by the divisor, down to 0 below the floor; at 0 every
 * probeEvery-th wait spins the full budget again (a probe). On 2 vCPUs a spin pays only while the
 * other side runs at the same time; when both share a vCPU every spin only delays the other, so
 * the budget must collapse fast, and the probes find out when spinning pays again. But a spin
 * also runs out when the peer on another vCPU is slow for a moment (descheduled, collecting
 * garbage): shrinking then makes both sides sleep, and pay a wake-up each way, for the next
 * probeEvery waits. So with `sharesCpu` (the seat's: whether a peer that may answer last ran on
 * this thread's CPU) a wait that had to sleep shrinks the budget only when the peer shares the CPU.
 */
export class SpinPolicy {
  /** Longest spin, ms; 0 never spins. */
  private readonly maxMs: number;
  private currentMs: number;
  private waitsSinceProbe = 0;
  /** Waits that ended while spinning / after the spin ran out. */
  won = 0;
  lost = 0;
  /** Whether a peer that may answer shares this thread's CPU; null: not known (every lost spin shrinks the budget). */
  sharesCpu: (() => boolean) | null = null;

  constructor(spinUs: number) {
    this.maxMs = spinUs > 0 ? spinUs / 1000 : 0;
    this.currentMs = this.maxMs;
  }

  /** The spin budget of the next wait, ms. */
  budget(): number {
    if (this.currentMs > 0) return this.currentMs;
    if (this.maxMs === 0) return 0;
    if (++this.waitsSinceProbe < PROBE_EVERY) return 0;
    this.waitsSinceProbe = 0;
    return this.maxMs;
  }

  spinWon(): void {
    this.won++;
    this.currentMs = this.maxMs;
  }

  spinLost(): void {
    this.lost++;
    if (this.currentMs > 0 && SHRINK_ONLY_WHEN_SHARED && this.sharesCpu !== null && !this.sharesCpu()) return;
    const next = this.currentMs / DIVISOR;
    this.currentMs = next < FLOOR_MS ? 0 : next;
  }
}
