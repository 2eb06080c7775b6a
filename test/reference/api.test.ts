import { strict as assert } from 'assert';
import { Bus, TesseraError, payloadText, toMessage } from '../../backends/reference';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof TesseraError && e.code === code);
}

describe('the reference backend API', () => {
  it('a call resolves with the reply through promises [CALL-1, CALL-3]', async () => {
    const bus = Bus.create();
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server, handle: node, rights: ['send'] }]);
    const pending = client.call(client.bootstrap[0], { payload: ['pi', 'ng'] });
    const [c] = await server.receive({ timeoutMs: 1000 });
    assert.equal(c.kind, 'call');
    if (c.kind !== 'call') return;
    assert.equal(payloadText(c), 'ping');
    server.reply(c.replyHandle, { payload: new Uint8Array([112, 111, 110, 103]) });
    assert.equal(payloadText(await pending), 'pong');
  });

  it('v2 through the API: nodes that refuse handles, sameNode, conditional destroyNode on a no-senders notice [NODE-5, NODE-6, DESTROY-5, NOTICE-2]', () => {
    const bus = Bus.create({ clock: 'virtual' });
    const owner = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const closed = owner.createNode({ acceptsHandles: false });
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: owner, handle: closed }]);
    const [to] = client.bootstrap;
    const own = client.createNode();
    assert.throws(
      () => client.send(to, { handles: [{ handle: own }] }),
      (e: unknown) => e instanceof TesseraError && e.code === 'NO_RIGHTS',
    );
    const copy = client.mint(to, { rights: ['send'] });
    assert.equal(client.sameNode(to, copy), true);
    assert.equal(client.sameNode(to, own), false);
    client.release(to);
    client.release(copy);
    const [notice] = owner.tryReceive();
    assert.ok(notice.kind === 'notice' && notice.notice.type === 'no-senders');
    const { derivedCount } = notice.notice as { derivedCount: number };
    owner.mint(closed, { rights: ['send'] }); // derived since the notice
    assert.throws(
      () => owner.destroyNode(closed, { derivedCount }),
      (e: unknown) => e instanceof TesseraError && e.code === 'STALE',
    );
    owner.destroyNode(closed, { derivedCount: derivedCount + 1 });
  });

  it('v2 calls and groups through the API: cancel, replyReceive, publish to a group with a slow member, replier credentials [CANCEL-1, CALL-10, MCAST-6, QUOTA-5, CRED-3]', async () => {
    const bus = Bus.create({ clock: 'virtual', limits: { senderQuotaMessages: 1 } });
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const slow = bus.attach({ uid: 3, gid: 3, pid: 3 });
    const slowNode = slow.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [
      { from: server, handle: node },
      { from: slow, handle: slowNode },
    ]);
    const [toServer, toSlow] = client.bootstrap;
    // Cancel a call nobody has read: the server never sees it.
    const first = client.startCall(toServer, { payload: 'never mind' });
    assert.equal(client.cancel(first.ticket!), true);
    await rejectsWith(first.reply, 'CANCELLED');
    assert.deepEqual(server.tryReceive(), []);
    // A server loop on replyReceive; the reply carries the server's credentials when asked.
    const second = client.call(toServer, { payload: 'who?' }, { replierCredentials: true });
    const [c] = server.tryReceive();
    assert.ok(c.kind === 'call');
    const next = server.replyReceive(c.replyHandle, { payload: 'me' }, { timeoutMs: 10 });
    assert.deepEqual((await second).credentials, { uid: 1, gid: 1, pid: 1, peerKey: server.id });
    bus.tick(10);
    assert.deepEqual(await next, []);
    // A group with a member that does not read: the others still get it, and the full one is named.
    client.publish([toServer, toSlow], { payload: 'one' });
    assert.equal(server.tryReceive().length, 1);
    assert.deepEqual(client.publish([toServer, toSlow], { payload: 'two' }), { skipped: [], full: [toSlow] });
    assert.equal(server.tryReceive().length, 1);
    slow.tryReceive();
    assert.deepEqual(client.tryReceive(), [{ kind: 'notice', notice: { type: 'room', handle: toSlow } }]);
  });

  it('errors are TesseraError values with the spec code, and change nothing [ERR-2, ATOMIC-1]', () => {
    const bus = Bus.create({ clock: 'virtual' }); // a real clock would tick between the snapshots
    const p = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const before = bus.snapshot();
    assert.throws(
      () => p.send(99, { payload: 'x' }),
      (e: unknown) => e instanceof TesseraError && e.code === 'BAD_HANDLE' && /send failed: BAD_HANDLE/.test(e.message),
    );
    assert.deepEqual(bus.snapshot(), before);
  });

  it('with the real clock a call times out TIMED_OUT and a receive returns an empty list [TIME-1, RECV-2]', async () => {
    const bus = Bus.create();
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server, handle: node }]);
    await rejectsWith(client.call(client.bootstrap[0], { payload: 'x' }, { timeoutMs: 20 }), 'TIMED_OUT');
    const other = bus.attach({ uid: 3, gid: 3, pid: 3 });
    assert.deepEqual(await other.receive({ timeoutMs: 20 }), []);
  });

  it('with the virtual clock time moves only by tick [TIME-1, SEND-7]', async () => {
    const bus = Bus.create({ clock: 'virtual', limits: { queueCapacityMessages: 1 } });
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server, handle: node }]);
    client.send(client.bootstrap[0], { payload: '1' });
    assert.throws(
      () => client.send(client.bootstrap[0], { payload: '2' }),
      (e: unknown) => (e as TesseraError).code === 'QUEUE_FULL',
    );
    const waiting = client.sendWait(client.bootstrap[0], { payload: '2' }, { timeoutMs: 5 });
    bus.tick(5);
    await rejectsWith(waiting, 'TIMED_OUT');
  });

  it('multicast, mint, revoke, destroy and close work through the API [MCAST-3, REVOKE-1, DESTROY-1, CLOSE-3]', async () => {
    const bus = Bus.create();
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const n1 = a.createNode();
    const n2 = a.createNode({ credentials: true });
    const b = bus.attach({ uid: 2, gid: 2, pid: 2 }, [
      { from: a, handle: n1 },
      { from: a, handle: n2 },
    ]);
    const copy = b.mint(b.bootstrap[0], { rights: ['send'], badge: 3 });
    assert.deepEqual(b.multicast([copy, b.bootstrap[1]], { payload: 'm' }), []);
    const got = a.tryReceive();
    assert.equal(got.length, 2);
    assert.equal(a.revoke(n1), 2);
    a.destroyNode(n2);
    assert.deepEqual(b.multicast([b.bootstrap[1]], { payload: 'm' }), [b.bootstrap[1]]);
    b.release(copy);
    a.close();
    b.close();
    assert.deepEqual(bus.snapshot().handles, {});
  });

  it('a message accepts text, bytes or segments and gathers them [SEND-2]', () => {
    assert.deepEqual(toMessage({ payload: 'ab' }), { segments: ['YWI='] });
    assert.deepEqual(toMessage({ payload: [new Uint8Array([1]), 'b'] }), { segments: ['AQ==', 'Yg=='] });
    assert.deepEqual(toMessage({ handles: [{ handle: 1 }] }), { segments: [], transfers: [{ handle: 1 }] });
  });
});
