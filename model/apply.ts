// The effects of operations whose checks all passed (model/rules.ts). These
// functions mutate the state they are given; `step` hands them a clone, so the
// model stays pure from the outside. Every status change goes through the
// lifecycle statecharts (advance), so an illegal change is a ModelBug.
import type {
  AttachOp,
  CallDelivery,
  CallOp,
  CreateNodeOp,
  Delivery,
  MessageDelivery,
  DestroyNodeOp,
  ErrorCode,
  HandleName,
  Invocation,
  MintOp,
  MulticastOp,
  Notice,
  PeerId,
  ReceiveOp,
  ReceivedHandle,
  ReleaseOp,
  ReplyOp,
  Result,
  RevokeOp,
  SendOp,
  TickOp,
  Transfer,
} from '../spec/types';
import {
  queueChanged,
  tableResized,
  type BusState,
  type HandleRec,
  type PeerRec,
  type PendingRec,
  type QueueEntry,
  type StepEffects,
} from './state';
import { advance } from './lifecycles';
import { gather } from './payload';
import { canonicalRights, destOf, lookup, messageBytes, multicastLive, recheckBlockedSend } from './rules';

export interface Ctx extends StepEffects {
  s: BusState;
}

const ok = <V>(value: V): Result => ({ ok: true, value: value as never });
const fail = (error: ErrorCode): Result => ({ ok: false, error });

// ------------------------------------------------------------------ primitives

function byId(a: HandleRec, b: HandleRec): number {
  return a.id - b.id;
}

/** Queue an entry: it takes the next sequence number (its `seq` field is a placeholder until then). */
function enqueue(ctx: Ctx, dest: PeerRec, entry: QueueEntry): void {
  const seq = ctx.s.nextSeq++;
  entry.seq = seq;
  dest.queue.push(entry);
  queueChanged(dest.queue, entry, 1);
  ctx.events.push({ type: 'enqueue', seq, to: dest.id, from: entry.sender, kind: entry.kind, bytes: entry.bytes });
}

/** NOTICE-1: a notice to a peer, in the bus order (ORDER-4); never limited (NOTICE-4). */
function notify(ctx: Ctx, peer: PeerId, notice: Notice): number | null {
  const dest = ctx.s.peers[peer];
  if (dest.status !== 'open') return null;
  enqueue(ctx, dest, {
    seq: 0,
    kind: 'notice',
    sender: 0,
    node: 0,
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
function notifyHolder(ctx: Ctx, h: HandleRec, type: 'revoked' | 'node-destroyed'): void {
  h.notice = notify(ctx, h.holder, { type, handle: h.name! });
}

function complete(ctx: Ctx, ticket: number, result: Result): void {
  const pending = ctx.s.pending;
  let i = 0;
  while (pending[i].ticket !== ticket) i++;
  const p = pending[i];
  for (; i < pending.length - 1; i++) pending[i] = pending[i + 1]; // splice(i, 1), without the array it returns
  pending.pop();
  ctx.completions.push({ ticket, peer: p.peer, op: p.kind, result });
  ctx.events.push({ type: 'complete', ticket, peer: p.peer });
}

/** A live node handle other than the root stopped counting as a sender (NOTICE-2). */
function senderGone(ctx: Ctx, h: HandleRec): void {
  if (h.kind !== 'node' || h.root) return;
  const node = ctx.s.nodes[h.node];
  if (node.status !== 'live') return;
  node.senders--;
  if (node.senders > 0) return;
  // NOTICE-2: at most one no-senders notice per node waits in the owner's queue; a new fall
  // to zero while one waits brings its derivedCount up to date instead of adding another.
  const waiting = ctx.s.peers[node.owner].queue.find(
    (e) => e.notice?.type === 'no-senders' && e.notice.node === node.ownerName,
  );
  if (waiting) (waiting.notice as { derivedCount: number }).derivedCount = node.derivedCount;
  else notify(ctx, node.owner, { type: 'no-senders', node: node.ownerName, derivedCount: node.derivedCount });
}

/** Make a new node handle derived from `parent`, in a table (name) or in flight (name null). */
function derive(
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
  node.senders++;
  if (inTable) place(holder, h);
  else holder.inflight++;
  return h;
}

/** Give a handle the next name in its holder's table (HANDLE-2). */
function place(holder: PeerRec, h: HandleRec): HandleName {
  const name = holder.nextName++;
  holder.table[name] = h.id;
  tableResized(holder.table, 1);
  h.name = name;
  h.holder = holder.id;
  return name;
}

/** Take a handle out of its table (or out of flight), without destroying it. */
function unplace(s: BusState, h: HandleRec): void {
  const holder = s.peers[h.holder];
  if (h.name === null) holder.inflight--;
  else {
    delete holder.table[h.name];
    tableResized(holder.table, -1);
  }
  h.name = null;
}

/** RELEASE-1..3 and CALL-4: drop a handle wherever it is. */
function release(ctx: Ctx, h: HandleRec): void {
  const s = ctx.s;
  unplace(s, h);
  if (h.kind === 'reply') {
    advance('replyHandle', 'live', 'RELEASE');
    const call = s.calls[h.call];
    call.replyHandle = null;
    if (call.status === 'pending') resolveCall(ctx, call.id, 'REPLY_HANDLE_GONE', fail('NO_REPLY'));
    else delete s.calls[call.id];
  } else {
    advance('handle', h.status, 'RELEASE');
    if (h.notice !== null) {
      // NOTICE-4: the notice still waiting for this handle keeps its slot until received.
      const holder = s.peers[h.holder];
      const entry = holder.queue.find((e) => e.seq === h.notice);
      if (entry) {
        entry.ghost = true;
        holder.ghosts++;
      }
    }
    for (const child of Object.values(s.handles)) if (child.parent === h.id) child.parent = h.parent; // RELEASE-2
    if (h.root) s.nodes[h.node].root = null;
    if (h.status === 'live') senderGone(ctx, h);
  }
  delete s.handles[h.id];
}

function resolveCall(ctx: Ctx, callId: number, event: string, result: Result): void {
  const call = ctx.s.calls[callId];
  call.status = advance('call', call.status, event);
  complete(ctx, call.ticket, result);
  if (call.replyHandle === null) delete ctx.s.calls[callId];
}

/** Discard a queued entry: every handle it carries is released (DESTROY-3, CLOSE-4). */
function discard(ctx: Ctx, peer: PeerRec, entry: QueueEntry): void {
  if (entry.ghost) peer.ghosts--;
  for (const id of entry.handles) release(ctx, ctx.s.handles[id]);
  if (entry.replyHandle !== null) release(ctx, ctx.s.handles[entry.replyHandle]);
  ctx.events.push({ type: 'discard', seq: entry.seq, peer: peer.id });
}

/** Put a message's handles in flight to `dest` (SEND-4..6, MCAST-5). Moves happen later. */
function carry(ctx: Ctx, sender: PeerId, dest: PeerRec, transfers: readonly Transfer[]): number[] {
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
function releaseMoved(ctx: Ctx, sender: PeerId, transfers: readonly Transfer[], carried: readonly number[]): void {
  transfers.forEach((t, i) => {
    if (t.move !== true) return;
    const moved = ctx.s.handles[carried[i]];
    if (moved.kind === 'reply') return; // already travelling
    const h = lookup(ctx.s, sender, t.handle);
    if (h) release(ctx, h);
  });
}

function messageEntry(
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
  if (node.credentials) entry.credentials = { ...s.peers[sender].credentials }; // CRED-1
  return entry;
}

// ------------------------------------------------------------------ node death

/** DESTROY-2..4 for one node; `consumed` is the handle destroyNode used, if any. */
function destroy(ctx: Ctx, nodeId: number, event: 'DESTROY' | 'OWNER_CLOSE', consumed: HandleRec | null): void {
  const s = ctx.s;
  const node = s.nodes[nodeId];
  node.status = advance('node', node.status, event);
  // DESTROY-4: pending calls and blocked sends to the node fail DEAD, in ticket order.
  for (const p of [...s.pending]) {
    if (p.kind === 'call' && s.calls[p.call].node === nodeId) resolveCall(ctx, p.call, 'NODE_DESTROYED', fail('DEAD'));
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
    const mine =
      e.kind !== 'notice' ? e.node === nodeId : e.notice?.type === 'no-senders' && e.notice.node === node.ownerName;
    (mine ? dropped : kept).push(e);
  }
  owner.queue = kept;
  for (const e of dropped) discard(ctx, owner, e);
}

// ------------------------------------------------------------------ operations

function attach(ctx: Ctx, op: AttachOp): Result {
  const s = ctx.s;
  const peer: PeerRec = {
    id: s.nextPeer++,
    status: 'open',
    nextName: 1,
    table: {},
    queue: [],
    inflight: 0,
    ghosts: 0,
    credentials: { uid: op.credentials.uid, gid: op.credentials.gid, pid: op.credentials.pid },
  };
  s.peers[peer.id] = peer;
  const names: HandleName[] = [];
  for (const g of op.bootstrap ?? []) {
    const from = lookup(s, g.fromPeer, g.handle)!;
    const h = derive(ctx, from, peer, g.rights, g.badge ?? from.badge, true);
    names.push(h.name!);
  }
  return ok({ peer: peer.id, handles: names });
}

function createNode(ctx: Ctx, op: CreateNodeOp): Result {
  const s = ctx.s;
  const peer = s.peers[op.peer];
  const h: HandleRec = {
    id: s.nextHandle++,
    kind: 'node',
    holder: peer.id,
    name: null,
    status: 'live',
    node: s.nextNode++,
    rights: ['send', 'grant'],
    badge: 0,
    parent: null,
    root: true,
    call: 0,
    notice: null,
  };
  s.handles[h.id] = h;
  const name = place(peer, h);
  s.nodes[h.node] = {
    id: h.node,
    owner: peer.id,
    ownerName: name,
    root: h.id,
    status: 'live',
    credentials: op.credentials === true,
    derivedCount: 0,
    senders: 0,
  };
  return ok({ handle: name });
}

function mint(ctx: Ctx, op: MintOp): Result {
  const parent = lookup(ctx.s, op.peer, op.handle)!;
  const h = derive(ctx, parent, ctx.s.peers[op.peer], op.rights, op.badge ?? parent.badge, true);
  return ok({ handle: h.name! });
}

function releaseOp(ctx: Ctx, op: ReleaseOp): Result {
  release(ctx, lookup(ctx.s, op.peer, op.handle)!);
  return ok({});
}

function revoke(ctx: Ctx, op: RevokeOp): Result {
  const s = ctx.s;
  const top = lookup(s, op.peer, op.handle)!;
  const children = new Map<number, HandleRec[]>();
  for (const h of Object.values(s.handles)) {
    if (h.parent === null) continue;
    const list = children.get(h.parent) ?? [];
    list.push(h);
    children.set(h.parent, list);
  }
  const descendants: HandleRec[] = [];
  const stack = [...(children.get(top.id) ?? [])];
  while (stack.length) {
    const h = stack.pop()!;
    descendants.push(h);
    stack.push(...(children.get(h.id) ?? []));
  }
  const affected = descendants.filter((h) => h.status === 'live').sort(byId);
  for (const h of affected) {
    h.status = advance('handle', h.status, 'REVOKE');
    if (h.name !== null) notifyHolder(ctx, h, 'revoked'); // REVOKE-2
    senderGone(ctx, h);
  }
  return ok({ revoked: affected.length });
}

function destroyNode(ctx: Ctx, op: DestroyNodeOp): Result {
  const h = lookup(ctx.s, op.peer, op.handle)!;
  destroy(ctx, h.node, 'DESTROY', h);
  return ok({});
}

/** The enqueue of send and call, after every check passed. Returns the queued entry. */
function post(ctx: Ctx, op: SendOp | CallOp, kind: 'message' | 'call'): QueueEntry {
  const s = ctx.s;
  const h = lookup(s, op.peer, op.handle)!;
  const dest = destOf(s, h);
  const transfers = op.message.transfers ?? [];
  const entry = messageEntry(s, op.peer, h, kind, gather(op.message.segments), messageBytes(op.message));
  entry.handles = carry(ctx, op.peer, dest, transfers);
  enqueue(ctx, dest, entry);
  releaseMoved(ctx, op.peer, transfers, entry.handles);
  return entry;
}

function send(ctx: Ctx, op: SendOp): Result {
  post(ctx, op, 'message');
  return ok({});
}

function call(ctx: Ctx, op: CallOp): Invocation {
  const s = ctx.s;
  const target = lookup(s, op.peer, op.handle)!;
  const dest = destOf(s, target);
  const ticket = s.nextTicket++;
  const callId = s.nextCall++;
  const entry = post(ctx, op, 'call');
  const reply: HandleRec = {
    id: s.nextHandle++,
    kind: 'reply',
    holder: dest.id,
    name: null,
    status: 'live',
    node: 0,
    rights: [],
    badge: 0,
    parent: null,
    root: false,
    call: callId,
    notice: null,
  };
  s.handles[reply.id] = reply;
  dest.inflight++;
  entry.replyHandle = reply.id;
  s.calls[callId] = {
    id: callId,
    caller: op.peer,
    ticket,
    node: target.node,
    status: 'pending',
    replyHandle: reply.id,
  };
  s.pending.push({
    ticket,
    kind: 'call',
    peer: op.peer,
    call: callId,
    deadline: op.timeoutMs === undefined ? null : s.nowMs + op.timeoutMs,
  });
  return { pending: true, ticket };
}

function reply(ctx: Ctx, op: ReplyOp): Result {
  const s = ctx.s;
  const r = lookup(s, op.peer, op.handle)!;
  const c = s.calls[r.call];
  const caller = s.peers[c.caller];
  const transfers = op.message.transfers ?? [];
  const handles: ReceivedHandle[] = [];
  const carried: number[] = [];
  for (const t of transfers) {
    const h = lookup(s, op.peer, t.handle)!;
    if (h.kind === 'reply') {
      unplace(s, h);
      advance('replyHandle', 'live', 'DELEGATE');
      handles.push({ name: place(caller, h), kind: 'reply', rights: [], state: 'live' });
      carried.push(h.id);
    } else {
      const d = derive(ctx, h, caller, t.rights, h.badge, true);
      handles.push({ name: d.name, kind: 'node', rights: d.rights, state: 'live' });
      carried.push(d.id);
    }
  }
  releaseMoved(ctx, op.peer, transfers, carried);
  consumeReplyHandle(ctx, r, 'REPLY');
  resolveCall(ctx, c.id, 'REPLY', ok({ reply: { kind: 'reply', payload: gather(op.message.segments), handles } }));
  return ok({});
}

/** CALL-3/CALL-4: a reply handle is used up, by reply or by reply to a call already resolved. */
export function consumeReplyHandle(ctx: Ctx, r: HandleRec, event: 'REPLY' | 'CALLER_GONE'): void {
  advance('replyHandle', 'live', event);
  unplace(ctx.s, r);
  delete ctx.s.handles[r.id];
  const c = ctx.s.calls[r.call];
  c.replyHandle = null;
  if (c.status !== 'pending') delete ctx.s.calls[c.id];
}

function multicast(ctx: Ctx, op: MulticastOp): Result {
  const s = ctx.s;
  const live = new Set(multicastLive(s, op));
  const transfers = op.message.transfers ?? [];
  const payload = gather(op.message.segments);
  const bytes = messageBytes(op.message);
  const skipped: HandleName[] = [];
  for (const name of op.handles) {
    const h = lookup(s, op.peer, name)!;
    if (!live.has(h)) {
      skipped.push(name);
      continue;
    }
    const dest = destOf(s, h);
    const entry = messageEntry(s, op.peer, h, 'message', payload, bytes);
    entry.handles = carry(ctx, op.peer, dest, transfers);
    enqueue(ctx, dest, entry); // MCAST-3, ORDER-3: consecutive places
  }
  return ok({ skipped });
}

/** Hand the oldest deliveries of a queue to its peer (RECV-1, RECV-3). */
function take(ctx: Ctx, peer: PeerRec, max: number): Delivery[] {
  const s = ctx.s;
  const out: Delivery[] = [];
  while (out.length < max && peer.queue.length > 0) {
    const e = peer.queue.shift()!;
    queueChanged(peer.queue, e, -1);
    ctx.events.push({ type: 'dequeue', seq: e.seq, peer: peer.id });
    if (e.kind === 'notice') {
      if (e.ghost) peer.ghosts--;
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
      d.replyHandle = place(peer, r);
    }
    out.push(d as MessageDelivery | CallDelivery);
  }
  return out;
}

/** RECV-3: a handle in flight arrives; dead or revoked ones arrive flagged, without a name. */
function arrive(s: BusState, peer: PeerRec, h: HandleRec): ReceivedHandle {
  peer.inflight--;
  if (h.kind === 'reply') {
    advance('replyHandle', 'live', 'DELIVER');
    return { name: place(peer, h), kind: 'reply', rights: [], state: 'live' };
  }
  advance('handle', h.status, 'DELIVER');
  if (h.status !== 'live') {
    delete s.handles[h.id];
    return { name: null, kind: 'node', rights: h.rights, state: h.status as 'dead' | 'revoked' };
  }
  return { name: place(peer, h), kind: 'node', rights: h.rights, state: 'live' };
}

function receive(ctx: Ctx, op: ReceiveOp): Invocation {
  const s = ctx.s;
  const peer = s.peers[op.peer];
  if (peer.queue.length === 0 && op.timeoutMs !== undefined && op.timeoutMs > 0) {
    const ticket = s.nextTicket++;
    s.pending.push({ ticket, kind: 'receive', peer: op.peer, max: op.max, deadline: s.nowMs + op.timeoutMs });
    return { pending: true, ticket };
  }
  return ok({ deliveries: take(ctx, peer, op.max) });
}

function close(ctx: Ctx, op: { peer: PeerId }): Result {
  const s = ctx.s;
  const peer = s.peers[op.peer];
  // CLOSE-1: the peer's own pending operations end CLOSED.
  for (const p of s.pending.filter((q) => q.peer === peer.id)) {
    if (p.kind === 'call') resolveCall(ctx, p.call, 'CALLER_CLOSE', fail('CLOSED'));
    else {
      advance(
        p.kind === 'send' ? 'blockedSend' : 'receiveWait',
        'waiting',
        p.kind === 'send' ? 'SENDER_CLOSE' : 'RECEIVER_CLOSE',
      );
      complete(ctx, p.ticket, fail('CLOSED'));
    }
  }
  // Closed from here on: notices to this peer would only be discarded.
  peer.status = advance('peer', peer.status, 'CLOSE');
  // CLOSE-2: its nodes die, in creation order.
  for (const node of Object.values(s.nodes))
    if (node.owner === peer.id && node.status === 'live') destroy(ctx, node.id, 'OWNER_CLOSE', null);
  // CLOSE-3: its handles are released, in name order.
  for (const name of Object.keys(peer.table)
    .map(Number)
    .sort((a, b) => a - b)) {
    const h = s.handles[peer.table[name]];
    if (h) release(ctx, h);
  }
  // CLOSE-4: its queue is discarded.
  const queue = peer.queue;
  peer.queue = [];
  for (const e of queue) discard(ctx, peer, e);
  for (const node of Object.values(s.nodes)) if (node.owner === peer.id) delete s.nodes[node.id];
  return ok({});
}

function tick(ctx: Ctx, op: TickOp): Result {
  const s = ctx.s;
  s.nowMs += op.ms;
  for (const p of s.pending.filter((q) => q.deadline !== null && q.deadline <= s.nowMs)) {
    if (p.kind === 'call') resolveCall(ctx, p.call, 'DEADLINE', fail('TIMED_OUT'));
    else if (p.kind === 'send') {
      advance('blockedSend', 'waiting', 'DEADLINE');
      complete(ctx, p.ticket, fail('TIMED_OUT'));
    } else {
      advance('receiveWait', 'waiting', 'DEADLINE');
      complete(ctx, p.ticket, ok({ deliveries: [] }));
    }
  }
  return ok({ nowMs: s.nowMs });
}

// ------------------------------------------------------------------ settling

/**
 * After every operation: waiting receives take what arrived (RECV-2), then
 * blocked sends are retried in ticket order (SEND-7), until nothing changes.
 *
 * The loops walk `pending` by index instead of over a copy: serving a receive
 * removes exactly that receive, and the send loop stops at its first change.
 * A round in which no blocked send went anywhere ends the settling: serving
 * receives only empties queues, so every receive still waiting has an empty
 * queue, and another round would check the same sends in the same state.
 */
export function settle(ctx: Ctx): void {
  const s = ctx.s;
  const pending = s.pending;
  if (!waitsOtherThanCalls(pending)) return; // only calls wait: nothing to serve or retry
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < pending.length;) {
      const p = pending[i];
      if (p.kind !== 'receive') {
        i++;
        continue;
      }
      const peer = s.peers[p.peer];
      if (peer.queue.length === 0) {
        i++;
        continue;
      }
      advance('receiveWait', 'waiting', 'ARRIVAL');
      complete(ctx, p.ticket, ok({ deliveries: take(ctx, peer, p.max) })); // removes pending[i]
    }
    // Queues found full (capacity, not a sender's quota): later waiters for them wait behind.
    let capacityBlocked: PeerId[] | null = null;
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      if (p.kind !== 'send') continue;
      const target = lookup(s, p.op.peer, p.op.handle);
      const dest = target && target.kind === 'node' && target.status === 'live' ? destOf(s, target).id : 0;
      if (capacityBlocked !== null && capacityBlocked.includes(dest)) continue; // FIFO behind a waiter blocked by capacity
      const failure = recheckBlockedSend(s, p.op);
      if (failure === null) {
        advance('blockedSend', 'waiting', 'ROOM');
        post(ctx, p.op, 'message');
        complete(ctx, p.ticket, ok({}));
        changed = true;
        break; // the queue changed: start over, in order
      }
      if (failure === 'capacity' || failure === 'quota') {
        // QUEUE_FULL: still waiting
        if (failure === 'capacity') (capacityBlocked ??= []).push(dest);
        continue;
      }
      advance('blockedSend', 'waiting', 'RECHECK_FAILED');
      complete(ctx, p.ticket, fail(failure));
      changed = true;
      break;
    }
  }
}

function waitsOtherThanCalls(pending: readonly PendingRec[]): boolean {
  for (let i = 0; i < pending.length; i++) if (pending[i].kind !== 'call') return true;
  return false;
}

/** Block a send that found no room (SEND-7). It keeps its own copy of the operation. */
export function block(ctx: Ctx, op: SendOp): Invocation {
  const s = ctx.s;
  const ticket = s.nextTicket++;
  s.pending.push({ ticket, kind: 'send', peer: op.peer, op: copyOp(op), deadline: s.nowMs + op.timeoutMs! });
  return { pending: true, ticket };
}

/**
 * What structuredClone(op) gives, for an operation made of plain objects, dense arrays and
 * primitives (every operation a program builds), without its serialisation round trip.
 * Anything else (a class instance, a sparse array, a function, nesting deeper than any
 * operation has, such as a cycle) is left to structuredClone. Two differences the model
 * never sees (it reads only an operation's fields, and JSON drops named keys on arrays):
 * an object reached twice is copied twice, and named keys on an array are not copied.
 */
export function copyOp<T>(op: T): T {
  const copy = copyPlain(op, 0);
  return copy === NOT_PLAIN ? structuredClone(op) : (copy as T);
}

const NOT_PLAIN = Symbol('not plain');
const MAX_DEPTH = 16;

function copyPlain(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return typeof v === 'function' || typeof v === 'symbol' ? NOT_PLAIN : v;
  if (depth > MAX_DEPTH) return NOT_PLAIN;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return NOT_PLAIN;
    const n = v.length;
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      if (!(i in v)) return NOT_PLAIN; // a hole
      const c = copyPlain(v[i], depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c;
    }
    return out;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k) || k === '__proto__') return NOT_PLAIN; // a key on Object.prototype; a key that assignment would not create
    const c = copyPlain((v as Record<string, unknown>)[k], depth + 1);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    out[k] = c;
  }
  return out;
}

export const APPLY: Record<string, (ctx: Ctx, op: any) => Invocation> = {
  attach,
  createNode,
  mint,
  release: releaseOp,
  revoke,
  destroyNode,
  send,
  call,
  reply,
  multicast,
  receive,
  close,
  tick,
};
