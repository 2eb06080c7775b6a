// The broker's transport between a peer and the bus: large answers in fragments, the segment a
// peer is given, and the codec's refusals (each value read from bytes a peer wrote).
import { strict as assert } from 'assert';
import { Broker, connectBroker } from '../../backends/broker';
import { Malformed, ValueReader, ValueWriter } from '../../backends/broker/codec';
import { segmentSeals } from '../../native';
import type { Delivery } from '../../spec/types';
import { expectOk } from '../helpers';
import { requireNative } from '../native/support';

describe('broker: transport', function () {
  this.timeout(60_000);
  before(function () {
    requireNative(this);
  });

  it('a batch larger than the completion ring reaches the peer whole, in fragments, while the broker would otherwise sleep [RECV-1, DELIVER-1]', async () => {
    const broker = await Broker.start({ spinUs: 0 });
    try {
      const seat = await broker.expect(process.pid, { credentials: { uid: 1, gid: 1, pid: process.pid } });
      const p = await connectBroker(broker.socketPath, { spinUs: 0 });
      await seat.connected;
      const node = expectOk<{ handle: number }>(p.invokeSync({ op: 'createNode' })).handle;
      const h = expectOk<{ handle: number }>(p.invokeSync({ op: 'mint', handle: node, rights: ['send'] })).handle;
      const payloads = [0, 1, 2, 3].map((k) => Buffer.alloc(65536, 0x41 + k));
      for (const b of payloads) expectOk(p.invokeSync({ op: 'send', handle: h, message: { segments: [b] } }));
      // 4 x 64 KiB in base64 is more than the 256 KiB completion ring.
      const got = expectOk<{ deliveries: Delivery[] }>(p.invokeSync({ op: 'receive', max: 64 })).deliveries;
      assert.deepEqual(
        got.map((d) => Buffer.from((d as { payload: string }).payload, 'base64').equals(payloads[got.indexOf(d)])),
        [true, true, true, true],
      );
      const c = (await broker.counters(p.peer))!;
      assert.ok(c.maxBacklogBytes > 0, 'the answer did not fit the ring at once');
      p.disconnect();
    } finally {
      await broker.stop();
    }
  });

  it('a peer is given a segment sealed against shrinking and growing, and its requests act as its own peer whatever they name [PEER-2, INV-1]', async () => {
    const broker = await Broker.start({ spinUs: 0 });
    try {
      const s1 = await broker.expect(process.pid, { credentials: { uid: 1, gid: 1, pid: process.pid } });
      const a = await connectBroker(broker.socketPath, { spinUs: 0 });
      await s1.connected;
      const s2 = await broker.expect(process.pid, { credentials: { uid: 2, gid: 2, pid: process.pid } });
      const b = await connectBroker(broker.socketPath, { spinUs: 0 });
      await s2.connected;
      const nodeOfA = expectOk<{ handle: number }>(a.invokeSync({ op: 'createNode' })).handle;
      // b names a's peer id: the broker runs it as b, which holds no such handle.
      assert.deepEqual(b.invokeSync({ op: 'destroyNode', peer: a.peer, handle: nodeOfA }), {
        ok: false,
        error: 'BAD_HANDLE',
      });
      expectOk(a.invokeSync({ op: 'sameNode', handle: nodeOfA, other: nodeOfA }));
      assert.equal((await broker.counters(b.peer))!.peerFieldReplaced, 1);
      a.disconnect();
      b.disconnect();
    } finally {
      await broker.stop();
    }
    // The seals, on a segment made the way the broker makes them.
    const { createSegment } = await import('../../native');
    const seg = createSegment(8192);
    try {
      const seals = segmentSeals(seg.fd);
      assert.equal(seals.shrink && seals.grow, true);
    } finally {
      seg.close();
    }
  });

  it('the codec refuses every value whose counts or lengths exceed its bytes, and never throws [ERR-1]', () => {
    const r = new ValueReader();
    const w = new ValueWriter();
    w.write({ op: 'send', handle: 3, message: { segments: [new Uint8Array([1, 2, 3])] }, text: 'é' });
    const good = Buffer.from(w.buf.subarray(0, w.pos));
    assert.deepEqual(r.read(good, 0, good.length), {
      op: 'send',
      handle: 3,
      message: { segments: [new Uint8Array([1, 2, 3])] },
      text: 'é',
    });
    let refused = 0;
    // Every truncation and every single-byte change of a good value: a value or a refusal, never a throw.
    for (let n = 0; n < good.length; n++) if (r.read(good, 0, n) instanceof Malformed) refused++;
    assert.equal(refused, good.length);
    for (let i = 0; i < good.length; i++)
      for (const v of [0, 0x7f, 0xff]) {
        const bad = Buffer.from(good);
        bad[i] = v;
        r.read(bad, 0, bad.length);
      }
    const protoBytes = Buffer.from([8, 1, 0, 0, 0, 0xff, 9, ...Buffer.from('__proto__'), 2]);
    const proto = r.read(protoBytes, 0, protoBytes.length) as object;
    assert.ok(!(proto instanceof Malformed));
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.equal(Object.prototype.hasOwnProperty.call(proto, '__proto__'), true);
    // The spec's words travel as one-byte atoms (tag 9) and come back as themselves; a number past
    // the table is refused; the broker's reader turns bytes into the bus's base64.
    w.reset();
    w.write(['send', 'TIMED_OUT', 'revoked', 'not a word']);
    const words = Buffer.from(w.buf.subarray(0, w.pos));
    assert.deepEqual(r.read(words, 0, words.length), ['send', 'TIMED_OUT', 'revoked', 'not a word']);
    assert.equal(words.length < 5 + 3 * 2 + 5 + 7 + 5 + 10, true, 'the words are not sent as text');
    assert.ok(r.read(Buffer.from([9, 255]), 0, 2) instanceof Malformed);
    // A field given twice is refused, by number, by text, or once each way.
    const op = [...Buffer.from('op')];
    for (const twice of [
      [8, 2, 0, 0, 0, 0, 0, 0, 0],
      [8, 2, 0, 0, 0, 0xff, 2, ...op, 0, 0xff, 2, ...op, 0],
      [8, 2, 0, 0, 0, 0, 0, 0xff, 2, ...op, 0],
      [8, 2, 0, 0, 0, 0xff, 2, ...op, 0, 0, 0],
    ])
      assert.ok(r.read(Buffer.from(twice), 0, twice.length) instanceof Malformed, JSON.stringify(twice));
    assert.deepEqual(r.read(Buffer.from([8, 2, 0, 0, 0, 0, 0, 1, 0]), 0, 9), { op: null, peer: null });
    assert.ok(r.read(Buffer.from([9]), 0, 1) instanceof Malformed);
    assert.deepEqual(new ValueReader({ bytesAsBase64: true }).read(good, 0, good.length), {
      op: 'send',
      handle: 3,
      message: { segments: ['AQID'] },
      text: 'é',
    });
  });

  it('a peer blocking until its operation completes gets the completion, and the pending answer before it wakes it no earlier [TIME-2, RECV-2]', async () => {
    const broker = await Broker.start({ spinUs: 0 });
    try {
      const seat = await broker.expect(process.pid, { credentials: { uid: 1, gid: 1, pid: process.pid } });
      const p = await connectBroker(broker.socketPath, { spinUs: 0 });
      await seat.connected;
      expectOk(p.invokeSync({ op: 'createNode' }));
      Object.assign(p.waits, { spinsWon: 0, spinsLost: 0, sleeps: 0, wakes: 0 });
      // Nothing to receive: the receive is pending until its deadline, on the broker's real clock.
      const r = p.invokeUntilDoneSync({ op: 'receive', max: 1, timeoutMs: 50 });
      assert.deepEqual(r, { ok: true, value: { deliveries: [] } });
      // The pending answer was published without a wake: the one sleep ended with the completion.
      assert.equal(p.waits.sleeps, 1);
      p.disconnect();
    } finally {
      await broker.stop();
    }
  });
});
