// The spec's operations on the bus, run by a thread that holds the lock and has
// checked the invoking peer (PEER-2) and the arguments' shape (ERR-1 steps 1-3):
// the remaining checks in ERR-1 order, which change nothing, then the effects
// (ATOMIC-1). Each returns a status; outputs land in the core's registers.
import type { Credentials } from '../../spec/types';
import type { BusCore } from './core';
import {
  allocSlot,
  carryTransfer,
  derive,
  lookup,
  nameOf,
  place,
  renewRetiredSlots,
  tableRoom,
  usable,
} from './tables';
import * as queues from './queues';
import { copyStaged, quotaSub, releaseHeld, roomFor, stampCredentials } from './queues';
import { collectCall, consumeReply, replyPending, resolveCall } from './calls';
import { resolveAbandoned } from './abandon';
import { armRoom, endRoomWatches } from './room';
import { release, releaseMoved } from './release';
import { destroy, endInTicketOrder, type Ending } from './destroy';
import { noticeGone, popNoSenders, senderGone, stateNotice, type PoppedNoSenders } from './notices';
import { post, transferError } from './post';
import * as status from './status';
import { type Status } from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  CF_NAMES,
  CF_TICKET,
  CF_UID,
  C_CALLER,
  C_CALLER_HOLDS,
  C_CALLER_ID,
  C_GEN,
  C_NODE,
  C_OUTCOME,
  C_RBYTES,
  C_RCRED,
  C_REPLY,
  C_RHANDLES,
  C_RNH,
  C_STATE,
  ENTRY_CALL,
  ENTRY_MESSAGE,
  ENTRY_NOTICE,
  E_BYTES,
  E_HANDLES,
  E_KIND,
  E_NH,
  E_NTYPE,
  E_REPLY,
  E_SENDER,
  E_SENDER_ID,
  FH_NODE_SEQ,
  HDR_NEXT_PEER,
  HDR_NODE_FREE,
  HF_BADGE,
  HF_CREATED,
  H_CALL,
  H_CALLGEN,
  H_CHILD,
  H_KIND,
  H_NEXT,
  H_NODE,
  H_PARENT,
  H_PREV,
  H_RIGHTS,
  H_ROOT,
  H_STATE,
  H_STATUS,
  KIND_NODE,
  KIND_REPLY,
  MB_STATE,
  NF_CREATED,
  NF_DERIVED,
  NF_NAME,
  NONE,
  NOTICE_REVOKED,
  NOTICE_ROOM,
  N_CRED,
  N_NEXTFREE,
  N_NSNEXT,
  N_NSWAIT,
  N_OWNER,
  N_REFUSES,
  N_ROOT,
  N_SENDERS,
  N_STATE,
  PF_GID,
  PF_PID,
  PF_PLACE,
  PF_UID,
  P_BHEAD,
  P_BHELD,
  P_BUSED,
  P_ID,
  P_NODES,
  P_NSCOUNT,
  P_NSHEAD,
  P_NSTAIL,
  P_QBYTES,
  P_QCOUNT,
  P_QHEAD,
  P_QMSGS,
  P_SEAT,
  P_SEAT_KEY_HASH,
  P_STATUS,
  P_TOKEN,
  P_USED,
  R_GRANT,
  R_SEND,
  SEAT_KEY_HASH_WORDS,
  ST_LIVE,
  ST_REVOKED,
} = layout;
const { BLOCKED_BY_CAPACITY, BLOCKED_BY_QUOTA, OK } = status;
const {
  BAD_HANDLE,
  CALLER_GONE,
  CLOSED,
  INVALID_ARGUMENT,
  NOT_OWNER,
  NO_RIGHTS,
  QUEUE_FULL,
  TABLE_FULL,
  STALE,
  TIMED_OUT,
  TOO_LARGE,
  TOO_MANY_HANDLES,
  TOO_MANY_PENDING,
} = status.STATUS;
const { NO_CAPACITY, OVER_QUOTA, ROOM } = queues;

/** A bootstrap grant with its peer resolved to a slot (BUS-3); rights as bits, -1 none; badge 0 none. */
export interface Grant {
  slot: number;
  handle: number;
  rights: number;
  badge: number;
}

/**
 * BUS-2, BUS-3: a new peer `id` in a free slot, run by the thread `token`, with a seat for another
 * thread when `seatKeyHash` is given (joinBus); its slot lands in outCount, its handles in outNames.
 */
export function attach(
  b: BusCore,
  id: number,
  credentials: Credentials,
  grants: readonly Grant[],
  token: number,
  seatKeyHash: Int32Array | null,
): Status {
  const I = b.int32,
    j = b.journal;
  let slot = NONE,
    open = 0;
  for (let s = 0; s < b.peers; s++) {
    const st = I[b.peerAt(s) + P_STATUS];
    if (st === 1) open++;
    else if (slot === NONE) slot = s;
  }
  if (open >= b.peers || slot === NONE) return TABLE_FULL;
  for (const g of grants) {
    const r = usable(b, g.slot, g.handle, KIND_NODE);
    if (r < 0) return -r;
    if (g.rights >= 0 && (g.rights & ~I[b.handleAt(r) + H_RIGHTS]) !== 0) return NO_RIGHTS;
    if (g.badge > 0 && b.float64[b.handleF64At(r) + HF_BADGE] !== 0) return NO_RIGHTS;
  }
  if (grants.length > b.tableSize) return TABLE_FULL;
  const p = b.peerAt(slot),
    pf = b.peerF64At(slot);
  j.set(p + P_ID, id);
  for (const word of [P_QHEAD, P_QCOUNT, P_QMSGS, P_QBYTES, P_BHEAD, P_BUSED, P_BHELD, P_NSCOUNT]) j.set(p + word, 0);
  j.set(p + P_NSHEAD, NONE);
  j.set(p + P_NSTAIL, NONE);
  j.set(p + P_TOKEN, token);
  j.set(p + P_SEAT, seatKeyHash === null ? 0 : id);
  for (let w = 0; w < SEAT_KEY_HASH_WORDS; w++)
    j.set(p + P_SEAT_KEY_HASH + w, seatKeyHash === null ? 0 : seatKeyHash[w]);
  j.setF64(pf + PF_UID, credentials.uid);
  j.setF64(pf + PF_GID, credentials.gid);
  j.setF64(pf + PF_PID, credentials.pid);
  j.setF64(pf + PF_PLACE, 0);
  j.setPublished(p + P_STATUS, 1);
  j.set(HDR_NEXT_PEER, id + 1);
  b.outNamesCount = 0;
  for (const g of grants) {
    const r = lookup(b, g.slot, g.handle);
    const rights = g.rights >= 0 ? g.rights : I[b.handleAt(r) + H_RIGHTS];
    const badge = g.badge > 0 ? g.badge : b.float64[b.handleF64At(r) + HF_BADGE];
    b.outNames[b.outNamesCount++] = nameOf(b, derive(b, r, slot, rights, badge, true));
  }
  b.outCount = slot;
  return OK;
}

/** NODE-1: a new node owned by `slot`; its root handle's name lands in outName. */
export function createNode(b: BusCore, slot: number, credentials: boolean, acceptsHandles = true): Status {
  const I = b.int32,
    F = b.float64,
    j = b.journal,
    p = b.peerAt(slot);
  if (I[p + P_NODES] >= b.limits.maxNodesPerPeer) return TABLE_FULL; // NODE-4, before the table
  if (!tableRoom(b, slot, 1)) return TABLE_FULL;
  const node = I[HDR_NODE_FREE]; // a record is free: maxNodesPerPeer per peer, and each peer is within its count
  j.set(p + P_NODES, I[p + P_NODES] + 1);
  const n = b.nodeAt(node),
    nf = b.nodeF64At(node);
  j.set(HDR_NODE_FREE, I[n + N_NEXTFREE]);
  const r = allocSlot(b, slot);
  const h = b.handleAt(r);
  I[h + H_KIND] = KIND_NODE;
  I[h + H_STATUS] = ST_LIVE;
  I[h + H_NODE] = node;
  I[h + H_RIGHTS] = R_SEND | R_GRANT;
  I[h + H_ROOT] = 1;
  I[h + H_PARENT] = NONE;
  I[h + H_CHILD] = NONE;
  I[h + H_NEXT] = NONE;
  I[h + H_PREV] = NONE;
  F[b.handleF64At(r) + HF_BADGE] = 0;
  F[b.handleF64At(r) + HF_CREATED] = b.nextHandleSeq();
  const name = place(b, r);
  // The node record was just taken from the free list (HDR_NODE_FREE, journaled): plain fields.
  j.set(n + N_STATE, 1);
  I[n + N_OWNER] = slot;
  I[n + N_ROOT] = r;
  I[n + N_CRED] = credentials ? 1 : 0;
  I[n + N_REFUSES] = acceptsHandles ? 0 : 1; // NODE-5
  I[n + N_SENDERS] = 0;
  I[n + N_NSWAIT] = 0;
  I[n + N_NSNEXT] = NONE;
  F[nf + NF_NAME] = name;
  F[nf + NF_DERIVED] = 0;
  const seqAt = b.layout.fHeader + FH_NODE_SEQ;
  F[seqAt] = F[seqAt] + 1; // an order counter (CLOSE-2)
  F[nf + NF_CREATED] = F[seqAt];
  b.outName = name;
  return OK;
}

/** MINT-1..3: a handle derived from `handle` with `rights` (bits) and a badge (0: the parent's); its name in outName. */
export function mint(b: BusCore, slot: number, handle: number, rights: number, badge: number): Status {
  const r = usable(b, slot, handle, KIND_NODE);
  if (r < 0) return -r;
  if ((rights & ~b.int32[b.handleAt(r) + H_RIGHTS]) !== 0) return NO_RIGHTS;
  const parentBadge = b.float64[b.handleF64At(r) + HF_BADGE];
  if (badge > 0 && parentBadge !== 0) return NO_RIGHTS;
  if (!tableRoom(b, slot, 1)) return TABLE_FULL;
  b.outName = nameOf(b, derive(b, r, slot, rights, badge > 0 ? badge : parentBadge, true));
  return OK;
}

/** RELEASE-1. */
export function releaseName(b: BusCore, slot: number, handle: number): Status {
  const r = lookup(b, slot, handle);
  if (r === NONE) return BAD_HANDLE;
  release(b, r);
  return OK;
}

/** REVOKE-1, REVOKE-2: every live descendant becomes revoked, in creation order; how many in outCount. */
export function revoke(b: BusCore, slot: number, handle: number): Status {
  const r = usable(b, slot, handle, KIND_NODE);
  if (r < 0) return -r;
  const I = b.int32,
    F = b.float64;
  const live: number[] = [];
  const stack: number[] = [];
  for (let c = I[b.handleAt(r) + H_CHILD]; c !== NONE; c = I[b.handleAt(c) + H_NEXT]) stack.push(c);
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (I[b.handleAt(d) + H_STATUS] === ST_LIVE) live.push(d);
    for (let c = I[b.handleAt(d) + H_CHILD]; c !== NONE; c = I[b.handleAt(c) + H_NEXT]) stack.push(c);
  }
  live.sort((x, y) => F[b.handleF64At(x) + HF_CREATED] - F[b.handleF64At(y) + HF_CREATED]);
  for (const d of live) {
    const h = b.handleAt(d);
    b.journal.set(h + H_STATUS, ST_REVOKED);
    if (I[h + H_STATE] === 2) stateNotice(b, d, NOTICE_REVOKED);
    senderGone(b, d);
  }
  b.outCount = live.length;
  return OK;
}

/** DESTROY-1..5; `derivedCount` -1: unconditional. */
export function destroyNode(b: BusCore, slot: number, handle: number, derivedCount = -1): Status {
  const r = usable(b, slot, handle, KIND_NODE);
  if (r < 0) return -r;
  const node = b.int32[b.handleAt(r) + H_NODE];
  if (b.int32[b.nodeAt(node) + N_OWNER] !== slot) return NOT_OWNER;
  if (derivedCount >= 0 && b.float64[b.nodeF64At(node) + NF_DERIVED] !== derivedCount) return STALE; // DESTROY-5
  destroy(b, node, r);
  return OK;
}

/** NODE-6: whether two live node handles of `slot` designate the same node (outCount 1 or 0). */
export function sameNode(b: BusCore, slot: number, handle: number, other: number): Status {
  const r = usable(b, slot, handle, KIND_NODE);
  if (r < 0) return -r;
  const o = usable(b, slot, other, KIND_NODE);
  if (o < 0) return -o;
  b.outCount = b.int32[b.handleAt(r) + H_NODE] === b.int32[b.handleAt(o) + H_NODE] ? 1 : 0;
  return OK;
}

/** The checks send and call share after the shape (ERR-1 steps 4-7): the target's record, or minus the status. */
function sendChecks(b: BusCore, slot: number, handle: number): number {
  const staged = b.staged;
  if (staged.payloadBytes > b.limits.maxPayloadBytes) return -TOO_LARGE;
  if (staged.transferCount > b.maxHandlesPerMessage) return -TOO_MANY_HANDLES;
  const r = usable(b, slot, handle, KIND_NODE);
  if (r < 0) return r;
  if ((b.int32[b.handleAt(r) + H_RIGHTS] & R_SEND) === 0) return -NO_RIGHTS;
  if (staged.transferCount > 0) {
    // NODE-5: a node that refuses handles, before any transfer is resolved
    if (b.int32[b.nodeAt(b.int32[b.handleAt(r) + H_NODE]) + N_REFUSES] === 1) return -NO_RIGHTS;
    const te = transferError(b, slot, true);
    if (te !== OK) return -te;
  }
  return r;
}

/**
 * SEND-1..6, QUOTA-2: the staged message to `handle`. With no room it fails QUEUE_FULL, or,
 * when the caller waits (`block`, SEND-7), returns BLOCKED_BY_CAPACITY / BLOCKED_BY_QUOTA.
 * A fresh send (not a blocked one `retried`) never passes a blocked send of its own sender to
 * the same queue (SEND-8): it is short of room behind it.
 */
export function send(
  b: BusCore,
  slot: number,
  peerId: number,
  handle: number,
  block: boolean,
  retried = false,
): Status {
  const r = sendChecks(b, slot, handle);
  if (r < 0) return -r;
  const dest = b.int32[b.nodeAt(b.int32[b.handleAt(r) + H_NODE]) + N_OWNER];
  if (!tableRoom(b, dest, b.staged.transferCount)) return TABLE_FULL;
  let room = roomFor(b, dest, slot, peerId, 1, b.staged.payloadBytes, b.staged.transferCount);
  if (room === ROOM && !retried && b.blockedSendTo(slot, peerId, dest)) room = OVER_QUOTA;
  if (room !== ROOM) {
    if (block) return room === NO_CAPACITY ? BLOCKED_BY_CAPACITY : BLOCKED_BY_QUOTA;
    armRoom(b, slot, peerId, dest, r, 1, b.staged.payloadBytes, b.staged.transferCount); // QUOTA-5
    return QUEUE_FULL;
  }
  post(b, slot, peerId, r, dest, ENTRY_MESSAGE, NONE);
  return OK;
}

/**
 * CALL-1: the staged message as a call to `handle`; its call slot in outCall, its ticket in
 * outTicket. A call that may not wait (`mayWait` false: timeoutMs 0) fails TIMED_OUT once every
 * check before the pending limit passed (TIME-4); over the pending limit it fails TOO_MANY_PENDING.
 */
export function call(
  b: BusCore,
  slot: number,
  peerId: number,
  handle: number,
  mayWait = true,
  replierCredentials = false,
): Status {
  const r = sendChecks(b, slot, handle);
  if (r < 0) return -r;
  const I = b.int32,
    F = b.float64,
    j = b.journal;
  const node = I[b.handleAt(r) + H_NODE];
  const dest = I[b.nodeAt(node) + N_OWNER];
  if (!tableRoom(b, dest, b.staged.transferCount + 1)) return TABLE_FULL;
  if (
    roomFor(b, dest, slot, peerId, 1, b.staged.payloadBytes, b.staged.transferCount + 1) !== ROOM ||
    b.blockedSendTo(slot, peerId, dest) // SEND-8
  ) {
    armRoom(b, slot, peerId, dest, r, 1, b.staged.payloadBytes, b.staged.transferCount + 1); // QUOTA-5
    return QUEUE_FULL;
  }
  if (!mayWait) return TIMED_OUT; // TIME-4: as if abandoned the moment it was made (CALL-8)
  let c = NONE;
  for (let k = 0; k < b.callSlots && c === NONE; k++)
    if (I[b.callAt(slot * b.callSlots + k) + C_STATE] === 0) c = slot * b.callSlots + k;
  if (c === NONE) return TOO_MANY_PENDING; // a slot per pending operation (BOUND-2): a resolved call not yet collected
  // BOUND-2: with a call slot free and no waits of the peer's own (the runner's, or its blocked
  // promise sends), fewer calls than slots (= the limit) are pending: the count (a read of every
  // call record) is needed only with such waits.
  if (b.hasOwnWaits(slot) && b.pendingOf(slot) >= b.limits.maxPendingPerPeer) return TOO_MANY_PENDING;
  const ticket = b.nextTicket();
  const cr = b.callAt(c);
  // A free call record (C_STATE 0 -> 1, journaled): its other fields are written plainly.
  j.set(cr + C_STATE, 1);
  I[cr + C_CALLER] = slot;
  I[cr + C_CALLER_ID] = peerId;
  I[cr + C_NODE] = node;
  I[cr + C_CALLER_HOLDS] = 1;
  I[cr + C_OUTCOME] = 0;
  I[cr + C_RCRED] = replierCredentials ? 1 : 0;
  F[b.callF64At(c) + CF_TICKET] = ticket;
  const rr = allocSlot(b, dest);
  const rh = b.handleAt(rr);
  I[rh + H_KIND] = KIND_REPLY;
  I[rh + H_STATUS] = ST_LIVE;
  I[rh + H_CALL] = c;
  I[rh + H_CALLGEN] = I[cr + C_GEN];
  I[rh + H_PARENT] = NONE;
  I[rh + H_CHILD] = NONE;
  I[rh + H_NEXT] = NONE;
  I[rh + H_PREV] = NONE;
  F[b.handleF64At(rr) + HF_CREATED] = b.nextHandleSeq();
  I[cr + C_REPLY] = rr;
  post(b, slot, peerId, r, dest, ENTRY_CALL, rr);
  b.outCall = c;
  b.outTicket = ticket;
  return OK;
}

/** CALL-3..7: answer the call bound to reply handle `handle` with the staged message, straight into its reply area. */
export function reply(b: BusCore, slot: number, handle: number): Status {
  const I = b.int32,
    staged = b.staged;
  for (let i = 0; i < staged.transferCount; i++) if (staged.transferHandles[i] === handle) return INVALID_ARGUMENT; // CALL-7
  if (staged.payloadBytes > b.limits.maxPayloadBytes) return TOO_LARGE;
  if (staged.transferCount > b.maxHandlesPerMessage) return TOO_MANY_HANDLES;
  const r = usable(b, slot, handle, KIND_REPLY);
  if (r < 0) return -r;
  if (staged.transferCount > 0) {
    const te = transferError(b, slot, true);
    if (te !== OK) return te;
  }
  if (!replyPending(b, r)) {
    consumeReply(b, r); // CALL-4
    return CALLER_GONE;
  }
  const c = I[b.handleAt(r) + H_CALL],
    cr = b.callAt(c);
  const caller = I[cr + C_CALLER];
  if (!tableRoom(b, caller, staged.transferCount)) return TABLE_FULL;
  // CALL-6: straight into the caller's reply area (unpublished until C_STATE), handles straight into its table.
  copyStaged(b, b.replyAreaAt(c));
  const cf = b.callF64At(c);
  for (let i = 0; i < staged.transferCount; i++) {
    const nr = carryTransfer(b, b.transferRecords[i], caller, staged.transferRights[i], true);
    const nh = b.handleAt(nr);
    I[cr + C_RHANDLES + 3 * i] = I[nh + H_KIND];
    I[cr + C_RHANDLES + 3 * i + 1] = I[nh + H_KIND] === KIND_REPLY ? 0 : I[nh + H_RIGHTS];
    I[cr + C_RHANDLES + 3 * i + 2] = ST_LIVE;
    b.float64[cf + CF_NAMES + i] = nameOf(b, nr);
  }
  // Read only once C_STATE says resolved (journaled below): written plainly, like the reply area.
  I[cr + C_RBYTES] = staged.payloadBytes;
  I[cr + C_RNH] = staged.transferCount;
  if (I[cr + C_RCRED] === 1) stampCredentials(b, slot, cf + CF_UID); // CRED-3: whoever answers
  if (staged.transferCount > 0) releaseMoved(b, slot);
  consumeReply(b, r);
  resolveCall(b, c, OK);
  return OK;
}

/** CALL-10's checks of its reply half, without effects: OK when the reply (or its drop) would take place. */
export function replyChecks(b: BusCore, slot: number, handle: number): Status {
  const staged = b.staged;
  for (let i = 0; i < staged.transferCount; i++) if (staged.transferHandles[i] === handle) return INVALID_ARGUMENT; // CALL-7
  if (staged.payloadBytes > b.limits.maxPayloadBytes) return TOO_LARGE;
  if (staged.transferCount > b.maxHandlesPerMessage) return TOO_MANY_HANDLES;
  const r = usable(b, slot, handle, KIND_REPLY);
  if (r < 0) return -r;
  if (staged.transferCount > 0) {
    const te = transferError(b, slot, true);
    if (te !== OK) return te;
  }
  const cr = b.callAt(b.int32[b.handleAt(r) + H_CALL]);
  if (replyPending(b, r) && !tableRoom(b, b.int32[cr + C_CALLER], staged.transferCount)) return TABLE_FULL;
  return OK;
}

/**
 * CALL-10: whether `slot`'s queue is empty once the reply half (checked, its transfers resolved
 * by replyChecks) took effect: a reply enqueues nothing, and the only entries it can take away
 * are `slot`'s waiting no-senders notices for the nodes its transfers derive a handle for
 * (NOTICE-6). A dropped reply changes no queue.
 */
export function queueEmptyAfterReply(b: BusCore, slot: number, handle: number): boolean {
  const I = b.int32,
    p = b.peerAt(slot);
  if (b.queued(slot) === 0) return true;
  if (I[p + P_QCOUNT] > 0) return false;
  const r = lookup(b, slot, handle);
  if (!replyPending(b, r)) return false;
  for (let node = I[p + P_NSHEAD]; node !== NONE; node = I[b.nodeAt(node) + N_NSNEXT]) {
    let derived = false;
    for (let i = 0; i < b.staged.transferCount && !derived; i++) {
      const t = b.handleAt(b.transferRecords[i]);
      derived = I[t + H_KIND] === KIND_NODE && I[t + H_NODE] === node;
    }
    if (!derived) return false;
  }
  return true;
}

/**
 * CALL-10, the reply half of replyReceive: the reply as `reply` gives it, except that a reply to
 * a call already resolved is dropped and its handle consumed (CALL-9) without failing.
 */
export function replyDropping(b: BusCore, slot: number, handle: number): Status {
  const status = reply(b, slot, handle);
  return status === CALLER_GONE ? OK : status;
}

/** CLOSE-1..4. */
export function close(b: BusCore, slot: number, peerId: number): Status {
  const I = b.int32,
    F = b.float64,
    p = b.peerAt(slot);
  // CLOSE-1: pending calls (in the bus) and the runner's blocked sends and receives, in ticket order.
  const own: Ending[] = [];
  for (let c = 0; c < b.peers * b.callSlots; c++) {
    const cr = b.callAt(c);
    if (I[cr + C_STATE] === 1 && I[cr + C_CALLER] === slot && I[cr + C_CALLER_ID] === peerId)
      own.push({ ticket: F[b.callF64At(c) + CF_TICKET], call: c, local: null });
  }
  if (b.localWaits !== null)
    for (const local of b.localWaits.waitsOf(slot, peerId)) own.push({ ticket: local.ticket, call: NONE, local });
  endInTicketOrder(b, own, CLOSED, resolveAbandoned); // CALL-8: a caller that closes abandons its calls
  // A caller that closed no longer collects outcomes.
  for (let k = 0; k < b.callSlots; k++) {
    const c = slot * b.callSlots + k,
      cr = b.callAt(c);
    if (I[cr + C_STATE] === 2 && I[cr + C_CALLER_ID] === peerId && I[cr + C_CALLER_HOLDS] === 1) collectCall(b, c);
  }
  b.journal.setPublished(p + P_STATUS, 2);
  if (I[b.mailboxAt(slot) + MB_STATE] !== 0) b.journal.set(b.mailboxAt(slot) + MB_STATE, 0);
  b.wakeups.queueChanged(slot);
  // CLOSE-2: its nodes die, in creation order.
  const nodes: number[] = [];
  for (let n = 0; n < b.layout.maxNodes; n++)
    if (I[b.nodeAt(n) + N_STATE] === 1 && I[b.nodeAt(n) + N_OWNER] === slot) nodes.push(n);
  nodes.sort((x, y) => F[b.nodeF64At(x) + NF_CREATED] - F[b.nodeF64At(y) + NF_CREATED]);
  for (const n of nodes) destroy(b, n, NONE);
  // CLOSE-3: its handles are released, in name order.
  const named: number[] = [];
  for (let t = 0; t < b.tableSize; t++)
    if (I[b.handleAt(slot * b.tableSize + t) + H_STATE] === 2) named.push(slot * b.tableSize + t);
  named.sort((x, y) => F[b.placedF64At(x)] - F[b.placedF64At(y)]);
  for (const r of named) if (I[b.handleAt(r) + H_STATE] === 2) release(b, r);
  // CLOSE-4: room watches of and on it end, room notices about its queue are withdrawn; its queue is discarded.
  endRoomWatches(b, slot);
  discardQueue(b, slot);
  renewRetiredSlots(b, slot);
  if (I[p + P_USED] !== 0)
    throw new Error(`shm bus: peer ${peerId} closed with ${I[p + P_USED]} table slots still used`);
  return OK;
}

/** CLOSE-4: the queue is discarded, in order (no-senders notices carry nothing to release). */
function discardQueue(b: BusCore, slot: number): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(slot);
  releaseHeld(b, slot);
  while (I[p + P_QCOUNT] > 0) {
    const e = I[p + P_QHEAD];
    const er = b.entryAt(slot, e);
    const kind = I[er + E_KIND];
    if (kind !== ENTRY_NOTICE) {
      const handles = I[er + E_NH] + (kind === ENTRY_CALL ? 1 : 0);
      quotaSub(b, slot, I[er + E_SENDER], I[er + E_SENDER_ID], 1, I[er + E_BYTES], handles);
      j.set(p + P_QMSGS, I[p + P_QMSGS] - 1);
      j.set(p + P_QBYTES, I[p + P_QBYTES] - I[er + E_BYTES]);
    }
    j.set(p + P_QHEAD, e + 1 === b.entriesPerQueue ? 0 : e + 1);
    j.set(p + P_QCOUNT, I[p + P_QCOUNT] - 1);
    if (kind !== ENTRY_NOTICE) {
      const handles = I.slice(er + E_HANDLES, er + E_HANDLES + I[er + E_NH]);
      const replyHandle = I[er + E_REPLY];
      for (const r of handles) release(b, r);
      if (kind === ENTRY_CALL) release(b, replyHandle);
    } else if (I[er + E_NTYPE] !== NOTICE_ROOM) noticeGone(b, I[er + E_REPLY]); // a room notice's watch ended (CLOSE-4)
  }
  while (I[p + P_NSCOUNT] > 0) popNoSenders(b, slot, discarded);
  j.set(p + P_BHEAD, 0);
  j.set(p + P_BUSED, 0);
  b.wakeups.roomFreed(slot);
}

const discarded: PoppedNoSenders = { node: 0, derivedCount: 0 };
