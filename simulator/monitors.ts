// Invariant monitors for the simulator: the brief's invariants (INV-1..INV-11)
// checked incrementally from what every model step reports (its bus events,
// completions, deliveries and result), plus a sampled full structural check of
// the model state (model/invariants.ts checkState) and a final check once every
// peer has closed. Incremental checks cost O(1) per event, so they run on every
// step of every simulation; the structural check is O(state) and is sampled.
import type { Completion, Credentials, Delivery, Invocation, Limits, Operation } from '../spec/types';
import type { BusEvent, BusState } from '../model/state';
import { checkState, type Violation } from '../model/invariants';
import { SeqRing } from './seq-ring';
import { TicketTable } from './ticket-table';

export type { Violation };

/**
 * A cheap fingerprint of the state: a failed operation must leave it unchanged (INV-3).
 * Every effect of an operation either issues an id or a ticket, takes a sequence number,
 * or changes the pending list; the sampled full check covers the rest.
 */
export function fingerprint(s: BusState): number {
  return (
    ((((s.nextPeer * 31 + s.nextNode) * 31 + s.nextHandle) * 31 + s.nextCall) * 31 + s.nextSeq) * 31 +
    s.nextTicket * 7 +
    s.pending.length
  );
}

export class Monitors {
  checks = 0;
  stateChecks = 0;
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
  /** Tickets (they only grow) of pending operations not completed yet: live in the ring (INV-6). */
  private readonly outstanding = new TicketTable(64);
  private readonly notified = new Set<string>();
  private readonly credentials = new Map<number, Credentials>();
  /** peer -> names of its nodes that opted in to credentials. */
  private readonly credentialNodes = new Map<number, Set<number>>();
  private openCount = 0;

  constructor(private readonly limits: Limits) {}

  registerPeer(peer: number, credentials: Credentials): void {
    this.credentials.set(peer, credentials);
  }

  registerNode(peer: number, ownerName: number, credentials: boolean): void {
    if (!credentials) return;
    let set = this.credentialNodes.get(peer);
    if (!set) this.credentialNodes.set(peer, (set = new Set()));
    set.add(ownerName);
  }

  /** Everything one model step reported. `before` is the fingerprint taken before it, for failed steps. */
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
    const ticket =
      (result as { pending?: boolean; ticket?: number }).pending === true ? (result as { ticket: number }).ticket : -1;
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
      const v = this.event(events[i]);
      if (v !== null) return v;
    }
    for (let i = 0; i < completions.length; i++) {
      // INV-6: every call (and every pending operation) gets exactly one outcome.
      const t = completions[i].ticket;
      const slot = this.outstanding.find(t);
      if (slot < 0) return { invariant: 'INV-6', detail: `ticket ${t} completed twice or never started` };
      this.outstanding.remove(slot);
    }
    return null;
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
            detail: `seq ${e.seq} ${e.type}d by peer ${e.peer} twice or never enqueued to it`,
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
   * The deliveries one receive handed to `peer`, with the dequeue events of the same step
   * (in the same order): credentials (INV-10) and one notice per handle (INV-9).
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
        if (n.type === 'no-senders') continue;
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
      if (!got || !expected || got.uid !== expected.uid || got.gid !== expected.gid || got.pid !== expected.pid) {
        return {
          invariant: 'INV-10',
          detail: `delivery to peer ${peer} node ${d.node} carries ${JSON.stringify(got)}, sender ${sender} attached with ${JSON.stringify(expected)}`,
        };
      }
    }
    return null;
  }

  /** A full structural check of the model state (sampled by the simulator). */
  state(s: BusState): Violation | null {
    this.stateChecks++;
    const found = checkState(s);
    return found.length > 0 ? found[0] : null;
  }

  /** Once every peer has closed: nothing left anywhere (INV-4, INV-5, INV-6). */
  finish(s: BusState): Violation | null {
    if (this.openCount > 0)
      return { invariant: 'INV-4', detail: `${this.openCount} enqueued entries neither received nor discarded` };
    if (this.outstanding.size > 0) {
      const tickets = this.outstanding.liveTickets().slice(0, 5);
      return {
        invariant: 'INV-6',
        detail: `${this.outstanding.size} pending operations never completed (tickets ${tickets.join(', ')})`,
      };
    }
    const left =
      Object.keys(s.handles).length + Object.keys(s.nodes).length + Object.keys(s.calls).length + s.pending.length;
    if (left > 0)
      return {
        invariant: 'INV-5',
        detail: `all peers closed but ${left} handles/nodes/calls/pending operations remain`,
      };
    return this.state(s);
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
