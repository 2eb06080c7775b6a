// The simulator engine's speed on every bundled scenario, and the model's share
// of it (issue 5: at least 1M simulated events per second). Never a pass/fail test.
//   node dist/bench/model.js [--seed S] [--min-ms N] [--reps N] [--only a,b] [--no-profile]
//                            [--json FILE] [--compare FILE]
// Each scenario runs in this one process: one warm-up run, then at least --reps timed
// runs and at least --min-ms of them; the rates are medians over those runs (wall and
// CPU time). The model's share comes from a separate sampled CPU profile (node:inspector)
// of further runs: self time of functions in dist/model/ over all non-idle samples.
// --compare FILE prints the rates of an earlier --json next to this run's.
import * as fs from 'fs';
import * as inspector from 'inspector';
import { bundledScenarios, loadProfile, loadScenario } from '../simulator/load';
import { runScenario } from '../simulator/run';

interface Row {
  scenario: string;
  events: number;
  runs: number;
  eventsPerSec: number;
  eventsPerCpuSec: number;
  /** Self time in dist/model/ over all non-idle profile samples, 0..1 (null: not profiled). */
  modelShare: number | null;
  /** The top self-time functions of the profile: "name file:line pct". */
  top?: string[];
  hash: string;
}

function flag(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function post<T>(session: inspector.Session, method: string, params?: object): T {
  let out: T | undefined, error: Error | null = null;
  session.post(method, params ?? {}, (err, res) => { error = err; out = res as T; });
  if (error) throw error;
  return out!;
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }

/** Sampled CPU profile of running `work`: model share and the top self-time functions. */
function profile(work: () => void): { modelShare: number; top: string[] } {
  const session = new inspector.Session();
  session.connect();
  post(session, 'Profiler.enable');
  post(session, 'Profiler.setSamplingInterval', { interval: 100 });
  post(session, 'Profiler.start');
  work();
  const { profile: p } = post<{ profile: { nodes: ProfileNode[]; samples: number[] } }>(session, 'Profiler.stop');
  session.disconnect();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0, model = 0;
  for (const id of p.samples) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    total++;
    const file = f.url.replace(/^.*\/dist\//, '');
    if (f.url.includes('/dist/model/')) model++;
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `${(100 * n / Math.max(total, 1)).toFixed(1).padStart(5)}%  ${k}`);
  return { modelShare: total > 0 ? model / total : 0, top };
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`;
}

function main(argv: string[]): void {
  const seed = flag(argv, '--seed') ?? '7';
  const minMs = Number(flag(argv, '--min-ms') ?? 1500);
  const minReps = Number(flag(argv, '--reps') ?? 5);
  const only = flag(argv, '--only')?.split(',');
  const doProfile = !argv.includes('--no-profile');
  const names = bundledScenarios().filter((n) => !only || only.includes(n));
  const rows: Row[] = [];
  for (const name of names) {
    const scenario = loadScenario(name);
    const prof = loadProfile(scenario.transport ?? 'tessera_shm');
    const once = () => runScenario({ scenario, profile: prof, seed, scenarioRef: name });
    const first = once(); // warm-up
    if (first.failure) throw new Error(`${name}: ${first.failure.message}`);
    const wall: number[] = [], cpu: number[] = [];
    const t0 = Date.now();
    while (wall.length < minReps || Date.now() - t0 < minMs) {
      const r = once().results;
      if (r.hash !== first.results.hash) throw new Error(`${name}: seed ${seed} gave two different results in one process`);
      wall.push(r.performance.eventsPerSec);
      cpu.push(r.performance.eventsPerCpuSec);
      if (wall.length >= 2000) break;
    }
    const row: Row = {
      scenario: name, events: first.results.totals.events, runs: wall.length,
      eventsPerSec: median(wall), eventsPerCpuSec: median(cpu), modelShare: null, hash: first.results.hash,
    };
    if (doProfile) {
      const reps = Math.max(3, wall.length);
      Object.assign(row, profile(() => { for (let i = 0; i < reps; i++) once(); }));
    }
    rows.push(row);
    console.error(`${name}: ${fmtRate(row.eventsPerSec)} events/s over ${row.runs} runs${row.modelShare === null ? '' : `, model ${(row.modelShare * 100).toFixed(0)}%`}`);
  }

  const compareFile = flag(argv, '--compare');
  const before = compareFile ? new Map((JSON.parse(fs.readFileSync(compareFile, 'utf8')).rows as Row[]).map((r) => [r.scenario, r])) : null;
  const header = ['scenario', 'events/run', 'runs', 'events/s', 'per CPU s', 'model share'];
  if (before) header.push('before events/s', 'before model', 'speed-up', 'same hash');
  const lines = rows.map((r) => {
    const cells = [r.scenario, String(r.events), String(r.runs), fmtRate(r.eventsPerSec), fmtRate(r.eventsPerCpuSec), r.modelShare === null ? '-' : `${(r.modelShare * 100).toFixed(0)}%`];
    if (before) {
      const b = before.get(r.scenario);
      cells.push(b ? fmtRate(b.eventsPerSec) : '-', b?.modelShare == null ? '-' : `${(b.modelShare * 100).toFixed(0)}%`,
        b ? `${(r.eventsPerSec / b.eventsPerSec).toFixed(2)}x` : '-', b ? (b.hash === r.hash ? 'yes' : 'NO') : '-');
    }
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  if (doProfile && argv.includes('--top')) {
    for (const r of rows) console.log(`\n${r.scenario} (model ${(r.modelShare! * 100).toFixed(1)}%):\n${r.top!.map((t) => `  ${t}`).join('\n')}`);
  }
  const jsonFile = flag(argv, '--json');
  if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ seed, node: process.version, rows }, null, 2) + '\n');
}

main(process.argv.slice(2));
