// `tessera sim`: run a scenario (bundled name or file) on a transport, print the
// summary table, and optionally write JSON results, a JSON-lines trace and SVG
// charts; or run a sweep in worker threads. A failure prints its replay command.
// Every input (scenario, profiles, sweep file, seed) is loaded and checked, and
// every output checked, before the simulation starts.
import * as path from 'path';
import { type Run, UsageError, defineCommand } from '../command';
import { bool, inputFile, integer, outputDir, outputFile, text } from '../flags';
import { didYouMean } from '../suggest';
import {
  bundledProfiles,
  bundledScenarios,
  InputError,
  loadProfile,
  loadScenario,
  loadSweep,
} from '../../simulator/load';
import { DEFAULT_SEED, runScenario } from '../../simulator/run';
import { describeRun, summaryTable } from '../../simulator/report';
import { latencyCdfSvg, sweepSvg } from '../../simulator/svg';
import { sharedWindowNs, timelineSvg } from '../../simulator/timeline';
import { runSweep, sweepTasks } from '../../simulator/sweep';
import { cdfTitle } from '../../simulator/compare';
import type { CompareResults, Profile, Scenario, SimResults, Sweep, SweepPoint } from '../../simulator/types';
import { OutputFile, type OutputDir } from '../output';
import { STUDY_RESULTS_FILE, planStudy as planScaleStudy, runStudy } from '../../simulator/scale-study';
import { studyCharts, verdictTable } from '../../simulator/scale-report';
import { metricIds } from '../../simulator/metrics';

/** A seed's text: decimal or 0x-hex, below 2^64 (the simulator's seeds are 64-bit). */
function seedProblem(seed: string): string | null {
  if (seed.length > 100 || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(seed))
    return `must be decimal or 0x-hex, not ${JSON.stringify(seed.slice(0, 100))}`;
  return BigInt(seed) >= 1n << 64n ? `must be below 2^64 (0x10000000000000000), not ${seed}` : null;
}

const isPath = (ref: string) => /[\\/]|\.json$/.test(ref);

/** A bundled transport name, checked with a "did you mean"; a path is left to the loader. */
function checkTransport(name: string, where: string): void {
  if (isPath(name) || bundledProfiles().includes(name)) return;
  throw new UsageError(
    `${where}: no bundled transport profile ${JSON.stringify(name)}${didYouMean(name, bundledProfiles())}; bundled: ${bundledProfiles().join(', ')}`,
  );
}

const flags = {
  seed: text('S', 'the seed, decimal or 0x-hex, below 2^64', { check: seedProblem }),
  transport: text('NAME', 'a bundled transport profile (`tessera sim --list`)'),
  profile: text(
    'FILE',
    'a transport profile file: one `tessera calibrate` wrote, or one that `extends` a bundled profile and changes some values',
  ),
  compare: text('T1,T2,...', 'run on each of these transports and compare them in one table and one latency chart'),
  trace: outputFile(
    'write a JSON-lines trace of every operation and bus event (with --compare, FILE.<transport>.jsonl each)',
  ),
  json: outputFile(
    'write the results as JSON (simulator/schema/SimResults.json; CompareResults.json with --compare; SweepResults.json with --sweep)',
  ),
  svg: outputDir(
    'write SVG charts: the latency CDF and one per-thread timeline per transport (one shared time window); with --sweep, one chart per metric',
  ),
  sweep: inputFile(
    'FILE',
    'run a sweep file: every combination of its axes (any numeric field of the scenario or profile) x its transports x its seeds, in worker threads',
  ),
  seeds: integer(
    'N',
    'runs per sweep point, seeds S, S+1, ...: charts draw their median and a band from lowest to highest',
    {
      min: 1,
      max: 100,
      defaultText: "the sweep file's seeds, else 1",
    },
  ),
  workers: integer('N', 'worker threads of a sweep or the scale study', {
    min: 1,
    max: 64,
    defaultText: 'the number of CPUs',
  }),
  'scale-study': bool(
    'run the scale study (simulator/studies/scale.json: its workloads at 2 to 256 cores on every bundled profile) and write its results (--json, default simulator/studies/scale-results.json, which the docs draw)',
  ),
  list: bool('list the bundled scenarios, transports and the metrics sweeps can chart'),
  paranoid: bool(
    'check the whole bus state against the model after every simulated step (slow; a violation is then caught at the step that caused it)',
  ),
};
type SimFlags = { [K in keyof typeof flags]: ReturnType<(typeof flags)[K]['read']> };

export const command = defineCommand({
  name: 'sim',
  summary: 'Simulate a scenario on a transport profile: latency, throughput, wake-ups, syscalls, fairness, invariants',
  usage: [
    'SCENARIO [--seed S] [--transport NAME | --profile FILE | --compare T1,T2,...] [--trace FILE] [--json FILE] [--svg DIR] [--paranoid]',
    '--sweep FILE [--seeds N] [--json FILE] [--svg DIR] [--workers N]',
    '--scale-study [--json FILE] [--svg DIR] [--workers N]',
    '--list',
  ],
  operands: {
    name: 'SCENARIO',
    description: 'a bundled scenario name (`tessera sim --list`) or a scenario .json file',
    max: Infinity,
  },
  flags,
  notes: [
    `The seed defaults to ${DEFAULT_SEED}; the same seed gives byte-identical results. Exit status 1 when an invariant or liveness check failed (the replay command is printed), 2 for a usage error or an invalid input.`,
  ],
  examples: [
    ['tessera sim pingpong --transport af_unix', 'the bundled ping-pong on the AF_UNIX profile'],
    [
      'tessera sim pingpong --compare af_unix,binder_like,tessera_shm --svg charts',
      'three transports compared, with charts',
    ],
    ['tessera sim my-scenario.json --seed 0x2a --json - | jq .latency', 'your own scenario; the results on stdout'],
    ['tessera sim --sweep simulator/sweeps/fanout.json --json sweep.json', 'a parameter sweep'],
    [
      'tessera sim --sweep simulator/sweeps/cpus.json --seeds 5 --svg charts',
      'a sweep over the simulated CPUs, 5 seeds per point: charts with the median and a band',
    ],
    ['tessera sim --scale-study --svg charts', 'the scale study (then `npm run docs` redraws its page)'],
  ],
  plan({ flags: f, operands }) {
    if (f.list)
      return async () => {
        console.log(
          `scenarios: ${bundledScenarios().join(', ')}\ntransports: ${bundledProfiles().join(', ')}\nmetrics: ${metricIds().join(', ')}`,
        );
        return 0;
      };
    if (f['scale-study']) return planStudy(f, operands);
    if (f.sweep !== undefined) return planSweep(f.sweep, f, operands);
    return planScenario(f, operands);
  },
});

function planScenario(f: SimFlags, operands: string[]): Run {
  if (f.workers !== undefined) throw new UsageError('--workers applies to --sweep only');
  if (f.seeds !== undefined) throw new UsageError('--seeds applies to --sweep only');
  if (operands.length !== 1) throw new UsageError('give one scenario (a bundled name or a .json file)');
  const ref = operands[0];
  if (f.profile !== undefined && f.compare !== undefined)
    throw new UsageError('--profile and --compare do not combine');
  if (f.transport !== undefined && f.compare !== undefined)
    throw new UsageError('--transport and --compare do not combine');
  if (f.transport !== undefined && f.profile !== undefined)
    throw new UsageError('--transport and --profile do not combine');
  if (!isPath(ref) && !bundledScenarios().includes(ref))
    throw new UsageError(
      `no bundled scenario ${JSON.stringify(ref)} (bundled: ${bundledScenarios().join(', ')})${didYouMean(ref, bundledScenarios())}`,
    );
  let compared: string[] | undefined;
  if (f.compare !== undefined) {
    compared = f.compare.split(',');
    if (compared.some((t) => t.trim() === ''))
      throw new UsageError(
        `--compare takes transport names separated by commas (af_unix,tessera_shm), not ${JSON.stringify(f.compare)}`,
      );
    if (new Set(compared).size !== compared.length)
      throw new UsageError(`--compare names a transport twice: ${f.compare}`);
    compared.forEach((t) => checkTransport(t, '--compare'));
    if (compared.length > 1 && f.trace?.isStdout)
      throw new UsageError('--trace - writes one trace: with --compare give a file name (one trace per transport)');
  }
  if (f.transport !== undefined) checkTransport(f.transport, '--transport');
  const scenario = loadScenario(ref);
  const transports = compared ?? [f.transport ?? scenario.transport ?? 'tessera_shm'];
  const profiles: Profile[] = transports.map((t) => loadProfile(f.profile ?? t));
  const seed = f.seed ?? DEFAULT_SEED;

  return async () => {
    const runs: { label: string; results: SimResults }[] = [];
    let failed = false;
    for (const profile of profiles) {
      const out = runScenario({
        scenario,
        profile,
        seed,
        scenarioRef: ref,
        profileRef: f.profile,
        trace: f.trace !== undefined,
        timeline: f.svg !== undefined,
        stateCheckEvery: f.paranoid ? 1 : undefined,
      });
      runs.push({ label: profile.name, results: out.results });
      if (profiles.length === 1) console.log(describeRun(out.results));
      if (out.trace && f.trace) {
        const file =
          profiles.length > 1 ? f.trace.sibling((t) => t.replace(/(\.jsonl?)?$/, `.${profile.name}$1`)) : f.trace;
        file.write(out.trace.join('\n') + '\n');
        console.log(`trace: ${file.label} (${out.trace.length} lines)`);
      }
      if (out.failure) {
        failed = true;
        console.error(
          `\n${out.failure.kind === 'invariant' ? 'INVARIANT VIOLATED' : out.failure.kind === 'liveness' ? 'LIVENESS FAILED' : 'SCENARIO REJECTED'}: ${out.failure.message}`,
        );
        console.error(`replay: ${out.failure.replay}`);
      }
    }
    if (profiles.length > 1) console.log(summaryTable(runs));
    if (f.json) {
      const compared: CompareResults = {
        scenario: scenario.name,
        seed: runs[0].results.seed,
        runs: runs.map((r) => r.results),
      };
      f.json.write(JSON.stringify(jsonOutput(compared, f.compare !== undefined), null, 2) + '\n');
      console.log(`results: ${f.json.label}`);
    }
    if (f.svg) writeCharts(f.svg, scenario, runs);
    return failed ? 1 : 0;
  };
}

/** With --compare, the runs as CompareResults; without, the one run's SimResults. */
function jsonOutput(compared: CompareResults, compare: boolean): CompareResults | SimResults {
  return compare ? compared : compared.runs[0];
}

function writeCharts(svg: OutputDir, scenario: Scenario, runs: { label: string; results: SimResults }[]): void {
  const name = scenario.name;
  console.log(`chart: ${svg.write(`${name}-latency-cdf.svg`, latencyCdfSvg(runs, cdfTitle(scenario)))}`);
  const windowNs = sharedWindowNs(runs.map((r) => r.results));
  for (const r of runs)
    console.log(
      `chart: ${svg.write(`${name}-timeline-${r.label}.svg`, timelineSvg(r.results, windowNs, `Per-thread timeline: ${name} on ${r.label}`))}`,
    );
}

/**
 * A sweep's charts: one per metric, x the first axis, one line per transport and value of the
 * second; each combination of the third and fourth axes' values gets charts of its own
 * (`<sweep>-<metric>-<field>=<value>.svg`).
 */
export function sweepCharts(spec: Sweep, points: SweepPoint[]): [string, string][] {
  const fields = spec.axes.map((a) => a.field);
  let panels: Record<string, number>[] = [{}];
  for (const axis of spec.axes.slice(2))
    panels = panels.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.field]: v })));
  const out: [string, string][] = [];
  for (const metric of spec.metrics ?? ['messagesPerSec', 'latencyP50Ns'])
    for (const panel of panels) {
      const keys = Object.keys(panel);
      const mine = points.filter((p) => keys.every((k) => p.params[k] === panel[k]));
      const suffix = keys.map((k) => `-${k}=${panel[k]}`).join('');
      const where = keys.length ? ` (${keys.map((k) => `${k} = ${panel[k]}`).join(', ')})` : '';
      out.push([`${spec.name}-${metric}${suffix}.svg`, sweepSvg(mine, fields.slice(0, 2), metric, undefined, where)]);
    }
  return out;
}

function planStudy(f: SimFlags, operands: string[]): Run {
  if (operands.length > 0) throw new UsageError(`--scale-study takes no scenario argument, got ${operands.join(' ')}`);
  for (const name of ['sweep', 'seed', 'seeds', 'profile', 'transport', 'compare', 'trace', 'paranoid'] as const)
    if (f[name] !== undefined && f[name] !== false)
      throw new UsageError(`--${name} does not apply to --scale-study (the study file gives its workloads and seeds)`);
  const plan = planScaleStudy(); // every input checked now
  const json = f.json ?? new OutputFile('--json', STUDY_RESULTS_FILE());
  return async () => {
    if (!f.json) json.prepare();
    const results = await runStudy(plan, {
      workers: f.workers,
      progress: process.stderr.isTTY ? process.stderr : undefined,
    });
    console.log(verdictTable(plan.study, results));
    json.write(JSON.stringify(results, null, 1) + '\n');
    console.log(`results: ${json.label}`);
    if (f.svg) for (const c of studyCharts(plan.study, results)) console.log(`chart: ${f.svg.write(c.file, c.svg)}`);
    const failed = results.runs.filter((r) => !r.ok);
    for (const r of failed) console.error(`FAILED ${r.workload} ${r.transport} ${r.cores} cores seed ${r.seed}`);
    return failed.length ? 1 : 0;
  };
}

function planSweep(file: string, f: SimFlags, operands: string[]): Run {
  if (operands.length > 0)
    throw new UsageError(`--sweep takes no scenario argument (the sweep file names it), got ${operands.join(' ')}`);
  for (const name of ['seed', 'profile', 'transport', 'compare', 'trace', 'paranoid'] as const)
    if (f[name] !== undefined && f[name] !== false)
      throw new UsageError(`--${name} does not apply to --sweep (the sweep file gives seed and transports)`);
  const spec: Sweep = loadSweep(file);
  if (spec.seed !== undefined && seedProblem(spec.seed))
    throw new InputError(`${file}: invalid sweep at /seed: ${seedProblem(spec.seed)}`);
  // Loads the scenario and every profile, and checks every point: all input errors come now.
  sweepTasks(spec, path.dirname(path.resolve(file)), { seeds: f.seeds, where: file });
  return () => sweep(spec, file, f.json, f.svg, f.workers, f.seeds);
}

async function sweep(
  spec: Sweep,
  file: string,
  json: OutputFile | undefined,
  svg: OutputDir | undefined,
  workers: number | undefined,
  seeds: number | undefined,
): Promise<number> {
  const result = await runSweep(spec, path.dirname(path.resolve(file)), {
    workers,
    seeds,
    progress: process.stderr.isTTY ? process.stderr : undefined,
  });
  const rows = result.points.map((p) => ({
    label: `${p.transport} ${Object.entries(p.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}${result.seeds > 1 ? ` seed ${p.seed}` : ''}`,
    results: p.results,
  }));
  console.log(summaryTable(rows));
  if (json) {
    json.write(JSON.stringify(result, null, 2) + '\n');
    console.log(`results: ${json.label}`);
  }
  if (svg)
    for (const [file, chart] of sweepCharts(spec, result.points)) console.log(`chart: ${svg.write(file, chart)}`);
  const failed = result.points.filter((p) => !p.results.liveness.ok || p.results.monitors.violations.length > 0);
  for (const p of failed)
    console.error(
      `FAILED ${p.transport} ${JSON.stringify(p.params)}: ${p.results.liveness.detail} ${p.results.monitors.violations.map((v) => v.replay).join(' ')}`,
    );
  return failed.length ? 1 : 0;
}
