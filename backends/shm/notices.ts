// Notices (NOTICE-1..5) and their bounded storage (DESIGN.md, "Notices: bounded
// storage"). A revoked / node-destroyed notice is a ring entry that holds its
// handle's table slot (NOTICE-4); a no-senders notice lives in its node's record,
// at most one per node, in a FIFO list of its owner's (NOTICE-2). receive merges
// the ring and that list by sequence number (ORDER-2).
import type { BusCore } from './core';
import { freeSlot, nameOf } from './tables';
export { unlinkNoSenders } from './tables';
import { publishEntry, reserveEntry } from './queues';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  E_BYTES,
  E_KIND,
  E_NH,
  E_NTYPE,
  E_PHYS,
  E_REPLY,
  EF_BADGE,
  EF_NAME,
  ENTRY_NOTICE,
  H_KIND,
  H_NODE,
  H_NOTICE,
  H_ROOT,
  H_STATE,
  KIND_NODE,
  N_NSNEXT,
  N_NSWAIT,
  N_OWNER,
  N_SENDERS,
  N_STATE,
  NF_DERIVED,
  NF_NAME,
  NF_NSDERIVED,
  NF_NSSEQ,
  NONE,
  P_NSCOUNT,
  P_NSHEAD,
  P_NSTAIL,
  P_STATUS,
} = layout;

/** REVOKE-2, DESTROY-2: a state notice about table handle r, to its holder; it holds r's slot (NOTICE-4). */
export function stateNotice(b: BusCore, r: number, type: number): void {
  const dest = (r / b.tableSize) | 0;
  if (b.int32[b.peerAt(dest) + P_STATUS] !== 1) return; // NOTICE-1: not to a closed peer
  const e = reserveEntry(b, dest);
  const er = b.entryAt(dest, e),
    ef = b.entryF64At(dest, e);
  const I = b.int32;
  I[er + E_KIND] = ENTRY_NOTICE;
  I[er + E_NTYPE] = type;
  I[er + E_BYTES] = 0;
  I[er + E_PHYS] = 0;
  I[er + E_NH] = 0;
  I[er + E_REPLY] = r;
  b.float64[ef + EF_NAME] = nameOf(b, r);
  b.float64[ef + EF_BADGE] = 0;
  b.journal.set(b.handleAt(r) + H_NOTICE, 1);
  publishEntry(b, dest, ef, 0, false);
}

/** A state notice leaves the queue (received or discarded): a released handle's slot is free now (NOTICE-4). */
export function noticeGone(b: BusCore, r: number): void {
  const h = b.handleAt(r);
  if (b.int32[h + H_STATE] === 3) freeSlot(b, r);
  else b.journal.set(h + H_NOTICE, 0);
}

/** NOTICE-2: a no-senders notice, kept in the node record, at the tail of the owner's list. */
function noSendersNotice(b: BusCore, node: number): void {
  const I = b.int32,
    j = b.journal,
    n = b.nodeAt(node),
    nf = b.nodeF64At(node);
  const owner = I[n + N_OWNER],
    p = b.peerAt(owner);
  if (I[p + P_STATUS] !== 1) return;
  j.setF64(nf + NF_NSSEQ, b.nextSeq());
  j.setF64(nf + NF_NSDERIVED, b.float64[nf + NF_DERIVED]);
  j.set(n + N_NSWAIT, 1);
  j.set(n + N_NSNEXT, NONE);
  const tail = I[p + P_NSTAIL];
  if (tail === NONE) j.set(p + P_NSHEAD, node);
  else j.set(b.nodeAt(tail) + N_NSNEXT, node);
  j.set(p + P_NSTAIL, node);
  j.setPublished(p + P_NSCOUNT, I[p + P_NSCOUNT] + 1);
  b.wakeups.queueChanged(owner);
}

/**
 * NOTICE-2: a live non-root handle stopped counting as a sender. At most one no-senders notice
 * per node waits in the owner's queue: a rise from zero withdraws the waiting one
 * (NOTICE-6, tables.ts derive), so a fall to zero always finds none waiting.
 */
export function senderGone(b: BusCore, r: number): void {
  const I = b.int32,
    h = b.handleAt(r);
  if (I[h + H_KIND] !== KIND_NODE || I[h + H_ROOT] === 1) return;
  const node = I[h + H_NODE],
    n = b.nodeAt(node);
  if (I[n + N_STATE] !== 1) return;
  const left = I[n + N_SENDERS] - 1;
  b.journal.set(n + N_SENDERS, left);
  if (left === 0) noSendersNotice(b, node);
}

/** The oldest waiting no-senders notice of `slot` (its node is live: DESTROY-3 discards a destroyed node's). */
export interface PoppedNoSenders {
  node: number;
  derivedCount: number;
}

/** Take the oldest no-senders notice of `slot` into `out`. */
export function popNoSenders(b: BusCore, slot: number, out: PoppedNoSenders): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(slot);
  const node = I[p + P_NSHEAD],
    n = b.nodeAt(node),
    nf = b.nodeF64At(node);
  out.node = b.float64[nf + NF_NAME];
  out.derivedCount = b.float64[nf + NF_NSDERIVED];
  const next = I[n + N_NSNEXT];
  j.set(p + P_NSHEAD, next);
  if (next === NONE) j.set(p + P_NSTAIL, NONE);
  j.set(p + P_NSCOUNT, I[p + P_NSCOUNT] - 1);
  j.set(n + N_NSWAIT, 0);
  j.set(n + N_NSNEXT, NONE);
}
