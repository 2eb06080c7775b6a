// Handle tables (HANDLE-1..6): names, slots, the derivation tree. A handle record
// is one slot of its holder's table; a name is `generation * tableSize + slot`
// (HANDLE-2), and the generation is bumped whenever the slot is freed, so a name
// never resolves again once released, revoked in flight or moved.
import type { BusCore } from './core';
import * as rules from '../../model/rules';
import * as status from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  C_REPLY,
  HF_BADGE,
  HF_CREATED,
  H_CALL,
  H_CALLGEN,
  H_CHILD,
  H_GEN,
  H_KIND,
  H_NEXT,
  H_NEXTFREE,
  H_NODE,
  H_NOTICE,
  H_PARENT,
  H_PREV,
  H_RIGHTS,
  H_ROOT,
  H_STATE,
  H_STATUS,
  KIND_NODE,
  KIND_REPLY,
  NF_DERIVED,
  NONE,
  N_NSNEXT,
  N_NSWAIT,
  N_OWNER,
  N_SENDERS,
  PF_PLACE,
  P_FREE,
  P_NSCOUNT,
  P_NSHEAD,
  P_NSTAIL,
  P_USED,
  ST_LIVE,
  ST_REVOKED,
} = layout;
const { BAD_HANDLE, DEAD, REVOKED, WRONG_KIND } = status.STATUS;
const { isName } = rules;

/** HANDLE-2/3: the record a name denotes in `slot`'s own table while it is issued, else NONE. */
export function lookup(b: BusCore, slot: number, name: number): number {
  // The usual case inline (a small-integer name, a table size that is a power of 2: a mask and a
  // shift); the others out of line, so that lookup stays small enough to inline into every operation.
  const shift = b.nameShift;
  if ((name | 0) !== name || name < 0 || shift < 0) return lookupOtherName(b, slot, name);
  const r = slot * b.tableSize + (name & b.nameMask),
    h = b.handleAt(r);
  return b.int32[h + H_GEN] === name >>> shift && b.int32[h + H_STATE] === 2 ? r : NONE;
}

/** lookup for a name beyond 2^31, a table size that is not a power of 2, or something that is not a name. */
function lookupOtherName(b: BusCore, slot: number, name: number): number {
  if (!isName(name)) return NONE;
  const H = b.tableSize,
    t = name % H,
    gen = (name - t) / H;
  const r = slot * H + t,
    h = b.handleAt(r);
  return b.int32[h + H_GEN] === gen && b.int32[h + H_STATE] === 2 ? r : NONE;
}

/**
 * The record of `slot`'s table that `name` would denote, its generation and state unchecked (NONE
 * for what is not a name): for a read-ahead, which must not wait for the record's own line.
 */
export function recordNamed(b: BusCore, slot: number, name: number): number {
  if ((name | 0) === name && name >= 0 && b.nameShift >= 0) return slot * b.tableSize + (name & b.nameMask);
  return isName(name) ? slot * b.tableSize + (name % b.tableSize) : NONE;
}

/** HANDLE-6: a name resolved to a usable handle of a kind: its record, or minus the error status. */
export function usable(b: BusCore, slot: number, name: number, kind: number): number {
  const r = lookup(b, slot, name);
  if (r === NONE) return -BAD_HANDLE;
  const I = b.int32,
    h = b.handleAt(r);
  if (I[h + H_KIND] !== kind) return -WRONG_KIND;
  const st = I[h + H_STATUS];
  if (st !== ST_LIVE) return st === ST_REVOKED ? -REVOKED : -DEAD;
  return r;
}

/** The slot of the peer that owns the node a live node handle leads to, else NONE. */
export function destOfHandle(b: BusCore, slot: number, name: number): number {
  const I = b.int32,
    r = lookup(b, slot, name);
  if (r === NONE || I[b.handleAt(r) + H_KIND] !== KIND_NODE || I[b.handleAt(r) + H_STATUS] !== ST_LIVE) return NONE;
  return I[b.nodeAt(I[b.handleAt(r) + H_NODE]) + N_OWNER];
}

/** The node a node handle of `slot` designates, whatever its status, else NONE. */
export function nodeOfHandle(b: BusCore, slot: number, name: number): number {
  const r = lookup(b, slot, name);
  if (r === NONE || b.int32[b.handleAt(r) + H_KIND] !== KIND_NODE) return NONE;
  return b.int32[b.handleAt(r) + H_NODE];
}

export function nameOf(b: BusCore, r: number): number {
  return b.int32[b.handleAt(r) + H_GEN] * b.tableSize + (r % b.tableSize);
}

/** HANDLE-1: whether `slot`'s table has room for `incoming` more handles. */
export function tableRoom(b: BusCore, slot: number, incoming: number): boolean {
  return incoming === 0 || b.int32[b.peerAt(slot) + P_USED] + incoming <= b.tableSize;
}

/** Take a free slot of `slot`'s table, in flight (no name yet). */
export function allocSlot(b: BusCore, slot: number): number {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(slot);
  const t = I[p + P_FREE];
  if (t === NONE) tableOverflow();
  const r = slot * b.tableSize + t;
  const h = b.handleAt(r);
  j.set(p + P_FREE, I[h + H_NEXTFREE]);
  j.set(p + P_USED, I[p + P_USED] + 1);
  j.set(h + H_STATE, 1);
  I[h + H_NOTICE] = 0; // fields of a record just allocated are written plainly (core.ts)
  return r;
}

/** Out of line (a cold throw keeps allocSlot small enough to inline). */
function tableOverflow(): never {
  throw new Error('shm bus: handle table overflow (a room check was missed)');
}

export function freeSlot(b: BusCore, r: number): void {
  const I = b.int32,
    j = b.journal,
    h = b.handleAt(r);
  if (I[h + H_GEN] >= b.maxGeneration) return retireSlot(b, r);
  const slot = (r / b.tableSize) | 0;
  const p = b.peerAt(slot);
  j.set(h + H_STATE, 0);
  j.set(h + H_GEN, I[h + H_GEN] + 1); // the name never resolves again (RELEASE-1)
  if (I[h + H_NOTICE] !== 0) j.set(h + H_NOTICE, 0);
  j.set(h + H_NEXTFREE, I[p + P_FREE]);
  j.set(p + P_FREE, r % b.tableSize);
  j.set(p + P_USED, I[p + P_USED] - 1);
}

/**
 * BOUND-3: a slot whose generation cannot grow without repeating a name (or passing the Int32
 * word, or a name past 2^53-1) is retired: never used again by this peer, still counted in its
 * table's use, so the table holds one entry fewer. Its peer's close gives it back, generation 1,
 * to the next peer of the slot, whose names are its own (HANDLE-2).
 */
function retireSlot(b: BusCore, r: number): void {
  const h = b.handleAt(r);
  b.journal.set(h + H_STATE, 4);
  if (b.int32[h + H_NOTICE] !== 0) b.journal.set(h + H_NOTICE, 0);
}

/** CLOSE: the retired slots of `slot`'s table start over for the slot's next peer (BOUND-3). */
export function renewRetiredSlots(b: BusCore, slot: number): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(slot);
  for (let t = 0; t < b.tableSize; t++) {
    const h = b.handleAt(slot * b.tableSize + t);
    if (I[h + H_STATE] !== 4) continue;
    j.set(h + H_STATE, 0);
    j.set(h + H_GEN, 1);
    j.set(h + H_NEXTFREE, I[p + P_FREE]);
    j.set(p + P_FREE, t);
    j.set(p + P_USED, I[p + P_USED] - 1);
  }
}

/** Give a handle its name in its table (HANDLE-2), in placement order (CLOSE-3). */
export function place(b: BusCore, r: number): number {
  const slot = (r / b.tableSize) | 0;
  const pf = b.peerF64At(slot);
  const placed = b.float64[pf + PF_PLACE] + 1;
  b.float64[pf + PF_PLACE] = placed; // an order counter: only needs to grow
  b.float64[b.placedF64At(r)] = placed; // read only while the handle is named
  b.journal.set(b.handleAt(r) + H_STATE, 2);
  return nameOf(b, r);
}

/** Make `child` the first child of `parent`; `fresh`: child was just allocated (its own fields plain). */
export function linkChild(b: BusCore, parent: number, child: number, fresh: boolean): void {
  const I = b.int32,
    j = b.journal,
    ph = b.handleAt(parent),
    ch = b.handleAt(child);
  const first = I[ph + H_CHILD];
  if (fresh) {
    I[ch + H_PARENT] = parent;
    I[ch + H_PREV] = NONE;
    I[ch + H_NEXT] = first;
  } else {
    j.set(ch + H_PARENT, parent);
    j.set(ch + H_PREV, NONE);
    j.set(ch + H_NEXT, first);
  }
  if (first !== NONE) j.set(b.handleAt(first) + H_PREV, child);
  j.set(ph + H_CHILD, child);
}

/** Take a handle out of the derivation tree before it is retired; its children re-attach to its parent (RELEASE-2). */
export function unlinkTree(b: BusCore, r: number): void {
  const I = b.int32,
    j = b.journal,
    h = b.handleAt(r);
  const parent = I[h + H_PARENT];
  const prev = I[h + H_PREV],
    next = I[h + H_NEXT];
  if (prev !== NONE) j.set(b.handleAt(prev) + H_NEXT, next);
  else if (parent !== NONE) j.set(b.handleAt(parent) + H_CHILD, next);
  if (next !== NONE) j.set(b.handleAt(next) + H_PREV, prev);
  let c = I[h + H_CHILD];
  while (c !== NONE) {
    const after = I[b.handleAt(c) + H_NEXT];
    if (parent !== NONE) linkChild(b, parent, c, false);
    else {
      const ch = b.handleAt(c);
      j.set(ch + H_PARENT, NONE);
      j.set(ch + H_PREV, NONE);
      j.set(ch + H_NEXT, NONE);
    }
    c = after;
  }
  // r's own links are left as they are: every caller retires r (freed, or held by a notice,
  // where nothing follows them), and the next allocation of its slot sets them again.
}

/** A new node handle derived from `parent` (MINT-1, SEND-4, BUS-3) in `dest`'s table, named or in flight. */
export function derive(
  b: BusCore,
  parent: number,
  dest: number,
  rights: number,
  badge: number,
  named: boolean,
): number {
  const I = b.int32,
    F = b.float64,
    j = b.journal;
  const node = I[b.handleAt(parent) + H_NODE];
  const r = allocSlot(b, dest);
  const h = b.handleAt(r);
  I[h + H_KIND] = KIND_NODE;
  I[h + H_STATUS] = ST_LIVE;
  I[h + H_NODE] = node;
  I[h + H_RIGHTS] = rights;
  I[h + H_ROOT] = 0;
  I[h + H_CHILD] = NONE;
  linkChild(b, parent, r, true);
  const hf = b.handleF64At(r);
  F[hf + HF_BADGE] = badge;
  F[hf + HF_CREATED] = b.nextHandleSeq();
  const n = b.nodeAt(node),
    nf = b.nodeF64At(node);
  j.setF64(nf + NF_DERIVED, F[nf + NF_DERIVED] + 1);
  j.set(n + N_SENDERS, I[n + N_SENDERS] + 1);
  // NOTICE-6: a rise from zero withdraws the no-senders notice still waiting, as if never enqueued
  if (I[n + N_NSWAIT] === 1) unlinkNoSenders(b, I[n + N_OWNER], node);
  if (named) place(b, r);
  return r;
}

/**
 * A transferred node handle arrives in `dest`'s table (SEND-4): derived from the sender's
 * record with the rights asked (-1: the same), keeping its badge.
 */
export function deriveTransfer(b: BusCore, from: number, dest: number, rightsAsked: number, named: boolean): number {
  const rights = rightsAsked >= 0 ? rightsAsked : b.int32[b.handleAt(from) + H_RIGHTS];
  return derive(b, from, dest, rights, b.float64[b.handleF64At(from) + HF_BADGE], named);
}

/** CALL-5: a reply handle travels to `dest`'s table, bound to the same call. */
export function moveReply(b: BusCore, r: number, dest: number, named: boolean): number {
  const I = b.int32,
    h = b.handleAt(r);
  const nr = allocSlot(b, dest);
  const nh = b.handleAt(nr);
  I[nh + H_KIND] = KIND_REPLY;
  I[nh + H_STATUS] = ST_LIVE;
  I[nh + H_CALL] = I[h + H_CALL];
  I[nh + H_CALLGEN] = I[h + H_CALLGEN];
  I[nh + H_PARENT] = NONE;
  I[nh + H_CHILD] = NONE;
  I[nh + H_NEXT] = NONE;
  I[nh + H_PREV] = NONE;
  b.float64[b.handleF64At(nr) + HF_CREATED] = b.float64[b.handleF64At(r) + HF_CREATED];
  b.journal.set(b.callAt(I[h + H_CALL]) + C_REPLY, nr);
  freeSlot(b, r);
  if (named) place(b, nr);
  return nr;
}

/** A staged transfer (record r, rights asked) carried into `dest`'s table: a moved reply handle or a derived node handle. */
export function carryTransfer(b: BusCore, r: number, dest: number, rightsAsked: number, named: boolean): number {
  if (b.int32[b.handleAt(r) + H_KIND] === KIND_REPLY) return moveReply(b, r, dest, named); // CALL-5
  return deriveTransfer(b, r, dest, rightsAsked, named);
}

/** DESTROY-3, NOTICE-6: take a node's waiting no-senders notice out of its owner's list (anywhere in it). */
export function unlinkNoSenders(b: BusCore, owner: number, node: number): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(owner);
  let prev = NONE,
    cur = I[p + P_NSHEAD];
  while (cur !== node) {
    prev = cur;
    cur = I[b.nodeAt(cur) + N_NSNEXT];
  }
  const n = b.nodeAt(node),
    next = I[n + N_NSNEXT];
  if (prev === NONE) j.set(p + P_NSHEAD, next);
  else j.set(b.nodeAt(prev) + N_NSNEXT, next);
  if (I[p + P_NSTAIL] === node) j.set(p + P_NSTAIL, prev);
  j.setPublished(p + P_NSCOUNT, I[p + P_NSCOUNT] - 1);
  j.set(n + N_NSWAIT, 0);
  j.set(n + N_NSNEXT, NONE);
}
