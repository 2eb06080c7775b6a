// Self-test by mutation: deliberately wrong implementations, each with one
// realistic bug, served through the same Driver as real backends (in-process,
// and over stdio by `tessera driver --impl mutant:<name>`). The project's tests
// assert the suite fails every one of them (test/conformance/mutants.test.ts).
//
// Each mutant is the model with one bug grafted on: it transforms the
// operation, or corrects the state after the step, the way the buggy
// implementation would behave. The state is plain JSON (model/state.ts).
import type { Completion, Invocation, Operation, Result, SendOp, Transfer } from '../../spec/types';
import { applyInPlace, firstFailure, type BusState } from '../../model';
import { lookup, messageBytes } from '../../model/rules';
import { createModelDriver, type StepFn } from '../model-driver';
import type { Driver } from '../../protocol/driver';
import { mapNames } from '../names';
import { V2_MUTANTS } from './v2';
import { CALL_MUTANTS } from './calls';

export interface Mutant {
  name: string;
  /** The bug, in one sentence. */
  bug: string;
  /** The clauses it breaks. */
  clauses: string[];
  createDriver(): Driver;
}

const transfersOf = (op: Operation): Transfer[] => {
  const m = (op as { message?: { transfers?: unknown } }).message;
  return m && Array.isArray(m.transfers) ? (m.transfers as Transfer[]) : [];
};

/** Notices enqueued during the step that started at sequence number `seq0`, removed where `drop` says. */
function dropNotices(state: BusState, seq0: number, drop: (notice: any, owner: number) => boolean): void {
  for (const p of Object.values(state.peers)) {
    p.queue = p.queue.filter((e) => !(e.seq >= seq0 && e.kind === 'notice' && drop(e.notice, p.id)));
  }
}

function nodeByOwnerName(state: BusState, owner: number, ownerName: number): number | undefined {
  return Object.values(state.nodes).find((n) => n.owner === owner && n.ownerName === ownerName)?.id;
}

function live(makeStep: () => StepFn, name: string): () => Driver {
  return () => createModelDriver(`mutant:${name}`, makeStep);
}

// ------------------------------------------------------------------ the mutants

/** The receiver gets the sender's rights, whatever the transfer asked for. */
const rightsAmplified: Mutant = {
  name: 'rights-amplified',
  bug: "a transferred handle keeps all the sender's rights: the attenuation asked for is ignored",
  clauses: ['SEND-4', 'INV-2'],
  createDriver: live(
    () => (state, op) => {
      const ts = transfersOf(op);
      if (ts.length === 0) return applyInPlace(state, op);
      const o = structuredClone(op) as any;
      for (const t of o.message.transfers) if (t && typeof t === 'object') delete t.rights;
      return applyInPlace(state, o);
    },
    'rights-amplified',
  ),
};

/** Handle names come from a slot allocator that hands out the lowest free number again. */
function nameReuseDriver(): Driver {
  const inner = createModelDriver('mutant:name-reuse');
  let peers = new Map<number, { m2i: Map<number, number>; i2m: Map<number, number>; ever: Map<number, number> }>();
  let state: BusState | null = null;
  let listener: (c: Completion) => void = () => {};
  const ns = (peer: number) => {
    let t = peers.get(peer);
    if (!t) {
      t = { m2i: new Map(), i2m: new Map(), ever: new Map() };
      peers.set(peer, t);
    }
    return t;
  };
  const toImpl = (peer: number, m: number): number => {
    const t = ns(peer);
    const cur = t.m2i.get(m);
    if (cur !== undefined) return cur;
    const inTable = state?.peers[peer]?.table[m] !== undefined;
    if (!inTable) return t.ever.get(m) ?? m + 1_000_000;
    let i = 1;
    while (t.i2m.has(i)) i++; // the bug: lowest free slot, no generation
    t.m2i.set(m, i);
    t.i2m.set(i, m);
    t.ever.set(m, i);
    return i;
  };
  const toModel = (peer: number, i: unknown): unknown => {
    if (typeof i !== 'number') return i;
    const m = ns(peer).i2m.get(i);
    return m ?? 2 ** 45 + i;
  };
  const freeReleased = () => {
    if (!state) return;
    for (const [peer, t] of peers) {
      const table = state.peers[peer]?.table ?? {};
      for (const [m, i] of [...t.m2i])
        if (table[m] === undefined) {
          t.m2i.delete(m);
          t.i2m.delete(i);
        }
    }
  };
  const outValue = (opName: any, peer: number, r: Invocation): Invocation => {
    if ('pending' in r || !r.ok) return r;
    let target = peer;
    const value = mapNames(opName, r.value, (kind, x) => {
      if (x === null) return null;
      if (kind === 'peer') {
        target = x;
        return x;
      }
      return toImpl(target, x);
    });
    return { ok: true, value: value as never };
  };
  return {
    async init() {
      return { ...(await inner.init()), name: 'mutant:name-reuse' };
    },
    async reset(limits) {
      peers = new Map();
      const l = await inner.reset(limits);
      return l;
    },
    async invoke(op) {
      const o = structuredClone(op) as any;
      const peer = o.peer;
      if (o.op === 'attach' && Array.isArray(o.bootstrap))
        for (const g of o.bootstrap) g.handle = toModel(g.fromPeer, g.handle);
      if ('handle' in o && o.op !== 'attach') o.handle = toModel(peer, o.handle);
      if (o.op === 'multicast' && Array.isArray(o.handles)) o.handles = o.handles.map((h: unknown) => toModel(peer, h));
      for (const t of transfersOf(o)) if (t && typeof t === 'object') t.handle = toModel(peer, t.handle) as number;
      const completions: Completion[] = [];
      inner.onCompletion((c) => completions.push(c));
      const r = await inner.invoke(o);
      state = inner.peek();
      freeReleased();
      const out = outValue(o.op, peer, r);
      for (const c of completions) listener({ ...c, result: outValue('completion', c.peer, c.result) as Result });
      return out;
    },
    onCompletion(l) {
      listener = l;
    },
    async close() {
      await inner.close();
    },
  };
}

const nameReuse: Mutant = {
  name: 'name-reuse',
  bug: 'a released handle name is handed out again (a slot allocator without generations)',
  clauses: ['HANDLE-2', 'RELEASE-1', 'INV-8'],
  createDriver: nameReuseDriver,
};

/** A send that fails late (no room) has already released the handles it moves. */
const failedSendConsumesMove: Mutant = {
  name: 'failed-send-consumes-move',
  bug: 'a send or call that fails QUEUE_FULL or TABLE_FULL still releases the handles it was moving',
  clauses: ['SEND-5', 'ATOMIC-1', 'INV-3'],
  createDriver: live(
    () => (state, op) => {
      const out = applyInPlace(state, op);
      const r = out.result;
      if (
        (op.op === 'send' || op.op === 'call') &&
        !('pending' in r) &&
        !r.ok &&
        (r.error === 'QUEUE_FULL' || r.error === 'TABLE_FULL')
      ) {
        for (const t of transfersOf(op)) {
          if (t.move !== true || !lookup(state, op.peer, t.handle)) continue;
          const rel = applyInPlace(state, { op: 'release', peer: op.peer, handle: t.handle });
          out.completions.push(...rel.completions);
        }
      }
      return out;
    },
    'failed-send-consumes-move',
  ),
};

/** Multicast copies are enqueued one by one, so another message can slip between them at one receiver. */
const multicastOrder: Mutant = {
  name: 'multicast-order',
  bug: 'multicast copies are not enqueued atomically: at the last receiver the copy lands before the message queued just ahead of it',
  clauses: ['MCAST-3', 'ORDER-3', 'INV-7'],
  createDriver: live(
    () => (state, op) => {
      const seq0 = state.nextSeq;
      const out = applyInPlace(state, op);
      if (op.op !== 'multicast' || 'pending' in out.result || !out.result.ok) return out;
      const dests = out.events
        .filter((e) => e.type === 'enqueue' && e.seq >= seq0 && e.kind === 'message')
        .map((e) => (e as { to: number }).to);
      if (new Set(dests).size < 2) return out;
      const q = state.peers[dests[dests.length - 1]].queue;
      const n = q.length;
      if (n >= 2 && q[n - 2].kind !== 'notice' && q[n - 2].seq < seq0) [q[n - 2], q[n - 1]] = [q[n - 1], q[n - 2]];
      return out;
    },
    'multicast-order',
  ),
};

/** Discarding a queue forgets the handles the discarded messages carried. */
const leakOnDiscard: Mutant = {
  name: 'leak-on-discard',
  bug: 'handles carried by messages discarded with a queue (destroyNode, close) are never released: senders stay counted, table slots stay taken',
  clauses: ['DESTROY-3', 'CLOSE-4', 'INV-4', 'INV-5'],
  createDriver: live(
    () => (state, op) => {
      if ((op.op !== 'destroyNode' && op.op !== 'close') || firstFailure(state, op) !== null)
        return applyInPlace(state, op);
      const peer = state.peers[op.peer];
      const node = op.op === 'destroyNode' ? lookup(state, op.peer, op.handle)!.node : null;
      const discarded = peer.queue.filter((e) => e.kind !== 'notice' && (node === null || e.node === node));
      const leaked = discarded
        .flatMap((e) => e.handles)
        .map((id) => state.handles[id])
        .filter((h) => h.kind === 'node' && h.status === 'live' && !h.root);
      const seq0 = state.nextSeq;
      const out = applyInPlace(state, op);
      const nodes = new Set<number>();
      for (const h of leaked) {
        const n = state.nodes[h.node];
        if (n && n.status === 'live') {
          n.senders++;
          nodes.add(n.id);
        }
      }
      dropNotices(
        state,
        seq0,
        (notice, owner) => notice.type === 'no-senders' && nodes.has(nodeByOwnerName(state, owner, notice.node) ?? -1),
      );
      if (op.op === 'destroyNode') peer.inflight += discarded.reduce((k, e) => k + e.handles.length, 0);
      return out;
    },
    'leak-on-discard',
  ),
};

/** A reply handle is not consumed by reply: a second reply is accepted (and ignored). */
const replyTwice: Mutant = {
  name: 'reply-twice',
  bug: 'a reply handle is not one-shot: replying (or releasing) again through a used reply handle succeeds',
  clauses: ['CALL-3', 'INV-6'],
  createDriver: live(() => {
    const used = new Set<string>();
    return (state, op) => {
      if (
        (op.op === 'reply' || op.op === 'release') &&
        used.has(`${op.peer}:${op.handle}`) &&
        state.peers[op.peer]?.status === 'open'
      ) {
        return { result: { ok: true, value: {} }, completions: [], events: [] };
      }
      const out = applyInPlace(state, op);
      if (op.op === 'reply' && !('pending' in out.result) && out.result.ok) used.add(`${op.peer}:${op.handle}`);
      return out;
    };
  }, 'reply-twice'),
};

/** The per-sender quota is compared with everything in the queue, not with the sender's share. */
const quotaPerReceiver: Mutant = {
  name: 'quota-per-receiver',
  bug: 'the sender quota is counted per receive queue (all senders together) instead of per sender',
  clauses: ['QUOTA-1', 'QUOTA-2', 'INV-11'],
  createDriver: live(
    () => (state, op) => {
      const blocking = op.op === 'send' && ((op as SendOp).timeoutMs ?? 0) > 0;
      if (
        (op.op === 'send' || op.op === 'call' || op.op === 'multicast') &&
        !blocking &&
        firstFailure(state, op) === null
      ) {
        const handles = op.op === 'multicast' ? op.handles : [op.handle];
        const bytes = messageBytes(op.message);
        for (const name of handles) {
          const h = lookup(state, op.peer, name)!;
          if (h.status !== 'live') continue;
          const dest = state.peers[state.nodes[h.node].owner];
          // The bug: every sender's messages count against this sender's quota.
          const all = dest.queue.filter((e) => e.kind !== 'notice');
          const count = all.length,
            total = all.reduce((k, e) => k + e.bytes, 0);
          if (count + 1 > state.limits.senderQuotaMessages || total + bytes > state.limits.senderQuotaBytes) {
            return { result: { ok: false, error: 'QUEUE_FULL' }, completions: [], events: [] };
          }
        }
      }
      return applyInPlace(state, op);
    },
    'quota-per-receiver',
  ),
};

/** Every node stamps credentials, opted in or not. */
const credentialsAlways: Mutant = {
  name: 'credentials-always',
  bug: 'credentials are delivered on every node, not only on nodes that opted in',
  clauses: ['CRED-1', 'INV-10'],
  createDriver: live(
    () => (state, op) => {
      if (op.op === 'createNode' && (op.credentials === undefined || op.credentials === false))
        return applyInPlace(state, { ...op, credentials: true });
      return applyInPlace(state, op);
    },
    'credentials-always',
  ),
};

/** destroyNode kills the handles but tells nobody. */
const missingNodeDestroyed: Mutant = {
  name: 'missing-node-destroyed',
  bug: 'destroyNode marks other handles dead but sends no node-destroyed notice to their holders',
  clauses: ['DESTROY-2', 'NOTICE-1', 'INV-9'],
  createDriver: live(
    () => (state, op) => {
      const seq0 = state.nextSeq;
      const out = applyInPlace(state, op);
      if (op.op === 'destroyNode') dropNotices(state, seq0, (n) => n.type === 'node-destroyed');
      return out;
    },
    'missing-node-destroyed',
  ),
};

/** Revoke walks the derivation tree in tables only, missing handles in flight. */
const revokeMissesInflight: Mutant = {
  name: 'revoke-misses-inflight',
  bug: 'revoke only reaches handles in tables: a descendant travelling in a queued message arrives live',
  clauses: ['REVOKE-1', 'REVOKE-2', 'INV-1'],
  createDriver: live(
    () => (state, op) => {
      if (op.op !== 'revoke' || firstFailure(state, op) !== null) return applyInPlace(state, op);
      const top = lookup(state, op.peer, op.handle)!;
      const byParent = new Map<number, number[]>();
      for (const h of Object.values(state.handles))
        if (h.parent !== null) byParent.set(h.parent, [...(byParent.get(h.parent) ?? []), h.id]);
      const inflight: number[] = [];
      const stack = [...(byParent.get(top.id) ?? [])];
      while (stack.length) {
        const id = stack.pop()!;
        const h = state.handles[id];
        if (h.name === null && h.status === 'live') inflight.push(id);
        stack.push(...(byParent.get(id) ?? []));
      }
      const seq0 = state.nextSeq;
      const out = applyInPlace(state, op);
      if (inflight.length === 0) return out;
      const nodes = new Set<number>();
      for (const id of inflight) {
        const h = state.handles[id];
        h.status = 'live';
        const n = state.nodes[h.node];
        if (n && n.status === 'live') {
          n.senders++;
          nodes.add(n.id);
        }
      }
      dropNotices(state, seq0, (notice, owner) => {
        if (notice.type !== 'no-senders') return false;
        const id = nodeByOwnerName(state, owner, notice.node);
        return id !== undefined && nodes.has(id) && state.nodes[id].senders > 0;
      });
      const r = out.result as { ok: true; value: { revoked: number } };
      return { ...out, result: { ok: true, value: { revoked: r.value.revoked - inflight.length } } };
    },
    'revoke-misses-inflight',
  ),
};

export const MUTANTS: readonly Mutant[] = [
  rightsAmplified,
  nameReuse,
  failedSendConsumesMove,
  multicastOrder,
  leakOnDiscard,
  replyTwice,
  quotaPerReceiver,
  credentialsAlways,
  missingNodeDestroyed,
  revokeMissesInflight,
  ...V2_MUTANTS,
  ...CALL_MUTANTS,
];

export function mutantNamed(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}
