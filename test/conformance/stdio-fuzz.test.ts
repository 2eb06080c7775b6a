// Fuzzing both sides of the stdio driver protocol with random lines: any JSON
// value, request- and response-shaped objects with wrong fields and ids, junk
// text, bytes that are not UTF-8, CRLF, blank and over-long lines.
// The implementation's side (serveStdio, over the reference driver) answers every
// line exactly once, in order, with a message DriverResponse.json accepts, and
// still shuts down cleanly. The suite's side (the stdio Driver) either gets its
// answer or reports a DriverError; nothing else escapes and nothing hangs.
// TESSERA_LONG=1 runs many more inputs.
import { strict as assert } from 'assert';
import { PassThrough } from 'stream';
import fc from 'fast-check';
import { serveStdio } from '../../protocol/serve';
import { readRequestLine, wire } from '../../protocol/validate';
import { createChannelDriver } from '../../conformance/stdio';
import { DriverError, PROTOCOL_VERSION } from '../../protocol/driver';
import { createReferenceDriver } from '../../drivers/reference';
import { DEFAULT_LIMITS } from '../../spec/registry/limits';
import type { DriverResponse } from '../../protocol/wire';
import { memoryChannel } from '../cli/support';

const LONG = process.env.TESSERA_LONG === '1';
/** A small line bound, so that over-long lines are cheap to make. */
const MAX_LINE = 2048;
/** Past this, a request or an answer counts as a hang. */
const HANG_MS = 20_000;

const INFO = {
  name: 'fuzz',
  protocolVersion: PROTOCOL_VERSION,
  limits: DEFAULT_LIMITS,
  operations: ['attach', 'createNode', 'send', 'receive', 'close'],
  features: [],
};

const ids = fc.oneof(
  { weight: 4, arbitrary: fc.nat(5) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 1.5, '1', null, 2 ** 53, true) },
);
const ops = fc.oneof(
  fc.constantFrom<unknown>(
    { op: 'attach' },
    { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } },
    { op: 'createNode', peer: 1 },
    { op: 'receive', peer: 1 },
    { op: 'close', peer: 1 },
    { op: 'tick', ms: 5 },
  ),
  fc.record({ op: fc.string({ maxLength: 8 }) }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Objects shaped like messages of either direction, with every field possibly wrong or missing. */
function messageLike(types: string[]): fc.Arbitrary<string> {
  return fc
    .record(
      {
        type: fc.oneof(fc.constantFrom(...types), fc.string({ maxLength: 6 }), fc.constant(7)),
        id: ids,
        protocolVersion: fc.constantFrom<unknown>('1', '2', 1),
        limits: fc.oneof(fc.constant<unknown>(DEFAULT_LIMITS), fc.jsonValue({ maxDepth: 1 })),
        op: ops,
        info: fc.oneof(fc.constant<unknown>(INFO), fc.jsonValue({ maxDepth: 1 })),
        invocation: fc.constantFrom<unknown>(
          { ok: true, value: 1 },
          { ok: false, error: 'CLOSED' },
          { pending: true, ticket: 1 },
          null,
          { ok: 'maybe' },
        ),
        message: fc.oneof(fc.string({ maxLength: 10 }), fc.constant<unknown>(3)),
        completion: fc.jsonValue({ maxDepth: 1 }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
}

/** Well-formed requests (the suite's lines), with small ids that may repeat. */
const requests = fc.oneof(
  fc.nat(5).map((id) => ({ type: 'init', id, protocolVersion: PROTOCOL_VERSION })),
  fc.nat(5).map((id) => ({ type: 'reset', id, limits: DEFAULT_LIMITS })),
  fc.tuple(fc.nat(5), ops).map(([id, op]) => ({ type: 'invoke', id, op })),
);
/** Well-formed answers (the driver's lines), to requests sent or not, of the right type or not. */
const answers = fc.oneof(
  fc.nat(3).map((id) => ({ type: 'init_ok', id, info: INFO })),
  fc.nat(3).map((id) => ({ type: 'reset_ok', id, limits: DEFAULT_LIMITS })),
  fc.nat(3).map((id) => ({ type: 'invoke_ok', id, invocation: { ok: true, value: {} } })),
  fc.nat(3).map((id) => ({ type: 'shutdown_ok', id })),
  fc.option(fc.nat(3)).map((id) => ({ type: 'error', id, message: 'boom' })),
  fc.constant({ type: 'completion', completion: { ticket: 1, peer: 1, op: 'call', result: { ok: true, value: {} } } }),
);

/** One line (bytes), with its newline: never containing another newline. */
function lines(types: string[]): fc.Arbitrary<Buffer> {
  const wellFormed = (types.includes('init') ? requests : answers).map((m) => JSON.stringify(m));
  const text = fc.oneof(
    { weight: 4, arbitrary: wellFormed },
    { weight: 4, arbitrary: messageLike(types) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.constantFrom('null', '[1,2]', '42', '"x"', 'true', '{}', '', '   ', '{', 'not json') },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_LINE + 1, max: MAX_LINE * 3 }).map((n) => 'x'.repeat(n)) },
  );
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc
        .tuple(text, fc.boolean())
        .map(([t, crlf]) => Buffer.from(t.replace(/[\r\n]/g, ' ') + (crlf ? '\r\n' : '\n'))),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 40 })
        .map((b) => Buffer.concat([Buffer.from(b.filter((x) => x !== 10)), Buffer.from('\n')])),
    },
  );
}

class Tally {
  readonly kinds = new Map<string, number>();
  inputs = 0;
  lines = 0;
  add(kind: string): void {
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }
  report(what: string): string {
    const kinds = [...this.kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    return `${what}: ${this.inputs} inputs (${this.lines} lines); ${kinds.join(', ')}; crashes 0, hangs 0`;
  }
}

/** The kind of an error message either side gave. */
function errorKind(message: string): string {
  if (/not JSON/.test(message)) return 'not JSON';
  if (/not an object/.test(message)) return 'not an object';
  if (/violates/.test(message)) return 'schema';
  if (/longer than/.test(message)) return 'over-long';
  if (/never sent|second response/.test(message)) return 'unknown or repeated id';
  if (/answered with/.test(message)) return 'wrong answer type';
  if (/without a request id|could not handle/.test(message)) return "the driver's own error";
  return 'other';
}

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${HANG_MS} ms`)), HANG_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe('fuzzing the stdio driver protocol', function () {
  this.timeout(LONG ? 1_800_000 : 120_000);

  it('the implementation side answers every line once, in order, with a valid message, and still shuts down', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(fc.array(lines(['init', 'reset', 'invoke', 'bogus']), { maxLength: 12 }), async (input) => {
        tally.inputs++;
        const stdin = new PassThrough();
        const stdout = new PassThrough();
        let text = '';
        stdout.on('data', (d: Buffer) => (text += d.toString()));
        const done = serveStdio(createReferenceDriver(), stdin, stdout, () => {}, { maxLineBytes: MAX_LINE });
        for (const l of input) stdin.write(l);
        stdin.write('{"type":"shutdown","id":999999}\n');
        await within(done, 'serveStdio');
        const answers = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as DriverResponse);
        for (const a of answers) assert.ok(wire.response.check(a).ok, JSON.stringify(a));
        const replies = answers.filter((a) => a.type !== 'completion');
        const read = input.map((b) => b.toString('utf8').replace(/\r?\n$/, '')).filter((l) => l.trim() !== '');
        tally.lines += read.length;
        assert.equal(replies.length, read.length + 1, 'one answer per line');
        assert.deepEqual(replies[replies.length - 1], { type: 'shutdown_ok', id: 999999 });
        read.forEach((line, i) => {
          const reply = replies[i];
          tally.add(
            reply.type !== 'error'
              ? reply.type
              : reply.message.startsWith('cannot read the request')
                ? `error: ${errorKind(reply.message)}`
                : 'error: the driver refused the request',
          );
          const request = line.length > MAX_LINE ? null : readRequestLine(line);
          if (request && !request.ok) {
            assert.equal(reply.type, 'error', line);
            assert.equal((reply as { id: unknown }).id, request.id, `${line}: the id is not echoed`);
          }
          if (request?.ok && reply.type !== 'error') assert.equal((reply as { id: number }).id, request.value.id);
        });
      }),
      { numRuns: LONG ? 5000 : 300, seed: 5 },
    );
    console.log(`      ${tally.report('serveStdio')}`);
  });

  it('the suite side gets its answer or a DriverError, whatever lines come before it; nothing else escapes, nothing hangs', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'init' | 'invoke'>('init', 'invoke'),
        fc.array(lines(['init_ok', 'reset_ok', 'invoke_ok', 'shutdown_ok', 'completion', 'error']), { maxLength: 6 }),
        async (phase, junk) => {
          tally.inputs++;
          tally.lines += junk.length;
          const m = memoryChannel();
          m.onRequest((line) => {
            const req = JSON.parse(line) as { type: string; id: number };
            if (req.type === 'shutdown') return m.say(JSON.stringify({ type: 'shutdown_ok', id: req.id }));
            if (req.type !== phase) return m.say(JSON.stringify({ type: 'init_ok', id: req.id, info: INFO }));
            junk.forEach((b) => m.say(b));
            m.say(
              JSON.stringify(
                phase === 'init'
                  ? { type: 'init_ok', id: req.id, info: INFO }
                  : { type: 'invoke_ok', id: req.id, invocation: { ok: true, value: { peer: 1 } } },
              ),
            );
          });
          const d = createChannelDriver(() => m.channel, { requestTimeoutMs: HANG_MS, maxLineBytes: MAX_LINE });
          let kind = 'answered';
          try {
            await within(
              (async () => {
                await d.init();
                if (phase === 'invoke') await d.invoke({ op: 'attach' } as never);
              })(),
              phase,
            );
          } catch (err) {
            if (/^hang/.test((err as Error).message) || !(err instanceof DriverError)) throw err;
            kind = `driver error: ${errorKind(err.message)}`;
          }
          await within(d.close(), 'close');
          tally.add(kind);
        },
      ),
      { numRuns: LONG ? 5000 : 300, seed: 9 },
    );
    console.log(`      ${tally.report('the stdio Driver')}`);
  });
});
