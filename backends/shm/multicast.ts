// Multicast (MCAST-1..6): every destination checked in order, room checked for the
// live ones together (all or nothing), then one copy per live destination in
// consecutive places of the bus order (MCAST-3, ORDER-3); with skipFull, the
// destinations without queue room are skipped instead, each named (MCAST-6).
import type { BusCore } from './core';
import { lookup, tableRoom } from './tables';
import * as queues from './queues';
import { copyIn, claimQuota, roomFor, slotBytes } from './queues';
import { destOf, post, transferError, writeMessageEntry } from './post';
import { armRoom } from './room';
import * as status from './status';
import { type Status } from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  EF_SEQ,
  ENTRY_MESSAGE,
  E_BYTES,
  E_NH,
  E_OFF,
  E_PHYS,
  E_REPLY,
  FH_SEQ,
  H_KIND,
  H_NODE,
  H_RIGHTS,
  H_STATUS,
  KIND_NODE,
  NONE,
  N_REFUSES,
  P_BUSED,
  P_QBYTES,
  P_QCOUNT,
  P_QHEAD,
  P_QMSGS,
  Q_BYTES,
  Q_MSGS,
  R_SEND,
  ST_LIVE,
  ST_REVOKED,
} = layout;
const { OK } = status;
const { BAD_HANDLE, NO_RIGHTS, QUEUE_FULL, REVOKED, TABLE_FULL, TOO_LARGE, TOO_MANY_HANDLES, WRONG_KIND } =
  status.STATUS;
const { ROOM } = queues;

/**
 * Scratch of one multicast, per thread (a multicast runs within one lock hold, without
 * running anything else): the destinations' records, and per destination peer its copies,
 * copies written so far and payload offset. Per-peer counts are zero between multicasts.
 */
const scratch = {
  records: new Int32Array(16),
  peers: new Int32Array(0),
  copies: new Int32Array(0),
  written: new Int32Array(0),
  payloadAt: new Int32Array(0),
};

function prepareScratch(b: BusCore, count: number): void {
  if (scratch.records.length < count) scratch.records = new Int32Array(2 * count);
  if (scratch.copies.length < b.peers) {
    scratch.peers = new Int32Array(b.peers);
    scratch.copies = new Int32Array(b.peers);
    scratch.written = new Int32Array(b.peers);
    scratch.payloadAt = new Int32Array(b.peers);
  }
}

/**
 * MCAST-1..6 after the shape checks (names[0..count-1]: non-empty, distinct, no move in the
 * staged transfers). Skipped (dead) destinations land in outNames, full ones (skipFull) in
 * outFull.
 */
export function multicast(
  b: BusCore,
  slot: number,
  peerId: number,
  names: readonly number[],
  count: number,
  skipFull = false,
): Status {
  const staged = b.staged;
  b.outFullCount = 0;
  if (staged.payloadBytes > b.limits.maxPayloadBytes) return TOO_LARGE;
  if (staged.transferCount > b.maxHandlesPerMessage) return TOO_MANY_HANDLES;
  prepareScratch(b, count);
  const destinationError = resolveDestinations(b, slot, names, count);
  if (destinationError !== OK) return destinationError;
  if (staged.transferCount > 0) {
    const te = transferError(b, slot, false); // MCAST-5
    if (te !== OK) return te;
  }
  const destinations = countCopies(b, count);
  if (skipFull) return multicastSkippingFull(b, slot, peerId, names, count, destinations);
  const roomError = checkRoom(b, slot, peerId, destinations);
  if (roomError !== OK || staged.transferCount > 0) {
    for (let k = 0; k < destinations; k++) scratch.copies[scratch.peers[k]] = 0;
    if (roomError !== OK) return roomError;
    postEach(b, slot, peerId, names, count);
  } else postAll(b, slot, peerId, names, count, destinations); // resets the copies
  return OK;
}

/** MCAST-2: every destination in order is a node handle with the send right, not revoked. */
function resolveDestinations(b: BusCore, slot: number, names: readonly number[], count: number): Status {
  const I = b.int32;
  for (let i = 0; i < count; i++) {
    const r = lookup(b, slot, names[i]);
    if (r === NONE) return BAD_HANDLE;
    const h = b.handleAt(r);
    if (I[h + H_KIND] !== KIND_NODE) return WRONG_KIND;
    if (I[h + H_STATUS] === ST_REVOKED) return REVOKED;
    if ((I[h + H_RIGHTS] & R_SEND) === 0) return NO_RIGHTS;
    // NODE-5: a live destination whose node refuses handles, when the message carries any
    if (b.staged.transferCount > 0 && I[h + H_STATUS] === ST_LIVE && I[b.nodeAt(I[h + H_NODE]) + N_REFUSES] === 1)
      return NO_RIGHTS;
    scratch.records[i] = r;
  }
  return OK;
}

/** Copies per live destination peer (MCAST-4), peers in first-seen order; how many peers. */
function countCopies(b: BusCore, count: number): number {
  let peers = 0;
  for (let i = 0; i < count; i++) {
    const r = scratch.records[i];
    if (b.int32[b.handleAt(r) + H_STATUS] !== ST_LIVE) continue;
    const d = destOf(b, r);
    if (scratch.copies[d] === 0) scratch.peers[peers++] = d;
    scratch.copies[d]++;
  }
  return peers;
}

/** MCAST-4: table room for every live destination's copies of the handles, then queue room for its copies. */
function checkRoom(b: BusCore, slot: number, peerId: number, destinations: number): Status {
  const transfers = b.staged.transferCount,
    bytes = b.staged.payloadBytes;
  if (transfers > 0)
    for (let k = 0; k < destinations; k++) {
      const d = scratch.peers[k];
      if (!tableRoom(b, d, scratch.copies[d] * transfers)) return TABLE_FULL;
    }
  // Every queue short of room for its copies (or behind the sender's own blocked send, SEND-8)
  // owes the sender a room notice, through the first destination in that queue (QUOTA-5).
  let status: Status = OK;
  for (let i = 0; i < destinations; i++) {
    const d = scratch.peers[i];
    const k = scratch.copies[d];
    if (roomFor(b, d, slot, peerId, k, k * bytes, k * transfers) !== ROOM || b.blockedSendTo(slot, peerId, d)) {
      armRoom(b, slot, peerId, d, firstLiveTo(b, d), k, k * bytes, k * transfers);
      status = QUEUE_FULL;
    }
  }
  return status;
}

/** The record of the first live destination in `dest`'s queue. */
function firstLiveTo(b: BusCore, dest: number): number {
  for (let i = 0; ; i++) {
    const r = scratch.records[i];
    if (b.int32[b.handleAt(r) + H_STATUS] === ST_LIVE && destOf(b, r) === dest) return r;
  }
}

/**
 * MCAST-6: table room for every live destination's copies (all or nothing, MCAST-4), then each
 * live destination in order: posted if its queue has room for one more copy now (the copies
 * posted before it counted), else named in outFull.
 */
function multicastSkippingFull(
  b: BusCore,
  slot: number,
  peerId: number,
  names: readonly number[],
  count: number,
  destinations: number,
): Status {
  const transfers = b.staged.transferCount,
    bytes = b.staged.payloadBytes;
  let tableError: Status = OK;
  for (let k = 0; k < destinations; k++) {
    const d = scratch.peers[k];
    if (tableError === OK && transfers > 0 && !tableRoom(b, d, scratch.copies[d] * transfers)) tableError = TABLE_FULL;
    scratch.copies[d] = 0;
  }
  if (tableError !== OK) return tableError;
  let skipped = 0,
    refused = 0; // queues skipped, in order: scratch.peers[0..refused-1], their copies in scratch.copies
  for (let i = 0; i < count; i++) {
    const r = scratch.records[i];
    if (b.int32[b.handleAt(r) + H_STATUS] !== ST_LIVE) {
      b.outNames[skipped++] = names[i];
      continue;
    }
    const d = destOf(b, r);
    if (roomFor(b, d, slot, peerId, 1, bytes, transfers) !== ROOM || b.blockedSendTo(slot, peerId, d)) {
      b.outFull[b.outFullCount++] = names[i];
      if (scratch.copies[d]++ === 0) {
        scratch.peers[refused++] = d;
        scratch.written[d] = r; // the first destination skipped in that queue
      }
      continue;
    }
    post(b, slot, peerId, r, d, ENTRY_MESSAGE, NONE);
  }
  b.outNamesCount = skipped;
  // QUOTA-5: each queue skipped owes the sender a room notice for all its skipped copies
  for (let k = 0; k < refused; k++) {
    const d = scratch.peers[k],
      n = scratch.copies[d];
    armRoom(b, slot, peerId, d, scratch.written[d], n, n * bytes, n * transfers);
    scratch.copies[d] = 0;
    scratch.written[d] = 0;
  }
  return OK;
}

/** A multicast carrying handles: each live copy posted in order (MCAST-3, ORDER-3: consecutive places). */
function postEach(b: BusCore, slot: number, peerId: number, names: readonly number[], count: number): void {
  let skipped = 0;
  for (let i = 0; i < count; i++) {
    const r = scratch.records[i];
    if (b.int32[b.handleAt(r) + H_STATUS] !== ST_LIVE) {
      b.outNames[skipped++] = names[i];
      continue;
    }
    post(b, slot, peerId, r, destOf(b, r), ENTRY_MESSAGE, NONE);
  }
  b.outNamesCount = skipped;
}

/**
 * A multicast without handles: every copy's entry and payload go past its queue's tail
 * (unpublished), in name order and consecutive places in the bus order (MCAST-3, ORDER-3);
 * then each destination's counters, quota and wake-up once. Same effects as posting each.
 */
function postAll(
  b: BusCore,
  slot: number,
  peerId: number,
  names: readonly number[],
  count: number,
  destinations: number,
): void {
  const I = b.int32,
    F = b.float64,
    bytes = b.staged.payloadBytes,
    E = b.entriesPerQueue,
    phys = slotBytes(bytes);
  const seqAt = b.layout.fHeader + FH_SEQ;
  let seq = F[seqAt],
    skipped = 0;
  for (let i = 0; i < count; i++) {
    const r = scratch.records[i];
    if (I[b.handleAt(r) + H_STATUS] !== ST_LIVE) {
      b.outNames[skipped++] = names[i];
      continue;
    }
    const dest = destOf(b, r),
      p = b.peerAt(dest);
    const k = scratch.written[dest];
    // One copy of the payload per destination queue: its copies are consecutive entries there
    // and share it; the last of them frees it (E_PHYS), so the bytes outlive every copy.
    if (k === 0) scratch.payloadAt[dest] = bytes > 0 ? copyIn(b, dest) : 0;
    let e = I[p + P_QHEAD] + I[p + P_QCOUNT] + k;
    while (e >= E) e -= E;
    const er = b.entryAt(dest, e);
    writeMessageEntry(b, er, b.entryF64At(dest, e), slot, peerId, r, I[b.handleAt(r) + H_NODE], ENTRY_MESSAGE);
    I[er + E_BYTES] = bytes;
    I[er + E_OFF] = scratch.payloadAt[dest];
    I[er + E_PHYS] = k + 1 === scratch.copies[dest] ? phys : 0;
    I[er + E_NH] = 0;
    I[er + E_REPLY] = NONE;
    F[b.entryF64At(dest, e) + EF_SEQ] = ++seq;
    scratch.written[dest] = k + 1;
  }
  F[seqAt] = seq; // an order counter (ORDER-1), written plainly
  b.outNamesCount = skipped;
  for (let k = 0; k < destinations; k++) publishCopies(b, slot, peerId, scratch.peers[k], bytes, phys);
}

/** The copies written past `dest`'s tail are published: its counters and this sender's quota, once. */
function publishCopies(b: BusCore, slot: number, peerId: number, dest: number, bytes: number, phys: number): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(dest);
  const k = scratch.written[dest];
  scratch.written[dest] = 0;
  scratch.copies[dest] = 0;
  const q = claimQuota(b, dest, slot, peerId);
  j.set(q + Q_MSGS, I[q + Q_MSGS] + k);
  j.set(p + P_QMSGS, I[p + P_QMSGS] + k);
  if (bytes > 0) {
    j.set(q + Q_BYTES, I[q + Q_BYTES] + k * bytes);
    j.set(p + P_QBYTES, I[p + P_QBYTES] + k * bytes);
    j.set(p + P_BUSED, I[p + P_BUSED] + phys);
  }
  j.setPublished(p + P_QCOUNT, I[p + P_QCOUNT] + k);
  b.wakeups.queueChanged(dest);
}
