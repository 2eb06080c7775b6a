// The rules of protocol v2 on the formal model, clause by clause: bounds on
// nodes and pending operations, the handle quota, nodes that refuse handles,
// the same-node test, withdrawn notices, conditional destruction, one sender's
// order behind a blocked send, and the ends of names, ids, tickets and the clock.
// Every step is checked by the invariant monitor (test/helpers.ts World).
import { strict as assert } from 'assert';
import type { Delivery, NoticeDelivery, Operation } from '../../spec/types';
import { initialState, step, toBase64 } from '../../model';
import { World, expectError, expectOk, expectPending, expectUnchanged, text } from '../helpers';

const notices = (ds: Delivery[]) => ds.filter((d): d is NoticeDelivery => d.kind === 'notice').map((d) => d.notice);
const kinds = (ds: Delivery[]) => ds.map((d) => (d.kind === 'notice' ? d.notice.type : d.kind));
const payloads = (ds: Delivery[]) =>
  ds.map((d) => (d.kind === 'notice' ? d.notice.type : Buffer.from(d.payload, 'base64').toString()));
const bytes = (n: number, c = 'x') => ({ segments: [toBase64(c.repeat(n))] });

/** p1 owns node `node`; p2 holds `to` (send, grant) to it. */
function pair(limits = {}) {
  const w = new World(limits);
  const owner = w.peer(100);
  const node = w.node(owner);
  const {
    peer: other,
    handles: [to],
  } = w.attach([{ from: owner, handle: node }], 200);
  return { w, owner, node, other, to };
}

describe('v2: every resource bounded', () => {
  it('a node counts toward maxNodesPerPeer until destroyed, even after its root is released; close frees them [NODE-4, BOUND-1]', () => {
    const w = new World({ maxHandlesPerPeer: 1, maxNodesPerPeer: 3 });
    const p = w.peer();
    for (let i = 0; i < 3; i++) w.ok({ op: 'release', peer: p, handle: w.node(p) });
    w.fails({ op: 'createNode', peer: p }, 'TABLE_FULL');
    assert.equal(w.state.peers[p].nodes, 3);
    w.ok({ op: 'close', peer: p });
    const q = w.peer();
    w.node(q);
  });

  it('destroying a node frees its place: create and destroy can go on for ever within the node limit [NODE-4, DESTROY-1]', () => {
    const w = new World({ maxNodesPerPeer: 1 });
    const p = w.peer();
    for (let i = 0; i < 50; i++) w.ok({ op: 'destroyNode', peer: p, handle: w.node(p) });
    w.node(p);
    w.fails({ op: 'createNode', peer: p }, 'TABLE_FULL');
  });

  it('a call, a blocking send and a waiting receive over maxPendingPerPeer fail TOO_MANY_PENDING at once and change nothing; a completion frees the place [BOUND-2, CALL-1, SEND-7, RECV-2]', () => {
    const { w, other, to } = pair({ maxPendingPerPeer: 2, senderQuotaMessages: 3 });
    expectPending(w.do({ op: 'call', peer: other, handle: to, message: text('1') }));
    expectPending(w.do({ op: 'receive', peer: other, max: 1, timeoutMs: 10 }));
    w.fails({ op: 'call', peer: other, handle: to, message: text('2') }, 'TOO_MANY_PENDING');
    w.fails({ op: 'receive', peer: other, max: 1, timeoutMs: 10 }, 'TOO_MANY_PENDING');
    w.ok({ op: 'send', peer: other, handle: to, message: text('3') }); // fits: needs no place, even without a timeout
    w.ok({ op: 'send', peer: other, handle: to, message: text('4') }); // the quota is now full
    w.fails({ op: 'send', peer: other, handle: to, message: text('5'), timeoutMs: 10 }, 'TOO_MANY_PENDING');
    expectOk(w.do({ op: 'receive', peer: other, max: 1, timeoutMs: 0 })); // a receive that does not wait needs no place
    w.ok({ op: 'tick', ms: 10 }); // the waiting receive times out: one place free
    expectPending(w.do({ op: 'send', peer: other, handle: to, message: text('5'), timeoutMs: 10 }));
  });

  it('two senders can no longer fill a receiver table with handles in flight: the third peer still calls and the receiver still mints [QUOTA-4, HANDLE-1]', () => {
    const w = new World(); // default limits: 256 slots, 16 messages and 64 handles in flight per sender
    const r = w.peer(1);
    const node = w.node(r);
    const senders = [2, 3].map((uid) => w.attach([{ from: r, handle: node }], uid));
    let refused = 0;
    for (const { peer, handles } of senders) {
      const own = w.node(peer);
      const copies = Array.from(
        { length: 8 },
        () => w.ok({ op: 'mint', peer, handle: own, rights: ['send', 'grant'] }).handle,
      );
      const transfers = copies.map((handle) => ({ handle }));
      for (let i = 0; i < 16; i++) {
        const out = w.do({ op: 'send', peer, handle: handles[0], message: { segments: [], transfers }, timeoutMs: 0 });
        if (!('pending' in out) && !out.ok) {
          expectError(out, 'QUEUE_FULL');
          refused++;
        }
      }
    }
    assert.equal(refused, 16, 'each sender stops at 64 handles in flight (8 messages of 8)');
    assert.equal(w.state.peers[r].inflight, 128);
    const third = w.attach([{ from: r, handle: node }], 4);
    expectPending(w.do({ op: 'call', peer: third.peer, handle: third.handles[0], message: text('still served') }));
    w.ok({ op: 'mint', peer: r, handle: node, rights: ['send'] });
  });

  it('a handle counts toward the quota only until it is received [QUOTA-4, RECV-3]', () => {
    const { w, owner, other, to } = pair({ senderQuotaHandles: 2 });
    const own = w.node(other);
    const t = [{ handle: own }, { handle: to }];
    w.ok({ op: 'send', peer: other, handle: to, message: { segments: [], transfers: t } });
    w.fails(
      { op: 'send', peer: other, handle: to, message: { segments: [], transfers: [{ handle: own }] }, timeoutMs: 0 },
      'QUEUE_FULL',
    );
    w.fails({ op: 'call', peer: other, handle: to, message: text('the reply handle counts too') }, 'QUEUE_FULL');
    w.ok({ op: 'send', peer: other, handle: to, message: text('no handles: fits') });
    w.receive(owner, 1);
    w.ok({ op: 'send', peer: other, handle: to, message: { segments: [], transfers: t } });
  });
});

describe('v2: nodes that refuse handles, and the same-node test', () => {
  it('transfers to a node created with acceptsHandles false fail NO_RIGHTS at once, even with a timeout; calls still carry their reply handle [NODE-5, SEND-1, CALL-1]', () => {
    const w = new World();
    const owner = w.peer(100);
    const closed = w.ok({ op: 'createNode', peer: owner, acceptsHandles: false }).handle;
    const {
      peer: other,
      handles: [to],
    } = w.attach([{ from: owner, handle: closed }], 200);
    const own = w.node(other);
    const t = { segments: [], transfers: [{ handle: own }] };
    w.fails({ op: 'send', peer: other, handle: to, message: t }, 'NO_RIGHTS');
    w.fails({ op: 'send', peer: other, handle: to, message: t, timeoutMs: 50 }, 'NO_RIGHTS');
    w.fails({ op: 'call', peer: other, handle: to, message: t }, 'NO_RIGHTS');
    w.fails({ op: 'multicast', peer: other, handles: [own, to], message: t }, 'NO_RIGHTS');
    const ticket = expectPending(w.do({ op: 'call', peer: other, handle: to, message: text('q') }));
    const [call] = w.receive(owner);
    assert.ok(call.kind === 'call');
    w.ok({
      op: 'reply',
      peer: owner,
      handle: call.replyHandle,
      message: { segments: [], transfers: [{ handle: closed }] },
    });
    assert.equal(w.completion(ticket)!.result.ok, true, 'a reply may carry handles to the caller');
    w.fails({ op: 'createNode', peer: owner, acceptsHandles: 'no' as never }, 'INVALID_ARGUMENT');
  });

  it('a dead destination that refused handles is skipped, not refused [NODE-5, MCAST-2, MCAST-3]', () => {
    const w = new World();
    const a = w.peer(1);
    const refusing = w.ok({ op: 'createNode', peer: a, acceptsHandles: false }).handle;
    const accepting = w.node(a);
    const b = w.attach(
      [
        { from: a, handle: refusing },
        { from: a, handle: accepting },
      ],
      2,
    );
    const own = w.node(b.peer);
    w.ok({ op: 'destroyNode', peer: a, handle: refusing });
    const v = w.ok({
      op: 'multicast',
      peer: b.peer,
      handles: b.handles,
      message: { segments: [], transfers: [{ handle: own }] },
    });
    assert.deepEqual(v.skipped, [b.handles[0]]);
  });

  it('sameNode tells whether two live handles of the invoker designate the same node, and needs no right [NODE-6]', () => {
    const { w, owner, node, other, to } = pair();
    const weak = w.ok({ op: 'mint', peer: other, handle: to, rights: [] }).handle;
    const own = w.node(other);
    assert.deepEqual(w.ok({ op: 'sameNode', peer: other, handle: to, other: weak }), { same: true });
    assert.deepEqual(w.ok({ op: 'sameNode', peer: other, handle: weak, other: weak }), { same: true });
    assert.deepEqual(w.ok({ op: 'sameNode', peer: other, handle: to, other: own }), { same: false });
    w.fails({ op: 'sameNode', peer: other, handle: to, other: 999 }, 'BAD_HANDLE');
    w.fails({ op: 'sameNode', peer: other, handle: node === to ? 999 : 998, other: to }, 'BAD_HANDLE');
    w.ok({ op: 'revoke', peer: other, handle: to });
    w.fails({ op: 'sameNode', peer: other, handle: to, other: weak }, 'REVOKED');
    w.fails({ op: 'sameNode', peer: other, handle: 'x' as never, other: to }, 'INVALID_ARGUMENT');
    void owner;
  });
});

describe('v2: one order that never lies', () => {
  it('a no-senders notice is withdrawn when the count rises again, and the next fall puts a fresh one after the message [NOTICE-6, NOTICE-2, ORDER-4]', () => {
    const w = new World();
    const p = w.peer();
    const r = w.node(p);
    const h1 = w.ok({ op: 'mint', peer: p, handle: r, rights: ['send'] }).handle;
    w.ok({ op: 'release', peer: p, handle: h1 });
    const h2 = w.ok({ op: 'mint', peer: p, handle: r, rights: ['send'] }).handle;
    w.ok({ op: 'send', peer: p, handle: h2, message: text('M') });
    w.ok({ op: 'release', peer: p, handle: h2 });
    const got = w.receive(p);
    assert.deepEqual(payloads(got), ['M', 'no-senders']);
    assert.deepEqual(notices(got), [{ type: 'no-senders', node: r, derivedCount: 2 }]);
  });

  it('a fall and a rise within one step leave no notice: destroyNode discards the last other handle, then a retried blocked send carries the root [NOTICE-6, DESTROY-3, SEND-7]', () => {
    const w = new World({ queueCapacityMessages: 1 });
    const o = w.peer(1);
    const n = w.node(o);
    const x = w.node(o);
    const y = w.node(o);
    const p = w.attach(
      [
        { from: o, handle: x },
        { from: o, handle: n },
      ],
      2,
    );
    // p's only handle to n travels (moved) in a message queued for x: n's one sender is in flight.
    w.ok({
      op: 'send',
      peer: p.peer,
      handle: p.handles[0],
      message: { segments: [], transfers: [{ handle: p.handles[1], move: true }] },
    });
    expectPending(
      w.do({ op: 'send', peer: o, handle: y, message: { segments: [], transfers: [{ handle: n }] }, timeoutMs: 10 }),
    );
    w.ok({ op: 'destroyNode', peer: o, handle: x });
    assert.deepEqual(kinds(w.receive(o)), ['message'], 'no no-senders notice survives the step');
    assert.equal(w.state.nodes[w.state.handles[w.state.peers[o].table[n]].node].senders, 1);
  });

  it('a conditional destroyNode on a notice fails STALE once anything was derived since, and succeeds on the current count [DESTROY-5, NOTICE-3]', () => {
    const w = new World();
    const p = w.peer();
    const r = w.node(p);
    w.ok({ op: 'release', peer: p, handle: w.ok({ op: 'mint', peer: p, handle: r, rights: ['send'] }).handle });
    const [notice] = notices(w.receive(p));
    assert.deepEqual(notice, { type: 'no-senders', node: r, derivedCount: 1 });
    const late = w.ok({ op: 'mint', peer: p, handle: r, rights: ['send'] }).handle; // e.g. another thread of the owner
    w.fails({ op: 'destroyNode', peer: p, handle: r, derivedCount: 1 }, 'STALE');
    w.fails({ op: 'destroyNode', peer: p, handle: r, derivedCount: -1 }, 'INVALID_ARGUMENT');
    w.ok({ op: 'release', peer: p, handle: late });
    const [fresh] = notices(w.receive(p));
    w.ok({ op: 'destroyNode', peer: p, handle: r, derivedCount: (fresh as { derivedCount: number }).derivedCount });
  });

  it("a later send never overtakes its sender's blocked send to the same queue: it fails or waits behind it [SEND-8, SEND-7, ORDER-2]", () => {
    const { w, owner, other, to } = pair({ senderQuotaBytes: 100 });
    w.ok({ op: 'send', peer: other, handle: to, message: bytes(50, 'A') });
    expectPending(w.do({ op: 'send', peer: other, handle: to, message: bytes(60, 'B'), timeoutMs: 100 }));
    w.fails({ op: 'send', peer: other, handle: to, message: bytes(5, 'C'), timeoutMs: 0 }, 'QUEUE_FULL');
    w.fails({ op: 'call', peer: other, handle: to, message: bytes(5, 'C') }, 'QUEUE_FULL');
    w.fails({ op: 'multicast', peer: other, handles: [to], message: bytes(5, 'C') }, 'QUEUE_FULL');
    expectPending(w.do({ op: 'send', peer: other, handle: to, message: bytes(5, 'C'), timeoutMs: 100 }));
    const got = [...w.receive(owner, 1)];
    got.push(...w.receive(owner));
    assert.deepEqual(
      got.map((d) => (d.kind === 'message' ? Buffer.from(d.payload, 'base64').toString()[0] : d.kind)),
      ['A', 'B', 'C'],
    );
  });

  it('a blocked send held back behind another is not examined: a transfer revoked meanwhile fails it only once nothing holds it back [SEND-7]', () => {
    const w = new World({ queueCapacityMessages: 1 });
    const o = w.peer(1);
    const n = w.node(o);
    const a = w.attach([{ from: o, handle: n }], 2);
    const b = w.attach([{ from: o, handle: n }], 3);
    const bn = w.node(b.peer);
    const lent = w.ok({ op: 'mint', peer: b.peer, handle: bn, rights: ['send', 'grant'] }).handle;
    w.ok({ op: 'send', peer: a.peer, handle: a.handles[0], message: text('fills') });
    expectPending(
      w.do({ op: 'send', peer: a.peer, handle: a.handles[0], message: text('first waiter'), timeoutMs: 50 }),
    );
    const held = expectPending(
      w.do({
        op: 'send',
        peer: b.peer,
        handle: b.handles[0],
        message: { segments: [], transfers: [{ handle: lent }] },
        timeoutMs: 50,
      }),
    );
    w.ok({ op: 'revoke', peer: b.peer, handle: bn });
    assert.equal(w.completion(held), undefined, 'held back behind the first waiter, it is not examined');
    w.receive(o, 1); // room for one: the first waiter goes, and the held-back one is examined
    assert.deepEqual(w.completion(held)?.result, { ok: false, error: 'REVOKED' });
  });
});

describe('v2: the ends of counters and of the clock', () => {
  it('a table out of names fails TABLE_FULL, counting the handles in flight to it, instead of wrapping [BOUND-3, HANDLE-2]', () => {
    const { w, owner, node, other, to } = pair();
    w.state.peers[owner].nextName = 2 ** 53 - 2; // two names left: 2^53-2 and 2^53-1
    const own = w.node(other);
    w.ok({ op: 'send', peer: other, handle: to, message: { segments: [], transfers: [{ handle: own }] } });
    w.ok({ op: 'mint', peer: owner, handle: node, rights: [] });
    w.fails({ op: 'mint', peer: owner, handle: node, rights: [] }, 'TABLE_FULL'); // the last name is the one in flight's
    w.fails({ op: 'call', peer: other, handle: to, message: text('q') }, 'TABLE_FULL');
    const got = w.receive(owner);
    assert.equal(got[0].kind === 'message' && got[0].handles[0].name, Number.MAX_SAFE_INTEGER);
    w.fails({ op: 'createNode', peer: owner }, 'TABLE_FULL');
  });

  it('peer ids and tickets do not wrap either: attach fails TABLE_FULL, a call TOO_MANY_PENDING [BOUND-3, PEER-1, TIME-2]', () => {
    const { w, other, to } = pair();
    w.state.nextPeer = 2 ** 53;
    w.fails({ op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } }, 'TABLE_FULL');
    // Straight through step: the invariant monitor keeps its tickets in a table sized for real runs.
    const s = { ...w.state, nextTicket: Number.MAX_SAFE_INTEGER };
    const last = step(s, { op: 'call', peer: other, handle: to, message: text('last') });
    assert.equal(expectPending(last.result), 2 ** 53 - 1);
    const none = step(last.state, { op: 'call', peer: other, handle: to, message: text('none left') });
    expectError(none.result, 'TOO_MANY_PENDING');
    expectUnchanged(last.state, none.state);
  });

  it('the clock stops at 2^53-1: a tick past it fails INVALID_ARGUMENT, and a deadline beyond it is none [TIME-3, TIME-1]', () => {
    const { w, other, to } = pair();
    w.ok({ op: 'tick', ms: Number.MAX_SAFE_INTEGER - 10 });
    const ticket = expectPending(w.do({ op: 'call', peer: other, handle: to, message: text('q'), timeoutMs: 20 }));
    const waiting = expectPending(w.do({ op: 'receive', peer: other, max: 1, timeoutMs: 5 }));
    w.fails({ op: 'tick', ms: 11 }, 'INVALID_ARGUMENT');
    assert.deepEqual(w.ok({ op: 'tick', ms: 10 }), { nowMs: Number.MAX_SAFE_INTEGER });
    assert.deepEqual(w.completion(waiting)?.result, { ok: true, value: { deliveries: [] } });
    assert.equal(w.completion(ticket), undefined, 'a deadline past the end of the clock never comes');
    w.ok({ op: 'tick', ms: 0 });
    w.fails({ op: 'tick', ms: 1 }, 'INVALID_ARGUMENT');
  });
});

describe('v2: arguments read once, whatever a caller passes', () => {
  const base = pair();
  const attempt = (op: Operation) => step(base.w.state, op);

  it('non-canonical base64 fails INVALID_ARGUMENT, so one byte string has one wire form [SEND-2, ERR-1]', () => {
    for (const seg of ['AB==', 'AAB=', 'A===', 'abc'])
      expectError(
        attempt({ op: 'send', peer: base.other, handle: base.to, message: { segments: [seg] } }).result,
        'INVALID_ARGUMENT',
      );
    expectOk(
      attempt({ op: 'send', peer: base.other, handle: base.to, message: { segments: ['AA==', 'AAA='] } }).result,
    );
  });

  it('lists with holes fail INVALID_ARGUMENT and change nothing: segments, transfers, multicast destinations, bootstrap grants [ERR-1, SEND-2, MCAST-1, BUS-3]', () => {
    const holey = <T>(...xs: T[]): T[] => {
      const a = [...xs, xs[0]];
      delete a[0];
      return a;
    };
    const ops: Operation[] = [
      { op: 'send', peer: base.other, handle: base.to, message: { segments: holey('QQ==') } },
      {
        op: 'send',
        peer: base.other,
        handle: base.to,
        message: { segments: [], transfers: holey({ handle: base.to }) },
      },
      { op: 'multicast', peer: base.other, handles: holey(base.to), message: { segments: [] } },
      {
        op: 'attach',
        credentials: { uid: 1, gid: 1, pid: 1 },
        bootstrap: holey({ fromPeer: base.owner, handle: base.node }),
      },
      { op: 'mint', peer: base.other, handle: base.to, rights: holey<'send'>('send') },
    ];
    for (const op of ops) {
      const out = attempt(op);
      expectError(out.result, 'INVALID_ARGUMENT', op.op);
      expectUnchanged(base.w.state, out.state);
    }
  });

  it('a getter is read once: a transfer list that changes between reads cannot pass the duplicate check and then act twice [ATOMIC-1, SEND-5]', () => {
    let reads = 0;
    const message = {
      segments: [],
      get transfers() {
        reads++;
        return reads === 1 ? [{ handle: base.to }, { handle: base.to }] : [{ handle: base.to }];
      },
    };
    const out = attempt({ op: 'send', peer: base.other, handle: base.to, message } as never);
    expectError(out.result, 'INVALID_ARGUMENT');
    assert.equal(reads, 1);
  });

  it('anything that is no operation at all fails INVALID_ARGUMENT, never an exception [ERR-1]', () => {
    const s = initialState();
    for (const op of [null, undefined, 7, 'send', [], {}, { op: 'toString' }, { op: 'send', peer: 1 }])
      expectError(step(s, op as never).result, 'INVALID_ARGUMENT', JSON.stringify(op));
  });
});
