// A node's death (DESTROY-2..4), by destroyNode or by its owner's close (CLOSE-2):
// calls and blocked sends to it fail DEAD in ticket order, the other handles to it
// die and their holders get notices (NOTICE-5 order), queued traffic to it and its
// waiting no-senders notice are discarded, and its record is freed at once.
import type { BusCore, LocalWait } from './core';
import { copyOut, quotaSub, slotBytes } from './queues';
import { resolveCall } from './calls';
import { release } from './release';
import { stateNotice, unlinkNoSenders } from './notices';
import * as status from './status';
import { errorCodeOf, type Status } from './status';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  CF_TICKET,
  C_STATE,
  EF_WORDS,
  ENTRY_CALL,
  ENTRY_NOTICE,
  E_BYTES,
  E_HANDLES,
  E_KIND,
  E_NH,
  E_NODE,
  E_OFF,
  E_PHYS,
  E_REPLY,
  E_SENDER,
  E_SENDER_ID,
  HDR_NODE_FREE,
  HF_CREATED,
  H_CALL,
  H_KIND,
  H_NODE,
  H_STATE,
  H_STATUS,
  KIND_NODE,
  NONE,
  NOTICE_DESTROYED,
  N_NEXTFREE,
  N_NSWAIT,
  N_OWNER,
  N_SENDERS,
  N_STATE,
  P_BHEAD,
  P_BHELD,
  P_BUSED,
  P_NODES,
  P_QBYTES,
  P_QCOUNT,
  P_QHEAD,
  P_QMSGS,
  ST_DEAD,
  ST_LIVE,
} = layout;
const { STATUS } = status;

/** A pending call or a runner's blocked send, to be ended in ticket order. */
export interface Ending {
  ticket: number;
  call: number;
  local: LocalWait | null;
}

/**
 * End pending calls (outcome `status`) and local waits together, in ticket order (CLOSE-1,
 * DESTROY-4); `abandon`: each call is abandoned right after its completion (CALL-8).
 */
export function endInTicketOrder(
  b: BusCore,
  endings: Ending[],
  status: Status,
  abandon: ((b: BusCore, c: number, status: Status) => void) | null = null,
): void {
  endings.sort((x, y) => x.ticket - y.ticket);
  for (const e of endings) {
    if (e.local !== null) e.local.end(errorCodeOf(status));
    else if (abandon !== null) abandon(b, e.call, status);
    else resolveCall(b, e.call, status);
  }
}

/** DESTROY-2..4 for one node; `consumed` is the handle destroyNode used, or NONE. */
export function destroy(b: BusCore, node: number, consumed: number): void {
  const I = b.int32,
    F = b.float64,
    j = b.journal,
    n = b.nodeAt(node);
  const owner = I[n + N_OWNER];
  j.set(n + N_STATE, 2);
  // DESTROY-4: pending calls whose message is still queued to the node (and the runner's blocked
  // sends to it) fail DEAD, in ticket order; a call already received is being served and stays.
  const dying: Ending[] = [];
  const p = b.peerAt(owner);
  for (let k = 0, e = I[p + P_QHEAD]; k < I[p + P_QCOUNT]; k++, e = e + 1 === b.entriesPerQueue ? 0 : e + 1) {
    const er = b.entryAt(owner, e);
    if (I[er + E_KIND] !== ENTRY_CALL || I[er + E_NODE] !== node) continue;
    const c = I[b.handleAt(I[er + E_REPLY]) + H_CALL];
    if (I[b.callAt(c) + C_STATE] === 1) dying.push({ ticket: F[b.callF64At(c) + CF_TICKET], call: c, local: null });
  }
  if (b.localWaits !== null)
    for (const local of b.localWaits.sendsTo(node)) dying.push({ ticket: local.ticket, call: NONE, local });
  endInTicketOrder(b, dying, STATUS.DEAD);
  // DESTROY-2: every other live handle dies; holders in tables get a notice (NOTICE-5 order).
  const affected: number[] = [];
  for (let r = 0; r < b.peers * b.tableSize; r++) {
    const h = b.handleAt(r);
    const st = I[h + H_STATE];
    if (
      (st === 1 || st === 2) &&
      I[h + H_KIND] === KIND_NODE &&
      I[h + H_NODE] === node &&
      I[h + H_STATUS] === ST_LIVE &&
      r !== consumed
    )
      affected.push(r);
  }
  affected.sort((x, y) => F[b.handleF64At(x) + HF_CREATED] - F[b.handleF64At(y) + HF_CREATED]);
  for (const r of affected) {
    const h = b.handleAt(r);
    j.set(h + H_STATUS, ST_DEAD);
    if (I[h + H_STATE] === 2) stateNotice(b, r, NOTICE_DESTROYED);
  }
  if (consumed !== NONE) release(b, consumed);
  j.set(n + N_SENDERS, 0);
  // DESTROY-3: queued traffic to the node, and its waiting no-senders notice, are discarded.
  discardNodeEntries(b, owner, node);
  if (I[n + N_NSWAIT] === 1) unlinkNoSenders(b, owner, node);
  // No live handle, queued entry, pending call or waiting notice refers to the record now.
  j.set(n + N_STATE, 0);
  j.set(n + N_NEXTFREE, I[HDR_NODE_FREE]);
  j.set(HDR_NODE_FREE, node);
  j.set(p + P_NODES, I[p + P_NODES] - 1); // NODE-4: it counts no more
}

/** A queued entry dropped by DESTROY-3: what it holds, read before the ring is rewritten. */
interface Dropped {
  sender: number;
  senderId: number;
  bytes: number;
  handles: Int32Array;
  kind: number;
  reply: number;
}

/** An entry kept: its words and payload, copied out before the ring is rewritten. */
interface Kept {
  words: Int32Array;
  values: Float64Array;
  payload: Uint8Array;
}

/** Remove queued entries to `node` from `slot`'s queue, keeping the others in order (DESTROY-3; a cold path). */
function discardNodeEntries(b: BusCore, slot: number, node: number): void {
  const I = b.int32;
  discardEntries(b, slot, (er) => I[er + E_KIND] !== ENTRY_NOTICE && I[er + E_NODE] === node);
}

/**
 * Remove the queued messages and calls of `slot`'s queue that `toNode` picks (entry record `er`),
 * keeping the others in order; their handles are released, reply handles included (DESTROY-3,
 * CALL-8: a withdrawn call message). A cold path.
 */
export function discardEntries(b: BusCore, slot: number, toNode: (er: number) => boolean): void {
  const I = b.int32,
    F = b.float64,
    p = b.peerAt(slot),
    E = b.entriesPerQueue,
    ew = b.layout.entryWords;
  const count = I[p + P_QCOUNT],
    head = I[p + P_QHEAD];
  let any = false;
  for (let i = 0; i < count && !any; i++) any = toNode(b.entryAt(slot, (head + i) % E));
  if (!any) return;
  const kept: Kept[] = [],
    dropped: Dropped[] = [];
  for (let i = 0; i < count; i++) {
    const e = (head + i) % E;
    const er = b.entryAt(slot, e),
      ef = b.entryF64At(slot, e);
    if (toNode(er)) {
      dropped.push({
        sender: I[er + E_SENDER],
        senderId: I[er + E_SENDER_ID],
        bytes: I[er + E_BYTES],
        handles: I.slice(er + E_HANDLES, er + E_HANDLES + I[er + E_NH]),
        kind: I[er + E_KIND],
        reply: I[er + E_REPLY],
      });
      continue;
    }
    const bytes = I[er + E_KIND] === ENTRY_NOTICE ? 0 : I[er + E_BYTES];
    const payload = new Uint8Array(bytes);
    if (bytes > 0) copyOut(b, slot, I[er + E_OFF], bytes, payload, 0);
    kept.push({ words: I.slice(er, er + ew), values: F.slice(ef, ef + EF_WORDS), payload });
  }
  rewriteQueue(b, slot, head, kept);
  for (const d of dropped)
    if (d.kind !== ENTRY_NOTICE)
      quotaSub(b, slot, d.sender, d.senderId, 1, d.bytes, d.handles.length + (d.kind === ENTRY_CALL ? 1 : 0));
  b.wakeups.roomFreed(slot);
  for (const d of dropped) {
    if (d.kind === ENTRY_NOTICE) continue; // a room notice withdrawn (QUOTA-5): it holds nothing
    for (const r of d.handles) release(b, r);
    if (d.kind === ENTRY_CALL) release(b, d.reply);
  }
}

/** Write the kept entries back from the ring's head, each payload after the bytes the receiver holds in views. */
function rewriteQueue(b: BusCore, slot: number, head: number, kept: Kept[]): void {
  const I = b.int32,
    j = b.journal,
    p = b.peerAt(slot),
    E = b.entriesPerQueue,
    ringBytes = b.ringBytes;
  const held = I[p + P_BHELD];
  let off = (I[p + P_BHEAD] + held) % ringBytes;
  let msgs = 0,
    bytes = 0,
    phys = 0;
  for (let k = 0; k < kept.length; k++) {
    const e = (head + k) % E;
    const er = b.entryAt(slot, e),
      ef = b.entryF64At(slot, e);
    const { words, values, payload } = kept[k];
    for (let w = 0; w < words.length; w++) j.set(er + w, words[w]);
    for (let w = 0; w < EF_WORDS; w++) j.setF64(ef + w, values[w]);
    if (words[E_KIND] === ENTRY_NOTICE) continue;
    const n = payload.length;
    msgs++;
    bytes += n;
    phys += slotBytes(n);
    j.set(er + E_OFF, off);
    j.set(er + E_PHYS, slotBytes(n)); // a kept copy of a multicast gets bytes of its own
    const base = b.ringAt(slot);
    const first = Math.min(n, ringBytes - off);
    b.bytes.set(payload.subarray(0, first), base + off);
    if (first < n) b.bytes.set(payload.subarray(first), base);
    off = (off + slotBytes(n)) % ringBytes;
  }
  j.setPublished(p + P_QCOUNT, kept.length);
  j.set(p + P_QMSGS, msgs);
  j.set(p + P_QBYTES, bytes);
  j.set(p + P_BUSED, held + phys);
}
