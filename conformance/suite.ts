// The whole conformance run behind `tessera conformance`: handshake, scenario
// cases, the sequential property, concurrent (linearizability) runs, clause
// coverage and statistics, as one report (conformance/report-types.ts).
import { CASES } from './cases';
import { ClauseCounter, loadClauseIds } from './coverage';
import { DriverError, PROTOCOL_VERSION, type Driver, type DriverInfo } from '../protocol/driver';
import { runCases, type CaseResult } from './run-cases';
import { runSequentialProperty } from './property';
import { RACES, runConcurrent, type Race } from './concurrent';
import { Harness } from './session';
import { Situations, SITUATIONS } from './situations';
import type { ConformanceReport, ReportConcurrency, ReportProperty } from './report-types';

export interface SuiteOptions {
  createDriver: () => Driver;
  /** "in-process:reference" or the stdio command, for the report. */
  driverLabel: string;
  /** The command that reruns this suite, without --seed/--path (for replay lines). */
  replayBase: string;
  runs: number;
  seed: number;
  /** Replay one failure of a property (with `property`). */
  path?: string;
  property?: 'sequential' | 'linearizability';
  casesOnly?: boolean;
  /** Run this one case only (no properties). */
  caseId?: string;
  /** Clients of the concurrent runs; 1 or less: no concurrent runs. */
  concurrency?: number;
  /**
   * The driver of the concurrent runs, when another driver than createDriver's
   * runs them (e.g. shm: sequential in-process, concurrent in worker threads).
   */
  concurrent?: { createDriver: () => Driver; driverLabel: string };
  /** Concurrent runs (default max(3, runs / 25)) and operations per client (default 12). */
  concurrentRuns?: number;
  opsPerClient?: number;
  completionGraceMs?: number;
  /** Called as the run advances (fraction 0..1, what is running). */
  progress?: (fraction: number, label: string) => void;
}

export async function runSuite(o: SuiteOptions): Promise<ConformanceReport> {
  const started = Date.now();
  const report: ConformanceReport = {
    tool: 'tessera-conformance',
    protocolVersion: PROTOCOL_VERSION,
    status: 'pass',
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    cases: [],
    properties: [],
    coverage: { clauses: [], uncovered: [] },
    statistics: { runs: 0, situations: [] },
  };
  const driver = o.createDriver();
  const caseCounter = new ClauseCounter();
  const propertyCounter = new ClauseCounter();
  const situations = new Situations();
  let results: CaseResult[] = [];
  try {
    const harness = await Harness.open(driver);
    report.implementation = {
      name: harness.info.name,
      protocolVersion: harness.info.protocolVersion,
      operations: [...harness.info.operations],
      features: [...harness.info.features],
      driver: o.driverLabel,
    };
    const replaying = o.path !== undefined;
    if (!replaying) {
      let k = 0;
      const cases = o.caseId ? CASES.filter((c) => c.id === o.caseId) : CASES;
      if (cases.length === 0) throw new Error(`no case ${o.caseId}`);
      results = await runCases(harness, {
        cases,
        counter: caseCounter,
        completionGraceMs: o.completionGraceMs,
        onCase: () => o.progress?.((++k / cases.length) * (o.casesOnly ? 1 : 0.3), 'cases'),
      });
      report.cases = results.map((r) => ({
        ...r,
        ...(r.status === 'fail' || r.status === 'error' ? { replay: `${o.replayBase} --case ${r.id}` } : {}),
      }));
      if (results.some((r) => r.status === 'error' && /the driver|protocol error/.test(r.message ?? '')))
        throw new DriverError(results.find((r) => r.status === 'error')!.message!);
    }
    if (!o.casesOnly && !o.caseId && (!replaying || (o.property ?? 'sequential') === 'sequential')) {
      let run = 0;
      const p = await runSequentialProperty(harness, {
        runs: o.runs,
        seed: o.seed,
        path: o.path,
        counter: propertyCounter,
        situations,
        completionGraceMs: o.completionGraceMs,
        onRun: () => o.progress?.(0.3 + 0.6 * Math.min(1, ++run / o.runs), 'sequential property'),
      });
      const entry: ReportProperty = {
        name: 'sequential',
        status: p.status,
        runs: p.runs,
        seed: p.seed,
        steps: p.steps,
        durationMs: p.durationMs,
        opsPerSecond: p.opsPerSecond,
        ...(p.path ? { path: p.path } : {}),
        ...(p.message ? { message: p.message } : {}),
        ...(p.counterexample ? { counterexample: p.counterexample } : {}),
      };
      if (p.status === 'fail' && p.path) entry.replay = `${o.replayBase} --seed ${p.seed} --path "${p.path}"`;
      report.properties.push(entry);
      if (p.status === 'error' && /driver/.test(p.message ?? '')) report.driverError = p.message;
    }
    const clients = o.concurrency ?? 1;
    if (!o.casesOnly && !o.caseId && clients > 1 && (!replaying || o.property === 'linearizability')) {
      report.properties.push(await runLinearizability(o, clients, driver, harness.info, replaying));
    }
  } catch (err) {
    report.driverError =
      err instanceof DriverError ? err.message : `the driver failed: ${(err as Error)?.stack ?? String(err)}`;
  } finally {
    try {
      await driver.close();
    } catch {
      /* reported already */
    }
  }
  const ids = loadClauseIds();
  const caseCounts = new Map<string, number>();
  for (const r of results)
    if (r.status !== 'unsupported') for (const id of r.clauses) caseCounts.set(id, (caseCounts.get(id) ?? 0) + 1);
  const all = [...new Set([...ids, ...caseCounts.keys()])];
  report.coverage.clauses = all.map((id) => ({
    id,
    cases: caseCounts.get(id) ?? 0,
    caseSteps: caseCounter.counts.get(id) ?? 0,
    propertySteps: propertyCounter.counts.get(id) ?? 0,
  }));
  report.coverage.uncovered = report.coverage.clauses
    .filter((c) => c.cases + c.caseSteps + c.propertySteps === 0)
    .map((c) => c.id);
  const per = situations.perThousandRuns();
  report.statistics = {
    runs: situations.runs,
    situations: SITUATIONS.map((s) => ({ situation: s, perThousandRuns: per[s] })),
  };
  const failed =
    report.cases.some((c) => c.status === 'fail' || c.status === 'error') ||
    report.properties.some((p) => p.status === 'fail' || p.status === 'error');
  report.status = report.driverError ? 'error' : failed ? 'fail' : 'pass';
  report.durationMs = Date.now() - started;
  return report;
}

/** The concurrent phase: runs of K clients, each history checked linearizable against the model. */
async function runLinearizability(
  o: SuiteOptions,
  clients: number,
  sequentialDriver: Driver,
  sequentialInfo: DriverInfo,
  replaying: boolean,
): Promise<ReportProperty> {
  const runs = replaying ? 1 : (o.concurrentRuns ?? Math.max(3, Math.round(o.runs / 25)));
  const opsPerClient = o.opsPerClient ?? 12;
  const started = Date.now();
  let operations = 0;
  const races = new Map<Race, number>(RACES.map((r) => [r, 0]));
  const stats: ReportConcurrency = {
    driver: o.concurrent?.driverLabel ?? o.driverLabel,
    clients,
    opsPerClient,
    inImplementation: false,
    runsWithOverlap: 0,
    races: [],
    exploredStates: 0,
  };
  let entry: ReportProperty = {
    name: 'linearizability',
    status: 'pass',
    runs: 0,
    seed: o.seed,
    steps: 0,
    durationMs: 0,
    opsPerSecond: 0,
  };
  const own = o.concurrent ? o.concurrent.createDriver() : null;
  const driver = own ?? sequentialDriver;
  const sizing = `${o.concurrentRuns !== undefined ? ` --concurrent-runs ${o.concurrentRuns}` : ''}${o.opsPerClient !== undefined ? ` --ops-per-client ${opsPerClient}` : ''}`;
  try {
    const info = own ? await own.init() : sequentialInfo;
    if (own && info.protocolVersion !== PROTOCOL_VERSION)
      throw new DriverError(`the concurrent driver speaks protocol ${info.protocolVersion}, not ${PROTOCOL_VERSION}`);
    for (let i = 0; i < runs; i++) {
      const seed = replaying ? Number(o.path) : o.seed + i;
      const r = await runConcurrent(driver, info, { clients, opsPerClient, seed });
      operations += r.operations;
      stats.exploredStates += r.explored;
      stats.inImplementation = r.inImplementation;
      if (r.races['overlapping operations'] > 0) stats.runsWithOverlap++;
      for (const k of RACES) races.set(k, races.get(k)! + r.races[k]);
      entry.runs++;
      o.progress?.(0.9 + (0.1 * (i + 1)) / runs, 'linearizability');
      if (!r.ok) {
        entry = {
          ...entry,
          status: 'fail',
          message: `${r.message}${r.inImplementation ? "\n(the interleaving is the threads' own: a replay reruns the same scripts, not necessarily the same interleaving)" : ''}`,
          counterexample: r.counterexample,
          path: String(seed),
          replay: `${o.replayBase} --concurrency ${clients}${sizing} --property linearizability --seed ${o.seed} --path ${seed}`,
        };
        break;
      }
    }
  } catch (err) {
    entry = {
      ...entry,
      status: 'error',
      message:
        err instanceof DriverError
          ? err.message
          : `the concurrent driver failed: ${(err as Error)?.stack ?? String(err)}`,
    };
  } finally {
    if (own) {
      try {
        await own.close();
      } catch {
        /* reported already */
      }
    }
  }
  stats.races = RACES.map((race) => ({ race, pairs: races.get(race)! }));
  entry.steps = operations;
  entry.durationMs = Date.now() - started;
  entry.opsPerSecond = entry.durationMs > 0 ? Math.round((operations * 1000) / entry.durationMs) : 0;
  entry.concurrency = stats;
  return entry;
}

/** The report as a person reads it. */
export function formatReport(r: ConformanceReport, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const impl = r.implementation;
  lines.push(
    `tessera conformance: ${impl ? `${impl.name} (${impl.driver}), protocol ${impl.protocolVersion}` : 'no implementation'}`,
  );
  if (impl) lines.push(`  features: ${impl.features.join(', ') || 'none'}; operations: ${impl.operations.length}`);
  if (r.cases.length) {
    const by = (s: string) => r.cases.filter((c) => c.status === s);
    lines.push(
      '',
      `cases: ${by('pass').length} passed, ${by('fail').length} failed, ${by('error').length} errors, ${by('unsupported').length} unsupported (of ${r.cases.length})`,
    );
    for (const c of r.cases) {
      if (c.status === 'pass' && !options.verbose) continue;
      if (c.status === 'unsupported') {
        if (options.verbose) lines.push(`  UNSUPPORTED ${c.id} [${c.clauses.join(', ')}]: ${c.message}`);
        continue;
      }
      lines.push(`  ${c.status.toUpperCase()} ${c.id} [${c.clauses.join(', ')}] ${c.title}`);
      if (c.message) lines.push(...c.message.split('\n').map((l) => `    ${l}`));
      if (c.replay) lines.push(`    replay: ${c.replay}`);
    }
    if (!options.verbose && by('unsupported').length)
      lines.push(
        `  unsupported: ${by('unsupported')
          .map((c) => c.id)
          .join(', ')}`,
      );
  }
  for (const p of r.properties) {
    lines.push(
      '',
      `property ${p.name}: ${p.status.toUpperCase()} after ${p.runs} runs (seed ${p.seed}), ${p.steps} operations, ${p.opsPerSecond} ops/s`,
    );
    const c = p.concurrency;
    if (c) {
      lines.push(
        `  ${c.clients} clients x ${c.opsPerClient} operations per run (${c.driver}, ${c.inImplementation ? 'each client in its own thread, real-time intervals' : 'interleaved by the suite'}); ` +
          `operations of different clients overlapped in ${c.runsWithOverlap}/${p.runs} runs; ${c.exploredStates} linearizability states explored`,
      );
      lines.push(`  overlapping pairs: ${c.races.map((r) => `${r.race} ${r.pairs}`).join(', ')}`);
    }
    if (p.message) lines.push(...p.message.split('\n').map((l) => `  ${l}`));
    if (p.counterexample?.length) lines.push('  counterexample (shrunk):', ...p.counterexample.map((l) => `    ${l}`));
    if (p.replay) lines.push(`  replay: ${p.replay}`);
  }
  if (r.driverError) lines.push('', `DRIVER ERROR: ${r.driverError}`);
  const covered = r.coverage.clauses.length - r.coverage.uncovered.length;
  lines.push(
    '',
    `clause coverage: ${covered}/${r.coverage.clauses.length} clauses exercised${r.coverage.uncovered.length ? `; not covered: ${r.coverage.uncovered.join(', ')}` : ''}`,
  );
  if (r.statistics.runs > 0) {
    lines.push(`situations reached (runs per 1000, over ${r.statistics.runs} runs):`);
    const width = Math.max(...r.statistics.situations.map((s) => s.situation.length));
    for (const s of r.statistics.situations)
      lines.push(`  ${s.situation.padEnd(width)}  ${String(s.perThousandRuns).padStart(4)}`);
  }
  lines.push('', `${r.status.toUpperCase()} in ${(r.durationMs / 1000).toFixed(1)} s`);
  return lines.join('\n');
}
