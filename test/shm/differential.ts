// Differential testing of the shm backend against the model: the same operation
// sequence runs on `step` and on ShmBus.run; results, deliveries and completions
// must agree modulo a bijection between the model's handle names and the shm
// backend's (slot + generation), per peer (HANDLE-2).
import type { Completion, HandleName, Limits, Operation, Right, Transfer } from '../../spec/types';
import { type BusState, initialState, step } from '../../model';
import { ShmBus } from '../../backends/shm';

export const SMALL_LIMITS: Limits = {
  maxPeers: 4,
  maxHandlesPerPeer: 12,
  maxPayloadBytes: 16,
  maxHandlesPerMessage: 3,
  queueCapacityMessages: 6,
  queueCapacityBytes: 40,
  senderQuotaMessages: 4,
  senderQuotaBytes: 24,
  // Small enough that random sequences reach every bound (NODE-4, BOUND-2, QUOTA-4).
  maxNodesPerPeer: 3,
  maxPendingPerPeer: 3,
  senderQuotaHandles: 5,
};

export class NameMap {
  private readonly toShm = new Map<string, number>();
  private readonly toModel = new Map<string, number>();

  /** Map a model name of `peer` to the shm name; unknown names map to a name never issued. */
  shm(peer: number, name: number): number {
    return this.toShm.get(`${peer}:${name}`) ?? 9_000_000_000 + name;
  }

  /** Check (and learn) that model name m and shm name x denote the same handle. */
  pair(peer: number, m: number | null, x: number | null, where: string): void {
    if (m === null || x === null) {
      if (m !== x) throw new Error(`${where}: model name ${m} vs shm name ${x}`);
      return;
    }
    const k = `${peer}:${m}`,
      kx = `${peer}:${x}`;
    const known = this.toShm.get(k);
    if (known !== undefined) {
      if (known !== x) throw new Error(`${where}: peer ${peer} model name ${m} maps to shm ${known}, got ${x}`);
      return;
    }
    if (this.toModel.has(kx))
      throw new Error(`${where}: peer ${peer} shm name ${x} already maps to model ${this.toModel.get(kx)}, now ${m}`);
    this.toShm.set(k, x);
    this.toModel.set(kx, m);
  }
}

const NAME_KEYS = new Set(['handle', 'node', 'name', 'replyHandle']);

/** Structural equality where name-valued fields are compared through the bijection. */
export function alignValues(names: NameMap, peer: number, m: unknown, x: unknown, where: string, key = ''): void {
  if (NAME_KEYS.has(key) && (typeof m === 'number' || m === null)) {
    names.pair(peer, m as number | null, x as number | null, `${where}.${key}`);
    return;
  }
  if (
    (key === 'handles' || key === 'skipped' || key === 'full') &&
    Array.isArray(m) &&
    m.every((v) => typeof v === 'number')
  ) {
    if (!Array.isArray(x) || x.length !== m.length)
      throw new Error(`${where}.${key}: ${JSON.stringify(m)} vs ${JSON.stringify(x)}`);
    m.forEach((v, i) => names.pair(peer, v as number, x[i] as number, `${where}.${key}[${i}]`));
    return;
  }
  if (Array.isArray(m)) {
    if (!Array.isArray(x) || x.length !== m.length)
      throw new Error(`${where}${key ? '.' + key : ''}: model ${JSON.stringify(m)} vs shm ${JSON.stringify(x)}`);
    m.forEach((v, i) => alignValues(names, peer, v, x[i], `${where}.${key}[${i}]`));
    return;
  }
  if (typeof m === 'object' && m !== null) {
    if (typeof x !== 'object' || x === null)
      throw new Error(`${where}.${key}: model ${JSON.stringify(m)} vs shm ${JSON.stringify(x)}`);
    const mk = Object.keys(m).sort(),
      xk = Object.keys(x).sort();
    if (mk.join() !== xk.join())
      throw new Error(`${where}.${key}: keys ${mk} vs ${xk} (model ${JSON.stringify(m)}, shm ${JSON.stringify(x)})`);
    for (const k of mk)
      alignValues(
        names,
        peer,
        (m as Record<string, unknown>)[k],
        (x as Record<string, unknown>)[k],
        `${where}${key ? '.' + key : ''}`,
        k,
      );
    return;
  }
  if (m !== x) throw new Error(`${where}.${key}: model ${JSON.stringify(m)} vs shm ${JSON.stringify(x)}`);
}

/** One step of an op choice: integers interpreted against the model state (shrinkable). */
export type Choice = [number, number, number, number, number];

export interface Stats {
  [k: string]: number;
}

const RIGHT_SETS: Right[][] = [['send', 'grant'], ['send'], ['grant'], []];
const PAYLOADS = ['', 'aGk=', 'AAECAwQFBgc=', 'AAECAwQFBgcICQoLDA0ODw==', 'AAECAwQFBgcICQoLDA0ODxA='];

function pick<T>(xs: readonly T[], n: number): T | undefined {
  return xs.length === 0 ? undefined : xs[n % xs.length];
}

/** Build the operation a choice means in state s (model names). */
export function buildOp(s: BusState, c: Choice): Operation {
  const [k, a, b, d, e] = c;
  const ids = Object.keys(s.peers).map(Number);
  const open = ids.filter((id) => s.peers[id].status === 'open');
  const peer = a % 17 === 16 ? (a % 3 === 0 ? 99 : (pick(ids, a) ?? 1)) : (pick(open, a) ?? pick(ids, a) ?? 1);
  const p = s.peers[peer];
  const names = p ? Object.keys(p.table).map(Number) : [];
  const nodeNames = names.filter((n) => s.handles[p.table[n]].kind === 'node');
  const replyNames = names.filter((n) => s.handles[p.table[n]].kind === 'reply');
  const anyName = (n: number): HandleName =>
    n % 23 === 22 ? 1000 + (n % 5) : n % 29 === 28 ? (pick(names, n) ?? 1) + 1 : (pick(names, n) ?? 1);
  const nodeName = (n: number): HandleName => (n % 19 === 18 ? anyName(n) : (pick(nodeNames, n) ?? anyName(n)));
  const transfers = (n: number, m: number): Transfer[] => {
    const count = n % 4 === 0 ? 0 : m % 3;
    const out: Transfer[] = [];
    for (let i = 0; i < count; i++) {
      const h = i === 0 && m % 7 === 3 && replyNames.length > 0 ? pick(replyNames, m)! : anyName(m + i * 7);
      if (out.some((t) => t.handle === h)) continue;
      const t: Transfer = { handle: h };
      if ((m >> 2) % 3 === 1) t.rights = RIGHT_SETS[(m >> 3) % 4];
      if ((m >> 4) % 3 === 1 || s.handles[p?.table[h]]?.kind === 'reply') t.move = true;
      out.push(t);
    }
    return out;
  };
  const message = (n: number, m: number) => {
    const segs = n % 5 === 4 ? [PAYLOADS[m % 5], PAYLOADS[(m >> 3) % 4]] : [PAYLOADS[n % 5]];
    const t = transfers(n, m);
    return t.length > 0 ? { segments: segs, transfers: t } : { segments: segs };
  };
  // TIME-4: absent means no limit, 0 no waiting; most sends and receives here do not wait.
  const wait = (x: number, timed: number, unlimited: number, limit: number) =>
    x % 7 === timed ? { timeoutMs: 1 + (x % limit) } : x % 7 === unlimited ? {} : { timeoutMs: 0 };
  switch (k % 22) {
    case 0: {
      const bootstrap = [];
      if (b % 2 === 0) {
        for (const id of open.slice(0, 2)) {
          const hs = Object.keys(s.peers[id].table)
            .map(Number)
            .filter((n) => s.handles[s.peers[id].table[n]].kind === 'node');
          const h = pick(hs, d);
          if (h !== undefined)
            bootstrap.push({
              fromPeer: id,
              handle: h,
              ...(e % 3 === 1 ? { rights: RIGHT_SETS[e % 4] } : {}),
              ...(e % 4 === 2 ? { badge: 7 + (e % 3) } : {}),
            });
        }
      }
      return { op: 'attach', credentials: { uid: 1000 + (b % 3), gid: 100, pid: 4000 + ids.length }, bootstrap };
    }
    case 1:
    case 2:
      return {
        op: 'createNode',
        peer,
        ...(b % 3 === 0 ? { credentials: true } : {}),
        ...(b % 5 === 4 ? { acceptsHandles: false } : {}),
      };
    case 3:
    case 4:
      return {
        op: 'mint',
        peer,
        handle: nodeName(b),
        rights: RIGHT_SETS[d % 4],
        ...(e % 3 === 0 ? { badge: 1 + (e % 5) } : {}),
      };
    case 5:
      return { op: 'release', peer, handle: anyName(b) };
    case 6:
      return { op: 'revoke', peer, handle: nodeName(b) };
    case 7:
      return { op: 'destroyNode', peer, handle: nodeName(b), ...(d % 3 === 1 ? { derivedCount: e % 4 } : {}) };
    case 8:
    case 9:
    case 10:
      return {
        op: 'send',
        peer,
        handle: nodeName(b),
        message: message(d, e),
        ...wait(e, 1, 3, 7),
      };
    case 11:
    case 12:
      return {
        op: 'call',
        peer,
        handle: nodeName(b),
        message: message(d, e),
        ...(e % 3 === 1 ? { timeoutMs: 1 + (e % 9) } : e % 7 === 5 ? { timeoutMs: 0 } : {}),
        ...(e % 11 === 4 ? { replierCredentials: true } : {}),
      };
    case 13: {
      const handle = pick(replyNames, b) ?? anyName(b);
      if (e % 3 !== 0) return { op: 'reply', peer, handle, message: message(d, e) };
      return { op: 'replyReceive', peer, handle, message: message(d, e), max: 1 + (b % 3), ...wait(d, 1, 3, 5) };
    }
    case 14: {
      const hs = [nodeName(b), nodeName(b + 1), nodeName(b + 2)].slice(0, 1 + (d % 3));
      const uniq = d % 11 === 10 ? hs : [...new Set(hs)];
      return {
        op: 'multicast',
        peer,
        handles: uniq,
        message: message(d, e >> 1),
        ...(e % 3 === 0 ? { skipFull: true } : {}),
      };
    }
    case 15:
    case 16:
    case 17:
      return { op: 'receive', peer, max: 1 + (b % 4), ...wait(d, 1, 6, 5) };
    case 18:
      return a % 4 === 0 ? { op: 'close', peer } : { op: 'receive', peer, max: 8, timeoutMs: 0 };
    case 20:
      return { op: 'sameNode', peer, handle: nodeName(b), other: nodeName(d) };
    case 21: {
      // CANCEL-1: mostly a ticket the peer has pending, else any ticket
      const mine = s.pending.filter((q) => q.peer === peer).map((q) => q.ticket);
      return { op: 'cancel', peer, ticket: d % 4 === 3 ? 1 + (e % 9) : (pick(mine, e) ?? 1 + (e % 9)) };
    }
    default:
      return { op: 'tick', ms: b % 6 };
  }
}

/** Translate a model-named operation into shm names. */
export function toShmOp(names: NameMap, op: Operation): Operation {
  const o = structuredClone(op) as Operation & Record<string, unknown>;
  if (o.op === 'attach') {
    for (const g of o.bootstrap ?? []) g.handle = names.shm(g.fromPeer, g.handle);
    return o;
  }
  if (o.op === 'tick' || o.op === 'createNode' || o.op === 'receive' || o.op === 'close' || o.op === 'cancel') return o;
  const peer = (o as { peer: number }).peer;
  if ('handle' in o && typeof o.handle === 'number') o.handle = names.shm(peer, o.handle);
  if (o.op === 'multicast') o.handles = o.handles.map((h) => names.shm(peer, h));
  if (o.op === 'sameNode') o.other = names.shm(peer, o.other);
  const msg = (o as { message?: { transfers?: Transfer[] } }).message;
  if (msg && Array.isArray(msg.transfers)) {
    for (const t of msg.transfers) t.handle = names.shm(peer, t.handle);
  }
  return o;
}

export function describeOp(op: Operation): string {
  return JSON.stringify(op);
}

export interface RunOutcome {
  steps: number;
  stats: Stats;
}

/** Waiting no-senders notices by queue seq -> derivedCount (to see NOTICE-6 withdrawals happen). */
function waitingNoSenders(s: BusState): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of Object.values(s.peers))
    for (const e of p.queue) if (e.notice?.type === 'no-senders') out.set(e.seq, e.notice.derivedCount);
  return out;
}

export interface DifferentialOptions {
  /** Run the model-named operations as given, without the two-peer prelude. */
  noPrelude?: boolean;
}

/**
 * Run a sequence on both (choices are interpreted against the model state, operations are
 * model-named and run as given); throws with the op log on the first difference.
 */
export function runDifferential(
  choices: readonly (Choice | Operation)[],
  limits: Limits = SMALL_LIMITS,
  stats: Stats = {},
  options: DifferentialOptions = {},
): RunOutcome & { bus: ShmBus; state: BusState } {
  let s = initialState(limits);
  const bus = ShmBus.create({ limits, clock: 'virtual' });
  const names = new NameMap();
  const log: string[] = [];
  const bump = (k: string) => {
    stats[k] = (stats[k] ?? 0) + 1;
  };
  // Start with two peers, each with a node, so that the sequence gets going.
  const prelude: Operation[] = [
    { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } },
    { op: 'attach', credentials: { uid: 2, gid: 2, pid: 2 } },
    { op: 'createNode', peer: 1 },
    { op: 'createNode', peer: 2, credentials: true },
    { op: 'mint', peer: 1, handle: 1, rights: ['send', 'grant'] },
  ];
  const all: (Operation | Choice)[] = [...(options.noPrelude ? [] : prelude), ...choices];
  for (let i = 0; i < all.length; i++) {
    const item = all[i];
    const op = Array.isArray(item) ? buildOp(s, item) : item;
    const shmOp = toShmOp(names, op);
    log.push(`${i}: ${describeOp(op)}`);
    const nsBefore = waitingNoSenders(s);
    const m = step(s, op);
    s = m.state;
    let x;
    try {
      x = bus.run(shmOp);
    } catch (e) {
      throw new Error(`shm threw at step ${i}: ${(e as Error).stack}\n${log.join('\n')}`);
    }
    const peer =
      op.op === 'attach'
        ? 'ok' in m.result && m.result.ok
          ? (m.result.value as { peer: number }).peer
          : 0
        : ((op as { peer?: number }).peer ?? 0);
    try {
      alignValues(names, peer, m.result, x, `step ${i} result`);
      const xc: Completion[] = bus.lastCompletions;
      if (xc.length !== m.completions.length)
        throw new Error(`step ${i}: completions model ${JSON.stringify(m.completions)} vs shm ${JSON.stringify(xc)}`);
      m.completions.forEach((c, j) => alignValues(names, c.peer, c, xc[j], `step ${i} completion ${j}`));
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\nmodel: ${JSON.stringify(m.result)} ${JSON.stringify(m.completions)}\nshm:   ${JSON.stringify(x)} ${JSON.stringify(bus.lastCompletions)}\n${log.join('\n')}`,
      );
    }
    bump(`op ${op.op} ${'pending' in m.result ? 'pending' : m.result.ok ? 'ok' : m.result.error}`);
    // NOTICE-4 / NOTICE-6 situations: a released handle's slot held by its notice, a notice withdrawn
    // (gone from its queue in a step that received nothing and discarded nothing).
    if (Object.values(s.peers).some((p) => p.ghosts > 0)) bump('slot held by a waiting notice');
    const nsAfter = waitingNoSenders(s);
    if (!['receive', 'replyReceive', 'close', 'destroyNode'].includes(op.op))
      for (const seq of nsBefore.keys()) if (!nsAfter.has(seq)) bump('no-senders notice withdrawn');
    for (const c of m.completions) bump(`completion ${c.op} ${c.result.ok ? 'ok' : c.result.error}`);
    if ('ok' in m.result && m.result.ok && op.op === 'receive') {
      for (const d of (
        m.result.value as {
          deliveries: { kind: string; notice?: { type: string }; handles?: { state: string; kind: string }[] }[];
        }
      ).deliveries) {
        bump(`deliver ${d.kind}${d.notice ? ' ' + d.notice.type : ''}`);
        for (const h of d.handles ?? []) bump(`arrive ${h.kind} ${h.state}`);
      }
    }
  }
  // Close everything: nothing may leak in the shm bus (INV-5).
  for (const id of Object.keys(s.peers).map(Number)) {
    if (s.peers[id].status !== 'open') continue;
    const op: Operation = { op: 'close', peer: id };
    const m = step(s, op);
    s = m.state;
    const x = bus.run(op);
    alignValues(names, id, m.result, x, `final close ${id}`);
    m.completions.forEach((c, j) =>
      alignValues(names, c.peer, c, bus.lastCompletions[j], `final close completion ${j}`),
    );
  }
  const audit = bus.audit();
  if (audit.handles !== 0 || audit.nodes !== 0 || audit.calls !== 0 || audit.queued !== 0 || audit.peersOpen !== 0) {
    throw new Error(`leak after closing every peer: ${JSON.stringify(audit)}\n${log.join('\n')}`);
  }
  return { steps: all.length, stats, bus, state: s };
}
