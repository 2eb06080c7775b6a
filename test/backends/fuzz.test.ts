// A fuzz target of both backends' public APIs (fast-check): sequences of calls whose
// arguments are drawn from the names each peer holds and from pools of ill-formed
// values, run on the reference backend and on the shm backend (its reference-shaped
// API and its own flavours: sync calls with timeout 0, fast paths). No call may throw
// anything but a TesseraError (a crash) or wait (a hang), and every call with an
// ill-formed argument must fail with the same spec error in both (ERR-1: the shape is
// checked before anything else, whatever the protocol version: the reference backend
// speaks protocol 2, the shm backend protocol 1, so outcomes of well-formed calls, which
// the two versions may decide differently, are counted but not compared). It reports
// the inputs tried, the errors by kind, the crashes and the hangs. Briefly in `npm test`;
// longer with TESSERA_LONG=1.
import { strict as assert } from 'assert';
import fc from 'fast-check';
import type { Delivery } from '../../spec/types';
import { TesseraError, createReceiveBatch, type ReceiveBatch } from '../../backends/shm';
import { world, type World } from './support';

const LONG = !!process.env.TESSERA_LONG;
const NUM_RUNS = LONG ? 3000 : 80;
/** A call that takes this long has waited: none of these calls may wait (every timeout is 0). */
const HANG_MS = 2000;

const throwing = (): unknown =>
  Object.defineProperty({}, 'payload', {
    enumerable: true,
    get() {
      throw new Error('a throwing getter');
    },
  });

/** Values of no name's or count's shape. */
const ILL_NAMES: unknown[] = [
  -1,
  1.5,
  NaN,
  Infinity,
  '1',
  null,
  {},
  [],
  true,
  2 ** 53,
  new Uint16Array(1),
  () => 1,
  [5],
];
/** Values that are no list of destinations (MCAST-1: empty, repeated, not names). */
const ILL_LISTS: unknown[] = [[], 'x', null, [-1], [1.5], [null], ['1'], {}, [1, 1], new Uint16Array(1)];
/** Values that are no list of rights. */
const ILL_RIGHTS: unknown[] = [-1, null, 'send', ['send', 'x'], [5], {}, [null], new Uint16Array(1)];
/** Values that are no message. */
const ILL_MESSAGES: unknown[] = [-1, null, [], 'x', { payload: [{}] }, { payload: 5 }, { handles: 'x' }, throwing()];
/** Values that are no options object. */
const ILL_OPTIONS: unknown[] = [-1, null, [], 'x', true, { credentials: 'yes' }];

type Choice = [number, number, number, number];
const n = fc.noBias(fc.nat(999));
const choice = fc.tuple(n, n, n, n) as fc.Arbitrary<Choice>;

/** The names each peer of one backend holds, learned from that backend's own outcomes. */
interface Held {
  nodes: Map<number, number[]>;
  replies: Map<number, number[]>;
}

interface Stats {
  inputs: number;
  illFormed: number;
  byOutcome: Map<string, number>;
  crashes: string[];
  hangs: string[];
}

/** One call of the sequence, made the same way on each backend (names drawn from that backend's own). */
interface Call {
  what: string;
  peer: number;
  ill: boolean;
  run: (w: World, held: Held) => unknown;
}

const pick = <T>(xs: readonly T[], k: number): T => xs[k % xs.length];
const named = (held: Held, peer: number, k: number) => pick(held.nodes.get(peer)!, k);
const reply = (held: Held, peer: number, k: number) => {
  const rs = held.replies.get(peer)!;
  return rs.length === 0 ? 0 : pick(rs, k);
};

/** sendBytes says QUEUE_FULL by returning false: as the error, to count with send. */
function queueFull(): never {
  throw new TesseraError('QUEUE_FULL', 'send');
}

/** The call a choice means: a fifth of the choices take an ill-formed argument instead of a well-formed one. */
function callOf([k, x, y, z]: Choice): Call {
  const peer = 1 + (x % 2);
  const ill = y % 5 === 4;
  const of = (w: World) => (peer === 1 ? w.a : w.b);
  const handle = (held: Held) => (ill ? pick(ILL_NAMES, y >> 3) : named(held, peer, y >> 2));
  const payload = pick(['', 'hi', 'x'.repeat(70), ['a', 'b']], z);
  const flavour = z % 3;
  switch (k % 10) {
    case 0:
      return {
        what: 'createNode',
        peer,
        ill,
        run: (w) => of(w).createNode((ill ? pick(ILL_OPTIONS, y >> 3) : { credentials: y % 2 === 0 }) as never),
      };
    case 1:
      return {
        what: 'mint',
        peer,
        ill,
        run: (w, held) =>
          of(w).mint(named(held, peer, z), { rights: (ill ? pick(ILL_RIGHTS, y >> 3) : ['send']) as never }),
      };
    case 2:
      return { what: 'release', peer, ill, run: (w, held) => of(w).release(handle(held) as number) };
    case 3:
      return { what: 'revoke', peer, ill, run: (w, held) => of(w).revoke(handle(held) as number) };
    case 4:
    case 5:
      return {
        what: 'send',
        peer,
        ill,
        run: (w, held) => {
          const illMessage = ill && y % 2 === 0;
          const message = illMessage ? pick(ILL_MESSAGES, y >> 3) : { payload };
          const to = illMessage ? named(held, peer, z) : handle(held);
          // The shm backend's own flavours of a non-blocking send, held to the same outcome.
          if (w.shm && flavour === 1) return of(w).sendSync(to as number, message as never, { timeoutMs: 0 });
          if (w.shm && flavour === 2 && !illMessage && typeof payload === 'string')
            return of(w).fast.sendBytes(to as number, Buffer.from(payload)) || queueFull();
          return of(w).send(to as number, message as never);
        },
      };
    case 6:
      return {
        what: 'multicast',
        peer,
        ill,
        run: (w, held) =>
          of(w).multicast(
            (ill ? pick(ILL_LISTS, y >> 3) : [...new Set([named(held, peer, y), named(held, peer, z)])]) as number[],
            { payload } as never,
          ),
      };
    case 7:
      return {
        what: 'reply',
        peer,
        ill,
        run: (w, held) =>
          of(w).reply((ill ? pick(ILL_NAMES, y >> 3) : reply(held, peer, y)) as number, { payload } as never),
      };
    case 8:
      return { what: 'call', peer, ill, run: (w, held) => of(w).call(handle(held) as number, { payload } as never) };
    default:
      return {
        what: 'receive',
        peer,
        ill,
        run: (w) => {
          const max = ill ? pick(ILL_NAMES, y >> 3) : 1 + (y % 4);
          if (w.shm && flavour === 1) return of(w).receiveSync({ max: max as number, timeoutMs: 0 });
          if (w.shm && flavour === 2) {
            const batch = createReceiveBatch(8, 1024);
            of(w).fast.receiveBatchSync(batch, max as number, 0);
            return batch;
          }
          return of(w).tryReceive(max as number);
        },
      };
  }
}

/** What a call gave: a value, or an error code; raw for any other exception. */
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
  return e instanceof TesseraError ? { error: e.code } : { raw: String((e as Error)?.stack ?? e) };
}

/** Learn the names an outcome hands out to `peer`. */
function learn(held: Held, peer: number, what: string, value: unknown): void {
  const nodes = held.nodes.get(peer)!,
    replies = held.replies.get(peer)!;
  if (what === 'createNode' || what === 'mint') nodes.push(value as number);
  if (what !== 'receive') return;
  if (Array.isArray(value))
    for (const d of value as Delivery[]) {
      if (d.kind === 'message' || d.kind === 'call')
        for (const h of d.handles) if (h.name !== null) (h.kind === 'reply' ? replies : nodes).push(h.name);
      if (d.kind === 'call') replies.push(d.replyHandle);
    }
  else if (value instanceof Object && 'replyHandle' in value) {
    const batch = value as ReceiveBatch;
    for (let i = 0; i < batch.count; i++) if (batch.kind[i] === 2) replies.push(batch.replyHandle[i]);
  }
}

function heldOf(w: World): Held {
  return {
    nodes: new Map([
      [1, [w.n, w.m]],
      [2, [w.h, w.own]],
    ]),
    replies: new Map([
      [1, []],
      [2, []],
    ]),
  };
}

async function runSequence(choices: Choice[], stats: Stats): Promise<void> {
  const worlds = [world('reference'), world('shm')];
  const held = worlds.map(heldOf);
  for (const [i, c] of choices.entries()) {
    const call = callOf(c);
    if (call.ill) stats.illFormed++;
    const got: { value?: unknown; error?: string; raw?: string }[] = [];
    for (const [k, w] of worlds.entries()) {
      const t0 = performance.now();
      const o = await outcome(() => call.run(w, held[k]));
      const where = `step ${i} ${call.what} of peer ${call.peer} on ${w.backend}${call.ill ? ' (ill-formed)' : ''}`;
      stats.inputs++;
      if (performance.now() - t0 > HANG_MS) stats.hangs.push(where);
      if (o.raw !== undefined) stats.crashes.push(`${where}: ${o.raw.split('\n')[0]}`);
      else if (o.error === undefined) learn(held[k], call.peer, call.what, o.value);
      const kind = o.error ?? (o.raw !== undefined ? 'raw' : 'ok');
      stats.byOutcome.set(kind, (stats.byOutcome.get(kind) ?? 0) + 1);
      got.push(o);
    }
    if (call.ill && got.every((o) => o.raw === undefined))
      assert.deepEqual(
        got.map((o) => o.error ?? 'ok'),
        ['INVALID_ARGUMENT', 'INVALID_ARGUMENT'],
        `step ${i} ${call.what} of peer ${call.peer} with an ill-formed argument`,
      );
  }
  // Calls still pending end with their callers (CLOSE-1): nothing waits once the sequence is over.
  for (const w of worlds)
    for (const p of [w.a, w.b])
      try {
        p.close();
      } catch {
        /* closed already */
      }
}

describe('fuzz: both backends public APIs', function () {
  this.timeout(LONG ? 3_600_000 : 240_000);

  it('random well- and ill-formed calls never throw anything but a spec error nor wait, and every ill-formed one fails INVALID_ARGUMENT in both backends [ERR-1, ERR-2, ATOMIC-1]', async () => {
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
      `      fuzz: ${stats.inputs} inputs tried (${stats.illFormed} calls with an ill-formed argument, on both backends), outcomes ${errors.join(', ')}; ${stats.crashes.length} crashes, ${stats.hangs.length} hangs`,
    );
    if (result.failed)
      assert.fail(
        `seed ${seed}, path "${result.counterexamplePath}"\n` +
          `replay: TESSERA_FUZZ_SEED=${seed} TESSERA_FUZZ_PATH="${result.counterexamplePath}" npx mocha dist/test/backends/fuzz.test.js\n` +
          `choices: ${JSON.stringify(result.counterexample?.[0])}\n${(result.errorInstance as Error)?.message}`,
      );
    assert.deepEqual(stats.crashes.slice(0, 5), [], 'crashes');
    assert.deepEqual(stats.hangs, [], 'hangs');
    for (const k of ['ok', 'INVALID_ARGUMENT', 'BAD_HANDLE', 'QUEUE_FULL'])
      assert.ok((stats.byOutcome.get(k) ?? 0) > 0, `the fuzz never reached ${k}`);
  });
});
