/**
 * Hot loops of the cross-process SharedArrayBuffer baselines: the ping-pong and ring of
 * sab-core.ts (same layout, same sleep-flag protocol), with the waiting primitive passed in, so
 * that two processes mapping one memfd sleep and wake each other through the native futex.
 * Each process uses one implementation, so the calls through `w` stay monomorphic.
 *
 * Sleep protocol (lost-wakeup safe, as sab-core's): a waiter stores 1 in its own sleep flag,
 * re-reads the word, and only then waits on it (the futex compares the word in the kernel); the
 * publisher stores the word, then reads the peer's flag and notifies only if it is set.
 */
import { spinWait, type Waiting } from '../../native';
import { copyWords, PP, payloadOffsets, RING } from './sab-core';

export interface XCounters {
  /** Notifies issued (the peer's flag was set). */
  notifies: number;
  /** Notifies that woke a sleeper. */
  wakes: number;
  /** Waits that went to the kernel. */
  sleeps: number;
}

export const newCounters = (): XCounters => ({ notifies: 0, wakes: 0, sleeps: 0 });

/**
 * Wait until i32[idx] !== old: spin `spinIters` loads (or, when nativeSpinMs > 0, spin that long
 * in the addon's loop, with the CPU's spin-wait hint between probes), then sleep in w.wait;
 * returns the new value.
 */
export function xAwaitChange(
  w: Waiting,
  i32: Int32Array,
  idx: number,
  old: number,
  sleepIdx: number,
  spinIters: number,
  c: XCounters,
  nativeSpinMs = 0,
): number {
  let v = Atomics.load(i32, idx);
  if (v !== old) return v;
  if (nativeSpinMs > 0) {
    if (spinWait(i32, -1, 0, idx, old, nativeSpinMs) !== 0) return Atomics.load(i32, idx);
  } else {
    for (let k = 0; k < spinIters; k++) {
      v = Atomics.load(i32, idx);
      if (v !== old) return v;
    }
  }
  for (;;) {
    Atomics.store(i32, sleepIdx, 1);
    v = Atomics.load(i32, idx);
    if (v !== old) {
      Atomics.store(i32, sleepIdx, 0);
      return v;
    }
    c.sleeps++;
    w.wait(i32, idx, old);
    Atomics.store(i32, sleepIdx, 0);
    v = Atomics.load(i32, idx);
    if (v !== old) return v;
  }
}

/** As xAwaitChange, sleeping in w.waitAsync: the event loop stays free while it waits. */
export async function xAwaitChangeAsync(
  w: Waiting,
  i32: Int32Array,
  idx: number,
  old: number,
  sleepIdx: number,
  c: XCounters,
): Promise<number> {
  for (;;) {
    Atomics.store(i32, sleepIdx, 1);
    let v = Atomics.load(i32, idx);
    if (v !== old) {
      Atomics.store(i32, sleepIdx, 0);
      return v;
    }
    c.sleeps++;
    const r = w.waitAsync(i32, idx, old);
    if (r.async) await r.value;
    Atomics.store(i32, sleepIdx, 0);
    v = Atomics.load(i32, idx);
    if (v !== old) return v;
  }
}

/** Store a new value and wake the peer if (and only if) it announced that it sleeps. */
export function xPublish(w: Waiting, i32: Int32Array, idx: number, value: number, peerSleepIdx: number, c: XCounters) {
  Atomics.store(i32, idx, value);
  if (Atomics.load(i32, peerSleepIdx) !== 0) {
    c.notifies++;
    if (w.notify(i32, idx, 1) > 0) c.wakes++;
  }
}

/** One side of a ping-pong: its views, message buffers and counters. */
export interface XPingPong {
  w: Waiting;
  i32: Int32Array;
  u8: Uint8Array;
  msgSize: number;
  spinIters: number;
  /** When > 0, waits spin this long in the addon's loop (spinWait) instead of spinIters loads. */
  nativeSpinMs: number;
  /** Busy work (ns) each side does between taking a message and answering it (0: none). */
  workNs: number;
  c: XCounters;
  buf: Uint8Array;
  bufW: Int32Array;
}

export function makeXPingPong(
  w: Waiting,
  sab: SharedArrayBuffer,
  msgSize: number,
  spinIters: number,
  workNs = 0,
  nativeSpinMs = 0,
): XPingPong {
  const buf = new Uint8Array(msgSize);
  for (let i = 0; i < msgSize; i++) buf[i] = i & 0xff;
  return {
    w,
    i32: new Int32Array(sab),
    u8: new Uint8Array(sab),
    msgSize,
    spinIters,
    nativeSpinMs,
    workNs,
    c: newCounters(),
    buf,
    bufW: new Int32Array(buf.buffer, 0, msgSize >> 2),
  };
}

/** Keep the CPU busy for `ns` (a request prepared, a reply computed): the clock read until it passed. */
function work(ns: number): void {
  if (ns <= 0) return;
  const end = process.hrtime.bigint() + BigInt(ns);
  while (process.hrtime.bigint() < end);
}

function put(p: XPingPong, byteOffset: number): void {
  if (p.msgSize <= 256) copyWords(p.i32, byteOffset >> 2, p.bufW, 0, p.msgSize >> 2);
  else p.u8.set(p.buf, byteOffset);
}

function take(p: XPingPong, byteOffset: number): void {
  if (p.msgSize <= 256) copyWords(p.bufW, 0, p.i32, byteOffset >> 2, p.msgSize >> 2);
  else p.buf.set(p.u8.subarray(byteOffset, byteOffset + p.msgSize));
}

/**
 * Ping: `iters` round trips after sequence seq0, timing every sampleEvery-th into samples (ns);
 * sets STOP before its last message (at the end, or once deadlineNs has passed, checked every
 * 1024 round trips) when stopAtEnd. Returns the round trips done and samples taken.
 */
export function xPingLoop(
  p: XPingPong,
  seq0: number,
  iters: number,
  sampleEvery: number,
  samples: Float64Array,
  deadlineNs: bigint,
  stopAtEnd: boolean,
): { done: number; nSamples: number } {
  const { ab, ba } = payloadOffsets(p.msgSize);
  let seq = seq0;
  let nSamples = 0;
  let i = 0;
  for (; i < iters; i++) {
    const late = (i & 1023) === 1023 && process.hrtime.bigint() > deadlineNs;
    if (stopAtEnd && (late || i === iters - 1)) Atomics.store(p.i32, PP.STOP, 1);
    const timed = sampleEvery > 0 && i % sampleEvery === 0;
    const t0 = timed ? process.hrtime.bigint() : 0n;
    work(p.workNs);
    p.bufW[0] = ++seq;
    put(p, ab);
    xPublish(p.w, p.i32, PP.SEQ_AB, seq, PP.SLEEP_B, p.c);
    let got = Atomics.load(p.i32, PP.SEQ_BA);
    while (got !== seq) got = xAwaitChange(p.w, p.i32, PP.SEQ_BA, got, PP.SLEEP_A, p.spinIters, p.c, p.nativeSpinMs);
    take(p, ba);
    if (timed) samples[nSamples++] = Number(process.hrtime.bigint() - t0);
    if (p.bufW[0] !== seq) throw new Error(`ping: reply ${p.bufW[0]} for ${seq}`);
    if (late && stopAtEnd) return { done: i + 1, nSamples };
  }
  return { done: i, nSamples };
}

/** Pong: echo until a message arrives after STOP was set; counters reset after `resetAfter` echoes. */
export function xPongLoop(p: XPingPong, resetAfter: number): number {
  const { ab, ba } = payloadOffsets(p.msgSize);
  let seq = 0;
  for (let n = 1; ; n++) {
    seq = xAwaitChange(p.w, p.i32, PP.SEQ_AB, seq, PP.SLEEP_B, p.spinIters, p.c, p.nativeSpinMs);
    take(p, ab);
    if (p.bufW[0] !== seq) throw new Error(`pong: payload ${p.bufW[0]} for ${seq}`);
    work(p.workNs);
    put(p, ba);
    const stop = Atomics.load(p.i32, PP.STOP) !== 0;
    xPublish(p.w, p.i32, PP.SEQ_BA, seq, PP.SLEEP_A, p.c);
    if (n === resetAfter) p.c = newCounters();
    if (stop) return n;
  }
}

/** Pong on the event loop: every wait is a waitAsync (no spin), as an async receive would be. */
export async function xPongLoopAsync(p: XPingPong, resetAfter: number): Promise<number> {
  const { ab, ba } = payloadOffsets(p.msgSize);
  let seq = 0;
  for (let n = 1; ; n++) {
    let v = Atomics.load(p.i32, PP.SEQ_AB);
    while (v === seq) v = await xAwaitChangeAsync(p.w, p.i32, PP.SEQ_AB, seq, PP.SLEEP_B, p.c);
    seq = v;
    take(p, ab);
    if (p.bufW[0] !== seq) throw new Error(`pong: payload ${p.bufW[0]} for ${seq}`);
    put(p, ba);
    const stop = Atomics.load(p.i32, PP.STOP) !== 0;
    xPublish(p.w, p.i32, PP.SEQ_BA, seq, PP.SLEEP_A, p.c);
    if (n === resetAfter) p.c = newCounters();
    if (stop) return n;
  }
}

/** One side of a one-way ring (fixed-size slots, power-of-two count, index published per message). */
export interface XRing extends XPingPong {
  slots: number;
  pos: number;
  errors: number;
}

export function makeXRing(
  w: Waiting,
  sab: SharedArrayBuffer,
  msgSize: number,
  slots: number,
  spinIters: number,
): XRing {
  return { ...makeXPingPong(w, sab, msgSize, spinIters), slots, pos: 0, errors: 0 };
}

/**
 * Where a producer that stops early leaves the consumer's final position (a word past sab-core's
 * ring header words, zero until set; a position is never 0 after a message).
 */
export const RING_LIMIT = 64;

/**
 * Producer: up to `count` messages (first word = sequence number), each published at once.
 * Once deadlineNs has passed (checked every 1024 messages) it sets RING_LIMIT before its last
 * message, so the consumer stops there too. Returns the messages produced.
 */
export function xProduce(r: XRing, count: number, deadlineNs = 0n): number {
  const mask = r.slots - 1;
  let head = r.pos;
  let tail = Atomics.load(r.i32, RING.TAIL);
  let m = 0;
  for (; m < count; m++) {
    const late = deadlineNs > 0n && (m & 1023) === 1023 && process.hrtime.bigint() > deadlineNs;
    if (late) Atomics.store(r.i32, RING_LIMIT, (head + 1) | 0);
    if (((head - tail) | 0) >= r.slots) {
      tail = Atomics.load(r.i32, RING.TAIL);
      while (((head - tail) | 0) >= r.slots)
        tail = xAwaitChange(r.w, r.i32, RING.TAIL, tail, RING.PROD_SLEEP, r.spinIters, r.c);
    }
    r.bufW[0] = head;
    put(r, RING.DATA_BYTE + (head & mask) * r.msgSize);
    head = (head + 1) | 0;
    xPublish(r.w, r.i32, RING.HEAD, head, RING.CONS_SLEEP, r.c);
    if (late) {
      m++;
      break;
    }
  }
  r.pos = head;
  return m;
}

/** Producer: wait until the consumer has released everything produced so far. */
export function xDrain(r: XRing): void {
  let tail = Atomics.load(r.i32, RING.TAIL);
  while (tail !== r.pos) tail = xAwaitChange(r.w, r.i32, RING.TAIL, tail, RING.PROD_SLEEP, r.spinIters, r.c);
}

/**
 * Consumer: `count` messages copied out (fewer if the producer set RING_LIMIT), sequence numbers
 * checked; each slot released at once. Returns the messages consumed.
 */
export function xConsume(r: XRing, count: number): number {
  const mask = r.slots - 1;
  let tail = r.pos;
  let head = Atomics.load(r.i32, RING.HEAD);
  for (let m = 0; m < count; m++) {
    if (head === tail) {
      head = Atomics.load(r.i32, RING.HEAD);
      if (head === tail) head = xAwaitChange(r.w, r.i32, RING.HEAD, tail, RING.CONS_SLEEP, r.spinIters, r.c);
    }
    take(r, RING.DATA_BYTE + (tail & mask) * r.msgSize);
    if (r.bufW[0] !== tail) r.errors++;
    tail = (tail + 1) | 0;
    xPublish(r.w, r.i32, RING.TAIL, tail, RING.PROD_SLEEP, r.c);
    if (tail === Atomics.load(r.i32, RING_LIMIT)) {
      r.pos = tail;
      return m + 1;
    }
  }
  r.pos = tail;
  return count;
}
