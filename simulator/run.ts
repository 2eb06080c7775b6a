// Running one scenario: build the simulation, execute it, turn what happened
// into results (hashed for determinism checks) and, when something broke, into
// a one-line replay command.
import { createHash } from 'crypto';
import type { Profile, Scenario, SimResults } from './types';
import { InvariantViolation, LivenessError, ScenarioError } from './engine/errors';
import { Simulation, type RunOptions } from './engine/engine';
import { formatSeed, parseSeed } from './rng';
import { parseProfile, parseScenario } from './load';

export interface RunRequest {
  scenario: Scenario;
  profile: Profile;
  seed?: string | number | bigint;
  trace?: boolean;
  timeline?: boolean;
  stateCheckEvery?: number;
  tamper?: RunOptions['tamper'];
  /** How the scenario is named on the replay command line (bundled name or file path). */
  scenarioRef?: string;
  /** Whether the profile was a file (--profile) rather than a bundled transport. */
  profileRef?: string;
  /** Stop after this many engine events (default 50,000,000): a runaway guard. */
  maxEvents?: number;
}

export interface RunOutcome {
  results: SimResults;
  trace: string[] | null;
  /** Set when the run stopped early: a violated invariant, a scenario error or a liveness failure. */
  failure: { kind: 'invariant' | 'scenario' | 'liveness'; message: string; replay: string } | null;
}

export const DEFAULT_SEED = '0x5eed';

export function replayCommand(req: RunRequest, seed: bigint): string {
  const ref = req.scenarioRef ?? req.scenario.name;
  const transport = req.profileRef ? `--profile ${req.profileRef}` : `--transport ${req.profile.name}`;
  return `npx tessera sim ${ref} --seed ${formatSeed(seed)} ${transport}`;
}

/** sha256 over the results (without the wall-clock performance figures) and the trace. */
export function hashResults(results: SimResults, trace: string[] | null): string {
  const h = createHash('sha256');
  const { performance: _p, hash: _h, ...rest } = results;
  h.update(JSON.stringify(rest));
  if (trace) for (const line of trace) h.update(line + '\n');
  return h.digest('hex');
}

/**
 * Run one scenario on one profile. Both are checked first (schema bounds and static checks,
 * load.ts), whoever built them: a bad one throws InputError, naming the field and the bound,
 * before anything runs.
 */
export function runScenario(req: RunRequest): RunOutcome {
  const seed = parseSeed(req.seed ?? DEFAULT_SEED);
  parseScenario(req.scenario, req.scenarioRef ?? `scenario ${req.scenario?.name}`);
  // A profile that extends a bundled one runs merged (it is the same object otherwise).
  const profile = parseProfile(req.profile, req.profileRef ?? `profile ${req.profile?.name}`);
  const sim = new Simulation(req.scenario, {
    seed,
    profile,
    trace: req.trace,
    timeline: req.timeline,
    stateCheckEvery: req.stateCheckEvery,
    tamper: req.tamper,
    maxEvents: req.maxEvents,
  });
  // Wall-clock time only measures the engine's speed; it never feeds the simulation.
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let failure: RunOutcome['failure'] = null;
  let violation: InvariantViolation | null = null;
  try {
    sim.execute();
  } catch (err) {
    const replay = replayCommand(req, seed);
    if (err instanceof InvariantViolation) {
      violation = err;
      failure = { kind: 'invariant', message: `invariant ${err.message} at ${Math.round(err.atNs)} ns`, replay };
    } else if (err instanceof ScenarioError) failure = { kind: 'scenario', message: err.message, replay };
    else if (err instanceof LivenessError) failure = { kind: 'liveness', message: err.message, replay };
    else throw err;
  }
  const wallNs = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpuStart);
  const cpuNs = (cpu.user + cpu.system) * 1000;
  const results = sim.results(seed);
  if (violation !== null && failure !== null) {
    results.monitors.violations.push({
      invariant: violation.violation.invariant,
      detail: violation.violation.detail,
      atNs: Math.round(violation.atNs),
      replay: failure.replay,
    });
  }
  if (failure?.kind === 'liveness') results.liveness = { ok: false, detail: failure.message };
  if (failure?.kind === 'scenario') results.liveness = { ok: false, detail: `not reached: ${failure.message}` };
  const trace = sim.traceOutput;
  results.hash = hashResults(results, trace);
  results.performance = {
    wallMs: Math.round(wallNs / 1e4) / 100,
    eventsPerSec: Math.round(sim.events / (wallNs / 1e9)),
    // On a shared machine the CPU-time rate is the steadier figure.
    eventsPerCpuSec: Math.round(sim.events / (Math.max(cpuNs, 1) / 1e9)),
    operationsPerSec: Math.round(results.totals.operations / (wallNs / 1e9)),
  };
  return { results, trace, failure };
}

/**
 * One run of a sweep or study (in a worker thread or here): a failure is told in the results'
 * liveness detail, with its replay command (after the hash, which covers the run alone).
 */
export function runTask(task: { scenario: Scenario; profile: Profile; seed: string }): SimResults {
  const out = runScenario({ scenario: task.scenario, profile: task.profile, seed: task.seed });
  if (out.failure) {
    out.results.liveness = {
      ok: false,
      detail: `${out.failure.kind}: ${out.failure.message}; replay: ${out.failure.replay}`,
    };
  }
  return out.results;
}
