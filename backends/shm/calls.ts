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
  C_CALLER_HOLDS,
  C_GEN,
  C_OUTCOME,
  C_RBYTES,
  C_REPLY,
  C_RHANDLES,
  C_RNH,
  C_STATE,
  CF_NAMES,
  H_CALL,
  KIND_REPLY,
  NONE,
} = layout;
const { OK, STATUS } = status;

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

/** TIME-1: a call whose deadline passed resolves TIMED_OUT (if nothing else resolved it first). */
export function timeoutCall(b: BusCore, c: number): void {
  if (b.int32[b.callAt(c) + C_STATE] === 1) resolveCall(b, c, STATUS.TIMED_OUT);
}

/** The caller collected its outcome; the call slot is freed once nothing refers to it. */
export function collectCall(b: BusCore, c: number): void {
  b.journal.set(b.callAt(c) + C_CALLER_HOLDS, 0);
  freeCallIfDone(b, c);
}

/** CALL-4: a reply handle is used up (replied through, or its call already resolved). */
export function consumeReply(b: BusCore, r: number): void {
  const c = b.int32[b.handleAt(r) + H_CALL];
  freeSlot(b, r);
  b.journal.set(b.callAt(c) + C_REPLY, NONE);
  freeCallIfDone(b, c);
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
  const reply: ReplyDelivery = { kind: 'reply', payload, handles };
  return { ok: true, value: { reply } };
}

/**
 * The fast path's view of a resolved call (its completion word seen, so committed; the caller
 * still holds it, so nothing else writes it): the reply's bytes copied into `out` (as many as
 * fit); its length, or minus the error status.
 */
export function replyInto(
  b: BusCore,
  c: number,
  out: Uint8Array,
  outLength: number,
  outWords: Int32Array | null,
): number {
  const I = b.int32,
    cr = b.callAt(c);
  const outcome = I[cr + C_OUTCOME];
  if (outcome !== OK) return -outcome;
  const n = I[cr + C_RBYTES];
  const base = b.replyAreaAt(c),
    B = b.bytes;
  const k = n < outLength ? n : outLength;
  if (outWords !== null && k <= 512) {
    // reply areas are 64-aligned; outWords views out's bytes
    const w = k >> 2,
      from = base >> 2;
    for (let i = 0; i < w; i++) outWords[i] = I[from + i];
    for (let i = w << 2; i < k; i++) out[i] = B[base + i];
  } else out.set(B.subarray(base, base + k));
  return n;
}
