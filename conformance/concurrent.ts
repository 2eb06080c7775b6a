// Concurrent runs: several clients (one peer each) issue operations without
// waiting for each other; the history is recorded and checked linearizable
// against the model (conformance/linearizability.ts), then every peer closes
// and the invariants of the brief are checked on the final state.
//
// Two ways to run the clients:
// - through Driver.invoke, one operation at a time per client, interleaved on
//   this thread (every driver); invocation and response times are the
//   recorder's event numbers, so intervals are as wide as the round trip;
// - inside the implementation (a driver with `runClients`, e.g. the shm worker
//   driver): each client runs its whole script in its own thread with the same
//   generator (ClientScript below), stamping every invocation and response on
//   one shared clock, so operations of different clients really overlap and
//   the intervals the checker sees are the real ones.
import type { Delivery, Invocation, Limits, Operation, Right } from '../spec/types';
import type { Driver, DriverInfo } from './driver';
import {
  HistoryRecorder,
  checkLinearizable,
  finalStateProblems,
  formatHistory,
  type HistoryOp,
  type StampedOp,
} from './linearizability';

/** A small seeded PRNG (mulberry32): the suite never reads Math.random. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ConcurrentOptions {
  clients: number;
  opsPerClient: number;
  seed: number;
  limits?: Partial<Limits>;
  /** Give up the linearizability search after this many states (default 200 000). */
  maxStates?: number;
}

/** Races a concurrent run reached (pairs of operations of different clients whose intervals overlapped). */
export const RACES = [
  'overlapping operations',
  'overlapping sends to one node',
  'receive racing a send to it',
  'revoke racing a send through it',
  'call racing a reply',
] as const;
export type Race = (typeof RACES)[number];

export interface ConcurrentOutcome {
  ok: boolean;
  message?: string;
  history: HistoryOp[];
  /** The failing (minimized) history, one operation per line. */
  counterexample?: string[];
  explored: number;
  operations: number;
  /** How many pairs of operations of different clients overlapped in time, per race. */
  races: Record<Race, number>;
  /** Whether the clients ran inside the implementation (runClients) with real-time stamps. */
  inImplementation: boolean;
}

const text = (s: string) => Buffer.from(s).toString('base64');
const untext = (b64: string) => Buffer.from(b64, 'base64').toString();

/** A node handle a client holds, with the label of the node it leads to (`n<owner client>`). */
export interface LabelledHandle {
  name: number;
  node: string;
}

/** What one client needs to run its script anywhere (structured-clonable: it crosses to worker threads). */
export interface ClientPlan {
  client: number;
  peer: number;
  handles: LabelledHandle[];
  opsPerClient: number;
  seed: number;
  operations: string[];
  transfers: boolean;
}

/** One operation a client ran, with the node labels it targeted (for the race statistics). */
export interface ScriptStep {
  op: Operation;
  targets: string[];
}

/**
 * The random client of a concurrent run: picks the next operation from what
 * it holds and learns handles from results. Deterministic given the seed and
 * the results it sees (which depend on the interleaving).
 */
export class ClientScript {
  readonly random: () => number;
  private readonly nodeHandles: LabelledHandle[];
  private readonly replyHandles: number[] = [];
  private readonly ops: Set<string>;
  private i = 0;

  constructor(readonly plan: ClientPlan) {
    this.random = prng(plan.seed * 7919 + plan.client);
    this.nodeHandles = plan.handles.map((h) => ({ ...h }));
    this.ops = new Set(plan.operations);
  }

  get done(): boolean {
    return this.i >= this.plan.opsPerClient;
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.random() * xs.length)];
  }

  next(): ScriptStep {
    const { random, nodeHandles, ops } = this;
    const k = this.plan.client,
      peer = this.plan.peer,
      i = this.i++;
    const choices: ScriptStep[] = [];
    const target = this.pick(nodeHandles);
    const payload = { segments: [text(`c${k}.${i}`)] };
    const send: ScriptStep = {
      op: { op: 'send', peer, handle: target.name, message: payload },
      targets: [target.node],
    };
    choices.push(send, send);
    choices.push(
      { op: { op: 'receive', peer, max: 1 + Math.floor(random() * 3) }, targets: [] },
      { op: { op: 'receive', peer, max: 2 }, targets: [] },
    );
    if (ops.has('mint'))
      choices.push({
        op: { op: 'mint', peer, handle: target.name, rights: this.pick<Right[]>([['send'], ['send', 'grant'], []]) },
        targets: [],
      });
    if (ops.has('call'))
      choices.push({ op: { op: 'call', peer, handle: target.name, message: payload }, targets: [target.node] });
    if (ops.has('reply') && this.replyHandles.length > 0) {
      const r = this.replyHandles.shift()!;
      choices.push({ op: { op: 'reply', peer, handle: r, message: { segments: [text(`r${k}.${i}`)] } }, targets: [] });
    }
    if (ops.has('multicast') && nodeHandles.length > 1) {
      const hs = [...new Map([this.pick(nodeHandles), this.pick(nodeHandles)].map((h) => [h.name, h])).values()];
      choices.push({
        op: { op: 'multicast', peer, handles: hs.map((h) => h.name), message: payload },
        targets: hs.map((h) => h.node),
      });
    }
    if (ops.has('release') && nodeHandles.length > 2 && random() < 0.3) {
      const h = nodeHandles.splice(1 + Math.floor(random() * (nodeHandles.length - 1)), 1)[0];
      choices.push({ op: { op: 'release', peer, handle: h.name }, targets: [] });
    }
    if (ops.has('revoke') && random() < 0.2)
      choices.push({ op: { op: 'revoke', peer, handle: target.name }, targets: [`revoke:${target.node}`] });
    if (this.plan.transfers && nodeHandles.length > 1) {
      const t = this.pick(nodeHandles);
      // The payload names the transferred handle's node, so the receiver can label it.
      choices.push({
        op: {
          op: 'send',
          peer,
          handle: target.name,
          message: { segments: [text(`c${k}.${i}>${t.node}`)], transfers: [{ handle: t.name, rights: ['send'] }] },
        },
        targets: [target.node],
      });
    }
    const usable = choices.filter((c) => ops.has(c.op.op));
    return this.pick(usable);
  }

  /** Learn handles from a result: minted handles, transferred handles, reply handles. */
  learn(step: ScriptStep, r: Invocation): void {
    if ('pending' in r || !r.ok) return;
    const v = r.value as { handle?: number; deliveries?: Delivery[] };
    if (step.op.op === 'mint' && typeof v.handle === 'number') {
      const source = this.nodeHandles.find((h) => h.name === (step.op as { handle: number }).handle);
      this.nodeHandles.push({ name: v.handle, node: source?.node ?? '?' });
    }
    for (const d of v.deliveries ?? []) {
      if (d.kind === 'notice') continue;
      const label = untext(d.payload).split('>')[1] ?? '?';
      for (const h of d.handles ?? [])
        if (h.name !== null)
          h.kind === 'reply' ? this.replyHandles.push(h.name) : this.nodeHandles.push({ name: h.name, node: label });
      if (d.kind === 'call') this.replyHandles.push(d.replyHandle);
    }
  }

  /** Whether to let other clients in before the next operation. */
  yieldNow(): boolean {
    return this.random() < 0.5;
  }
}

/** An operation a client ran inside the implementation, stamped on the driver's clock. */
export interface RecordedOp extends StampedOp {
  targets: string[];
}

/**
 * A driver that can run the clients' scripts itself, each client in its own
 * thread, stamping invocations and responses on one clock that `now()` reads
 * too (so the setup and close operations the suite invokes share it).
 * Completions of calls still pending when runClients resolves arrive later
 * through onCompletion as usual.
 */
export interface ClientRunningDriver extends Driver {
  now(): number;
  runClients(plans: ClientPlan[]): Promise<RecordedOp[]>;
}

export function runsClients(d: Driver): d is ClientRunningDriver {
  return (
    typeof (d as Partial<ClientRunningDriver>).runClients === 'function' &&
    typeof (d as Partial<ClientRunningDriver>).now === 'function'
  );
}

/** Count the races of a history: pairs of operations of different clients with overlapping intervals. */
export function countRaces(
  history: HistoryOp[],
  targets: Map<number, string[]>,
  owners: Map<number, number>,
): Record<Race, number> {
  const races = Object.fromEntries(RACES.map((r) => [r, 0])) as Record<Race, number>;
  const ops = history.filter((o) => o.op.op !== 'attach' && o.op.op !== 'close' && o.return !== null);
  const sends = new Set(['send', 'call', 'multicast']);
  const ownerOf = (label: string) => Number(label.replace(/^revoke:/, '').slice(1));
  for (let i = 0; i < ops.length; i++) {
    for (let j = i + 1; j < ops.length; j++) {
      const a = ops[i],
        b = ops[j];
      if (a.client === b.client || !(a.call < b.return! && b.call < a.return!)) continue;
      races['overlapping operations']++;
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        const tx = targets.get(x.id) ?? [],
          ty = targets.get(y.id) ?? [];
        if (x === a && sends.has(x.op.op) && sends.has(y.op.op) && tx.some((t) => ty.includes(t)))
          races['overlapping sends to one node']++;
        if (x.op.op === 'receive' && sends.has(y.op.op) && ty.some((t) => ownerOf(t) === owners.get(x.client)))
          races['receive racing a send to it']++;
        if (x.op.op === 'revoke' && sends.has(y.op.op) && tx.some((t) => ty.includes(t.slice('revoke:'.length))))
          races['revoke racing a send through it']++;
        if (x.op.op === 'call' && y.op.op === 'reply') races['call racing a reply']++;
      }
    }
  }
  return races;
}

/** One concurrent run against a fresh bus of the driver. */
export async function runConcurrent(
  driver: Driver,
  info: DriverInfo,
  o: ConcurrentOptions,
): Promise<ConcurrentOutcome> {
  const configurable = info.features.includes('configurable-limits');
  const limits = await driver.reset({
    ...info.limits,
    ...(configurable ? { queueCapacityMessages: 6, senderQuotaMessages: 3, maxHandlesPerPeer: 24, ...o.limits } : {}),
  } as Limits);
  const inImplementation = runsClients(driver);
  const rec = new HistoryRecorder(driver, inImplementation ? () => driver.now() : undefined);
  const targets = new Map<number, string[]>();
  const owners = new Map<number, number>();
  const zero = () => Object.fromEntries(RACES.map((r) => [r, 0])) as Record<Race, number>;
  const fail = (message: string): ConcurrentOutcome => ({
    ok: false,
    message,
    history: rec.history(),
    explored: 0,
    operations: rec.ops.length,
    races: zero(),
    inImplementation,
  });

  // Setup, one client at a time: peer k is granted the nodes of the peers before it.
  const peers: number[] = [];
  const plans: ClientPlan[] = [];
  const roots: number[] = [];
  for (let k = 0; k < o.clients; k++) {
    const bootstrap = peers.map((p, j) => ({ fromPeer: p, handle: roots[j] }));
    const a = await rec.invoke(k, {
      op: 'attach',
      credentials: { uid: 2000 + k, gid: 2000, pid: 3000 + k },
      ...(bootstrap.length ? { bootstrap } : {}),
    });
    if ('pending' in a || !a.ok) return fail(`attach failed in the setup: ${JSON.stringify(a)}`);
    const v = a.value as { peer: number; handles: number[] };
    peers.push(v.peer);
    owners.set(k, k);
    const n = await rec.invoke(k, { op: 'createNode', peer: v.peer });
    if ('pending' in n || !n.ok) return fail(`createNode failed in the setup: ${JSON.stringify(n)}`);
    roots.push((n.value as { handle: number }).handle);
    plans.push({
      client: k,
      peer: v.peer,
      opsPerClient: o.opsPerClient,
      seed: o.seed,
      operations: [...info.operations],
      transfers: info.features.includes('transfers'),
      handles: [...v.handles.map((name, j) => ({ name, node: `n${j}` })), { name: roots[k], node: `n${k}` }],
    });
  }

  if (inImplementation) {
    for (const r of await driver.runClients(plans)) {
      const op = rec.adopt(r);
      targets.set(op.id, r.targets);
    }
  } else {
    const client = async (plan: ClientPlan): Promise<void> => {
      const script = new ClientScript(plan);
      while (!script.done) {
        const step = script.next();
        const r = await rec.invoke(plan.client, step.op);
        targets.set(rec.ops[rec.ops.length - 1].id, step.targets);
        script.learn(step, r);
        // Let other clients in between our invocations (a microtask is not enough for some drivers).
        if (script.yieldNow()) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(plans.map(client));
  }
  for (const [k, p] of peers.entries()) await rec.invoke(k, { op: 'close', peer: p });
  // Completions of the closes travel back from the implementation's threads.
  for (let i = 0; i < 200 && rec.unresolved().length > 0; i++)
    await new Promise<void>((resolve) => setTimeout(resolve, i < 20 ? 0 : 5));
  await new Promise<void>((resolve) => setImmediate(resolve));

  const history = rec.history();
  const races = countRaces(history, targets, owners);
  const problems = [
    ...rec.anomalies,
    ...rec.unresolved().map((u) => `#${u.id} ${u.op.op} was never resolved after every peer closed (INV-6)`),
  ];
  const check = checkLinearizable(history, { limits, maxStates: o.maxStates });
  const base = { history, explored: check.explored, operations: history.length, races, inImplementation };
  if (check.ok === false) {
    return {
      ...base,
      ok: false,
      message: `the history is not linearizable: ${check.deepest?.reason ?? ''}`,
      counterexample: formatHistory(check.smallestFailingHistory ?? history),
    };
  }
  if (check.ok === null) problems.push(`the linearizability search gave up after ${check.explored} states`);
  if (check.finalState) problems.push(...finalStateProblems(check.finalState));
  if (problems.length)
    return { ...base, ok: false, message: problems.join('; '), counterexample: formatHistory(history) };
  return { ...base, ok: true };
}
