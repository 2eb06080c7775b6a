// The structural invariants of abandoned calls and room watches (INV-9, INV-13; CALL-8,
// CALL-9, QUOTA-5), beside those of model/invariants.ts, which runs them in checkState.
import type { BusState } from './state';
import { behindOwnBlockedSend, queueRoom } from './checks';

export interface Violation {
  invariant: string;
  detail: string;
}

const v = (invariant: string, detail: string): Violation => ({ invariant, detail });

/**
 * INV-13, CALL-8, CALL-9: no queued call message belongs to a resolved call, and a reply handle is
 * abandoned exactly when its call has resolved, in which case, in a table, it has had its notice.
 */
export function checkAbandonedCalls(s: BusState): Violation[] {
  const out: Violation[] = [];
  for (const p of Object.values(s.peers))
    for (const e of p.queue) {
      if (e.kind !== 'call') continue;
      const call = s.calls[s.handles[e.replyHandle!]?.call ?? -1];
      if (!call || call.status !== 'pending' || call.message !== e.seq)
        out.push(v('INV-13', `call message ${e.seq} is queued for a call that is not pending or not waiting on it`));
    }
  for (const h of Object.values(s.handles)) {
    if (h.kind !== 'reply') continue;
    const call = s.calls[h.call];
    if (!call) continue; // INV-6 reports it
    if ((h.status === 'abandoned') !== (call.status !== 'pending'))
      out.push(v('INV-13', `reply handle ${h.id} is ${h.status} while its call is ${call.status}`));
    if (h.status === 'abandoned' && h.name !== null && h.notice === null)
      out.push(v('INV-13', `abandoned reply handle ${h.id} in peer ${h.holder}'s table never caused a notice`));
    if (call.status === 'pending' && call.message !== null && h.name !== null)
      out.push(v('INV-13', `call ${call.id} counts its message queued, but its reply handle has a name`));
  }
  return out;
}

/**
 * INV-9, QUOTA-5: at most one room watch per pair of open peers; an armed one waits for room that its
 * queue does not have (at the end of a step the bus would have sent its notice), and a notified one
 * points at its room notice in the sender's queue.
 */
export function checkRoomWatches(s: BusState): Violation[] {
  const out: Violation[] = [];
  const pairs = new Set<string>();
  for (const w of s.roomWatches) {
    const key = `${w.sender}>${w.dest}`;
    if (pairs.has(key)) out.push(v('INV-9', `two room watches for sender ${w.sender} on peer ${w.dest}'s queue`));
    pairs.add(key);
    const sender = s.peers[w.sender];
    const dest = s.peers[w.dest];
    if (sender?.status !== 'open' || dest?.status !== 'open') {
      out.push(v('INV-5', `a room watch of ${w.sender} on ${w.dest} outlives a closed peer`));
      continue;
    }
    if (w.status === 'armed') {
      if (w.notice !== null) out.push(v('INV-9', `armed room watch ${key} points at a notice`));
      else if (
        queueRoom(s, dest, w.sender, w.messages, w.bytes, w.handles) === null &&
        !behindOwnBlockedSend(s, w.sender, w.dest)
      )
        out.push(v('INV-9', `room watch ${key} is still armed although the queue has room for it`));
    } else {
      const e = sender.queue.find((q) => q.seq === w.notice);
      if (e?.notice?.type !== 'room') out.push(v('INV-9', `room watch ${key} points at no waiting room notice`));
    }
  }
  for (const p of Object.values(s.peers))
    for (const e of p.queue)
      if (e.notice?.type === 'room' && !s.roomWatches.some((w) => w.notice === e.seq && w.sender === p.id))
        out.push(v('INV-9', `room notice ${e.seq} in peer ${p.id}'s queue has no watch`));
  return out;
}
