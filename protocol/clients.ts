// The concurrent clients of the conformance suite, as both sides need them: the
// suite plans a run (one ClientPlan per client), and a driver that runs clients
// itself (inside the implementation, one thread or process per client) runs each
// plan with the same seeded ClientScript and stamps every invocation and
// response on one clock. Nothing here checks anything: the checking is the
// suite's (conformance/concurrent.ts, conformance/linearizability.ts).
import type { Delivery, Invocation, Operation, Right } from '../spec/types';
import type { Driver } from './driver';

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

/** An operation as a client ran it: invoked and answered at two stamps of one clock. */
export interface StampedOp {
  client: number;
  op: Operation;
  call: number;
  return: number;
  invocation: Invocation;
  completed?: number;
  outcome?: Invocation;
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
  /**
   * The node every client's plan aims at (optional: without it each client spreads its operations over
   * what it holds). Its owner serves it (receives and answers calls, and in the second half of its script
   * revokes what was granted from its root); the other clients send and call through their handles to it.
   * Different clients' operations then meet on one node and one call: a revoke racing a send through the
   * handles it revokes (REVOKE-1, REVOKE-3), a call racing the reply to an earlier call (CALL-3, CALL-10).
   */
  aim?: { node: string; owner: number };
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
  /** Tickets of this client's calls that returned pending (CANCEL-1: what it may cancel). */
  private readonly calls: number[] = [];
  private readonly ops: Set<string>;
  private i = 0;
  /** The step at which the owner of an aimed node revokes what was granted from its root. */
  private readonly revokeAt: number;

  constructor(readonly plan: ClientPlan) {
    this.random = prng(plan.seed * 7919 + plan.client);
    this.nodeHandles = plan.handles.map((h) => ({ ...h }));
    this.ops = new Set(plan.operations);
    const half = Math.floor(plan.opsPerClient / 2);
    this.revokeAt = half + Math.floor(this.random() * (plan.opsPerClient - half));
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
    const aimed = nodeHandles.filter((h) => h.node === this.plan.aim?.node);
    const target = aimed.length > 0 && random() < 0.6 ? this.pick(aimed) : this.pick(nodeHandles);
    const payload = { segments: [text(`c${k}.${i}`)] };
    // Sends and receives never wait (timeoutMs 0, TIME-4): each client keeps one operation in flight.
    const send: ScriptStep = {
      op: { op: 'send', peer, handle: target.name, message: payload, timeoutMs: 0 },
      targets: [target.node],
    };
    choices.push(send, send);
    choices.push(
      { op: { op: 'receive', peer, max: 1 + Math.floor(random() * 3), timeoutMs: 0 }, targets: [] },
      { op: { op: 'receive', peer, max: 2, timeoutMs: 0 }, targets: [] },
    );
    if (ops.has('mint'))
      choices.push({
        op: { op: 'mint', peer, handle: target.name, rights: this.pick<Right[]>([['send'], ['send', 'grant'], []]) },
        targets: [],
      });
    if (ops.has('call'))
      choices.push({ op: { op: 'call', peer, handle: target.name, message: payload }, targets: [target.node] });
    if (ops.has('reply') && this.replyHandles.length > 0) {
      const r = this.replyHandles[0]; // taken from the list only if this answer is the step chosen
      const answer = { segments: [text(`r${k}.${i}`)] };
      // Half the time a server answers and takes its next request in one step (CALL-10). A server
      // answers what it holds before most else: twice the weight of any other choice.
      const answerStep: ScriptStep =
        ops.has('replyReceive') && random() < 0.5
          ? { op: { op: 'replyReceive', peer, handle: r, message: answer, max: 2, timeoutMs: 0 }, targets: [] }
          : { op: { op: 'reply', peer, handle: r, message: answer }, targets: [] };
      // The server of an aimed node answers as soon as it holds a call, most of the time: the callers'
      // next calls then meet its replies (CALL-3).
      if (this.serves && random() < 0.6) {
        this.replyHandles.shift();
        return answerStep;
      }
      choices.push(answerStep, answerStep);
    }
    const aimedSteps = this.plan.aim ? this.aimedSteps(aimed, i, payload) : [];
    // The owner's revoke is the step itself, not one choice among others.
    if (aimedSteps[0]?.op.op === 'revoke' && ops.has('revoke')) return aimedSteps[0];
    choices.push(...aimedSteps);
    // A caller gives up on one of its calls, racing whoever answers it (CANCEL-3).
    if (ops.has('cancel') && this.calls.length > 0 && random() < 0.5)
      choices.push({ op: { op: 'cancel', peer, ticket: this.calls[0] }, targets: [] });
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
          timeoutMs: 0,
        },
        targets: [target.node],
      });
    }
    const usable = choices.filter((c) => ops.has(c.op.op));
    const chosen = this.pick(usable);
    if (chosen.op.op === 'reply' || chosen.op.op === 'replyReceive') this.replyHandles.shift();
    if (chosen.op.op === 'cancel') this.calls.shift();
    return chosen;
  }

  /** Whether this client owns the node the plan aims at, and so serves it. */
  private get serves(): boolean {
    return this.plan.aim?.owner === this.plan.client;
  }

  /** The extra weight of an aimed plan: the owner serves and revokes, the others send and call through `aimed`. */
  private aimedSteps(aimed: LabelledHandle[], i: number, payload: { segments: string[] }): ScriptStep[] {
    const { peer } = this.plan;
    const node = this.plan.aim!.node;
    if (this.serves) {
      const receive: ScriptStep = { op: { op: 'receive', peer, max: 2, timeoutMs: 0 }, targets: [] };
      // Revoking the root (which stays live, REVOKE-1) revokes every handle granted from it, mid-traffic:
      // at one step of the second half drawn from the seed, and now and then after it.
      if (aimed.length > 0 && (i === this.revokeAt || (i > this.revokeAt && this.random() < 0.3)))
        return [{ op: { op: 'revoke', peer, handle: aimed[0].name }, targets: [`revoke:${node}`] }];
      return [receive, receive];
    }
    if (aimed.length === 0) return [];
    const h = this.pick(aimed);
    const call: ScriptStep = { op: { op: 'call', peer, handle: h.name, message: payload }, targets: [node] };
    return [call, call, { op: { op: 'send', peer, handle: h.name, message: payload, timeoutMs: 0 }, targets: [node] }];
  }

  /** Learn handles from a result: minted handles, transferred handles, reply handles; and its calls' tickets. */
  learn(step: ScriptStep, r: Invocation): void {
    if ('pending' in r && step.op.op === 'call') this.calls.push(r.ticket);
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
        if (h.name === null) continue;
        else if (h.kind === 'reply') this.replyHandles.push(h.name);
        else this.nodeHandles.push({ name: h.name, node: label });
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

/**
 * A deliberately wrong variant of the operations a driver performs for its clients,
 * for the suite's self-test (conformance/mutants/): the production driver loads one
 * only when asked, by module path, and knows nothing of what it does. The module
 * exports `createClientFault(): ClientFault`.
 */
export interface ClientFault {
  /** Perform `op` as the faulty implementation would; `real` performs an operation correctly. */
  perform(op: Operation, real: (op: Operation) => Promise<Invocation>): Promise<Invocation>;
  /** Forget everything held back (the peer joined a fresh bus). */
  reset(): void;
}
