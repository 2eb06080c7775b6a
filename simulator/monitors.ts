// Invariant monitors for the simulator: the brief's invariants (INV-1..INV-11)
// checked incrementally from what every model step reports (its bus events,
// completions, deliveries and result), plus a sampled full structural check of
// the model state (model/invariants.ts checkState) and a final check once every
// peer has closed. Incremental checks cost O(1) per event, so they run on every
// step of every simulation; the structural check is O(state) and is sampled.
import type { Credentials, Delivery, Invocation, Limits, Operation } from '../spec/types';
import type { BusEvent, BusState, StepEffects } from '../model/state';
import { checkState } from '../model/invariants';

export interface Violation {
  invariant: string;
  detail: string;
}

/** Thrown to stop a run at the first violation. */
export class InvariantViolation extends Error {
  constructor(readonly violation: Violation, readonly atNs: number) {
    super(`${violation.invariant}: ${violation.detail}`);
    this.name = 'InvariantViolation';
  }
}

/**
 * A cheap fingerprint of the state: a failed operation must leave it unchanged (INV-3).
 * Every effect of an operation either issues an id or a ticket, takes a sequence number,
 * or changes the pending list; the sampled full check covers the rest.
 */
export function fingerprint(s: BusState): number {
  return ((((s.nextPeer * 31 + s.nextNode) * 31 + s.nextHandle) * 31 + s.nextCall) * 31 + s.nextSeq) * 31 + s.nextTicket * 7 + s.pending.length;
}

const OPEN = 1;
const DONE = 2;

export class Monitors {
  checks = 0;
  stateChecks = 0;
  private lastSeq = 0;
  // Per bus sequence number (they start at 1 and only grow): state, receiver, sender, kind.
  private seqState = new Int8Array(1024);
  private seqTo = new Int32Array(1024);
  private seqFrom = new Int32Array(1024);
  private seqNotice = new Int8Array(1024);
  private readonly lastTaken = new Map<number, number>();
  private readonly outstanding = new Set<number>();
  /** Messages (not notices) per receiver and per (receiver, sender): INV-11. */
  private readonly queued = new Map<number, number>();
  private readonly queuedFrom = new Map<number, number>();
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
  step(op: Operation, result: Invocation, effects: StepEffects, before: number | null, after: BusState): Violation | null {
    this.checks++;
    if (before !== null && !('pending' in result) && !result.ok && result.error !== 'CALLER_GONE') {
      // INV-3: a failed operation changes nothing (CALLER_GONE consumes the reply handle, CALL-4).
      if (effects.events.length > 0 || effects.completions.length > 0) return { invariant: 'INV-3', detail: `failed ${op.op} (${result.error}) had effects` };
      if (fingerprint(after) !== before) return { invariant: 'INV-3', detail: `failed ${op.op} (${result.error}) changed the state` };
    }
    if ('pending' in result) {
      if (this.outstanding.has(result.ticket)) return { invariant: 'INV-6', detail: `ticket ${result.ticket} issued twice` };
      this.outstanding.add(result.ticket);
    }
    for (const e of effects.events) {
      const v = this.event(e);
      if (v) return v;
    }
    for (const c of effects.completions) {
      // INV-6: every call (and every pending operation) gets exactly one outcome.
      if (!this.outstanding.delete(c.ticket)) return { invariant: 'INV-6', detail: `ticket ${c.ticket} completed twice or never started` };
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
        this.ensure(e.seq);
        this.seqState[e.seq] = OPEN;
        this.seqTo[e.seq] = e.to;
        this.seqFrom[e.seq] = e.from;
        this.seqNotice[e.seq] = e.kind === 'notice' ? 1 : 0;
        this.openCount++;
        if (e.kind !== 'notice') {
          // INV-11: a sender never holds more than its quota of a queue; capacity holds.
          const total = (this.queued.get(e.to) ?? 0) + 1;
          const key = e.to * 1048576 + e.from;
          const mine = (this.queuedFrom.get(key) ?? 0) + 1;
          this.queued.set(e.to, total);
          this.queuedFrom.set(key, mine);
          if (mine > this.limits.senderQuotaMessages) return { invariant: 'INV-11', detail: `peer ${e.from} holds ${mine} messages in peer ${e.to}'s queue (quota ${this.limits.senderQuotaMessages})` };
          if (total > this.limits.queueCapacityMessages) return { invariant: 'INV-11', detail: `peer ${e.to}'s queue holds ${total} messages (capacity ${this.limits.queueCapacityMessages})` };
        }
        return null;
      }
      case 'dequeue':
      case 'discard': {
        // INV-4: each enqueued entry leaves its receiver's queue exactly once.
        if (e.seq > this.lastSeq || this.seqState[e.seq] !== OPEN || this.seqTo[e.seq] !== e.peer) {
          return { invariant: 'INV-4', detail: `seq ${e.seq} ${e.type}d by peer ${e.peer} twice or never enqueued to it` };
        }
        this.seqState[e.seq] = DONE;
        this.openCount--;
        if (!this.seqNotice[e.seq]) {
          this.queued.set(e.peer, (this.queued.get(e.peer) ?? 0) - 1);
          const key = e.peer * 1048576 + this.seqFrom[e.seq];
          this.queuedFrom.set(key, (this.queuedFrom.get(key) ?? 0) - 1);
        }
        if (e.type === 'dequeue') {
          // INV-7: each peer receives in the bus order.
          const last = this.lastTaken.get(e.peer) ?? 0;
          if (e.seq < last) return { invariant: 'INV-7', detail: `peer ${e.peer} received seq ${e.seq} after ${last}` };
          this.lastTaken.set(e.peer, e.seq);
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
  deliveries(peer: number, deliveries: readonly Delivery[], seqs: readonly number[]): Violation | null {
    for (let i = 0; i < deliveries.length; i++) {
      this.checks++;
      const d = deliveries[i];
      if (d.kind === 'notice') {
        const n = d.notice;
        if (n.type === 'no-senders') continue;
        const key = `${peer}:${n.handle}`;
        if (this.notified.has(key)) return { invariant: 'INV-9', detail: `peer ${peer} got a second ${n.type} notice for handle ${n.handle}` };
        this.notified.add(key);
        continue;
      }
      if (d.kind !== 'message' && d.kind !== 'call') continue;
      const optedIn = this.credentialNodes.get(peer)?.has(d.node) ?? false;
      if (!optedIn) {
        if (d.credentials) return { invariant: 'INV-10', detail: `delivery to peer ${peer} node ${d.node} carries credentials the node did not ask for` };
        continue;
      }
      const seq = seqs[i];
      const sender = seq !== undefined ? this.seqFrom[seq] : -1;
      const expected = this.credentials.get(sender);
      const got = d.credentials;
      if (!got || !expected || got.uid !== expected.uid || got.gid !== expected.gid || got.pid !== expected.pid) {
        return { invariant: 'INV-10', detail: `delivery to peer ${peer} node ${d.node} carries ${JSON.stringify(got)}, sender ${sender} attached with ${JSON.stringify(expected)}` };
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
    if (this.openCount > 0) return { invariant: 'INV-4', detail: `${this.openCount} enqueued entries neither received nor discarded` };
    if (this.outstanding.size > 0) return { invariant: 'INV-6', detail: `${this.outstanding.size} pending operations never completed (tickets ${[...this.outstanding].slice(0, 5).join(', ')})` };
    const left = Object.keys(s.handles).length + Object.keys(s.nodes).length + Object.keys(s.calls).length + s.pending.length;
    if (left > 0) return { invariant: 'INV-5', detail: `all peers closed but ${left} handles/nodes/calls/pending operations remain` };
    return this.state(s);
  }

  private ensure(seq: number): void {
    if (seq < this.seqState.length) return;
    let n = this.seqState.length;
    while (n <= seq) n *= 2;
    const g8 = (x: Int8Array) => { const y = new Int8Array(n); y.set(x); return y; };
    const g32 = (x: Int32Array) => { const y = new Int32Array(n); y.set(x); return y; };
    this.seqState = g8(this.seqState);
    this.seqNotice = g8(this.seqNotice);
    this.seqTo = g32(this.seqTo);
    this.seqFrom = g32(this.seqFrom);
  }
}
