// The invariants of the protocol (INV-1..INV-11) as executable checks: on a
// state (structural, checkState) and across steps (one incremental Monitor fed
// every step). The model's tests, the simulator and the conformance suite all
// use these.
import type {
  Completion,
  Credentials,
  Delivery,
  Invocation,
  Limits,
  Operation,
  StampedCredentials,
} from '../spec/types';
import { resolveLimits } from '../spec/registry/limits';
import type { BusEvent, BusState, StepEffects } from './state';
import { isSubset } from './checks';
import { checkAbandonedCalls, checkRoomWatches } from './call-invariants';
import { SeqRing } from './seq-ring';
import { TicketTable } from './ticket-table';

export interface Violation {
  invariant: string;
  detail: string;
}

function v(invariant: string, detail: string): Violation {
  return { invariant, detail };
}

/** Structural invariants of one state. */
/** INV-1, INV-2, INV-5, INV-6, INV-8 on every handle; counts handles in flight per peer and senders per node. */
function checkHandles(s: BusState, inflight: Map<number, number>, senders: Map<number, number>): Violation[] {
  const out: Violation[] = [];
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
  return out;
}

export function checkState(s: BusState): Violation[] {
  const inflight = new Map<number, number>();
  const senders = new Map<number, number>();
  const out = checkHandles(s, inflight, senders);
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
      if (s.nodes[e.node]?.credentials) {
        if (!stampedBy(e.credentials, e.sender, s.peers[e.sender]?.credentials))
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
  for (const check of FURTHER_CHECKS) out.push(...check(s));
  return out;
}

/** INV-10, CRED-2: credentials exactly a peer's attach credentials, keyed by its id. */
function stampedBy(c: StampedCredentials | undefined, peer: number, attached: Credentials | undefined): boolean {
  return (
    c !== undefined &&
    attached !== undefined &&
    c.uid === attached.uid &&
    c.gid === attached.gid &&
    c.pid === attached.pid &&
    c.peerKey === peer
  );
}

/** The structural checks beside checkState's own, each of one family of invariants. */
const FURTHER_CHECKS: ((s: BusState) => Violation[])[] = [
  (s) => checkBounds(s),
  (s) => checkHandleQuota(s),
  (s) => checkNoSendersNotices(s),
  (s) => checkRefusedHandles(s),
  (s) => checkAbandonedCalls(s),
  (s) => checkRoomWatches(s),
];

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
 * A cheap fingerprint of the state: a failed operation must leave it unchanged (INV-3).
 * Every effect of an operation either issues an id or a ticket, takes a sequence number,
 * or changes the pending list; the full checks cover the rest.
 */
export function fingerprint(s: BusState): number {
  return (
    ((((s.nextPeer * 31 + s.nextNode) * 31 + s.nextHandle) * 31 + s.nextCall) * 31 + s.nextSeq) * 31 +
    s.nextTicket * 7 +
    s.pending.length
  );
}

/**
 * The step-level invariants across a run, checked incrementally from what every model step
 * reports (its result, completions, bus events and deliveries): failed steps change nothing
 * (INV-3), each enqueued entry leaves exactly once (INV-4), one outcome per pending operation
 * (INV-6), one bus order (INV-7), names never reissued (INV-8), one notice per handle
 * (INV-9), credentials exactly the sender's and only where asked for (INV-10), quota and
 * capacity (INV-11). Incremental checks cost O(1) per event and allocate nothing, so the
 * simulator runs them on every step; it samples the structural check (state()).
 *
 * Two ways to feed it: observe() for a test that steps the model one operation at a time
 * (every check, the structural one included, every step; all violations found); or, in a hot
 * loop, step() and deliveries() (the first violation found, or null) with state() sampled.
 */
export class Monitor {
  /** Step-level checks made (events, deliveries, results). */
  checks = 0;
  /** Full structural checks made. */
  stateChecks = 0;
  /** Everything observe() and finish() found. */
  readonly violations: Violation[] = [];
  private limits: Limits;
  private lastSeq = 0;
  // Per bus sequence number still queued (they start at 1 and only grow): receiver, sender,
  // whether it is a notice. Live in the ring = enqueued and not yet dequeued or discarded.
  private readonly seqs = new SeqRing(3, 0);
  // Per peer id (small and dense: the model numbers peers from 1): the last seq it took (INV-7)
  // and its queued messages, not notices (INV-11); per (receiver, sender) pair: that sender's
  // messages in the receiver's queue (INV-11). Typed arrays: nothing allocated per event.
  private lastTaken = new Float64Array(16);
  private queued = new Int32Array(16);
  private queuedFrom = new Int32Array(16 * 16);
  private stride = 16;
  /** Tickets (they only grow) of pending operations not completed yet (INV-6). */
  private readonly outstanding = new TicketTable(64);
  private readonly notified = new Set<string>();
  private readonly credentials = new Map<number, Credentials>();
  /** peer -> names of its nodes that opted in to credentials. */
  private readonly credentialNodes = new Map<number, Set<number>>();
  /** Entries enqueued and not yet dequeued or discarded (INV-4 at the end). */
  private openCount = 0;
  /** peer -> its next handle name as last seen (INV-8, observe only). */
  private readonly nextName = new Map<number, number>();
  /** Scratch for the seqs of one receive's dequeue events (observe). */
  private seqScratch = new Float64Array(16);

  constructor(limits: Partial<Limits> = {}) {
    this.limits = resolveLimits(limits);
  }

  /**
   * One model step, all checks: `before` is the state before it (null: not kept), `after` the
   * state after it (for the pure step, a different object; for applyInPlace, the same one
   * changed, and `before` must be null). Returns the violations found (also kept in violations).
   */
  observe(
    before: BusState | null,
    op: Operation,
    result: Invocation,
    effects: StepEffects,
    after: BusState,
  ): Violation[] {
    const found: Violation[] = [];
    const { events, completions } = effects;
    const failed = !('pending' in result) && !result.ok && result.error !== 'CALLER_GONE';
    const first = this.step(op, result, completions, events, before === null ? null : fingerprint(before), after);
    if (first !== null) found.push(first);
    // INV-3 in full: a failed operation leaves the whole state as it was.
    // (A refusal for room leaves one trace, the room watch it arms, QUOTA-5.)
    const error = failed ? (result as { error: string }).error : '';
    const seen = (s: BusState) => JSON.stringify(error === 'QUEUE_FULL' ? { ...s, roomWatches: null } : s);
    if (first === null && before !== null && failed && seen(before) !== seen(after))
      found.push(v('INV-3', `failed ${op.op} (${error}) changed the state`));
    // Deliveries of this step, in order, against its dequeue events (INV-9, INV-10).
    let cursor = 0;
    const check = (peer: number, deliveries: readonly Delivery[]) => {
      if (deliveries.length > this.seqScratch.length) this.seqScratch = new Float64Array(deliveries.length * 2);
      let k = 0;
      while (k < deliveries.length && cursor < events.length) {
        const e = events[cursor++];
        if (e.type === 'dequeue' && e.peer === peer) this.seqScratch[k++] = e.seq;
      }
      const dv = this.deliveries(peer, deliveries, this.seqScratch, k);
      if (dv !== null) found.push(dv);
    };
    if ((op.op === 'receive' || op.op === 'replyReceive') && !('pending' in result) && result.ok)
      check(op.peer, (result.value as { deliveries: Delivery[] }).deliveries);
    for (const c of completions)
      if (c.op === 'receive' && c.result.ok) check(c.peer, (c.result.value as { deliveries: Delivery[] }).deliveries);
    for (const p of Object.values(after.peers)) {
      const prev = this.nextName.get(p.id) ?? 1;
      if (p.nextName < prev) found.push(v('INV-8', `peer ${p.id} reissues names from ${p.nextName}`));
      this.nextName.set(p.id, p.nextName);
    }
    this.stateChecks++;
    found.push(...checkState(after));
    this.violations.push(...found);
    return found;
  }

  /**
   * Everything one step reported but its deliveries: `before` is the fingerprint taken before
   * it (null: not taken). The first violation, or null.
   */
  step(
    op: Operation,
    result: Invocation,
    completions: readonly Completion[],
    events: readonly BusEvent[],
    before: number | null,
    after: BusState,
  ): Violation | null {
    this.checks++;
    this.seqs.step++;
    this.limits = after.limits;
    const ticket =
      (result as { pending?: boolean; ticket?: number }).pending === true ? (result as { ticket: number }).ticket : -1;
    if (ticket < 0 && (result as { ok: boolean }).ok) this.learn(op, (result as { value: unknown }).value);
    if (before !== null && ticket < 0 && !(result as { ok: boolean }).ok) {
      const error = (result as { error: string }).error;
      if (error !== 'CALLER_GONE') {
        // INV-3: a failed operation changes nothing (CALLER_GONE consumes the reply handle, CALL-4).
        if (events.length > 0 || completions.length > 0)
          return { invariant: 'INV-3', detail: `failed ${op.op} (${error}) had effects` };
        if (fingerprint(after) !== before)
          return { invariant: 'INV-3', detail: `failed ${op.op} (${error}) changed the state` };
      }
    }
    if (ticket >= 0) {
      if (this.outstanding.find(ticket) >= 0) return { invariant: 'INV-6', detail: `ticket ${ticket} issued twice` };
      this.outstanding.add(ticket, 0);
    }
    for (let i = 0; i < events.length; i++) {
      const found = this.event(events[i]);
      if (found !== null) return found;
    }
    for (let i = 0; i < completions.length; i++) {
      // INV-6: every call (and every pending operation) gets exactly one outcome.
      const t = completions[i].ticket;
      const slot = this.outstanding.find(t);
      if (slot < 0) return { invariant: 'INV-6', detail: `ticket ${t} completed twice or never started` };
      this.outstanding.remove(slot);
      // INV-10, CRED-3: credentials on a reply are exactly the replier's, keyed by its peer id.
      const r = completions[i].result;
      const got = r.ok ? (r.value as { reply?: { credentials?: StampedCredentials } }).reply?.credentials : undefined;
      if (got !== undefined) {
        const expected = this.credentials.get(got.peerKey);
        if (!expected || got.uid !== expected.uid || got.gid !== expected.gid || got.pid !== expected.pid)
          return {
            invariant: 'INV-10',
            detail: `a reply carries ${JSON.stringify(got)}, not its replier's credentials`,
          };
      }
    }
    return null;
  }

  /** What a peer attached with, and which nodes opted in to credentials, from the steps that made them. */
  private learn(op: Operation, value: unknown): void {
    if (op.op === 'attach') this.registerPeer((value as { peer: number }).peer, op.credentials);
    else if (op.op === 'createNode')
      this.registerNode(op.peer, (value as { handle: number }).handle, op.credentials === true);
  }

  /** The credentials a peer attached with (INV-10); step() learns them from attach. */
  registerPeer(peer: number, credentials: Credentials): void {
    this.credentials.set(peer, credentials);
  }

  /** A node of `peer`, by its owner's name for it, and whether it opted in (INV-10); step() learns it from createNode. */
  registerNode(peer: number, ownerName: number, credentials: boolean): void {
    if (!credentials) return;
    let set = this.credentialNodes.get(peer);
    if (!set) this.credentialNodes.set(peer, (set = new Set()));
    set.add(ownerName);
  }

  /** One bus event (also fed by tests with deliberately broken streams). */
  event(e: BusEvent): Violation | null {
    this.checks++;
    switch (e.type) {
      case 'enqueue': {
        // INV-7: one bus-wide order.
        if (e.seq <= this.lastSeq) return { invariant: 'INV-7', detail: `enqueue seq ${e.seq} after ${this.lastSeq}` };
        this.lastSeq = e.seq;
        const slot = this.seqs.add(e.seq);
        const cols = this.seqs.i32;
        const to = cols[0],
          from = cols[1],
          notice = cols[2];
        to[slot] = e.to;
        from[slot] = e.from;
        notice[slot] = e.kind === 'notice' ? 1 : 0;
        this.openCount++;
        if (e.kind !== 'notice') {
          // INV-11: a sender never holds more than its quota of a queue; capacity holds.
          if (e.to >= this.stride || e.from >= this.stride) this.growPeers(Math.max(e.to, e.from));
          const total = ++this.queued[e.to];
          const mine = ++this.queuedFrom[e.to * this.stride + e.from];
          if (mine > this.limits.senderQuotaMessages)
            return {
              invariant: 'INV-11',
              detail: `peer ${e.from} holds ${mine} messages in peer ${e.to}'s queue (quota ${this.limits.senderQuotaMessages})`,
            };
          if (total > this.limits.queueCapacityMessages)
            return {
              invariant: 'INV-11',
              detail: `peer ${e.to}'s queue holds ${total} messages (capacity ${this.limits.queueCapacityMessages})`,
            };
        }
        return null;
      }
      case 'dequeue':
      case 'discard': {
        // INV-4: each enqueued entry leaves its receiver's queue exactly once.
        const slot = e.seq > this.lastSeq ? -1 : this.seqs.find(e.seq);
        const cols = this.seqs.i32;
        const to = cols[0],
          from = cols[1],
          notice = cols[2];
        if (slot < 0 || !this.seqs.isLive(slot) || to[slot] !== e.peer) {
          return {
            invariant: 'INV-4',
            detail: `seq ${e.seq} ${e.type === 'dequeue' ? 'dequeued' : 'discarded'} by peer ${e.peer} twice or never enqueued to it`,
          };
        }
        this.seqs.retire(slot);
        this.openCount--;
        // (The receiver was checked against the enqueue, so it and the sender are within the stride.)
        if (notice[slot] === 0) {
          this.queued[e.peer]--;
          this.queuedFrom[e.peer * this.stride + from[slot]]--;
        }
        if (e.type === 'dequeue') {
          // INV-7: each peer receives in the bus order.
          if (e.peer >= this.stride) this.growPeers(e.peer);
          const last = this.lastTaken[e.peer];
          if (e.seq < last) return { invariant: 'INV-7', detail: `peer ${e.peer} received seq ${e.seq} after ${last}` };
          this.lastTaken[e.peer] = e.seq;
        }
        return null;
      }
      case 'complete':
        return null;
    }
  }

  /**
   * The deliveries one receive handed to `peer`, with the seqs of the dequeue events of the
   * same step (in the same order; the first n): credentials (INV-10) and one notice per handle
   * (INV-9).
   */
  deliveries(
    peer: number,
    deliveries: readonly Delivery[],
    seqs: ArrayLike<number>,
    n = seqs.length,
  ): Violation | null {
    for (let i = 0; i < deliveries.length; i++) {
      this.checks++;
      const d = deliveries[i];
      if (d.kind === 'notice') {
        const n = d.notice;
        if (n.type === 'no-senders' || n.type === 'room') continue;
        const key = `${peer}:${n.handle}`;
        if (this.notified.has(key))
          return { invariant: 'INV-9', detail: `peer ${peer} got a second ${n.type} notice for handle ${n.handle}` };
        this.notified.add(key);
        continue;
      }
      if (d.kind !== 'message' && d.kind !== 'call') continue;
      const optedIn = this.credentialNodes.get(peer)?.has(d.node) ?? false;
      if (!optedIn) {
        if (d.credentials)
          return {
            invariant: 'INV-10',
            detail: `delivery to peer ${peer} node ${d.node} carries credentials the node did not ask for`,
          };
        continue;
      }
      // Dequeued in this step: retired, and its slot kept until the next step.
      const slot = i < n ? this.seqs.find(seqs[i]) : -1;
      const sender = slot >= 0 ? this.seqs.i32[1][slot] : -1;
      const expected = this.credentials.get(sender);
      const got = d.credentials;
      if (
        !got ||
        !expected ||
        got.uid !== expected.uid ||
        got.gid !== expected.gid ||
        got.pid !== expected.pid ||
        got.peerKey !== sender
      ) {
        return {
          invariant: 'INV-10',
          detail: `delivery to peer ${peer} node ${d.node} carries ${JSON.stringify(got)}, sender ${sender} attached with ${JSON.stringify(expected)}`,
        };
      }
    }
    return null;
  }

  /** A full structural check of a state (checkState): the first violation, or null. */
  state(s: BusState): Violation | null {
    this.stateChecks++;
    const found = checkState(s);
    return found.length > 0 ? found[0] : null;
  }

  /**
   * At the end of a run in which every peer closed: nothing enqueued is left unaccounted for
   * (INV-4) and every pending operation completed (INV-6); given the final state, nothing is
   * left in it either (INV-5) and it passes the structural check. Returns what it found (also
   * kept in violations).
   */
  finish(s?: BusState): Violation[] {
    const found: Violation[] = [];
    if (this.openCount > 0) found.push(v('INV-4', `${this.openCount} enqueued entries neither received nor discarded`));
    if (this.outstanding.size > 0) {
      const tickets = this.outstanding.liveTickets().slice(0, 5);
      found.push(
        v('INV-6', `${this.outstanding.size} pending operations never completed (tickets ${tickets.join(', ')})`),
      );
    }
    if (s !== undefined && found.length === 0) {
      const left =
        Object.keys(s.handles).length + Object.keys(s.nodes).length + Object.keys(s.calls).length + s.pending.length;
      if (left > 0)
        found.push(v('INV-5', `all peers closed but ${left} handles/nodes/calls/pending operations remain`));
      else {
        const structural = this.state(s);
        if (structural !== null) found.push(structural);
      }
    }
    this.violations.push(...found);
    return found;
  }

  /** Room for peer ids up to `id` in the per-peer and per-pair arrays. */
  private growPeers(id: number): void {
    const stride = Math.max(this.stride * 2, id + 1);
    const pairs = new Int32Array(stride * stride);
    for (let r = 0; r < this.stride; r++)
      for (let c = 0; c < this.stride; c++) pairs[r * stride + c] = this.queuedFrom[r * this.stride + c];
    const q = new Int32Array(stride);
    q.set(this.queued);
    const l = new Float64Array(stride);
    l.set(this.lastTaken);
    this.queuedFrom = pairs;
    this.queued = q;
    this.lastTaken = l;
    this.stride = stride;
  }
}
