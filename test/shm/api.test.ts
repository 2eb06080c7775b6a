// The shm backend's public API in one thread: errors by code, nothing changed on failure.
import * as assert from 'assert';
import { ShmBus, TesseraError, createReceiveBatch } from '../../backends/shm';
import { H_GEN, N_WORDS, P_FREE } from '../../backends/shm/layout';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TesseraError) return e.code;
    throw e;
  }
  return 'OK';
}

describe('shm backend API (one thread)', () => {
  const limits = {
    maxPeers: 4,
    maxHandlesPerPeer: 8,
    maxPayloadBytes: 32,
    maxHandlesPerMessage: 2,
    queueCapacityMessages: 4,
    queueCapacityBytes: 64,
    senderQuotaMessages: 3,
    senderQuotaBytes: 64,
  };

  it("forged names, another peer's names and released names fail BAD_HANDLE and change nothing [HANDLE-3, RELEASE-1, ATOMIC-1]", () => {
    const bus = ShmBus.create({ limits });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const b = bus.attach({ uid: 2, gid: 2, pid: 2 });
    const n = a.createNode();
    let before = bus.audit();
    assert.strictEqual(
      code(() => b.send(n, { payload: 'x' })),
      'BAD_HANDLE',
    );
    assert.strictEqual(
      code(() => a.send(n + 1, { payload: 'x' })),
      'BAD_HANDLE',
    );
    assert.strictEqual(
      code(() => a.send(123456789, { payload: 'x' })),
      'BAD_HANDLE',
    );
    const m = a.mint(n, { rights: ['send'] });
    a.release(m);
    assert.deepStrictEqual(
      a.tryReceive().map((d) => d.kind === 'notice' && d.notice.type),
      ['no-senders'],
    );
    before = bus.audit();
    assert.strictEqual(
      code(() => a.send(m, { payload: 'x' })),
      'BAD_HANDLE',
    );
    assert.strictEqual(
      code(() => a.release(m)),
      'BAD_HANDLE',
    );
    assert.deepStrictEqual(bus.audit(), before);
  });

  it('releaseEach runs one release per name in one lock hold; names that do not resolve fail alone and change nothing [RELEASE-1, ATOMIC-1]', () => {
    const bus = ShmBus.create({ limits });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const n = a.createNode();
    const ms = [a.mint(n, { rights: ['send'] }), a.mint(n, { rights: ['send'] })];
    assert.strictEqual(a.fast.releaseEach([ms[0], 987654321, ms[1], ms[0]]), 2);
    assert.strictEqual(
      code(() => a.release(ms[1])),
      'BAD_HANDLE',
    );
    assert.deepStrictEqual(
      a.tryReceive().map((d) => d.kind === 'notice' && d.notice.type),
      ['no-senders'],
    );
    a.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it('destroying a node discards its waiting no-senders notice and frees its record: maxNodesPerPeer bounds live nodes only [DESTROY-3, NOTICE-4, NODE-4]', () => {
    const bus = ShmBus.create({ limits: { ...limits, maxNodesPerPeer: 3 } });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    for (let i = 0; i < 10; i++) {
      const n = a.createNode();
      a.release(a.mint(n, { rights: ['send'] }));
      a.destroyNode(n);
    }
    assert.strictEqual(a.tryReceive(8).length, 0);
    const live = [a.createNode(), a.createNode(), a.createNode()];
    assert.strictEqual(
      code(() => a.createNode()),
      'TABLE_FULL',
    ); // three live nodes: NODE-4's limit
    a.destroyNode(live[0]);
    assert.strictEqual(
      code(() => a.createNode()),
      'OK',
    );
  });

  it('a table slot whose generation would pass its limit is retired: no name repeats, the table holds one entry fewer, and the next peer of the slot gets it back [BOUND-3, HANDLE-2]', () => {
    const bus = ShmBus.create({ limits: { ...limits, maxHandlesPerPeer: 4 } });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const n = a.createNode();
    // The next free slot of a's table starts one generation short of the limit.
    const core = bus.core;
    const t = core.int32[core.peerAt(a.slot) + P_FREE];
    core.int32[core.handleAt(a.slot * 4 + t) + H_GEN] = core.maxGeneration - 1;
    const names = new Set<number>([n]);
    for (let i = 0; i < 3; i++) {
      const m = a.mint(n, { rights: ['send'] });
      assert.ok(!names.has(m), `name ${m} issued twice`);
      assert.ok(Number.isSafeInteger(m));
      names.add(m);
      a.release(m);
    }
    // The root and the retired slot leave two of four.
    const held = [a.mint(n, { rights: ['send'] }), a.mint(n, { rights: ['send'] })];
    assert.strictEqual(
      code(() => a.mint(n, { rights: ['send'] })),
      'TABLE_FULL',
    );
    for (const m of held) assert.ok(!names.has(m));
    a.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
    const b = bus.attach({ uid: 2, gid: 2, pid: 2 });
    assert.strictEqual(b.slot, a.slot);
    const root = b.createNode();
    for (let i = 0; i < 3; i++) b.mint(root, { rights: ['send'] }); // a whole table again
    b.close();
  });

  it('a sparse rights list (a hole) fails INVALID_ARGUMENT in mint and in a transfer, as in the model, and changes nothing [MINT-1, SEND-4]', () => {
    const bus = ShmBus.create({ limits });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const n = a.createNode();
    const sparse = ['send'] as ('send' | 'grant')[];
    sparse[2] = 'send';
    const before = bus.audit();
    assert.strictEqual(
      code(() => a.mint(n, { rights: sparse })),
      'INVALID_ARGUMENT',
    );
    assert.strictEqual(
      code(() => a.send(n, { payload: 'x', handles: [{ handle: n, rights: sparse }] })),
      'INVALID_ARGUMENT',
    );
    assert.deepStrictEqual(bus.audit(), before);
  });

  it('oversized payloads and too many handles fail with their codes [SEND-2, SEND-3]', () => {
    const bus = ShmBus.create({ limits });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const n = a.createNode();
    assert.strictEqual(
      code(() => a.send(n, { payload: new Uint8Array(33) })),
      'TOO_LARGE',
    );
    const h = [
      a.mint(n, { rights: ['send', 'grant'] }),
      a.mint(n, { rights: ['send', 'grant'] }),
      a.mint(n, { rights: ['send', 'grant'] }),
    ];
    assert.strictEqual(
      code(() => a.send(n, { handles: h.map((handle) => ({ handle })) })),
      'TOO_MANY_HANDLES',
    );
    assert.strictEqual(
      code(() => a.send(n, { payload: ['0123456789abcdef', '0123456789abcdef'] })),
      'OK',
    );
    assert.strictEqual(a.tryReceive()[0].kind, 'message');
  });

  it('a call is answered through the fast path and the reply goes straight to the caller [CALL-3, CALL-6]', async () => {
    const bus = ShmBus.create({ limits });
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server, handle: node, rights: ['send'] }]);
    const pending = client.call(client.bootstrap[0], { payload: 'ping' }, { timeoutMs: 5000 });
    const batch = createReceiveBatch(8, 256);
    assert.strictEqual(server.fast.receiveBatchSync(batch, 8, 0), 1);
    assert.strictEqual(batch.kind[0], 2);
    assert.strictEqual(Buffer.from(batch.data.subarray(0, batch.length[0])).toString(), 'ping');
    server.fast.replyBytes(batch.replyHandle[0], Buffer.from('pong'));
    const reply = await pending;
    assert.strictEqual(Buffer.from(reply.payload, 'base64').toString(), 'pong');
    assert.strictEqual(server.tryReceive().length, 0);
  });

  it('a call that times out on the real clock is withdrawn if unread, and once read its server is told and a late reply fails CALLER_GONE [CALL-2, CALL-4, CALL-8]', async () => {
    const bus = ShmBus.create({ limits });
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server, handle: node }]);
    await assert.rejects(
      client.call(client.bootstrap[0], {}, { timeoutMs: 5 }),
      (e: TesseraError) => e.code === 'TIMED_OUT',
    );
    assert.strictEqual(server.tryReceive().length, 0); // withdrawn: nobody had received it
    const late = client.call(client.bootstrap[0], {}, { timeoutMs: 5 });
    const [d] = server.tryReceive();
    assert.strictEqual(d.kind, 'call');
    await assert.rejects(late, (e: TesseraError) => e.code === 'TIMED_OUT');
    const replyHandle = (d as { replyHandle: number }).replyHandle;
    assert.deepStrictEqual(server.tryReceive(), [
      { kind: 'notice', notice: { type: 'call-abandoned', handle: replyHandle } },
    ]);
    assert.strictEqual(
      code(() => server.reply(replyHandle)),
      'CALLER_GONE',
    );
    client.close();
    server.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it('an exception in the middle of an operation is rolled back by the undo journal [ATOMIC-1]', () => {
    const bus = ShmBus.create({ limits });
    const a = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const n = a.createNode();
    const m = a.mint(n, { rights: ['send', 'grant'] });
    const words = Int32Array.from(bus.core.int32);
    // The enqueue's last step fails: after the handle was carried, the quota and the queue's counters written.
    const wakeups = bus.core.wakeups;
    const orig = wakeups.queueChanged;
    wakeups.queueChanged = () => {
      throw new Error('injected');
    };
    try {
      assert.throws(() => a.send(n, { payload: 'abc', handles: [{ handle: m, move: true }] }), /injected/);
    } finally {
      wakeups.queueChanged = orig;
    }
    // every control word is back (the journal itself is cleared; payload bytes past the tail are
    // invisible, and so are the fields of free records, which every allocation sets again)
    const after = bus.core.int32;
    const L = bus.layout;
    const freeRecord = (i: number): boolean => {
      const inRegion = (base: number, words: number, count: number, stateWord: number, keep: number[]) => {
        if (i < base || i >= base + words * count) return false;
        const rec = base + Math.floor((i - base) / words) * words;
        return after[rec + stateWord] === 0 && !keep.includes(i - rec);
      };
      return (
        inRegion(L.handleBase, 16, L.peers * L.tableSize, 0, [0, 3, 13]) || // H_STATE, H_GEN, H_NEXTFREE kept
        inRegion(L.nodeBase, N_WORDS, L.maxNodes, 0, [0, 5]) || // N_STATE, N_NEXTFREE kept
        inRegion(L.callBase, L.callWords, L.peers * L.callSlots, 0, [0, 1])
      ); // C_STATE, C_GEN kept
    };
    for (let i = 0; i < L.entryBase; i++)
      if (i !== 16 && !freeRecord(i) && after[i] !== words[i])
        assert.fail(`word ${i} changed: ${words[i]} -> ${after[i]}`);
    assert.strictEqual(a.tryReceive().length, 0);
    a.send(n, { payload: 'abc', handles: [{ handle: m, move: true }] });
    assert.strictEqual((a.tryReceive()[0] as { handles: unknown[] }).handles.length, 1);
  });

  it('the fast ReplyRecv drops a reply to a caller that timed out and goes on to receive [CALL-10, CALL-9, TIME-4]', async () => {
    const bus = ShmBus.create({ limits });
    const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = server.createNode();
    const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server.id, handle: node, rights: ['send'] }]);
    // The server takes the call; the caller gives up before the answer (its reply handle is then abandoned).
    const call = client.call(client.bootstrap[0], { payload: 'late' }, { timeoutMs: 20 });
    const batch = createReceiveBatch(4, 64);
    assert.strictEqual(server.fast.receiveBatchSync(batch, 1, 0), 1);
    assert.strictEqual(batch.kind[0], 2); // the call
    const replyHandle = batch.replyHandle[0];
    await assert.rejects(call, (e: unknown) => e instanceof TesseraError && e.code === 'TIMED_OUT');
    client.send(client.bootstrap[0], { payload: 'next' });
    const n = server.fast.replyBytesAndReceiveSync(replyHandle, Buffer.from('too late'), batch, 4, 1000);
    const kinds = Array.from(batch.kind.subarray(0, n));
    // The call-abandoned notice (CALL-8) and the message: received, not a CALLER_GONE.
    assert.ok(kinds.includes(1), `the message was not received: kinds ${kinds}`);
    const m = kinds.indexOf(1);
    assert.strictEqual(
      Buffer.from(batch.buf[m].subarray(batch.offset[m], batch.offset[m] + batch.length[m])).toString(),
      'next',
    );
    assert.strictEqual(
      code(() => server.release(replyHandle)),
      'BAD_HANDLE',
    ); // consumed by the dropped reply
    client.close();
    server.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it("a peer's blocked promise send holds its later sends to that queue behind it, and its blocked sends go oldest first [SEND-8, SEND-7, ORDER-2]", async () => {
    const bus = ShmBus.create({
      limits: {
        ...limits,
        queueCapacityMessages: 8,
        queueCapacityBytes: 48,
        senderQuotaMessages: 8,
        senderQuotaBytes: 48,
      },
    });
    const r = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = r.createNode();
    const grant = [{ from: r.id, handle: node, rights: ['send'] as 'send'[] }];
    const x = bus.attach({ uid: 2, gid: 2, pid: 2 }, grant);
    const a = bus.attach({ uid: 3, gid: 3, pid: 3 }, grant);
    const bytes = (text: string, n: number) => Buffer.from(text.padEnd(n, '.'));
    x.send(x.bootstrap[0], { payload: bytes('x', 32) }); // 32 of the queue's 48 bytes
    const first = a.sendWait(a.bootstrap[0], { payload: bytes('a1', 32) }, { timeoutMs: 5000 }); // short of room: blocked
    // 8 bytes would fit, but a2 would overtake a1: short of room while a1 is blocked (SEND-8).
    assert.strictEqual(
      code(() => a.send(a.bootstrap[0], { payload: bytes('a2', 8) })),
      'QUEUE_FULL',
    );
    assert.strictEqual(
      code(() => a.callSync(a.bootstrap[0], { payload: 'c' }, { timeoutMs: 0 })),
      'QUEUE_FULL',
    );
    const third = a.sendWait(a.bootstrap[0], { payload: bytes('a3', 8) }, { timeoutMs: 5000 }); // waits behind a1
    x.send(x.bootstrap[0], { payload: bytes('x2', 8) }); // another sender is not held back (40 of 48)
    const texts = (ds: { kind: string; payload?: string }[]) =>
      ds.map((d) =>
        Buffer.from(d.payload ?? '', 'base64')
          .toString()
          .replace(/\.+$/, ''),
      );
    assert.deepStrictEqual(texts(r.tryReceive(1)), ['x']); // room for a1 now
    await first;
    await third;
    assert.deepStrictEqual(texts(r.tryReceive(8)), ['x2', 'a1', 'a3']);
    a.send(a.bootstrap[0], { payload: 'after' }); // nothing blocked any more
    assert.deepStrictEqual(texts(r.tryReceive(8)), ['after']);
    for (const p of [a, x, r]) p.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it('blocked promise sends count as pending operations: at the limit one more fails TOO_MANY_PENDING, as its last check [BOUND-2, SEND-7]', async () => {
    const bus = ShmBus.create({ limits: { ...limits, maxPendingPerPeer: 1, queueCapacityMessages: 1 } });
    const r = bus.attach({ uid: 1, gid: 1, pid: 1 });
    const node = r.createNode();
    const a = bus.attach({ uid: 3, gid: 3, pid: 3 }, [{ from: r.id, handle: node, rights: ['send'] }]);
    a.send(a.bootstrap[0], { payload: 'fills the queue' });
    const blocked = a.sendWait(a.bootstrap[0], { payload: 'one' }, { timeoutMs: 5000 });
    await assert.rejects(
      a.sendWait(a.bootstrap[0], { payload: 'two' }, { timeoutMs: 5000 }),
      (e: unknown) => e instanceof TesseraError && e.code === 'TOO_MANY_PENDING',
    );
    // The check is the last one: a malformed send still fails INVALID_ARGUMENT first.
    await assert.rejects(
      a.sendWait(-1, { payload: 'bad' }),
      (e: unknown) => e instanceof TesseraError && e.code === 'INVALID_ARGUMENT',
    );
    assert.strictEqual(r.tryReceive(1).length, 1);
    await blocked;
    assert.strictEqual(r.tryReceive(1).length, 1);
    for (const p of [a, r]) p.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });
});
