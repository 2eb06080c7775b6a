// The stdio driver protocol under faults, on both sides: a driver that hangs,
// ignores SIGTERM, hides behind a shell or leaves helpers behind ends within the
// stated timeouts and leaves no process; lines that are JSON but not objects,
// lines without an id and over-long lines get precise errors, never a crash.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { createChannelDriver, createStdioDriver } from '../../conformance/stdio';
import { DriverError, PROTOCOL_VERSION } from '../../protocol/driver';
import { serveStdio } from '../../protocol/serve';
import { wire } from '../../protocol/validate';
import { MAX_LINE_BYTES } from '../../protocol/lines';
import { createReferenceDriver } from '../../drivers/reference';
import { DEFAULT_LIMITS } from '../../spec/registry/limits';
import type { DriverResponse } from '../../protocol/wire';
import { spawn, spawnSync } from 'child_process';
import { BIN, HAS_PROC, liveProcesses, memoryChannel, processesLeft, tesseraProcess } from '../cli/support';
import { tempDirs } from '../helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const INFO = {
  name: 'fake',
  protocolVersion: PROTOCOL_VERSION,
  limits: DEFAULT_LIMITS,
  operations: ['attach', 'close'],
  features: [],
};
const initOk = (id: number) => JSON.stringify({ type: 'init_ok', id, info: INFO });

/** What init does when the driver answers the init request with `lines`. */
async function initAnsweredWith(lines: (string | Buffer)[], maxLineBytes?: number): Promise<Error | 'ok'> {
  const m = memoryChannel();
  m.onRequest(() => lines.forEach((l) => m.say(l)));
  const d = createChannelDriver(() => m.channel, { requestTimeoutMs: 5000, maxLineBytes });
  try {
    await d.init();
    return 'ok';
  } catch (err) {
    return err as Error;
  } finally {
    await d.close();
  }
}

/** Serve the reference driver on in-memory streams; feed `lines`; every line written back, parsed. */
async function served(lines: (string | Buffer)[], maxLineBytes?: number): Promise<DriverResponse[]> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  const done = serveStdio(createReferenceDriver(), input, output, () => {}, { maxLineBytes });
  for (const l of lines) input.write(l);
  input.end();
  await done;
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DriverResponse);
}

const NOT_OBJECTS: [string, RegExp][] = [
  ['null', /JSON but not an object: null/],
  ['[1,2]', /JSON but not an object: an array \(2 items\)/],
  ['42', /JSON but not an object: a number \(42\)/],
  ['"x"', /JSON but not an object: a string \("x"\)/],
  ['true', /JSON but not an object: a boolean \(true\)/],
];

describe('the stdio protocol, the suite side, under faults', function () {
  this.timeout(60_000);
  const dir = tempDirs('stdio-faults');

  for (const [line, message] of NOT_OBJECTS)
    it(`a driver answering ${line} is a driver error naming the line, not a crash [ERR-2]`, async () => {
      const r = await initAnsweredWith([line, initOk(1)]);
      assert.ok(r instanceof DriverError, String(r));
      assert.match(r.message, message);
      assert.match(r.message, new RegExp(`offending line: ${line.replace(/[[\]]/g, '\\$&')}`));
    });

  it('an error answer, or an answer of the wrong type, to a pending request rejects that request (it used to wait forever) [ERR-2]', async () => {
    for (const answer of [
      (id: number) => ({ type: 'error', id, message: 'out of cheese' }),
      (id: number) => ({ type: 'reset_ok', id, limits: DEFAULT_LIMITS }),
    ]) {
      const m = memoryChannel();
      m.onRequest((line) => {
        const req = JSON.parse(line) as { type: string; id: number };
        m.say(JSON.stringify(req.type === 'init' ? JSON.parse(initOk(req.id)) : answer(req.id)));
      });
      const d = createChannelDriver(() => m.channel, { requestTimeoutMs: 30_000 });
      await d.init();
      await assert.rejects(
        d.invoke({ op: 'attach' } as never),
        (e: Error) =>
          e instanceof DriverError &&
          /could not handle request #2 \(invoke\): out of cheese|request #2 \(invoke\) answered with reset_ok/.test(
            e.message,
          ),
      );
      await d.close();
    }
  });

  it('an answer without an id is a schema violation naming the missing id [ERR-2]', async () => {
    const r = await initAnsweredWith([JSON.stringify({ type: 'init_ok', info: INFO })]);
    assert.ok(r instanceof DriverError);
    assert.match(r.message, /violates DriverResponse\.json at "": must have required property 'id'/);
  });

  it('an over-long line is a protocol error as soon as it passes the bound, whether or not it ever ends [ERR-2]', async () => {
    const endless = await initAnsweredWith([Buffer.alloc(5000, 'x')], 1024);
    assert.ok(endless instanceof DriverError);
    assert.match(endless.message, /a line longer than 1024 bytes/);
    const ended = await initAnsweredWith(['"' + 'y'.repeat(2000) + '"', initOk(1)], 1024);
    assert.ok(ended instanceof DriverError);
    assert.match(ended.message, /a line longer than 1024 bytes[\s\S]*offending line: "yyy/);
  });

  it('a real driver writing a 20 MiB line meets the default 16 MiB bound: a driver error, no RangeError [ERR-2]', async () => {
    const script = path.join(dir(), 'long-line.js');
    fs.writeFileSync(script, `process.stdout.write('"' + 'z'.repeat(20 * 1024 * 1024)); setInterval(() => {}, 1000);`);
    const d = createStdioDriver({ command: `node ${JSON.stringify(script)}`, startupTimeoutMs: 30_000 });
    await assert.rejects(
      d.init(),
      (e: Error) => e instanceof DriverError && /longer than 16777216 bytes/.test(e.message),
    );
    await d.close();
    assert.equal(MAX_LINE_BYTES, 16 * 1024 * 1024);
  });

  it('a line split anywhere, with CRLF ends and multi-byte characters across chunks, reads as the same line', async () => {
    const whole = Buffer.from(initOk(1).replace('"fake"', '"fäké ✓"') + '\r\n');
    for (const cut of [1, 7, whole.indexOf(0xc3) + 1, whole.length - 1]) {
      const r = await initAnsweredWith([whole.subarray(0, cut), whole.subarray(cut)]);
      assert.equal(r, 'ok', `cut at ${cut}: ${String(r)}`);
    }
  });

  it('init honours the stated startup timeout instead of a fixed 60 s, and close ends the driver [ERR-2]', async () => {
    const marker = `${200000 + (process.pid % 100000)}`;
    const d = createStdioDriver({ command: `sleep ${marker}`, requestTimeoutMs: 300, startupTimeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(d.init(), /did not answer request #1 \(init\) within 300 ms/);
    assert.ok(Date.now() - started < 30_000);
    await d.close();
    if (HAS_PROC) assert.deepEqual(await processesLeft(`sleep ${marker}`), []);
  });
});

describe('the stdio protocol, the implementation side (serveStdio), under faults', () => {
  for (const [line, message] of NOT_OBJECTS)
    it(`a request line ${line} gets one error answer saying so, and the driver goes on [ERR-2]`, async () => {
      const out = await served([`${line}\n`, '{"type":"init","id":5,"protocolVersion":"2"}\n']);
      assert.equal(out.length, 2);
      assert.equal(out[0].type, 'error');
      assert.equal((out[0] as { id: unknown }).id, null);
      assert.match((out[0] as { message: string }).message, message);
      assert.equal(out[1].type, 'init_ok');
      for (const o of out) assert.ok(wire.response.check(o).ok);
    });

  it('a request without an id, or with an invalid one, is answered with id null; a valid id is echoed [ERR-2]', async () => {
    const out = await served([
      '{"type":"init","protocolVersion":"2"}\n',
      '{"type":"init","id":-1,"protocolVersion":"2"}\n',
      '{"type":"init","id":7}\n',
    ]);
    assert.deepEqual(
      out.map((o) => [o.type, (o as { id: unknown }).id]),
      [
        ['error', null],
        ['error', null],
        ['error', 7],
      ],
    );
    assert.match((out[0] as { message: string }).message, /must have required property 'id'/);
    assert.match((out[2] as { message: string }).message, /must have required property 'protocolVersion'/);
  });

  it('an over-long request line gets one error, its rest is skipped, and the next line is served [ERR-2]', async () => {
    const out = await served(
      [Buffer.alloc(3000, 'x'), Buffer.alloc(3000, 'y'), '\n{"type":"init","id":1,"protocolVersion":"2"}\n'],
      1024,
    );
    assert.deepEqual(
      out.map((o) => o.type),
      ['error', 'init_ok'],
    );
    assert.match((out[0] as { message: string }).message, /longer than 1024 bytes \(it begins "xxx/);
  });

  it('a 17 MiB request line meets the default bound without a RangeError [ERR-2]', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'q');
    const out = await served([
      ...Array.from({ length: 17 }, () => chunk),
      '\n{"type":"init","id":1,"protocolVersion":"2"}\n',
    ]);
    assert.deepEqual(
      out.map((o) => o.type),
      ['error', 'init_ok'],
    );
  });

  it('`tessera driver` answers `null` with an error line and exits 0 at the end of its input [ERR-2]', async () => {
    const r = spawnSync(process.execPath, [BIN, 'driver', '--impl', 'shm'], {
      input: 'null\n{"type":"shutdown","id":2}\n',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr.toString());
    const lines = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.type),
      ['error', 'shutdown_ok'],
    );
    assert.doesNotMatch(r.stderr.toString(), /TypeError|at /);
  });
});

describe('a stdio driver that will not end (the suite always exits)', function () {
  this.timeout(120_000);
  const dir = tempDirs('stdio-hang');
  before(function () {
    if (!HAS_PROC) this.skip();
  });

  /** A node script that ignores SIGTERM and never answers; `marker` makes its processes findable. */
  function stubborn(marker: string): string {
    const file = path.join(dir(), `stubborn-${marker}.js`);
    fs.writeFileSync(file, `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`);
    return file;
  }

  const base = 300000 + (process.pid % 100000) * 10;
  const drivers: [string, (marker: string) => string][] = [
    ['sleeps (`sleep N`)', (m) => `sleep ${m}`],
    ['ignores SIGTERM', (m) => `node ${JSON.stringify(stubborn(m))} ${m}`],
    ['hides behind a `sh -c` that does not exec', (m) => `sh -c 'node ${stubborn(m)} ${m}; echo after'`],
    ['leaves a helper holding the pipes', (m) => `sleep ${m} & sleep ${Number(m) + 1}`],
  ];
  drivers.forEach(([what, command], i) => {
    it(`a driver that ${what}: \`conformance --timeout-ms 1000\` exits 1 well within a minute, no process left [ERR-2]`, async () => {
      const marker = String(base + i * 2);
      const r = await tesseraProcess(['conformance', '--driver', command(marker), '--timeout-ms', '1000'], {
        timeoutMs: 60_000,
      });
      assert.equal(r.signal, null, `the suite hung: killed after 60 s\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /did not answer request #1 \(init\) within 1000 ms/);
      assert.deepEqual(await processesLeft(marker), [], 'processes left behind');
      assert.deepEqual(await processesLeft(String(Number(marker) + 1)), [], 'processes left behind');
      console.log(`      ${what}: exited after ${r.elapsedMs} ms`);
    });
  });

  it('SIGTERM to the suite while a driver runs ends the driver too, and the suite exits 143', async () => {
    const marker = String(base + 9);
    const file = stubborn(marker);
    const child = spawn(
      process.execPath,
      [BIN, 'conformance', '--driver', `sh -c 'node ${file} ${marker}; echo after'`],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The driver itself (not the suite, whose arguments name it too).
    const driver = new RegExp(`^node \\S+ ${marker}$`);
    const deadline = Date.now() + 30_000;
    while (liveProcesses(driver).length < 1 && Date.now() < deadline) await sleep(100);
    assert.notDeepEqual(liveProcesses(driver), [], 'the driver never started');
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.deepEqual(await processesLeft(marker), [], 'processes left behind');
  });
});
