// One run against an implementation: the model (the oracle) and the driver
// are stepped side by side, and after every step the implementation's result
// and completions must equal the model's up to renaming (conformance/names.ts).
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { applyInPlace, firstFailure, initialState, type BusState, type StepOutcome } from '../model';
import type { Rule } from '../model/rules';
import { DriverError, PROTOCOL_VERSION, protocolMismatch, type Driver, type DriverInfo } from '../protocol/driver';
import { Renaming, operationToImpl, renameToModel, unifyInvocation } from './names';
import { formatCompletion, formatInvocation, formatOp } from './format';

/** The implementation did something the model does not allow. */
export class Mismatch extends Error {
  constructor(
    readonly reason: string,
    readonly stepIndex: number,
    readonly detail: string,
  ) {
    super(`${reason}\n${detail}`);
    this.name = 'Mismatch';
  }
}

/** The model threw: a bug in the oracle itself (reported to the model's owner, not the implementer). */
export class ModelFailure extends Error {}

export interface TraceEntry {
  op: Operation;
  model: Invocation;
  impl?: Invocation;
  completions: Completion[];
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
}

/** A driver after its handshake; routes completions to the current session. */
export class Harness {
  private sink: ((c: Completion) => void) | null = null;
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
    const s = new Session(this.driver, initialState(inForce), options);
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

  constructor(
    readonly driver: Driver,
    readonly model: BusState,
    options: SessionOptions = {},
  ) {
    this.graceMs = options.completionGraceMs ?? 0;
    this.observers = options.observers ?? [];
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
    for (const o of this.observers) o.before?.(this.model, op, failure);
    let outcome: Omit<StepOutcome, 'state'>;
    try {
      outcome = applyInPlace(this.model, op);
    } catch (err) {
      throw new ModelFailure(`the model threw on ${formatOp(op)}: ${(err as Error).message}\n${this.formatTrace()}`);
    }
    const entry: TraceEntry = { op, model: outcome.result, completions: outcome.completions };
    this.trace.push(entry);
    const impl = await this.driver.invoke(implOp);
    entry.impl = impl;
    const peer = (op as { peer?: number }).peer ?? 0;
    const why = unifyInvocation(op.op, peer, outcome.result, impl, this.renaming);
    if (why) {
      const shown =
        'pending' in impl || !impl.ok
          ? impl
          : { ok: true as const, value: renameToModel(op.op, peer, impl.value, this.renaming) as never };
      throw this.mismatch(
        why,
        `  model:          ${formatInvocation(outcome.result)}\n  implementation: ${formatInvocation(shown)}`,
      );
    }
    await this.awaitCompletions(outcome.completions.length);
    this.compareCompletions(outcome.completions, this.buffer.splice(0));
    this.renaming.foreign.clear();
    for (const o of this.observers) o.after?.(this.model, op, outcome);
    return entry;
  }

  private compareCompletions(model: Completion[], impl: Completion[]): void {
    const mapped = impl.map((c) => ({ c, m: this.renaming.tickets.toModel(c.ticket) }));
    const unknown = mapped.find((x) => x.m === undefined);
    if (unknown)
      throw this.mismatch(
        `the implementation completed ticket ${unknown.c.ticket}, which it never returned as pending`,
        `  implementation: ${JSON.stringify(unknown.c)}`,
      );
    const byTicket = new Map(mapped.map((x) => [x.m!, x.c]));
    const list = (cs: Completion[]) => cs.map(formatCompletion).join('; ') || '(none)';
    const shownImpl = mapped.map((x) => ({ ...x.c, ticket: x.m! }));
    const detail = `  model completions:          ${list(model)}\n  implementation completions: ${list(shownImpl)}`;
    for (const mc of model) {
      const ic = byTicket.get(mc.ticket);
      if (!ic)
        throw this.mismatch(
          `the implementation did not complete ticket #${mc.ticket} (${mc.op} of p${mc.peer})`,
          detail,
        );
      byTicket.delete(mc.ticket);
      if (ic.op !== mc.op) throw this.mismatch(`ticket #${mc.ticket} completed as ${ic.op}, not ${mc.op}`, detail);
      const peerWhy = this.renaming.peers.unify(mc.peer, ic.peer, 'peer id');
      if (peerWhy) throw this.mismatch(peerWhy, detail);
      const why = unifyInvocation(mc.op, mc.peer, mc.result, ic.result, this.renaming);
      if (why) throw this.mismatch(`completion #${mc.ticket}: ${why}`, detail);
    }
    if (byTicket.size > 0) {
      const [t] = byTicket.keys();
      throw this.mismatch(`the implementation completed ticket #${t}, the model did not (yet)`, detail);
    }
  }

  private mismatch(reason: string, detail: string): Mismatch {
    const i = this.trace.length - 1;
    return new Mismatch(
      `step ${i + 1}, ${formatOp(this.trace[i].op)}: ${reason}`,
      i,
      `${detail}\n${this.formatTrace()}`,
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

  /** The run so far as a numbered operation list, the model's result after each. */
  formatTrace(limit = 60): string {
    const lines = this.trace.map((e, i) => {
      const cs = e.completions.length ? `   completes ${e.completions.map(formatCompletion).join('; ')}` : '';
      return `  ${String(i + 1).padStart(3)}. ${formatOp(e.op)} -> ${formatInvocation(e.model)}${cs}`;
    });
    const shown = lines.length > limit ? ['  ...', ...lines.slice(-limit)] : lines;
    return `operations (model results):\n${shown.join('\n')}`;
  }
}

export { DriverError };
