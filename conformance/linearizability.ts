// Concurrent checking: record a history of invocations and completions made
// concurrently against an implementation, and search for a linearization the
// model accepts (Wing & Gong's algorithm with Lowe's memoization, as in
// Porcupine). The model's step is the sequential specification; it is pure
// and cheap to clone, so each branch of the search carries its own state and
// its own renaming (names are learned from results, which depend on the order).
import type { Completion, Invocation, Limits, Operation, Result } from '../spec/types';
import { applyInPlace, initialState, type BusState } from '../model';
import type { Driver } from '../protocol/driver';
import type { StampedOp } from '../protocol/clients';
import { Renaming, unifyInvocation } from './names';
import { formatInvocation, formatOp } from './format';

/** One operation of a concurrent history, with the implementation's names. */
export interface HistoryOp {
  id: number;
  /** The client (thread, worker) that issued it. */
  client: number;
  op: Operation;
  /** Event order numbers: when it was invoked, when its response came back. */
  call: number;
  return: number | null;
  /** The response: a result, or pending with the implementation's ticket. */
  invocation?: Invocation;
  /** For a pending operation: when its completion was observed, and its result. */
  completed?: number;
  outcome?: Result;
  /**
   * The client died with this operation in flight (it has no response): it may
   * or may not have taken effect, so a linearization may include it (anywhere
   * after its invocation) or leave it out.
   */
  optional?: boolean;
}

/** An operation recorded outside the recorder (e.g. in a worker thread), stamped on the recorder's clock. */

export interface LinearizabilityOptions {
  limits?: Partial<Limits>;
  /** Give up after exploring this many states (the result is then `ok: null`). */
  maxStates?: number;
  /** Minimize a failing history (greedy removal). */
  minimize?: boolean;
}

export interface LinearizabilityResult {
  /** true: linearizable; false: not; null: the search gave up. */
  ok: boolean | null;
  /** Operation ids in a linearization order the model accepts. */
  witness?: number[];
  /** The model state after the witness (for invariants on the final state). */
  finalState?: BusState;
  /** A small sub-history that is still not linearizable. */
  smallestFailingHistory?: HistoryOp[];
  /** The longest prefix the search could linearize, and why it could not go on. */
  deepest?: { linearized: number[]; reason: string };
  explored: number;
}

const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const UNKNOWN_BASE = 2 ** 45;

/** An implementation operation in model names, under one branch's renaming. */
export function operationToModel(op: Operation, r: Renaming): Operation {
  const o = structuredClone(op) as any;
  const peer = isName(o.peer) ? (r.peers.toModel(o.peer) ?? UNKNOWN_BASE + o.peer) : o.peer;
  const h = (name: unknown) => (isName(name) ? (r.handlesOf(peer).toModel(name) ?? UNKNOWN_BASE + name) : name);
  if ('peer' in o) o.peer = peer;
  if (o.op === 'attach' && Array.isArray(o.bootstrap)) {
    for (const g of o.bootstrap) {
      const from = isName(g.fromPeer) ? (r.peers.toModel(g.fromPeer) ?? UNKNOWN_BASE + g.fromPeer) : g.fromPeer;
      g.fromPeer = from;
      g.handle = isName(g.handle) ? (r.handlesOf(from).toModel(g.handle) ?? UNKNOWN_BASE + g.handle) : g.handle;
    }
  }
  if ('handle' in o && o.op !== 'attach') o.handle = h(o.handle);
  if (o.op === 'multicast' && Array.isArray(o.handles)) o.handles = o.handles.map(h);
  if (o.op === 'sameNode') o.other = h(o.other);
  if (o.op === 'cancel' && isName(o.ticket)) o.ticket = r.tickets.toModel(o.ticket) ?? UNKNOWN_BASE + o.ticket;
  if (Array.isArray(o.message?.transfers)) for (const t of o.message.transfers) t.handle = h(t.handle);
  return o;
}

interface Branch {
  state: BusState;
  renaming: Renaming;
  linearized: Set<number>;
  /** Pending operations the model has not completed yet: model ticket -> op id. */
  open: Map<number, number>;
  /** Ops whose final outcome the model has produced. */
  done: Set<number>;
  order: number[];
  /** The state as JSON, computed once per branch: the memo key and the source of the clones. */
  json?: string;
}

function stateJson(b: Branch): string {
  return (b.json ??= JSON.stringify(b.state));
}

function signature(b: Branch): string {
  const names = [...b.renaming.handles].map(([p, bij]) => `${p}:${[...bij.modelToImpl].join(',')}`).join(';');
  return `${[...b.linearized].sort((x, y) => x - y).join(',')}|${[...b.done].sort((x, y) => x - y).join(',')}|${[...b.renaming.peers.modelToImpl].join(',')}|${[...b.renaming.tickets.modelToImpl].join(',')}|${names}|${stateJson(b)}`;
}

/** The earliest event by which something not yet done in this branch was observed to be done. */
function horizon(ops: readonly HistoryOp[], b: Branch): number {
  let h = Infinity;
  for (const o of ops) {
    if (!b.linearized.has(o.id)) {
      if (o.return !== null) h = Math.min(h, o.return);
    } else if (!b.done.has(o.id) && o.completed !== undefined) h = Math.min(h, o.completed);
  }
  return h;
}

function tryStep(
  b: Branch,
  o: HistoryOp,
  byId: ReadonlyMap<number, HistoryOp>,
  note: (b: Branch, reason: string) => void,
): Branch | null {
  // The model state is plain JSON (model/state.ts): parsing the branch's JSON is the cheapest deep clone.
  const state = JSON.parse(stateJson(b)) as BusState;
  const renaming = b.renaming.clone();
  const modelOp = operationToModel(o.op, renaming);
  let out;
  try {
    out = applyInPlace(state, modelOp);
  } catch (err) {
    note(b, `the model threw on ${formatOp(modelOp)}: ${(err as Error).message}`);
    return null;
  }
  const peer = (modelOp as { peer?: number }).peer ?? 0;
  if (o.invocation !== undefined) {
    const why = unifyInvocation(modelOp.op, peer, out.result, o.invocation, renaming);
    if (why) {
      note(
        b,
        `#${o.id} ${formatOp(o.op)} answered ${formatInvocation(o.invocation)}; after [${b.order.join(', ')}] the model says ${formatInvocation(out.result)} (${why})`,
      );
      return null;
    }
  }
  const next: Branch = {
    state,
    renaming,
    linearized: new Set(b.linearized).add(o.id),
    open: new Map(b.open),
    done: new Set(b.done),
    order: [...b.order, o.id],
  };
  if ('pending' in out.result) next.open.set(out.result.ticket, o.id);
  else next.done.add(o.id);
  for (const c of out.completions as Completion[]) {
    const id = next.open.get(c.ticket);
    if (id === undefined) {
      note(b, `the model completed ticket ${c.ticket}, which no operation holds`);
      return null;
    }
    next.open.delete(c.ticket);
    next.done.add(id);
    const target = byId.get(id)!;
    if (target.outcome !== undefined) {
      const why = unifyInvocation(c.op, c.peer, c.result, target.outcome, next.renaming);
      if (why) {
        note(
          b,
          `#${id} ${formatOp(target.op)} completed ${formatInvocation(target.outcome)}; linearizing #${o.id} there, the model completes it ${formatInvocation(c.result)} (${why})`,
        );
        return null;
      }
    }
  }
  return next;
}

/** Check a history against the model. */
export function checkLinearizable(history: HistoryOp[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  const result = search(history, options);
  if (result.ok === false && options.minimize !== false) result.smallestFailingHistory = minimize(history, options);
  return result;
}

function search(history: HistoryOp[], options: LinearizabilityOptions): LinearizabilityResult {
  const ops = [...history].sort((a, b) => a.call - b.call);
  const byId = new Map(ops.map((o) => [o.id, o]));
  const maxStates = options.maxStates ?? 200_000;
  const seen = new Set<string>();
  // Operations a dead client left in flight may be left out of a linearization.
  const optional = new Set(
    ops.filter((o) => o.optional === true && o.return === null && o.invocation === undefined).map((o) => o.id),
  );
  const required = ops.length - optional.size;
  const requiredLeft = (b: Branch) => {
    let n = b.linearized.size;
    for (const id of optional) if (b.linearized.has(id)) n--;
    return required - n;
  };
  let explored = 0;
  let deepest: { linearized: number[]; reason: string } = { linearized: [], reason: 'no operation could go first' };
  let gaveUp = false;

  const note = (b: Branch, reason: string) => {
    if (b.order.length >= deepest.linearized.length) deepest = { linearized: [...b.order], reason };
  };

  function dfs(b: Branch): Branch | null {
    if (gaveUp) return null;
    if (requiredLeft(b) === 0) {
      const missing = ops.find((o) => o.completed !== undefined && !b.done.has(o.id));
      if (!missing) return b;
      // An operation of a dead client, linearized too, may be what completes it.
      if (b.linearized.size === ops.length) {
        note(b, `#${missing.id} ${formatOp(missing.op)} was observed to complete, but the model never completes it`);
        return null;
      }
    }
    const key = signature(b);
    if (seen.has(key)) return null;
    seen.add(key);
    if (++explored > maxStates) {
      gaveUp = true;
      return null;
    }
    const h = horizon(ops, b);
    const candidates: HistoryOp[] = [];
    for (const o of ops) {
      if (b.linearized.has(o.id)) continue;
      if (o.call > h) break; // ops are sorted by call: none later can go first
      candidates.push(o);
    }
    for (const o of candidates) {
      const next = tryStep(b, o, byId, note);
      if (!next) continue;
      const found = dfs(next);
      if (found) return found;
    }
    return null;
  }

  const start: Branch = {
    state: initialState(options.limits),
    renaming: new Renaming(),
    linearized: new Set(),
    open: new Map(),
    done: new Set(),
    order: [],
  };
  const found = dfs(start);
  if (found) return { ok: true, witness: found.order, finalState: found.state, explored };
  return { ok: gaveUp ? null : false, deepest, explored };
}

/** Greedy minimization: drop operations one at a time while the rest stays non-linearizable. */
function minimize(history: HistoryOp[], options: LinearizabilityOptions): HistoryOp[] {
  let current = [...history];
  let budget = 150;
  for (let i = current.length - 1; i >= 0 && budget > 0; i--) {
    // Without the frame of the run (its peers, their nodes, their closes) an operation fails for want
    // of a name, or a pending call never completes: a history that still fails, but says nothing.
    if (['attach', 'createNode', 'close'].includes(current[i].op.op)) continue;
    const candidate = current.filter((_, k) => k !== i);
    budget--;
    if (search(candidate, { ...options, maxStates: 20_000 }).ok === false) current = candidate;
  }
  return current;
}

/** A history as lines: `#3 client 1 [5..9] p2.send(h1, "x") -> ok`. */
export function formatHistory(history: HistoryOp[]): string[] {
  return [...history]
    .sort((a, b) => a.call - b.call)
    .map((o) => {
      const span = `[${o.call}..${o.return ?? '?'}${o.completed !== undefined ? `, completed ${o.completed}` : ''}]`;
      const res = o.invocation === undefined ? '?' : formatInvocation(o.invocation);
      return `#${o.id} client ${o.client} ${span} ${formatOp(o.op)} -> ${res}${o.outcome ? ` => ${formatInvocation(o.outcome)}` : ''}`;
    });
}

// ------------------------------------------------------------------ recording

/**
 * Wraps a Driver and records every invocation, response and completion with
 * event order numbers: the recorder of a concurrent run.
 */
export class HistoryRecorder {
  private counter = 0;
  private nextId = 1;
  readonly ops: HistoryOp[] = [];
  private readonly byTicket = new Map<number, HistoryOp>();
  /** Completions for tickets never seen, and duplicate completions (INV-6). */
  readonly anomalies: string[] = [];
  private readonly clock: () => number;

  /**
   * `clock` stamps events (default: event order numbers on this thread). A
   * driver whose clients run in other threads passes its shared clock, so the
   * operations it records there (adopt) and the ones invoked here compare.
   */
  constructor(
    readonly driver: Driver,
    clock?: () => number,
  ) {
    this.clock = clock ?? (() => ++this.counter);
    driver.onCompletion((c) => this.complete(c));
  }

  private complete(c: Completion): void {
    const o = this.byTicket.get(c.ticket);
    if (!o) {
      this.anomalies.push(`a completion for ticket ${c.ticket}, which no operation holds`);
      return;
    }
    if (o.outcome !== undefined) {
      this.anomalies.push(`a second completion for ticket ${c.ticket} (${formatOp(o.op)})`);
      return;
    }
    o.completed = this.clock();
    o.outcome = c.result;
  }

  private track(o: HistoryOp, r: Invocation): void {
    if ('pending' in r) {
      if (this.byTicket.has(r.ticket)) this.anomalies.push(`ticket ${r.ticket} returned twice`);
      this.byTicket.set(r.ticket, o);
    }
  }

  async invoke(client: number, op: Operation): Promise<Invocation> {
    const o: HistoryOp = { id: this.nextId++, client, op, call: this.clock(), return: null };
    this.ops.push(o);
    const r = await this.driver.invoke(op);
    o.return = this.clock();
    o.invocation = r;
    this.track(o, r);
    return r;
  }

  /** Record an operation a client ran elsewhere, stamped on this recorder's clock. */
  adopt(r: StampedOp): HistoryOp {
    const o: HistoryOp = {
      id: this.nextId++,
      client: r.client,
      op: r.op,
      call: r.call,
      return: r.return,
      invocation: r.invocation,
    };
    if (r.completed !== undefined && r.outcome !== undefined && !('pending' in r.outcome)) {
      o.completed = r.completed;
      o.outcome = r.outcome;
    }
    this.ops.push(o);
    this.track(o, r.invocation);
    return o;
  }

  /** Pending operations that never completed. */
  unresolved(): HistoryOp[] {
    return this.ops.filter((o) => o.invocation && 'pending' in o.invocation && o.outcome === undefined);
  }

  history(): HistoryOp[] {
    return this.ops.map((o) => ({ ...o }));
  }
}

/** The invariants of the spec on the final model state after every peer closed (INV-5, INV-6). */
export function finalStateProblems(state: BusState): string[] {
  const problems: string[] = [];
  if (Object.keys(state.handles).length) problems.push(`${Object.keys(state.handles).length} handle(s) remain (INV-5)`);
  if (Object.keys(state.calls).length)
    problems.push(`${Object.keys(state.calls).length} call record(s) remain (INV-6)`);
  if (state.pending.length) problems.push(`${state.pending.length} pending operation(s) remain (INV-6)`);
  for (const p of Object.values(state.peers))
    if (p.queue.length || p.inflight)
      problems.push(`peer ${p.id} keeps ${p.queue.length} queued and ${p.inflight} in flight (INV-5)`);
  if (Object.keys(state.nodes).length) problems.push(`${Object.keys(state.nodes).length} node(s) remain (INV-5)`);
  return problems;
}
