// The phases of the lock holds of one peer, timed for bench/shm/call-phases by wrapping the
// lock, unlock, release and publish methods of its bus core (diagnostic only: it adds four
// clock reads per hold).
import { performance } from 'perf_hooks';
import type { ShmPeer } from '../../backends/shm';
import { peerSeat } from './index';

/** The phases of a hold, in the order they happen (between: from one hold's end to the next one's start). */
export const PHASES = ['acquire', 'hold', 'release', 'publish', 'between'] as const;
export type Phase = (typeof PHASES)[number];
/** Per phase: median and 90th percentile, ns. */
export type PhaseFigures = Record<Phase, [number, number]>;

/** Holds recorded (the first tenth is left out of the figures: warm-up). */
const CAPACITY = 400_000;

/** Starts timing `p`'s holds; the function returned gives the figures so far. */
export function instrument(p: ShmPeer): () => PhaseFigures {
  const core = peerSeat(p).core;
  const t = Object.fromEntries(PHASES.map((k) => [k, new Float64Array(CAPACITY)])) as Record<Phase, Float64Array>;
  let i = 0,
    start = 0,
    acquired = 0,
    ended = 0;
  const lock = core.lock.bind(core),
    unlock = core.unlock.bind(core);
  const busLock = core.busLock,
    release = busLock.release.bind(busLock);
  const wakeups = core.wakeups,
    publish = wakeups.publish.bind(wakeups);
  core.lock = () => {
    start = performance.now();
    lock();
    acquired = performance.now();
    if (i < CAPACITY) {
      t.acquire[i] = acquired - start;
      t.between[i] = ended > 0 ? start - ended : 0;
    }
  };
  core.unlock = () => {
    unlock();
    ended = performance.now();
    if (i < CAPACITY) t.hold[i] = ended - acquired;
    i++;
  };
  busLock.release = () => {
    const a = performance.now();
    release();
    if (i < CAPACITY) t.release[i] = performance.now() - a;
  };
  wakeups.publish = () => {
    const a = performance.now();
    publish();
    if (i < CAPACITY) t.publish[i] = performance.now() - a;
  };
  return () => {
    const n = Math.min(i, CAPACITY),
      from = Math.floor(n / 10);
    const out = {} as PhaseFigures;
    for (const k of PHASES) {
      const s = t[k].slice(from, n).sort();
      const at = (q: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))] * 1e6);
      out[k] = [at(0.5), at(0.9)];
    }
    return out;
  };
}
