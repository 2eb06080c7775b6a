// Receiving (RECV-1, RECV-3): up to max entries of a queue into a preallocated
// batch, in bus order (the ring merged with the waiting no-senders notices,
// ORDER-2). Copy mode copies each payload once out of the byte ring; view mode
// hands out views into it (the bytes stay held until the next receive, at most
// viewSlackBytes of them; a payload that wraps around the ring is copied). The
// queue's counters and the senders' quotas are written once per batch: the same
// effects as taking entries one by one, since nothing else runs in the lock hold.
import { TesseraError } from '../common';
import type { BusCore } from './core';
import type { ReceiveBatch } from './batch';
import { freeSlot, place, unlinkTree } from './tables';
import { copyOut, releaseHeld, slotBytes } from './queues';
import { noticeGone, popNoSenders, type PoppedNoSenders } from './notices';
import { consumeReply, replyPending } from './calls';
import { roomNoticeGone } from './room';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  EF_BADGE,
  EF_GID,
  EF_KEY,
  EF_NAME,
  EF_PID,
  EF_SEQ,
  EF_UID,
  ENTRY_CALL,
  ENTRY_NOTICE,
  E_BYTES,
  E_CRED,
  E_HANDLES,
  E_KIND,
  E_NH,
  E_NTYPE,
  E_OFF,
  E_PHYS,
  E_REPLY,
  E_SENDER,
  E_SENDER_ID,
  H_KIND,
  H_RIGHTS,
  H_STATUS,
  KIND_REPLY,
  NF_NSSEQ,
  NOTICE_NO_SENDERS,
  NOTICE_ROOM,
  P_BHEAD,
  P_BHELD,
  P_BUSED,
  P_NSCOUNT,
  P_NSHEAD,
  P_QBYTES,
  P_QCOUNT,
  P_QHEAD,
  P_QMSGS,
  Q_BYTES,
  Q_HANDLES,
  Q_ID,
  Q_MSGS,
  ST_ABANDONED,
  ST_LIVE,
} = layout;

/**
 * Quota a batch releases, per sender slot (a batch is taken within one lock hold, without
 * running anything else, so one set per thread serves every batch): the senders seen, and
 * messages and bytes per sender, zero between batches.
 */
const quota = {
  senders: new Int32Array(0),
  count: 0,
  messages: new Int32Array(0),
  bytes: new Float64Array(0),
  handles: new Int32Array(0),
};
const popped: PoppedNoSenders = { node: 0, derivedCount: 0 };

/** Payload bytes (4-aligned) and handles of the next `max` deliveries of `slot`'s queue. */
export function batchNeeds(b: BusCore, slot: number, max: number): { bytes: number; handles: number } {
  const I = b.int32,
    p = b.peerAt(slot);
  const count = I[p + P_QCOUNT];
  let head = I[p + P_QHEAD],
    bytes = 0,
    handles = 0;
  for (let i = 0; i < count && i < max; i++) {
    const er = b.entryAt(slot, head);
    if (I[er + E_KIND] !== ENTRY_NOTICE) {
      bytes += slotBytes(I[er + E_BYTES]);
      handles += I[er + E_NH];
    }
    if (++head === b.entriesPerQueue) head = 0;
  }
  return { bytes, handles };
}

/**
 * RECV-1: up to max entries of `slot`'s queue into `batch` (max at most its capacity). Stops
 * early at an entry the batch has no room left for; throws INVALID_ARGUMENT (the caller rolls
 * back) when the batch cannot hold even the first. The loop is one function with its counts
 * in locals (the hot path of every receive); the queue's counters are written once, at the end.
 */
export function takeBatch(b: BusCore, slot: number, max: number, batch: ReceiveBatch): number {
  const I = b.int32,
    F = b.float64,
    p = b.peerAt(slot),
    E = b.entriesPerQueue,
    ringBytes = b.ringBytes,
    ring = b.ringAt(slot);
  releaseHeld(b, slot);
  startQuota(b);
  let head = I[p + P_QHEAD],
    count = I[p + P_QCOUNT],
    byteHead = I[p + P_BHEAD],
    held = I[p + P_BHELD];
  let n = 0,
    messages = 0,
    payloadBytes = 0,
    freed = 0,
    dataUsed = 0,
    handlesUsed = 0;
  while (n < max && count + I[p + P_NSCOUNT] > 0) {
    if (I[p + P_NSCOUNT] > 0 && (count === 0 || noSendersFirst(b, slot, p, head))) {
      popNoSenders(b, slot, popped);
      noticeInto(batch, n++, NOTICE_NO_SENDERS, popped.node, popped.derivedCount, handlesUsed);
      continue;
    }
    const er = b.entryAt(slot, head),
      ef = b.entryF64At(slot, head);
    const kind = I[er + E_KIND];
    if (kind === ENTRY_NOTICE) {
      if (I[er + E_NTYPE] === NOTICE_ROOM) roomNoticeGone(b, slot, I[er + E_REPLY]);
      else noticeGone(b, I[er + E_REPLY]);
      noticeInto(batch, n, I[er + E_NTYPE], F[ef + EF_NAME], 0, handlesUsed);
    } else {
      const bytes = I[er + E_BYTES],
        nh = I[er + E_NH],
        off = I[er + E_OFF],
        phys = I[er + E_PHYS];
      if (nh > batch.handleCapacity - handlesUsed) {
        if (n > 0) break;
        noRoom();
      }
      // Held bytes must stay one run from the byte ring's head: once this batch holds any, every
      // later payload is held too (a wrapped one is copied, but its bytes stay held).
      let hold = false,
        view = false;
      if (bytes > 0 && batch.views) {
        if (held + phys <= b.viewSlackBytes) {
          hold = true;
          view = off + bytes <= ringBytes;
        } else if (held > 0) break;
      }
      if (bytes > 0 && !view && dataUsed + phys > batch.dataCapacity) {
        if (n > 0) break;
        noRoom();
      }
      batch.kind[n] = kind;
      batch.node[n] = F[ef + EF_NAME];
      batch.badge[n] = F[ef + EF_BADGE];
      batch.noticeType[n] = 0;
      batch.length[n] = bytes;
      batch.handleStart[n] = handlesUsed;
      batch.handleCount[n] = nh;
      for (let i = 0; i < nh; i++) arrive(b, I[er + E_HANDLES + i], batch, handlesUsed++);
      batch.replyHandle[n] = kind === ENTRY_CALL ? place(b, I[er + E_REPLY]) : -1; // after the handles (RECV-3)
      const cred = (batch.credentials[n] = I[er + E_CRED]);
      if (cred === 1) credentialsInto(batch, n, F, ef);
      if (view) {
        batch.buf[n] = b.bytes;
        batch.offset[n] = ring + off;
      } else {
        batch.buf[n] = batch.data;
        batch.offset[n] = dataUsed;
        if (bytes > 0) {
          copyOut(b, slot, off, bytes, batch.data, dataUsed, batch.dataWords);
          dataUsed += phys;
        }
      }
      messages++;
      payloadBytes += bytes;
      if (hold) held += phys;
      else {
        freed += phys;
        byteHead += phys;
        if (byteHead >= ringBytes) byteHead -= ringBytes;
      }
      countQuota(b, slot, I[er + E_SENDER], I[er + E_SENDER_ID], bytes, nh + (kind === ENTRY_CALL ? 1 : 0));
    }
    if (++head === E) head = 0;
    count--;
    n++;
  }
  commitQuota(b, slot);
  commitQueue(b, slot, p, head, count, messages, payloadBytes, held, freed, byteHead);
  batch.count = n;
  batch.dataUsed = dataUsed;
  return n;
}

function startQuota(b: BusCore): void {
  if (quota.senders.length < b.peers) {
    quota.senders = new Int32Array(b.peers);
    quota.messages = new Int32Array(b.peers);
    quota.bytes = new Float64Array(b.peers);
    quota.handles = new Int32Array(b.peers);
  }
  quota.count = 0;
}

/** The queue's counters and byte ring after a batch (journaled); senders waiting for room are woken. */
function commitQueue(
  b: BusCore,
  slot: number,
  p: number,
  head: number,
  count: number,
  messages: number,
  payloadBytes: number,
  held: number,
  freed: number,
  byteHead: number,
): void {
  const I = b.int32,
    j = b.journal;
  if (count !== I[p + P_QCOUNT]) {
    j.set(p + P_QHEAD, head);
    j.set(p + P_QCOUNT, count);
  }
  if (messages === 0) return;
  j.set(p + P_QMSGS, I[p + P_QMSGS] - messages);
  if (payloadBytes > 0) j.set(p + P_QBYTES, I[p + P_QBYTES] - payloadBytes);
  if (held !== I[p + P_BHELD]) j.set(p + P_BHELD, held);
  if (freed > 0) {
    j.set(p + P_BHEAD, byteHead);
    j.set(p + P_BUSED, I[p + P_BUSED] - freed);
  }
  b.wakeups.roomFreed(slot);
}

function credentialsInto(batch: ReceiveBatch, n: number, F: Float64Array, ef: number): void {
  batch.uid[n] = F[ef + EF_UID];
  batch.gid[n] = F[ef + EF_GID];
  batch.pid[n] = F[ef + EF_PID];
  batch.peerKey[n] = F[ef + EF_KEY];
}

/** ORDER-2: whether the oldest waiting no-senders notice comes before ring entry `head`. */
function noSendersFirst(b: BusCore, slot: number, p: number, head: number): boolean {
  return b.float64[b.nodeF64At(b.int32[p + P_NSHEAD]) + NF_NSSEQ] < b.float64[b.entryF64At(slot, head) + EF_SEQ];
}

/** No room for the first delivery: the batch is too small for it. */
function noRoom(): never {
  throw new TesseraError('INVALID_ARGUMENT', 'receive');
}

function noticeInto(
  batch: ReceiveBatch,
  n: number,
  type: number,
  name: number,
  derivedCount: number,
  handlesUsed: number,
): void {
  batch.kind[n] = ENTRY_NOTICE;
  batch.noticeType[n] = type;
  batch.node[n] = name;
  batch.badge[n] = derivedCount;
  batch.length[n] = 0;
  batch.offset[n] = 0;
  batch.handleCount[n] = 0;
  batch.handleStart[n] = handlesUsed;
  batch.replyHandle[n] = -1;
  batch.credentials[n] = 0;
}

/** RECV-3: a handle that arrives is named in its new table; one that died or was revoked in flight is freed, unnamed. */
function arrive(b: BusCore, r: number, batch: ReceiveBatch, at: number): void {
  const I = b.int32,
    h = b.handleAt(r);
  const kind = I[h + H_KIND];
  batch.handleKind[at] = kind;
  batch.handleRights[at] = kind === KIND_REPLY ? 0 : I[h + H_RIGHTS];
  // RECV-3: a reply handle whose call was abandoned while it travelled arrives flagged (CALL-9)
  const status = kind === KIND_REPLY ? (replyPending(b, r) ? ST_LIVE : ST_ABANDONED) : I[h + H_STATUS];
  batch.handleState[at] = status;
  if (status === ST_LIVE) batch.handleName[at] = place(b, r);
  else if (status === ST_ABANDONED) {
    batch.handleName[at] = -1;
    consumeReply(b, r);
  } else {
    batch.handleName[at] = -1;
    unlinkTree(b, r);
    freeSlot(b, r);
  }
}

/** A received message leaves its sender's quota (unless that sender closed and its slot has a new peer). */
function countQuota(b: BusCore, slot: number, sender: number, senderId: number, bytes: number, handles: number): void {
  if (b.int32[b.quotaAt(slot, sender) + Q_ID] !== senderId) return;
  if (quota.messages[sender] === 0) quota.senders[quota.count++] = sender;
  quota.messages[sender]++;
  quota.bytes[sender] += bytes;
  quota.handles[sender] += handles;
}

function commitQuota(b: BusCore, slot: number): void {
  const I = b.int32,
    j = b.journal;
  for (let k = 0; k < quota.count; k++) {
    const sender = quota.senders[k],
      q = b.quotaAt(slot, sender);
    j.set(q + Q_MSGS, I[q + Q_MSGS] - quota.messages[sender]);
    if (quota.bytes[sender] > 0) j.set(q + Q_BYTES, I[q + Q_BYTES] - quota.bytes[sender]);
    if (quota.handles[sender] > 0) j.set(q + Q_HANDLES, I[q + Q_HANDLES] - quota.handles[sender]);
    quota.messages[sender] = 0;
    quota.bytes[sender] = 0;
    quota.handles[sender] = 0;
  }
}
