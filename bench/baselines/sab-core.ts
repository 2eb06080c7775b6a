/**
 * Hot loops for the SharedArrayBuffer baselines. Imported by sab-worker.ts (which runs them) and
 * by sab.ts (which only uses the calibration). Every loop is a plain synchronous named function.
 *
 * Sleep protocol (lost-wakeup safe): a waiter that gives up spinning stores 1 in ITS OWN sleeping
 * flag, re-reads the watched word, and only then calls Atomics.wait(word, oldValue) (which itself
 * returns "not-equal" if the word already moved). After waking it clears its own flag. The
 * publisher stores the word first and then only READS the peer's flag, calling Atomics.notify when
 * it is set. All Atomics operations are sequentially consistent, so either the publisher sees the
 * flag or the waiter sees the new value. A publisher never clears the waiter's flag.
 */

/** Int32 indices; each hot word sits on its own 64-byte line. */
export const PP = {
  SEQ_AB: 0, // ping -> pong sequence (written by ping)
  SLEEP_B: 16, // pong sleeping on SEQ_AB (written by pong only)
  SEQ_BA: 32, // pong -> ping sequence (written by pong)
  SLEEP_A: 48, // ping sleeping on SEQ_BA (written by ping only)
  STOP: 64, // set by ping before its final message
  PAYLOAD_AB_BYTE: 512,
  PAYLOAD_BA_BYTE: 640,
  BYTES: 1024, // + message size rounding, see pingPongBytes()
} as const;

export function pingPongBytes(msgSize: number): number {
  // two payload regions of msgSize each, starting at 512 and 512+roundUp(msgSize, 128)
  return 512 + 2 * roundUp(msgSize, 128);
}

export function payloadOffsets(msgSize: number): { ab: number; ba: number } {
  return { ab: 512, ba: 512 + roundUp(msgSize, 128) };
}

export const RING = {
  HEAD: 0, // messages published by the producer (monotonic)
  CONS_SLEEP: 16, // consumer sleeping on HEAD (written by consumer only)
  TAIL: 32, // messages released by the consumer (monotonic)
  PROD_SLEEP: 48, // producer sleeping on TAIL (written by producer only)
  DATA_BYTE: 512,
} as const;

export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Wake statistics kept by each side (notifies it issued, and how many of them woke someone). */
export interface WakeCounters {
  notifies: number;
  wakes: number;
}

/**
 * Wait until i32[idx] !== old and return the new value: spin `spinIters` Atomics.load iterations,
 * then sleep with the flag protocol described at the top of this file.
 */
export function awaitChange(i32: Int32Array, idx: number, old: number, sleepIdx: number, spinIters: number): number {
  let v = Atomics.load(i32, idx);
  if (v !== old) return v;
  for (let k = 0; k < spinIters; k++) {
    v = Atomics.load(i32, idx);
    if (v !== old) return v;
  }
  for (;;) {
    Atomics.store(i32, sleepIdx, 1);
    v = Atomics.load(i32, idx);
    if (v !== old) {
      Atomics.store(i32, sleepIdx, 0);
      return v;
    }
    Atomics.wait(i32, idx, old);
    Atomics.store(i32, sleepIdx, 0);
    v = Atomics.load(i32, idx);
    if (v !== old) return v;
  }
}

/** Store a new value and wake the peer if (and only if) it announced it is sleeping. */
export function publish(i32: Int32Array, idx: number, value: number, peerSleepIdx: number, c: WakeCounters): void {
  Atomics.store(i32, idx, value);
  if (Atomics.load(i32, peerSleepIdx) !== 0) {
    c.notifies++;
    if (Atomics.notify(i32, idx, 1) > 0) c.wakes++;
  }
}

/**
 * The spin loop used for calibration: the same body as awaitChange's spin, on a word that never
 * changes. Returns the number of iterations run (so the loop cannot be optimised away).
 */
export function spinProbe(i32: Int32Array, idx: number, old: number, iters: number): number {
  let k = 0;
  for (; k < iters; k++) {
    if (Atomics.load(i32, idx) !== old) break;
  }
  return k;
}

let cachedItersPerUs = 0;

/**
 * Spin iterations per microsecond, calibrated once per process: the fastest of 41 short (~1 ms)
 * timed runs. Preemption by other load can only make a run slower, and a short run has a good
 * chance of completing inside one scheduler slice even on a busy machine.
 */
export function calibrateSpinItersPerUs(): number {
  if (cachedItersPerUs > 0) return cachedItersPerUs;
  const i32 = new Int32Array(new SharedArrayBuffer(64));
  spinProbe(i32, 0, 0, 2_000_000); // warm-up / JIT
  spinProbe(i32, 0, 0, 2_000_000);
  const n = 200_000;
  const rates: number[] = [];
  for (let r = 0; r < 41; r++) {
    const t0 = process.hrtime.bigint();
    const done = spinProbe(i32, 0, 0, n);
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((done * 1000) / ns);
  }
  cachedItersPerUs = Math.max(...rates);
  return cachedItersPerUs;
}

/** Copy n int32 words (small messages: cheaper than TypedArray.prototype.set's call overhead). */
export function copyWords(dst: Int32Array, dOff: number, src: Int32Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i];
}

// ---------------------------------------------------------------------------------------------
// Ping-pong

export interface PingPongCtx {
  i32: Int32Array;
  u8: Uint8Array;
  msgSize: number;
  spinIters: number;
  counters: WakeCounters;
  /** Local message buffers. */
  out: Uint8Array;
  outW: Int32Array;
  inn: Uint8Array;
  innW: Int32Array;
}

export function makePingPongCtx(sab: SharedArrayBuffer, msgSize: number, spinIters: number): PingPongCtx {
  const out = new Uint8Array(msgSize);
  const inn = new Uint8Array(msgSize);
  for (let i = 0; i < msgSize; i++) out[i] = i & 0xff;
  return {
    i32: new Int32Array(sab),
    u8: new Uint8Array(sab),
    msgSize,
    spinIters,
    counters: { notifies: 0, wakes: 0 },
    out,
    outW: new Int32Array(out.buffer, 0, msgSize >> 2),
    inn,
    innW: new Int32Array(inn.buffer, 0, msgSize >> 2),
  };
}

/**
 * Ping side: `iters` round trips starting after sequence `seq0`. When sampleEvery > 0, every
 * sampleEvery-th round trip is timed with process.hrtime.bigint() and stored (ns) in samples.
 * Stops early (setting STOP before its last message) when the deadline (hrtime ns) has passed,
 * checked every 1024 round trips. Returns the number of round trips done.
 */
export function pingLoop(
  c: PingPongCtx,
  seq0: number,
  iters: number,
  sampleEvery: number,
  samples: Float64Array,
  deadlineNs: bigint,
  stopAtEnd: boolean,
): { done: number; nSamples: number } {
  const { i32, msgSize } = c;
  const words = msgSize >> 2;
  const { ab, ba } = payloadOffsets(msgSize);
  const abW = ab >> 2;
  const baW = ba >> 2;
  const small = msgSize <= 256;
  let seq = seq0;
  let nSamples = 0;
  let i = 0;
  for (; i < iters; i++) {
    const last = i === iters - 1;
    if ((i & 1023) === 1023 && process.hrtime.bigint() > deadlineNs) {
      Atomics.store(i32, PP.STOP, 1);
      oneRoundTrip(c, ++seq, small, words, abW, baW, ab, ba);
      i++;
      break;
    }
    if (last && stopAtEnd) Atomics.store(i32, PP.STOP, 1);
    if (sampleEvery > 0 && i % sampleEvery === 0) {
      const t0 = process.hrtime.bigint();
      oneRoundTrip(c, ++seq, small, words, abW, baW, ab, ba);
      samples[nSamples++] = Number(process.hrtime.bigint() - t0);
    } else {
      oneRoundTrip(c, ++seq, small, words, abW, baW, ab, ba);
    }
  }
  return { done: i, nSamples };
}

function oneRoundTrip(
  c: PingPongCtx,
  seq: number,
  small: boolean,
  words: number,
  abW: number,
  baW: number,
  ab: number,
  ba: number,
): void {
  const i32 = c.i32;
  c.outW[0] = seq;
  if (small) copyWords(i32, abW, c.outW, 0, words);
  else c.u8.set(c.out, ab);
  publish(i32, PP.SEQ_AB, seq, PP.SLEEP_B, c.counters);
  let got = Atomics.load(i32, PP.SEQ_BA);
  while (got !== seq) got = awaitChange(i32, PP.SEQ_BA, got, PP.SLEEP_A, c.spinIters);
  if (small) copyWords(c.innW, 0, i32, baW, words);
  else c.inn.set(c.u8.subarray(ba, ba + c.msgSize));
  if (c.innW[0] !== seq) throw new Error(`ping: reply ${c.innW[0]} for ${seq}`);
}

/**
 * Pong side: echo messages until STOP is seen after a message. Returns messages echoed. The wake
 * counters are reset once `resetAfter` messages have been echoed (the end of the warm-up).
 */
export function pongLoop(c: PingPongCtx, resetAfter: number): number {
  const { i32, msgSize } = c;
  const words = msgSize >> 2;
  const { ab, ba } = payloadOffsets(msgSize);
  const abW = ab >> 2;
  const baW = ba >> 2;
  const small = msgSize <= 256;
  let seq = 0; // the known initial value (ping may already have published 1)
  let n = 0;
  for (;;) {
    seq = awaitChange(i32, PP.SEQ_AB, seq, PP.SLEEP_B, c.spinIters);
    if (small) copyWords(c.innW, 0, i32, abW, words);
    else c.inn.set(c.u8.subarray(ab, ab + msgSize));
    if (c.innW[0] !== seq) throw new Error(`pong: payload ${c.innW[0]} for ${seq}`);
    if (small) copyWords(i32, baW, c.innW, 0, words);
    else c.u8.set(c.inn, ba);
    const stop = Atomics.load(i32, PP.STOP) !== 0;
    publish(i32, PP.SEQ_BA, seq, PP.SLEEP_A, c.counters);
    n++;
    if (n === resetAfter) {
      c.counters.notifies = 0;
      c.counters.wakes = 0;
    }
    if (stop) return n;
  }
}

// ---------------------------------------------------------------------------------------------
// One-way ring stream (fixed-size slots, power-of-two slot count)

export interface RingCtx {
  i32: Int32Array;
  u8: Uint8Array;
  msgSize: number;
  slots: number;
  spinIters: number;
  publishEvery: number;
  counters: WakeCounters;
  /** Local position (head for the producer, tail for the consumer). */
  pos: number;
  msg: Uint8Array;
  msgW: Int32Array;
  errors: number;
}

export function ringBytes(msgSize: number, slots: number): number {
  return RING.DATA_BYTE + msgSize * slots;
}

export function makeRingCtx(
  sab: SharedArrayBuffer,
  msgSize: number,
  slots: number,
  spinIters: number,
  publishEvery: number,
): RingCtx {
  const msg = new Uint8Array(msgSize);
  for (let i = 0; i < msgSize; i++) msg[i] = (i * 7) & 0xff;
  return {
    i32: new Int32Array(sab),
    u8: new Uint8Array(sab),
    msgSize,
    slots,
    spinIters,
    publishEvery,
    counters: { notifies: 0, wakes: 0 },
    pos: 0,
    msg,
    msgW: new Int32Array(msg.buffer, 0, msgSize >> 2),
    errors: 0,
  };
}

/** Producer: write `count` messages (first word = message sequence number). */
export function produceLoop(c: RingCtx, count: number): void {
  const { i32, u8, msgSize, slots, spinIters, publishEvery, counters, msg, msgW } = c;
  const mask = slots - 1;
  const words = msgSize >> 2;
  const small = msgSize <= 256;
  let head = c.pos;
  let published = head;
  let tail = Atomics.load(i32, RING.TAIL);
  for (let m = 0; m < count; m++) {
    if (((head - tail) | 0) >= slots) {
      tail = Atomics.load(i32, RING.TAIL);
      if (((head - tail) | 0) >= slots) {
        if (published !== head) {
          publish(i32, RING.HEAD, head, RING.CONS_SLEEP, counters);
          published = head;
        }
        while (((head - tail) | 0) >= slots) tail = awaitChange(i32, RING.TAIL, tail, RING.PROD_SLEEP, spinIters);
      }
    }
    const off = RING.DATA_BYTE + (head & mask) * msgSize;
    msgW[0] = head;
    if (small) copyWords(i32, off >> 2, msgW, 0, words);
    else u8.set(msg, off);
    head = (head + 1) | 0;
    if (((head - published) | 0) >= publishEvery) {
      publish(i32, RING.HEAD, head, RING.CONS_SLEEP, counters);
      published = head;
    }
  }
  if (published !== head) publish(i32, RING.HEAD, head, RING.CONS_SLEEP, counters);
  c.pos = head;
}

/** Producer: wait until the consumer has released everything produced so far. */
export function drainWait(c: RingCtx): void {
  let tail = Atomics.load(c.i32, RING.TAIL);
  while (tail !== c.pos) tail = awaitChange(c.i32, RING.TAIL, tail, RING.PROD_SLEEP, c.spinIters);
}

/** Consumer: read `count` messages into a local buffer, checking the sequence numbers. */
export function consumeLoop(c: RingCtx, count: number): void {
  const { i32, u8, msgSize, slots, spinIters, publishEvery, counters, msg, msgW } = c;
  const mask = slots - 1;
  const words = msgSize >> 2;
  const small = msgSize <= 256;
  let tail = c.pos;
  let published = tail;
  let head = Atomics.load(i32, RING.HEAD);
  let errors = 0;
  for (let m = 0; m < count; m++) {
    if (head === tail) {
      head = Atomics.load(i32, RING.HEAD);
      if (head === tail) {
        if (published !== tail) {
          publish(i32, RING.TAIL, tail, RING.PROD_SLEEP, counters);
          published = tail;
        }
        head = awaitChange(i32, RING.HEAD, tail, RING.CONS_SLEEP, spinIters);
      }
    }
    const off = RING.DATA_BYTE + (tail & mask) * msgSize;
    if (small) copyWords(msgW, 0, i32, off >> 2, words);
    else msg.set(u8.subarray(off, off + msgSize));
    if (msgW[0] !== tail) errors++;
    tail = (tail + 1) | 0;
    if (((tail - published) | 0) >= publishEvery) {
      publish(i32, RING.TAIL, tail, RING.PROD_SLEEP, counters);
      published = tail;
    }
  }
  if (published !== tail) publish(i32, RING.TAIL, tail, RING.PROD_SLEEP, counters);
  c.pos = tail;
  c.errors += errors;
}
