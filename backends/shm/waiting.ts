// The waiting primitive: sleep on a 32-bit word of the shared buffer until another
// thread changes it and wakes that word, or until a time passes. Every sleep and
// every wake-up of the backend goes through one `Waiting`, so that the same bus can
// run between OS processes: V8's Atomics.wait / notify reach only the threads of one
// process, and across processes waiting and waking are futex calls on the shared
// mapping (FUTEX_WAIT / FUTEX_WAKE on the word's address), made by a native addon
// that implements this interface. Spinning (spin.ts) needs nothing of the kind: a
// load of a shared word sees another process's store as it sees another thread's.
import { notify as futexNotify, wait as futexWait, waitAsync as futexWaitAsync } from '../../native';
import { HDR_SPAN, SPAN_PROCESSES } from './layout';

/** How a wait ended. Any of them may be spurious: every caller re-checks its condition. */
export type WaitOutcome = 'ok' | 'not-equal' | 'timed-out';

export interface Waiting {
  /**
   * Block the calling thread while `words[index] === expected`, until a `wake` on the same word
   * or until `timeoutMs` passed (Infinity: no limit). Returns 'not-equal' at once when the word
   * already differs, so a wake between the caller's check and its sleep is never lost.
   */
  wait(words: Int32Array, index: number, expected: number, timeoutMs: number): WaitOutcome;
  /**
   * The same without blocking the thread (for promise-returning calls): the outcome at once
   * when the word already differs, else a promise settled by a wake or the timeout.
   */
  waitAsync(words: Int32Array, index: number, expected: number, timeoutMs: number): WaitOutcome | Promise<WaitOutcome>;
  /** Wake up to `count` waiters sleeping on `words[index]` (Infinity: all of them). */
  wake(words: Int32Array, index: number, count: number): void;
}

// Atomics.waitAsync is in Node 20 but not in the ES2022 library this project compiles against.
const atomicsWaitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
      t: number,
    ): { async: false; value: WaitOutcome } | { async: true; value: Promise<WaitOutcome> };
  }
).waitAsync;

/** Waiting between the threads of one process: V8's futex-backed Atomics. */
export const threadWaiting: Waiting = {
  wait: (words, index, expected, timeoutMs) => Atomics.wait(words, index, expected, timeoutMs),
  waitAsync: (words, index, expected, timeoutMs) => atomicsWaitAsync(words, index, expected, timeoutMs).value,
  wake: (words, index, count) => {
    Atomics.notify(words, index, count);
  },
};

/**
 * Waiting between OS processes that map the bus's segment: futex calls on the shared word
 * (the native addon; shared, not FUTEX_PRIVATE_FLAG), which reach threads of this process too.
 * Every waiter and waker of a bus that spans processes uses it (a futex wake does not reach an
 * Atomics.wait, nor the reverse). The backend's callers may pass a deadline already past or an
 * unbounded count: both are mapped to the addon's strict arguments here.
 */
export const processWaiting: Waiting = {
  wait: (words, index, expected, timeoutMs) => futexWait(words, index, expected, timeoutMs > 0 ? timeoutMs : 0),
  waitAsync: (words, index, expected, timeoutMs) =>
    futexWaitAsync(words, index, expected, timeoutMs > 0 ? timeoutMs : 0).value,
  wake: (words, index, count) => {
    futexNotify(words, index, count === Infinity ? undefined : count);
  },
};

/** How the buffer of a bus was made (layout.ts HDR_SPAN): its waiters wait with this primitive. */
export function waitingOfBus(words: Int32Array): Waiting {
  return Atomics.load(words, HDR_SPAN) === SPAN_PROCESSES ? processWaiting : threadWaiting;
}
