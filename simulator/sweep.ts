// Sweeps: every combination of a parameter grid x transports, run in parallel
// worker threads (compiled .js workers from dist/), one results file, one chart
// per metric. Each point gets the same seed, so a point replays on its own.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { loadProfile, loadScenario, parseScenario } from './load';
import { DEFAULT_SEED } from './run';
import type { Profile, Scenario, SimResults, Sweep, SweepPoint, SweepResults } from './types';

export interface SweepTask {
  index: number;
  scenario: Scenario;
  profile: Profile;
  seed: string;
}

export interface SweepOptions {
  workers?: number;
  /** Where to draw the progress bar (a TTY stream); none when absent. */
  progress?: NodeJS.WriteStream;
}

/** The points of a sweep: transports x the cartesian product of the axes. */
export function sweepTasks(spec: Sweep, baseDir: string): { tasks: SweepTask[]; params: Record<string, number>[] } {
  const ref = spec.scenario;
  const base = /[\\/]|\.json$/.test(ref) ? loadScenario(path.resolve(baseDir, ref)) : loadScenario(ref);
  let combos: Record<string, number>[] = [{}];
  for (const axis of spec.axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.field]: v })));
  const tasks: SweepTask[] = [];
  const params: Record<string, number>[] = [];
  for (const transport of spec.transports) {
    const profile = loadProfile(transport);
    for (const combo of combos) {
      const workload = { ...base.workload, ...combo } as Scenario['workload'];
      const scenario = parseScenario({ ...base, workload }, `${spec.name} point ${JSON.stringify(combo)}`);
      tasks.push({ index: tasks.length, scenario, profile, seed: spec.seed ?? DEFAULT_SEED });
      params.push(combo);
    }
  }
  return { tasks, params };
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

export async function runSweep(spec: Sweep, baseDir: string, options: SweepOptions = {}): Promise<SweepResults> {
  const { tasks, params } = sweepTasks(spec, baseDir);
  const results: SimResults[] = new Array(tasks.length);
  const count = Math.max(1, Math.min(options.workers ?? Math.max(1, os.cpus().length), tasks.length));
  let next = 0;
  let done = 0;
  const progress = options.progress;
  const draw = () => progress?.write(`\r${spec.name} ${bar(done, tasks.length)}`);
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
  const points: SweepPoint[] = tasks.map((t, i) => ({
    transport: t.profile.name,
    params: params[i],
    results: results[i],
  }));
  return { sweep: spec.name, points };
}
