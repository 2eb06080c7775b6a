import { strict as assert } from 'assert';
import { MUTANTS } from '../../conformance/mutants';
import { runSuite } from '../../conformance/suite';
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
      const report = await runSuite({
        createDriver: () => m.createDriver(),
        driverLabel: `in-process:mutant:${m.name}`,
        replayBase: '',
        runs: 100,
        seed: 1,
      });
      expectReportFail(report, m.name);
      const cases = report.cases.filter((c) => c.status === 'fail').map((c) => c.id);
      const runsToFail: number[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) {
        const p = await runSequentialProperty(await Harness.open(m.createDriver()), { runs: CAP, seed, shrink: false });
        if (p.status === 'fail') runsToFail.push(p.runs);
      }
      const mean = runsToFail.length ? (runsToFail.reduce((a, b) => a + b, 0) / runsToFail.length).toFixed(1) : '-';
      table.push(
        `${m.name.padEnd(26)} cases: ${String(cases.length).padStart(2)} (${cases.slice(0, 3).join(', ')}${cases.length > 3 ? ', ...' : ''}); property: caught in ${runsToFail.length}/${SEEDS} seeds within ${CAP} runs, mean ${mean} runs`,
      );
      assert.ok(cases.length > 0 || report.properties.some((p) => p.status === 'fail'));
      assert.equal(runsToFail.length, SEEDS, `the property missed "${m.name}" within ${CAP} runs on some seeds`);
    });
  }

  for (const name of THROUGH_STDIO) {
    it(`the suite fails the mutant "${name}" through the stdio driver protocol [HANDLE-2, ORDER-3, INV-4]`, async function () {
      this.timeout(60_000);
      const command = `${TESSERA} driver --impl mutant:${name}`;
      const report = await runSuite({
        createDriver: () => createStdioDriver({ command }),
        driverLabel: command,
        replayBase: '',
        runs: 100,
        seed: 1,
        completionGraceMs: 20,
      });
      assert.equal(report.driverError, undefined, report.driverError);
      expectReportFail(report, name);
    });
  }
});
