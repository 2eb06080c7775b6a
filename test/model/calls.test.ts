// Handwritten scenarios on the formal model for calls and multicast under real servers and
// groups: cancel, abandoned calls, replyReceive, one meaning of timeouts, multicast that skips
// full destinations, room notices, and credentials keys. Every step is checked by the
// invariant monitor (test/helpers.ts World).
import { strict as assert } from 'assert';
import type { CallDelivery, Delivery, MessageDelivery, Notice, NoticeDelivery } from '../../spec/types';
import { World, expectError, expectOk, expectPending, text } from '../helpers';

const notices = (ds: Delivery[]): Notice[] =>
  ds.filter((d): d is NoticeDelivery => d.kind === 'notice').map((d) => d.notice);
const payloads = (ds: Delivery[]) =>
  ds.filter((d): d is MessageDelivery => d.kind === 'message').map((d) => Buffer.from(d.payload, 'base64').toString());

/** A server S with one node, a client C holding a send+grant handle to it, and a worker W S can reach. */
function rpc(limits = {}) {
  const w = new World(limits);
  const server = w.peer(100);
  const node = w.node(server);
  const {
    peer: client,
    handles: [toServer],
  } = w.attach([{ from: server, handle: node }], 200);
  const {
    peer: worker,
    handles: [workerToServer],
  } = w.attach([{ from: server, handle: node }], 300);
  const inbox = w.node(worker);
  const toWorker = w.give(worker, inbox, workerToServer, server);
  return { w, server, node, client, toServer, worker, inbox, toWorker };
}

describe('cancel', () => {
  it('cancel ends a pending call, blocked send or waiting receive with CANCELLED, in the same step; any other ticket answers false and changes nothing [CANCEL-1, CANCEL-2]', () => {
    const { w, server, client, toServer } = rpc({ senderQuotaMessages: 2 });
    const call = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q') }));
    w.ok({ op: 'send', peer: client, handle: toServer, message: text('fills') });
    const own = w.node(client);
    const send = expectPending(
      w.do({
        op: 'send',
        peer: client,
        handle: toServer,
        message: { segments: [], transfers: [{ handle: own, move: true }] },
      }),
    );
    const recv = expectPending(w.do({ op: 'receive', peer: client, max: 4 }));
    for (const [ticket, op] of [
      [send, 'send'],
      [recv, 'receive'],
      [call, 'call'],
    ] as const) {
      assert.deepEqual(w.ok({ op: 'cancel', peer: client, ticket }), { cancelled: true });
      assert.deepEqual(w.last.completions, [{ ticket, peer: client, op, result: { ok: false, error: 'CANCELLED' } }]);
    }
    // The blocked send moved nothing; the call's message was withdrawn (CALL-8).
    w.ok({ op: 'mint', peer: client, handle: own, rights: [] });
    assert.deepEqual(payloads(w.receive(server)), ['fills']);
    // Completed, never issued, or another peer's: false, and nothing changes.
    const other = expectPending(w.do({ op: 'receive', peer: server, max: 1 }));
    for (const ticket of [call, 999, other]) {
      const before = w.state;
      assert.deepEqual(w.ok({ op: 'cancel', peer: client, ticket }), { cancelled: false });
      assert.deepStrictEqual(w.state, before);
    }
    w.fails({ op: 'cancel', peer: client, ticket: -1 }, 'INVALID_ARGUMENT');
    w.fails({ op: 'cancel', peer: client, ticket: 1.5 }, 'INVALID_ARGUMENT');
  });

  it('whichever of a cancel and a reply comes first decides: a reply after the cancel fails CALLER_GONE, a cancel after the reply answers false [CANCEL-3, CALL-4, INV-6]', () => {
    const { w, server, client, toServer } = rpc();
    const first = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('one') }));
    const second = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('two') }));
    const [c1, c2] = w.receive(server) as CallDelivery[];
    assert.deepEqual(w.ok({ op: 'cancel', peer: client, ticket: first }), { cancelled: true });
    w.fails({ op: 'reply', peer: server, handle: c1.replyHandle, message: text('late') }, 'CALLER_GONE');
    w.ok({ op: 'reply', peer: server, handle: c2.replyHandle, message: text('in time') });
    assert.deepEqual(w.ok({ op: 'cancel', peer: client, ticket: second }), { cancelled: false });
    expectOk(w.completion(second)!.result);
    expectError(w.completion(first)!.result, 'CANCELLED');
    assert.equal(w.completions.filter((c) => c.ticket === first || c.ticket === second).length, 2);
  });

  it('a cancel that withdraws a call message frees room, and a blocked send takes it in the same step [CANCEL-2, CALL-8, SEND-7]', () => {
    const { w, server, node, client, toServer } = rpc({ queueCapacityMessages: 1 });
    const call = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q') }));
    const {
      peer: other,
      handles: [h],
    } = w.attach([{ from: server, handle: node }], 400);
    const blocked = expectPending(w.do({ op: 'send', peer: other, handle: h, message: text('waits') }));
    w.ok({ op: 'cancel', peer: client, ticket: call });
    assert.deepEqual(
      w.last.completions.map((c) => c.ticket),
      [call, blocked],
    );
    assert.deepEqual(payloads(w.receive(server)), ['waits']);
  });
});

describe('abandoned calls', () => {
  it('a call that times out before it is received is withdrawn: the server receives nothing, and what it carried is released [CALL-8, ORDER-1, INV-13]', () => {
    const { w, server, client, toServer } = rpc({ senderQuotaMessages: 1 });
    const own = w.node(client);
    const call = {
      op: 'call' as const,
      peer: client,
      handle: toServer,
      message: { segments: [], transfers: [{ handle: own }] },
    };
    expectPending(w.do({ ...call, timeoutMs: 5 }));
    w.fails(call, 'QUEUE_FULL'); // the quota holds it
    w.ok({ op: 'tick', ms: 5 });
    expectError(w.last.completions[0].result, 'TIMED_OUT');
    assert.deepEqual(w.receive(server), []);
    // The handle the withdrawn call carried was released, so the client's node has no senders left; and the
    // room the withdrawal freed owes the refused client a room notice, at the end of the step (QUOTA-5).
    assert.deepEqual(notices(w.receive(client)), [
      { type: 'no-senders', node: own, derivedCount: 1 },
      { type: 'room', handle: toServer },
    ]);
  });

  it('a call abandoned after it was received tells the holder of its reply handle once; a late reply fails CALLER_GONE [CALL-8, CALL-9, CALL-4, NOTICE-1]', () => {
    const { w, server, client, toServer } = rpc();
    expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q'), timeoutMs: 3 }));
    const [c] = w.receive(server) as CallDelivery[];
    w.ok({ op: 'tick', ms: 3 });
    assert.deepEqual(notices(w.receive(server)), [{ type: 'call-abandoned', handle: c.replyHandle }]);
    w.fails({ op: 'reply', peer: server, handle: c.replyHandle, message: text('late') }, 'CALLER_GONE');
    w.fails({ op: 'reply', peer: server, handle: c.replyHandle, message: text('again') }, 'BAD_HANDLE');
  });

  it("an abandoned reply handle cannot travel, and its notice holds the handle's slot after it is released [CALL-9, SEND-6, NOTICE-4, HANDLE-1]", () => {
    const { w, server, client, toServer, toWorker } = rpc({ maxHandlesPerPeer: 4 });
    expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q') }));
    const [c] = w.receive(server) as CallDelivery[];
    w.ok({ op: 'close', peer: client }); // CLOSE-1: the call resolves CLOSED and is abandoned
    w.fails(
      {
        op: 'send',
        peer: server,
        handle: toWorker,
        message: { segments: [], transfers: [{ handle: c.replyHandle, move: true }] },
      },
      'CALLER_GONE',
    );
    w.ok({ op: 'release', peer: server, handle: c.replyHandle });
    // Table: root, toWorker, and the slot the unread notice holds: one name left.
    w.node(server);
    w.fails({ op: 'createNode', peer: server }, 'TABLE_FULL');
    assert.deepEqual(notices(w.receive(server)), [{ type: 'call-abandoned', handle: c.replyHandle }]);
    w.node(server);
  });

  it('a reply handle abandoned while it travels arrives flagged, without a name and without a notice [CALL-9, RECV-3]', () => {
    const { w, server, client, toServer, worker, toWorker } = rpc();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q') }));
    const [c] = w.receive(server) as CallDelivery[];
    w.ok({
      op: 'send',
      peer: server,
      handle: toWorker,
      message: { segments: [], transfers: [{ handle: c.replyHandle, move: true }] },
    });
    w.ok({ op: 'cancel', peer: client, ticket: t });
    const [d] = w.receive(worker) as MessageDelivery[];
    assert.deepEqual(d.handles, [{ name: null, kind: 'reply', rights: [], state: 'abandoned' }]);
    assert.deepEqual(notices(w.receive(server)), []);
    assert.deepEqual(w.state.calls, {});
  });

  it("a call whose reply handle was delegated survives its node's destruction, and the worker's reply still reaches the caller [DESTROY-4, CALL-5, CALL-2]", () => {
    const { w, server, node, client, toServer, worker, toWorker } = rpc();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('6 x 7?') }));
    const [c] = w.receive(server) as CallDelivery[];
    w.ok({
      op: 'send',
      peer: server,
      handle: toWorker,
      message: { segments: [], transfers: [{ handle: c.replyHandle, move: true }] },
    });
    w.ok({ op: 'destroyNode', peer: server, handle: node });
    assert.equal(w.completion(t), undefined);
    const [d] = w.receive(worker) as MessageDelivery[];
    w.ok({ op: 'reply', peer: worker, handle: d.handles[0].name!, message: text('42') });
    assert.equal(Buffer.from(expectOk(w.completion(t)!.result).reply.payload, 'base64').toString(), '42');
  });
});

describe('replyReceive', () => {
  it('replyReceive answers and then receives in one step: the reply reaches the caller and the next request is taken [CALL-10, CALL-3, RECV-1]', () => {
    const { w, server, client, toServer } = rpc();
    const t1 = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('1') }));
    const [c1] = w.receive(server) as CallDelivery[];
    const t2 = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('2') }));
    const got = w.ok<{ deliveries: Delivery[] }>({
      op: 'replyReceive',
      peer: server,
      handle: c1.replyHandle,
      message: text('a1'),
      max: 4,
    });
    expectOk(w.completion(t1)!.result);
    assert.equal(got.deliveries.length, 1);
    const c2 = got.deliveries[0] as CallDelivery;
    // An empty queue: the receive half waits (no limit, TIME-4), and completes as a receive.
    const wait = expectPending(
      w.do({ op: 'replyReceive', peer: server, handle: c2.replyHandle, message: text('a2'), max: 4 }),
    );
    expectOk(w.completion(t2)!.result);
    w.ok({ op: 'send', peer: client, handle: toServer, message: text('next') });
    assert.equal(w.completion(wait)!.op, 'receive');
  });

  it("the reply half comes before the receive half: a no-senders notice the reply's handles make untrue is never received [CALL-10, NOTICE-6]", () => {
    const { w, server, client, toServer } = rpc();
    const spare = w.node(server);
    w.ok({
      op: 'release',
      peer: server,
      handle: w.ok({ op: 'mint', peer: server, handle: spare, rights: ['send'] }).handle,
    });
    expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q') }));
    const [notice, c] = w.receive(server, 1).concat(w.receive(server, 1)) as [NoticeDelivery, CallDelivery];
    assert.equal(notice.notice.type, 'no-senders');
    w.ok({
      op: 'release',
      peer: server,
      handle: w.ok({ op: 'mint', peer: server, handle: spare, rights: ['send'] }).handle,
    });
    const got = w.ok<{ deliveries: Delivery[] }>({
      op: 'replyReceive',
      peer: server,
      handle: c.replyHandle,
      message: { segments: [], transfers: [{ handle: spare, rights: ['send'] }] },
      max: 4,
      timeoutMs: 0,
    });
    assert.deepEqual(got.deliveries, []);
  });

  it('a replyReceive through an abandoned reply handle drops the reply and still receives; a failing one changes nothing [CALL-10, CALL-9, ATOMIC-1]', () => {
    const { w, server, client, toServer, toWorker } = rpc({ maxPendingPerPeer: 1 });
    expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q'), timeoutMs: 1 }));
    const [c] = w.receive(server) as CallDelivery[];
    w.ok({ op: 'tick', ms: 1 });
    w.fails(
      { op: 'replyReceive', peer: server, handle: c.replyHandle, message: text('x'), max: 0 },
      'INVALID_ARGUMENT',
    );
    w.fails({ op: 'replyReceive', peer: server, handle: 999, message: text('x'), max: 1 }, 'BAD_HANDLE');
    const got = w.ok<{ deliveries: Delivery[] }>({
      op: 'replyReceive',
      peer: server,
      handle: c.replyHandle,
      message: text('late'),
      max: 4,
    });
    assert.deepEqual(notices(got.deliveries), [{ type: 'call-abandoned', handle: c.replyHandle }]);
    w.fails({ op: 'reply', peer: server, handle: c.replyHandle, message: text('x') }, 'BAD_HANDLE');
    // The receive half would wait: it needs a place among the pending operations (BOUND-2).
    expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('q2') }));
    const [c2] = w.receive(server) as CallDelivery[];
    expectPending(w.do({ op: 'call', peer: server, handle: toWorker, message: text('the server waits too') }));
    w.fails(
      { op: 'replyReceive', peer: server, handle: c2.replyHandle, message: text('a'), max: 1 },
      'TOO_MANY_PENDING',
    );
    w.ok({ op: 'replyReceive', peer: server, handle: c2.replyHandle, message: text('a'), max: 1, timeoutMs: 0 });
  });
});

describe('timeouts', () => {
  it('timeoutMs left out waits without limit and 0 does not wait, for send, receive and call alike [TIME-4, SEND-7, RECV-2, CALL-1]', () => {
    const { w, server, client, toServer } = rpc({ senderQuotaMessages: 1 });
    w.ok({ op: 'send', peer: client, handle: toServer, message: text('fills') });
    w.fails({ op: 'send', peer: client, handle: toServer, message: text('no wait'), timeoutMs: 0 }, 'QUEUE_FULL');
    const forever = expectPending(w.do({ op: 'send', peer: client, handle: toServer, message: text('waits') }));
    assert.deepEqual(w.receive(client), []);
    const recv = expectPending(w.do({ op: 'receive', peer: client, max: 1 }));
    w.ok({ op: 'tick', ms: 1_000_000 });
    assert.equal(w.completion(forever), undefined);
    assert.equal(w.completion(recv), undefined);
    w.fails({ op: 'call', peer: client, handle: toServer, message: text('probe'), timeoutMs: 0 }, 'QUEUE_FULL');
    w.receive(server);
    expectOk(w.completion(forever)!.result);
    w.receive(server);
    w.fails({ op: 'call', peer: client, handle: toServer, message: text('probe'), timeoutMs: 0 }, 'TIMED_OUT');
    assert.deepEqual(w.receive(server), []);
  });
});

describe('multicast to real groups, and room notices', () => {
  /** A publisher holding a handle to each of two subscribers' nodes; the second never reads. */
  function group(limits = {}) {
    const w = new World(limits);
    const subs = [1, 2].map((i) => {
      const peer = w.peer(10 + i);
      return { peer, node: w.node(peer) };
    });
    const { peer: pub, handles } = w.attach(
      subs.map((s) => ({ from: s.peer, handle: s.node })),
      1,
    );
    return { w, pub, subs, handles };
  }

  it('two subscribers, one never reading: the reading one gets every multicast and each result names the full one [MCAST-6, MCAST-1]', () => {
    const { w, pub, subs, handles } = group({ senderQuotaMessages: 2 });
    const results: number[][] = [];
    for (let i = 0; i < 5; i++) {
      results.push(
        w.ok<{ full: number[] }>({ op: 'multicast', peer: pub, handles, message: text(`m${i}`), skipFull: true }).full,
      );
      assert.deepEqual(payloads(w.receive(subs[0].peer)), [`m${i}`]);
    }
    assert.deepEqual(results, [[], [], [handles[1]], [handles[1]], [handles[1]]]);
    w.fails({ op: 'multicast', peer: pub, handles, message: text('all or nothing') }, 'QUEUE_FULL');
    w.fails({ op: 'multicast', peer: pub, handles, message: text('x'), skipFull: 1 as never }, 'INVALID_ARGUMENT');
  });

  it('a sender refused for room gets one room notice once that queue has room for what was refused, however many refusals came before [QUOTA-5, NOTICE-1]', () => {
    const { w, pub, subs, handles } = group({ senderQuotaMessages: 1 });
    w.ok({ op: 'send', peer: pub, handle: handles[1], message: text('fills') });
    w.fails({ op: 'send', peer: pub, handle: handles[1], message: text('a'), timeoutMs: 0 }, 'QUEUE_FULL');
    w.ok<{ full: number[] }>({ op: 'multicast', peer: pub, handles, message: text('b'), skipFull: true });
    w.fails({ op: 'call', peer: pub, handle: handles[1], message: text('c') }, 'QUEUE_FULL');
    assert.equal(w.state.roomWatches.length, 1);
    assert.deepEqual(notices(w.receive(pub)), []);
    w.receive(subs[1].peer, 1);
    assert.deepEqual(notices(w.receive(pub)), [{ type: 'room', handle: handles[1] }]);
    assert.deepEqual(w.state.roomWatches, []);
    // A send that waits for room is not refused and arms nothing.
    w.ok({ op: 'send', peer: pub, handle: handles[1], message: text('fills again') });
    expectPending(w.do({ op: 'send', peer: pub, handle: handles[1], message: text('waits') }));
    assert.deepEqual(w.state.roomWatches, []);
  });

  it("a room notice about a peer that closes is withdrawn, so a sender's notices stay bounded while peers come and go [QUOTA-5, NOTICE-4, CLOSE-4, BOUND-1]", () => {
    const w = new World({ senderQuotaMessages: 1, maxPeers: 2 });
    const pub = w.peer(1);
    const pubNode = w.node(pub);
    for (let round = 0; round < 20; round++) {
      const {
        peer: sub,
        handles: [toPub],
      } = w.attach([{ from: pub, handle: pubNode }], 2);
      const h = w.give(sub, w.node(sub), toPub, pub);
      w.ok({ op: 'send', peer: pub, handle: h, message: text('fills') });
      w.fails({ op: 'send', peer: pub, handle: h, message: text('refused'), timeoutMs: 0 }, 'QUEUE_FULL');
      w.receive(sub, 1); // room: the notice goes to pub ...
      assert.equal(w.state.peers[pub].queue.filter((e) => e.notice?.type === 'room').length, 1);
      w.ok({ op: 'close', peer: sub }); // ... and is withdrawn when the queue it is about goes away
      assert.deepEqual(
        notices(w.receive(pub)).map((n) => n.type),
        ['node-destroyed', 'no-senders'],
      );
      w.ok({ op: 'release', peer: pub, handle: h });
    }
  });
});

describe('credentials', () => {
  it('credentials carry a peerKey never reused, so a later peer with the same pid is told apart [CRED-2, PEER-1]', () => {
    const w = new World();
    const owner = w.peer(1);
    const node = w.node(owner, true);
    const keys: number[] = [];
    for (let i = 0; i < 2; i++) {
      const {
        peer,
        handles: [h],
      } = w.attach([{ from: owner, handle: node }], 777);
      w.ok({ op: 'send', peer, handle: h, message: text('hi') });
      const [d] = w.receive(owner) as MessageDelivery[];
      assert.deepEqual({ ...d.credentials, peerKey: 0 }, { uid: 777, gid: 777, pid: 7770, peerKey: 0 });
      keys.push(d.credentials!.peerKey);
      w.ok({ op: 'close', peer });
    }
    assert.notEqual(keys[0], keys[1]);
  });

  it('a caller that asks gets the credentials of whoever answered, a delegate included, with no opt-in by the replier [CRED-3, CALL-5, DELIVER-1]', () => {
    const { w, server, client, toServer, worker, toWorker } = rpc();
    const asked = expectPending(
      w.do({ op: 'call', peer: client, handle: toServer, message: text('who?'), replierCredentials: true }),
    );
    const plain = expectPending(w.do({ op: 'call', peer: client, handle: toServer, message: text('anon') }));
    const [c1, c2] = w.receive(server) as CallDelivery[];
    w.ok({
      op: 'send',
      peer: server,
      handle: toWorker,
      message: { segments: [], transfers: [{ handle: c1.replyHandle, move: true }] },
    });
    const [d] = w.receive(worker) as MessageDelivery[];
    w.ok({ op: 'reply', peer: worker, handle: d.handles[0].name!, message: text('me') });
    w.ok({ op: 'reply', peer: server, handle: c2.replyHandle, message: text('me too') });
    assert.deepEqual(expectOk(w.completion(asked)!.result).reply.credentials, {
      uid: 300,
      gid: 300,
      pid: 3000,
      peerKey: worker,
    });
    assert.equal('credentials' in expectOk(w.completion(plain)!.result).reply, false);
    w.fails(
      { op: 'call', peer: client, handle: toServer, message: text('x'), replierCredentials: 'yes' as never },
      'INVALID_ARGUMENT',
    );
  });
});
