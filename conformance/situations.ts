// Interesting situations a property run reached: a generator that never builds
// a revoke during a call is not testing it. Counted per run, and reported per
// 1,000 runs; the rules of protocol v2 are among them (V2_SITUATIONS).
import type { Completion, Invocation, Operation } from '../spec/types';
import type { BusState } from '../model';
import { destOf, lookup, messageBytes, queueRoom, roomError } from '../model/rules';
import type { StepObserver } from './session';

export const SITUATIONS = [
  'revoke during a pending call to the node',
  'close with a full queue',
  'multicast to mixed live and dead nodes',
  'delegated reply handle whose holder closes',
  'reply handle delegated',
  'QUEUE_FULL',
  'TABLE_FULL',
  'TOO_LARGE',
  'TOO_MANY_HANDLES',
  'CALLER_GONE',
  'NOT_OWNER',
  'WRONG_KIND',
  'REVOKED',
  'DEAD',
  'CLOSED',
  'INVALID_ARGUMENT',
  'BAD_HANDLE through a stale name',
  'BAD_HANDLE through a forged name',
  'BAD_HANDLE through a foreign name',
  'send blocked',
  'blocked send woken',
  'blocked send timed out',
  'call replied',
  'call resolved DEAD',
  'call resolved NO_REPLY',
  'call resolved TIMED_OUT',
  'call resolved CLOSED',
  'receive woken by an arrival',
  'no-senders notice received',
  'node-destroyed notice received',
  'revoked notice received',
  'handle arrived revoked',
  'handle arrived dead',
  'credentials received',
  'failed send with a move',
  // The rules of protocol v2 (V2_SITUATIONS):
  'table share exhausted',
  'acceptsHandles refusal',
  'notice withdrawn',
  'pending limit hit',
  'node limit hit',
  'conditional destroy STALE',
  'send held behind its own blocked send',
  'same node',
  // Calls and multicast for real servers and groups (V2_CALL_SITUATIONS):
  'cancel of a call',
  'cancel of a blocked send',
  'cancel of a waiting receive',
  'cancel lost to a completion',
  'cancel completing another operation in its step',
  'abandoned call withdrawn',
  'call-abandoned notice received',
  'reply handle arrived abandoned',
  'call surviving destroy',
  'replyReceive',
  'replyReceive dropping a late reply',
  'multicast skipping a full destination',
  'room notice received',
  'replier credentials',
] as const;
export type Situation = (typeof SITUATIONS)[number];

/**
 * The situations where a rule for calls and multicast decided the outcome (CANCEL-1..3, CALL-8..10,
 * DESTROY-4, MCAST-6, QUOTA-5, CRED-3); an implementation that declares every operation and
 * feature reaches each.
 */
export const V2_CALL_SITUATIONS: readonly Situation[] = SITUATIONS.slice(SITUATIONS.indexOf('cancel of a call'));

/** The situations where a rule of protocol v2 decided the outcome (QUOTA-4, NODE-5, NOTICE-6, BOUND-2, NODE-4, DESTROY-5, SEND-8, NODE-6). */
export const V2_SITUATIONS: readonly Situation[] = [
  'table share exhausted',
  'acceptsHandles refusal',
  'notice withdrawn',
  'pending limit hit',
  'node limit hit',
  'conditional destroy STALE',
  'send held behind its own blocked send',
  'same node',
];

/** QUOTA-4 decides: the message would fit its sender's quota but for the handles it brings. */
function handleQuotaDecides(state: BusState, op: Operation): boolean {
  if (op.op !== 'send' && op.op !== 'call') return false;
  const target = lookup(state, op.peer, op.handle);
  if (target?.kind !== 'node' || target.status !== 'live') return false;
  const dest = destOf(state, target);
  const bytes = messageBytes(op.message);
  const handles = (op.message.transfers ?? []).length + (op.op === 'call' ? 1 : 0);
  return (
    queueRoom(state, dest, op.peer, 1, bytes, 0) === null && queueRoom(state, dest, op.peer, 1, bytes, handles) !== null
  );
}

/** One run's observations. */
export class RunSituations implements StepObserver {
  readonly seen = new Set<Situation>();
  private mode = 'ok';
  private pendingMarks: Situation[] = [];
  /** The no-senders notices waiting before the step: seq -> node (NOTICE-6). */
  private waitingNotices = new Map<number, number>();
  /** Call messages queued before the step: seq -> the call's ticket (CALL-8). */
  private queuedCalls = new Map<number, number>();
  /** Pending calls already received, to the node a destroyNode destroys: their tickets (DESTROY-4). */
  private servedCalls: number[] = [];
  /** Every ticket issued in the run: ticket -> peer (CANCEL-3). */
  private readonly issued = new Map<number, number>();
  constructor(private readonly done: (seen: Set<Situation>) => void) {}

  command(c: { mode: string }): void {
    this.mode = c.mode;
  }

  before(state: BusState, op: Operation, failure: { rule: { clause: string }; code: string } | null): void {
    this.pendingMarks = [];
    this.waitingNotices.clear();
    for (const n of Object.values(state.nodes)) if (n.notice !== null) this.waitingNotices.set(n.notice, n.id);
    this.callsBefore(state, op, failure);
    if (failure?.rule.clause === 'NODE-4') this.pendingMarks.push('node limit hit');
    if (
      (failure?.rule.clause === 'NODE-5' && failure.code === 'NO_RIGHTS') ||
      (op.op === 'multicast' &&
        failure?.rule.clause === 'MCAST-2' &&
        failure.code === 'NO_RIGHTS' &&
        (op.message.transfers ?? []).length > 0 &&
        op.handles.some((n) => {
          const h = lookup(state, op.peer, n);
          return h?.status === 'live' && h.rights.includes('send') && !state.nodes[h.node]?.acceptsHandles;
        }))
    )
      this.pendingMarks.push('acceptsHandles refusal');
    if (failure?.rule.clause === 'QUOTA-2' && (op.op === 'send' || op.op === 'call')) {
      if (handleQuotaDecides(state, op)) this.pendingMarks.push('table share exhausted');
      if (roomError(state, op, op.op === 'call' ? 1 : 0) === 'order')
        this.pendingMarks.push('send held behind its own blocked send');
    }
    if (failure) return;
    if (op.op === 'revoke') {
      const top = lookup(state, op.peer, op.handle);
      if (top && state.pending.some((p) => p.kind === 'call' && state.calls[p.call]?.node === top.node))
        this.pendingMarks.push('revoke during a pending call to the node');
    }
    if (
      (op.op === 'send' || op.op === 'reply') &&
      (op.message.transfers ?? []).some((t) => lookup(state, op.peer, t.handle)?.kind === 'reply')
    ) {
      this.pendingMarks.push('reply handle delegated');
    }
    if (op.op === 'close') {
      const p = state.peers[op.peer];
      const messages = p.queue.filter((e) => e.kind !== 'notice');
      const bySender = new Map<number, number>();
      for (const e of messages) bySender.set(e.sender, (bySender.get(e.sender) ?? 0) + 1);
      if (
        messages.length >= state.limits.queueCapacityMessages ||
        [...bySender.values()].some((n) => n >= state.limits.senderQuotaMessages)
      )
        this.pendingMarks.push('close with a full queue');
      for (const id of Object.values(p.table)) {
        const h = state.handles[id];
        if (h.kind === 'reply' && state.calls[h.call] && state.nodes[state.calls[h.call].node]?.owner !== op.peer)
          this.pendingMarks.push('delegated reply handle whose holder closes');
      }
    }
  }

  private callsBefore(state: BusState, op: Operation, failure: unknown): void {
    this.queuedCalls.clear();
    this.servedCalls = [];
    for (const c of Object.values(state.calls)) if (c.message !== null) this.queuedCalls.set(c.message, c.ticket);
    if (op.op === 'destroyNode' && failure === null) {
      const node = lookup(state, op.peer, op.handle)!.node;
      for (const c of Object.values(state.calls))
        if (c.status === 'pending' && c.node === node && c.message === null) this.servedCalls.push(c.ticket);
    }
    if (op.op === 'replyReceive' && failure === null) {
      const r = lookup(state, op.peer, op.handle)!;
      this.pendingMarks.push('replyReceive');
      if (state.calls[r.call]?.status !== 'pending') this.pendingMarks.push('replyReceive dropping a late reply');
    }
  }

  /** What the rules for calls and multicast decided in a step (CANCEL-1..3, CALL-8, DESTROY-4, MCAST-6). */
  private callsAfter(
    state: BusState,
    op: Operation,
    r: Invocation,
    completions: Completion[],
    events: { type: string; seq?: number }[],
  ): void {
    const value = !('pending' in r) && r.ok ? (r.value as any) : null;
    if (op.op === 'cancel' && value) {
      if (value.cancelled) {
        const own = completions.find((c) => c.ticket === op.ticket);
        if (own?.op === 'call') this.seen.add('cancel of a call');
        if (own?.op === 'send') this.seen.add('cancel of a blocked send');
        if (own?.op === 'receive') this.seen.add('cancel of a waiting receive');
        if (completions.length > 1) this.seen.add('cancel completing another operation in its step');
      } else if (this.issued.get(op.ticket) === op.peer) this.seen.add('cancel lost to a completion');
    }
    if ('pending' in r) this.issued.set(r.ticket, (op as { peer: number }).peer);
    for (const e of events) {
      const ticket = e.type === 'discard' && e.seq !== undefined ? this.queuedCalls.get(e.seq) : undefined;
      const c = ticket === undefined ? undefined : completions.find((x) => x.ticket === ticket);
      if (c && !c.result.ok && ['TIMED_OUT', 'CANCELLED', 'CLOSED'].includes(c.result.error))
        this.seen.add('abandoned call withdrawn');
    }
    if (this.servedCalls.some((t) => state.pending.some((p) => p.ticket === t)))
      this.seen.add('call surviving destroy');
    if (op.op === 'multicast' && value?.full?.length > 0) this.seen.add('multicast skipping a full destination');
  }

  private result(op: string, r: Invocation): void {
    if ('pending' in r) {
      if (op === 'send') this.seen.add('send blocked');
      return;
    }
    if (!r.ok) {
      const code = r.error as Situation;
      if ((SITUATIONS as readonly string[]).includes(code)) this.seen.add(code);
      if (r.error === 'TOO_MANY_PENDING') this.seen.add('pending limit hit');
      if (r.error === 'STALE') this.seen.add('conditional destroy STALE');
      if (r.error === 'BAD_HANDLE') {
        if (this.mode === 'stale') this.seen.add('BAD_HANDLE through a stale name');
        if (this.mode === 'forged') this.seen.add('BAD_HANDLE through a forged name');
        if (this.mode === 'foreign') this.seen.add('BAD_HANDLE through a foreign name');
      }
      return;
    }
    const v = r.value as any;
    if (op === 'sameNode' && v.same === true) this.seen.add('same node');
    for (const d of v.deliveries ?? []) {
      if (d.kind === 'notice') this.seen.add(`${d.notice.type} notice received` as Situation);
      for (const h of d.handles ?? []) {
        if (h.state === 'revoked') this.seen.add('handle arrived revoked');
        if (h.state === 'dead') this.seen.add('handle arrived dead');
        if (h.state === 'abandoned') this.seen.add('reply handle arrived abandoned');
      }
      if (d.credentials) this.seen.add('credentials received');
    }
    if (v.reply?.credentials) this.seen.add('replier credentials');
  }

  after(
    state: BusState,
    op: Operation,
    outcome: { result: Invocation; completions: Completion[]; events: { type: string; seq?: number }[] },
  ): void {
    const r = outcome.result;
    if (!('pending' in r) && !r.ok) this.pendingMarks = this.pendingMarks.filter((m) => !m.startsWith('replyReceive'));
    for (const m of this.pendingMarks) this.seen.add(m);
    this.callsAfter(state, op, r, outcome.completions, outcome.events);
    for (const e of outcome.events) {
      const node = e.type === 'discard' && e.seq !== undefined ? this.waitingNotices.get(e.seq) : undefined;
      if (node !== undefined && state.nodes[node]?.status === 'live') this.seen.add('notice withdrawn');
    }
    this.result(op.op, r);
    if (op.op === 'multicast' && !('pending' in r) && r.ok) {
      const skipped = (r.value as { skipped: number[] }).skipped.length;
      if (skipped > 0 && skipped < op.handles.length) this.seen.add('multicast to mixed live and dead nodes');
    }
    if (
      (op.op === 'send' || op.op === 'call') &&
      !('pending' in r) &&
      !r.ok &&
      (op.message.transfers ?? []).some((t) => t.move)
    )
      this.seen.add('failed send with a move');
    for (const c of outcome.completions) {
      const cr = c.result;
      if (c.op === 'send')
        this.seen.add(
          cr.ok ? 'blocked send woken' : cr.error === 'TIMED_OUT' ? 'blocked send timed out' : 'send blocked',
        );
      if (c.op === 'call') {
        if (cr.ok) this.seen.add('call replied');
        else if (cr.error === 'DEAD' || cr.error === 'NO_REPLY' || cr.error === 'TIMED_OUT' || cr.error === 'CLOSED')
          this.seen.add(`call resolved ${cr.error}` as Situation);
      }
      if (c.op === 'receive' && cr.ok && (cr.value as { deliveries: unknown[] }).deliveries.length > 0)
        this.seen.add('receive woken by an arrival');
      this.result(c.op, cr);
    }
  }

  endRun(): void {
    this.done(this.seen);
  }
}

/** Situations over many runs. */
export class Situations {
  runs = 0;
  readonly counts = new Map<Situation, number>();

  startRun(): RunSituations {
    return new RunSituations((seen) => {
      this.runs++;
      for (const s of seen) this.counts.set(s, (this.counts.get(s) ?? 0) + 1);
    });
  }

  /** Runs in which each situation occurred, per 1,000 runs. */
  perThousandRuns(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of SITUATIONS)
      out[s] = this.runs === 0 ? 0 : Math.round(((this.counts.get(s) ?? 0) * 1000) / this.runs);
    return out;
  }

  format(): string {
    const per = this.perThousandRuns();
    const width = Math.max(...SITUATIONS.map((s) => s.length));
    return SITUATIONS.map((s) => `  ${s.padEnd(width)}  ${String(per[s]).padStart(4)} / 1000 runs`).join('\n');
  }
}
