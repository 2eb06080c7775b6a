// Diagnosis: when the implementation's result differs from the model's, say
// what differs in protocol terms first (the order of deliveries, a missing or
// an extra delivery or completion, a wrong value, a wrong error, a result where
// the model waits) and only then what the names say, and cite the clauses that
// decide the differing value: the model's rule that decides an error (each rule
// names its clause, model/rules.ts), the registries of notices, errors and
// operations, and the fields of deliveries.
import type { Completion, Delivery, ErrorCode, Invocation, Limits, Operation, OperationName } from '../spec/types';
import { ERRORS } from '../spec/registry/errors';
import { NOTICES } from '../spec/registry/notices';
import { OPERATIONS } from '../spec/registry/operations';
import { LIMITS } from '../spec/registry/limits';
import { loadClauses } from '../spec/clauses';
import type { BusState, QueueEntry } from '../model/state';
import { destOf, lookup, roomError, rulesOf, tableUse, transfersOf, type Rule } from '../model/rules';
import { queueLoad } from '../model/state';
import { Renaming, mapNames } from './names';
import { formatDelivery, formatInvocation } from './format';

/** What differs, in protocol terms. */
export type DifferenceKind = 'order' | 'missing' | 'extra' | 'value' | 'error' | 'outcome' | 'names' | 'completion';

export interface Difference {
  kind: DifferenceKind;
  /** One sentence, in protocol terms. */
  summary: string;
  /** Lines that show it (the two sides, the place, the numbers involved). */
  details: string[];
  /** The clauses that decide the differing value, most specific first. */
  clauses: string[];
}

/** The numbers a limit decision read, taken before the step (the step changes the state in place). */
export interface StepContext {
  lines: string[];
  /** The clauses of the limit that decides the step, when one does (QUOTA-1, QUOTA-4, SEND-8). */
  clauses?: string[];
}

const uniq = (xs: string[]) => [...new Set(xs)];

// ------------------------------------------------------------------ clauses of fields and deliveries

/** The clauses that decide a field of a value or delivery, by the field's name. */
const FIELD_CLAUSES: Record<string, string[]> = {
  kind: ['DELIVER-1'],
  node: ['NODE-3', 'DELIVER-1'],
  badge: ['MINT-3', 'HANDLE-4'],
  credentials: ['CRED-1', 'INV-10'],
  payload: ['SEND-2', 'DELIVER-1'],
  handles: ['SEND-4', 'RECV-3'],
  rights: ['SEND-4', 'MINT-2', 'INV-2'],
  state: ['HANDLE-6', 'RECV-3'],
  replyHandle: ['CALL-1'],
  type: ['NOTICE-1'],
  derivedCount: ['NOTICE-3'],
  handle: ['NOTICE-1'],
  same: ['NODE-6'],
  skipped: ['MCAST-3'],
  peer: ['BUS-2', 'PEER-1'],
  nowMs: ['TIME-1'],
  reply: ['CALL-3', 'CALL-6'],
  deliveries: ['RECV-1'],
};

function deliveryClauses(d: Delivery): string[] {
  if (d?.kind === 'notice') return NOTICES.find((n) => n.type === (d.notice as { type?: string })?.type)?.clauses ?? [];
  if (d?.kind === 'call') return ['CALL-1', 'DELIVER-1'];
  if (d?.kind === 'reply') return ['CALL-3', 'CALL-6'];
  return ['SEND-1', 'DELIVER-1'];
}

function kindOf(d: Delivery): string {
  if (d?.kind === 'notice') return `${(d.notice as { type?: string })?.type} notice`;
  return String(d?.kind);
}

/** The registry title of each clause id: "NOTICE-5 Order of notices within a step". */
export function clauseTitle(id: string): string {
  return loadClauses().find((c) => c.id === id)?.title ?? '';
}

// ------------------------------------------------------------------ values up to renaming

/** An implementation name the renaming does not know yet. */
class UnknownImpl {
  constructor(readonly name: number) {}
  toJSON() {
    return `impl:${this.name}`;
  }
  toString() {
    return `impl:${this.name}`;
  }
}
/** A model name not bound to any implementation name yet. */
class UnboundModel {
  constructor(readonly name: number) {}
  toJSON() {
    return this.name;
  }
  toString() {
    return String(this.name);
  }
}

/** The implementation's value in model names where the renaming knows them. */
function translateImpl(opName: OperationName | 'completion', peer: number, value: unknown, r: Renaming): unknown {
  const handles = r.handlesOf(peer);
  return mapNames(opName, value, (kind, x) => {
    if (x === null) return null;
    const m = kind === 'peer' ? r.peers.toModel(x) : handles.toModel(x);
    return m ?? new UnknownImpl(x);
  });
}

function markModel(opName: OperationName | 'completion', peer: number, value: unknown, r: Renaming): unknown {
  const handles = r.handlesOf(peer);
  return mapNames(opName, value, (kind, x) => {
    if (x === null) return null;
    const bound = kind === 'peer' ? r.peers.toImpl(x) : handles.toImpl(x);
    return bound === undefined ? new UnboundModel(x) : x;
  });
}

/** The first path where a model value and a translated implementation value differ, or null. */
function firstDifference(m: unknown, i: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (m instanceof UnboundModel) return i instanceof UnknownImpl || i === m.name ? null : path;
  if (i instanceof UnknownImpl) return m instanceof UnboundModel ? null : path;
  if (m === i) return null;
  if (typeof m !== typeof i || m === null || i === null || typeof m !== 'object') return path;
  if (Array.isArray(m) !== Array.isArray(i)) return path;
  if (Array.isArray(m)) {
    const ia = i as unknown[];
    for (let k = 0; k < Math.min(m.length, ia.length); k++) {
      const d = firstDifference(m[k], ia[k], [...path, k]);
      if (d) return d;
    }
    return m.length === ia.length ? null : [...path, 'length'];
  }
  const keys = new Set([...Object.keys(m as object), ...Object.keys(i as object)]);
  for (const k of keys) {
    const a = (m as Record<string, unknown>)[k];
    const b = (i as Record<string, unknown>)[k];
    if (a === undefined && b === undefined) continue;
    const d = firstDifference(a, b, [...path, k]);
    if (d) return d;
  }
  return null;
}

function at(v: unknown, path: (string | number)[]): unknown {
  let x = v as any;
  for (const p of path) x = x === undefined || x === null ? undefined : p === 'length' ? x.length : x[p];
  return x;
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

/** The clauses of the field a path ends in (its last named segment). */
function pathClauses(path: (string | number)[], m: unknown, i: unknown): string[] {
  const named = path.filter((p) => typeof p === 'string' && p !== 'length') as string[];
  const field = named[named.length - 1];
  const out = [...(FIELD_CLAUSES[field] ?? [])];
  if (field === 'state') {
    if (m === 'revoked' || i === 'revoked') out.unshift('REVOKE-1');
    if (m === 'dead' || i === 'dead') out.unshift('DESTROY-2');
  }
  return out;
}

// ------------------------------------------------------------------ deliveries

function compatible(m: unknown, i: unknown): boolean {
  return firstDifference(m, i) === null;
}

/** A queued entry as the parts of its delivery that do not depend on the receive (handles are named then). */
export function queuedDelivery(e: QueueEntry): Partial<Delivery> {
  if (e.kind === 'notice') return { kind: 'notice', notice: e.notice! };
  return { kind: e.kind, node: e.ownerName, badge: e.badge, payload: e.payload } as Partial<Delivery>;
}

/** Where a delivery of the driver stands among the entries the model still holds back, or -1. */
function positionLater(d: unknown, later: Partial<Delivery>[]): number {
  return later.findIndex((q) => Object.keys(q).every((k) => compatible((q as any)[k], (d as any)?.[k])));
}

function orderClauses(m: Delivery, i: Delivery): string[] {
  const clauses = ['ORDER-2'];
  const sameNotice = m.kind === 'notice' && i.kind === 'notice' && m.notice.type === i.notice.type;
  if (sameNotice && m.notice.type !== 'no-senders') clauses.unshift('NOTICE-5');
  else if ((m.kind === 'notice') !== (i.kind === 'notice')) clauses.push('ORDER-4', 'NOTICE-5');
  else if (m.kind !== 'notice') clauses.push('ORDER-1');
  return clauses;
}

/** The deliveries of the two sides compared as lists: order, missing, extra, or a value that differs. */
function compareDeliveries(
  model: Delivery[],
  impl: unknown[],
  shownImpl: Delivery[],
  where: string,
  later: Partial<Delivery>[],
): Difference | null {
  const used = new Set<number>();
  const match: number[] = [];
  for (const m of model) {
    const j = impl.findIndex((x, k) => !used.has(k) && compatible(m, x));
    match.push(j);
    if (j >= 0) used.add(j);
  }
  const both = (label: string, list: Delivery[]) =>
    `${label} ${list.length === 0 ? '(none)' : list.map((d, k) => `${k + 1}. ${formatDelivery(d)}`).join(' | ')}`;
  const lists = [both('model: ', model), both('driver:', shownImpl)];
  const missing = model.filter((_, k) => match[k] < 0);
  const extra = impl.map((_, k) => k).filter((k) => !used.has(k));
  if (missing.length === 0 && extra.length === 0) {
    const k = match.findIndex((j, pos) => j !== pos);
    if (k < 0) return null;
    const m = model[k];
    const i = shownImpl[k];
    const clauses = orderClauses(m, i);
    return {
      kind: 'order',
      summary: `the order of deliveries differs: the driver delivered the same ${model.length} deliveries${where} in another order`,
      details: [
        ...lists,
        `first out of place: position ${k + 1}, where the model delivers ${formatDelivery(m)} (enqueued before ${formatDelivery(i)})`,
      ],
      clauses,
    };
  }
  // A delivery the model still holds back in the queue: the driver took it out of turn.
  const early = extra.map((k) => ({ k, q: positionLater(impl[k], later) })).find((x) => x.q >= 0);
  if (early) {
    const i = shownImpl[early.k];
    const m = model[early.k] ?? (later[0] as Delivery);
    return {
      kind: 'order',
      summary: `the order of deliveries differs: the driver delivered ${formatDelivery(i)}${where} out of turn, before ${early.q + (model.length - early.k)} entr${early.q + (model.length - early.k) === 1 ? 'y' : 'ies'} the model delivers first`,
      details: [
        ...lists,
        `the model delivers it later: it is entry ${early.q + 1} of the ${later.length} still queued after this step`,
      ],
      clauses: m ? orderClauses(m, i) : ['ORDER-2'],
    };
  }
  if (missing.length > 0 && extra.length === 0) {
    const d = missing[0];
    return {
      kind: 'missing',
      summary: `a missing ${kindOf(d)}${where}: the model delivers ${formatDelivery(d)}, the driver does not`,
      details: lists,
      clauses: uniq([...deliveryClauses(d), ...(d.kind === 'notice' ? ['NOTICE-4'] : ['INV-4'])]),
    };
  }
  if (extra.length > 0 && missing.length === 0) {
    const d = shownImpl[extra[0]];
    const noSenders = d?.kind === 'notice' && d.notice?.type === 'no-senders';
    return {
      kind: 'extra',
      summary: `an extra ${kindOf(d)}${where}: the driver delivers ${formatDelivery(d)}, the model does not`,
      details: lists,
      clauses: uniq(noSenders ? ['NOTICE-2', 'NOTICE-6'] : [...deliveryClauses(d), 'INV-4']),
    };
  }
  // As many on each side, or not, but some differ: the first pair that differs, position by position.
  const k = model.findIndex((m, pos) => pos >= impl.length || !compatible(m, impl[pos]));
  const pos = k < 0 ? model.length : k;
  const path = firstDifference(model[pos], impl[pos]) ?? [];
  const mv = at(model[pos], path);
  const iv = at(shownImpl[pos], path);
  const field = path.length ? `.${path.join('.')}` : '';
  return {
    kind: 'value',
    summary:
      model.length === impl.length
        ? `a wrong value in delivery ${pos + 1}${where}: ${field ? `${field.slice(1)} is ${show(iv)}, the model's ${show(mv)}` : `${formatDelivery(shownImpl[pos])} instead of ${formatDelivery(model[pos])}`}`
        : `different deliveries${where}: the model delivers ${model.length}, the driver ${impl.length}; the first that differs is ${pos + 1}`,
    details: lists,
    clauses: uniq([
      ...(model[pos] && impl[pos] ? pathClauses(path, mv, iv) : []),
      ...(model[pos] ? deliveryClauses(model[pos]) : []),
    ]),
  };
}

// ------------------------------------------------------------------ one invocation

export interface InvocationFacts {
  /** The operation name (or 'completion' for a completion's result). */
  opName: OperationName | 'completion';
  /** The operation, in model names (for the rules and the registry). */
  op: Operation;
  /** The model peer whose namespace the names are in. */
  peer: number;
  model: Invocation;
  impl: Invocation;
  /** The renaming as it was before the comparison. */
  renaming: Renaming;
  /** The model's first failing rule before the step, if any. */
  failure: { rule: Rule; code: string } | null;
  /** The reason the renaming gave, if names were what failed to unify. */
  nameReason: string | null;
  context?: StepContext | null;
  /** For a receive: the entries the model still holds in the queue after the step, in order. */
  later?: Partial<Delivery>[];
  /** "in completion #3" etc.: where in the step. */
  where?: string;
}

function errorClauses(op: Operation, code: string): string[] {
  const byCode = ERRORS.find((e) => e.code === code)?.clauses ?? [];
  const ofOp = new Set([
    ...(rulesOf(op) ?? []).map((r) => r.clause),
    ...(OPERATIONS.find((o) => o.name === (op as { op?: string }).op)?.clauses ?? []),
  ]);
  const both = byCode.filter((c) => ofOp.has(c));
  return both.length ? both : byCode;
}

/** The rules of the operation that could fail with `code` (their clauses cite it), for the driver's error. */
function rulesFor(op: Operation, code: string): Rule[] {
  const byCode = new Set(ERRORS.find((e) => e.code === code)?.clauses ?? []);
  return (rulesOf(op) ?? []).filter((r) => byCode.has(r.clause));
}

const PENDING_CLAUSES: Record<string, string[]> = {
  send: ['SEND-7', 'TIME-2'],
  receive: ['RECV-2', 'TIME-2'],
  call: ['CALL-2', 'TIME-2'],
};

/** Why a model and an implementation invocation differ, in protocol terms. */
export function diagnoseInvocation(f: InvocationFacts): Difference {
  const where = f.where ?? '';
  const ctx = f.context?.lines ?? [];
  const m = f.model;
  const i = f.impl;
  // A pending invocation is a success that completes later: against an error, it is a wrong error.
  const failedI = !('pending' in i) && !i.ok;
  const failedM = !('pending' in m) && !m.ok;
  if ('pending' in m !== 'pending' in i && !failedI && !failedM) {
    const name = f.opName === 'completion' ? (f.op as { op?: string }).op : f.opName;
    return {
      kind: 'outcome',
      summary:
        'pending' in i
          ? `the driver made ${name} wait (pending)${where} where the model answers at once: ${formatInvocation(m)}`
          : `the driver answered ${formatInvocation(i)}${where} where the model makes ${name} wait (pending)`,
      details: ctx,
      clauses: PENDING_CLAUSES[name ?? ''] ?? ['TIME-2'],
    };
  }
  if ('pending' in m && 'pending' in i) {
    return {
      kind: 'names',
      summary: `tickets${where}: ${f.nameReason ?? 'the tickets do not correspond'}`,
      details: ["tickets are the implementation's own, but one ticket must stay one operation (TIME-2)"],
      clauses: ['TIME-2', 'BOUND-3'],
    };
  }
  if (!failedM && failedI) {
    const rules = rulesFor(f.op, i.error);
    return {
      kind: 'error',
      summary: `the driver failed ${i.error}${where} where the model ${'pending' in m ? 'accepts it (pending)' : 'succeeds'}`,
      details: [
        ...(rules.length
          ? [
              `the model's checks that give ${i.error} all pass: ${rules.map((r) => `${r.clause} ${r.says}`).join('; ')}`,
            ]
          : []),
        ...ctx,
      ],
      clauses: uniq(rules.length ? rules.map((r) => r.clause) : errorClauses(f.op, i.error)),
    };
  }
  if (failedM && !failedI) {
    const rule = f.failure?.rule;
    return {
      kind: 'error',
      summary: `the driver ${'pending' in i ? 'accepted it (pending)' : 'succeeded'}${where} where the model fails ${m.error}${rule ? `: ${rule.clause} says ${rule.says}` : ''}`,
      details: ctx,
      clauses: uniq([...(f.context?.clauses ?? []), ...(rule ? [rule.clause] : []), ...errorClauses(f.op, m.error)]),
    };
  }
  if (failedM && failedI) {
    const rule = f.failure?.rule;
    const later = (rulesOf(f.op) ?? []).some(
      (r, k, all) => rule && k > all.indexOf(rule) && rulesFor(f.op, i.error).includes(r),
    );
    return {
      kind: 'error',
      summary: `the driver failed ${i.error}${where}, the model ${m.error}${rule ? `: the first check that fails is ${rule.clause}, ${rule.says}` : ''}`,
      details: [
        ...(later ? [`${i.error} comes from a later check: the checks are made in a fixed order (ERR-1)`] : []),
        ...ctx,
      ],
      clauses: uniq([...(rule ? [rule.clause] : []), ...(later ? ['ERR-1'] : []), ...errorClauses(f.op, m.error)]),
    };
  }
  return diagnoseValues(f, where, ctx);
}

/** Both sides succeeded: compare the values with the names the renaming knows. */
function diagnoseValues(f: InvocationFacts, where: string, ctx: string[]): Difference {
  const m = f.model;
  const i = f.impl;
  const modelValue = (m as { value: unknown }).value;
  const mv = markModel(f.opName, f.peer, modelValue, f.renaming);
  const iv = translateImpl(f.opName, f.peer, (i as { value: unknown }).value, f.renaming);
  const shown = JSON.parse(JSON.stringify(iv)) as Record<string, unknown>;
  const md = (modelValue as { deliveries?: Delivery[] }).deliveries;
  const id = (iv as { deliveries?: unknown }).deliveries;
  if (Array.isArray(md) && Array.isArray(id)) {
    const d = compareDeliveries(
      (mv as { deliveries: Delivery[] }).deliveries,
      id,
      (shown as { deliveries: Delivery[] }).deliveries,
      where,
      f.later ?? [],
    );
    if (d) return { ...d, details: [...d.details, ...ctx] };
  }
  const path = firstDifference(mv, iv);
  if (path) {
    const a = at(JSON.parse(JSON.stringify(mv)), path);
    const b = at(shown, path);
    return {
      kind: 'value',
      summary: `a wrong value${where}: ${path.length ? path.join('.') : 'the value'} is ${show(b)}, the model's ${show(a)}`,
      details: ctx,
      clauses: uniq([
        ...pathClauses(path, a, b),
        ...(OPERATIONS.find((o) => o.name === f.opName)?.clauses.slice(0, 2) ?? []),
      ]),
    };
  }
  return {
    kind: 'names',
    summary: `names${where}: ${f.nameReason ?? 'the names do not correspond'}`,
    details: ['the values agree up to names, but the names do not correspond one to one across the run', ...ctx],
    clauses: /peer id/.test(f.nameReason ?? '') ? ['PEER-1'] : ['HANDLE-2', 'INV-8'],
  };
}

// ------------------------------------------------------------------ completions

const COMPLETION_CLAUSES: Record<string, string[]> = {
  call: ['CALL-2', 'INV-6', 'TIME-2'],
  send: ['SEND-7', 'TIME-2'],
  receive: ['RECV-2', 'TIME-2'],
};

export function missingCompletion(mc: Completion): Difference {
  return {
    kind: 'missing',
    summary: `a missing completion: the model completes ${mc.op} #${mc.ticket} of p${mc.peer} at this step (${formatInvocation(mc.result)}), the driver does not`,
    details: [],
    clauses: COMPLETION_CLAUSES[mc.op] ?? ['TIME-2'],
  };
}

export function extraCompletion(ticket: number, c: Completion): Difference {
  return {
    kind: 'extra',
    summary: `an extra completion: the driver completes ${c.op} #${ticket} now (${formatInvocation(c.result)}), the model does not (yet)`,
    details: [],
    clauses: COMPLETION_CLAUSES[c.op] ?? ['TIME-2'],
  };
}

export function unknownTicket(c: Completion): Difference {
  return {
    kind: 'completion',
    summary: `the driver completed ticket ${c.ticket}, which it never returned as pending`,
    details: [],
    clauses: ['TIME-2', 'INV-6'],
  };
}

export function completionOpDiffers(ticket: number, model: string, impl: string): Difference {
  return {
    kind: 'value',
    summary: `a wrong value: ticket #${ticket} completed as ${impl}, the model's is ${model}`,
    details: [],
    clauses: ['TIME-2'],
  };
}

// ------------------------------------------------------------------ the numbers a limit decision reads

const limitLine = (l: Limits, names: (keyof Limits)[]) => names.map((n) => `${n} ${l[n]}`).join(', ');

/** The state a limit decision of this operation reads, before the step; null when none applies. */
export function stepContext(s: BusState, op: Operation): StepContext | null {
  const o = op as { op?: string; peer?: number; handle?: number; handles?: unknown };
  const p = typeof o.peer === 'number' ? s.peers[o.peer] : undefined;
  const l = s.limits;
  const lines: string[] = [];
  const clauses: string[] = [];
  if ((o.op === 'send' || o.op === 'call') && p) {
    const h = lookup(s, p.id, o.handle as number);
    if (h?.kind === 'node' && s.nodes[h.node]) {
      const dest = destOf(s, h);
      const load = queueLoad(dest.queue);
      const mine = load.bySender.get(p.id) ?? { messages: 0, bytes: 0, handles: 0 };
      const room = o.op === 'call' || o.op === 'send' ? roomErrorOf(s, op) : null;
      if (room) {
        const handles = transfersOf((op as unknown as { message: never }).message).length + (o.op === 'call' ? 1 : 0);
        const byHandles = room === 'quota' && mine.handles + handles > l.senderQuotaHandles;
        clauses.push(room === 'order' ? 'SEND-8' : byHandles ? 'QUOTA-4' : 'QUOTA-1');
        lines.push(
          room === 'order'
            ? `p${p.id} has a blocked send waiting for p${dest.id}'s queue: a later one may not overtake it`
            : room === 'capacity'
              ? `p${dest.id}'s queue is at its capacity`
              : `p${p.id} is at its sender quota in p${dest.id}'s queue${byHandles ? ' (handles in flight)' : ''}`,
        );
      }
      lines.push(
        `before the step, p${p.id} held ${mine.messages} message(s), ${mine.bytes} byte(s) and ${mine.handles} handle(s) in p${dest.id}'s queue (${limitLine(l, ['senderQuotaMessages', 'senderQuotaBytes', 'senderQuotaHandles'])}), ` +
          `and the queue ${load.messages} message(s), ${load.bytes} byte(s) (${limitLine(l, ['queueCapacityMessages', 'queueCapacityBytes'])})`,
      );
    }
  }
  if (p && (o.op === 'createNode' || o.op === 'mint' || o.op === 'call'))
    lines.push(
      `before the step, p${p.id} owned ${p.nodes} live node(s) (maxNodesPerPeer ${l.maxNodesPerPeer}), used ${tableUse(p)} table slot(s) (maxHandlesPerPeer ${l.maxHandlesPerPeer}) and had ${p.pending} pending operation(s) (maxPendingPerPeer ${l.maxPendingPerPeer})`,
    );
  if (o.op === 'attach')
    lines.push(
      `before the step, ${Object.values(s.peers).filter((x) => x.status === 'open').length} peer(s) were open (maxPeers ${l.maxPeers})`,
    );
  return lines.length ? { lines, ...(clauses.length ? { clauses } : {}) } : null;
}

/** Which room a send or call lacks (model/rules.ts roomError), for a well-formed one only. */
function roomErrorOf(s: BusState, op: Operation): 'capacity' | 'quota' | 'order' | null {
  const m = (op as { message?: { segments?: unknown } }).message;
  if (!m || !Array.isArray(m.segments)) return null;
  try {
    return roomError(s, op as never, op.op === 'call' ? 1 : 0);
  } catch {
    return null;
  }
}

/** The limits of a run as one line, those that differ from the defaults marked. */
export function formatLimits(l: Limits): string {
  return LIMITS.map((e) => `${e.name} ${l[e.name]}`).join(', ');
}

/** "[NOTICE-5, ORDER-2]" */
export function citeClauses(ids: string[]): string {
  return ids.length ? ` [${ids.join(', ')}]` : '';
}

/** The difference as the lines a person reads: the summary with its clauses, then the details. */
export function formatDifference(d: Difference): string[] {
  return [`${d.summary}${citeClauses(d.clauses)}`, ...d.details.map((l) => `  ${l}`)];
}

export type { ErrorCode };
