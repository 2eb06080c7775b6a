// Room watches and room notices (QUOTA-5): a sender refused for room in a queue (or
// skipped there by a multicast with skipFull) is owed one room notice for that queue.
// The watch lives in the pair's quota record (sender slot in the queue's peer): what
// the refused message needed, the handle it was refused through, and its arming order.
// At the end of a step the armed watches whose queue has room for what they recorded
// get their notice, oldest first; the notice waits in the sender's queue as an entry
// that holds no table slot (the ring has one entry per sender for it), and the watch
// ends when it is received, or when either peer closes (CLOSE-4: a room notice about
// a closing queue is withdrawn).
import type { BusCore } from './core';
import { publishEntry, reserveEntry, roomFor } from './queues';
import { discardEntries } from './destroy';
import * as queues from './queues';
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
  H_GEN,
  HDR_ROOM_ARMED,
  HDR_ROOM_SEQ,
  NOTICE_ROOM,
  P_STATUS,
  Q_WATCH,
  Q_WBYTES,
  Q_WGEN,
  Q_WHANDLES,
  Q_WID,
  Q_WMSGS,
  Q_WREC,
  Q_WSEQ,
} = layout;
const { ROOM } = queues;

/**
 * QUOTA-5: the sender (`slot`, `peerId`) was refused room in `dest`'s queue through its handle
 * record `r`, for `messages` messages of `bytes` carrying `handles`. Arms the pair's watch, or
 * updates it in its place; nothing while its notice waits.
 */
export function armRoom(
  b: BusCore,
  slot: number,
  peerId: number,
  dest: number,
  r: number,
  messages: number,
  bytes: number,
  handles: number,
): void {
  const I = b.int32,
    j = b.journal,
    q = b.quotaAt(dest, slot);
  const watching = I[q + Q_WATCH] !== 0 && I[q + Q_WID] === peerId;
  if (watching && I[q + Q_WATCH] === 2) return; // at most one watch or notice per pair
  if (!watching) {
    j.set(q + Q_WATCH, 1);
    j.set(q + Q_WID, peerId);
    j.set(HDR_ROOM_SEQ, (I[HDR_ROOM_SEQ] + 1) | 0);
    j.set(q + Q_WSEQ, I[HDR_ROOM_SEQ]);
    j.set(HDR_ROOM_ARMED, I[HDR_ROOM_ARMED] + 1);
  }
  j.set(q + Q_WREC, r);
  j.set(q + Q_WGEN, I[b.handleAt(r) + H_GEN]);
  j.set(q + Q_WMSGS, messages);
  j.set(q + Q_WBYTES, bytes);
  j.set(q + Q_WHANDLES, handles);
}

/**
 * QUOTA-5, at the end of a step: every armed watch whose queue has room for what it recorded
 * (within capacity and the sender's quotas, no blocked send of the sender waiting for it) gets
 * its room notice, oldest first. Whether any did.
 */
export function notifyRoom(b: BusCore): boolean {
  const I = b.int32;
  if (I[HDR_ROOM_ARMED] === 0) return false;
  const due: number[] = []; // quota records, then sorted by arming order
  for (let dest = 0; dest < b.peers; dest++)
    for (let sender = 0; sender < b.peers; sender++) {
      const q = b.quotaAt(dest, sender);
      if (I[q + Q_WATCH] !== 1) continue;
      const id = I[q + Q_WID];
      if (roomFor(b, dest, sender, id, I[q + Q_WMSGS], I[q + Q_WBYTES], I[q + Q_WHANDLES]) !== ROOM) continue;
      if (b.blockedSendTo(sender, id, dest)) continue;
      due.push(q);
    }
  if (due.length === 0) return false;
  due.sort((x, y) => (I[x + Q_WSEQ] - I[y + Q_WSEQ]) | 0);
  for (const q of due) roomNotice(b, q);
  return true;
}

/** The room notice of the watch in quota record q, into its sender's queue. */
function roomNotice(b: BusCore, q: number): void {
  const I = b.int32,
    j = b.journal;
  const pair = (q - b.layout.quotaBase) / layout.Q_WORDS,
    dest = (pair / b.peers) | 0,
    sender = pair % b.peers;
  j.set(HDR_ROOM_ARMED, I[HDR_ROOM_ARMED] - 1);
  j.set(q + Q_WATCH, 2);
  const e = reserveEntry(b, sender);
  const er = b.entryAt(sender, e),
    ef = b.entryF64At(sender, e);
  I[er + E_KIND] = ENTRY_NOTICE;
  I[er + E_NTYPE] = NOTICE_ROOM;
  I[er + E_BYTES] = 0;
  I[er + E_PHYS] = 0;
  I[er + E_NH] = 0;
  I[er + E_REPLY] = dest; // the queue it is about
  const r = I[q + Q_WREC];
  b.float64[ef + EF_NAME] = I[q + Q_WGEN] * b.tableSize + (r % b.tableSize); // the name it was refused through
  b.float64[ef + EF_BADGE] = 0;
  publishEntry(b, sender, ef, 0, false);
}

/** A room notice left `slot`'s queue (received): the pair's watch ends. */
export function roomNoticeGone(b: BusCore, slot: number, dest: number): void {
  b.journal.set(b.quotaAt(dest, slot) + Q_WATCH, 0);
}

/**
 * CLOSE-4: the watches of the closing peer in `slot` end, and so do the watches on its queue,
 * whose room notices still waiting in other peers' queues are withdrawn.
 */
export function endRoomWatches(b: BusCore, slot: number): void {
  const I = b.int32,
    j = b.journal;
  const onQueue = (er: number) =>
    I[er + E_KIND] === ENTRY_NOTICE && I[er + E_NTYPE] === NOTICE_ROOM && I[er + E_REPLY] === slot;
  for (let other = 0; other < b.peers; other++) {
    const own = b.quotaAt(other, slot), // the closing peer's watch on other's queue
      on = b.quotaAt(slot, other); // other's watch on the closing peer's queue
    for (const q of other === slot ? [own] : [own, on]) {
      const watch = I[q + Q_WATCH];
      if (watch === 0) continue;
      j.set(q + Q_WATCH, 0);
      if (watch === 1) j.set(HDR_ROOM_ARMED, I[HDR_ROOM_ARMED] - 1);
      // a notice about the closing queue waiting in another open peer's queue is withdrawn (its place stays empty)
      else if (q === on && I[b.peerAt(other) + P_STATUS] === 1) discardEntries(b, other, onQueue);
    }
  }
}
