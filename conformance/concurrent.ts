// Concurrent runs: several clients (one peer each) issue operations without
// waiting for each other; the history is recorded and checked linearizable
// against the model (conformance/linearizability.ts), then every peer closes
// and the invariants of the spec are checked on the final state.
//
// Two ways to run the clients:
// - through Driver.invoke, one operation at a time per client, interleaved on
//   this thread (every driver); invocation and response times are the
//   recorder's event numbers, so intervals are as wide as the round trip;
// - inside the implementation (a driver with `runClients`, e.g. the shm worker
//   driver): each client runs its whole script in its own thread with the same
//   generator (protocol/clients.ts), stamping every invocation and response on
//   one shared clock, so operations of different clients really overlap and
//   the intervals the checker sees are the real ones.
import type { Limits } from '../spec/types';
import type { Driver, DriverInfo } from '../protocol/driver';
import { ClientScript, runsClients, type ClientPlan } from '../protocol/clients';
import {
  HistoryRecorder,
  checkLinearizable,
  finalStateProblems,
  formatHistory,
  type HistoryOp,
} from './linearizability';

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
  'cancel racing a reply',
] as const;
export type Race = (typeof RACES)[number];

export interface ConcurrentOutcome {
  ok: boolean;
  message?: string;
  history: HistoryOp[];
  /** The failing (minimized) history, one operation per line. */
  counterexample?: string[];
  /** The smallest failing history itself, and the limits in force (for its diagnosis and timeline). */
  smallest?: HistoryOp[];
  limits?: Limits;
  explored: number;
  operations: number;
  /** How many pairs of operations of different clients overlapped in time, per race. */
  races: Record<Race, number>;
  /** Whether the clients ran inside the implementation (runClients) with real-time stamps. */
  inImplementation: boolean;
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
        const answers = y.op.op === 'reply' || y.op.op === 'replyReceive';
        if (x.op.op === 'call' && answers) races['call racing a reply']++;
        if (x.op.op === 'cancel' && answers) races['cancel racing a reply']++;
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
      // Every client holds a handle to node 0 (granted at attach): the node all plans aim at.
      aim: { node: 'n0', owner: 0 },
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
        // The recorder records the operation as it invokes it: its id is the next one. Read after the
        // await, the last recorded operation may be another client's that overlapped this one.
        const pending = rec.invoke(plan.client, step.op);
        targets.set(rec.ops[rec.ops.length - 1].id, step.targets);
        const r = await pending;
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
      smallest: check.smallestFailingHistory ?? history,
      limits,
    };
  }
  if (check.ok === null) problems.push(`the linearizability search gave up after ${check.explored} states`);
  if (check.finalState) problems.push(...finalStateProblems(check.finalState));
  if (problems.length)
    return { ...base, ok: false, message: problems.join('; '), counterexample: formatHistory(history) };
  return { ...base, ok: true };
}
