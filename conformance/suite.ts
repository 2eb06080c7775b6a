// The whole conformance run behind `tessera conformance`: handshake, scenario
// cases, the sequential property, concurrent (linearizability) runs, clause
// coverage and statistics, as one report (conformance/report-types.ts).
import { CASES, type Case } from './cases';
import { ClauseCounter, loadClauseIds } from './coverage';
import { DriverError, PROTOCOL_VERSION, type Driver, type DriverInfo } from '../protocol/driver';
import { isDriverFault, runCases, type CaseResult } from './run-cases';
import { levelsOfCase } from './levels';
import { assessLevels, verdictLine } from './verdict';
import { WireLog, hasWireTap, recordingDriver } from './transcript';
import { diagnoseHistory, timelineSvg } from './timeline';
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
  /** Run this one case only (no properties); the same as `cases: [caseId]`. */
  caseId?: string;
  /** Selection: cases by id, by a clause they cite, by level. Any selection runs the selected cases only. */
  cases?: string[];
  clauses?: string[];
  levels?: string[];
  /** Stop at the first failure. */
  bail?: boolean;
  /**
   * Shrink a failing property run to a smallest counterexample (default true). Off, the
   * verdict comes as soon as a run fails and the counterexample is that run as found.
   */
  shrink?: boolean;
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
  /** Keep the wire exchange (transcripts) and the pictures of concurrent failures here. */
  record?: SuiteRecording;
}

/** What a run keeps beside its report: the transcripts of its failures, the smallest concurrent history. */
export class SuiteRecording {
  readonly log: WireLog;
  /** The wire exchange of each failure: by case id, `property:<name>`, or `driver`. */
  readonly transcripts = new Map<string, string[]>();
  /** The SVG timeline of a concurrent failure. */
  timeline?: string;
  constructor(keepAll = false) {
    this.log = new WireLog(keepAll);
  }
  capture(key: string): void {
    if (!this.transcripts.has(key) || key.startsWith('property:')) this.transcripts.set(key, this.log.segment());
  }
}

/** The cases a selection names (all of them without one). */
export function selectCases(o: Pick<SuiteOptions, 'caseId' | 'cases' | 'clauses' | 'levels'>): readonly Case[] {
  const ids = new Set([...(o.cases ?? []), ...(o.caseId ? [o.caseId] : [])]);
  const clauses = new Set(o.clauses ?? []);
  const levels = new Set(o.levels ?? []);
  if (ids.size + clauses.size + levels.size === 0) return CASES;
  return CASES.filter(
    (c) => ids.has(c.id) || c.clauses.some((id) => clauses.has(id)) || levelsOfCase(c).some((l) => levels.has(l)),
  );
}

function isSelection(o: SuiteOptions): boolean {
  return Boolean(o.caseId || o.cases?.length || o.clauses?.length || o.levels?.length);
}

function recordedDriver(o: SuiteOptions): Driver {
  const d = o.createDriver();
  if (!o.record) return d;
  if (hasWireTap(d)) {
    d.tapWire(o.record.log.listener);
    return d;
  }
  return recordingDriver(d, o.record.log.listener);
}

function emptyReport(started: number): ConformanceReport {
  return {
    tool: 'tessera-conformance',
    protocolVersion: PROTOCOL_VERSION,
    status: 'pass',
    verdict: '',
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    levels: [],
    cases: [],
    properties: [],
    coverage: { clauses: [], uncovered: [] },
    statistics: { runs: 0, situations: [] },
  };
}

export async function runSuite(o: SuiteOptions): Promise<ConformanceReport> {
  const started = Date.now();
  const report = emptyReport(started);
  const selected = isSelection(o);
  if (selected || o.bail)
    report.selection = {
      cases: [...(o.cases ?? []), ...(o.caseId ? [o.caseId] : [])],
      clauses: o.clauses ?? [],
      levels: o.levels ?? [],
      bail: Boolean(o.bail),
    };
  const driver = recordedDriver(o);
  const caseCounter = new ClauseCounter();
  const propertyCounter = new ClauseCounter();
  const situations = new Situations();
  let results: CaseResult[] = [];
  try {
    const harness = await Harness.open(driver);
    harness.onMismatch = () => o.record?.capture('property:sequential');
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
      const cases = selectCases(o);
      results = await runCases(harness, {
        cases,
        counter: caseCounter,
        completionGraceMs: o.completionGraceMs,
        bail: o.bail,
        onCase: (r) => {
          if (r.status === 'fail' || r.status === 'error') o.record?.capture(r.id);
          o.progress?.((++k / cases.length) * (o.casesOnly || selected ? 1 : 0.3), 'cases');
        },
      });
      report.cases = results.map((r) => ({
        ...r,
        ...(r.status === 'fail' || r.status === 'error' ? { replay: `${o.replayBase} --case ${r.id}` } : {}),
      }));
      const broken = results.find((r) => r.status === 'error' && isDriverFault(r.message));
      if (broken) throw new DriverError(broken.message!);
    }
    const stop = o.bail && results.some((r) => r.status === 'fail' || r.status === 'error');
    if (!o.casesOnly && !selected && !stop && (!replaying || (o.property ?? 'sequential') === 'sequential')) {
      const p = await sequentialProperty(o, harness, propertyCounter, situations);
      report.properties.push(p);
      if (p.status === 'error' && /driver/.test(p.message ?? '')) {
        report.driverError = p.message;
        o.record?.capture('driver');
      }
    }
    const clients = o.concurrency ?? 1;
    const concurrentWanted = !selected || (o.levels ?? []).includes('concurrency');
    const failedSoFar = stop || (o.bail && report.properties.some((p) => p.status === 'fail'));
    if (
      !o.casesOnly &&
      concurrentWanted &&
      !failedSoFar &&
      clients > 1 &&
      (!replaying || o.property === 'linearizability')
    ) {
      report.properties.push(await runLinearizability(o, clients, driver, harness.info, replaying));
    }
  } catch (err) {
    report.driverError =
      err instanceof DriverError ? err.message : `the driver failed: ${(err as Error)?.stack ?? String(err)}`;
    o.record?.capture('driver');
  } finally {
    try {
      await driver.close();
    } catch {
      /* reported already */
    }
  }
  fillCoverage(report, results, caseCounter, propertyCounter);
  const per = situations.perThousandRuns();
  report.statistics = {
    runs: situations.runs,
    situations: SITUATIONS.map((s) => ({ situation: s, perThousandRuns: per[s] })),
  };
  const failed =
    report.cases.some((c) => c.status === 'fail' || c.status === 'error') ||
    report.properties.some((p) => p.status === 'fail' || p.status === 'error');
  const ranNothing = report.cases.every((c) => c.status === 'unsupported') && report.properties.length === 0;
  report.status = report.driverError ? 'error' : failed ? 'fail' : selected && ranNothing ? 'unsupported' : 'pass';
  report.levels = assessLevels(report);
  report.verdict = verdictLine(report);
  report.durationMs = Date.now() - started;
  return report;
}

/** The sequential property, as a report entry. */
async function sequentialProperty(
  o: SuiteOptions,
  harness: Harness,
  counter: ClauseCounter,
  situations: Situations,
): Promise<ReportProperty> {
  let run = 0;
  const p = await runSequentialProperty(harness, {
    runs: o.runs,
    seed: o.seed,
    path: o.path,
    counter,
    situations,
    completionGraceMs: o.completionGraceMs,
    shrink: o.shrink,
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
    ...(p.counterexample && o.shrink === false ? { notShrunk: true } : {}),
    ...(p.failure?.diagnosis ? { diagnosis: p.failure.diagnosis } : {}),
    ...(p.failure?.steps.length ? { trace: p.failure.steps } : {}),
    ...(p.failure?.conditions ? { conditions: p.failure.conditions } : {}),
  };
  if (p.status === 'fail' && p.path) entry.replay = `${o.replayBase} --seed ${p.seed} --path "${p.path}"`;
  return entry;
}

function fillCoverage(
  report: ConformanceReport,
  results: CaseResult[],
  caseCounter: ClauseCounter,
  propertyCounter: ClauseCounter,
): void {
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
        o.record?.capture('property:linearizability');
        // The headline from the smallest history itself, so it names operations the history shows.
        const explained =
          r.smallest && /not linearizable/.test(r.message ?? '') ? diagnoseHistory(r.smallest, r.limits) : null;
        if (explained && r.smallest && o.record) o.record.timeline = timelineSvg(r.smallest, explained);
        entry = {
          ...entry,
          status: 'fail',
          ...(explained
            ? {
                diagnosis: {
                  kind: 'linearizability',
                  summary: `the smallest failing history (${r.smallest!.length} operations) has no linearization: ${explained.reason}`,
                  details: [],
                  clauses: ['INV-7', 'ATOMIC-1'],
                },
              }
            : {}),
          message: `${explained ? `the history is not linearizable: in the smallest failing history (${r.smallest!.length} operations), ${explained.reason}` : r.message}${r.inImplementation ? "\n(the interleaving is the threads' own: a replay reruns the same scripts, not necessarily the same interleaving)" : ''}`,
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

export { formatReport } from './report-text';
