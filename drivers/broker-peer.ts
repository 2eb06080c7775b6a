// The peer process of the broker driver (broker.ts): one process per peer, which connects to the
// broker's socket, takes the seat the owner made for its pid, and then speaks to the broker only
// through its segment's rings (backends/broker BrokerPeer). It performs the operations the driver
// sends it (over the fork channel) and forwards its answers and completions in the order the
// broker wrote them; on request it runs a concurrent client's whole script (protocol/clients.ts),
// stamping every invocation and response on the driver's clock, a word of a segment every peer
// process maps (fd 4), so the stamps of all processes are one total order that agrees with real time.
import { performance } from 'perf_hooks';
import type { Completion, Invocation, Operation, Result } from '../spec/types';
import { ClientScript, prng, type ClientPlan, type RecordedOp } from '../protocol/clients';
import { connectBroker, type BrokerPeer } from '../backends/broker';
import { mapSegment, wait } from '../native';

/** Messages from the driver. */
export type ToPeerProcess =
  | { type: 'join'; socketPath: string; epoch: number; spinUs: number }
  | { type: 'leave' }
  | { type: 'op'; id: number; op: Operation }
  | { type: 'run'; plan: ClientPlan; run: number };

/** Messages to the driver. */
export type FromPeerProcess =
  | { type: 'joined'; epoch: number }
  | { type: 'result'; id: number; invocation: Invocation }
  | { type: 'error'; id: number; message: string }
  | { type: 'armed' }
  | { type: 'ran'; ops: RecordedOp[] }
  | { type: 'completion'; completion: Completion; epoch: number; seen: number }
  /** A completion taken by a running script: how many this peer has read in all. */
  | { type: 'seen'; epoch: number; seen: number };

/** The clock segment: [0] the clock, [1] the start signal of runClients (the run number). */
const CLOCK_FD = 4;
const clock = new Int32Array(mapSegment(CLOCK_FD));
const stamp = (): number => Atomics.add(clock, 0, 1) + 1;
const send = (m: FromPeerProcess): void => void process.send!(m);

let peer: BrokerPeer | null = null;
let epoch = 0;
/** The request numbers of operations the driver sent, by the peer's request number. */
const asked = new Map<number, (i: Invocation) => void>();
/** While a script runs: where a call's outcome goes, by ticket. */
const scriptCalls = new Map<number, (r: Result) => void>();
/**
 * While a script runs: outcomes read before the script learned their ticket. The ring holds a
 * call's answer and then its completion; both may be read in one pass, before the script's
 * continuation after the answer has run.
 */
const early = new Map<number, Result>();
let scriptRunning = false;

/** Completions this process has read from its ring since it joined (TIME-2). */
let seen = 0;

function attachPeer(p: BrokerPeer, e: number): void {
  peer = p;
  epoch = e;
  seen = 0;
  p.onResult((id, invocation) => {
    const k = asked.get(id);
    asked.delete(id);
    k?.(invocation);
  });
  p.onCompletion((c) => {
    seen++;
    const k = scriptCalls.get(c.ticket);
    if (k) {
      scriptCalls.delete(c.ticket);
      k(c.result);
      send({ type: 'seen', epoch: e, seen });
      return;
    }
    if (scriptRunning && c.op === 'call') {
      early.set(c.ticket, c.result);
      send({ type: 'seen', epoch: e, seen });
      return;
    }
    send({ type: 'completion', completion: c, epoch: e, seen });
  });
}

/**
 * One operation through the rings; `answer` is called as soon as its answer is read, in ring
 * order (so before the completions the broker wrote after it). The `peer` field is left out: the
 * broker knows who is asking.
 */
function submit(op: Operation, answer: (i: Invocation) => void): void {
  const p = peer;
  if (p === null || !p.isConnected) return answer({ ok: false, error: 'CLOSED' });
  const request = { ...(op as unknown as Record<string, unknown>) };
  delete request.peer;
  let id: number | Invocation;
  try {
    id = p.postOrRefuse(request as never);
  } catch {
    return answer({ ok: false, error: 'CLOSED' }); // the broker hung up
  }
  if (typeof id !== 'number') answer(id);
  else asked.set(id, answer);
}

const perform = (op: Operation): Promise<Invocation> => new Promise((resolve) => submit(op, resolve));

async function runScript(plan: ClientPlan, run: number): Promise<void> {
  const script = new ClientScript(plan);
  const jitter = prng(plan.seed * 31 + plan.client * 7 + 1);
  const ops: RecordedOp[] = [];
  scriptRunning = true;
  early.clear();
  send({ type: 'armed' });
  while (Atomics.load(clock, 1) < run) wait(clock, 1, Atomics.load(clock, 1), 1000);
  let reported = false;
  while (!script.done) {
    const step = script.next();
    const rec: RecordedOp = {
      client: plan.client,
      op: step.op,
      targets: step.targets,
      call: stamp(),
      return: 0,
      invocation: { ok: true, value: {} },
    };
    rec.invocation = await perform(step.op);
    rec.return = stamp();
    if ('pending' in rec.invocation) {
      const ticket = rec.invocation.ticket,
        e = epoch,
        p = peer!;
      const outcome = (result: Result) => {
        if (!reported) {
          rec.completed = stamp();
          rec.outcome = result;
        } else send({ type: 'completion', completion: { ticket, peer: p.peer, op: 'call', result }, epoch: e, seen });
      };
      const already = early.get(ticket);
      early.delete(ticket);
      if (already !== undefined) outcome(already);
      else scriptCalls.set(ticket, outcome);
    }
    ops.push(rec);
    script.learn(step, rec.invocation);
    if (script.yieldNow()) await new Promise<void>((resolve) => setImmediate(resolve));
    // Spread the scripts over the same stretch of time (a warm process runs its script in microseconds).
    if (jitter() < 0.7) {
      const until = performance.now() + jitter() * 0.2;
      while (performance.now() < until);
    }
  }
  reported = true;
  scriptRunning = false;
  send({ type: 'ran', ops });
  // Outcomes of calls no step of the script made (none expected): reported as any completion.
  for (const [ticket, result] of early)
    send({ type: 'completion', completion: { ticket, peer: peer!.peer, op: 'call', result }, epoch, seen });
  early.clear();
}

/** Messages are handled one after another: an operation waits for the join before it. */
let queue: Promise<void> = Promise.resolve();
process.on('message', (m: ToPeerProcess) => {
  queue = queue
    .then(() => handle(m))
    .catch((e) => send({ type: 'error', id: -1, message: (e as Error)?.stack ?? String(e) }));
});
process.on('disconnect', () => process.exit(0));

async function handle(m: ToPeerProcess): Promise<void> {
  switch (m.type) {
    case 'join': {
      peer?.disconnect();
      asked.clear();
      scriptCalls.clear();
      attachPeer(await connectBroker(m.socketPath, { spinUs: m.spinUs }), m.epoch);
      send({ type: 'joined', epoch: m.epoch });
      return;
    }
    case 'leave':
      peer?.disconnect();
      peer = null;
      return;
    case 'op': {
      const id = m.id;
      submit(m.op, (invocation) => send({ type: 'result', id, invocation }));
      return;
    }
    case 'run':
      void runScript(m.plan, m.run).catch((e) =>
        send({ type: 'error', id: -1, message: (e as Error)?.stack ?? String(e) }),
      );
      return;
  }
}
