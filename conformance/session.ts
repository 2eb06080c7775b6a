// One run against an implementation: the model (the oracle) and the driver
// are stepped side by side, and after every step the implementation's result
// and completions must equal the model's up to renaming (conformance/names.ts).
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { applyInPlace, firstFailure, initialState, type BusState, type StepOutcome } from '../model';
import type { Rule } from '../model/rules';
import { DriverError, PROTOCOL_VERSION, protocolMismatch, type Driver, type DriverInfo } from '../protocol/driver';
import { Renaming, operationToImpl, renameToModel, unifyInvocation } from './names';
import { formatCompletion, formatInvocation, formatOp } from './format';
import {
  completionOpDiffers,
  diagnoseInvocation,
  queuedDelivery,
  extraCompletion,
  formatDifference,
  missingCompletion,
  stepContext,
  unknownTicket,
  type Difference,
} from './diagnosis';
import { formatStep, type WireJson } from './steps';

/** The implementation did something the model does not allow. */
export class Mismatch extends Error {
  constructor(
    readonly reason: string,
    readonly stepIndex: number,
    readonly detail: string,
    /** What differs, in protocol terms, and the clauses that decide it. */
    readonly difference?: Difference,
    /** The detail without the run's trace. */
    readonly explanation = detail,
  ) {
    super(`${reason}\n${detail}`);
    this.name = 'Mismatch';
  }
}

/** The model threw: a bug in the oracle itself (reported to the model's owner, not the implementer). */
export class ModelFailure extends Error {}

export interface TraceEntry {
  op: Operation;
  /** The operation as sent, in the implementation's names. */
  sent?: Operation;
  model: Invocation;
  impl?: Invocation;
  completions: Completion[];
  /** The completions the implementation reported during the step, as it sent them. */
  implCompletions?: Completion[];
  /** Where the run stopped: this step differed. */
  differs?: boolean;
}

/** Sees every step (coverage, statistics). `before` runs on the state before the step. */
export interface StepObserver {
  before?(state: BusState, op: Operation, failure: { rule: Rule; code: string } | null): void;
  after?(state: BusState, op: Operation, outcome: Omit<StepOutcome, 'state'>): void;
}

export interface SessionOptions {
  /** How long to wait for completions the model expects but the implementation has not reported yet. */
  completionGraceMs?: number;
  observers?: StepObserver[];
  onMismatch?: () => void;
}

/** A driver after its handshake; routes completions to the current session. */
export class Harness {
  private sink: ((c: Completion) => void) | null = null;
  /** Called when a session of this harness finds a difference (the suite keeps the run's transcript then). */
  onMismatch: (() => void) | null = null;
  private constructor(
    readonly driver: Driver,
    readonly info: DriverInfo,
  ) {}

  static async open(driver: Driver): Promise<Harness> {
    const info = await driver.init();
    if (info.protocolVersion !== PROTOCOL_VERSION) throw new DriverError(protocolMismatch(info.protocolVersion));
    const h = new Harness(driver, info);
    driver.onCompletion((c) => {
      if (h.sink) h.sink(c);
    });
    return h;
  }

  has(feature: string): boolean {
    return (this.info.features as string[]).includes(feature);
  }

  supports(op: string): boolean {
    return (this.info.operations as string[]).includes(op);
  }

  /** A fresh bus: the limits asked for if the implementation can configure them, else its own. */
  async session(limits: Partial<Limits> | null, options: SessionOptions = {}): Promise<Session> {
    const wanted = { ...this.info.limits, ...(this.has('configurable-limits') ? (limits ?? {}) : {}) } as Limits;
    const inForce = await this.driver.reset(wanted);
    const s = new Session(this.driver, initialState(inForce), { ...options, onMismatch: () => this.onMismatch?.() });
    this.sink = (c) => s.receiveCompletion(c);
    return s;
  }
}

export class Session {
  readonly renaming = new Renaming();
  readonly trace: TraceEntry[] = [];
  private buffer: Completion[] = [];
  private wake: (() => void) | null = null;
  private readonly graceMs: number;
  private readonly observers: StepObserver[];
  private readonly onMismatch?: () => void;

  constructor(
    readonly driver: Driver,
    readonly model: BusState,
    options: SessionOptions = {},
  ) {
    this.graceMs = options.completionGraceMs ?? 0;
    this.observers = options.observers ?? [];
    this.onMismatch = options.onMismatch;
  }

  receiveCompletion(c: Completion): void {
    this.buffer.push(c);
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async awaitCompletions(count: number): Promise<void> {
    const deadline = Date.now() + this.graceMs;
    while (this.buffer.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Run one operation (model names) on both sides and compare. Throws Mismatch on any difference. */
  async step(op: Operation, implOp: Operation = operationToImpl(op, this.renaming)): Promise<TraceEntry> {
    const failure = firstFailure(this.model, op);
    // The numbers a limit decision reads, before the step changes them (shown only on a difference).
    const context = stepContext(this.model, op);
    for (const o of this.observers) o.before?.(this.model, op, failure);
    let outcome: Omit<StepOutcome, 'state'>;
    try {
      outcome = applyInPlace(this.model, op);
    } catch (err) {
      throw new ModelFailure(`the model threw on ${formatOp(op)}: ${(err as Error).message}\n${this.formatTrace()}`);
    }
    const entry: TraceEntry = { op, sent: implOp, model: outcome.result, completions: outcome.completions };
    this.trace.push(entry);
    const impl = await this.driver.invoke(implOp);
    entry.impl = impl;
    const peer = (op as { peer?: number }).peer ?? 0;
    const names = this.renaming.clone();
    const why = unifyInvocation(op.op, peer, outcome.result, impl, this.renaming);
    if (why) {
      const shown =
        'pending' in impl || !impl.ok
          ? impl
          : { ok: true as const, value: renameToModel(op.op, peer, impl.value, names) as never };
      const difference = diagnoseInvocation({
        opName: op.op,
        op,
        peer,
        model: outcome.result,
        impl,
        renaming: names,
        failure,
        nameReason: why,
        context,
        later: op.op === 'receive' ? (this.model.peers[peer]?.queue ?? []).map(queuedDelivery) : [],
      });
      const lists = ['order', 'missing', 'extra'].includes(difference.kind) || /delivery/.test(difference.summary);
      throw this.mismatch(
        difference,
        [
          ...(lists
            ? []
            : [
                `  model:          ${formatInvocation(outcome.result)}`,
                `  implementation: ${formatInvocation(shown)}`,
              ]),
          ...(difference.kind !== 'names' && /name|ticket|peer id/.test(why)
            ? [`  what the names say (a consequence): ${why}`]
            : []),
        ].join('\n'),
      );
    }
    await this.awaitCompletions(outcome.completions.length);
    entry.implCompletions = [...this.buffer];
    this.compareCompletions(outcome.completions, this.buffer.splice(0));
    this.renaming.foreign.clear();
    for (const o of this.observers) o.after?.(this.model, op, outcome);
    return entry;
  }

  private compareCompletions(model: Completion[], impl: Completion[]): void {
    const mapped = impl.map((c) => ({ c, m: this.renaming.tickets.toModel(c.ticket) }));
    const unknown = mapped.find((x) => x.m === undefined);
    if (unknown) throw this.mismatch(unknownTicket(unknown.c), `  implementation: ${JSON.stringify(unknown.c)}`);
    const byTicket = new Map(mapped.map((x) => [x.m!, x.c]));
    const list = (cs: Completion[]) => cs.map(formatCompletion).join('; ') || '(none)';
    const shownImpl = mapped.map((x) => ({ ...x.c, ticket: x.m! }));
    const detail = `  model completions:          ${list(model)}\n  implementation completions: ${list(shownImpl)}`;
    for (const mc of model) {
      const ic = byTicket.get(mc.ticket);
      if (!ic) throw this.mismatch(missingCompletion(mc), detail);
      byTicket.delete(mc.ticket);
      if (ic.op !== mc.op) throw this.mismatch(completionOpDiffers(mc.ticket, mc.op, ic.op), detail);
      const peerWhy = this.renaming.peers.unify(mc.peer, ic.peer, 'peer id');
      if (peerWhy)
        throw this.mismatch(
          { kind: 'names', summary: `completion #${mc.ticket}: ${peerWhy}`, details: [], clauses: ['PEER-1'] },
          detail,
        );
      const before = this.renaming.clone();
      const why = unifyInvocation(mc.op, mc.peer, mc.result, ic.result, this.renaming);
      if (why) {
        const op = this.model.peers[mc.peer] ? ({ op: mc.op, peer: mc.peer } as Operation) : ({ op: mc.op } as never);
        const difference = diagnoseInvocation({
          opName: mc.op,
          op,
          peer: mc.peer,
          model: mc.result,
          impl: ic.result,
          renaming: before,
          failure: null,
          nameReason: why,
          where: ` in the completion of ${mc.op} #${mc.ticket}`,
        });
        throw this.mismatch(difference, detail);
      }
    }
    if (byTicket.size > 0) {
      const [t] = byTicket.keys();
      throw this.mismatch(extraCompletion(t, byTicket.get(t)!), detail);
    }
  }

  private mismatch(difference: Difference, detail: string): Mismatch {
    const i = this.trace.length - 1;
    const entry = this.trace[i];
    entry.differs = true;
    this.onMismatch?.();
    const [headline, ...more] = formatDifference(difference);
    const wire = [
      `  sent (its names):   ${JSON.stringify(entry.sent ?? entry.op)}`,
      `  driver answered:    ${entry.impl === undefined ? '(nothing)' : JSON.stringify(entry.impl)}`,
      `  model (its names):  ${JSON.stringify(entry.model)}`,
      ...(entry.implCompletions?.length
        ? [`  driver completions: ${entry.implCompletions.map((c) => JSON.stringify(c)).join(' ')}`]
        : []),
      ...(entry.completions.length
        ? [`  model completions:  ${entry.completions.map((c) => JSON.stringify(c)).join(' ')}`]
        : []),
    ];
    const explanation = [...more, ...(detail ? [detail] : []), ...wire].join('\n');
    return new Mismatch(
      `step ${i + 1}, ${formatOp(entry.op)}: ${headline}`,
      i,
      `${explanation}\n${this.formatTrace()}`,
      difference,
      explanation,
    );
  }

  /** Close every open peer in id order, comparing each close, then check nothing is left pending. */
  async closeAll(): Promise<void> {
    for (const id of Object.keys(this.model.peers)
      .map(Number)
      .sort((a, b) => a - b)) {
      if (this.model.peers[id].status === 'open') await this.step({ op: 'close', peer: id });
    }
    if (this.model.pending.length > 0)
      throw new ModelFailure(`pending operations remain after every peer closed (INV-6)\n${this.formatTrace()}`);
  }

  /** The run so far as a numbered operation list, the model's result after each and the driver's own JSON. */
  formatTrace(limit = 60): string {
    const lines = this.trace.flatMap((e, i) => formatStep(this.stepJson(e, i)));
    const shown = lines.length > limit * 2 ? ['  ...', ...lines.slice(-limit * 2)] : lines;
    return `operations (model results; the driver's JSON below each):\n${shown.join('\n')}`;
  }

  /** One step of the trace as plain data (for the reports). */
  stepJson(e: TraceEntry, i: number): WireJson {
    return {
      index: i + 1,
      op: formatOp(e.op),
      model:
        formatInvocation(e.model) +
        (e.completions.length ? `   completes ${e.completions.map(formatCompletion).join('; ')}` : ''),
      ...(e.sent !== undefined ? { sent: e.sent } : {}),
      ...(e.impl !== undefined ? { driver: e.impl } : {}),
      ...(e.implCompletions?.length ? { driverCompletions: e.implCompletions } : {}),
      ...(e.differs ? { differs: true } : {}),
    };
  }
}

export { DriverError };
