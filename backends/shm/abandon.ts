// Calls that end without a reply (CALL-8, CALL-9, CANCEL-1): a call resolved
// TIMED_OUT, CANCELLED or CLOSED is abandoned right after its completion, in the
// same lock hold. Its call message, if still queued, is withdrawn as if never
// accepted; otherwise the holder of its reply handle is told by a call-abandoned
// notice whose room is the reply handle's own table slot (NOTICE-4), and a reply
// handle in flight arrives flagged (RECV-3).
import type { BusCore } from './core';
import { detachReply, resolveCall } from './calls';
import { discardEntries } from './destroy';
import { stateNotice } from './notices';
import * as status from './status';
import { type Status } from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { C_CALLER_ID, C_REPLY, C_STATE, CF_TICKET, E_KIND, E_REPLY, ENTRY_CALL, H_STATE, NONE, NOTICE_ABANDONED } =
  layout;
const { CANCELLED, TIMED_OUT } = status.STATUS;

/** CALL-2 then CALL-8: call c resolves with `outcome` (TIMED_OUT, CANCELLED or CLOSED) and is abandoned. */
export function resolveAbandoned(b: BusCore, c: number, outcome: Status): void {
  resolveCall(b, c, outcome);
  abandonCall(b, c);
}

/** TIME-1: a call whose deadline passed resolves TIMED_OUT (if nothing else resolved it first). */
export function timeoutCall(b: BusCore, c: number): void {
  if (b.int32[b.callAt(c) + C_STATE] === 1) resolveAbandoned(b, c, TIMED_OUT);
}

/** CANCEL-1: the caller withdraws its pending call c (if nothing resolved it first); whether it did. */
export function cancelCall(b: BusCore, c: number): boolean {
  if (b.int32[b.callAt(c) + C_STATE] !== 1) return false;
  resolveAbandoned(b, c, CANCELLED);
  return true;
}

/** CANCEL-1: the pending call of the peer (`slot`, `peerId`) holding `ticket`, cancelled; whether there was one. */
export function cancelOwnCall(b: BusCore, slot: number, peerId: number, ticket: number): boolean {
  const I = b.int32;
  for (let k = 0; k < b.callSlots; k++) {
    const c = slot * b.callSlots + k,
      cr = b.callAt(c);
    if (I[cr + C_STATE] === 1 && I[cr + C_CALLER_ID] === peerId && b.float64[b.callF64At(c) + CF_TICKET] === ticket)
      return cancelCall(b, c);
  }
  return false;
}

/** CALL-8: what becomes of a call just resolved without a reply, its message and its reply handle. */
function abandonCall(b: BusCore, c: number): void {
  const I = b.int32;
  const r = I[b.callAt(c) + C_REPLY];
  if (r === NONE) return;
  if (I[b.handleAt(r) + H_STATE] === 2) {
    stateNotice(b, r, NOTICE_ABANDONED); // CALL-8: its holder is told
    detachReply(b, c);
    return;
  }
  // In flight: in its call message still queued (withdrawn, its reply handle released with it),
  // or delegated in another message (it arrives flagged, RECV-3).
  const holder = (r / b.tableSize) | 0;
  discardEntries(b, holder, (er) => I[er + E_KIND] === ENTRY_CALL && I[er + E_REPLY] === r);
  if (I[b.callAt(c) + C_REPLY] === r) detachReply(b, c);
}
