// Name translation between the model and an implementation (HANDLE-2, PEER-1,
// TIME-2): implementations may number handles, peers and tickets any way that
// never reuses a name, so the suite keeps one bijection per namespace, learned
// from results and deliveries, and compares values "up to renaming".
import type { Completion, Delivery, Invocation, Operation, OperationName, ReceivedHandle } from '../spec/types';

/** A partial bijection between model names and implementation names. */
export class Bijection {
  readonly modelToImpl = new Map<number, number>();
  readonly implToModel = new Map<number, number>();

  /** Bind m <-> i, or explain why they cannot be bound (a renaming that is not a bijection). */
  unify(m: number, i: number, what: string): string | null {
    const boundI = this.modelToImpl.get(m);
    const boundM = this.implToModel.get(i);
    if (boundI === undefined && boundM === undefined) {
      this.modelToImpl.set(m, i);
      this.implToModel.set(i, m);
      return null;
    }
    if (boundI === i) return null;
    if (boundM !== undefined && boundM !== m) {
      return `the implementation's ${what} ${i} already stood for the model's ${what} ${boundM}, now it stands for ${m} (a name reused?)`;
    }
    return `the model's ${what} ${m} is the implementation's ${boundI}, but the implementation said ${i}`;
  }

  toImpl(m: number): number | undefined {
    return this.modelToImpl.get(m);
  }

  toModel(i: number): number | undefined {
    return this.implToModel.get(i);
  }

  maxImpl(): number {
    let max = 0;
    for (const i of this.implToModel.keys()) if (i > max) max = i;
    return max;
  }

  maxModel(): number {
    let max = 0;
    for (const m of this.modelToImpl.keys()) if (m > max) max = m;
    return max;
  }

  clone(): Bijection {
    const b = new Bijection();
    for (const [m, i] of this.modelToImpl) {
      b.modelToImpl.set(m, i);
      b.implToModel.set(i, m);
    }
    return b;
  }
}

/** Model names at or above this are "foreign" placeholders, resolved through a per-step table. */
export const FOREIGN_BASE = 2 ** 50;

const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** All the renamings of one run: peers, tickets, and one handle bijection per peer (by model peer id). */
export class Renaming {
  peers = new Bijection();
  tickets = new Bijection();
  handles = new Map<number, Bijection>();
  /** Foreign placeholders of the current step: model placeholder -> implementation name. */
  foreign = new Map<number, number>();

  handlesOf(modelPeer: number): Bijection {
    let b = this.handles.get(modelPeer);
    if (!b) {
      b = new Bijection();
      this.handles.set(modelPeer, b);
    }
    return b;
  }

  /**
   * The implementation name for a model name of a peer. A model name never
   * issued maps to a name the implementation never issued either, at the same
   * distance beyond the last one issued (so "next name" off-by-ones are tested).
   */
  handleToImpl(modelPeer: number, m: unknown): unknown {
    if (!isName(m)) return m;
    if (m >= FOREIGN_BASE && this.foreign.has(m)) return this.foreign.get(m);
    const b = this.handlesOf(modelPeer);
    const i = b.toImpl(m);
    if (i !== undefined) return i;
    if (m >= 2 ** 40) return m;
    let forged = b.maxImpl() + Math.max(1, m - b.maxModel());
    // Two different names in the model must stay two different names: keep clear of foreign ones.
    const foreign = new Set(this.foreign.values());
    while (foreign.has(forged)) forged += 1_000_003;
    return forged;
  }

  /** A model ticket (cancel, CANCEL-1) as the implementation's: one it never issued stays one it never issued. */
  ticketToImpl(m: unknown): unknown {
    if (!isName(m)) return m;
    const i = this.tickets.toImpl(m);
    if (i !== undefined) return i;
    if (m >= 2 ** 40) return m;
    return this.tickets.maxImpl() + Math.max(1, m - this.tickets.maxModel());
  }

  peerToImpl(m: unknown): unknown {
    if (!isName(m)) return m;
    const i = this.peers.toImpl(m);
    if (i !== undefined) return i;
    if (m >= 2 ** 40) return m;
    return this.peers.maxImpl() + Math.max(1, m - this.peers.maxModel());
  }

  clone(): Renaming {
    const r = new Renaming();
    r.peers = this.peers.clone();
    r.tickets = this.tickets.clone();
    for (const [p, b] of this.handles) r.handles.set(p, b.clone());
    return r;
  }
}

/** Translate a model operation into the implementation's names. Malformed fields pass through unchanged. */
export function operationToImpl(op: Operation, r: Renaming): Operation {
  const o = structuredClone(op) as any;
  const peer = o.peer;
  const h = (name: unknown) => r.handleToImpl(peer, name);
  if ('peer' in o) o.peer = r.peerToImpl(o.peer);
  if (o.op === 'attach' && Array.isArray(o.bootstrap)) {
    for (const g of o.bootstrap) {
      if (typeof g !== 'object' || g === null) continue;
      const from = g.fromPeer;
      g.fromPeer = r.peerToImpl(from);
      g.handle = r.handleToImpl(from, g.handle);
    }
  }
  if ('handle' in o && o.op !== 'attach') o.handle = h(o.handle);
  if (o.op === 'sameNode' && 'other' in o) o.other = h(o.other);
  if (o.op === 'cancel' && 'ticket' in o) o.ticket = r.ticketToImpl(o.ticket);
  if (o.op === 'multicast' && Array.isArray(o.handles)) o.handles = o.handles.map(h);
  if (o.message && typeof o.message === 'object' && Array.isArray(o.message.transfers)) {
    for (const t of o.message.transfers) if (t && typeof t === 'object') t.handle = h(t.handle);
  }
  return o as Operation;
}

// ------------------------------------------------------------------ values up to renaming

/** One name slot found in a value. */
export interface NameSlot {
  kind: 'handle' | 'peer';
  value: number | null;
}

const SLOT = '#name';

/**
 * Rewrite every name in a value (a result value of `opName`), in a fixed walk
 * order that does not depend on key order: the new peer of attach first, then
 * handle names as they appear.
 */
export function mapNames(
  opName: OperationName | 'completion',
  value: unknown,
  fn: (kind: NameSlot['kind'], x: number | null) => unknown,
): unknown {
  const v = structuredClone(value) as any;
  const slot = (kind: NameSlot['kind'], x: unknown): unknown => (x === null || isName(x) ? fn(kind, x) : x);
  const handles = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const rh of list as ReceivedHandle[])
      if (rh && typeof rh === 'object') rh.name = slot('handle', rh.name) as never;
  };
  const delivery = (d: Delivery) => {
    if (!d || typeof d !== 'object') return;
    // CRED-2: a credentials record names its peer by peer id.
    if ((d as { credentials?: { peerKey?: unknown } }).credentials?.peerKey !== undefined) {
      const c = (d as { credentials: { peerKey: unknown } }).credentials;
      c.peerKey = slot('peer', c.peerKey);
    }
    if (d.kind === 'message' || d.kind === 'call') {
      d.node = slot('handle', d.node) as never;
      handles(d.handles);
      if (d.kind === 'call') d.replyHandle = slot('handle', d.replyHandle) as never;
    } else if (d.kind === 'reply') {
      handles(d.handles);
    } else if (d.kind === 'notice' && d.notice && typeof d.notice === 'object') {
      const n = d.notice as any;
      if ('handle' in n) n.handle = slot('handle', n.handle);
      if ('node' in n) n.node = slot('handle', n.node);
    }
  };
  if (v && typeof v === 'object') {
    if (opName === 'attach') {
      if ('peer' in v) v.peer = slot('peer', v.peer);
      if (Array.isArray(v.handles)) v.handles = v.handles.map((n: unknown) => slot('handle', n));
    }
    if ((opName === 'createNode' || opName === 'mint') && 'handle' in v) v.handle = slot('handle', v.handle);
    if (opName === 'multicast' && Array.isArray(v.skipped))
      v.skipped = v.skipped.map((n: unknown) => slot('handle', n));
    if (opName === 'multicast' && Array.isArray(v.full)) v.full = v.full.map((n: unknown) => slot('handle', n));
    if (Array.isArray(v.deliveries)) v.deliveries.forEach(delivery);
    if (v.reply && typeof v.reply === 'object') delivery(v.reply);
  }
  return v;
}

/** A value's skeleton (names replaced by a placeholder) and its name slots in walk order. */
export function splitNames(
  opName: OperationName | 'completion',
  value: unknown,
): { skeleton: unknown; slots: NameSlot[] } {
  const slots: NameSlot[] = [];
  const skeleton = mapNames(opName, value, (kind, x) => {
    slots.push({ kind, value: x });
    return SLOT;
  });
  return { skeleton, slots };
}

/** Deep equality of JSON values, key order ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object).filter((k) => (a as any)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as any)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as any)[k], (b as any)[k]));
}

/**
 * Compare a model invocation with an implementation's, up to renaming, learning
 * new bindings. `peer` is the model peer whose namespace the names are in.
 * Returns null when equal, else a one-line reason.
 */
export function unifyInvocation(
  opName: OperationName | 'completion',
  peer: number,
  model: Invocation,
  impl: Invocation,
  r: Renaming,
  attachPeerFirst = true,
): string | null {
  if ('pending' in model || 'pending' in impl) {
    if (!('pending' in model)) return 'the implementation returned pending, the model a result';
    if (!('pending' in impl)) return 'the model returned pending, the implementation a result';
    return r.tickets.unify(model.ticket, impl.ticket, 'ticket');
  }
  if (model.ok !== impl.ok)
    return model.ok
      ? `the implementation failed ${(impl as any).error}, the model succeeded`
      : `the implementation succeeded, the model failed ${model.error}`;
  if (!model.ok)
    return model.error === (impl as any).error ? null : `error ${(impl as any).error} instead of ${model.error}`;
  const a = splitNames(opName, model.value);
  const b = splitNames(opName, (impl as any).value);
  if (!deepEqual(a.skeleton, b.skeleton)) return 'the values differ';
  if (a.slots.length !== b.slots.length) return 'the values name different numbers of handles';
  let ns = peer;
  if (opName === 'attach' && attachPeerFirst) {
    // The new peer's id comes first; its handles are in its own namespace.
    const [pm, pi] = [a.slots[0], b.slots[0]];
    const why = r.peers.unify(pm.value!, pi.value!, 'peer id');
    if (why) return why;
    ns = pm.value!;
  }
  for (let k = opName === 'attach' && attachPeerFirst ? 1 : 0; k < a.slots.length; k++) {
    const [sm, si] = [a.slots[k], b.slots[k]];
    if (sm.kind === 'peer') {
      // A peer named in a value (a credentials key, CRED-2) is the same peer in both namings.
      const why = sm.value === null || si.value === null ? null : r.peers.unify(sm.value, si.value, 'peer id');
      if (why) return why;
      continue;
    }
    if ((sm.value === null) !== (si.value === null)) return 'a handle name is null on one side only';
    if (sm.value === null) continue;
    const why = r.handlesOf(ns).unify(sm.value, si.value!, `handle name of peer ${ns}`);
    if (why) return why;
  }
  return null;
}

/** The implementation value renamed into model names where known (for readable diffs). */
export function renameToModel(
  opName: OperationName | 'completion',
  peer: number,
  value: unknown,
  r: Renaming,
): unknown {
  const b = r.handlesOf(peer);
  return mapNames(opName, value, (kind, x) => {
    if (x === null) return null;
    const m = kind === 'peer' ? r.peers.toModel(x) : b.toModel(x);
    return m ?? `impl:${x}`;
  });
}

export type { Completion };
