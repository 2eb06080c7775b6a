// Receive queues (QUOTA-1, ORDER-1): each peer's entry ring (messages, calls and
// state notices), its byte ring (payloads), and the per-sender quota records. An
// entry is written past the ring's published tail (plainly: nothing refers to it
// yet) and published by one journaled, sequentially consistent store of the count.
import type { BusCore } from './core';
import { copySegment } from '../common';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  EF_SEQ,
  PF_GID,
  PF_PID,
  PF_UID,
  P_BHEAD,
  P_BHELD,
  P_BUSED,
  P_ID,
  P_QBYTES,
  P_QCOUNT,
  P_QHEAD,
  P_QMSGS,
  Q_BYTES,
  Q_HANDLES,
  Q_ID,
  Q_MSGS,
} = layout;

/** Bytes a payload occupies in a byte ring: every payload starts on a 4-byte boundary (word copies). */
export function slotBytes(n: number): number {
  return (n + 3) & ~3;
}

/** What roomFor found. */
/**
 * Payloads of at most this many bytes are copied word by word into a batch (queues' copyOut,
 * a hand-off's read): below it the loop beats a TypedArray.set (a call and a view per copy).
 */
export const WORD_COPY_MAX_BYTES = 512;

export const ROOM = 0;
export const NO_CAPACITY = 1;
export const OVER_QUOTA = 2;

/** The next free entry of `dest`'s ring (there is always one: NOTICE-4 sizes the ring). */
export function reserveEntry(b: BusCore, dest: number): number {
  const I = b.int32,
    p = b.peerAt(dest);
  const count = I[p + P_QCOUNT],
    E = b.entriesPerQueue;
  if (count >= E) ringOverflow();
  const e = I[p + P_QHEAD] + count;
  return e >= E ? e - E : e;
}

/** Out of line (a cold throw keeps reserveEntry small enough to inline). */
function ringOverflow(): never {
  throw new Error('shm bus: receive queue entry ring full (a room check was missed, NOTICE-4)');
}

/** ORDER-1: the entry (its f64 words at `ef`) takes its place in the bus order; the receiver is woken after the commit. */
export function publishEntry(b: BusCore, dest: number, ef: number, bytes: number, message: boolean): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(dest);
  b.float64[ef + EF_SEQ] = b.nextSeq();
  if (message) {
    j.set(p + P_QMSGS, I[p + P_QMSGS] + 1);
    if (bytes > 0) {
      j.set(p + P_QBYTES, I[p + P_QBYTES] + bytes);
      j.set(p + P_BUSED, I[p + P_BUSED] + slotBytes(bytes));
    }
  }
  j.setPublished(p + P_QCOUNT, I[p + P_QCOUNT] + 1); // the word a spinning receiver watches
  b.wakeups.queueChanged(dest);
}

/**
 * CRED-1, CRED-2: the sender's credentials (uid, gid, pid) and its key (its peer id, never
 * reused), stamped by the bus from its own records at f64 index `at`.
 */
export function stampCredentials(b: BusCore, slot: number, at: number): void {
  const F = b.float64,
    pf = b.peerF64At(slot);
  F[at] = F[pf + PF_UID];
  F[at + 1] = F[pf + PF_GID];
  F[at + 2] = F[pf + PF_PID];
  F[at + 3] = b.int32[b.peerAt(slot) + P_ID];
}

/** QUOTA-1, QUOTA-4: ROOM, NO_CAPACITY or OVER_QUOTA for `messages` more messages of `bytes` carrying `handles` from a sender. */
export function roomFor(
  b: BusCore,
  dest: number,
  sender: number,
  senderId: number,
  messages: number,
  bytes: number,
  handles: number,
): number {
  const I = b.int32,
    p = b.peerAt(dest),
    lim = b.limits;
  if (I[p + P_QMSGS] + messages > lim.queueCapacityMessages || I[p + P_QBYTES] + bytes > lim.queueCapacityBytes)
    return NO_CAPACITY;
  const q = b.quotaAt(dest, sender);
  if (I[q + Q_ID] !== senderId)
    return messages > lim.senderQuotaMessages || bytes > lim.senderQuotaBytes || handles > lim.senderQuotaHandles
      ? OVER_QUOTA
      : ROOM;
  if (
    I[q + Q_MSGS] + messages > lim.senderQuotaMessages ||
    I[q + Q_BYTES] + bytes > lim.senderQuotaBytes ||
    I[q + Q_HANDLES] + handles > lim.senderQuotaHandles
  )
    return OVER_QUOTA;
  return ROOM;
}

/** A sender's quota record in `dest`'s queue, claimed for it (a record of a closed sender starts over). */
export function claimQuota(b: BusCore, dest: number, sender: number, senderId: number): number {
  const q = b.quotaAt(dest, sender);
  if (b.int32[q + Q_ID] !== senderId) resetQuota(b, q, senderId);
  return q;
}

function resetQuota(b: BusCore, q: number, senderId: number): void {
  const j = b.journal;
  j.set(q + Q_ID, senderId);
  j.set(q + Q_MSGS, 0);
  j.set(q + Q_BYTES, 0);
  j.set(q + Q_HANDLES, 0);
}

export function quotaAdd(
  b: BusCore,
  dest: number,
  sender: number,
  senderId: number,
  messages: number,
  bytes: number,
  handles: number,
): void {
  const I = b.int32,
    j = b.journal,
    q = b.quotaAt(dest, sender);
  if (I[q + Q_ID] !== senderId) resetQuota(b, q, senderId); // a sender's first message here (or a closed sender's record)
  j.set(q + Q_MSGS, I[q + Q_MSGS] + messages);
  if (bytes > 0) j.set(q + Q_BYTES, I[q + Q_BYTES] + bytes);
  if (handles > 0) j.set(q + Q_HANDLES, I[q + Q_HANDLES] + handles);
}

export function quotaSub(
  b: BusCore,
  dest: number,
  sender: number,
  senderId: number,
  messages: number,
  bytes: number,
  handles: number,
): void {
  const I = b.int32,
    j = b.journal,
    q = b.quotaAt(dest, sender);
  if (I[q + Q_ID] !== senderId) return; // that sender closed and its slot has a new peer
  j.set(q + Q_MSGS, I[q + Q_MSGS] - messages);
  if (bytes > 0) j.set(q + Q_BYTES, I[q + Q_BYTES] - bytes);
  if (handles > 0) j.set(q + Q_HANDLES, I[q + Q_HANDLES] - handles);
}

/**
 * Copy the staged segments into `dest`'s byte ring at its tail (the one copy, SEND-2);
 * `ahead`: bytes already taken past the tail. Returns the payload's offset in the ring.
 */
export function copyIn(b: BusCore, dest: number, ahead = 0): number {
  const I = b.int32,
    p = b.peerAt(dest),
    ringBytes = b.ringBytes,
    staged = b.staged;
  let off = I[p + P_BHEAD] + I[p + P_BUSED] + ahead;
  while (off >= ringBytes) off -= ringBytes;
  const n = staged.segmentLengths[0];
  // One segment that fits before the ring's end (the usual message): one TypedArray.set, a memcpy.
  if (staged.segmentCount === 1 && ringBytes - off >= n)
    copySegment(staged.segments[0], n, 0, n, b.bytes, b.ringAt(dest) + off);
  else copyInSegments(b, dest, off);
  return off;
}

/** copyIn for several segments, or one that wraps around the ring's end. */
function copyInSegments(b: BusCore, dest: number, off: number): void {
  const ringBytes = b.ringBytes,
    staged = b.staged,
    base = b.ringAt(dest),
    B = b.bytes;
  let at = off;
  for (let s = 0; s < staged.segmentCount; s++) {
    const seg = staged.segments[s],
      n = staged.segmentLengths[s];
    if (n === 0) continue;
    if (ringBytes - at >= n) {
      copySegment(seg, n, 0, n, B, base + at);
      at += n;
      if (at === ringBytes) at = 0;
    } else {
      const first = ringBytes - at;
      copySegment(seg, n, 0, first, B, base + at);
      copySegment(seg, n, first, n, B, base);
      at = n - first;
    }
  }
}

/** Copy the staged segments, gathered, to byte offset `at` of the buffer (a mailbox, a reply area). */
export function copyStaged(b: BusCore, at: number): void {
  const staged = b.staged,
    B = b.bytes;
  for (let s = 0; s < staged.segmentCount; s++) {
    const n = staged.segmentLengths[s];
    copySegment(staged.segments[s], n, 0, n, B, at);
    at += n;
  }
}

/**
 * Copy a queued payload (4-aligned offset `off` in `slot`'s ring) into `dst` at `dstOff`; word
 * by word when `dstWords` is given and dstOff is 4-aligned (small payloads).
 */
export function copyOut(
  b: BusCore,
  slot: number,
  off: number,
  n: number,
  dst: Uint8Array,
  dstOff: number,
  dstWords: Int32Array | null = null,
): void {
  const base = b.ringAt(slot),
    ringBytes = b.ringBytes;
  const first = ringBytes - off < n ? ringBytes - off : n;
  if (dstWords !== null && n <= WORD_COPY_MAX_BYTES && (dstOff & 3) === 0) {
    // 4-aligned on both sides; the padding words of the ring slot fit in dst's (4-aligned) room
    const I = b.int32;
    let from = (base + off) >> 2,
      to = dstOff >> 2;
    const w1 = (first + 3) >> 2;
    for (let k = 0; k < w1; k++) dstWords[to + k] = I[from + k];
    if (first < n) {
      from = base >> 2;
      to += first >> 2;
      const w2 = (n - first + 3) >> 2;
      for (let k = 0; k < w2; k++) dstWords[to + k] = I[from + k];
    }
    return;
  }
  const B = b.bytes;
  dst.set(B.subarray(base + off, base + off + first), dstOff);
  if (first < n) dst.set(B.subarray(base, base + n - first), dstOff + first);
}

/** The bytes the receiver held in views since its last receive go back to the ring. */
export function releaseHeld(b: BusCore, slot: number): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(slot);
  const held = I[p + P_BHELD];
  if (held === 0) return;
  let head = I[p + P_BHEAD] + held;
  if (head >= b.ringBytes) head -= b.ringBytes;
  j.set(p + P_BHEAD, head);
  j.set(p + P_BUSED, I[p + P_BUSED] - held);
  j.set(p + P_BHELD, 0);
}
