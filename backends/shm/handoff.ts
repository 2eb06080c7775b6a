// Hand-off mailboxes (DESIGN.md): a receiver blocked in ReplyRecv with an empty
// queue registers its mailbox; a sender that finds it registered and the queue
// empty delivers straight into it, sending and receiving in one lock hold (the
// receive is linearized there, inside the receiver's blocked call). The receiver
// reads the mailbox once its ready word shows the filling hold committed.
import type { BusCore } from './core';
import type { ReceiveBatch } from './batch';
import { carryTransfer, nameOf, place } from './tables';
import { copyStaged, stampCredentials, WORD_COPY_MAX_BYTES } from './queues';
import { releaseMoved } from './release';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  ENTRY_CALL,
  HF_BADGE,
  H_KIND,
  H_CALL,
  H_NODE,
  H_RIGHTS,
  KIND_REPLY,
  MBF_BADGE,
  MBF_GID,
  MBF_KEY,
  MBF_NAMES,
  MBF_NODE,
  MBF_PID,
  MBF_REPLY,
  MBF_UID,
  MB_CALL,
  MB_CRED,
  MB_KIND,
  MB_LEN,
  MB_NH,
  MB_REG,
  MB_STATE,
  NF_NAME,
  NONE,
  N_CRED,
  P_NSCOUNT,
  P_QCOUNT,
  P_STATUS,
  ST_LIVE,
} = layout;

/**
 * Send and receive in one: the effects of post followed at once by dest's receive of that one
 * message (RECV-1, RECV-3). Its place in the bus order is taken; the quota and queue counters
 * it would add and remove are left alone; handles are created named, in the order receive would
 * place them, then the reply handle.
 */
export function handOff(b: BusCore, slot: number, target: number, kind: number, dest: number, reply: number): void {
  const I = b.int32,
    F = b.float64,
    staged = b.staged;
  const node = I[b.handleAt(target) + H_NODE],
    n = b.nodeAt(node);
  const mb = b.mailboxAt(dest),
    mf = b.mailboxF64At(dest),
    handlesAt = mb + b.layout.mbHandles;
  // The mailbox is unpublished until MB_STATE (journaled) and MB_READY (after the commit): plain writes.
  I[mb + MB_KIND] = kind;
  I[mb + MB_LEN] = staged.payloadBytes;
  I[mb + MB_NH] = staged.transferCount;
  copyStaged(b, b.mailboxPayloadAt(dest));
  F[mf + MBF_NODE] = F[b.nodeF64At(node) + NF_NAME];
  F[mf + MBF_BADGE] = F[b.handleF64At(target) + HF_BADGE];
  const cred = I[n + N_CRED];
  I[mb + MB_CRED] = cred;
  if (cred === 1) stampCredentials(b, slot, mf + MBF_UID); // CRED-1
  b.nextSeq(); // ORDER-1: its place in the bus order
  for (let i = 0; i < staged.transferCount; i++) {
    const nr = carryTransfer(b, b.transferRecords[i], dest, staged.transferRights[i], true);
    const nh = b.handleAt(nr);
    I[handlesAt + 3 * i] = I[nh + H_KIND];
    I[handlesAt + 3 * i + 1] = I[nh + H_KIND] === KIND_REPLY ? 0 : I[nh + H_RIGHTS];
    I[handlesAt + 3 * i + 2] = ST_LIVE;
    F[mf + MBF_NAMES + i] = nameOf(b, nr);
  }
  F[mf + MBF_REPLY] = reply === NONE ? -1 : place(b, reply);
  I[mb + MB_CALL] = reply === NONE ? NONE : I[b.handleAt(reply) + H_CALL];
  b.journal.set(mb + MB_STATE, 2);
  // No queueChanged(dest): the ready word is the receiver's signal (Wakeups bumps the wake word only for a sleeper).
  b.wakeups.mailboxFilled(dest, I[mb + MB_REG]);
  if (staged.transferCount > 0) releaseMoved(b, slot);
}

/**
 * A receiver about to block with an empty queue offers its mailbox for a hand-off. Returns
 * the registration number to wait for (its ready word), or 0 when something is queued or it closed.
 */
export function registerHandOff(b: BusCore, slot: number): number {
  const I = b.int32,
    p = b.peerAt(slot),
    mb = b.mailboxAt(slot);
  if (I[p + P_QCOUNT] + I[p + P_NSCOUNT] > 0 || I[p + P_STATUS] !== 1) return 0;
  const r = (I[mb + MB_REG] + 1) & 0x3fffffff || 1;
  b.journal.set(mb + MB_REG, r);
  b.journal.set(mb + MB_STATE, 1);
  return r;
}

/** Whether a batch can take any delivery a mailbox holds (registration requires it: a hand-off cannot be refused). */
export function batchFitsMailbox(b: BusCore, batch: ReceiveBatch): boolean {
  return batch.handleCapacity >= b.maxHandlesPerMessage && (batch.views || batch.dataCapacity >= b.layout.mbPayload);
}

/** Under the lock: whether registration `r` was filled (then read it into the batch), else withdraw it unless `keep`. */
export function settleHandOff(b: BusCore, slot: number, r: number, batch: ReceiveBatch, keep: boolean): number {
  const I = b.int32,
    mb = b.mailboxAt(slot);
  if (I[mb + MB_REG] !== r) return 0;
  if (I[mb + MB_STATE] === 2) return readHandOff(b, slot, batch);
  if (I[mb + MB_STATE] === 1 && !keep) b.journal.set(mb + MB_STATE, 0);
  return 0;
}

/** Where readHandOff leaves the word it reads ahead (a store the compiler cannot drop). */
let _readAhead = 0;

/** The delivery in a filled mailbox, into a batch (stable until this peer registers again). */
export function readHandOff(b: BusCore, slot: number, batch: ReceiveBatch): number {
  const I = b.int32,
    F = b.float64,
    mb = b.mailboxAt(slot),
    mf = b.mailboxF64At(slot),
    handlesAt = mb + b.layout.mbHandles;
  // The payload's first line together with the header's: two misses that overlap, where the copy
  // below would meet the second only once the header's length is known.
  _readAhead = I[b.mailboxPayloadAt(slot) >> 2];
  const bytes = I[mb + MB_LEN],
    nh = I[mb + MB_NH],
    kind = I[mb + MB_KIND];
  batch.kind[0] = kind;
  batch.node[0] = F[mf + MBF_NODE];
  batch.badge[0] = F[mf + MBF_BADGE];
  batch.noticeType[0] = 0;
  batch.length[0] = bytes;
  batch.handleStart[0] = 0;
  batch.handleCount[0] = nh;
  batch.replyHandle[0] = kind === ENTRY_CALL ? F[mf + MBF_REPLY] : -1;
  const cred = I[mb + MB_CRED];
  batch.credentials[0] = cred;
  if (cred === 1) {
    batch.uid[0] = F[mf + MBF_UID];
    batch.gid[0] = F[mf + MBF_GID];
    batch.pid[0] = F[mf + MBF_PID];
    batch.peerKey[0] = F[mf + MBF_KEY];
  }
  for (let i = 0; i < nh; i++) {
    batch.handleName[i] = F[mf + MBF_NAMES + i];
    batch.handleKind[i] = I[handlesAt + 3 * i];
    batch.handleRights[i] = I[handlesAt + 3 * i + 1];
    batch.handleState[i] = ST_LIVE;
  }
  const base = b.mailboxPayloadAt(slot);
  if (batch.views) {
    batch.buf[0] = b.bytes;
    batch.offset[0] = base;
    batch.dataUsed = 0;
  } else {
    batch.buf[0] = batch.data;
    batch.offset[0] = 0;
    if (bytes > 0 && bytes <= WORD_COPY_MAX_BYTES) {
      // Word by word: both sides 4-aligned, and a batch that takes hand-offs has room for a mailbox's whole words.
      const from = base >> 2,
        words = batch.dataWords,
        n = (bytes + 3) >> 2;
      for (let k = 0; k < n; k++) words[k] = I[from + k];
    } else if (bytes > 0) batch.data.set(b.mailboxBytes(base, bytes));
    batch.dataUsed = bytes;
  }
  batch.count = 1;
  return 1;
}
