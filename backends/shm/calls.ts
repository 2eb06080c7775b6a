// Calls (CALL-1..7): a call record per call slot of the caller, bound to one reply
// handle. The record is resolved once (CALL-2) and freed when its caller collected
// the outcome and no reply handle refers to it any more. The caller learns the
// outcome from the call's completion word, stored after the resolving hold committed.
import type { ReceivedHandle, ReplyDelivery, Result } from '../../spec/types';
import { rightsOfBits } from '../common';
import type { BusCore } from './core';
import { freeSlot } from './tables';
import * as status from './status';
import { errorCodeOf, type Status } from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  CF_NAMES,
  CF_UID,
  C_CALLER_HOLDS,
  C_GEN,
  C_OUTCOME,
  C_RBYTES,
  C_RCRED,
  C_REPLY,
  C_RHANDLES,
  C_RNH,
  C_STATE,
  H_CALL,
  H_CALLGEN,
  H_NOTICE,
  H_STATE,
  KIND_REPLY,
  NONE,
} = layout;
const { OK } = status;

/** A call record nothing refers to any more goes back to its caller's free slots. */
export function freeCallIfDone(b: BusCore, c: number): void {
  const I = b.int32,
    cr = b.callAt(c);
  if (I[cr + C_STATE] === 2 && I[cr + C_CALLER_HOLDS] === 0 && I[cr + C_REPLY] === NONE) {
    b.journal.set(cr + C_STATE, 0);
    b.journal.set(cr + C_GEN, I[cr + C_GEN] + 1);
  }
}

/** CALL-2: the one outcome of a call; its caller sees it (completion word) once this hold committed. */
export function resolveCall(b: BusCore, c: number, outcome: Status): void {
  const cr = b.callAt(c);
  b.journal.set(cr + C_STATE, 2);
  b.journal.set(cr + C_OUTCOME, outcome);
  const gen = b.int32[cr + C_GEN];
  b.wakeups.callResolved(c, gen);
  if (b.localWaits !== null) b.localWaits.callResolved(c, gen);
}

/** The caller collected its outcome; the call slot is freed once nothing refers to it. */
export function collectCall(b: BusCore, c: number): void {
  b.journal.set(b.callAt(c) + C_CALLER_HOLDS, 0);
  freeCallIfDone(b, c);
}

/**
 * The call reply handle record r is bound to, or NONE once that call's record was freed: an
 * abandoned call lets its record go while its reply handle lives on (CALL-9), and the record's
 * generation tells a later call in the same record apart.
 */
export function callOf(b: BusCore, r: number): number {
  const I = b.int32,
    h = b.handleAt(r),
    c = I[h + H_CALL];
  return I[b.callAt(c) + C_GEN] === I[h + H_CALLGEN] ? c : NONE;
}

/** Whether reply handle record r answers a call still pending (else it is abandoned, CALL-9). */
export function replyPending(b: BusCore, r: number): boolean {
  const c = callOf(b, r);
  return c !== NONE && b.int32[b.callAt(c) + C_STATE] === 1;
}

/** CALL-8: an abandoned call lets go of its reply handle, which lives on unbound (CALL-9); its record can be freed. */
export function detachReply(b: BusCore, c: number): void {
  b.journal.set(b.callAt(c) + C_REPLY, NONE);
  freeCallIfDone(b, c);
}

/** CALL-4: a reply handle is used up (replied through, or its call already resolved). */
export function consumeReply(b: BusCore, r: number): void {
  const h = b.handleAt(r);
  const c = callOf(b, r);
  // NOTICE-4: a call-abandoned notice still waiting about it keeps its slot
  if (b.int32[h + H_NOTICE] === 1) b.journal.set(h + H_STATE, 3);
  else freeSlot(b, r);
  if (c !== NONE) detachReply(b, c);
}

/** The caller's view of a resolved call: the reply delivery or the error. */
export function callResult(b: BusCore, c: number): Result {
  const I = b.int32,
    cr = b.callAt(c);
  const outcome = I[cr + C_OUTCOME];
  if (outcome !== OK) return { ok: false, error: errorCodeOf(outcome) };
  const bytes = I[cr + C_RBYTES];
  const base = b.replyAreaAt(c);
  const payload = Buffer.from(b.bytes.slice(base, base + bytes)).toString('base64');
  const handles: ReceivedHandle[] = [];
  const cf = b.callF64At(c);
  for (let i = 0; i < I[cr + C_RNH]; i++) {
    const kind = I[cr + C_RHANDLES + 3 * i],
      rights = I[cr + C_RHANDLES + 3 * i + 1];
    handles.push({
      name: b.float64[cf + CF_NAMES + i],
      kind: kind === KIND_REPLY ? 'reply' : 'node',
      rights: rightsOfBits(rights),
      state: 'live',
    });
  }
  // CRED-3: the replier's credentials, when the caller asked for them
  const F = b.float64;
  const reply: ReplyDelivery =
    I[cr + C_RCRED] === 1
      ? {
          kind: 'reply',
          credentials: {
            uid: F[cf + CF_UID],
            gid: F[cf + CF_UID + 1],
            pid: F[cf + CF_UID + 2],
            peerKey: F[cf + CF_UID + 3],
          },
          payload,
          handles,
        }
      : { kind: 'reply', payload, handles };
  return { ok: true, value: { reply } };
}

/**
 * The fast path's view of a resolved call (its completion word seen, so committed; the caller
 * still holds it, so nothing else writes it): the reply's bytes copied into `out` (as many as
 * fit); its length, or minus the error status.
 */
export function replyInto(b: BusCore, c: number, out: Uint8Array, outLength: number): number {
  const I = b.int32,
    cr = b.callAt(c);
  const outcome = I[cr + C_OUTCOME];
  if (outcome !== OK) return -outcome;
  const n = I[cr + C_RBYTES];
  const k = n < outLength ? n : outLength;
  if (k > 0) out.set(b.replyBytes(b.replyAreaAt(c), k));
  return n;
}
