// The broker's engines (backends/broker/engine.ts): the shm backend's bus and the formal model's
// state, each in the broker's private memory, give the same outcomes; the audit's pending count,
// which the shm engine keeps from the tickets it saw, follows the model's pending operations.
import { strict as assert } from 'assert';
import { createEngine, type BrokerEngine, type BusAudit, type EngineName } from '../../backends/broker/engine';
import type { Invocation, Operation } from '../../spec/types';
import { expectError, expectOk, expectPending } from '../helpers';

const MESSAGE = { segments: [Buffer.from('ping').toString('base64')] };

/** A script over one bus: each step's audit, so the two engines can be compared step by step. */
function script(engine: BrokerEngine): { audits: BusAudit[]; results: Invocation[] } {
  const audits: BusAudit[] = [];
  const results: Invocation[] = [];
  const run = (op: Operation): Invocation => {
    const r = engine.run(op);
    results.push(r);
    audits.push(engine.audit());
    return r;
  };
  const server = expectOk<{ peer: number }>(run({ op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } })).peer;
  const node = expectOk<{ handle: number }>(run({ op: 'createNode', peer: server })).handle;
  const a = expectOk<{ peer: number; handles: number[] }>(
    run({ op: 'attach', credentials: { uid: 2, gid: 2, pid: 2 }, bootstrap: [{ fromPeer: server, handle: node }] }),
  );
  const h = a.handles[0];
  // A waiting receive and a call: two pending operations, one completed by the other.
  expectPending(run({ op: 'receive', peer: server, max: 1, timeoutMs: 50 }));
  expectPending(run({ op: 'call', peer: a.peer, handle: h, message: MESSAGE }));
  const waiting = expectPending(run({ op: 'receive', peer: a.peer, max: 1 }));
  expectOk(run({ op: 'cancel', peer: a.peer, ticket: waiting }));
  expectPending(run({ op: 'receive', peer: a.peer, max: 1, timeoutMs: 10 }));
  expectOk(run({ op: 'tick', ms: 10 }));
  expectError(run({ op: 'receive', peer: 999, max: 1 }), 'INVALID_ARGUMENT');
  // The caller closes with its call pending; then the server.
  expectOk(run({ op: 'close', peer: a.peer }));
  expectOk(run({ op: 'close', peer: server }));
  return { audits, results };
}

describe('broker: the engines of its bus', () => {
  it('the shm engine and the model engine give the same results and the same audits, pending operations counted until they complete [TIME-2, CANCEL-1, CLOSE-1, INV-5]', () => {
    const runs = (['shm', 'model'] as EngineName[]).map((name) => {
      const engine = createEngine(name, {});
      try {
        return { ...script(engine), faults: engine.faults, nowMs: engine.nowMs };
      } finally {
        engine.dispose();
      }
    });
    const [shm, model] = runs;
    // Handle names differ (HANDLE-2): compare outcomes by kind, and the audits whole.
    const outcome = (r: Invocation) => ('pending' in r ? 'pending' : r.ok ? 'ok' : r.error);
    assert.deepEqual(shm.results.map(outcome), model.results.map(outcome));
    // A call record's lifetime is the engine's own (the model keeps an abandoned call until its reply
    // handle goes, CALL-8): calls are compared once everything is gone, the rest at every step.
    const live = ({ calls: _calls, ...rest }: BusAudit) => rest;
    assert.deepEqual(shm.audits.map(live), model.audits.map(live));
    assert.deepEqual(shm.audits.at(-1), model.audits.at(-1));
    assert.deepEqual(
      shm.audits.map((x) => x.pending),
      [0, 0, 0, 1, 1, 2, 1, 2, 1, 1, 0, 0],
    );
    assert.deepEqual(shm.audits.at(-1), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0, pending: 0 });
    assert.equal(shm.nowMs, 10);
    assert.equal(model.nowMs, 10);
    assert.deepEqual([shm.faults, model.faults], [0, 0]);
  });

  it('an engine that is not one of the two is refused [BUS-1]', () => {
    assert.throws(() => createEngine('fast' as EngineName), /unknown broker engine/);
  });
});
