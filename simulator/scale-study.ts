// The scale study: the same workloads at several core counts (2 to 256) on every transport
// profile, which this 2-CPU machine cannot run, sized from the core count by the study file
// (simulator/studies/scale.json). `tessera sim --scale-study` runs it and writes every run's
// metrics with a digest of its inputs (simulator/studies/scale-results.json, committed); the
// docs page is drawn from that file, and a test re-runs part of the study and compares, so the
// committed numbers are what the code computes. Where a design stops scaling, and why, is read
// off the numbers by `scalingVerdicts`.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { InputError, bundledProfiles, loadProfile, loadScenario, parseScenario, repoRoot, simValidators } from './load';
import { tooDeep } from './check';
import { resolveField, withField } from './fields';
import { findMetric, metric, METRICS, metricIds } from './metrics';
import { DEFAULT_SEED, runTask } from './run';
import { pointSeeds, runTasks, type SweepTask } from './sweep';
import { spread } from './svg';
import type { ScaleRun, ScaleStudy, ScaleStudyResults, Scenario, SimResults } from './types';

export const STUDY_FILE = () => path.join(repoRoot(), 'simulator', 'studies', 'scale.json');
export const STUDY_RESULTS_FILE = () => path.join(repoRoot(), 'simulator', 'studies', 'scale-results.json');

export interface StudyPlace {
  workload: string;
  transport: string;
  cores: number;
  seed: string;
  params: Record<string, number>;
}

export interface StudyPlan {
  study: ScaleStudy;
  tasks: SweepTask[];
  places: StudyPlace[];
  transports: string[];
  seeds: string[];
  inputsDigest: string;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read (${(err as Error).message})`);
  }
}

/** A study file, checked: schema, metric ids, and (in planStudy) every field against its scenario. */
export function loadStudy(file: string): ScaleStudy {
  let value: unknown;
  try {
    value = JSON.parse(readText(file));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: not JSON (${(err as Error).message})`);
  }
  const deep = tooDeep(value);
  if (deep) throw new InputError(`${file}: invalid scale study at ${deep.path}: ${deep.message}`);
  const checked = simValidators.study.check(value);
  if (!checked.ok)
    throw new InputError(`${file}: invalid scale study at ${checked.path || '(top)'}: ${checked.message}`);
  const study = checked.value;
  study.workloads.forEach((w, i) => {
    if (!findMetric(w.throughput))
      throw new InputError(
        `${file}: invalid scale study at /workloads/${i}/throughput: no metric ${JSON.stringify(w.throughput)}; the metrics: ${metricIds().join(', ')}`,
      );
  });
  for (const t of study.transports ?? [])
    if (!bundledProfiles().includes(t))
      throw new InputError(
        `${file}: invalid scale study: no bundled profile "${t}" (bundled: ${bundledProfiles().join(', ')})`,
      );
  return study;
}

/** The study's runs, every scenario checked; `cores` keeps only those core counts (a partial re-run). */
export function planStudy(file: string = STUDY_FILE(), options: { cores?: number[] } = {}): StudyPlan {
  const study = loadStudy(file);
  const dir = path.dirname(file);
  const transports = study.transports ?? bundledProfiles();
  const seeds = pointSeeds(study.seed ?? DEFAULT_SEED, study.seeds ?? 1);
  const digest = createHash('sha256');
  digest.update(readText(file));
  const tasks: SweepTask[] = [];
  const places: StudyPlace[] = [];
  for (const w of study.workloads) {
    const scenarioFile = path.resolve(dir, w.scenario);
    digest.update(`\0${w.scenario}\0${readText(scenarioFile)}`);
    const base = loadScenario(scenarioFile);
    for (const transport of transports) {
      const profile = loadProfile(transport);
      for (const cores of study.cores) {
        if (options.cores && !options.cores.includes(cores)) continue;
        let scenario: Scenario = { ...base, cpus: cores };
        const params: Record<string, number> = {};
        for (const f of w.perCore) {
          const ref = resolveField(f.field, scenario, profile);
          if (!ref || ref.target !== 'scenario')
            throw new InputError(
              `${file}: invalid scale study: workload ${w.id}: no numeric scenario field "${f.field}"`,
            );
          const value = Math.max(1, Math.round(cores * f.perCore + (f.add ?? 0)));
          params[f.field] = value;
          scenario = withField(ref, value, scenario, profile).scenario;
        }
        scenario = parseScenario(scenario, `${file}: workload ${w.id} at ${cores} cores`);
        for (const seed of seeds) {
          tasks.push({ index: tasks.length, scenario, profile, seed });
          places.push({ workload: w.id, transport, cores, seed, params });
        }
      }
    }
  }
  for (const t of transports)
    digest.update(`\0${t}\0${readText(path.join(repoRoot(), 'simulator', 'profiles', `${t}.json`))}`);
  return { study, tasks, places, transports, seeds, inputsDigest: digest.digest('hex') };
}

/** A number to 6 significant digits (the results file stays readable and exact run to run). */
function sig(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : 0;
}

function studyRun(place: StudyPlace, r: SimResults): ScaleRun {
  const metrics: Record<string, number> = {};
  for (const m of METRICS) metrics[m.id] = sig(m.value(r));
  return {
    ...place,
    metrics,
    ok: r.liveness.ok && r.monitors.violations.length === 0,
    hash: r.hash,
  };
}

/** Run the plan: in `workers` worker threads, or in this thread with workers 0. */
export async function runStudy(
  plan: StudyPlan,
  options: { workers?: number; progress?: NodeJS.WriteStream } = {},
): Promise<ScaleStudyResults> {
  const results =
    options.workers === 0
      ? plan.tasks.map(runTask)
      : await runTasks(plan.tasks, { workers: options.workers, progress: options.progress, label: plan.study.name });
  return {
    study: plan.study.name,
    inputsDigest: plan.inputsDigest,
    cores: plan.study.cores,
    transports: plan.transports,
    seeds: plan.seeds,
    runs: plan.places.map((p, i) => studyRun(p, results[i])),
  };
}

// ------------------------------------------------------------------ reading the results

/** The median of a metric over a point's seeds. */
export function medianOf(
  results: ScaleStudyResults,
  workload: string,
  transport: string,
  cores: number,
  id: string,
): number {
  const values = results.runs
    .filter((r) => r.workload === workload && r.transport === transport && r.cores === cores)
    .map((r) => r.metrics[id]);
  return spread(values).median;
}

/** Where one transport stops scaling on one workload, and why. */
export interface ScalingVerdict {
  workload: string;
  transport: string;
  /** Throughput (the workload's metric) at each core count: median of the seeds. */
  throughput: { cores: number; value: number }[];
  /** Speed-up from the smallest to the largest core count, and the ideal (the ratio of cores). */
  speedup: number;
  ideal: number;
  /** The step [from, to] cores where a doubling of cores stopped paying half its worth (null: it never did). */
  stopsBetween: [number, number] | null;
  /** Why, in words, from the metrics at the end of that step (or at the largest core count). */
  reason: string;
}

/**
 * A step scales when throughput grows by at least half the ratio of cores in log terms:
 * (T2 / T1) >= (C2 / C1)^0.5. The first step that does not is where the design stops scaling.
 */
export function scalingVerdicts(study: ScaleStudy, results: ScaleStudyResults): ScalingVerdict[] {
  const out: ScalingVerdict[] = [];
  for (const w of study.workloads)
    for (const transport of results.transports) {
      const at = (cores: number, id: string) => medianOf(results, w.id, transport, cores, id);
      const throughput = results.cores.map((cores) => ({ cores, value: at(cores, w.throughput) }));
      let stopsBetween: [number, number] | null = null;
      for (let i = 1; i < throughput.length && !stopsBetween; i++) {
        const a = throughput[i - 1],
          b = throughput[i];
        if (!(b.value >= a.value * Math.sqrt(b.cores / a.cores))) stopsBetween = [a.cores, b.cores];
      }
      const first = throughput[0],
        last = throughput[throughput.length - 1];
      const where = stopsBetween ? stopsBetween[1] : last.cores;
      out.push({
        workload: w.id,
        transport,
        throughput,
        speedup: last.value / first.value,
        ideal: last.cores / first.cores,
        stopsBetween,
        reason: reasonAt((id) => at(where, id), where, stopsBetween !== null),
      });
    }
  return out;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

/** The bottleneck at a point, from its metrics: the bus lock, the CPUs, or one thread; or, where it still scales, what it costs there. */
function reasonAt(at: (id: string) => number, cores: number, stopped: boolean): string {
  const lock = at('lockUtilization');
  const cpu = at('cpuUtilization');
  const fmt = (id: string) => {
    const m = metric(id);
    const v = at(id);
    return m.kind === 'ns' ? `${Math.round(v).toLocaleString('en-US')} ns` : v.toFixed(2);
  };
  if (!stopped && lock >= 0.6)
    return `it still gains, but the bus lock is busy ${pct(lock)} of the time at ${cores} cores (an operation waits ${fmt('lockWaitNsPerOp')} for it on average): it is near its limit`;
  if (lock >= 0.6) {
    const share = at('lockHandoverShare');
    const lines =
      share >= 0.05 ? `; handovers between spinning waiters (cache-line transfers) are ${pct(share)} of that` : '';
    return `the bus lock: busy ${pct(lock)} of the time at ${cores} cores${lines}; an operation waits ${fmt('lockWaitNsPerOp')} for it on average`;
  }
  if (!stopped)
    return `at ${cores} cores the CPUs are ${pct(cpu)} busy, with ${fmt('wakesPerMessage')} wake-ups, ${fmt('syscallsPerMessage')} system calls and ${fmt('cpuNsPerMessage')} of CPU per message`;
  if (cpu >= 0.85)
    return `the CPUs: ${pct(cpu)} busy at ${cores} cores, ${fmt('cpuNsPerMessage')} of CPU per message (${fmt('wakesPerMessage')} wake-ups, ${fmt('syscallsPerMessage')} system calls per message)`;
  return `a thread every message goes through (the publisher, the server) is saturated while the CPUs are only ${pct(cpu)} busy at ${cores} cores (${fmt('wakesPerMessage')} wake-ups, ${fmt('syscallsPerMessage')} system calls and ${fmt('cpuNsPerMessage')} of CPU per message)`;
}
