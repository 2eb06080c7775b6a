// Handwritten scenarios, clause by clause, on the formal model. Every step is
// checked by the invariant monitor (test/helpers.ts World).
import { strict as assert } from 'assert';
import type { CallDelivery, Delivery, MessageDelivery, NoticeDelivery } from '../../spec/types';
import { World, expectError, expectOk, expectPending, text } from '../helpers';

const notices = (ds: Delivery[]) => ds.filter((d): d is NoticeDelivery => d.kind === 'notice').map((d) => d.notice);
const messages = (ds: Delivery[]) => ds.filter((d): d is MessageDelivery => d.kind === 'message');

/** A service with one node and a client holding a send+grant handle to it. */
function serviceAndClient(limits = {}) {
  const w = new World(limits);
  const service = w.peer(100);
  const node = w.node(service);
  const {
    peer: client,
    handles: [toService],
  } = w.attach([{ from: service, handle: node }], 200);
  return { w, service, node, client, toService };
}

/** Like serviceAndClient, plus a node the client owns and the service holds a handle to. */
function twoWay(limits = {}) {
  const ctx = serviceAndClient(limits);
  const { w, service, client, toService } = ctx;
  const clientNode = w.node(client);
  const toClient = w.give(client, clientNode, toService, service);
  return { ...ctx, clientNode, toClient };
}

describe('bus and peers', () => {
  it('a bus is created with default limits that can be overridden [BUS-1]', () => {
    const w = new World({ maxPayloadBytes: 10 });
    assert.equal(w.state.limits.maxPayloadBytes, 10);
    assert.equal(w.state.limits.maxPeers, 64);
  });
  it('attach gives a peer id never issued before, even after close (the model counts up) [BUS-2, PEER-1]', () => {
    const w = new World();
    const a = w.peer();
    w.ok({ op: 'close', peer: a });
    const b = w.peer();
    assert.ok(b > a);
  });
  it('attach fails TABLE_FULL when maxPeers peers are open [BUS-2]', () => {
    const w = new World({ maxPeers: 2 });
    w.peer();
    w.peer();
    w.fails({ op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } }, 'TABLE_FULL');
  });
  it('bootstrap grants derive attenuated, badged handles from live node handles [BUS-3]', () => {
    const w = new World();
    const s = w.peer();
    const n = w.node(s);
    const { handles } = w.attach([{ from: s, handle: n, rights: ['send'], badge: 9 }]);
    assert.equal(handles.length, 1);
    w.fails(
      { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 }, bootstrap: [{ fromPeer: s, handle: 99 }] },
      'BAD_HANDLE',
    );
    w.fails(
      { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 }, bootstrap: [{ fromPeer: 77, handle: n }] },
      'INVALID_ARGUMENT',
    );
    const c = w.peer();
    const sendOnly = w.ok<{ handle: number }>({ op: 'mint', peer: s, handle: n, rights: ['send'] }).handle;
    w.fails(
      {
        op: 'attach',
        credentials: { uid: 1, gid: 1, pid: 1 },
        bootstrap: [{ fromPeer: s, handle: sendOnly, rights: ['grant'] }],
      },
      'NO_RIGHTS',
    );
    void c;
  });
  it('every operation of a closed peer fails CLOSED, and an unknown peer id INVALID_ARGUMENT [PEER-2, CLOSE-4]', () => {
    const w = new World();
    const a = w.peer();
    w.ok({ op: 'close', peer: a });
    w.fails({ op: 'createNode', peer: a }, 'CLOSED');
    w.fails({ op: 'close', peer: a }, 'CLOSED');
    w.fails({ op: 'createNode', peer: 42 }, 'INVALID_ARGUMENT');
  });
});

describe('nodes and handles', () => {
  it('createNode returns a root handle with all rights and no badge, named in deliveries [NODE-1, NODE-3, DELIVER-1]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    w.ok({ op: 'send', peer: client, handle: toService, message: text('hi') });
    const [d] = w.receive(service) as MessageDelivery[];
    assert.equal(d.node, node);
    assert.equal(d.badge, 0);
    assert.deepEqual(d.handles, []);
  });
  it('createNode fails TABLE_FULL when the table is full [NODE-1, HANDLE-1]', () => {
    const w = new World({ maxHandlesPerPeer: 1 });
    const a = w.peer();
    w.node(a);
    w.fails({ op: 'createNode', peer: a }, 'TABLE_FULL');
  });
  it('a destroyed node never comes back: its handles stay dead [NODE-2, HANDLE-6]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    w.ok({ op: 'destroyNode', peer: service, handle: node });
    w.fails({ op: 'send', peer: client, handle: toService, message: text('x') }, 'DEAD');
    w.fails({ op: 'mint', peer: client, handle: toService, rights: [] }, 'DEAD');
  });
  it("handles in flight hold a slot in the receiver's table, so receive never fails [HANDLE-1]", () => {
    const { w, service, client, toService } = serviceAndClient({ maxHandlesPerPeer: 2 });
    const own = w.node(client);
    w.ok({ op: 'send', peer: client, handle: toService, message: { segments: [], transfers: [{ handle: own }] } });
    // service: root + one in flight = 2 slots used
    w.fails({ op: 'createNode', peer: service }, 'TABLE_FULL');
    w.fails(
      { op: 'send', peer: client, handle: toService, message: { segments: [], transfers: [{ handle: own }] } },
      'TABLE_FULL',
    );
    expectOk(w.do({ op: 'receive', peer: service, max: 8 }));
  });
  it('names are never reused: a released name stays unresolvable while new names keep increasing [HANDLE-2, RELEASE-1, INV-8]', () => {
    const w = new World();
    const a = w.peer();
    const n1 = w.node(a);
    w.ok({ op: 'release', peer: a, handle: n1 });
    const n2 = w.node(a);
    assert.ok(n2 > n1);
    w.fails({ op: 'mint', peer: a, handle: n1, rights: [] }, 'BAD_HANDLE');
    w.fails({ op: 'release', peer: a, handle: n1 }, 'BAD_HANDLE');
  });
  it("another peer's names and never-issued names fail BAD_HANDLE [HANDLE-3]", () => {
    const { w, client, node } = serviceAndClient();
    w.fails({ op: 'send', peer: client, handle: 4242, message: text('x') }, 'BAD_HANDLE');
    // The service's node name means nothing in the client's table unless the client happens to own that name.
    const foreign = node + 1000;
    w.fails({ op: 'revoke', peer: client, handle: foreign }, 'BAD_HANDLE');
  });
  it('send needs the send right; transfer needs the grant right [HANDLE-4, SEND-1, SEND-4]', () => {
    const { w, service, node, client } = serviceAndClient();
    const grantOnly = w.ok<{ handle: number }>({ op: 'mint', peer: service, handle: node, rights: ['grant'] }).handle;
    const {
      peer: other,
      handles: [g],
    } = w.attach([{ from: service, handle: grantOnly }]);
    w.fails({ op: 'send', peer: other, handle: g, message: text('x') }, 'NO_RIGHTS');
    const sendOnly = w.ok<{ handle: number }>({ op: 'mint', peer: service, handle: node, rights: ['send'] }).handle;
    const {
      peer: third,
      handles: [s3],
    } = w.attach([{ from: service, handle: sendOnly }]);
    const own = w.node(third);
    const ownSendOnly = w.ok<{ handle: number }>({ op: 'mint', peer: third, handle: own, rights: ['send'] }).handle;
    w.fails(
      { op: 'send', peer: third, handle: s3, message: { segments: [], transfers: [{ handle: ownSendOnly }] } },
      'NO_RIGHTS',
    );
    void client;
  });
  it('a reply handle used as a node handle, or the reverse, fails WRONG_KIND [HANDLE-5]', () => {
    const { w, service, client, toService } = serviceAndClient();
    expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('q') }));
    const [c] = w.receive(service) as CallDelivery[];
    w.fails({ op: 'send', peer: service, handle: c.replyHandle, message: text('x') }, 'WRONG_KIND');
    w.fails({ op: 'reply', peer: client, handle: toService, message: text('x') }, 'WRONG_KIND');
  });
});

describe('mint, release, revoke', () => {
  it('mint derives a child in the same table [MINT-1]', () => {
    const { w, client, toService } = serviceAndClient();
    const child = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: toService, rights: ['send'] }).handle;
    assert.notEqual(child, toService);
    w.ok({ op: 'send', peer: client, handle: child, message: text('x') });
  });
  it('rights are never amplified along an introduction chain [MINT-2, SEND-4, INV-2]', () => {
    const { w, service, node } = serviceAndClient();
    const sendOnly = w.ok<{ handle: number }>({ op: 'mint', peer: service, handle: node, rights: ['send'] }).handle;
    const {
      peer: a,
      handles: [h],
    } = w.attach([{ from: service, handle: sendOnly }]);
    w.fails({ op: 'mint', peer: a, handle: h, rights: ['send', 'grant'] }, 'NO_RIGHTS');
    w.fails({ op: 'mint', peer: a, handle: h, rights: ['grant'] }, 'NO_RIGHTS');
    w.ok({ op: 'mint', peer: a, handle: h, rights: [] });
  });
  it('a rights list must hold only send and grant: a hole in a sparse array is invalid, not a right [MINT-1, SEND-4]', () => {
    const { w, client, toService } = serviceAndClient();
    const sparse = ['send'] as ('send' | 'grant')[];
    sparse[2] = 'send'; // index 1 is a hole
    w.fails({ op: 'mint', peer: client, handle: toService, rights: sparse }, 'INVALID_ARGUMENT');
    w.fails(
      {
        op: 'send',
        peer: client,
        handle: toService,
        message: { segments: [], transfers: [{ handle: toService, rights: sparse }] },
      },
      'INVALID_ARGUMENT',
    );
  });
  it('a badge is fixed once set and inherited by descendants [MINT-3, DELIVER-1]', () => {
    const { w, service, client, toService } = serviceAndClient();
    const badged = w.ok<{ handle: number }>({
      op: 'mint',
      peer: client,
      handle: toService,
      rights: ['send', 'grant'],
      badge: 7,
    }).handle;
    w.fails({ op: 'mint', peer: client, handle: badged, rights: ['send'], badge: 8 }, 'NO_RIGHTS');
    w.fails({ op: 'mint', peer: client, handle: toService, rights: ['send'], badge: 0 }, 'INVALID_ARGUMENT');
    w.fails({ op: 'mint', peer: client, handle: toService, rights: ['send'], badge: 2 ** 53 }, 'INVALID_ARGUMENT');
    const child = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: badged, rights: ['send'] }).handle;
    w.ok({ op: 'send', peer: client, handle: child, message: text('x') });
    const [d] = w.receive(service) as MessageDelivery[];
    assert.equal(d.badge, 7);
    const big = w.ok<{ handle: number }>({
      op: 'mint',
      peer: client,
      handle: toService,
      rights: ['send'],
      badge: Number.MAX_SAFE_INTEGER,
    }).handle;
    w.ok({ op: 'send', peer: client, handle: big, message: text('y') });
    assert.equal((w.receive(service)[0] as MessageDelivery).badge, Number.MAX_SAFE_INTEGER);
  });
  it('releasing a handle re-attaches its children to its parent, so revoke still reaches them [RELEASE-2, REVOKE-1]', () => {
    const { w, service, node } = serviceAndClient();
    const mid = w.ok<{ handle: number }>({ op: 'mint', peer: service, handle: node, rights: ['send', 'grant'] }).handle;
    const {
      peer: a,
      handles: [h],
    } = w.attach([{ from: service, handle: mid }]);
    w.ok({ op: 'release', peer: service, handle: mid });
    // the client's bootstrap handle and a's handle (now a child of the root)
    assert.equal(w.ok<{ revoked: number }>({ op: 'revoke', peer: service, handle: node }).revoked, 2);
    w.fails({ op: 'send', peer: a, handle: h, message: text('x') }, 'REVOKED');
  });
  it('releasing revoked and dead handles is allowed and frees the slot [RELEASE-3]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    w.ok({ op: 'revoke', peer: service, handle: node });
    w.ok({ op: 'release', peer: client, handle: toService });
    const {
      peer: b,
      handles: [h],
    } = w.attach([{ from: service, handle: node }]);
    w.ok({ op: 'destroyNode', peer: service, handle: node });
    w.ok({ op: 'release', peer: b, handle: h });
  });
  it("revoke reaches descendants in other peers' tables and in flight, and leaves the handle itself valid [REVOKE-1, REVOKE-2]", () => {
    const { w, service, node, client, toService, toClient } = twoWay();
    const cap = w.ok<{ handle: number }>({ op: 'mint', peer: service, handle: node, rights: ['send', 'grant'] }).handle;
    const held = w.give(service, cap, toClient, client);
    // one more copy in flight, never received yet
    w.ok({ op: 'send', peer: service, handle: toClient, message: { segments: [], transfers: [{ handle: cap }] } });
    const n = w.ok<{ revoked: number }>({ op: 'revoke', peer: service, handle: cap }).revoked;
    assert.equal(n, 2);
    const got = w.receive(client);
    assert.deepEqual(notices(got), [{ type: 'revoked', handle: held }]);
    const flagged = messages(got)[0].handles[0];
    assert.deepEqual(flagged, { name: null, kind: 'node', rights: ['send', 'grant'], state: 'revoked' });
    w.fails({ op: 'send', peer: client, handle: held, message: text('x') }, 'REVOKED');
    w.ok({ op: 'send', peer: service, handle: cap, message: text('still mine') });
    void toService;
  });
  it('revoke does not recall messages already queued through a revoked handle [REVOKE-3]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    w.ok({ op: 'send', peer: client, handle: toService, message: text('before') });
    w.ok({ op: 'revoke', peer: service, handle: node });
    const got = w.receive(service);
    assert.equal(messages(got).length, 1);
    void client;
  });
});

describe('destroy', () => {
  it('only the owner may destroy a node [DESTROY-1]', () => {
    const { w, client, toService } = serviceAndClient();
    w.fails({ op: 'destroyNode', peer: client, handle: toService }, 'NOT_OWNER');
  });
  it('destroy kills every other handle, with one node-destroyed notice per handle after earlier messages [DESTROY-2, ORDER-4, NOTICE-1]', () => {
    const { w, service, node, client, toService, toClient } = twoWay();
    const second = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: toService, rights: ['send'] }).handle;
    w.ok({ op: 'send', peer: service, handle: toClient, message: text('before') });
    w.ok({ op: 'destroyNode', peer: service, handle: node });
    const got = w.receive(client);
    assert.equal(got[0].kind, 'message');
    assert.deepEqual(notices(got), [
      { type: 'node-destroyed', handle: toService },
      { type: 'node-destroyed', handle: second },
    ]);
    w.fails({ op: 'mint', peer: service, handle: node, rights: [] }, 'BAD_HANDLE'); // consumed
  });
  it('queued messages to a destroyed node are discarded and the handles they carry released [DESTROY-3, INV-4]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    const own = w.node(client);
    const copy = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: own, rights: ['send', 'grant'] }).handle;
    w.ok({
      op: 'send',
      peer: client,
      handle: toService,
      message: { segments: [], transfers: [{ handle: copy, move: true }] },
    });
    w.ok({ op: 'destroyNode', peer: service, handle: node });
    assert.equal(w.state.peers[service].queue.filter((e) => e.kind !== 'notice').length, 0);
    // the carried handle was the last sender to the client's node: no-senders tells the client
    assert.deepEqual(
      notices(w.receive(client)).map((n) => n.type),
      ['node-destroyed', 'no-senders'],
    );
  });
  it('destroying a node discards its waiting no-senders notice, so create-mint-release-destroy cannot grow a queue [DESTROY-3, NOTICE-4]', () => {
    const w = new World();
    const a = w.peer(100);
    const keep = w.node(a);
    const kept = w.ok<{ handle: number }>({ op: 'mint', peer: a, handle: keep, rights: ['send'] }).handle;
    w.ok({ op: 'release', peer: a, handle: kept }); // a no-senders notice for a live node: it stays
    for (let i = 0; i < 50; i++) {
      const n = w.node(a);
      const h = w.ok<{ handle: number }>({ op: 'mint', peer: a, handle: n, rights: ['send'] }).handle;
      w.ok({ op: 'release', peer: a, handle: h });
      assert.equal(w.state.peers[a].queue.length, 2);
      w.ok({ op: 'destroyNode', peer: a, handle: n });
      assert.equal(w.state.peers[a].queue.length, 1);
    }
    assert.deepEqual(notices(w.receive(a)), [{ type: 'no-senders', node: keep, derivedCount: 1 }]);
  });
  it('destroy resolves DEAD only the calls still queued: a call already received survives and its reply still reaches the caller [DESTROY-4, CALL-2, CALL-5]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    const served = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('a') }));
    const queued = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('b') }));
    const [first] = w.receive(service, 1) as CallDelivery[];
    w.ok({ op: 'destroyNode', peer: service, handle: node });
    expectError(w.completion(queued)!.result, 'DEAD');
    assert.equal(w.completion(served), undefined, 'the call being served is still pending');
    w.ok({ op: 'reply', peer: service, handle: first.replyHandle, message: text('done anyway') });
    expectOk(w.completion(served)!.result);
  });
});

describe('send and backpressure', () => {
  it('segments are gathered into one payload, limited by maxPayloadBytes [SEND-2]', () => {
    const { w, service, client, toService } = serviceAndClient({ maxPayloadBytes: 5 });
    w.ok({ op: 'send', peer: client, handle: toService, message: { segments: ['aGU=', 'bGxv'] } });
    assert.equal(Buffer.from((w.receive(service)[0] as MessageDelivery).payload, 'base64').toString(), 'hello');
    w.fails({ op: 'send', peer: client, handle: toService, message: text('hello!') }, 'TOO_LARGE');
    w.fails({ op: 'send', peer: client, handle: toService, message: { segments: ['!!'] } }, 'INVALID_ARGUMENT');
  });
  it('more than maxHandlesPerMessage transfers fails TOO_MANY_HANDLES [SEND-3]', () => {
    const { w, client, toService } = serviceAndClient({ maxHandlesPerMessage: 1 });
    const a = w.node(client),
      b = w.node(client);
    w.fails(
      {
        op: 'send',
        peer: client,
        handle: toService,
        message: { segments: [], transfers: [{ handle: a }, { handle: b }] },
      },
      'TOO_MANY_HANDLES',
    );
  });
  it("move releases the sender's handle only on success; a name twice fails INVALID_ARGUMENT [SEND-5, ATOMIC-1]", () => {
    const { w, client, toService } = serviceAndClient({ senderQuotaMessages: 1 });
    const a = w.node(client);
    w.fails(
      {
        op: 'send',
        peer: client,
        handle: toService,
        message: { segments: [], transfers: [{ handle: a }, { handle: a }] },
      },
      'INVALID_ARGUMENT',
    );
    w.ok({ op: 'send', peer: client, handle: toService, message: text('fill') });
    w.fails(
      {
        op: 'send',
        peer: client,
        handle: toService,
        message: { segments: [], transfers: [{ handle: a, move: true }] },
        timeoutMs: 0,
      },
      'QUEUE_FULL',
    );
    w.ok({ op: 'mint', peer: client, handle: a, rights: [] }); // still there
  });
  it('a reply handle travels only by move, delegating the reply to another peer [SEND-6, CALL-5]', () => {
    const { w, service, client, toService, toClient } = twoWay();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('work') }));
    const [c] = w.receive(service).filter((d) => d.kind === 'call') as CallDelivery[];
    // the service delegates to the client itself here (any peer it can reach)
    w.fails(
      {
        op: 'send',
        peer: service,
        handle: toClient,
        message: { segments: [], transfers: [{ handle: c.replyHandle }] },
      },
      'INVALID_ARGUMENT',
    );
    w.ok({
      op: 'send',
      peer: service,
      handle: toClient,
      message: { segments: [], transfers: [{ handle: c.replyHandle, move: true }] },
    });
    const got = messages(w.receive(client))[0].handles[0];
    assert.equal(got.kind, 'reply');
    w.ok({ op: 'reply', peer: client, handle: got.name!, message: text('done') });
    assert.equal(Buffer.from(expectOk<any>(w.completion(t)!.result).reply.payload, 'base64').toString(), 'done');
  });
  it('a full queue fails QUEUE_FULL and the per-sender quota protects other senders [QUOTA-1, QUOTA-2, INV-11]', () => {
    const { w, service, node, client, toService } = serviceAndClient({
      senderQuotaMessages: 2,
      queueCapacityMessages: 3,
    });
    const {
      peer: other,
      handles: [h2],
    } = w.attach([{ from: service, handle: node }]);
    w.ok({ op: 'send', peer: client, handle: toService, message: text('1') });
    w.ok({ op: 'send', peer: client, handle: toService, message: text('2') });
    w.fails({ op: 'send', peer: client, handle: toService, message: text('3'), timeoutMs: 0 }, 'QUEUE_FULL');
    w.ok({ op: 'send', peer: other, handle: h2, message: text('other') });
    w.fails({ op: 'send', peer: other, handle: h2, message: text('over capacity'), timeoutMs: 0 }, 'QUEUE_FULL');
  });
  it('a blocking send waits for room, in order, and times out at its deadline [SEND-7, TIME-1, TIME-2]', () => {
    const { w, service, client, toService } = serviceAndClient({ queueCapacityMessages: 1 });
    w.ok({ op: 'send', peer: client, handle: toService, message: text('1') });
    const a = expectPending(w.do({ op: 'send', peer: client, handle: toService, message: text('2'), timeoutMs: 100 }));
    const b = expectPending(w.do({ op: 'send', peer: client, handle: toService, message: text('3'), timeoutMs: 10 }));
    w.receive(service, 1);
    expectOk(w.completion(a)!.result);
    assert.equal(w.completion(b), undefined);
    w.ok({ op: 'tick', ms: 10 });
    expectError(w.completion(b)!.result, 'TIMED_OUT');
    assert.equal(Buffer.from((w.receive(service)[0] as MessageDelivery).payload, 'base64').toString(), '2');
  });
});

describe('calls', () => {
  it('a call delivers a fresh reply handle and resolves with exactly the reply [CALL-1, CALL-3, INV-6]', () => {
    const { w, service, client, toService } = serviceAndClient();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('ping') }));
    const [c] = w.receive(service) as CallDelivery[];
    assert.equal(c.kind, 'call');
    w.ok({ op: 'reply', peer: service, handle: c.replyHandle, message: text('pong') });
    expectOk(w.completion(t)!.result);
    w.fails({ op: 'reply', peer: service, handle: c.replyHandle, message: text('again') }, 'BAD_HANDLE');
  });
  it('a reply handle dropped resolves the call NO_REPLY; a caller gone makes reply fail CALLER_GONE [CALL-4, CALL-2]', () => {
    const { w, service, client, toService } = serviceAndClient();
    const t1 = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('1') }));
    const t2 = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('2'), timeoutMs: 5 }));
    const [c1, c2] = w.receive(service) as CallDelivery[];
    w.ok({ op: 'release', peer: service, handle: c1.replyHandle });
    expectError(w.completion(t1)!.result, 'NO_REPLY');
    w.ok({ op: 'tick', ms: 5 });
    expectError(w.completion(t2)!.result, 'TIMED_OUT');
    w.fails({ op: 'reply', peer: service, handle: c2.replyHandle, message: text('late') }, 'CALLER_GONE');
    w.fails({ op: 'release', peer: service, handle: c2.replyHandle }, 'BAD_HANDLE'); // consumed
  });
  it('the caller closing resolves its call CLOSED and the replier gets CALLER_GONE [CLOSE-1, CALL-4]', () => {
    const { w, service, client, toService } = serviceAndClient();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('1') }));
    const [c] = w.receive(service) as CallDelivery[];
    w.ok({ op: 'close', peer: client });
    expectError(w.completion(t)!.result, 'CLOSED');
    w.fails({ op: 'reply', peer: service, handle: c.replyHandle, message: text('x') }, 'CALLER_GONE');
  });
  it("replies and notices fit even when the caller's queue is full [CALL-6, NOTICE-4, QUOTA-3]", () => {
    const { w, service, node, client, toService, toClient } = twoWay({
      queueCapacityMessages: 1,
      senderQuotaMessages: 1,
    });
    w.ok({ op: 'send', peer: service, handle: toClient, message: text('fills the client queue') });
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('q') }));
    const [c] = w.receive(service).filter((d) => d.kind === 'call') as CallDelivery[];
    w.ok({ op: 'reply', peer: service, handle: c.replyHandle, message: text('a') });
    expectOk(w.completion(t)!.result);
    w.ok({ op: 'destroyNode', peer: service, handle: node });
    assert.deepEqual(
      notices(w.receive(client)).map((n) => n.type),
      ['node-destroyed'],
    );
  });
  it("a reply carrying handles needs room in the caller's table and keeps the reply handle when it fails [CALL-6, CALL-7]", () => {
    const { w, service, client, toService } = serviceAndClient({ maxHandlesPerPeer: 3 });
    w.node(client);
    w.node(client); // client: toService + two nodes = 3, full
    const gift = w.node(service); // service: node + gift, room for the reply handle
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('q') }));
    const [c] = w.receive(service) as CallDelivery[];
    w.fails(
      {
        op: 'reply',
        peer: service,
        handle: c.replyHandle,
        message: { segments: [], transfers: [{ handle: c.replyHandle, move: true }] },
      },
      'INVALID_ARGUMENT',
    );
    w.fails(
      { op: 'reply', peer: service, handle: c.replyHandle, message: { segments: [], transfers: [{ handle: gift }] } },
      'TABLE_FULL',
    );
    w.ok({ op: 'reply', peer: service, handle: c.replyHandle, message: text('without handles') });
    expectOk(w.completion(t)!.result);
  });
  it('a call never waits for room: it fails QUEUE_FULL [QUOTA-2, CALL-1]', () => {
    const { w, client, toService } = serviceAndClient({ senderQuotaMessages: 1 });
    w.ok({ op: 'send', peer: client, handle: toService, message: text('1') });
    w.fails({ op: 'call', peer: client, handle: toService, message: text('2'), timeoutMs: 100 }, 'QUEUE_FULL');
  });
});

describe('multicast and receive', () => {
  function fanout(n: number, limits = {}) {
    const w = new World(limits);
    const pub = w.peer(1);
    const subs: { peer: number; node: number; handle: number }[] = [];
    const inbox = w.node(pub);
    for (let i = 0; i < n; i++) {
      const {
        peer,
        handles: [toPub],
      } = w.attach([{ from: pub, handle: inbox }], 10 + i);
      const node = w.node(peer);
      const handle = w.give(peer, node, toPub, pub);
      subs.push({ peer, node, handle });
    }
    return { w, pub, subs };
  }
  it('multicast rejects an empty list, duplicates and moves [MCAST-1]', () => {
    const { w, pub, subs } = fanout(2);
    w.fails({ op: 'multicast', peer: pub, handles: [], message: text('x') }, 'INVALID_ARGUMENT');
    w.fails(
      { op: 'multicast', peer: pub, handles: [subs[0].handle, subs[0].handle], message: text('x') },
      'INVALID_ARGUMENT',
    );
    w.fails(
      {
        op: 'multicast',
        peer: pub,
        handles: [subs[0].handle],
        message: { segments: [], transfers: [{ handle: subs[1].handle, move: true }] },
      },
      'INVALID_ARGUMENT',
    );
  });
  it('a bad or rightless destination fails the whole multicast and changes nothing [MCAST-2, ATOMIC-1]', () => {
    const { w, pub, subs } = fanout(2);
    w.fails({ op: 'multicast', peer: pub, handles: [subs[0].handle, 9999], message: text('x') }, 'BAD_HANDLE');
    const grantOnly = w.ok<{ handle: number }>({
      op: 'mint',
      peer: pub,
      handle: subs[1].handle,
      rights: ['grant'],
    }).handle;
    w.fails({ op: 'multicast', peer: pub, handles: [subs[0].handle, grantOnly], message: text('x') }, 'NO_RIGHTS');
  });
  it('multicast skips dead destinations, reports them, and delivers to the live ones [MCAST-3, INV-4]', () => {
    const { w, pub, subs } = fanout(3);
    w.ok({ op: 'destroyNode', peer: subs[1].peer, handle: subs[1].node });
    const r = w.ok<{ skipped: number[] }>({
      op: 'multicast',
      peer: pub,
      handles: subs.map((s) => s.handle),
      message: text('news'),
    });
    assert.deepEqual(r.skipped, [subs[1].handle]);
    assert.equal(messages(w.receive(subs[0].peer)).length, 1);
    assert.equal(messages(w.receive(subs[2].peer)).length, 1);
  });
  it('a quota failure at any live destination fails the whole multicast [MCAST-4]', () => {
    const { w, pub, subs } = fanout(2, { senderQuotaMessages: 1 });
    w.ok({ op: 'send', peer: pub, handle: subs[1].handle, message: text('fill') });
    w.fails({ op: 'multicast', peer: pub, handles: subs.map((s) => s.handle), message: text('x') }, 'QUEUE_FULL');
  });
  it('each destination gets its own copy of a transferred handle [MCAST-5]', () => {
    const { w, pub, subs } = fanout(2);
    const svc = w.node(pub);
    w.ok({
      op: 'multicast',
      peer: pub,
      handles: subs.map((s) => s.handle),
      message: { segments: [], transfers: [{ handle: svc, rights: ['send'] }] },
    });
    for (const s of subs) {
      const h = messages(w.receive(s.peer))[0].handles[0];
      assert.deepEqual(h.rights, ['send']);
      w.ok({ op: 'send', peer: s.peer, handle: h.name!, message: text('hi') });
    }
  });
  it('two multicasts are seen in the same relative order by every receiver [ORDER-1, ORDER-3, INV-7]', () => {
    const { w, subs } = fanout(2);
    const p = w.attach([
      { from: subs[0].peer, handle: subs[0].node },
      { from: subs[1].peer, handle: subs[1].node },
    ]);
    const q = w.attach([
      { from: subs[0].peer, handle: subs[0].node },
      { from: subs[1].peer, handle: subs[1].node },
    ]);
    w.ok({ op: 'multicast', peer: p.peer, handles: p.handles, message: text('P') });
    w.ok({ op: 'multicast', peer: q.peer, handles: [q.handles[1], q.handles[0]], message: text('Q') });
    const order = (peer: number) =>
      messages(w.receive(peer))
        .map((d) => Buffer.from(d.payload, 'base64').toString())
        .join('');
    assert.equal(order(subs[0].peer), 'PQ');
    assert.equal(order(subs[1].peer), 'PQ');
  });
  it('receive returns at most max deliveries, oldest first, and rejects max 0 [RECV-1, ORDER-2]', () => {
    const { w, service, client, toService } = serviceAndClient();
    for (const m of ['a', 'b', 'c']) w.ok({ op: 'send', peer: client, handle: toService, message: text(m) });
    w.fails({ op: 'receive', peer: service, max: 0 }, 'INVALID_ARGUMENT');
    assert.equal(w.receive(service, 2).length, 2);
    assert.equal(Buffer.from((w.receive(service)[0] as MessageDelivery).payload, 'base64').toString(), 'c');
  });
  it('a waiting receive completes with the first batch, or an empty list at its deadline [RECV-2, TIME-2]', () => {
    const { w, service, client, toService } = serviceAndClient();
    const t = expectPending(w.do({ op: 'receive', peer: service, max: 8, timeoutMs: 50 }));
    w.ok({ op: 'send', peer: client, handle: toService, message: text('x') });
    assert.equal(expectOk<any>(w.completion(t)!.result).deliveries.length, 1);
    const t2 = expectPending(w.do({ op: 'receive', peer: service, max: 8, timeoutMs: 50 }));
    w.ok({ op: 'tick', ms: 50 });
    assert.deepEqual(expectOk<any>(w.completion(t2)!.result).deliveries, []);
    assert.deepEqual(w.receive(service), []);
  });
  it('received handles get fresh names in order, carried handles before the reply handle [RECV-3]', () => {
    const { w, service, client, toService } = serviceAndClient();
    const a = w.node(client),
      b = w.node(client);
    expectPending(
      w.do({
        op: 'call',
        peer: client,
        handle: toService,
        message: { segments: [], transfers: [{ handle: a }, { handle: b }] },
      }),
    );
    const [c] = w.receive(service) as CallDelivery[];
    const names = [...c.handles.map((h) => h.name!), c.replyHandle];
    assert.deepEqual(
      names,
      [...names].sort((x, y) => x - y),
    );
    assert.equal(new Set(names).size, 3);
  });
  it('causal order: a message sent after receiving another is queued after it [ORDER-2]', () => {
    const { w, service, client, toService, toClient } = twoWay();
    w.ok({ op: 'send', peer: client, handle: toService, message: text('first') });
    w.receive(service);
    w.ok({ op: 'send', peer: service, handle: toClient, message: text('second') });
    const got = messages(w.receive(client));
    assert.equal(Buffer.from(got[got.length - 1].payload, 'base64').toString(), 'second');
  });
});

describe('credentials and notices', () => {
  it('credentials appear only for nodes that opted in, stamped by the bus [CRED-1, INV-10]', () => {
    const w = new World();
    const s = w.peer(100);
    const open = w.node(s, true);
    const plain = w.node(s, false);
    const {
      peer: c,
      handles: [h1, h2],
    } = w.attach(
      [
        { from: s, handle: open },
        { from: s, handle: plain },
      ],
      555,
    );
    w.ok({ op: 'send', peer: c, handle: h1, message: text('{"uid":0}') });
    w.ok({ op: 'send', peer: c, handle: h2, message: text('x') });
    const [d1, d2] = w.receive(s) as MessageDelivery[];
    assert.deepEqual(d1.credentials, { uid: 555, gid: 555, pid: 5550, peerKey: c });
    assert.equal('credentials' in d2, false);
  });
  it('no-senders goes to the owner exactly when the last non-root handle goes, with the derived count [NOTICE-2, NOTICE-3, INV-9]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    const copy = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: toService, rights: ['send'] }).handle;
    w.ok({ op: 'release', peer: client, handle: toService });
    assert.deepEqual(notices(w.receive(service)), []);
    w.ok({ op: 'release', peer: client, handle: copy });
    assert.deepEqual(notices(w.receive(service)), [{ type: 'no-senders', node, derivedCount: 2 }]);
  });
  it("a notice keeps its handle's slot until received, so notices are bounded by the table [NOTICE-4, HANDLE-1, INV-11]", () => {
    const { w, service, node, client, toService } = serviceAndClient({ maxHandlesPerPeer: 3 });
    const a = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: toService, rights: ['send'] }).handle;
    w.ok({ op: 'revoke', peer: service, handle: node }); // client: toService and a revoked, two notices queued
    w.ok({ op: 'release', peer: client, handle: a });
    w.ok({ op: 'release', peer: client, handle: toService });
    w.node(client); // 1 table slot + 2 slots held by the waiting notices = 3
    w.fails({ op: 'createNode', peer: client }, 'TABLE_FULL');
    assert.equal(notices(w.receive(client)).length, 2);
    w.node(client);
  });
  it('a node has at most one no-senders notice waiting: a rise withdraws it and the next fall enqueues a fresh one with the new count [NOTICE-2, NOTICE-3, NOTICE-6]', () => {
    const w = new World();
    const p = w.peer();
    const n = w.node(p);
    for (let i = 0; i < 3; i++) {
      const m = w.ok<{ handle: number }>({ op: 'mint', peer: p, handle: n, rights: ['send'] }).handle;
      w.ok({ op: 'release', peer: p, handle: m });
    }
    assert.deepEqual(notices(w.receive(p)), [{ type: 'no-senders', node: n, derivedCount: 3 }]);
  });
  it('notices caused by one operation come in the order the handles were created [NOTICE-5]', () => {
    const { w, service, node, client, toService } = serviceAndClient();
    const b = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: toService, rights: ['send'] }).handle;
    const a = w.ok<{ handle: number }>({ op: 'mint', peer: client, handle: toService, rights: [] }).handle;
    w.ok({ op: 'revoke', peer: service, handle: node });
    assert.deepEqual(
      notices(w.receive(client)).map((n) => (n as { handle: number }).handle),
      [toService, b, a],
    );
  });
});

describe('close', () => {
  it('close releases everything: nodes destroyed, handles released, queue discarded, nothing leaks; a call it had received resolves NO_REPLY when its reply handle goes [CLOSE-1, CLOSE-2, CLOSE-3, CLOSE-4, INV-5]', () => {
    const { w, service, client, toService, toClient } = twoWay();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('q') }));
    w.ok({ op: 'send', peer: service, handle: toClient, message: text('queued for client') });
    const [c] = w.receive(service).filter((d) => d.kind === 'call') as CallDelivery[];
    w.ok({ op: 'close', peer: service });
    expectError(w.completion(t)!.result, 'NO_REPLY'); // received, so it survived CLOSE-2; its reply handle went in CLOSE-3
    void c;
    w.ok({ op: 'close', peer: client });
    assert.deepEqual(w.state.handles, {});
    assert.deepEqual(w.state.nodes, {});
    assert.deepEqual(w.state.calls, {});
    assert.deepEqual(w.monitor.finish(), []);
  });
  it('a reply handle whose holder closes resolves the call NO_REPLY [CLOSE-3, CALL-4]', () => {
    const { w, service, client, toService, toClient } = twoWay();
    const t = expectPending(w.do({ op: 'call', peer: client, handle: toService, message: text('q') }));
    const [c] = w.receive(service).filter((d) => d.kind === 'call') as CallDelivery[];
    const {
      peer: helper,
      handles: [toHelperOwner],
    } = w.attach([{ from: service, handle: w.node(service) }]);
    const helperNode = w.node(helper);
    const toHelper = w.give(helper, helperNode, toHelperOwner, service);
    w.ok({
      op: 'send',
      peer: service,
      handle: toHelper,
      message: { segments: [], transfers: [{ handle: c.replyHandle, move: true }] },
    });
    w.ok({ op: 'close', peer: helper });
    expectError(w.completion(t)!.result, 'NO_REPLY');
    void toClient;
  });
  it('a failed operation changes nothing observable [ATOMIC-1, INV-3, ERR-1]', () => {
    const { w, client, toService } = serviceAndClient();
    // the first failing check decides: a bad payload beats a bad handle
    w.fails({ op: 'send', peer: client, handle: 999, message: { segments: ['@@'] } }, 'INVALID_ARGUMENT');
    w.fails({ op: 'send', peer: client, handle: 999, message: text('x') }, 'BAD_HANDLE');
    w.fails(
      { op: 'send', peer: client, handle: toService, message: { segments: [], transfers: [{ handle: 999 }] } },
      'BAD_HANDLE',
    );
    w.fails({ op: 'tick', ms: -1 }, 'INVALID_ARGUMENT');
    w.fails({ op: 'nope' } as never, 'INVALID_ARGUMENT');
  });
});
