import { strict as assert } from 'assert';
import type { Invocation, Operation, Result } from '../../spec/types';
import { checkLinearizable, formatHistory, type HistoryOp } from '../../conformance/linearizability';
import { runConcurrent } from '../../conformance/concurrent';
import { createReferenceDriver } from '../../drivers/reference';
import { MUTANTS } from '../../conformance/mutants';
import type { Driver } from '../../protocol/driver';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const msg = (s: string) => ({ segments: [b64(s)] });
const delivered = (s: string) => ({ kind: 'message', node: 1, badge: 0, payload: b64(s), handles: [] });

/**
 * A driver whose every operation takes a while: it takes effect after a turn of the event loop and
 * answers after another, so the operations of concurrent clients overlap as on a real machine.
 */
function slow(d: Driver): Driver {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    ...d,
    async invoke(op) {
      await turn();
      const r = await d.invoke(op);
      await turn();
      return r;
    },
  };
}

/** Builds a history: each op with its [call, return] event numbers. */
class H {
  ops: HistoryOp[] = [];
  add(
    client: number,
    op: Operation,
    call: number,
    ret: number,
    invocation: Invocation,
    completed?: number,
    outcome?: Result,
  ): this {
    this.ops.push({
      id: this.ops.length + 1,
      client,
      op,
      call,
      return: ret,
      invocation,
      ...(completed !== undefined ? { completed, outcome } : {}),
    });
    return this;
  }
  /** p1 owns node 1 (h1); p2 and p3 each hold h1 -> it. Events 1..8. */
  static setup(): H {
    return new H()
      .add(1, { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } }, 1, 2, {
        ok: true,
        value: { peer: 1, handles: [] },
      })
      .add(1, { op: 'createNode', peer: 1 }, 3, 4, { ok: true, value: { handle: 1 } })
      .add(
        2,
        { op: 'attach', credentials: { uid: 2, gid: 2, pid: 2 }, bootstrap: [{ fromPeer: 1, handle: 1 }] },
        5,
        6,
        { ok: true, value: { peer: 2, handles: [1] } },
      )
      .add(
        3,
        { op: 'attach', credentials: { uid: 3, gid: 3, pid: 3 }, bootstrap: [{ fromPeer: 1, handle: 1 }] },
        7,
        8,
        { ok: true, value: { peer: 3, handles: [1] } },
      );
  }
}

describe('linearizability checking against the model', () => {
  it('overlapping sends may be received in either order [ORDER-1, ORDER-2]', () => {
    const h = H.setup()
      .add(2, { op: 'send', peer: 2, handle: 1, message: msg('a') }, 9, 12, { ok: true, value: {} })
      .add(3, { op: 'send', peer: 3, handle: 1, message: msg('b') }, 10, 11, { ok: true, value: {} })
      .add(1, { op: 'receive', peer: 1, max: 2 }, 13, 14, {
        ok: true,
        value: { deliveries: [delivered('b'), delivered('a')] } as never,
      });
    const r = checkLinearizable(h.ops);
    assert.equal(r.ok, true, r.deepest?.reason);
    assert.deepEqual(r.witness!.slice(4, 6), [6, 5]);
  });

  it('a receive order no interleaving explains is rejected, with a small failing history [ORDER-2, INV-7]', () => {
    const h = H.setup()
      .add(2, { op: 'send', peer: 2, handle: 1, message: msg('a') }, 9, 10, { ok: true, value: {} })
      .add(3, { op: 'send', peer: 3, handle: 1, message: msg('b') }, 11, 12, { ok: true, value: {} })
      .add(1, { op: 'receive', peer: 1, max: 2 }, 13, 14, {
        ok: true,
        value: { deliveries: [delivered('b'), delivered('a')] } as never,
      });
    const r = checkLinearizable(h.ops);
    assert.equal(r.ok, false);
    assert.ok(r.smallestFailingHistory!.length <= h.ops.length);
    assert.ok(r.smallestFailingHistory!.some((o) => o.op.op === 'receive'));
    assert.match(r.deepest!.reason, /receive/);
    assert.ok(formatHistory(r.smallestFailingHistory!).every((l) => /^#\d+ client \d+ \[/.test(l)));
  });

  it('a call completes only after the reply that resolves it was invoked [CALL-3, TIME-2]', () => {
    const call = (completed: number) =>
      H.setup()
        .add(2, { op: 'call', peer: 2, handle: 1, message: msg('q') }, 9, 10, { pending: true, ticket: 1 }, completed, {
          ok: true,
          value: { reply: { kind: 'reply', payload: b64('r'), handles: [] } } as never,
        })
        .add(1, { op: 'receive', peer: 1, max: 1 }, 11, 12, {
          ok: true,
          value: {
            deliveries: [{ kind: 'call', node: 1, badge: 0, payload: b64('q'), handles: [], replyHandle: 2 }],
          } as never,
        })
        .add(1, { op: 'reply', peer: 1, handle: 2, message: msg('r') }, 13, 14, { ok: true, value: {} });
    assert.equal(checkLinearizable(call(15).ops).ok, true);
    assert.equal(
      checkLinearizable(call(12).ops, { minimize: false }).ok,
      false,
      'the call completed before anyone replied',
    );
  });

  it("a cancel racing a reply: either may win and the call has the winner's one outcome, but never both [CANCEL-3, INV-6, CALL-4]", () => {
    const reply = { ok: true, value: { reply: { kind: 'reply', payload: b64('r'), handles: [] } } } as Result;
    const race = (cancelled: boolean, replied: Invocation, outcome: Result, completed: number) =>
      H.setup()
        .add(
          2,
          { op: 'call', peer: 2, handle: 1, message: msg('q') },
          9,
          10,
          { pending: true, ticket: 1 },
          completed,
          outcome,
        )
        .add(1, { op: 'receive', peer: 1, max: 1, timeoutMs: 0 }, 11, 12, {
          ok: true,
          value: {
            deliveries: [{ kind: 'call', node: 1, badge: 0, payload: b64('q'), handles: [], replyHandle: 2 }],
          } as never,
        })
        .add(2, { op: 'cancel', peer: 2, ticket: 1 }, 13, 16, { ok: true, value: { cancelled } })
        .add(1, { op: 'reply', peer: 1, handle: 2, message: msg('r') }, 14, 15, replied).ops;
    const cancelWins = race(true, { ok: false, error: 'CALLER_GONE' }, { ok: false, error: 'CANCELLED' }, 16);
    const replyWins = race(false, { ok: true, value: {} }, reply, 15);
    assert.equal(checkLinearizable(cancelWins).ok, true, checkLinearizable(cancelWins).deepest?.reason);
    assert.equal(checkLinearizable(replyWins).ok, true, checkLinearizable(replyWins).deepest?.reason);
    const bothWin = race(true, { ok: true, value: {} }, { ok: false, error: 'CANCELLED' }, 16);
    assert.equal(checkLinearizable(bothWin, { minimize: false }).ok, false);
  });

  it('concurrent runs of the reference backend with cancels racing replies and replyReceive are linearizable, and a cancel that gives a second outcome is caught [CANCEL-3, CALL-10, INV-6]', async function () {
    this.timeout(60_000);
    const d = slow(createReferenceDriver());
    const info = await d.init();
    let raced = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runConcurrent(d, info, { clients: 3, opsPerClient: 16, seed });
      assert.equal(r.ok, true, `seed ${seed}: ${r.message}\n${(r.counterexample ?? []).join('\n')}`);
      raced += r.races['cancel racing a reply'];
    }
    assert.ok(raced > 0, 'no cancel ever overlapped a reply');
    const m = MUTANTS.find((x) => x.name === 'cancel-two-outcomes')!;
    const md = slow(m.createDriver());
    const minfo = await md.init();
    let caught: string | undefined;
    for (let seed = 1; seed <= 40 && caught === undefined; seed++) {
      const r = await runConcurrent(md, minfo, { clients: 3, opsPerClient: 16, seed });
      if (!r.ok) caught = r.message;
    }
    assert.match(caught ?? 'not caught in 40 runs', /second completion|not linearizable/);
  });

  it('concurrent plans aim different clients at one node and one call: in most runs a revoke races a send through the handles it revokes and a call races a reply, and every run is linearizable [REVOKE-1, REVOKE-3, CALL-3, INV-7]', async function () {
    this.timeout(60_000);
    // In-process and deterministic: the clients interleave by turns of the event loop, not by the
    // machine's timing, so these counts are the same on every run (and under load).
    const d = slow(createReferenceDriver());
    const info = await d.init();
    const runs = 50;
    let revokeRaced = 0,
      callRaced = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const r = await runConcurrent(d, info, { clients: 3, opsPerClient: 16, seed });
      assert.equal(r.ok, true, `seed ${seed}: ${r.message}\n${(r.counterexample ?? []).join('\n')}`);
      if (r.races['revoke racing a send through it'] > 0) revokeRaced++;
      if (r.races['call racing a reply'] > 0) callRaced++;
    }
    // Plans spread over every node a client holds reach these in 20 and about 16 of these 50 runs.
    assert.ok(revokeRaced >= 30, `a revoke raced a send through it in only ${revokeRaced}/${runs} runs`);
    assert.ok(callRaced >= 30, `a call raced a reply in only ${callRaced}/${runs} runs`);
    console.log(
      `      reference (a turn of latency), ${runs} runs x 3 clients x 16 ops: revoke racing a send through it in ${revokeRaced}, call racing a reply in ${callRaced}`,
    );
  });

  it("implementation names need not be the model's: the checker learns the renaming per branch [HANDLE-2]", () => {
    const h = new H()
      .add(1, { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } }, 1, 2, {
        ok: true,
        value: { peer: 70, handles: [] },
      })
      .add(1, { op: 'createNode', peer: 70 }, 3, 6, { ok: true, value: { handle: 500 } })
      .add(1, { op: 'createNode', peer: 70 }, 4, 5, { ok: true, value: { handle: 900 } })
      .add(1, { op: 'release', peer: 70, handle: 900 }, 7, 8, { ok: true, value: {} })
      .add(1, { op: 'release', peer: 70, handle: 900 }, 9, 10, { ok: false, error: 'BAD_HANDLE' });
    assert.equal(checkLinearizable(h.ops).ok, true);
  });

  it('recorded concurrent runs of the reference backend are linearizable and leave nothing behind [INV-5, INV-6]', async function () {
    this.timeout(30_000);
    const d = createReferenceDriver();
    const info = await d.init();
    for (let seed = 1; seed <= 5; seed++) {
      const r = await runConcurrent(d, info, { clients: 3, opsPerClient: 12, seed });
      assert.equal(r.ok, true, `${r.message}\n${(r.counterexample ?? []).join('\n')}`);
      assert.ok(
        r.history.some((o, i) => r.history.some((p, j) => i !== j && p.call < o.return! && o.call < p.return!)),
        'no two operations overlapped',
      );
    }
  });

  it('a concurrent run of a mutant that reorders multicasts is caught [ORDER-3, MCAST-3]', async function () {
    this.timeout(60_000);
    const m = MUTANTS.find((x) => x.name === 'multicast-order')!;
    const d = m.createDriver();
    const info = await d.init();
    let caught = false;
    for (let seed = 1; seed <= 40 && !caught; seed++)
      caught = !(await runConcurrent(d, info, { clients: 3, opsPerClient: 12, seed })).ok;
    assert.ok(caught, 'no concurrent run caught multicast-order');
  });
});
