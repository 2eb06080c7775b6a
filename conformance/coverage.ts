// Clause coverage: which clauses each step exercised. A failing step names
// its clause through the model's rule (`firstFailure(state, op).rule.clause`);
// a successful one through the operation registry (spec/registry/operations.ts)
// and what it caused (completions, deliveries, notices).
import type { Completion, Delivery, Invocation, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import type { BusState } from '../model';
import { roomError } from '../model/rules';
import type { StepObserver } from './session';
import { compareClauseIds, loadClauseIds } from '../spec/clauses';

export { compareClauseIds, loadClauseIds };

const OUTCOME_CLAUSES: Record<string, string[]> = {
  DEAD: ['DESTROY-4', 'CALL-2'],
  NO_REPLY: ['CALL-4', 'CALL-2'],
  TIMED_OUT: ['TIME-1', 'CALL-2'],
  CANCELLED: ['CANCEL-1', 'CANCEL-2', 'CALL-2'],
  CLOSED: ['CLOSE-1', 'CALL-2'],
};

function deliveryClauses(d: Delivery, out: string[]): void {
  out.push('DELIVER-1', 'ORDER-2');
  if (d.kind === 'notice') {
    out.push('NOTICE-1', 'INV-9');
    if (d.notice.type === 'node-destroyed') out.push('DESTROY-2', 'ORDER-4');
    if (d.notice.type === 'revoked') out.push('REVOKE-2');
    if (d.notice.type === 'no-senders') out.push('NOTICE-2', 'NOTICE-3');
    if (d.notice.type === 'call-abandoned') out.push('CALL-8', 'CALL-9', 'INV-13');
    if (d.notice.type === 'room') out.push('QUOTA-5');
    return;
  }
  if (d.credentials) out.push('CRED-2', 'INV-10');
  if (d.kind === 'reply' && d.credentials) out.push('CRED-3');
  if (d.handles.length > 0) out.push('RECV-3');
  for (const h of d.handles) {
    if (h.state === 'revoked') out.push('REVOKE-2', 'INV-1');
    if (h.state === 'dead') out.push('DESTROY-2');
    if (h.state === 'abandoned') out.push('CALL-9');
    if (h.kind === 'reply') out.push('CALL-5');
  }
  if (d.kind === 'call') out.push('CALL-1', 'RECV-3');
  if (d.kind !== 'reply' && d.credentials) out.push('CRED-1', 'INV-10');
  if (d.kind !== 'reply' && d.badge !== 0) out.push('MINT-3');
}

function resultClauses(op: string, r: Invocation, out: string[]): void {
  if ('pending' in r) {
    out.push('TIME-2');
    return;
  }
  if (!r.ok) {
    out.push(...(OUTCOME_CLAUSES[r.error] ?? []));
    return;
  }
  const v = r.value as any;
  if (Array.isArray(v.deliveries)) {
    for (const d of v.deliveries) deliveryClauses(d, out);
    if (v.deliveries.length >= 2) out.push('INV-7');
  }
  if (v.reply) {
    out.push('CALL-3', 'CALL-6', 'INV-6');
    for (const h of v.reply.handles) if (h.kind === 'reply') out.push('CALL-5');
  }
  if (op === 'multicast' && v.skipped?.length) out.push('MCAST-3');
  if (op === 'multicast' && v.full?.length) out.push('MCAST-6', 'QUOTA-5');
}

/** Counts, per clause, the steps that exercised it. */
export class ClauseCounter implements StepObserver {
  readonly counts = new Map<string, number>();
  private pendingFailure: string | null = null;
  /** Clauses only the state before a step can tell: why a queue was short (QUOTA-4, SEND-8). */
  private beforeClauses: string[] = [];
  /** The no-senders notices waiting before a step: seq -> node. */
  private readonly waitingNotices = new Map<number, number>();
  private stepClauses: string[] = [];

  private add(ids: Iterable<string>): void {
    for (const id of new Set(ids)) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  before(state: BusState, op: Operation, failure: { rule: { clause: string }; code: string } | null): void {
    this.pendingFailure = failure ? failure.rule.clause : null;
    this.beforeClauses = [];
    this.waitingNotices.clear();
    for (const n of Object.values(state.nodes)) if (n.notice !== null) this.waitingNotices.set(n.notice, n.id);
    if (failure?.rule.clause === 'QUOTA-2' && (op.op === 'send' || op.op === 'call')) {
      const why = roomError(state, op, op.op === 'call' ? 1 : 0);
      if (why === 'order') this.beforeClauses.push('SEND-8', 'INV-7');
      if ((op.message.transfers ?? []).length > 0 || op.op === 'call') this.beforeClauses.push('QUOTA-4');
    }
  }

  after(
    state: BusState,
    op: Operation,
    outcome: { result: Invocation; completions: Completion[]; events: { type: string; seq?: number }[] },
  ): void {
    const out: string[] = [...this.beforeClauses];
    const r = outcome.result;
    if (this.pendingFailure !== null && !('pending' in r && op.op === 'send')) {
      out.push(this.pendingFailure, 'ERR-1', 'ERR-2', 'ATOMIC-1', 'INV-3');
      if (!('pending' in r) && !r.ok) {
        if (r.error === 'BAD_HANDLE') out.push('HANDLE-3', 'INV-8');
        if (r.error === 'REVOKED' || r.error === 'DEAD') out.push('HANDLE-6');
        if (r.error === 'WRONG_KIND') out.push('HANDLE-5');
        if (r.error === 'QUEUE_FULL') out.push('QUOTA-1', 'QUOTA-2', 'INV-11');
        if (r.error === 'CALLER_GONE') out.push('CALL-4');
        if (r.error === 'CLOSED') out.push('PEER-2');
        if (r.error === 'TABLE_FULL' || r.error === 'QUEUE_FULL' || r.error === 'TOO_MANY_PENDING') out.push('BOUND-1');
        if (r.error === 'TOO_MANY_PENDING' || this.pendingFailure === 'NODE-4' || this.pendingFailure === 'NODE-5')
          out.push('INV-12');
        if (op.op === 'tick' && r.error === 'INVALID_ARGUMENT') out.push('TIME-3');
      }
    } else {
      const entry = OPERATIONS.find((o) => o.name === op.op);
      if (entry) out.push(...entry.clauses);
      if (op.op === 'send' && 'pending' in r) out.push('SEND-7');
      if (op.op === 'mint' || op.op === 'attach') out.push('INV-2');
      if ((op.op === 'send' || op.op === 'call' || op.op === 'multicast') && (op.message.transfers?.length ?? 0) > 0)
        out.push('SEND-4', 'INV-2');
      if (op.op === 'close' && Object.values(state.peers).every((p) => p.status === 'closed')) out.push('INV-5');
      resultClauses(op.op, r, out);
    }
    for (const c of outcome.completions) {
      resultClauses(c.op, c.result, out);
      if (c.op === 'send') out.push('SEND-7');
      if (c.op === 'receive') out.push('RECV-2');
      if (c.op === 'call') out.push('INV-6');
    }
    const enqueues = outcome.events.filter((e) => e.type === 'enqueue') as { type: string; kind: string; to: number }[];
    if (enqueues.length > 0) out.push('ORDER-1');
    const notices = enqueues.filter((e) => e.kind === 'notice');
    if (notices.length >= 2) out.push('NOTICE-5');
    for (const e of notices) {
      const q = state.peers[e.to]?.queue ?? [];
      if (q.filter((x) => x.kind !== 'notice').length >= state.limits.queueCapacityMessages)
        out.push('NOTICE-4', 'QUOTA-3');
    }
    if (op.op === 'multicast' && enqueues.length >= 2) out.push('ORDER-3', 'MCAST-3');
    if (!('pending' in r) && r.ok) {
      if (op.op === 'attach') out.push('BUS-1');
      if (op.op === 'createNode' || op.op === 'mint') out.push('HANDLE-2', 'BOUND-3');
      if (op.op === 'send' || op.op === 'call' || op.op === 'mint' || op.op === 'multicast') out.push('HANDLE-4');
      if (op.op === 'reply') out.push('QUOTA-3');
    }
    if (!('pending' in r) && !r.ok && r.error === 'DEAD') out.push('NODE-2');
    if (outcome.events.some((e) => e.type === 'discard')) out.push('INV-4');
    // CALL-8: an abandoned call's message left the queue unread.
    if (outcome.completions.some((c) => !c.result.ok && ['TIMED_OUT', 'CANCELLED', 'CLOSED'].includes(c.result.error)))
      out.push('CALL-8', 'INV-13');
    // NOTICE-6: a no-senders notice of a node that lives on left the queue without being received.
    if (outcome.events.some((e) => e.type === 'discard') && this.withdrew(state, outcome.events)) out.push('NOTICE-6');
    this.stepClauses = out;
    this.add(out);
  }

  /** Whether the step took a waiting no-senders notice of a live node out of the queue (NOTICE-6). */
  private withdrew(state: BusState, events: { type: string; seq?: number }[]): boolean {
    return events.some((e) => {
      const node = e.type === 'discard' && e.seq !== undefined ? this.waitingNotices.get(e.seq) : undefined;
      return node !== undefined && state.nodes[node]?.status === 'live';
    });
  }

  /** The clauses of the last step. */
  lastStep(): string[] {
    return this.stepClauses;
  }

  merge(other: ClauseCounter): void {
    for (const [id, n] of other.counts) this.counts.set(id, (this.counts.get(id) ?? 0) + n);
  }
}
