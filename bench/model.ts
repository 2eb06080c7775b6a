// The simulator engine's speed on every bundled scenario, and the model's share
// of it (the simulator's goal: at least 1M simulated events per second). Never a pass/fail test.
//   node dist/bench/model.js [--seed S] [--min-ms N] [--reps N] [--only a,b] [--no-profile] [--top]
//                            [--json FILE] [--compare FILE] [--against DIR] [--replay | --replay-only]
//                            [--outcomes-may-differ]
// Each scenario runs in this one process: one warm-up run, then at least --reps timed
// runs and at least --min-ms of them; the rates are medians over those runs (wall and
// CPU time). The model's share comes from a separate sampled CPU profile (node:inspector)
// of further runs: self time of functions in dist/model/ over all non-idle samples; the
// model's CPU time per event is that share of the CPU time per event.
// --compare FILE prints the rates of an earlier --json next to this run's.
// --against DIR loads another build (DIR holds its package.json and dist/, e.g. a
// worktree of an earlier commit) and runs it alternately with this one, run for run,
// so that both see the same load on a shared machine; the table then compares the two.
// --replay adds the model alone: the operations one run of each scenario gave the model
// (recorded at its door, model/step applyInPlace) are replayed from the same initial state
// through applyInPlace in a tight loop, timed (CPU ns per operation, the fastest replay); with --against,
// both models replay the same log and must give the same JSON outcomes, step by step;
// --outcomes-may-differ only notes where they part (two models of different rules, timed on one log).
// --replay-only skips the simulator timings.
import * as fs from 'fs';
import * as inspector from 'inspector';
import * as path from 'path';
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
  /** The model's CPU time per simulated event, ns (modelShare of the CPU time per event). */
  modelNsPerEvent: number | null;
  /** The top self-time functions of the profile: "name file:line pct". */
  top?: string[];
  /** --replay: operations in the log, and the model's CPU ns per operation in the fastest replay of it. */
  replayOps?: number;
  replayNsPerOp?: number;
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
  let out: T | undefined,
    error: Error | null = null;
  session.post(method, params ?? {}, (err, res) => {
    error = err;
    out = res as T;
  });
  if (error) throw error;
  return out!;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Sampled CPU profile of running `work`: model share and the top self-time functions. */
function profile(work: () => void, modelDir: string): { modelShare: number; top: string[] } {
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
  let total = 0,
    model = 0;
  for (const id of p.samples) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    total++;
    const file = f.url.replace(/^.*\/dist\//, '');
    if (f.url.includes(modelDir)) model++;
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([k, n]) => `${((100 * n) / Math.max(total, 1)).toFixed(1).padStart(5)}%  ${k}`);
  return { modelShare: total > 0 ? model / total : 0, top };
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`;
}

interface ModelModule {
  applyInPlace: (s: unknown, op: unknown) => unknown;
}

interface OpLog {
  initial: unknown;
  ops: unknown[];
}

/** The operations one run of a scenario hands the model, and the state before the first. */
function recordOps(e: Engine, run: () => unknown): OpLog {
  const step = e.step;
  const real = step.applyInPlace;
  const log: OpLog = { initial: null, ops: [] };
  step.applyInPlace = (s, op) => {
    if (log.initial === null) log.initial = structuredClone(s);
    log.ops.push(copyData(op));
    return real(s, op);
  };
  try {
    run();
  } finally {
    step.applyInPlace = real;
  }
  return log;
}

/**
 * A copy of plain data that shares its strings, as the simulator's operations share their
 * payload strings run after run (structuredClone would make every string a new one, and
 * the model's base64 check remembers recent strings by identity first).
 */
function copyData(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(copyData);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = copyData(x);
  return out;
}

/** CPU ns per operation of replaying a log through a model (one replay; CPU time, steadier on a shared machine). */
function replayOnce(m: ModelModule, log: OpLog): number {
  const s = structuredClone(log.initial);
  const ops = log.ops;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops.length; i++) m.applyInPlace(s, ops[i]);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / ops.length;
}

/** Both models give the same outcomes (JSON, key order included) on the log, and the same final state. */
function sameOutcomes(a: ModelModule, b: ModelModule, log: OpLog): string | null {
  const sa = structuredClone(log.initial),
    sb = structuredClone(log.initial);
  for (let i = 0; i < log.ops.length; i++) {
    const ja = JSON.stringify(a.applyInPlace(sa, log.ops[i])),
      jb = JSON.stringify(b.applyInPlace(sb, log.ops[i]));
    if (ja !== jb) return `operation ${i} ${JSON.stringify(log.ops[i])}: ${ja} vs ${jb}`;
  }
  return JSON.stringify(sa) === JSON.stringify(sb) ? null : 'final states differ';
}

interface Engine {
  label: string;
  run: typeof runScenario;
  load: { loadScenario: typeof loadScenario; loadProfile: typeof loadProfile };
  /** Where this build's model lives, as profile URLs show it. */
  modelDir: string;
  /** Its model/step module (the model's door, patched by recordOps). */
  step: ModelModule;
}

function engineAt(root: string, label: string): Engine {
  const req = (m: string) => require(path.join(root, 'dist', m)) as never;
  return {
    label,
    run: (req('simulator/run') as { runScenario: typeof runScenario }).runScenario,
    load: req('simulator/load'),
    modelDir: `${path.join(root, 'dist', 'model')}/`,
    step: req('model/step'),
  };
}

function measureReplay(
  engines: Engine[],
  rows: Row[],
  name: string,
  seed: string,
  minMs: number,
  minReps: number,
  outcomesMayDiffer = false,
): void {
  const scenario = engines[0].load.loadScenario(name);
  const prof = engines[0].load.loadProfile(scenario.transport ?? 'tessera_shm');
  const log = recordOps(engines[0], () => engines[0].run({ scenario, profile: prof, seed, scenarioRef: name }));
  if (engines.length > 1) {
    const diff = sameOutcomes(engines[0].step, engines[1].step, log);
    if (diff && outcomesMayDiffer) console.error(`${name}: the two models part at ${diff.slice(0, 160)}...`);
    else if (diff) throw new Error(`${name}: the two models disagree on the recorded operations: ${diff}`);
  }
  const times: number[][] = engines.map(() => []);
  engines.forEach((e) => replayOnce(e.step, log)); // warm-up
  const t0 = Date.now();
  for (let rep = 0; rep < 5000 && (rep < minReps || Date.now() - t0 < minMs * engines.length); rep++) {
    engines.forEach((e, i) => times[i].push(replayOnce(e.step, log)));
  }
  // The fastest replay: on a shared machine, the one least disturbed by other work.
  rows.forEach((r, i) => {
    r.replayOps = log.ops.length;
    r.replayNsPerOp = Math.min(...times[i]);
  });
}

function measure(
  engines: Engine[],
  name: string,
  seed: string,
  minMs: number,
  minReps: number,
  doProfile: boolean,
): Row[] {
  const runs = engines.map((e) => {
    const scenario = e.load.loadScenario(name);
    const prof = e.load.loadProfile(scenario.transport ?? 'tessera_shm');
    return () => e.run({ scenario, profile: prof, seed, scenarioRef: name });
  });
  const firsts = runs.map((once) => once()); // warm-up
  firsts.forEach((f, i) => {
    if (f.failure) throw new Error(`${engines[i].label} ${name}: ${f.failure.message}`);
  });
  const wall: number[][] = engines.map(() => []),
    cpu: number[][] = engines.map(() => []);
  const t0 = Date.now();
  for (let rep = 0; rep < 2000 && (rep < minReps || Date.now() - t0 < minMs * engines.length); rep++) {
    runs.forEach((once, i) => {
      const r = once().results;
      if (r.hash !== firsts[i].results.hash)
        throw new Error(`${name}: seed ${seed} gave two different results in one process`);
      wall[i].push(r.performance.eventsPerSec);
      cpu[i].push(r.performance.eventsPerCpuSec);
    });
  }
  return engines.map((e, i) => {
    const row: Row = {
      scenario: name,
      events: firsts[i].results.totals.events,
      runs: wall[i].length,
      eventsPerSec: median(wall[i]),
      eventsPerCpuSec: median(cpu[i]),
      modelShare: null,
      modelNsPerEvent: null,
      hash: firsts[i].results.hash,
    };
    if (doProfile) {
      const reps = Math.max(3, wall[i].length);
      Object.assign(
        row,
        profile(() => {
          for (let k = 0; k < reps; k++) runs[i]();
        }, e.modelDir),
      );
      row.modelNsPerEvent = (row.modelShare! * 1e9) / row.eventsPerCpuSec;
    }
    return row;
  });
}

/** The results table: this run's rows, and beside them the rows of `before` (--compare or --against) when given. */
function printTable(rows: Row[], before: Map<string, Row> | null): void {
  const pct = (x: number | null | undefined) => (x == null ? '-' : `${(x * 100).toFixed(0)}%`);
  const ns = (x: number | null | undefined) => (x == null ? '-' : `${x.toFixed(0)} ns`);
  const replay = rows.some((r) => r.replayNsPerOp !== undefined);
  const header = ['scenario', 'events/run', 'runs', 'events/s', 'per CPU s', 'model share', 'model/event'];
  if (replay) header.push('model/op (replay)');
  if (before) header.push('before events/s', 'per CPU s', 'model share', 'model/event');
  if (before && replay) header.push('model/op (replay)');
  if (before) header.push('speed-up (CPU)', 'model speed-up', 'same hash');
  const lines = rows.map((r) => {
    const cells = [
      r.scenario,
      String(r.events),
      String(r.runs),
      fmtRate(r.eventsPerSec),
      fmtRate(r.eventsPerCpuSec),
      pct(r.modelShare),
      ns(r.modelNsPerEvent),
    ];
    if (replay) cells.push(ns(r.replayNsPerOp));
    if (before) {
      const b = before.get(r.scenario);
      cells.push(
        b ? fmtRate(b.eventsPerSec) : '-',
        b ? fmtRate(b.eventsPerCpuSec) : '-',
        pct(b?.modelShare),
        ns(b?.modelNsPerEvent),
      );
      if (replay) cells.push(ns(b?.replayNsPerOp));
      // The model's speed-up: from the replay when there is one, else from the profile.
      const modelUp =
        replay && b?.replayNsPerOp && r.replayNsPerOp
          ? b.replayNsPerOp / r.replayNsPerOp
          : b?.modelNsPerEvent && r.modelNsPerEvent
            ? b.modelNsPerEvent / r.modelNsPerEvent
            : null;
      cells.push(
        b ? `${(r.eventsPerCpuSec / b.eventsPerCpuSec).toFixed(2)}x` : '-',
        modelUp === null ? '-' : `${modelUp.toFixed(2)}x`,
        b ? (b.hash === r.hash ? 'yes' : 'NO') : '-',
      );
    }
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

function main(argv: string[]): void {
  const seed = flag(argv, '--seed') ?? '7';
  const minMs = Number(flag(argv, '--min-ms') ?? 1500);
  const minReps = Number(flag(argv, '--reps') ?? 5);
  const only = flag(argv, '--only')?.split(',');
  const doProfile = !argv.includes('--no-profile');
  const names = bundledScenarios().filter((n) => !only || only.includes(n));
  const engines = [engineAt(path.join(__dirname, '..', '..'), 'this')];
  const againstDir = flag(argv, '--against');
  if (againstDir) engines.push(engineAt(path.resolve(againstDir), 'against'));
  const rows: Row[] = [];
  const against: Row[] = [];
  for (const name of names) {
    const measured = argv.includes('--replay-only')
      ? engines.map((): Row => ({
          scenario: name,
          events: 0,
          runs: 0,
          eventsPerSec: 0,
          eventsPerCpuSec: 0,
          modelShare: null,
          modelNsPerEvent: null,
          hash: '',
        }))
      : measure(engines, name, seed, minMs, minReps, doProfile);
    if (argv.includes('--replay') || argv.includes('--replay-only'))
      measureReplay(engines, measured, name, seed, minMs, minReps, argv.includes('--outcomes-may-differ'));
    const [row, other] = measured;
    rows.push(row);
    if (other) against.push(other);
    console.error(
      `${name}: ${fmtRate(row.eventsPerSec)} events/s over ${row.runs} runs${row.modelShare === null ? '' : `, model ${(row.modelShare * 100).toFixed(0)}%`}${other ? ` (against: ${fmtRate(other.eventsPerSec)}, model ${((other.modelShare ?? 0) * 100).toFixed(0)}%)` : ''}`,
    );
  }

  const compareFile = flag(argv, '--compare');
  const beforeRows: Row[] | null = againstDir
    ? against
    : compareFile
      ? JSON.parse(fs.readFileSync(compareFile, 'utf8')).rows
      : null;
  const before = beforeRows ? new Map(beforeRows.map((r) => [r.scenario, r])) : null;
  printTable(rows, before);
  if (doProfile && argv.includes('--top')) {
    for (const r of rows)
      console.log(
        `\n${r.scenario} (model ${(r.modelShare! * 100).toFixed(1)}%):\n${r.top!.map((t) => `  ${t}`).join('\n')}`,
      );
  }
  const jsonFile = flag(argv, '--json');
  if (jsonFile)
    fs.writeFileSync(
      jsonFile,
      JSON.stringify(
        { seed, node: process.version, rows, ...(againstDir ? { against: { dir: againstDir, rows: against } } : {}) },
        null,
        2,
      ) + '\n',
    );
}

main(process.argv.slice(2));
