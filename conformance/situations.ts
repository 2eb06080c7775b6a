// Interesting situations a property run reached (style.md: "a generator that
// never builds a revoke-during-call is not testing it"). Counted per run, and
// reported per 1,000 runs.
import type { Completion, Invocation, Operation } from '../spec/types';
import type { BusState } from '../model';
import { lookup } from '../model/rules';
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
] as const;
export type Situation = (typeof SITUATIONS)[number];

/** One run's observations. */
export class RunSituations implements StepObserver {
  readonly seen = new Set<Situation>();
  private mode = 'ok';
  private pendingMarks: Situation[] = [];
  constructor(private readonly done: (seen: Set<Situation>) => void) {}

  command(c: { mode: string }): void {
    this.mode = c.mode;
  }

  before(state: BusState, op: Operation, failure: unknown): void {
    this.pendingMarks = [];
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

  private result(op: string, r: Invocation): void {
    if ('pending' in r) {
      if (op === 'send') this.seen.add('send blocked');
      return;
    }
    if (!r.ok) {
      const code = r.error as Situation;
      if ((SITUATIONS as readonly string[]).includes(code)) this.seen.add(code);
      if (r.error === 'BAD_HANDLE') {
        if (this.mode === 'stale') this.seen.add('BAD_HANDLE through a stale name');
        if (this.mode === 'forged') this.seen.add('BAD_HANDLE through a forged name');
        if (this.mode === 'foreign') this.seen.add('BAD_HANDLE through a foreign name');
      }
      return;
    }
    const v = r.value as any;
    for (const d of v.deliveries ?? []) {
      if (d.kind === 'notice') this.seen.add(`${d.notice.type} notice received` as Situation);
      for (const h of d.handles ?? []) {
        if (h.state === 'revoked') this.seen.add('handle arrived revoked');
        if (h.state === 'dead') this.seen.add('handle arrived dead');
      }
      if (d.credentials) this.seen.add('credentials received');
    }
  }

  after(_state: BusState, op: Operation, outcome: { result: Invocation; completions: Completion[] }): void {
    const r = outcome.result;
    for (const m of this.pendingMarks) this.seen.add(m);
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
