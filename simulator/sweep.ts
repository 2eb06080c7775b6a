// Sweeps: every combination of a parameter grid x transports x seeds, run in parallel
// worker threads (compiled .js workers from dist/), one results file, one chart per
// metric. A point's runs have seeds seed, seed + 1, ...: each run replays on its own.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { InputError, loadProfile, loadScenario, parseProfile, parseScenario } from './load';
import { SIM_BOUNDS } from './check';
import { numericFields, resolveField, withField, type FieldRef } from './fields';
import { formatSeed, parseSeed } from './rng';
import { DEFAULT_SEED } from './run';
import type { Profile, Scenario, SimResults, Sweep, SweepPoint, SweepResults } from './types';

export interface SweepTask {
  index: number;
  scenario: Scenario;
  profile: Profile;
  seed: string;
}

/** Where a task sits in the grid. */
export interface SweepPlace {
  transport: string;
  params: Record<string, number>;
  seed: string;
}

export interface SweepOptions {
  workers?: number;
  /** Runs per point; overrides the sweep file's `seeds`. */
  seeds?: number;
  /** Where to draw the progress bar (a TTY stream); none when absent. */
  progress?: NodeJS.WriteStream;
}

/** The seeds of a point's runs: seed, seed + 1, ... (modulo 2^64). */
export function pointSeeds(seed: string, count: number): string[] {
  const first = parseSeed(seed);
  return Array.from({ length: count }, (_, k) => formatSeed((first + BigInt(k)) & ((1n << 64n) - 1n)));
}

/** At most this many field names in a message (a script scenario has one per step). */
const LISTED = 60;

/** A sweep axis's field, resolved against the scenario and a transport's profile; InputError naming the fields there are. */
function axisField(spec: Sweep, i: number, scenario: Scenario, profile: Profile, where: string): FieldRef {
  const field = spec.axes[i].field;
  const ref = resolveField(field, scenario, profile);
  if (ref) return ref;
  const all = numericFields(scenario, profile);
  const shown = all.length > LISTED ? [...all.slice(0, LISTED), `... (${all.length - LISTED} more)`] : all;
  throw new InputError(
    `${where}: invalid sweep at /axes/${i}/field: no numeric field ${JSON.stringify(field)} in scenario ${scenario.name} or profile ${profile.name}; the numeric fields: ${shown.join(', ')}`,
  );
}

/**
 * The runs of a sweep: transports x the cartesian product of the axes x seeds. Every point's
 * scenario and profile are checked here (schema and static checks), so all input errors come
 * before anything runs.
 */
export function sweepTasks(
  spec: Sweep,
  baseDir: string,
  options: { seeds?: number; where?: string } = {},
): { tasks: SweepTask[]; places: SweepPlace[]; seeds: number } {
  const where = options.where ?? spec.name;
  const ref = spec.scenario;
  const base = /[\\/]|\.json$/.test(ref) ? loadScenario(path.resolve(baseDir, ref)) : loadScenario(ref);
  const seeds = options.seeds ?? spec.seeds ?? 1;
  if (spec.transports.length * spec.axes.reduce((n, a) => n * a.values.length, 1) * seeds > SIM_BOUNDS.sweepPoints)
    throw new InputError(
      `${where}: invalid sweep: more than ${SIM_BOUNDS.sweepPoints} runs (transports x axis values x seeds)`,
    );
  let combos: Record<string, number>[] = [{}];
  for (const axis of spec.axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.field]: v })));
  const runSeeds = pointSeeds(spec.seed ?? DEFAULT_SEED, seeds);
  const tasks: SweepTask[] = [];
  const places: SweepPlace[] = [];
  for (const transport of spec.transports) {
    const profile = loadProfile(transport);
    const refs = spec.axes.map((_, i) => axisField(spec, i, base, profile, where));
    for (const combo of combos) {
      let point = { scenario: base, profile };
      refs.forEach((r, i) => (point = withField(r, combo[spec.axes[i].field], point.scenario, point.profile)));
      const at = `${where} point ${transport} ${JSON.stringify(combo)}`;
      const scenario = parseScenario(point.scenario, at);
      const pointProfile = refs.some((r) => r.target === 'profile') ? parseProfile(point.profile, at) : profile;
      for (const seed of runSeeds) {
        tasks.push({ index: tasks.length, scenario, profile: pointProfile, seed });
        places.push({ transport, params: combo, seed });
      }
    }
  }
  return { tasks, places, seeds };
}

function workerFile(): string {
  const js = path.join(__dirname, 'sweep-worker.js');
  if (fs.existsSync(js)) return js;
  throw new Error(`sweep worker ${js} not found: run \`npm run build\` (workers start compiled .js files)`);
}

function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/**
 * Run tasks in `workers` worker threads (at least one; each a compiled .js worker), each result
 * in its task's place. A point's result is the same whichever worker ran it.
 */
export async function runTasks(
  tasks: SweepTask[],
  options: { workers?: number; progress?: NodeJS.WriteStream; label?: string } = {},
): Promise<SimResults[]> {
  const results: SimResults[] = new Array(tasks.length);
  const count = Math.max(1, Math.min(options.workers ?? Math.max(1, os.cpus().length), tasks.length));
  let next = 0;
  let done = 0;
  const progress = options.progress;
  const draw = () => progress?.write(`\r${options.label ?? ''} ${bar(done, tasks.length)}`);
  draw();
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(workerFile());
          const feed = () => {
            if (next >= tasks.length) {
              void worker.terminate().then(() => resolve());
              return;
            }
            worker.postMessage(tasks[next++]);
          };
          worker.on('message', (m: { index: number; results: SimResults }) => {
            results[m.index] = m.results;
            done++;
            draw();
            feed();
          });
          worker.on('error', reject);
          feed();
        }),
    ),
  );
  if (progress) progress.write('\n');
  return results;
}

export async function runSweep(spec: Sweep, baseDir: string, options: SweepOptions = {}): Promise<SweepResults> {
  const { tasks, places, seeds } = sweepTasks(spec, baseDir, { seeds: options.seeds });
  const results = await runTasks(tasks, { workers: options.workers, progress: options.progress, label: spec.name });
  const points: SweepPoint[] = places.map((p, i) => ({ ...p, results: results[i] }));
  return { sweep: spec.name, seeds, points };
}
