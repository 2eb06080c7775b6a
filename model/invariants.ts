// The invariants of the protocol (INV-1..INV-11) as executable checks: on a
// state (structural) and across steps (a Monitor fed every step). The property
// tests, the simulator and the conformance suite all use these.
import type { Invocation, Operation } from '../spec/types';
import type { BusEvent, BusState, StepEffects } from './state';
import { isSubset } from './checks';

export interface Violation {
  invariant: string;
  detail: string;
}

function v(invariant: string, detail: string): Violation {
  return { invariant, detail };
}

/** Structural invariants of one state. */
export function checkState(s: BusState): Violation[] {
  const out: Violation[] = [];
  const inflight = new Map<number, number>();
  const senders = new Map<number, number>();
  const replyOfCall = new Map<number, number>();
  for (const h of Object.values(s.handles)) {
    const holder = s.peers[h.holder];
    if (!holder || holder.status !== 'open') {
      out.push(v('INV-5', `handle ${h.id} held by a peer that is not open`));
      continue;
    }
    // INV-1: a handle is in exactly the table that names it, or in flight in exactly one queued entry.
    if (h.name !== null) {
      if (holder.table[h.name] !== h.id)
        out.push(v('INV-1', `handle ${h.id} claims name ${h.name} in peer ${h.holder}, table disagrees`));
      if (h.name >= holder.nextName)
        out.push(v('INV-8', `handle ${h.id} has name ${h.name} not yet issued by peer ${h.holder}`));
    } else {
      inflight.set(h.holder, (inflight.get(h.holder) ?? 0) + 1);
    }
    if (h.kind === 'node') {
      // INV-2: rights never grow along the derivation tree; a badge once set never changes.
      const p = h.parent === null ? undefined : s.handles[h.parent];
      if (h.parent !== null && !p)
        out.push(v('INV-2', `handle ${h.id} has a parent ${h.parent} that no longer exists`));
      if (p) {
        if (p.node !== h.node) out.push(v('INV-1', `handle ${h.id} derives from a handle to another node`));
        if (!isSubset(h.rights, p.rights))
          out.push(v('INV-2', `handle ${h.id} has rights [${h.rights}] beyond its parent's [${p.rights}]`));
        if (p.badge !== 0 && h.badge !== p.badge)
          out.push(v('INV-2', `handle ${h.id} changed badge ${p.badge} -> ${h.badge}`));
      }
      if (h.parent === null && !h.root && h.status === 'live' && s.nodes[h.node]?.root !== null && s.nodes[h.node]) {
        // Parentless non-root handles exist only once the root is gone (RELEASE-2).
        out.push(v('INV-1', `handle ${h.id} has no parent although its node's root exists`));
      }
      const node = s.nodes[h.node];
      if (h.status === 'live' && (!node || node.status !== 'live'))
        out.push(v('INV-8', `live handle ${h.id} to a dead node`));
      if (h.status === 'live' && !h.root) senders.set(h.node, (senders.get(h.node) ?? 0) + 1);
    } else {
      const call = s.calls[h.call];
      if (!call) out.push(v('INV-6', `reply handle ${h.id} for a forgotten call ${h.call}`));
      else if (call.replyHandle !== h.id)
        out.push(v('INV-6', `call ${h.call} does not point back at reply handle ${h.id}`));
      if (replyOfCall.has(h.call)) out.push(v('INV-6', `call ${h.call} has two reply handles`));
      replyOfCall.set(h.call, h.id);
    }
  }
  for (const p of Object.values(s.peers)) {
    for (const [name, id] of Object.entries(p.table)) {
      if (!s.handles[id]) out.push(v('INV-8', `peer ${p.id} name ${name} resolves to a released handle`));
    }
    if ((inflight.get(p.id) ?? 0) !== p.inflight)
      out.push(v('INV-4', `peer ${p.id} counts ${p.inflight} handles in flight, ${inflight.get(p.id) ?? 0} exist`));
    if (p.status === 'closed' && (Object.keys(p.table).length || p.queue.length || p.inflight))
      out.push(v('INV-5', `closed peer ${p.id} still has handles or messages`));
    // INV-11: quota and capacity.
    let count = 0,
      bytes = 0;
    const mine = new Map<number, { n: number; b: number }>();
    let lastSeq = 0;
    for (const e of p.queue) {
      if (e.seq <= lastSeq) out.push(v('INV-7', `peer ${p.id} queue out of bus order at seq ${e.seq}`));
      lastSeq = e.seq;
      if (e.kind === 'notice') continue;
      count++;
      bytes += e.bytes;
      const m = mine.get(e.sender) ?? { n: 0, b: 0 };
      m.n++;
      m.b += e.bytes;
      mine.set(e.sender, m);
      // INV-10: credentials exactly the sender's, and only for nodes that opted in.
      const node = s.nodes[e.node];
      const sender = s.peers[e.sender];
      if (node?.credentials) {
        if (!e.credentials || !sender || JSON.stringify(e.credentials) !== JSON.stringify(sender.credentials))
          out.push(v('INV-10', `entry ${e.seq} carries wrong credentials`));
      } else if (e.credentials)
        out.push(v('INV-10', `entry ${e.seq} carries credentials to a node that did not opt in`));
      for (const id of [...e.handles, ...(e.replyHandle === null ? [] : [e.replyHandle])]) {
        const h = s.handles[id];
        if (!h || h.name !== null || h.holder !== p.id)
          out.push(v('INV-4', `entry ${e.seq} carries handle ${id} that is not in flight to peer ${p.id}`));
      }
    }
    const l = s.limits;
    if (count > l.queueCapacityMessages || bytes > l.queueCapacityBytes)
      out.push(v('INV-11', `peer ${p.id} queue over capacity (${count} messages, ${bytes} B)`));
    for (const [sender, m] of mine) {
      if (m.n > l.senderQuotaMessages || m.b > l.senderQuotaBytes)
        out.push(v('INV-11', `sender ${sender} over quota in peer ${p.id}'s queue`));
    }
    if (Object.keys(p.table).length + p.inflight + p.ghosts > l.maxHandlesPerPeer)
      out.push(v('INV-11', `peer ${p.id} table over maxHandlesPerPeer`));
    const ghosts = p.queue.filter((e) => e.ghost).length;
    if (ghosts !== p.ghosts)
      out.push(v('INV-9', `peer ${p.id} counts ${p.ghosts} notice slots held by released handles, ${ghosts} exist`));
    const noSenders = p.queue
      .filter((e) => e.notice?.type === 'no-senders')
      .map((e) => (e.notice as { node: number }).node);
    if (new Set(noSenders).size !== noSenders.length)
      out.push(v('INV-9', `peer ${p.id} has two no-senders notices waiting for one node`));
  }
  for (const n of Object.values(s.nodes)) {
    if (n.status === 'live' && (senders.get(n.id) ?? 0) !== n.senders)
      out.push(v('INV-9', `node ${n.id} counts ${n.senders} senders, ${senders.get(n.id) ?? 0} exist`));
  }
  // INV-6: every pending call has one pending record and vice versa.
  const pendingCalls = new Set(s.pending.filter((p) => p.kind === 'call').map((p) => (p as { call: number }).call));
  for (const c of Object.values(s.calls)) {
    if ((c.status === 'pending') !== pendingCalls.has(c.id))
      out.push(
        v('INV-6', `call ${c.id} is ${c.status} but ${pendingCalls.has(c.id) ? 'has' : 'lacks'} a pending record`),
      );
    if (c.status !== 'pending' && c.replyHandle === null)
      out.push(v('INV-5', `resolved call ${c.id} kept after its reply handle is gone`));
  }
  // INV-5: when every peer has closed, nothing remains.
  const peers = Object.values(s.peers);
  if (peers.length > 0 && peers.every((p) => p.status === 'closed')) {
    const left =
      Object.keys(s.handles).length + Object.keys(s.nodes).length + Object.keys(s.calls).length + s.pending.length;
    if (left > 0) out.push(v('INV-5', `all peers closed but ${left} handles/nodes/calls/pending remain`));
  }
  return [...out, ...checkBounds(s), ...checkHandleQuota(s), ...checkNoSendersNotices(s), ...checkRefusedHandles(s)];
}

/** INV-12: live nodes and pending operations per peer within their limits, and counted right; counters bounded. */
export function checkBounds(s: BusState): Violation[] {
  const out: Violation[] = [];
  const nodes = new Map<number, number>();
  for (const n of Object.values(s.nodes)) if (n.status === 'live') nodes.set(n.owner, (nodes.get(n.owner) ?? 0) + 1);
  const pending = new Map<number, number>();
  const blocked = new Map<number, number>();
  for (const p of s.pending) {
    pending.set(p.peer, (pending.get(p.peer) ?? 0) + 1);
    if (p.kind === 'send') blocked.set(p.peer, (blocked.get(p.peer) ?? 0) + 1);
  }
  const l = s.limits;
  for (const p of Object.values(s.peers)) {
    if ((nodes.get(p.id) ?? 0) !== p.nodes)
      out.push(v('INV-12', `peer ${p.id} counts ${p.nodes} live nodes, owns ${nodes.get(p.id) ?? 0}`));
    if (p.nodes > l.maxNodesPerPeer)
      out.push(v('INV-12', `peer ${p.id} owns ${p.nodes} live nodes (limit ${l.maxNodesPerPeer})`));
    if ((pending.get(p.id) ?? 0) !== p.pending || (blocked.get(p.id) ?? 0) !== p.blockedSends)
      out.push(
        v(
          'INV-12',
          `peer ${p.id} counts ${p.pending} pending (${p.blockedSends} sends), has ${pending.get(p.id) ?? 0}`,
        ),
      );
    if (p.pending > l.maxPendingPerPeer)
      out.push(v('INV-12', `peer ${p.id} has ${p.pending} pending operations (limit ${l.maxPendingPerPeer})`));
    if (p.nextName > 2 ** 53) out.push(v('INV-12', `peer ${p.id} issued a name past 2^53-1`));
  }
  if (s.nowMs > Number.MAX_SAFE_INTEGER) out.push(v('INV-12', `the clock passed 2^53-1: ${s.nowMs}`));
  return out;
}

/** INV-11, QUOTA-4: no sender has more than senderQuotaHandles handles in flight in one queue. */
export function checkHandleQuota(s: BusState): Violation[] {
  const out: Violation[] = [];
  for (const p of Object.values(s.peers)) {
    const mine = new Map<number, number>();
    for (const e of p.queue)
      if (e.kind !== 'notice')
        mine.set(e.sender, (mine.get(e.sender) ?? 0) + e.handles.length + (e.replyHandle === null ? 0 : 1));
    for (const [sender, n] of mine)
      if (n > s.limits.senderQuotaHandles)
        out.push(
          v(
            'INV-11',
            `sender ${sender} has ${n} handles in flight to peer ${p.id} (quota ${s.limits.senderQuotaHandles})`,
          ),
        );
  }
  return out;
}

/** INV-9, NOTICE-2, NOTICE-6: a no-senders notice waits exactly while it is true, and its node points at it. */
export function checkNoSendersNotices(s: BusState): Violation[] {
  const out: Violation[] = [];
  for (const p of Object.values(s.peers)) {
    for (const e of p.queue) {
      if (e.notice?.type !== 'no-senders') continue;
      const node = s.nodes[e.node];
      if (!node || node.status !== 'live' || node.owner !== p.id || node.notice !== e.seq)
        out.push(v('INV-9', `no-senders notice ${e.seq} in peer ${p.id}'s queue is not its node's waiting notice`));
      else if (node.senders !== 0 || e.notice.derivedCount !== node.derivedCount)
        out.push(
          v(
            'INV-9',
            `no-senders notice ${e.seq} waits although node ${node.id} has ${node.senders} senders (NOTICE-6)`,
          ),
        );
    }
  }
  for (const n of Object.values(s.nodes))
    if (n.notice !== null && !s.peers[n.owner].queue.some((e) => e.seq === n.notice))
      out.push(v('INV-9', `node ${n.id} points at a no-senders notice ${n.notice} that is not waiting`));
  return out;
}

/** INV-12, NODE-5: no queued entry carries transfers to a node that refuses handles. */
export function checkRefusedHandles(s: BusState): Violation[] {
  const out: Violation[] = [];
  for (const p of Object.values(s.peers))
    for (const e of p.queue)
      if (e.kind !== 'notice' && e.handles.length > 0 && s.nodes[e.node] && !s.nodes[e.node].acceptsHandles)
        out.push(v('INV-12', `entry ${e.seq} carries handles to node ${e.node}, which refuses them`));
  return out;
}

/**
 * Step-level invariants across a run: feed it every step. Tracks the bus order
 * (INV-7), exactly-once delivery or discard (INV-4), one outcome per call
 * (INV-6), failed steps changing nothing (INV-3) and names never reissued (INV-8).
 */
export class Monitor {
  private lastSeq = 0;
  private readonly open = new Map<number, number>(); // seq -> receiving peer
  private readonly lastTaken = new Map<number, number>(); // peer -> last dequeued seq
  private readonly outstanding = new Set<number>(); // tickets
  private readonly nextName = new Map<number, number>();
  readonly violations: Violation[] = [];

  observe(
    before: BusState | null,
    op: Operation,
    result: Invocation,
    effects: StepEffects,
    after: BusState,
  ): Violation[] {
    const found: Violation[] = [];
    if (
      before &&
      !('pending' in result) &&
      !result.ok &&
      result.error !== 'CALLER_GONE' &&
      effects.events.length === 0
    ) {
      if (JSON.stringify(before) !== JSON.stringify(after))
        found.push(v('INV-3', `failed ${op.op} (${result.error}) changed the state`));
    }
    if ('pending' in result) this.outstanding.add(result.ticket);
    for (const c of effects.completions) {
      if (!this.outstanding.delete(c.ticket))
        found.push(v('INV-6', `ticket ${c.ticket} completed twice or never started`));
    }
    for (const e of effects.events) found.push(...this.event(e));
    for (const p of Object.values(after.peers)) {
      const prev = this.nextName.get(p.id) ?? 1;
      if (p.nextName < prev) found.push(v('INV-8', `peer ${p.id} reissues names from ${p.nextName}`));
      this.nextName.set(p.id, p.nextName);
    }
    found.push(...checkState(after));
    this.violations.push(...found);
    return found;
  }

  private event(e: BusEvent): Violation[] {
    switch (e.type) {
      case 'enqueue':
        if (e.seq <= this.lastSeq) return [v('INV-7', `enqueue seq ${e.seq} after ${this.lastSeq}`)];
        this.lastSeq = e.seq;
        this.open.set(e.seq, e.to);
        return [];
      case 'dequeue': {
        if (this.open.get(e.seq) !== e.peer)
          return [v('INV-4', `seq ${e.seq} dequeued by peer ${e.peer} twice or never enqueued to it`)];
        this.open.delete(e.seq);
        const last = this.lastTaken.get(e.peer) ?? 0;
        this.lastTaken.set(e.peer, e.seq);
        return e.seq < last ? [v('INV-7', `peer ${e.peer} received seq ${e.seq} after ${last}`)] : [];
      }
      case 'discard':
        if (!this.open.delete(e.seq)) return [v('INV-4', `seq ${e.seq} discarded twice or never enqueued`)];
        return [];
      case 'complete':
        return [];
    }
  }

  /** At the end of a run in which every peer closed: nothing enqueued is left unaccounted for. */
  finish(): Violation[] {
    const found: Violation[] = [];
    if (this.open.size > 0) found.push(v('INV-4', `${this.open.size} enqueued entries neither received nor discarded`));
    if (this.outstanding.size > 0)
      found.push(v('INV-6', `${this.outstanding.size} pending operations never completed`));
    this.violations.push(...found);
    return found;
  }
}
