// The suite's reports read as the real cause of a failure. Each test runs the
// suite against the minimal JavaScript driver of fixtures/minimal-driver.js (written
// from conformance/README.md) with one bug planted, and checks what the report
// says: what differs in protocol terms, the clause that decides it, the driver's
// own JSON, the run's limits; and a driver crash shows its exception.
import { strict as assert } from 'assert';
import * as path from 'path';
import { runSuite, type SuiteOptions } from '../../conformance/suite';
import { createStdioDriver } from '../../conformance/stdio';
import { formatReport } from '../../conformance/report-text';
import { MUTANTS } from '../../conformance/mutants';
import type { ConformanceReport } from '../../conformance/report-types';
import { ROOT } from './support';

const DRIVER = path.join(ROOT, 'test', 'conformance', 'fixtures', 'minimal-driver.js');
const command = (bug?: string) => `node ${JSON.stringify(DRIVER)}${bug ? ` --bug ${bug}` : ''}`;

function suite(bug: string | undefined, o: Partial<SuiteOptions> = {}): Promise<ConformanceReport> {
  const cmd = command(bug);
  return runSuite({
    createDriver: () => createStdioDriver({ command: cmd }),
    driverLabel: cmd,
    replayBase: `npx tessera conformance --driver ${JSON.stringify(cmd)}`,
    runs: 100,
    seed: 1,
    ...o,
  });
}

describe('failure reports lead to the bug (planted in a minimal JavaScript driver)', function () {
  this.timeout(120_000);

  it('the minimal driver passes: the verdict names the core level passed and the coverage, and says what unlocks each other level [BUS-1, NODE-1, SEND-1, RECV-1]', async () => {
    const r = await suite(undefined, { runs: 30 });
    assert.equal(r.status, 'pass', formatReport(r));
    const core = r.levels.find((l) => l.name === 'core')!;
    assert.equal(core.status, 'pass');
    assert.match(r.verdict, /^PASS: level core passed \(1 of 9\); clause coverage \d+\/\d+ \(\d+%\)$/);
    const calls = r.levels.find((l) => l.name === 'calls')!;
    assert.equal(calls.status, 'unsupported');
    assert.deepEqual(calls.missing, ['operation call', 'operation reply']);
    assert.match(calls.unlock!, /implement call, reply and list them in info.operations/);
    const text = formatReport(r);
    assert.match(text, /-------- summary --------[\s\S]*UNSUPPORTED limits[\s\S]*VERDICT PASS: level core passed/);
    assert.match(
      text,
      /\d+ unsupported; they need: [^\n]*feature transfers \(\d+\)/,
      'why cases are unsupported, without --verbose',
    );
  });

  it('a reversed order of node-destroyed notices reads as the order of deliveries, citing NOTICE-5, not as a name reused [NOTICE-5, ORDER-2]', async () => {
    const r = await suite('notice-order', { runs: 300 });
    const p = r.properties.find((x) => x.name === 'sequential')!;
    assert.equal(p.status, 'fail', formatReport(r));
    assert.equal(p.diagnosis?.kind, 'order', p.message);
    assert.equal(p.diagnosis?.clauses[0], 'NOTICE-5');
    assert.match(p.message!, /^step \d+, p\d\.receive\(max \d[^)]*\): the order of deliveries differs/);
    assert.doesNotMatch(p.message!.split('\n')[0], /reused/);
  });

  it("a LIFO receive reads as the order of deliveries, citing ORDER-2; each step shows the driver's own JSON [ORDER-2, RECV-1]", async () => {
    const r = await suite('lifo-receive', { cases: ['receive-batches'] });
    const c = r.cases.find((x) => x.id === 'receive-batches')!;
    assert.equal(c.status, 'fail');
    assert.equal(c.diagnosis?.kind, 'order');
    assert.ok(c.diagnosis?.clauses.includes('ORDER-2'));
    assert.doesNotMatch(c.message!, /values differ/);
    assert.ok(c.trace!.some((s) => s.differs && JSON.stringify(s.driver).includes('"deliveries"')));
    const text = formatReport(r);
    assert.match(text, /driver: \{"ok":true,"value":\{"deliveries":\[\{"kind":"message"/);
    assert.match(text, /driver answered: {4}\{"ok":true/);
  });

  it('a wrong derivedCount reads as a wrong value of that field, citing NOTICE-3, not "the values differ" [NOTICE-3, NOTICE-2]', async () => {
    const r = await suite('derived-count', { cases: ['no-senders'] });
    const c = r.cases.find((x) => x.id === 'no-senders')!;
    assert.equal(c.status, 'fail');
    assert.equal(c.diagnosis?.kind, 'value');
    assert.equal(c.diagnosis?.clauses[0], 'NOTICE-3');
    assert.match(c.diagnosis!.summary, /notice\.derivedCount is 2, the model's 3/);
  });

  it("without configurable limits the property drives a run to the driver's own sender quota, catches a missing quota check and prints the limits in force [QUOTA-1, QUOTA-2]", async () => {
    const r = await suite('no-sender-quota', { seed: 4, runs: 300 });
    const p = r.properties.find((x) => x.name === 'sequential')!;
    assert.equal(p.status, 'fail', formatReport(r));
    assert.equal(p.diagnosis?.kind, 'error');
    assert.equal(p.diagnosis?.clauses[0], 'QUOTA-1');
    assert.match(p.diagnosis!.summary, /the driver succeeded where the model fails QUEUE_FULL/);
    assert.equal(p.conditions?.limits.senderQuotaMessages, 16);
    const text = formatReport(r);
    assert.match(text, /limits in force: maxPeers 64, .*senderQuotaMessages 16/);
    assert.match(text, /p2 is at its sender quota in p1's queue/);
    assert.match(text, /before the step, p2 held 16 message\(s\)/);
  });

  it("a driver that crashes shows its TypeError and the line of its own code, not only the runtime's frames [ERR-1]", async () => {
    const r = await suite('crash', { runs: 300 });
    assert.equal(r.status, 'error');
    assert.match(r.driverError!, /TypeError: Cannot read properties of undefined/);
    assert.match(r.driverError!, /minimal-driver\.js:\d+:\d+/);
    assert.doesNotMatch(r.driverError!, /node:internal/);
  });

  it("a driver that cannot start shows the missing module's message [ERR-1]", async () => {
    const r = await suite('missing-module', { runs: 1 });
    assert.equal(r.status, 'error');
    assert.match(r.driverError!, /Cannot find module '\.\/tessera-wire-helpers'/);
  });

  it('a delivery with data instead of payload is a schema error at that delivery, and the run stops at the first driver fault [DELIVER-1]', async () => {
    const r = await suite('data-field', { runs: 1 });
    assert.equal(r.status, 'error');
    assert.match(r.driverError!, /at "\/invocation\/value\/deliveries\/0": must have required property 'payload'/);
    assert.doesNotMatch(r.driverError!, /required property 'error'/);
    assert.equal(r.cases.filter((c) => c.status === 'error').length, 1, 'one case errs, then the suite stops');
  });

  it('a concurrent failure is headlined from its smallest failing history: the operations it names are in that history [INV-7, QUOTA-1]', async () => {
    const m = MUTANTS.find((x) => x.name === 'quota-per-receiver')!;
    const r = await runSuite({
      createDriver: () => m.createDriver(),
      driverLabel: 'in-process:mutant:quota-per-receiver',
      replayBase: '',
      runs: 1,
      seed: 1,
      cases: ['create-node'],
      levels: ['concurrency'],
      concurrency: 3,
      concurrentRuns: 5,
    });
    const p = r.properties.find((x) => x.name === 'linearizability')!;
    assert.equal(p.status, 'fail');
    const named = [...p.message!.matchAll(/#(\d+)/g)].map((x) => `#${x[1]}`);
    assert.ok(named.length > 0, p.message);
    for (const id of named)
      assert.ok(
        p.counterexample!.some((l) => l.startsWith(`${id} `)),
        `${id} is not in the history shown`,
      );
    assert.ok(
      p.counterexample!.some((l) => / attach\(/.test(l)),
      'the minimized history keeps its peers',
    );
  });
});
