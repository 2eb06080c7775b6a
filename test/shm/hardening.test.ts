// Defects of the shm backend's public API, each kept as a regression test: a batch
// receive that lost deliveries or spun, a count that held the bus lock without bound,
// a descriptor anyone could forge to take another peer's seat.
import { strict as assert } from 'assert';
import { ShmBus, TesseraError, createReceiveBatch, joinBus, type PeerDescriptor } from '../../backends/shm';
import { HDR_LOCK } from '../../backends/shm/layout';

const LIMITS = {
  maxPeers: 4,
  maxHandlesPerPeer: 16,
  maxPayloadBytes: 64,
  maxHandlesPerMessage: 2,
  queueCapacityMessages: 8,
  queueCapacityBytes: 512,
  senderQuotaMessages: 8,
  senderQuotaBytes: 512,
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TesseraError) return e.code;
    throw e;
  }
  return 'OK';
}

function pair() {
  const bus = ShmBus.create({ limits: LIMITS });
  const server = bus.attach({ uid: 1, gid: 1, pid: 1 });
  const node = server.createNode();
  const client = bus.attach({ uid: 2, gid: 2, pid: 2 }, [{ from: server, handle: node, rights: ['send'] }]);
  return { bus, server, client, h: client.bootstrap[0] };
}

describe('shm hardening: the public API cannot lose, spin, hold the lock or impersonate', function () {
  this.timeout(30_000);

  it('a batch receive never takes more deliveries than its batch holds: max above the capacity fails INVALID_ARGUMENT and takes nothing [RECV-1, INV-4]', () => {
    const { server, client, h } = pair();
    for (let i = 0; i < 4; i++) client.send(h, { payload: `m${i}` });
    const batch = createReceiveBatch(2, 4096);
    assert.equal(
      code(() => server.fast.receiveBatchSync(batch, 64, 0)),
      'INVALID_ARGUMENT',
    );
    const seen: string[] = [];
    for (let round = 0; round < 2; round++) {
      const n = server.fast.receiveBatchSync(batch, 2, 0);
      assert.equal(n, 2);
      for (let i = 0; i < n; i++)
        seen.push(Buffer.from(batch.data.subarray(batch.offset[i], batch.offset[i] + batch.length[i])).toString());
    }
    assert.deepEqual(seen, ['m0', 'm1', 'm2', 'm3']);
    assert.equal(server.fast.receiveBatchSync(batch, 2, 0), 0);
  });

  it('a batch receive with max 0, NaN or -1 fails INVALID_ARGUMENT at once instead of waiting out its timeout, and so does a batch not made by createReceiveBatch [RECV-1, ERR-1]', () => {
    const { server } = pair();
    const batch = createReceiveBatch(8, 4096);
    for (const max of [0, NaN, -1, 1.5])
      assert.equal(
        code(() => server.fast.receiveBatchSync(batch, max, 600_000)),
        'INVALID_ARGUMENT',
      );
    const lookalike = { ...batch, capacity: 1000 };
    assert.equal(
      code(() => server.fast.receiveBatchSync(lookalike as never, 100, 0)),
      'INVALID_ARGUMENT',
    );
  });

  it('a batch too small for the next delivery fails INVALID_ARGUMENT and leaves the delivery queued [RECV-1, ATOMIC-1]', () => {
    const { bus, server, client, h } = pair();
    client.send(h, { payload: new Uint8Array(40) });
    const before = bus.audit();
    assert.equal(
      code(() => server.fast.receiveBatchSync(createReceiveBatch(4, 16), 4, 0)),
      'INVALID_ARGUMENT',
    );
    assert.deepEqual(bus.audit(), before);
    assert.equal(server.fast.receiveBatchSync(createReceiveBatch(4, 64), 4, 0), 1);
  });

  it('releaseEach checks its count before taking the bus lock: Infinity, a count past the list or past the table fail INVALID_ARGUMENT and leave the lock free [RELEASE-1, ERR-1]', () => {
    const { bus, server } = pair();
    const node = server.createNode();
    const names = [server.mint(node, { rights: ['send'] })];
    for (const [list, count] of [
      [[], Infinity],
      [[], 1],
      [names, 2],
      [names, -1],
      [names, 1.5],
      [new Array(LIMITS.maxHandlesPerPeer + 1).fill(names[0]), undefined],
      ['abc', 1],
    ] as [number[], number | undefined][])
      assert.equal(
        code(() => server.fast.releaseEach(list, count)),
        'INVALID_ARGUMENT',
        `releaseEach(${JSON.stringify(list).slice(0, 20)}, ${count})`,
      );
    assert.equal(Atomics.load(bus.core.int32, HDR_LOCK), 0);
    // A list that is fine releases in one hold; a name in it that is not a name fails alone.
    assert.equal(server.fast.releaseEach(new Float64Array([names[0], -1, 2.5])), 2);
  });

  it('joinBus takes a seat only with the key the owner handed out, once: a forged descriptor for another peer, a made-up one, or a second join fail INVALID_ARGUMENT, and the victim gets every delivery [BUS-2, PEER-2, INV-1]', () => {
    const bus = ShmBus.create({ limits: LIMITS });
    const victim = bus.attachDescriptor({ uid: 2, gid: 2, pid: 2 });
    const attacker = bus.attachDescriptor({ uid: 3, gid: 3, pid: 3 });
    const attempts: [string, unknown][] = [
      ['the attacker descriptor naming the victim', { ...attacker, slot: victim.slot, id: victim.id }],
      ['the victim slot with a made-up key', { ...victim, seatKey: '0'.repeat(32) }],
      ['a descriptor of another buffer', { ...victim, sab: new SharedArrayBuffer(bus.sab.byteLength) }],
      ['no descriptor', null],
      ['a key of the wrong shape', { ...victim, seatKey: 'x' }],
      ['a slot out of range', { ...victim, slot: 99 }],
    ];
    for (const [what, d] of attempts)
      assert.equal(
        code(() => joinBus(d as PeerDescriptor)),
        'INVALID_ARGUMENT',
        what,
      );
    const peer = joinBus(victim);
    assert.equal(peer.id, victim.id);
    assert.equal(
      code(() => joinBus(victim)),
      'INVALID_ARGUMENT',
      'a second join with the same descriptor',
    );
    const own = peer.createNode();
    const sender = bus.attach({ uid: 4, gid: 4, pid: 4 }, [{ from: peer.id, handle: own }]);
    for (let i = 0; i < 4; i++) sender.send(sender.bootstrap[0], { payload: `${i}` });
    assert.equal(peer.tryReceive().length, 4);
    assert.equal(joinBus(attacker).id, attacker.id); // the attacker's own seat still works
  });
});
