// Releasing a handle (RELEASE-1..3, CALL-4), wherever it is: named in a table or in
// flight in a queued message.
import type { BusCore } from './core';
import { freeSlot, lookup, unlinkTree } from './tables';
import { callOf, freeCallIfDone, resolveCall } from './calls';
import { senderGone } from './notices';
import * as status from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { C_REPLY, C_STATE, H_KIND, H_NODE, H_NOTICE, H_ROOT, H_STATE, H_STATUS, KIND_REPLY, NONE, N_ROOT, ST_LIVE } =
  layout;
const { STATUS } = status;

/** RELEASE-1..3, CALL-4: drop handle record r. */
export function release(b: BusCore, r: number): void {
  const I = b.int32,
    j = b.journal,
    h = b.handleAt(r);
  if (I[h + H_KIND] === KIND_REPLY) {
    const c = callOf(b, r);
    freeReplySlot(b, r);
    if (c === NONE) return; // abandoned, its call record already gone (CALL-9)
    const cr = b.callAt(c);
    j.set(cr + C_REPLY, NONE);
    if (I[cr + C_STATE] === 1) resolveCall(b, c, STATUS.NO_REPLY);
    else freeCallIfDone(b, c);
    return;
  }
  unlinkTree(b, r);
  if (I[h + H_ROOT] === 1) j.set(b.nodeAt(I[h + H_NODE]) + N_ROOT, NONE);
  if (I[h + H_STATUS] === ST_LIVE) senderGone(b, r);
  // NOTICE-4: the notice still waiting about this handle keeps its slot until received.
  if (I[h + H_NOTICE] === 1) j.set(h + H_STATE, 3);
  else freeSlot(b, r);
}

/** A reply handle leaves its table; a call-abandoned notice still waiting about it keeps its slot (NOTICE-4). */
export function freeReplySlot(b: BusCore, r: number): void {
  const h = b.handleAt(r);
  if (b.int32[h + H_NOTICE] === 1) b.journal.set(h + H_STATE, 3);
  else freeSlot(b, r);
}

/** SEND-5: the staged transfers that move node handles release them once the operation succeeded. */
export function releaseMoved(b: BusCore, slot: number): void {
  const staged = b.staged;
  for (let i = 0; i < staged.transferCount; i++) {
    if (!staged.transferMoves[i]) continue;
    const r = lookup(b, slot, staged.transferHandles[i]);
    if (r === NONE || b.int32[b.handleAt(r) + H_KIND] === KIND_REPLY) continue; // a reply handle already travelled
    release(b, r);
  }
}
