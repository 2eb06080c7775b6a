// The effects of operations whose checks all passed (model/rules.ts), one function
// per operation, and the settling at the end of every step (TIME-2). They mutate
// the state they are given: applyInPlace's (model/step.ts), which step hands a
// clone. The primitives they share are in model/effects.ts.
import type {
  AttachOp,
  CallOp,
  CancelOp,
  CreateNodeOp,
  DestroyNodeOp,
  HandleName,
  Invocation,
  MintOp,
  MulticastOp,
  PeerId,
  ReceiveOp,
  ReceivedHandle,
  ReleaseOp,
  ReplyOp,
  ReplyReceiveOp,
  Result,
  RevokeOp,
  SameNodeOp,
  SendOp,
  TickOp,
} from '../spec/types';
import { type CallRec, type HandleRec, type PeerRec, type PendingRec } from './state';
import { advance } from './lifecycles';
import { copyOp } from './copy';
import {
  type Ctx,
  byId,
  complete,
  derive,
  destroy,
  fail,
  notifyHolder,
  ok,
  place,
  post,
  release,
  releaseMoved,
  resolveCall,
  senderGone,
  take,
  unplace,
  discard,
  wait,
  messageEntry,
  enqueue,
  carry,
  abandon,
  armRoom,
  endRoomWatches,
  keepNoticeSlot,
  notifyRoom,
  roomWatched,
  stamp,
  type RoomNeed,
} from './effects';
import { gather } from './payload';
import {
  behindOwnBlockedSend,
  deadlineOf,
  destOf,
  lookup,
  mayWaitFor,
  messageBytes,
  multicastLive,
  queueRoom,
} from './checks';
import { recheckBlockedSend } from './rules';

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
    nodes: 0,
    pending: 0,
    blockedSends: 0,
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
    acceptsHandles: op.acceptsHandles !== false,
    notice: null,
    derivedCount: 0,
    senders: 0,
  };
  peer.nodes++;
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

function sameNode(ctx: Ctx, op: SameNodeOp): Result {
  const a = lookup(ctx.s, op.peer, op.handle)!;
  const b = lookup(ctx.s, op.peer, op.other)!;
  return ok({ same: a.node === b.node });
}

function send(ctx: Ctx, op: SendOp): Result {
  post(ctx, op, null);
  return ok({});
}

function call(ctx: Ctx, op: CallOp): Invocation {
  const s = ctx.s;
  const target = lookup(s, op.peer, op.handle)!;
  const ticket = s.nextTicket++;
  const callId = s.nextCall++;
  const reply: HandleRec = {
    id: s.nextHandle++,
    kind: 'reply',
    holder: 0, // set by post
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
  const message = post(ctx, op, reply);
  s.calls[callId] = {
    id: callId,
    caller: op.peer,
    ticket,
    node: target.node,
    status: 'pending',
    replyHandle: reply.id,
    message,
    replierCredentials: op.replierCredentials === true,
  };
  return wait(ctx, { ticket, kind: 'call', peer: op.peer, call: callId, deadline: deadlineOf(s, op.timeoutMs) });
}

function reply(ctx: Ctx, op: ReplyOp): Result {
  const r = lookup(ctx.s, op.peer, op.handle)!;
  answer(ctx, op, r, ctx.s.calls[r.call]);
  return ok({});
}

/** CALL-3, CALL-6: the reply through `r` reaches its caller, with the replier's credentials if asked (CRED-3). */
function answer(ctx: Ctx, op: ReplyOp | ReplyReceiveOp, r: HandleRec, c: CallRec): void {
  const s = ctx.s;
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
  const payload = gather(op.message.segments);
  const delivery = c.replierCredentials
    ? { kind: 'reply' as const, credentials: stamp(s, op.peer), payload, handles }
    : { kind: 'reply' as const, payload, handles };
  resolveCall(ctx, c.id, 'REPLY', ok({ reply: delivery }));
}

/** CALL-10: the reply (or, to an abandoned call, its drop), then a receive on the queue as the reply left it. */
function replyReceive(ctx: Ctx, op: ReplyReceiveOp): Invocation {
  const r = lookup(ctx.s, op.peer, op.handle)!;
  const c = ctx.s.calls[r.call];
  if (c.status === 'pending') answer(ctx, op, r, c);
  else consumeReplyHandle(ctx, r, 'CALLER_GONE');
  return receive(ctx, { op: 'receive', peer: op.peer, max: op.max, timeoutMs: op.timeoutMs });
}

/** CALL-3/CALL-4: a reply handle is used up, by reply or by reply to a call already resolved. */
export function consumeReplyHandle(ctx: Ctx, r: HandleRec, event: 'REPLY' | 'CALLER_GONE'): void {
  advance('replyHandle', r.status, event);
  keepNoticeSlot(ctx.s, r); // NOTICE-4: a call-abandoned notice still waiting keeps the slot
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
  const full: HandleName[] = [];
  let refused: Map<PeerRec, RoomNeed> | null = null; // MCAST-6: what the skipped copies needed, per queue
  for (const name of op.handles) {
    const h = lookup(s, op.peer, name)!;
    if (!live.has(h)) {
      skipped.push(name);
      continue;
    }
    const dest = destOf(s, h);
    if (
      op.skipFull === true &&
      (queueRoom(s, dest, op.peer, 1, bytes, transfers.length) !== null || behindOwnBlockedSend(s, op.peer, dest.id))
    ) {
      full.push(name);
      refused ??= new Map();
      const need = refused.get(dest);
      if (need) {
        need.messages++;
        need.bytes += bytes;
        need.handles += transfers.length;
      } else refused.set(dest, { dest: dest.id, handle: name, messages: 1, bytes, handles: transfers.length });
      continue;
    }
    const entry = messageEntry(s, op.peer, h, 'message', payload, bytes);
    entry.handles = carry(ctx, op.peer, dest, transfers);
    enqueue(ctx, dest, entry); // MCAST-3, ORDER-3: consecutive places
  }
  if (refused !== null) for (const need of refused.values()) armRoom(s, op.peer, need); // QUOTA-5
  return ok({ skipped, full });
}

function receive(ctx: Ctx, op: ReceiveOp): Invocation {
  const s = ctx.s;
  const peer = s.peers[op.peer];
  if (peer.queue.length === 0 && mayWaitFor(op.timeoutMs)) {
    const deadline = deadlineOf(s, op.timeoutMs);
    return wait(ctx, { ticket: s.nextTicket++, kind: 'receive', peer: op.peer, max: op.max, deadline });
  }
  return ok({ deliveries: take(ctx, peer, op.max) });
}

function close(ctx: Ctx, op: { peer: PeerId }): Result {
  const s = ctx.s;
  const peer = s.peers[op.peer];
  // CLOSE-1: the peer's own pending operations end CLOSED; its calls are abandoned (CALL-8).
  for (const p of s.pending.filter((q) => q.peer === peer.id)) {
    if (!s.pending.includes(p)) continue; // completed meanwhile by an abandonment's releases (CALL-8)
    if (p.kind === 'call') {
      resolveCall(ctx, p.call, 'CALLER_CLOSE', fail('CLOSED'));
      abandon(ctx, p.call);
    } else {
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
  // CLOSE-4: room watches of and on it end, and room notices about its queue are withdrawn (QUOTA-5); its queue is discarded.
  if (s.roomWatches.length > 0) endRoomWatches(ctx, peer.id);
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
    if (!s.pending.includes(p)) continue; // completed meanwhile by an abandonment's releases (CALL-8)
    if (p.kind === 'call') {
      resolveCall(ctx, p.call, 'DEADLINE', fail('TIMED_OUT'));
      abandon(ctx, p.call); // CALL-8
    } else if (p.kind === 'send') {
      advance('blockedSend', 'waiting', 'DEADLINE');
      complete(ctx, p.ticket, fail('TIMED_OUT'));
    } else {
      advance('receiveWait', 'waiting', 'DEADLINE');
      complete(ctx, p.ticket, ok({ deliveries: [] }));
    }
  }
  return ok({ nowMs: s.nowMs });
}

/** CANCEL-1, CANCEL-2: the invoker's pending operation with this ticket completes CANCELLED, if there is one. */
function cancel(ctx: Ctx, op: CancelOp): Result {
  const s = ctx.s;
  let p: PendingRec | undefined;
  for (let i = 0; i < s.pending.length && p === undefined; i++)
    if (s.pending[i].ticket === op.ticket && s.pending[i].peer === op.peer) p = s.pending[i];
  if (p === undefined) return ok({ cancelled: false });
  if (p.kind === 'call') {
    resolveCall(ctx, p.call, 'CANCEL', fail('CANCELLED'));
    abandon(ctx, p.call);
  } else {
    advance(p.kind === 'send' ? 'blockedSend' : 'receiveWait', 'waiting', 'CANCEL');
    complete(ctx, p.ticket, fail('CANCELLED'));
  }
  return ok({ cancelled: true });
}

// ------------------------------------------------------------------ settling

/**
 * After every operation: waiting receives take what arrived (RECV-2), then
 * blocked sends are retried in ticket order (SEND-7), then room notices now due
 * are enqueued (QUOTA-5), until nothing changes.
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
  if (!waitsOtherThanCalls(pending) && !roomWatched(s)) return; // only calls wait: nothing to serve or retry
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
    changed = retryBlockedSends(ctx) || (s.roomWatches.length > 0 && notifyRoom(ctx));
  }
}

/**
 * One pass over the blocked sends, oldest first (SEND-7): true when one was enqueued or
 * completed (the caller then starts over). A send is held back, and not examined in this
 * pass, behind an older one to the same queue that is short of capacity, or behind an older
 * one of its own sender to the same queue (SEND-8); any other is checked again in full.
 */
function retryBlockedSends(ctx: Ctx): boolean {
  const s = ctx.s;
  const pending = s.pending;
  let capacityShort: PeerId[] | null = null; // queues an older waiter found full
  let waiting: PeerId[] | null = null; // sender, queue, sender, queue, ...: older waiters still blocked
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i];
    if (p.kind !== 'send') continue;
    if (capacityShort !== null && capacityShort.includes(p.dest)) continue;
    if (waiting !== null && holdsBack(waiting, p.peer, p.dest)) continue;
    const failure = recheckBlockedSend(s, p.op);
    if (failure === null) {
      advance('blockedSend', 'waiting', 'ROOM');
      post(ctx, p.op, null);
      complete(ctx, p.ticket, ok({}));
      return true;
    }
    if (failure !== 'capacity' && failure !== 'quota') {
      advance('blockedSend', 'waiting', 'RECHECK_FAILED');
      complete(ctx, p.ticket, fail(failure));
      return true;
    }
    // Still short of room (QUEUE_FULL): it waits, and holds back those behind it.
    if (failure === 'capacity') (capacityShort ??= []).push(p.dest);
    else (waiting ??= []).push(p.peer, p.dest);
  }
  return false;
}

function holdsBack(waiting: readonly PeerId[], sender: PeerId, dest: PeerId): boolean {
  for (let i = 0; i < waiting.length; i += 2) if (waiting[i] === sender && waiting[i + 1] === dest) return true;
  return false;
}

function waitsOtherThanCalls(pending: readonly PendingRec[]): boolean {
  for (let i = 0; i < pending.length; i++) if (pending[i].kind !== 'call') return true;
  return false;
}

/** Block a send that found no room (SEND-7). It keeps its own copy of the operation. */
export function block(ctx: Ctx, op: SendOp): Invocation {
  const s = ctx.s;
  const ticket = s.nextTicket++;
  const dest = destOf(s, lookup(s, op.peer, op.handle)!).id;
  return wait(ctx, {
    ticket,
    kind: 'send',
    peer: op.peer,
    op: copyOp(op),
    dest,
    deadline: deadlineOf(s, op.timeoutMs),
  });
}

export { type Ctx } from './effects';

export const APPLY: Record<string, (ctx: Ctx, op: any) => Invocation> = {
  attach,
  createNode,
  mint,
  release: releaseOp,
  revoke,
  destroyNode,
  sameNode,
  send,
  call,
  reply,
  replyReceive,
  multicast,
  receive,
  cancel,
  close,
  tick,
};
