import { strict as assert } from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSuite } from '../../conformance/suite';
import { createStdioDriver } from '../../conformance/stdio';
import { Readable, Writable } from 'stream';
import { DriverError } from '../../protocol/driver';
import { serveStdio } from '../../protocol/serve';
import { createReferenceDriver } from '../../drivers/reference';
import { reportValidator } from '../../conformance/report-schema';
import { ROOT, TESSERA, expectReportPass } from './support';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [path.join(ROOT, 'bin', 'tessera.js'), ...args],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 99) : 0, stdout, stderr });
      },
    );
  });
}

const V1_LIMITS =
  'maxPeers: 64, maxHandlesPerPeer: 256, maxPayloadBytes: 65536, maxHandlesPerMessage: 8, queueCapacityMessages: 64, queueCapacityBytes: 1048576, senderQuotaMessages: 16, senderQuotaBytes: 262144';
const V2_LIMITS = `${V1_LIMITS}, maxNodesPerPeer: 64, maxPendingPerPeer: 64, senderQuotaHandles: 64`;

/** A fake driver: a node one-liner that answers init (as a driver of `version`) and then misbehaves. */
function fake(behaviour: string, version = '2'): string {
  const script = `
const rl = require('readline').createInterface({ input: process.stdin });
const info = { name: 'fake', protocolVersion: '${version}', limits: { ${version === '1' ? V1_LIMITS : V2_LIMITS} }, operations: ['attach','createNode','send','receive','close'], features: [] };
rl.on('line', (line) => {
  const req = JSON.parse(line);
  const say = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
  if (req.type === 'init') return say({ type: 'init_ok', id: req.id, info });
  if (req.type === 'reset') return say({ type: 'reset_ok', id: req.id, limits: req.limits });
  if (req.type === 'shutdown') { say({ type: 'shutdown_ok', id: req.id }); process.exit(0); }
  ${behaviour}
});`;
  const file = path.join(os.tmpdir(), `tessera-fake-${process.pid}-${version}-${Math.abs(hash(behaviour))}.js`);
  fs.writeFileSync(file, script);
  return `node ${JSON.stringify(file)}`;
}
function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return h;
}

describe('the stdio driver protocol', () => {
  it('the reference backend passes the suite through `tessera driver --impl reference` [INV-3, ERR-2]', async function () {
    this.timeout(90_000);
    const command = `${TESSERA} driver --impl reference`;
    const started = Date.now();
    const report = await runSuite({
      createDriver: () => createStdioDriver({ command }),
      driverLabel: command,
      replayBase: '',
      runs: 60,
      seed: 1,
      concurrency: 3,
      completionGraceMs: 20,
    });
    expectReportPass(report);
    const seq = report.properties.find((p) => p.name === 'sequential')!;
    console.log(`      stdio: ${seq.steps} operations at ${seq.opsPerSecond} ops/s (suite ${Date.now() - started} ms)`);
  });

  const broken: [string, string, RegExp][] = [
    ['answers garbage', `process.stdout.write('this is not json\\n');`, /not JSON[\s\S]*this is not json/],
    [
      'violates the schema',
      `say({ type: 'invoke_ok', id: req.id, invocation: { ok: 'maybe' } });`,
      /violates DriverResponse\.json/,
    ],
    [
      'answers an unknown id',
      `say({ type: 'invoke_ok', id: 9999, invocation: { ok: true, value: {} } });`,
      /never sent/,
    ],
    [
      'answers twice',
      `say({ type: 'invoke_ok', id: req.id, invocation: { ok: false, error: 'CLOSED' } }); say({ type: 'invoke_ok', id: req.id, invocation: { ok: false, error: 'CLOSED' } });`,
      /second response/,
    ],
    ['hangs', `/* never answers */`, /did not answer request #\d+ \(invoke attach\) within 1500 ms/],
    [
      'exits',
      `process.stderr.write('fatal: out of cheese\\n'); process.exit(3);`,
      /exited \(code 3\)[\s\S]*out of cheese/,
    ],
  ];
  for (const [what, behaviour, expected] of broken) {
    it(`a driver that ${what} gives a clear driver error, a non-zero status and no hang [ERR-2]`, async function () {
      this.timeout(20_000);
      const command = fake(behaviour);
      const report = await runSuite({
        createDriver: () => createStdioDriver({ command, requestTimeoutMs: 1500 }),
        driverLabel: command,
        replayBase: '',
        runs: 5,
        seed: 1,
      });
      assert.equal(report.status, 'error');
      const text = [report.driverError ?? '', ...report.cases.map((c) => c.message ?? '')].join('\n');
      assert.match(text, expected);
      assert.ok(reportValidator.check(report).ok, 'the report does not validate');
    });
  }

  it('a driver of protocol 1 gets one clear message saying what protocol 2 changed, and nothing is run [ERR-2, BOUND-2, NODE-6]', async function () {
    this.timeout(20_000);
    const command = fake('/* never asked */', '1');
    const report = await runSuite({
      createDriver: () => createStdioDriver({ command, requestTimeoutMs: 1500 }),
      driverLabel: command,
      replayBase: '',
      runs: 5,
      seed: 1,
    });
    assert.equal(report.status, 'error');
    assert.match(report.driverError ?? '', /speaks protocol version "1" and the suite "2": protocol 2 is Tessera v2/);
    assert.doesNotMatch(report.driverError ?? '', /violates/);
    assert.deepEqual(report.cases, []);
  });

  it('a TypeScript driver asked for another protocol answers with the same message instead of serving it [ERR-2]', async function () {
    this.timeout(20_000);
    const out: string[] = [];
    const input = Readable.from([JSON.stringify({ type: 'init', id: 1, protocolVersion: '1' }) + '\n']);
    const sink = new Writable({
      write(chunk, _enc, done) {
        out.push(String(chunk));
        done();
      },
    });
    await serveStdio(createReferenceDriver(), input, sink, () => {});
    const reply = JSON.parse(out[0]);
    assert.equal(reply.type, 'error');
    assert.match(reply.message, /speaks protocol version "2" and the suite "1"/);
  });

  it('a driver command that does not exist is a driver error [ERR-2]', async () => {
    const d = createStdioDriver({ command: 'definitely-not-a-tessera-driver-xyz', requestTimeoutMs: 3000 });
    await assert.rejects(
      d.init(),
      (e: unknown) => e instanceof DriverError && /exited|could not start/.test((e as Error).message),
    );
    await d.close();
  });

  it('the CLI exits 0 on a pass, writes a JSON report that validates against its schema, and 1 with a replay line on a failure [TIME-2]', async function () {
    this.timeout(60_000);
    const json = path.join(os.tmpdir(), `tessera-report-${process.pid}.json`);
    const ok = await cli(['conformance', '--impl', 'reference', '--runs', '20', '--seed', '1', '--json', json]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const checked = reportValidator.check(JSON.parse(fs.readFileSync(json, 'utf8')));
    assert.ok(checked.ok, JSON.stringify(checked));
    const bad = await cli(['conformance', '--impl', 'mutant:credentials-always', '--runs', '50', '--seed', '1']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      /replay: npx tessera conformance --impl mutant:credentials-always --seed 1 --path "[\d:]+"/,
    );
    assert.match(
      bad.stdout,
      /counterexample \(shrunk\):\n\s+limits in force: maxPeers \d+[^\n]*\n[\s\S]*?\n\s+1\. attach/,
    );
  });
});
