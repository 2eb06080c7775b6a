// One matrix of bad arguments, run against both backends' public APIs: each call must
// fail with the same spec error in both (never a raw exception, never an effect), and
// leave the bus exactly as it was (ERR-1, ATOMIC-1). The shm backend's own calls (sync
// flavours, fast paths) are held to the error of their reference-shaped counterpart.
import { strict as assert } from 'assert';
import type { ErrorCode } from '../../spec/types';
import { createReceiveBatch } from '../../backends/shm';
import { BACKENDS, settledOutcome, world, type World } from './support';

interface Case {
  what: string;
  expect: ErrorCode;
  /** The call on the reference-shaped API (both backends). */
  call?: (w: World) => unknown;
  /** The shm backend's own call, held to the same error. */
  shm?: (w: World) => unknown;
}

const BAD_TIMEOUTS: unknown[] = [-5, NaN, 1.5, '10', Infinity, null, {}, 2 ** 53];
const BAD_COUNTS: unknown[] = [0, -1, NaN, 1.5, '10', Infinity, null];
const BAD_NAMES: unknown[] = [-1, 1.5, '1', NaN, null, {}, 2 ** 53, Infinity];
const BAD_PAYLOADS: unknown[] = [
  5,
  [5],
  [{}],
  new Uint16Array(2),
  new Float64Array(1),
  new DataView(new ArrayBuffer(2)),
  { length: 3, 0: 1 },
  null,
  [null],
  [undefined],
  // eslint-disable-next-line no-sparse-arrays
  [, 'x'],
  Object.create(Uint8Array.prototype, { length: { value: 2 }, 0: { value: 1 } }), // looks like bytes, is not
];
const BAD_BADGES: unknown[] = [0, -1, 1.5, 2 ** 53, '1', NaN];

const throwing = (): unknown =>
  Object.defineProperty({}, 'payload', {
    enumerable: true,
    get() {
      throw new Error('a getter that throws');
    },
  });

/** Reads of a transfer's handle: the first read says m, later ones another name. */
function shifting(w: World): { handle: number } {
  let reads = 0;
  return {
    get handle() {
      return reads++ === 0 ? w.m : w.n;
    },
  };
}

const N = (x: unknown) => x as number;

const CASES: Case[] = [
  ...BAD_TIMEOUTS.flatMap((t): Case[] => [
    {
      what: `a waiting send with timeoutMs ${String(t)}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.b.sendWait(w.h, { payload: 'x' }, { timeoutMs: N(t) }),
      shm: (w) => w.b.sendSync(w.h, { payload: 'x' }, { timeoutMs: N(t) }),
    },
    {
      what: `a call with timeoutMs ${String(t)}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.b.call(w.h, { payload: 'x' }, { timeoutMs: N(t) }),
      shm: (w) => w.b.callSync(w.h, { payload: 'x' }, { timeoutMs: N(t) }),
    },
    {
      what: `a receive with timeoutMs ${String(t)}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.a.receive({ timeoutMs: N(t) }),
      shm: (w) => w.a.receiveSync({ timeoutMs: N(t) }),
    },
  ]),
  ...BAD_COUNTS.flatMap((max): Case[] => [
    { what: `tryReceive(${String(max)})`, expect: 'INVALID_ARGUMENT', call: (w) => w.a.tryReceive(N(max)) },
    {
      what: `a receive with max ${String(max)}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.a.receive({ max: N(max), timeoutMs: 60_000 }),
      shm: (w) => w.a.receiveSync({ max: N(max), timeoutMs: 60_000 }),
    },
  ]),
  ...[0, -1, NaN, 1.5, Infinity, 65].map((max): Case => ({
    what: `a batch receive with max ${max} (the batch holds 64)`,
    expect: 'INVALID_ARGUMENT',
    shm: (w) => w.a.fast.receiveBatchSync(createReceiveBatch(64, 4096), max, 60_000),
  })),
  ...['yes', 1, null, {}].map((credentials): Case => ({
    what: `createNode({credentials: ${JSON.stringify(credentials)}})`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.createNode({ credentials: credentials as boolean }),
  })),
  { what: 'createNode(null)', expect: 'INVALID_ARGUMENT', call: (w) => w.a.createNode(null as never) },
  { what: 'createNode(5)', expect: 'INVALID_ARGUMENT', call: (w) => w.a.createNode(5 as never) },
  ...[['send', 'bogus'], 'send', [null], null, undefined, new Array(2)].map((rights): Case => ({
    what: `mint with rights ${JSON.stringify(rights)}`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.mint(w.n, { rights: rights as never }),
  })),
  ...BAD_BADGES.map((badge): Case => ({
    what: `mint with badge ${String(badge)}`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.mint(w.n, { rights: ['send'], badge: N(badge) }),
  })),
  { what: 'mint without options', expect: 'INVALID_ARGUMENT', call: (w) => w.a.mint(w.n, undefined as never) },
  ...BAD_NAMES.flatMap((name): Case[] => [
    { what: `release(${String(name)})`, expect: 'INVALID_ARGUMENT', call: (w) => w.a.release(N(name)) },
    { what: `revoke(${String(name)})`, expect: 'INVALID_ARGUMENT', call: (w) => w.a.revoke(N(name)) },
    { what: `destroyNode(${String(name)})`, expect: 'INVALID_ARGUMENT', call: (w) => w.a.destroyNode(N(name)) },
    {
      what: `mint(${String(name)})`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.a.mint(N(name), { rights: ['send'] }),
    },
    {
      what: `send to ${String(name)}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.b.send(N(name), { payload: 'x' }),
      shm: (w) => w.b.fast.sendBytes(N(name), new Uint8Array(1)),
    },
    {
      what: `reply through ${String(name)}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.a.reply(N(name), {}),
      shm: (w) => w.a.fast.replyBytes(N(name), new Uint8Array(1)),
    },
  ]),
  ...BAD_PAYLOADS.flatMap((payload, i): Case[] => [
    {
      what: `a send whose payload is bad payload #${i}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.b.send(w.h, { payload: payload as never }),
      shm: (w) => w.b.fast.sendBytes(w.h, payload as never),
    },
    {
      what: `a multicast whose payload is bad payload #${i}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.b.multicast([w.h], { payload: payload as never }),
    },
    {
      what: `a call whose payload is bad payload #${i}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => w.b.call(w.h, { payload: payload as never }),
      shm: (w) => w.b.fast.callBytesSync(w.h, payload as never, new Uint8Array(8)),
    },
  ]),
  { what: 'a message that is null', expect: 'INVALID_ARGUMENT', call: (w) => w.b.send(w.h, null as never) },
  { what: 'a message that is a list', expect: 'INVALID_ARGUMENT', call: (w) => w.b.send(w.h, [] as never) },
  {
    what: 'a message whose getter throws',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.b.send(w.h, throwing() as never),
  },
  ...[
    'x',
    [5],
    [{ handle: -1 }],
    [null],
    // eslint-disable-next-line no-sparse-arrays
    [, { handle: 1 }],
  ].map((handles, i): Case => ({
    what: `a send whose transfers are bad list #${i}`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.b.send(w.h, { handles: handles as never }),
  })),
  {
    what: 'a transfer with rights that are not a list',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.send(w.n, { handles: [{ handle: w.m, rights: 'send' as never }] }),
  },
  {
    what: 'a transfer with move "yes"',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.send(w.n, { handles: [{ handle: w.m, move: 'yes' as never }] }),
  },
  {
    what: 'the same name transferred twice (SEND-5)',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.send(w.n, { handles: [{ handle: w.m }, { handle: w.m }] }),
  },
  {
    what: 'the same name transferred twice, the second through a getter that changes its answer',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.send(w.n, { handles: [{ handle: w.m }, shifting(w)] }),
  },
  { what: 'a multicast to no one', expect: 'INVALID_ARGUMENT', call: (w) => w.b.multicast([], {}) },
  { what: 'a multicast to a name twice', expect: 'INVALID_ARGUMENT', call: (w) => w.b.multicast([w.h, w.h], {}) },
  {
    what: 'a multicast whose list has a hole',
    expect: 'INVALID_ARGUMENT',
    // eslint-disable-next-line no-sparse-arrays
    call: (w) => w.b.multicast([w.h, , w.own] as number[], {}),
  },
  { what: 'a multicast to "x"', expect: 'INVALID_ARGUMENT', call: (w) => w.b.multicast('x' as never, {}) },
  {
    what: 'a multicast that moves a handle (MCAST-1)',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.a.multicast([w.n], { handles: [{ handle: w.m, move: true }] }),
  },
  ...[{ uid: '1', gid: 1, pid: 1 }, { uid: 1, gid: 1 }, null, { uid: -1, gid: 1, pid: 1 }, 5].map(
    (credentials, i): Case => ({
      what: `attach with bad credentials #${i}`,
      expect: 'INVALID_ARGUMENT',
      call: (w) => (w.ref ?? w.shm)!.attach(credentials as never),
    }),
  ),
  ...[
    'x',
    [null],
    [{ handle: 1 }],
    [{ from: 999, handle: 1 }],
    [{ from: 3, handle: 1 }], // a closed peer
  ].map((bootstrap, i): Case => ({
    what: `attach with bad bootstrap #${i}`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => (w.ref ?? w.shm)!.attach({ uid: 9, gid: 9, pid: 9 }, bootstrap as never),
  })),
  ...[{ rights: ['x'] }, { badge: 0 }, { rights: 'send' }].map((extra, i): Case => ({
    what: `attach with a bad grant #${i}`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => (w.ref ?? w.shm)!.attach({ uid: 9, gid: 9, pid: 9 }, [{ from: w.a, handle: w.n, ...extra }] as never),
  })),
  ...[-1, 1.5, '1', NaN, Infinity, 2 ** 53, null].map((ms): Case => ({
    what: `tick(${String(ms)})`,
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.tick(N(ms)),
  })),
  {
    what: 'a tick that would take the clock past 2^53-1 (TIME-1)',
    expect: 'INVALID_ARGUMENT',
    call: (w) => w.tick(Number.MAX_SAFE_INTEGER),
  },
  // ERR-1: a closed peer's operation fails CLOSED before its arguments are looked at.
  {
    what: 'a closed peer sending a bad payload',
    expect: 'CLOSED',
    call: (w) => w.c.send(1, { payload: [5] as never }),
  },
  { what: 'a closed peer receiving with max 0', expect: 'CLOSED', call: (w) => w.c.tryReceive(0) },
  {
    what: 'a closed peer minting with bad rights',
    expect: 'CLOSED',
    call: (w) => w.c.mint(1, { rights: 'x' as never }),
  },
  {
    what: 'a closed peer creating a node with credentials "yes"',
    expect: 'CLOSED',
    call: (w) => w.c.createNode({ credentials: 'yes' as never }),
  },
  {
    what: 'a closed peer calling with timeoutMs -5',
    expect: 'CLOSED',
    call: (w) => w.c.call(1, {}, { timeoutMs: -5 }),
    shm: (w) => w.c.callSync(1, {}, { timeoutMs: -5 }),
  },
];

/** Run one call on a fresh world: its outcome, and whether the bus is as it was. */
async function attempt(w: World, fn: (w: World) => unknown): Promise<{ outcome: string; unchanged: boolean }> {
  // A tick past 2^53-1 needs a clock near it: the first tick of the case is made here (it succeeds).
  const before = w.state();
  const outcome = await settledOutcome(() => fn(w));
  let unchanged = true;
  try {
    assert.deepStrictEqual(w.state(), before);
  } catch {
    unchanged = false;
  }
  return { outcome, unchanged };
}

describe('bad arguments, both backends (one matrix)', function () {
  this.timeout(60_000);

  it('every malformed argument of the public APIs fails with the same spec error in both backends, before any effect, and leaves the bus unchanged [ERR-1, ERR-2, ATOMIC-1, PEER-2, SEND-5, MINT-3, MCAST-1, RECV-1, TIME-1, BUS-2, BUS-3, CRED-1]', async () => {
    const wrong: string[] = [];
    let calls = 0;
    for (const c of CASES) {
      const runs: [string, (w: World) => unknown][] = [];
      if (c.call) runs.push(['', c.call]);
      if (c.shm) runs.push(['shm flavour', c.shm]);
      for (const [flavour, fn] of runs)
        for (const backend of BACKENDS) {
          if (flavour !== '' && backend === 'reference') continue;
          const w = world(backend);
          if (c.what.startsWith('a tick that would')) w.tick(Number.MAX_SAFE_INTEGER - 5);
          const r = await attempt(w, fn);
          calls++;
          const where = `${backend}${flavour ? ` (${flavour})` : ''}: ${c.what}`;
          if (r.outcome !== c.expect) wrong.push(`${where}: expected ${c.expect}, got ${r.outcome}`);
          else if (!r.unchanged) wrong.push(`${where}: failed ${c.expect} but changed the bus`);
        }
    }
    assert.deepStrictEqual(wrong, [], `${wrong.length} of ${calls} calls:\n${wrong.join('\n')}`);
    assert.ok(calls > 200, `only ${calls} calls`);
  });
});
