// `tessera conformance`: run the conformance suite against an implementation,
// in-process (--impl) or over the stdio driver protocol (--driver "<command>").
import { UsageError, defineCommand } from '../command';
import { bool, choice, choiceList, integer, outputDir, outputFile, text } from '../flags';
import { SuiteRecording, runSuite, formatReport, selectCases } from '../../conformance/suite';
import { CASES } from '../../conformance/cases';
import { loadClauseIds } from '../../conformance/coverage';
import { LEVEL_NAMES } from '../../conformance/levels';
import { formatListing } from '../../conformance/listing';
import { writeReportFiles } from '../report-files';
import { MAX_TIMEOUT_MS, STDIO_DEFAULTS, createStdioDriver } from '../../conformance/stdio';
import { reportValidator } from '../../conformance/report-schema';
import { implFlag, implementationNamed, suiteDefaults } from './driver';
import type { Driver } from '../../protocol/driver';

function progressBar(): (fraction: number, label: string) => void {
  if (!process.stderr.isTTY) return () => {};
  let last = -1;
  return (fraction, label) => {
    const pct = Math.floor(fraction * 100);
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${label.padEnd(20)}`,
    );
    if (fraction >= 1) process.stderr.write('\r' + ' '.repeat(width + 30) + '\r');
  };
}

/** The most clients a concurrent run may have: the linearizability search grows exponentially with them. */
export const MAX_CONCURRENCY = 16;
const INT32 = { min: -2147483648, max: 2147483647 };

const flags = {
  impl: implFlag(
    'run an in-process implementation: reference, shm, shm-workers, mutant:NAME (`tessera driver --list`)',
  ),
  driver: text(
    'CMD',
    'run a driver in any language: a shell command speaking the stdio protocol (conformance/README.md)',
  ),
  runs: integer('N', 'sequential property runs', { min: 1, max: 1_000_000, default: 100 }),
  seed: integer('S', 'the seed of the property and concurrent runs, decimal or 0x-hex', {
    ...INT32,
    hex: true,
    defaultText: 'a random seed, printed in the report',
  }),
  path: text('P', 'replay one failure: the path its replay line printed (with the same --seed)', {
    check: (p) =>
      p.length <= 10_000 && /^(\d+(:\d+)*|-\d{1,16})$/.test(p)
        ? null
        : `takes a replay path such as "3:1:0" (a concurrent run's: its seed), not ${JSON.stringify(p.slice(0, 60))}`,
  }),
  property: choice(() => ['sequential', 'linearizability'] as const, 'the property --path replays', {
    value: 'NAME',
    defaultText: 'sequential',
  }),
  'cases-only': bool('run the scenario cases only (no property, no concurrent runs)'),
  case: choiceList(() => CASES.map((c) => c.id), 'run this scenario case (repeatable, or comma-separated IDs)', {
    value: 'ID',
    noun: 'case',
  }),
  clause: choiceList(loadClauseIds, 'run the cases that cite this clause of spec/spec.md (repeatable)', {
    value: 'ID',
    noun: 'clause',
  }),
  level: choiceList(
    () => LEVEL_NAMES,
    `run the cases of this conformance level (repeatable): ${LEVEL_NAMES.join(', ')}; concurrency runs the concurrent phase`,
    { value: 'NAME', noun: 'level' },
  ),
  list: bool('list the levels and the cases (with --case, --clause or --level: those selected) and exit'),
  bail: bool('stop at the first failure'),
  'no-shrink': bool(
    'report a failing property run as found, without shrinking it to a smallest counterexample (a faster verdict)',
  ),
  concurrency: integer('K', 'clients per concurrent (linearizability) run; 0 or 1 turns the concurrent phase off', {
    min: 0,
    max: MAX_CONCURRENCY,
    defaultText: "1, or the implementation's own: 3 for shm",
  }),
  'concurrent-runs': integer('N', 'concurrent runs', { min: 1, max: 100_000, defaultText: 'max(3, runs/25)' }),
  'ops-per-client': integer('N', 'operations per client in a concurrent run', { min: 1, max: 1000, defaultText: '12' }),
  json: outputFile('also write the report as JSON (schema conformance/schema/ConformanceReport.json)'),
  transcript: outputFile(
    'write the wire exchange of the first failure (of the whole run when nothing failed); replay it with `tessera replay FILE --driver CMD`',
  ),
  html: outputDir(
    'write an HTML report into DIR: levels, clauses, every case with its steps, each failure with its replay line, transcript and (concurrent) timeline',
  ),
  junit: outputFile('write a JUnit XML report for CI systems (one test case per scenario case and property)'),
  'timeout-ms': integer('MS', 'how long a stdio driver may take to answer any request, init included', {
    min: 1,
    max: MAX_TIMEOUT_MS,
    defaultText: `${STDIO_DEFAULTS.requestTimeoutMs}, and ${STDIO_DEFAULTS.startupTimeoutMs} for init`,
  }),
  'startup-timeout-ms': integer('MS', 'how long a stdio driver may take to start and answer init', {
    min: 1,
    max: MAX_TIMEOUT_MS,
    defaultText: `--timeout-ms when given, else ${STDIO_DEFAULTS.startupTimeoutMs}`,
  }),
  verbose: bool('show every case (passed and unsupported, with its needs) and every row of the situations table'),
};

export const command = defineCommand({
  name: 'conformance',
  summary:
    'Run the conformance suite (scenario cases, a model-based property, linearizability of concurrent runs) against an implementation.',
  usage: ['(--impl NAME | --driver CMD) [options]'],
  flags,
  notes: [
    'Exit status 0 only when everything passed; 1 when a case or property failed or the driver misbehaved (a driver error names the offending line), or when nothing selected could run (UNSUPPORTED); 2 for a usage error. Every failure prints the one-line command that replays it.',
    'The verdict names the conformance levels passed (core, limits, revocation, transfers, calls, multicast, blocking, credentials, concurrency: `--list` shows what each needs) and the clause coverage. A selection (--case, --clause, --level) runs those cases only; --level concurrency runs the concurrent phase.',
    'A stdio driver runs in a process group of its own; when it hangs or the suite ends, the whole group is ended (SIGTERM, then SIGKILL after 1 s).',
  ],
  examples: [
    ['tessera conformance --impl reference --runs 500 --seed 1', 'the reference backend in-process, 500 property runs'],
    ['tessera conformance --driver "python3 conformance/examples/driver.py"', 'a driver in Python over stdio'],
    [
      'tessera conformance --impl shm --concurrency 4 --json -',
      'the shm backend, 4 concurrent clients, the JSON report on stdout',
    ],
    ['tessera conformance --impl shm --seed 123 --path "3:1:0"', 'replay a sequential property failure'],
    [
      'tessera conformance --driver "./my-driver" --level core --bail --transcript fail.txt',
      'the core level only, stopping at the first failure, its wire exchange in fail.txt',
    ],
    [
      'tessera conformance --driver "./my-driver" --html report/ --junit junit.xml',
      'an HTML results page and a JUnit XML file for CI',
    ],
    ['tessera conformance --list --clause NOTICE-5', 'which cases exercise NOTICE-5'],
  ],
  plan({ flags: f }) {
    for (const id of f.clause)
      if (!CASES.some((c) => c.clauses.includes(id)))
        throw new UsageError(`--clause ${id}: no case exercises ${id} (the property covers it: run without --clause)`);
    if (f.list) {
      if (f.impl !== undefined || f.driver !== undefined)
        throw new UsageError('--list needs no implementation: it lists what the suite has');
      return async () => {
        console.log(formatListing(selectCases({ cases: f.case, clauses: f.clause, levels: f.level })));
        return 0;
      };
    }
    const selected = f.case.length + f.clause.length + f.level.length > 0;
    if ((f.impl === undefined) === (f.driver === undefined))
      throw new UsageError('give exactly one of --impl and --driver');
    if (f.impl !== undefined && (f['timeout-ms'] !== undefined || f['startup-timeout-ms'] !== undefined))
      throw new UsageError('--timeout-ms and --startup-timeout-ms apply to a stdio --driver only');
    const replaying = f.path !== undefined;
    if (replaying && f.seed === undefined)
      throw new UsageError('--path replays a failure: give the --seed its replay line printed');
    if (replaying && (selected || f['cases-only']))
      throw new UsageError('--path replays a property run: not with --case, --clause, --level or --cases-only');
    if (f.property !== undefined && !replaying)
      throw new UsageError('--property names the property --path replays: give --path too');
    const property = f.property ?? 'sequential';
    if (replaying && property === 'linearizability' && !/^-?\d{1,16}$/.test(f.path!))
      throw new UsageError(`--path of a linearizability replay is the run's seed (an integer), not "${f.path}"`);
    if (replaying && property === 'sequential' && f.path!.startsWith('-'))
      throw new UsageError(`--path of a sequential replay is a path such as "3:1:0", not "${f.path}"`);

    let createDriver: () => Driver;
    let driverLabel: string;
    let replayBase: string;
    let concurrency = f.concurrency ?? 1;
    let concurrent: { createDriver: () => Driver; driverLabel: string } | undefined;
    let completionGraceMs = 50;
    if (f.impl !== undefined) {
      const impl = implementationNamed(f.impl);
      createDriver = () => impl.createDriver();
      driverLabel = `in-process:${impl.name}`;
      replayBase = `npx tessera conformance --impl ${impl.name}`;
      ({ completionGraceMs, concurrency, concurrent } = suiteDefaults(impl, f.concurrency));
    } else {
      const cmd = f.driver!;
      const requestTimeoutMs = f['timeout-ms'] ?? STDIO_DEFAULTS.requestTimeoutMs;
      const startupTimeoutMs = f['startup-timeout-ms'] ?? f['timeout-ms'] ?? STDIO_DEFAULTS.startupTimeoutMs;
      createDriver = () => createStdioDriver({ command: cmd, requestTimeoutMs, startupTimeoutMs });
      driverLabel = cmd;
      replayBase = `npx tessera conformance --driver ${JSON.stringify(cmd)}`;
    }
    if (property === 'linearizability' && concurrency < 2)
      throw new UsageError('--property linearizability replays a concurrent run: give --concurrency K (2 or more)');
    if (f.level.includes('concurrency') && concurrency < 2)
      throw new UsageError('--level concurrency runs the concurrent phase: give --concurrency K (2 or more)');
    if (concurrency < 2 && (f['concurrent-runs'] !== undefined || f['ops-per-client'] !== undefined))
      throw new UsageError(
        '--concurrent-runs and --ops-per-client size the concurrent phase: give --concurrency K (2 or more)',
      );
    if (replaying) replayBase += ` --property ${property}`;
    const seed = f.seed ?? (Date.now() ^ (process.pid << 8)) | 0;

    return async () => {
      const record = new SuiteRecording(f.transcript !== undefined);
      const report = await runSuite({
        createDriver,
        driverLabel,
        replayBase,
        runs: f.runs,
        seed,
        path: f.path,
        property: replaying ? property : undefined,
        casesOnly: f['cases-only'],
        cases: f.case,
        clauses: f.clause,
        levels: f.level,
        bail: f.bail,
        shrink: !f['no-shrink'],
        concurrency,
        concurrent,
        concurrentRuns: f['concurrent-runs'],
        opsPerClient: f['ops-per-client'],
        completionGraceMs,
        progress: progressBar(),
        record,
      });
      writeReportFiles(report, record, {
        driverCommand: f.driver ?? `npx tessera driver --impl ${f.impl}`,
        transcript: f.transcript,
        html: f.html,
        junit: f.junit,
      });
      const checked = reportValidator.check(report);
      if (!checked.ok)
        console.error(
          `warning: the report does not match ConformanceReport.json at ${checked.path}: ${checked.message}`,
        );
      console.log(formatReport(report, { verbose: f.verbose }));
      f.json?.write(JSON.stringify(report, null, 2) + '\n');
      return report.status === 'pass' ? 0 : 1;
    };
  },
});
