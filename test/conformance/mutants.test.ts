import { strict as assert } from 'assert';
import { MUTANTS } from '../../conformance/mutants';
import { runSuite } from '../../conformance/suite';
import { formatReport } from '../../conformance/report-text';
import { runSequentialProperty } from '../../conformance/property';
import { Harness } from '../../conformance/session';
import { createStdioDriver } from '../../conformance/stdio';
import { LONG, TESSERA, expectReportFail } from './support';

/** Mutants also run through the stdio driver protocol (`tessera driver --impl mutant:NAME`). */
const THROUGH_STDIO = new Set(['name-reuse', 'multicast-order', 'leak-on-discard']);
/** Every mutant is caught by the property within CAP runs on each of the seeds 1..SEEDS. */
const SEEDS = LONG ? 10 : 5;
const CAP = 100;

describe('the suite catches every mutant (self-test by mutation)', () => {
  const table: string[] = [];
  after(() => {
    console.log(
      `      mutant catch table (cases failed; property: runs to the first failure, mean over ${SEEDS} seeds):\n${table.map((l) => `        ${l}`).join('\n')}`,
    );
  });

  for (const m of MUTANTS) {
    it(`the suite fails the mutant "${m.name}": ${m.bug} [${m.clauses.join(', ')}]`, async function () {
      this.timeout(60_000);
      // The whole suite, as a user runs it, gives the verdict and the property's seed-1 count; without
      // shrinking (shrinking is tested on its own), which would cost ten times the catch itself.
      const report = await runSuite({
        createDriver: () => m.createDriver(),
        driverLabel: `in-process:mutant:${m.name}`,
        replayBase: '',
        runs: CAP,
        seed: 1,
        shrink: false,
      });
      expectReportFail(report, m.name);
      const cases = report.cases.filter((c) => c.status === 'fail').map((c) => c.id);
      const first = report.properties.find((p) => p.name === 'sequential');
      const runsToFail: number[] = first?.status === 'fail' ? [first.runs] : [];
      for (let seed = 2; seed <= SEEDS; seed++) {
        const p = await runSequentialProperty(await Harness.open(m.createDriver()), { runs: CAP, seed, shrink: false });
        if (p.status === 'fail') runsToFail.push(p.runs);
      }
      const mean = runsToFail.length ? (runsToFail.reduce((a, b) => a + b, 0) / runsToFail.length).toFixed(1) : '-';
      table.push(
        `${m.name.padEnd(31)} cases: ${String(cases.length).padStart(2)} (${cases.slice(0, 3).join(', ')}${cases.length > 3 ? ', ...' : ''}); property: caught in ${runsToFail.length}/${SEEDS} seeds within ${CAP} runs, mean ${mean} runs`,
      );
      assert.ok(cases.length > 0 || report.properties.some((p) => p.status === 'fail'));
      assert.equal(runsToFail.length, SEEDS, `the property missed "${m.name}" within ${CAP} runs on some seeds`);
    });
  }

  it('a failure is shrunk to a shorter counterexample by default, and reported as found with shrink: false', async function () {
    this.timeout(60_000);
    const m = MUTANTS.find((x) => x.name === 'reply-receive-unordered')!;
    const run = (shrink: boolean) =>
      runSuite({
        createDriver: () => m.createDriver(),
        driverLabel: 'x',
        replayBase: '',
        runs: CAP,
        seed: 1,
        casesOnly: false,
        shrink,
      });
    const [shrunk, found] = [await run(true), await run(false)];
    const length = (r: typeof shrunk) => r.properties.find((p) => p.name === 'sequential')?.counterexample?.length ?? 0;
    assert.ok(length(found) > 0 && length(shrunk) > 0, 'both runs fail the property with a counterexample');
    assert.ok(length(shrunk) < length(found), `shrunk ${length(shrunk)} operations, as found ${length(found)}`);
    assert.match(formatReport(found), /counterexample \(as found\):/);
    assert.match(formatReport(shrunk), /counterexample \(shrunk\):/);
  });

  for (const name of THROUGH_STDIO) {
    it(`the suite fails the mutant "${name}" through the stdio driver protocol [HANDLE-2, ORDER-3, INV-4]`, async function () {
      this.timeout(60_000);
      const command = `${TESSERA} driver --impl mutant:${name}`;
      const report = await runSuite({
        createDriver: () => createStdioDriver({ command }),
        driverLabel: command,
        replayBase: '',
        runs: CAP,
        seed: 1,
        shrink: false,
        completionGraceMs: 20,
      });
      assert.equal(report.driverError, undefined, report.driverError);
      expectReportFail(report, name);
    });
  }
});
