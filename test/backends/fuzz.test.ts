// A fuzz target of both backends' public APIs (fast-check): sequences of calls with
// arguments drawn from the names each peer holds and from a pool of ill-formed
// values, run on the reference backend and on the shm backend (its reference-shaped
// API and its own flavours: sync calls with timeout 0, fast paths). Both must give the
// same outcome for every call (the same value modulo handle names, or the same spec
// error), no call may throw anything but a TesseraError (a crash), and none may wait
// (a hang). It reports the inputs tried, the errors by kind, the crashes and the hangs.
// Briefly in `npm test`; longer with TESSERA_LONG=1.
import { strict as assert } from 'assert';
import fc from 'fast-check';
import type { Delivery } from '../../spec/types';
import { TesseraError, createReceiveBatch, type ReceiveBatch } from '../../backends/shm';
import { alignValues, NameMap } from '../shm/differential';
import { world, type World } from './support';

const LONG = !!process.env.TESSERA_LONG;
const NUM_RUNS = LONG ? 3000 : 80;
/** A call that takes this long has waited: none of these calls may wait (every timeout is 0). */
const HANG_MS = 2000;

/** Values of no argument's shape, and a few of the right shape that name nothing. */
const ILL: unknown[] = [
  -1,
  1.5,
  NaN,
  Infinity,
  '1',
  null,
  undefined,
  {},
  [],
  true,
  2 ** 53,
  123_456_789,
  new Uint16Array(1),
  () => 1,
  [5],
  ['send', 'x'],
  { payload: [{}] },
  { handles: 'x' },
  Object.defineProperty({}, 'payload', {
    enumerable: true,
    get() {
      throw new Error('a throwing getter');
    },
  }),
];

type Choice = [number, number, number, number];
const n = fc.noBias(fc.nat(999));
const choice = fc.tuple(n, n, n, n) as fc.Arbitrary<Choice>;

/** The names a peer holds, in the reference backend's names (the shm names through the map). */
interface Names {
  map: NameMap;
  held: Map<number, number[]>;
  replies: Map<number, number[]>;
}

interface Stats {
  inputs: number;
  illFormed: number;
  byOutcome: Map<string, number>;
  crashes: string[];
  hangs: string[];
}

/** One call, described for both backends: on a world and the names to use there. */
interface Call {
  what: string;
  peer: number;
  run: (w: World, name: (k: number) => unknown, reply: (k: number) => unknown) => unknown;
}

const pick = <T>(xs: readonly T[], k: number): T => xs[k % xs.length];

/** The call a choice means: well-formed arguments drawn from the names held, or ill-formed ones from ILL. */
function callOf([k, x, y, z]: Choice, stats: Stats): Call {
  const ill = (v: number) => v % 5 === 4;
  const bad = (v: number) => {
    stats.illFormed++;
    return pick(ILL, v >> 3);
  };
  const peer = 1 + (x % 2);
  const nameArg = (name: (k: number) => unknown, v: number) => (ill(v) ? bad(v) : name(v >> 2));
  const payload = (v: number) => (ill(v) ? bad(v) : pick(['', 'hi', 'x'.repeat(70), ['a', 'b']], v >> 2));
  const rights = (v: number) => (ill(v) ? bad(v) : pick([['send'], ['send', 'grant'], ['grant'], []], v >> 2));
  const of = (w: World) => (peer === 1 ? w.a : w.b);
  switch (k % 12) {
    case 0:
      return {
        what: 'createNode',
        peer,
        run: (w) => of(w).createNode(ill(y) ? (bad(y) as never) : { credentials: y % 2 === 0 }),
      };
    case 1:
    case 2:
      return {
        what: 'mint',
        peer,
        run: (w, name) =>
          of(w).mint(nameArg(name, y) as number, {
            rights: rights(z) as never,
            ...(z % 3 === 0 ? { badge: 1 + (z % 4) } : {}),
          }),
      };
    case 3:
      return { what: 'release', peer, run: (w, name) => of(w).release(nameArg(name, y) as number) };
    case 4:
      return { what: 'revoke', peer, run: (w, name) => of(w).revoke(nameArg(name, y) as number) };
    case 5:
      return { what: 'destroyNode', peer, run: (w, name) => of(w).destroyNode(nameArg(name, y) as number) };
    case 6:
    case 7:
      return {
        what: 'send',
        peer,
        run: (w, name) => {
          const transfer = z % 3 === 0 ? { handles: [{ handle: nameArg(name, z >> 2), rights: rights(z >> 4) }] } : {};
          const message = ill(z >> 6) ? bad(z >> 6) : { payload: payload(y >> 1), ...transfer };
          // The shm backend's own flavours of a non-blocking send, held to the same outcome.
          if (w.shm && y % 3 === 1)
            return of(w).sendSync(nameArg(name, y) as number, message as never, { timeoutMs: 0 });
          if (w.shm && y % 3 === 2 && z % 3 !== 0 && !ill(z >> 6) && typeof payload(y >> 1) === 'string')
            return (
              of(w).fast.sendBytes(nameArg(name, y) as number, Buffer.from(payload(y >> 1) as string)) || queueFull()
            );
          return of(w).send(nameArg(name, y) as number, message as never);
        },
      };
    case 8:
      return {
        what: 'multicast',
        peer,
        run: (w, name) =>
          of(w).multicast(ill(y) ? (bad(y) as never) : ([...new Set([name(y >> 2), name(y >> 4)])] as number[]), {
            payload: payload(z) as never,
          }),
      };
    case 9:
      return {
        what: 'reply',
        peer,
        run: (w, _name, reply) =>
          of(w).reply(ill(y) ? (bad(y) as number) : (reply(y >> 2) as number), { payload: payload(z) as never }),
      };
    case 10:
      return {
        what: 'call',
        peer,
        run: (w, name) => of(w).call(nameArg(name, y) as number, { payload: payload(z) as never }),
      };
    default:
      return {
        what: 'receive',
        peer,
        run: (w) => {
          const max = ill(y) ? bad(y) : 1 + (y % 4);
          if (w.shm && z % 3 === 1) return of(w).receiveSync({ max: max as number, timeoutMs: 0 });
          if (w.shm && z % 3 === 2 && typeof max === 'number' && max >= 1 && max <= 8)
            return batchReceive(w, peer, max);
          return of(w).tryReceive(max as number);
        },
      };
  }
}

/** sendBytes says QUEUE_FULL by returning false: as the error, to compare with send. */
function queueFull(): never {
  throw new TesseraError('QUEUE_FULL', 'send');
}

/** The fast batch receive (compared with the reference's tryReceive). */
function batchReceive(w: World, peer: number, max: number): { batch: ReceiveBatch } {
  const batch = createReceiveBatch(8, 1024);
  (peer === 1 ? w.a : w.b).fast.receiveBatchSync(batch, max, 0);
  return { batch };
}

/** A batch against the reference's deliveries: the same kinds, and the names it hands out paired. */
function learnBatch(names: Names, peer: number, ref: Delivery[], batch: ReceiveBatch, where: string): void {
  assert.equal(batch.count, ref.length, `${where}: batch receive count`);
  ref.forEach((d, i) => {
    assert.equal(
      batch.kind[i],
      d.kind === 'message' ? 1 : d.kind === 'call' ? 2 : 3,
      `${where}: kind of delivery ${i}`,
    );
    if (d.kind !== 'message' && d.kind !== 'call') return;
    d.handles.forEach((h, j) => {
      const x = batch.handleName[batch.handleStart[i] + j];
      names.map.pair(peer, h.name, x < 0 ? null : x, `${where}: handle ${j} of delivery ${i}`);
      if (h.name !== null) (h.kind === 'reply' ? names.replies : names.held).get(peer)!.push(h.name);
    });
    if (d.kind === 'call') {
      names.map.pair(peer, d.replyHandle, batch.replyHandle[i], `${where}: reply handle of delivery ${i}`);
      names.replies.get(peer)!.push(d.replyHandle);
    }
  });
}

/** What a call gave: a value, or an error code; 'raw' for any other exception. */
async function outcome(fn: () => unknown): Promise<{ value?: unknown; error?: string; raw?: string }> {
  try {
    const r = fn();
    if (!(r instanceof Promise)) return { value: r };
    // A call that starts stays pending (nobody answers here); only an immediate failure settles.
    return await Promise.race([
      r.then(
        (v) => ({ value: v }),
        (e: unknown) => errorOf(e),
      ),
      new Promise<{ value: string }>((resolve) => setImmediate(() => resolve({ value: 'pending' }))),
    ]);
  } catch (e) {
    return errorOf(e);
  }
}

function errorOf(e: unknown): { error?: string; raw?: string } {
  const code = (e as { code?: unknown })?.code;
  return (e as Error)?.name === 'TesseraError' && typeof code === 'string'
    ? { error: code }
    : { raw: String((e as Error)?.stack ?? e) };
}

/** Learn the names a value hands out (reference name -> shm name, per peer). */
function learn(names: Names, peer: number, what: string, ref: unknown, shm: unknown): void {
  if (what === 'createNode' || what === 'mint') {
    names.map.pair(peer, ref as number, shm as number, what);
    names.held.get(peer)!.push(ref as number);
    return;
  }
  if (what !== 'receive' || !Array.isArray(ref)) return;
  alignValues(names.map, peer, ref, shm, 'receive');
  for (const d of ref as Delivery[]) {
    if (d.kind === 'message' || d.kind === 'call')
      for (const h of d.handles)
        if (h.name !== null) (h.kind === 'reply' ? names.replies : names.held).get(peer)!.push(h.name);
    if (d.kind === 'call') names.replies.get(peer)!.push(d.replyHandle);
  }
}

async function runSequence(choices: Choice[], stats: Stats): Promise<void> {
  const ref = world('reference'),
    shm = world('shm');
  const names: Names = { map: new NameMap(), held: new Map(), replies: new Map() };
  const peers: [number, number[]][] = [
    [1, [ref.n, ref.m]],
    [2, [ref.h, ref.own]],
  ];
  const shmNames: [number, number[]][] = [
    [1, [shm.n, shm.m]],
    [2, [shm.h, shm.own]],
  ];
  for (const [[peer, rs], [, xs]] of peers.map((p, i) => [p, shmNames[i]] as const)) {
    names.held.set(peer, [...rs]);
    names.replies.set(peer, []);
    rs.forEach((r, i) => names.map.pair(peer, r, xs[i], 'setup'));
  }
  for (const [i, c] of choices.entries()) {
    const call = callOf(c, stats);
    const held = names.held.get(call.peer)!,
      replies = names.replies.get(call.peer)!;
    const refName = (k: number) => (held.length === 0 ? 0 : pick(held, k));
    const refReply = (k: number) => (replies.length === 0 ? 0 : pick(replies, k));
    const t0 = performance.now();
    const a = await outcome(() => call.run(ref, refName, refReply));
    const b = await outcome(() =>
      call.run(
        shm,
        (k) => names.map.shm(call.peer, refName(k)),
        (k) => names.map.shm(call.peer, refReply(k)),
      ),
    );
    stats.inputs += 2;
    const where = `step ${i} ${call.what} of peer ${call.peer}`;
    if (performance.now() - t0 > HANG_MS) stats.hangs.push(where);
    for (const o of [a, b]) if (o.raw !== undefined) stats.crashes.push(`${where}: ${o.raw.split('\n')[0]}`);
    const kind = a.error ?? (a.raw !== undefined ? 'raw' : 'ok');
    stats.byOutcome.set(kind, (stats.byOutcome.get(kind) ?? 0) + 1);
    if (a.raw !== undefined || b.raw !== undefined) continue;
    assert.equal(b.error ?? 'ok', a.error ?? 'ok', `${where}: reference ${a.error ?? 'ok'}, shm ${b.error ?? 'ok'}`);
    const batch = (b.value as { batch?: ReceiveBatch })?.batch;
    if (batch !== undefined && a.error === undefined) learnBatch(names, call.peer, a.value as Delivery[], batch, where);
    else if (a.error === undefined) learn(names, call.peer, call.what, a.value, b.value);
  }
  // Calls still pending end with their callers (CLOSE-1): nothing waits once the sequence is over.
  for (const w of [ref, shm])
    for (const p of [w.a, w.b])
      try {
        p.close();
      } catch {
        /* closed already */
      }
}

describe('fuzz: both backends public APIs, compared', function () {
  this.timeout(LONG ? 3_600_000 : 240_000);

  it('random well- and ill-formed calls give the same outcome in both backends, never a raw exception, never a wait [ERR-1, ERR-2, ATOMIC-1, HANDLE-2, ORDER-2]', async () => {
    const stats: Stats = { inputs: 0, illFormed: 0, byOutcome: new Map(), crashes: [], hangs: [] };
    const seed = Number(process.env.TESSERA_FUZZ_SEED ?? 0xf022);
    const path = process.env.TESSERA_FUZZ_PATH;
    const result = await fc.check(
      fc.asyncProperty(fc.array(choice, { minLength: 20, maxLength: 80, size: 'max' }), (choices) =>
        runSequence(choices, stats),
      ),
      { seed, numRuns: NUM_RUNS, ...(path ? { path } : {}) },
    );
    const errors = [...stats.byOutcome].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`);
    console.log(
      `      fuzz: ${stats.inputs} inputs tried (${stats.illFormed} ill-formed arguments), outcomes ${errors.join(', ')}; ${stats.crashes.length} crashes, ${stats.hangs.length} hangs`,
    );
    if (result.failed)
      assert.fail(
        `the backends differ (seed ${seed}, path "${result.counterexamplePath}")\n` +
          `replay: TESSERA_FUZZ_SEED=${seed} TESSERA_FUZZ_PATH="${result.counterexamplePath}" npx mocha dist/test/backends/fuzz.test.js\n` +
          `choices: ${JSON.stringify(result.counterexample?.[0])}\n${(result.errorInstance as Error)?.message}`,
      );
    assert.deepEqual(stats.crashes.slice(0, 5), [], 'crashes');
    assert.deepEqual(stats.hangs, [], 'hangs');
    for (const k of ['ok', 'INVALID_ARGUMENT', 'BAD_HANDLE', 'QUEUE_FULL'])
      assert.ok((stats.byOutcome.get(k) ?? 0) > 0, `the fuzz never reached ${k}`);
  });
});
