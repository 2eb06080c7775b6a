// The effects shared by the operations (model/apply.ts): tables, queues, notices,
// derivations, releases, completions and node death. These functions mutate the
// state they are given (applyInPlace's; step hands it a clone). Every status
// change goes through the lifecycle statecharts (advance), so an illegal change
// is a ModelBug.
import type {
  CallDelivery,
  CallOp,
  Delivery,
  MessageDelivery,
  ErrorCode,
  HandleName,
  Invocation,
  Notice,
  PeerId,
  ReceivedHandle,
  Result,
  SendOp,
  StampedCredentials,
  Transfer,
} from '../spec/types';
import {
  queueChanged,
  tableResized,
  type BusState,
  type HandleRec,
  type NodeRec,
  type PeerRec,
  type PendingRec,
  type QueueEntry,
  type StepEffects,
} from './state';
import { advance } from './lifecycles';
import { gather } from './payload';
import { behindOwnBlockedSend, canonicalRights, destOf, lookup, messageBytes, queueRoom } from './checks';

export interface Ctx extends StepEffects {
  s: BusState;
}

export const ok = <V>(value: V): Result => ({ ok: true, value: value as never });
export const fail = (error: ErrorCode): Result => ({ ok: false, error });

// ------------------------------------------------------------------ primitives

export function byId(a: HandleRec, b: HandleRec): number {
  return a.id - b.id;
}

/** Queue an entry: it takes the next sequence number (its `seq` field is a placeholder until then). */
export function enqueue(ctx: Ctx, dest: PeerRec, entry: QueueEntry): void {
  const seq = ctx.s.nextSeq++;
  entry.seq = seq;
  dest.queue.push(entry);
  queueChanged(dest.queue, entry, 1);
  ctx.events.push({ type: 'enqueue', seq, to: dest.id, from: entry.sender, kind: entry.kind, bytes: entry.bytes });
}

/** NOTICE-1: a notice to a peer, in the bus order (ORDER-4); never limited (NOTICE-4). `node`: see QueueEntry. */
export function notify(ctx: Ctx, peer: PeerId, notice: Notice, node = 0): number | null {
  const dest = ctx.s.peers[peer];
  if (dest.status !== 'open') return null;
  enqueue(ctx, dest, {
    seq: 0,
    kind: 'notice',
    sender: 0,
    node,
    ownerName: 0,
    badge: 0,
    payload: '',
    bytes: 0,
    handles: [],
    replyHandle: null,
    notice,
  });
  return ctx.s.nextSeq - 1;
}

/** A revoked or node-destroyed notice about a handle in a table (REVOKE-2, DESTROY-2). */
export function notifyHolder(ctx: Ctx, h: HandleRec, type: 'revoked' | 'node-destroyed'): void {
  h.notice = notify(ctx, h.holder, { type, handle: h.name! });
}

export function complete(ctx: Ctx, ticket: number, result: Result): void {
  const pending = ctx.s.pending;
  let i = 0;
  while (pending[i].ticket !== ticket) i++;
  const p = pending[i];
  for (; i < pending.length - 1; i++) pending[i] = pending[i + 1]; // splice(i, 1), without the array it returns
  pending.pop();
  const peer = ctx.s.peers[p.peer];
  peer.pending--; // BOUND-2: its place is free again
  if (p.kind === 'send') peer.blockedSends--;
  ctx.completions.push({ ticket, peer: p.peer, op: p.kind, result });
  ctx.events.push({ type: 'complete', ticket, peer: p.peer });
}

/** A live node handle other than the root stopped counting as a sender (NOTICE-2). */
export function senderGone(ctx: Ctx, h: HandleRec): void {
  if (h.kind !== 'node' || h.root) return;
  const node = ctx.s.nodes[h.node];
  if (node.status !== 'live') return;
  node.senders--;
  if (node.senders > 0) return;
  // NOTICE-2: the fall to zero enqueues a notice here. None can be waiting already: a notice
  // waits only while the count stays at zero, since a rise withdraws it (NOTICE-6).
  node.notice = notify(
    ctx,
    node.owner,
    { type: 'no-senders', node: node.ownerName, derivedCount: node.derivedCount },
    node.id,
  );
}

/** NOTICE-6: the count rises while the node's no-senders notice waits: take it back out of the queue. */
function withdrawNoSenders(ctx: Ctx, node: NodeRec): void {
  const queue = ctx.s.peers[node.owner].queue;
  let i = queue.length - 1;
  while (queue[i].seq !== node.notice) i--; // usually near the end
  const [entry] = queue.splice(i, 1);
  advance('noSendersNotice', 'waiting', 'SENDERS_RISE');
  queueChanged(queue, entry, -1);
  ctx.events.push({ type: 'discard', seq: entry.seq, peer: node.owner });
  node.notice = null;
}

/** Make a new node handle derived from `parent`, in a table (name) or in flight (name null). */
export function derive(
  ctx: Ctx,
  parent: HandleRec,
  holder: PeerRec,
  rights: Transfer['rights'],
  badge: number,
  inTable: boolean,
): HandleRec {
  const s = ctx.s;
  const node = s.nodes[parent.node];
  const h: HandleRec = {
    id: s.nextHandle++,
    kind: 'node',
    holder: holder.id,
    name: null,
    status: 'live',
    node: parent.node,
    rights: canonicalRights(rights ?? parent.rights),
    badge,
    parent: parent.id,
    root: false,
    call: 0,
    notice: null,
  };
  s.handles[h.id] = h;
  node.derivedCount++;
  if (node.senders === 0 && node.notice !== null) withdrawNoSenders(ctx, node);
  node.senders++;
  if (inTable) place(holder, h);
  else holder.inflight++;
  return h;
}

/** Give a handle the next name in its holder's table (HANDLE-2). */
export function place(holder: PeerRec, h: HandleRec): HandleName {
  const name = holder.nextName++;
  holder.table[name] = h.id;
  tableResized(holder.table, 1);
  h.name = name;
  h.holder = holder.id;
  return name;
}

/** Take a handle out of its table (or out of flight), without destroying it. */
export function unplace(s: BusState, h: HandleRec): void {
  const holder = s.peers[h.holder];
  if (h.name === null) holder.inflight--;
  else {
    delete holder.table[h.name];
    tableResized(holder.table, -1);
  }
  h.name = null;
}

/**
 * NOTICE-4: a handle leaves its holder's table while the notice about it (revoked, node-destroyed
 * or call-abandoned) still waits: the notice keeps the handle's slot until it is received.
 */
export function keepNoticeSlot(s: BusState, h: HandleRec): void {
  if (h.notice === null || h.name === null) return;
  const holder = s.peers[h.holder];
  const entry = holder.queue.find((e) => e.seq === h.notice);
  if (entry) {
    entry.ghost = true;
    holder.ghosts++;
  }
}

/** RELEASE-1..3 and CALL-4: drop a handle wherever it is. */
export function release(ctx: Ctx, h: HandleRec): void {
  const s = ctx.s;
  keepNoticeSlot(s, h);
  unplace(s, h);
  if (h.kind === 'reply') {
    advance('replyHandle', h.status, 'RELEASE');
    const call = s.calls[h.call];
    call.replyHandle = null;
    if (call.status === 'pending') resolveCall(ctx, call.id, 'REPLY_HANDLE_GONE', fail('NO_REPLY'));
    else delete s.calls[call.id];
  } else {
    advance('handle', h.status, 'RELEASE');
    for (const child of Object.values(s.handles)) if (child.parent === h.id) child.parent = h.parent; // RELEASE-2
    if (h.root) s.nodes[h.node].root = null;
    if (h.status === 'live') senderGone(ctx, h);
  }
  delete s.handles[h.id];
}

export function resolveCall(ctx: Ctx, callId: number, event: string, result: Result): void {
  const call = ctx.s.calls[callId];
  call.status = advance('call', call.status, event);
  complete(ctx, call.ticket, result);
  if (call.replyHandle === null) delete ctx.s.calls[callId];
}

/** Discard a queued entry: every handle it carries is released (DESTROY-3, CLOSE-4, CALL-8). */
export function discard(ctx: Ctx, peer: PeerRec, entry: QueueEntry): void {
  if (entry.ghost) peer.ghosts--;
  for (const id of entry.handles) release(ctx, ctx.s.handles[id]);
  if (entry.replyHandle !== null) {
    const r = ctx.s.handles[entry.replyHandle];
    const call = ctx.s.calls[r.call];
    if (call.message === entry.seq) call.message = null;
    release(ctx, r);
  }
  ctx.events.push({ type: 'discard', seq: entry.seq, peer: peer.id });
}

/** Take an entry out of a queue by its seq and discard it (CALL-8, QUOTA-5): its position stays empty (ORDER-1). */
export function withdraw(ctx: Ctx, peer: PeerRec, seq: number): void {
  const queue = peer.queue;
  let i = 0;
  while (queue[i].seq !== seq) i++;
  const [entry] = queue.splice(i, 1);
  queueChanged(queue, entry, -1);
  discard(ctx, peer, entry);
}

/**
 * CALL-8: a call that resolved TIMED_OUT, CANCELLED or CLOSED, right after its completion: its
 * message is withdrawn if still queued (releasing what it carries, the reply handle included),
 * otherwise its reply handle is abandoned and, in a table, its holder gets a call-abandoned notice.
 */
export function abandon(ctx: Ctx, callId: number): void {
  const s = ctx.s;
  const call = s.calls[callId];
  if (call.message !== null) {
    withdraw(ctx, s.peers[s.nodes[call.node].owner], call.message);
    return;
  }
  const r = s.handles[call.replyHandle!];
  r.status = advance('replyHandle', r.status, 'ABANDON');
  if (r.name !== null) r.notice = notify(ctx, r.holder, { type: 'call-abandoned', handle: r.name });
}

/** CRED-1, CRED-2: the credentials the bus stamps for a peer, with its never-reused key. */
export function stamp(s: BusState, peer: PeerId): StampedCredentials {
  const c = s.peers[peer].credentials;
  return { uid: c.uid, gid: c.gid, pid: c.pid, peerKey: peer };
}

/** Put a message's handles in flight to `dest` (SEND-4..6, MCAST-5). Moves happen later. */
export function carry(ctx: Ctx, sender: PeerId, dest: PeerRec, transfers: readonly Transfer[]): number[] {
  const ids: number[] = [];
  for (const t of transfers) {
    const h = lookup(ctx.s, sender, t.handle)!;
    if (h.kind === 'reply') {
      // CALL-5: the same reply handle travels, bound to its call.
      unplace(ctx.s, h);
      h.holder = dest.id;
      dest.inflight++;
      advance('replyHandle', 'live', 'DELEGATE');
      ids.push(h.id);
    } else {
      ids.push(derive(ctx, h, dest, t.rights, h.badge, false).id);
    }
  }
  return ids;
}

/** SEND-5: release moved node handles once the operation has succeeded. */
export function releaseMoved(
  ctx: Ctx,
  sender: PeerId,
  transfers: readonly Transfer[],
  carried: readonly number[],
): void {
  transfers.forEach((t, i) => {
    if (t.move !== true) return;
    const moved = ctx.s.handles[carried[i]];
    if (moved.kind === 'reply') return; // already travelling
    const h = lookup(ctx.s, sender, t.handle);
    if (h) release(ctx, h);
  });
}

export function messageEntry(
  s: BusState,
  sender: PeerId,
  h: HandleRec,
  kind: 'message' | 'call',
  payload: string,
  bytes: number,
): QueueEntry {
  const node = s.nodes[h.node];
  const entry: QueueEntry = {
    seq: 0,
    kind,
    sender,
    node: node.id,
    ownerName: node.ownerName,
    badge: h.badge,
    payload,
    bytes,
    handles: [],
    replyHandle: null,
  };
  if (node.credentials) entry.credentials = stamp(s, sender); // CRED-1, CRED-2
  return entry;
}

// ------------------------------------------------------------------ node death

/** DESTROY-2..4 for one node; `consumed` is the handle destroyNode used, if any. */
export function destroy(ctx: Ctx, nodeId: number, event: 'DESTROY' | 'OWNER_CLOSE', consumed: HandleRec | null): void {
  const s = ctx.s;
  const node = s.nodes[nodeId];
  node.status = advance('node', node.status, event);
  s.peers[node.owner].nodes--; // NODE-4: it no longer counts
  // DESTROY-4: pending calls still queued to the node and blocked sends to it fail DEAD, in ticket order; a call
  // already received no longer depends on the node.
  for (const p of [...s.pending]) {
    if (p.kind === 'call' && s.calls[p.call].node === nodeId && s.calls[p.call].message !== null)
      resolveCall(ctx, p.call, 'NODE_DESTROYED', fail('DEAD'));
    if (p.kind === 'send') {
      const h = lookup(s, p.peer, p.op.handle);
      if (h && h.kind === 'node' && h.node === nodeId) {
        advance('blockedSend', 'waiting', 'NODE_DESTROYED');
        complete(ctx, p.ticket, fail('DEAD'));
      }
    }
  }
  // DESTROY-2: every other live handle dies; holders in tables get a notice (NOTICE-5 order).
  const affected = Object.values(s.handles)
    .filter((h) => h.kind === 'node' && h.node === nodeId && h.status === 'live' && h !== consumed)
    .sort(byId);
  for (const h of affected) {
    h.status = advance('handle', h.status, 'NODE_DESTROYED');
    if (h.name !== null) notifyHolder(ctx, h, 'node-destroyed');
  }
  if (consumed) release(ctx, consumed);
  node.senders = 0;
  // DESTROY-3: queued messages and calls to the node, and its waiting no-senders notice, are discarded.
  const owner = s.peers[node.owner];
  const kept: QueueEntry[] = [];
  const dropped: QueueEntry[] = [];
  for (const e of owner.queue) {
    const mine = e.kind !== 'notice' ? e.node === nodeId : e.seq === node.notice;
    (mine ? dropped : kept).push(e);
  }
  owner.queue = kept;
  if (node.notice !== null) advance('noSendersNotice', 'waiting', 'NODE_DESTROYED');
  node.notice = null;
  for (const e of dropped) discard(ctx, owner, e);
}

/** The enqueue of send and call, after every check passed; a call's reply handle travels with it (CALL-1). Returns its seq. */
export function post(ctx: Ctx, op: SendOp | CallOp, replyHandle: HandleRec | null): number {
  const s = ctx.s;
  const h = lookup(s, op.peer, op.handle)!;
  const dest = destOf(s, h);
  const transfers = op.message.transfers ?? [];
  const kind = replyHandle === null ? 'message' : 'call';
  const entry = messageEntry(s, op.peer, h, kind, gather(op.message.segments), messageBytes(op.message));
  entry.handles = carry(ctx, op.peer, dest, transfers);
  if (replyHandle !== null) {
    replyHandle.holder = dest.id;
    dest.inflight++;
    entry.replyHandle = replyHandle.id;
  }
  enqueue(ctx, dest, entry); // counted in the sender's load with its handles (QUOTA-4)
  releaseMoved(ctx, op.peer, transfers, entry.handles);
  return entry.seq;
}

/** A new pending record of a peer (BOUND-2): takes the next ticket. */
export function wait(ctx: Ctx, record: PendingRec): Invocation {
  const peer = ctx.s.peers[record.peer];
  peer.pending++;
  if (record.kind === 'send') peer.blockedSends++;
  ctx.s.pending.push(record);
  return { pending: true, ticket: record.ticket };
}

/** Hand the oldest deliveries of a queue to its peer (RECV-1, RECV-3). */
export function take(ctx: Ctx, peer: PeerRec, max: number): Delivery[] {
  const s = ctx.s;
  const out: Delivery[] = [];
  while (out.length < max && peer.queue.length > 0) {
    const e = peer.queue.shift()!;
    queueChanged(peer.queue, e, -1);
    ctx.events.push({ type: 'dequeue', seq: e.seq, peer: peer.id });
    if (e.kind === 'notice') {
      if (e.ghost) peer.ghosts--;
      else if (e.node !== 0) {
        advance('noSendersNotice', 'waiting', 'RECEIVE'); // a no-senders notice (NOTICE-2)
        s.nodes[e.node].notice = null;
      } else if (e.notice!.type === 'room') roomNoticeTaken(s, e.seq);
      out.push({ kind: 'notice', notice: e.notice! });
      continue;
    }
    const handles: ReceivedHandle[] = [];
    for (const id of e.handles) handles.push(arrive(s, peer, s.handles[id]));
    // Field by field, in the order deliveries list them: kind, node, badge, credentials (CRED-1), payload, handles.
    const d = { kind: e.kind, node: e.ownerName, badge: e.badge } as Partial<CallDelivery> & Pick<CallDelivery, 'node'>;
    if (e.credentials) d.credentials = e.credentials;
    d.payload = e.payload;
    d.handles = handles;
    if (e.kind === 'call') {
      const r = s.handles[e.replyHandle!];
      peer.inflight--;
      advance('replyHandle', 'live', 'DELIVER');
      s.calls[r.call].message = null; // received: it no longer depends on its node (DESTROY-4)
      d.replyHandle = place(peer, r);
    }
    out.push(d as MessageDelivery | CallDelivery);
  }
  return out;
}

/** RECV-3: a handle in flight arrives; dead or revoked ones arrive flagged, without a name. */
export function arrive(s: BusState, peer: PeerRec, h: HandleRec): ReceivedHandle {
  peer.inflight--;
  if (h.kind === 'reply') {
    advance('replyHandle', h.status, 'DELIVER');
    if (h.status === 'abandoned') {
      // CALL-9: abandoned while it travelled: it arrives flagged, without a name, and is gone.
      delete s.handles[h.id];
      delete s.calls[h.call];
      return { name: null, kind: 'reply', rights: [], state: 'abandoned' };
    }
    return { name: place(peer, h), kind: 'reply', rights: [], state: 'live' };
  }
  advance('handle', h.status, 'DELIVER');
  if (h.status !== 'live') {
    delete s.handles[h.id];
    return { name: null, kind: 'node', rights: h.rights, state: h.status as 'dead' | 'revoked' };
  }
  return { name: place(peer, h), kind: 'node', rights: h.rights, state: 'live' };
}

// ------------------------------------------------------------------ room notices (QUOTA-5)

/**
 * A refusal for room owes the sender a room notice: arm the pair's watch with what the refused
 * message needed, or update it (it keeps its place); nothing while its notice still waits.
 */
export function armRoom(s: BusState, sender: PeerId, need: RoomNeed): void {
  const watches = s.roomWatches;
  for (let i = 0; i < watches.length; i++) {
    const w = watches[i];
    if (w.sender !== sender || w.dest !== need.dest) continue;
    if (w.status !== 'armed') return; // its notice waits: at most one per pair
    advance('roomWatch', 'armed', 'REFUSED');
    w.handle = need.handle;
    w.messages = need.messages;
    w.bytes = need.bytes;
    w.handles = need.handles;
    return;
  }
  watches.push({ sender, ...need, status: 'armed', notice: null });
}

/** What a refused message needed in one queue, and the handle it was refused through. */
export interface RoomNeed {
  dest: PeerId;
  handle: HandleName;
  messages: number;
  bytes: number;
  handles: number;
}

/** Whether any watch is armed (the settling has something to look at). */
export function roomWatched(s: BusState): boolean {
  const watches = s.roomWatches;
  for (let i = 0; i < watches.length; i++) if (watches[i].status === 'armed') return true;
  return false;
}

/** At the end of a step: every armed watch whose queue now has room gets its notice, oldest first. */
export function notifyRoom(ctx: Ctx): boolean {
  const s = ctx.s;
  let changed = false;
  for (const w of s.roomWatches) {
    if (w.status !== 'armed') continue;
    if (queueRoom(s, s.peers[w.dest], w.sender, w.messages, w.bytes, w.handles) !== null) continue;
    if (behindOwnBlockedSend(s, w.sender, w.dest)) continue;
    w.status = advance('roomWatch', 'armed', 'ROOM');
    w.notice = notify(ctx, w.sender, { type: 'room', handle: w.handle });
    changed = true;
  }
  return changed;
}

/** The sender took its room notice: the watch ends. */
function roomNoticeTaken(s: BusState, seq: number): void {
  const i = s.roomWatches.findIndex((w) => w.notice === seq);
  advance('roomWatch', 'notified', 'RECEIVE');
  s.roomWatches.splice(i, 1);
}

/**
 * CLOSE-4: the watches of a closing peer end, and so do the watches on its queue, whose room
 * notices still waiting in other peers' queues are withdrawn, in the order they were enqueued.
 * (A notice in the closing peer's own queue is discarded with that queue.)
 */
export function endRoomWatches(ctx: Ctx, peer: PeerId): void {
  const s = ctx.s;
  const kept = [];
  const withdrawn = [];
  for (const w of s.roomWatches) {
    if (w.sender !== peer && w.dest !== peer) {
      kept.push(w);
      continue;
    }
    const event = w.sender === peer ? 'SENDER_CLOSE' : 'QUEUE_CLOSE';
    advance('roomWatch', w.status, event);
    if (event === 'QUEUE_CLOSE' && w.notice !== null) withdrawn.push(w);
  }
  s.roomWatches = kept;
  withdrawn.sort((a, b) => a.notice! - b.notice!);
  for (const w of withdrawn) withdraw(ctx, s.peers[w.sender], w.notice!);
}
