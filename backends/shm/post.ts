// The send path shared by send, call, reply and multicast: the transfer checks
// (SEND-4, SEND-6), and posting a message into its receiver's queue (post in the
// model), or straight into its mailbox when the receiver waits in ReplyRecv with
// an empty queue (handoff.ts).
import type { BusCore } from './core';
import { carryTransfer, lookup } from './tables';
import { replyPending } from './calls';
import { copyIn, publishEntry, quotaAdd, reserveEntry, slotBytes, stampCredentials } from './queues';
import { releaseMoved } from './release';
import { handOff } from './handoff';
import * as status from './status';
import { type Status } from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  EF_BADGE,
  EF_NAME,
  EF_UID,
  E_BYTES,
  E_CRED,
  E_HANDLES,
  E_KIND,
  E_NH,
  E_NODE,
  E_OFF,
  E_PHYS,
  E_REPLY,
  E_SENDER,
  E_SENDER_ID,
  HF_BADGE,
  H_KIND,
  H_NODE,
  H_RIGHTS,
  H_STATUS,
  KIND_REPLY,
  MB_STATE,
  NF_NAME,
  NONE,
  N_CRED,
  N_OWNER,
  P_NSCOUNT,
  P_QCOUNT,
  R_GRANT,
  ST_DEAD,
  ST_REVOKED,
} = layout;
const { OK } = status;
const { BAD_HANDLE, CALLER_GONE, DEAD, INVALID_ARGUMENT, NO_RIGHTS, REVOKED } = status.STATUS;

/**
 * SEND-4, SEND-6: every staged transfer in order, from `slot`'s table. Resolves each into
 * transferRecords (the effects use them in the same hold: no second lookup).
 */
export function transferError(b: BusCore, slot: number, allowReply: boolean): Status {
  const I = b.int32,
    staged = b.staged;
  for (let i = 0; i < staged.transferCount; i++) {
    const r = lookup(b, slot, staged.transferHandles[i]);
    if (r === NONE) return BAD_HANDLE;
    b.transferRecords[i] = r;
    const h = b.handleAt(r);
    if (I[h + H_KIND] === KIND_REPLY) {
      if (!allowReply || !staged.transferMoves[i]) return INVALID_ARGUMENT;
      if (!replyPending(b, r)) return CALLER_GONE; // CALL-9: an abandoned one never travels
      continue;
    }
    if (I[h + H_STATUS] === ST_REVOKED) return REVOKED;
    if (I[h + H_STATUS] === ST_DEAD) return DEAD;
    if ((I[h + H_RIGHTS] & R_GRANT) === 0) return NO_RIGHTS;
    const asked = staged.transferRights[i];
    if (asked >= 0 && (asked & ~I[h + H_RIGHTS]) !== 0) return NO_RIGHTS;
  }
  return OK;
}

/**
 * The fields every queued message and call carries (entry `er`, its f64 words at `ef`): who
 * sent it, its node's name for the owner (NODE-3), the badge of the handle it went through,
 * and the sender's credentials when the node (record `n`) asks for them (CRED-1, stamped by
 * the bus from its own records).
 */
export function writeMessageEntry(
  b: BusCore,
  er: number,
  ef: number,
  slot: number,
  peerId: number,
  target: number,
  node: number,
  kind: number,
): void {
  const I = b.int32,
    F = b.float64;
  I[er + E_KIND] = kind;
  I[er + E_SENDER] = slot;
  I[er + E_SENDER_ID] = peerId;
  I[er + E_NODE] = node;
  F[ef + EF_NAME] = F[b.nodeF64At(node) + NF_NAME];
  F[ef + EF_BADGE] = F[b.handleF64At(target) + HF_BADGE];
  const cred = I[b.nodeAt(node) + N_CRED];
  I[er + E_CRED] = cred;
  if (cred === 1) stampCredentials(b, slot, ef + EF_UID);
}

/** The slot of the peer that owns the node behind node handle record `target`. */
export function destOf(b: BusCore, target: number): number {
  return b.int32[b.nodeAt(b.int32[b.handleAt(target) + H_NODE]) + N_OWNER];
}

/**
 * Put the staged message's handles in flight to its receiver `dest` (the owner of the node
 * behind handle record `target`) and enqueue it (post in the model); `reply`: a call's reply
 * handle record (in flight to dest), or NONE. Returns the entry index, or -1 when it was
 * handed off to the receiver's registered mailbox instead.
 */
export function post(
  b: BusCore,
  slot: number,
  peerId: number,
  target: number,
  dest: number,
  kind: number,
  reply: number,
): number {
  const I = b.int32,
    staged = b.staged,
    bytes = staged.payloadBytes,
    p = b.peerAt(dest);
  if (
    I[b.mailboxAt(dest) + MB_STATE] === 1 &&
    I[p + P_QCOUNT] === 0 &&
    I[p + P_NSCOUNT] === 0 &&
    bytes <= b.layout.mbPayload
  ) {
    handOff(b, slot, target, kind, dest, reply);
    return -1;
  }
  const e = reserveEntry(b, dest);
  const er = b.entryAt(dest, e),
    ef = b.entryF64At(dest, e);
  writeMessageEntry(b, er, ef, slot, peerId, target, I[b.handleAt(target) + H_NODE], kind);
  I[er + E_BYTES] = bytes;
  I[er + E_OFF] = bytes > 0 ? copyIn(b, dest) : 0;
  I[er + E_PHYS] = slotBytes(bytes);
  I[er + E_NH] = staged.transferCount;
  I[er + E_REPLY] = reply;
  for (let i = 0; i < staged.transferCount; i++)
    I[er + E_HANDLES + i] = carryTransfer(b, b.transferRecords[i], dest, staged.transferRights[i], false);
  quotaAdd(b, dest, slot, peerId, 1, bytes, staged.transferCount + (reply !== NONE ? 1 : 0));
  publishEntry(b, dest, ef, bytes, true);
  if (staged.transferCount > 0) releaseMoved(b, slot);
  return e;
}
