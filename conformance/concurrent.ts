// Concurrent runs: several clients (one peer each) issue operations without
// waiting for each other; the history is recorded and checked linearizable
// against the model (conformance/linearizability.ts), then every peer closes
// and the invariants of the brief are checked on the final state.
import type { Invocation, Limits, Operation, Right } from '../spec/types';
import type { Driver, DriverInfo } from './driver';
import { HistoryRecorder, checkLinearizable, finalStateProblems, formatHistory, type HistoryOp } from './linearizability';

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
}

export interface ConcurrentOutcome {
  ok: boolean;
  message?: string;
  history: HistoryOp[];
  /** The failing (minimized) history, one operation per line. */
  counterexample?: string[];
  explored: number;
  operations: number;
}

const text = (s: string) => Buffer.from(s).toString('base64');

/** One concurrent run against a fresh bus of the driver. */
export async function runConcurrent(driver: Driver, info: DriverInfo, o: ConcurrentOptions): Promise<ConcurrentOutcome> {
  const configurable = info.features.includes('configurable-limits');
  const limits = await driver.reset({ ...info.limits, ...(configurable ? { queueCapacityMessages: 6, senderQuotaMessages: 3, maxHandlesPerPeer: 24, ...o.limits } : {}) } as Limits);
  const rec = new HistoryRecorder(driver);
  const random = prng(o.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const ops = new Set(info.operations as string[]);
  const transfers = info.features.includes('transfers');

  // Setup, one client at a time: peer k is granted the nodes of the peers before it.
  const peers: number[] = [];
  const nodeHandles: number[][] = [];
  const roots: number[] = [];
  for (let k = 0; k < o.clients; k++) {
    const bootstrap = peers.map((p, j) => ({ fromPeer: p, handle: roots[j] }));
    const a = await rec.invoke(k, { op: 'attach', credentials: { uid: 2000 + k, gid: 2000, pid: 3000 + k }, ...(bootstrap.length ? { bootstrap } : {}) });
    if ('pending' in a || !a.ok) return { ok: false, message: `attach failed in the setup: ${JSON.stringify(a)}`, history: rec.history(), explored: 0, operations: rec.ops.length };
    const v = a.value as { peer: number; handles: number[] };
    peers.push(v.peer);
    const n = await rec.invoke(k, { op: 'createNode', peer: v.peer });
    if ('pending' in n || !n.ok) return { ok: false, message: `createNode failed in the setup: ${JSON.stringify(n)}`, history: rec.history(), explored: 0, operations: rec.ops.length };
    roots.push((n.value as { handle: number }).handle);
    nodeHandles.push([...v.handles, roots[k]]);
  }
  const replyHandles: number[][] = peers.map(() => []);

  const learn = (k: number, r: Invocation) => {
    if ('pending' in r || !r.ok) return;
    const v = r.value as any;
    if (typeof v.handle === 'number') nodeHandles[k].push(v.handle);
    for (const d of v.deliveries ?? []) {
      for (const h of d.handles ?? []) if (h.name !== null) (h.kind === 'reply' ? replyHandles[k] : nodeHandles[k]).push(h.name);
      if (d.kind === 'call') replyHandles[k].push(d.replyHandle);
    }
  };

  async function client(k: number): Promise<void> {
    const peer = peers[k];
    for (let i = 0; i < o.opsPerClient; i++) {
      const choices: Operation[] = [];
      const target = pick(nodeHandles[k]);
      const payload = { segments: [text(`c${k}.${i}`)] };
      choices.push({ op: 'send', peer, handle: target, message: payload }, { op: 'send', peer, handle: target, message: payload });
      choices.push({ op: 'receive', peer, max: 1 + Math.floor(random() * 3) }, { op: 'receive', peer, max: 2 });
      if (ops.has('mint')) choices.push({ op: 'mint', peer, handle: target, rights: pick<Right[]>([['send'], ['send', 'grant'], []]) });
      if (ops.has('call')) choices.push({ op: 'call', peer, handle: target, message: payload });
      if (ops.has('reply') && replyHandles[k].length > 0) {
        const r = replyHandles[k].shift()!;
        choices.push({ op: 'reply', peer, handle: r, message: { segments: [text(`r${k}.${i}`)] } });
      }
      if (ops.has('multicast') && nodeHandles[k].length > 1) choices.push({ op: 'multicast', peer, handles: [...new Set([pick(nodeHandles[k]), pick(nodeHandles[k])])], message: payload });
      if (ops.has('release') && nodeHandles[k].length > 2 && random() < 0.3) choices.push({ op: 'release', peer, handle: nodeHandles[k].splice(1 + Math.floor(random() * (nodeHandles[k].length - 1)), 1)[0] });
      if (ops.has('revoke') && random() < 0.2) choices.push({ op: 'revoke', peer, handle: target });
      if (transfers && nodeHandles[k].length > 1) choices.push({ op: 'send', peer, handle: target, message: { ...payload, transfers: [{ handle: pick(nodeHandles[k]), rights: ['send'] }] } });
      const op = pick(choices.filter((c) => ops.has(c.op)));
      const r = await rec.invoke(k, op);
      learn(k, r);
      // Let other clients in between our invocations (a microtask is not enough for some drivers).
      if (random() < 0.5) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  await Promise.all(peers.map((_, k) => client(k)));
  for (const [k, p] of peers.entries()) await rec.invoke(k, { op: 'close', peer: p });
  await new Promise<void>((resolve) => setImmediate(resolve));

  const history = rec.history();
  const problems = [...rec.anomalies, ...rec.unresolved().map((u) => `#${u.id} ${u.op.op} was never resolved after every peer closed (INV-6)`)];
  const check = checkLinearizable(history, { limits });
  if (check.ok === false) {
    return {
      ok: false, history, explored: check.explored, operations: history.length,
      message: `the history is not linearizable: ${check.deepest?.reason ?? ''}`,
      counterexample: formatHistory(check.smallestFailingHistory ?? history),
    };
  }
  if (check.ok === null) problems.push(`the linearizability search gave up after ${check.explored} states`);
  if (check.finalState) problems.push(...finalStateProblems(check.finalState));
  if (problems.length) return { ok: false, history, explored: check.explored, operations: history.length, message: problems.join('; '), counterexample: formatHistory(history) };
  return { ok: true, history, explored: check.explored, operations: history.length };
}
