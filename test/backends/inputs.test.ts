// Every input of both backends' public APIs is read once, into a plain copy, before it
// is checked and acted on: a getter that answers differently each time, a proxy, a
// throwing getter or a sparse list cannot make a backend check one value and act on
// another, nor make it throw anything but the spec's error. And the clock has a clear
// end: it never passes 2^53-1.
import { strict as assert } from 'assert';
import type { Delivery } from '../../spec/types';
import { BACKENDS, outcomeOf, world } from './support';

/** An object whose property `key` counts its reads and answers `first`, then `later`. */
function counted<T>(key: string, first: T, later: T): { reads: number; value: Record<string, T> } {
  const box = { reads: 0, value: {} as Record<string, T> };
  Object.defineProperty(box.value, key, {
    enumerable: true,
    get: () => (box.reads++ === 0 ? first : later),
  });
  return box;
}

describe('inputs read once, both backends', () => {
  for (const backend of BACKENDS) {
    describe(backend, () => {
      it('a transfer is read once: its handle getter runs once, and the handle it named first is the one carried [SEND-4, SEND-5, ATOMIC-1]', () => {
        const w = world(backend);
        const t = counted('handle', w.m, w.n);
        w.a.send(w.n, { handles: [t.value as { handle: number }] });
        assert.equal(t.reads, 1);
        const [d] = w.a.tryReceive() as Delivery[];
        assert.equal(d.kind, 'message');
        if (d.kind === 'message') assert.deepEqual(d.handles[0].rights, ['send', 'grant']); // m's rights, not the root's
      });

      it('a badge is read once: the badge checked is the badge stamped [MINT-3, HANDLE-4]', () => {
        const w = world(backend);
        const o = counted('badge', 5, 1.5);
        const badged = w.a.mint(w.n, Object.assign(o.value, { rights: ['send'] }) as never);
        assert.equal(o.reads, 1);
        w.a.send(badged, { payload: 'hi' });
        const [d] = w.a.tryReceive() as Delivery[];
        assert.equal(d.kind === 'message' && d.badge, 5);
      });

      it('a multicast list behind a proxy is read once, element by element, and its duplicate found [MCAST-1, ERR-1]', () => {
        const w = world(backend);
        let reads = 0;
        const list = new Proxy([w.h, w.own], {
          get(target, key, receiver) {
            if (key === '1') reads++;
            // The second element reads as a duplicate the first time, and as a new name after that.
            if (key === '1') return reads === 1 ? w.h : w.own;
            return Reflect.get(target, key, receiver);
          },
        });
        assert.equal(
          outcomeOf(() => w.b.multicast(list, {})),
          'INVALID_ARGUMENT',
        );
        assert.equal(reads, 1);
      });

      it('getters that throw and proxies that refuse give INVALID_ARGUMENT, never the thrown error [ERR-1, ERR-2]', () => {
        const w = world(backend);
        const boom = () => {
          throw new Error('boom');
        };
        const inputs: unknown[] = [
          Object.defineProperty({}, 'payload', { enumerable: true, get: boom }),
          Object.defineProperty({}, 'handles', { enumerable: true, get: boom }),
          { handles: [Object.defineProperty({}, 'handle', { enumerable: true, get: boom })] },
          { payload: new Proxy([], { get: boom }) },
          { handles: new Proxy([], { get: boom }) },
        ];
        for (const input of inputs)
          assert.equal(
            outcomeOf(() => w.b.send(w.h, input as never)),
            'INVALID_ARGUMENT',
          );
        assert.equal(
          outcomeOf(() => w.a.mint(w.n, Object.defineProperty({}, 'rights', { get: boom }) as never)),
          'INVALID_ARGUMENT',
        );
        assert.equal(
          outcomeOf(() => w.a.createNode(Object.defineProperty({}, 'credentials', { get: boom }) as never)),
          'INVALID_ARGUMENT',
        );
      });

      it('the clock stops at 2^53-1: a tick past it fails INVALID_ARGUMENT and changes nothing, and nowMs stays a safe integer [TIME-1, ATOMIC-1]', () => {
        const w = world(backend);
        w.tick(Number.MAX_SAFE_INTEGER - 1);
        w.tick(1);
        const before = w.state();
        assert.equal(
          outcomeOf(() => w.tick(1)),
          'INVALID_ARGUMENT',
        );
        assert.equal(
          outcomeOf(() => w.tick(Number.MAX_SAFE_INTEGER)),
          'INVALID_ARGUMENT',
        );
        assert.deepStrictEqual(w.state(), before);
        w.tick(0); // what is due still expires
        const run = (w.ref ?? w.shm)!.run({ op: 'tick', ms: 0 });
        assert.deepEqual(run, { ok: true, value: { nowMs: Number.MAX_SAFE_INTEGER } });
        assert.deepEqual((w.ref ?? w.shm)!.run({ op: 'tick', ms: 1 }), { ok: false, error: 'INVALID_ARGUMENT' });
      });

      it("run() reads an operation once into a plain copy: a sparse segment list, a function or a getter's second answer never reach the checks [SEND-2, SEND-5, ERR-1]", () => {
        const w = world(backend);
        const bus = (w.ref ?? w.shm)!;
        const base = { op: 'send', peer: w.b.id, handle: w.h };
        // eslint-disable-next-line no-sparse-arrays
        assert.deepEqual(bus.run({ ...base, message: { segments: ['aGk=', , 'aGk='] } } as never), {
          ok: false,
          error: 'INVALID_ARGUMENT',
        });
        assert.deepEqual(bus.run({ ...base, message: { segments: [] }, timeoutMs: (() => 1) as never } as never), {
          ok: false,
          error: 'INVALID_ARGUMENT',
        });
        const op = counted('handle', w.h, 999_999);
        const r = bus.run(Object.assign(op.value, { op: 'send', peer: w.b.id, message: { segments: [] } }) as never);
        assert.equal(op.reads, 1);
        assert.deepEqual(r, { ok: true, value: {} });
        assert.deepEqual(bus.run(null as never), { ok: false, error: 'INVALID_ARGUMENT' });
      });
    });
  }
});
