// The one incremental invariant monitor (model/invariants.ts Monitor), fed the way the
// model's tests feed it (observe: every check, every step) and the way the simulator feeds
// it (step + deliveries, the structural check sampled): it learns peers and nodes from the
// steps themselves, finds nothing on a correct run, and catches a tampered step either way.
import { strict as assert } from 'assert';
import type { Delivery, Invocation, Operation } from '../../spec/types';
import { Monitor, applyInPlace, initialState, step, type BusState, type StepOutcome } from '../../model';
import { fingerprint } from '../../model/invariants';
import { text } from '../helpers';

const creds = (n: number) => ({ uid: n, gid: n, pid: n });

/** A client calling a server through a node that opted in to credentials, and the server answering. */
const OPS: Operation[] = [
  { op: 'attach', credentials: creds(10) },
  { op: 'createNode', peer: 1, credentials: true },
  { op: 'attach', credentials: creds(20), bootstrap: [{ fromPeer: 1, handle: 1 }] },
  { op: 'send', peer: 2, handle: 1, message: text('hello') },
  { op: 'call', peer: 2, handle: 1, message: text('ping') },
  { op: 'receive', peer: 1, max: 8 },
  { op: 'reply', peer: 1, handle: 2, message: text('pong') },
  { op: 'release', peer: 2, handle: 999 },
  { op: 'close', peer: 2 },
  { op: 'close', peer: 1 },
];

/** Run OPS through the pure step, letting `tamper` change the outcome of step i before the monitor sees it. */
function observeAll(tamper: (i: number, out: StepOutcome) => StepOutcome = (_i, out) => out) {
  const monitor = new Monitor();
  let s: BusState = initialState();
  const found: string[] = [];
  OPS.forEach((op, i) => {
    const out = tamper(i, step(s, op));
    for (const v of monitor.observe(s, op, out.result, out, out.state)) found.push(`${i}:${v.invariant}`);
    s = out.state;
  });
  for (const v of monitor.finish(s)) found.push(`end:${v.invariant}`);
  return { monitor, found };
}

/** Give the receive's first message delivery other credentials than its sender's. */
function forgeCredentials(out: StepOutcome): StepOutcome {
  const result = structuredClone(out.result) as Invocation & { value: { deliveries: Delivery[] } };
  const d = result.value.deliveries.find((x) => x.kind === 'message');
  if (d && d.kind === 'message') d.credentials = { ...creds(0), peerKey: 1 };
  return { ...out, result };
}

describe('the incremental invariant monitor', () => {
  it('learns credentials from attach and createNode and finds nothing on a correct run [INV-10, INV-4, INV-6]', () => {
    const { monitor, found } = observeAll();
    assert.deepEqual(found, []);
    assert.ok(monitor.checks > OPS.length, `${monitor.checks} checks`);
    assert.equal(monitor.stateChecks, OPS.length + 1);
  });

  it('catches, through observe, a failed step that changed the state, a message delivered twice and forged credentials [INV-3, INV-4, INV-10]', () => {
    const changed = observeAll((i, out) => (i === 7 ? { ...out, state: { ...out.state, nextSeq: 99 } } : out));
    assert.ok(changed.found.includes('7:INV-3'), changed.found.join(' '));
    const twice = observeAll((i, out) =>
      i === 5 ? { ...out, events: [...out.events, ...out.events.filter((e) => e.type === 'dequeue')] } : out,
    );
    assert.ok(twice.found.includes('5:INV-4'), twice.found.join(' '));
    const forged = observeAll((i, out) => (i === 5 ? forgeCredentials(out) : out));
    assert.deepEqual(forged.found, ['5:INV-10']);
  });

  it('fed in place the way the simulator feeds it (step, deliveries, sampled state), reports the same first violation [INV-10, ATOMIC-1]', () => {
    for (const forge of [false, true]) {
      const monitor = new Monitor();
      const s = initialState();
      let first: string | null = null;
      OPS.forEach((op, i) => {
        const before = fingerprint(s);
        let out: StepOutcome = applyInPlace(s, op) as StepOutcome;
        if (forge && i === 5) out = forgeCredentials(out);
        const r = out.result;
        const failed = !('pending' in r) && !r.ok;
        const v = monitor.step(op, r, out.completions, out.events, failed ? before : null, s);
        if (v && first === null) first = v.invariant;
        if (op.op === 'receive' && !('pending' in r) && r.ok) {
          const seqs = out.events.filter((e) => e.type === 'dequeue').map((e) => e.seq);
          const dv = monitor.deliveries(op.peer, (r.value as { deliveries: Delivery[] }).deliveries, seqs);
          if (dv && first === null) first = dv.invariant;
        }
      });
      const end = monitor.finish(s);
      assert.equal(first, forge ? 'INV-10' : null);
      assert.deepEqual(end, []);
      assert.equal(monitor.stateChecks, 1);
    }
  });
});
