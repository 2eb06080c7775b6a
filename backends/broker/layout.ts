// A peer's segment: the one memory a peer process shares with the broker (a memfd the broker
// creates, seals against shrinking and growing, and passes to the peer once, at attach). It
// holds two byte rings and the words that drive them; nothing of the bus is in it.
//
//   header words (each group on a cache line of its own, by who writes it):
//     layout (broker, once):     magic, version, request ring offset and size, completion ring offset and size
//     request producer (peer):   REQ_TAIL (bytes published, wrapping at 2^32), BELL (bumped to wake the broker)
//     request consumer (broker): REQ_HEAD (bytes consumed)
//     completion producer (broker): CPL_TAIL (bytes published; the peer sleeps on this word)
//     completion consumer (peer): CPL_HEAD, PEER_SLEEPERS (peer threads asleep on CPL_TAIL)
//     broker state (broker):     BROKER_SLEEPING (1 while the broker may sleep: a peer rings BELL after publishing),
//                                CPL_WANTED (1 while the broker owes records that did not fit: a peer rings after reading)
//     room (peer):               ROOM_WAITERS (peer threads asleep on REQ_HEAD, waiting for room)
//   request ring (peer -> broker), completion ring (broker -> peer), each a power of two of bytes.
//
// Everything the peer writes is a hint or a request the broker validates: the broker keeps its
// own copies of both rings' positions and never reads a layout word back.
import type { Limits } from '../../spec/types';

/** Int32 word indices in a segment. */
export const W = {
  MAGIC: 0,
  VERSION: 1,
  REQ_OFFSET: 2,
  REQ_BYTES: 3,
  CPL_OFFSET: 4,
  CPL_BYTES: 5,
  REQ_TAIL: 16,
  BELL: 17,
  REQ_HEAD: 32,
  CPL_TAIL: 48,
  CPL_HEAD: 64,
  PEER_SLEEPERS: 65,
  BROKER_SLEEPING: 80,
  CPL_WANTED: 81,
  ROOM_WAITERS: 96,
} as const;

/** "TBR1": a segment laid out by this file. */
export const MAGIC = 0x31524254;
export const LAYOUT_VERSION = 2;

/** The rings start on the second page. */
export const HEADER_BYTES = 4096;

/** A record: [length in bytes incl. this header, tag | flags, id, aux], then its body; 8-byte aligned slots. */
export const RECORD_HEADER_BYTES = 16;
/** A pad record needs only its length and tag: it fills a ring's end, which may be 8 bytes. */
export const PAD_HEADER_BYTES = 8;
export const RECORD_ALIGN = 8;

/** Record tags (low byte of the tag word). */
export const TAG = {
  /** Peer -> broker: one operation (body: the encoded operation, without `peer`); id: the peer's request number. */
  REQUEST: 1,
  /** Broker -> peer: the invocation answering request `id`. */
  RESULT: 2,
  /** Broker -> peer: the completion of a pending operation (TIME-2). */
  COMPLETION: 3,
  /** Broker -> peer: the broker discarded `aux` bytes of the request ring it could not read as records. */
  DISCARDED: 4,
  /** Either way: skip to the ring's end. */
  PAD: 5,
} as const;

/**
 * A request's `aux` word, bit 0: the peer blocks until the operation completes, so a pending
 * answer need not wake it (it is read with the completion, or at once by a peer still spinning).
 * A hint about the peer's own wake-ups; the broker ignores the other bits.
 */
export const QUIET_PENDING = 1;

/** Tag flag: the body continues in the next record (broker -> peer only). */
export const MORE = 0x100;

export const align8 = (n: number): number => (n + 7) & ~7;

export interface SegmentLayout {
  requestOffsetBytes: number;
  requestBytes: number;
  completionOffsetBytes: number;
  completionBytes: number;
  totalBytes: number;
}

const pow2AtLeast = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/**
 * The bytes one request may take: a message of maxPayloadBytes in base64 with its transfers, or
 * a multicast list naming every slot of a table, with room for the encoding.
 */
export function maxRequestBytes(limits: Limits): number {
  const payload = Math.ceil(limits.maxPayloadBytes / 3) * 4 + 1024;
  const transfers = 64 * limits.maxHandlesPerMessage;
  const list = 10 * limits.maxHandlesPerPeer;
  return RECORD_HEADER_BYTES + 4096 + Math.max(payload + transfers, list);
}

/**
 * Ring sizes from the bus's limits: the request ring holds two of the largest requests (so a
 * peer can post one while the broker reads the other), the completion ring at least 64 KiB
 * (larger results travel in several records).
 */
export function segmentLayout(limits: Limits, options: { completionBytes?: number } = {}): SegmentLayout {
  const requestBytes = pow2AtLeast(Math.max(64 * 1024, 2 * maxRequestBytes(limits)));
  const completionBytes = pow2AtLeast(Math.max(64 * 1024, options.completionBytes ?? 256 * 1024));
  if (requestBytes > 2 ** 30 || completionBytes > 2 ** 30) throw new RangeError('segmentLayout: a ring over 1 GiB');
  return {
    requestOffsetBytes: HEADER_BYTES,
    requestBytes,
    completionOffsetBytes: HEADER_BYTES + requestBytes,
    completionBytes,
    totalBytes: HEADER_BYTES + requestBytes + completionBytes,
  };
}

/** Writes the layout words of a fresh segment (the broker, before passing it). */
export function writeLayout(i32: Int32Array, l: SegmentLayout): void {
  i32[W.MAGIC] = MAGIC;
  i32[W.VERSION] = LAYOUT_VERSION;
  i32[W.REQ_OFFSET] = l.requestOffsetBytes;
  i32[W.REQ_BYTES] = l.requestBytes;
  i32[W.CPL_OFFSET] = l.completionOffsetBytes;
  i32[W.CPL_BYTES] = l.completionBytes;
}

/** The layout as a peer reads it from a segment it was given; null unless it is one and fits the segment. */
export function readLayout(i32: Int32Array, sizeBytes: number): SegmentLayout | null {
  if (i32.length < HEADER_BYTES / 4 || i32[W.MAGIC] !== MAGIC || i32[W.VERSION] !== LAYOUT_VERSION) return null;
  const l: SegmentLayout = {
    requestOffsetBytes: i32[W.REQ_OFFSET],
    requestBytes: i32[W.REQ_BYTES],
    completionOffsetBytes: i32[W.CPL_OFFSET],
    completionBytes: i32[W.CPL_BYTES],
    totalBytes: 0,
  };
  const ring = (o: number, n: number) =>
    o >= HEADER_BYTES && o % 8 === 0 && n >= 4096 && (n & (n - 1)) === 0 && o + n <= sizeBytes;
  if (!ring(l.requestOffsetBytes, l.requestBytes) || !ring(l.completionOffsetBytes, l.completionBytes)) return null;
  l.totalBytes = sizeBytes;
  return l;
}
