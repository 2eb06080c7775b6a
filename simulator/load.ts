// Loading and checking what users give the simulator: scenario, profile and
// sweep files are read (at most SIM_BOUNDS.fileBytes), checked for nesting depth,
// validated with ajv against the schemas generated from simulator/types.ts (the
// per-field bounds), then checked statically (check.ts: the bounds no schema can
// say, and names); a rejection names the bad field (JSON pointer) and the bound.
import * as fs from 'fs';
import * as path from 'path';
import { repositoryRoot } from '../spec/paths';
import { createAjv, Validator, type Checked } from '../spec/validate';
import type { Profile, ScaleStudy, Scenario, SimResults, Sweep } from './types';
import { SIM_BOUNDS, profileProblem, scenarioProblem, sweepProblem, tooDeep, type Problem } from './check';

import ScenarioSchema = require('./schema/Scenario.json');
import ProfileSchema = require('./schema/Profile.json');
import SweepSchema = require('./schema/Sweep.json');
import SimResultsSchema = require('./schema/SimResults.json');
import ScaleStudySchema = require('./schema/ScaleStudy.json');

let ajv: ReturnType<typeof createAjv> | null = null;

/** A validator compiled on first use: compiling every schema at import costs ~0.5 s of start-up. */
function lazy<T>(schema: object): { check(value: unknown): Checked<T> } {
  let v: Validator<T> | null = null;
  return {
    check: (value: unknown) =>
      (v ??= new Validator<T>((ajv ??= createAjv()).compile(objectUnions(structuredClone(schema))))).check(value),
  };
}

/**
 * Every tagged union (oneOf with a discriminator) also says "type": "object": ajv's
 * discriminator lets a string, number, array or null through when the union does not.
 */
function objectUnions(node: unknown): object {
  if (typeof node === 'object' && node !== null) {
    const n = node as Record<string, unknown>;
    if (n.discriminator !== undefined && n.type === undefined) n.type = 'object';
    for (const v of Object.values(n)) objectUnions(v);
  }
  return node as object;
}

export const simValidators = {
  scenario: lazy<Scenario>(ScenarioSchema),
  profile: lazy<Profile>(ProfileSchema),
  sweep: lazy<Sweep>(SweepSchema),
  results: lazy<SimResults>(SimResultsSchema),
  study: lazy<ScaleStudy>(ScaleStudySchema),
};

/** A file the user gave was not valid: the message names the file and the bad field. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** The repository root (spec/paths.ts: one finder for every tool). */
export const repoRoot = repositoryRoot;

export const SCENARIO_DIR = () => path.join(repoRoot(), 'simulator', 'scenarios');
export const PROFILE_DIR = () => path.join(repoRoot(), 'simulator', 'profiles');

/** Depth first (a validator recurses), then the schema, then the static checks. */
function check<T>(
  what: string,
  where: string,
  value: unknown,
  validator: { check(value: unknown): Checked<T> },
  statics: (value: T) => Problem | null,
): T {
  const fail = (path: string, message: string): never => {
    throw new InputError(`${where}: invalid ${what} at ${path || '(top)'}: ${message}`);
  };
  const deep = tooDeep(value);
  if (deep) fail(deep.path, deep.message);
  const checked = validator.check(value);
  if (!checked.ok) return fail(checked.path, checked.message);
  const problem = statics(checked.value);
  if (problem) fail(problem.path, problem.message);
  return checked.value;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    const bytes = fs.statSync(file).size;
    if (bytes > SIM_BOUNDS.fileBytes)
      throw new InputError(`${file}: ${bytes} bytes, more than ${SIM_BOUNDS.fileBytes} (the largest input file)`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: cannot read (${(err as Error).message})`);
  }
  return parseJsonText(text, file);
}

/** JSON text of an input file (at most SIM_BOUNDS.fileBytes of it). */
export function parseJsonText(text: string, where: string): unknown {
  if (text.length > SIM_BOUNDS.fileBytes)
    throw new InputError(
      `${where}: ${text.length} characters, more than ${SIM_BOUNDS.fileBytes} (the largest input file)`,
    );
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${where}: not JSON (${(err as Error).message})`);
  }
}

export function parseScenario(value: unknown, where = 'scenario'): Scenario {
  return check('scenario', where, value, simValidators.scenario, scenarioProblem);
}

/**
 * A profile: checked as it is, or, when it `extends` a bundled profile, merged onto that one
 * first (derivedProfile) and then checked whole.
 */
export function parseProfile(value: unknown, where = 'profile'): Profile {
  return check('profile', where, derivedProfile(value, where), simValidators.profile, profileProblem);
}

/** How many bundled profiles a chain of `extends` may pass through. */
const EXTENDS_DEPTH = 4;

/**
 * A profile that extends a bundled one, merged onto it: every field it gives replaces the
 * bundled one's, objects merging field by field (a profile has no arrays); `name` is its own.
 * Anything else is returned as it is.
 */
export function derivedProfile(value: unknown, where: string, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const own = value as Record<string, unknown>;
  if (own.extends === undefined) return value;
  const fail = (at: string, message: string): never => {
    throw new InputError(`${where}: invalid profile at ${at}: ${message}`);
  };
  const deep = tooDeep(value);
  if (deep) fail(deep.path, deep.message);
  const base = own.extends;
  if (typeof base !== 'string' || !bundledProfiles().includes(base))
    return fail('/extends', `no bundled profile ${JSON.stringify(base)} (bundled: ${bundledProfiles().join(', ')})`);
  if (typeof own.name !== 'string') return fail('/name', 'a profile that extends another needs a name of its own');
  if (depth >= EXTENDS_DEPTH) return fail('/extends', `extends passes through more than ${EXTENDS_DEPTH} profiles`);
  const bundled = derivedProfile(readJson(path.join(PROFILE_DIR(), `${base}.json`)), base, depth + 1);
  return merge(bundled, value);
}

/** `over` onto `base`: objects merge key by key, anything else in `over` replaces. */
function merge(base: unknown, over: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
}

export function parseSweep(value: unknown, where = 'sweep'): Sweep {
  return check('sweep', where, value, simValidators.sweep, sweepProblem);
}

/** A bundled scenario by name (`pingpong`) or a scenario file path. */
export function loadScenario(nameOrPath: string): Scenario {
  const bundled = path.join(SCENARIO_DIR(), `${nameOrPath}.json`);
  const file = /[\\/]|\.json$/.test(nameOrPath) ? nameOrPath : bundled;
  if (file === bundled && !fs.existsSync(bundled)) {
    throw new InputError(`no bundled scenario "${nameOrPath}" (bundled: ${bundledScenarios().join(', ')})`);
  }
  return parseScenario(readJson(file), file);
}

/** A bundled profile by name (`af_unix`) or a profile file path. */
export function loadProfile(nameOrPath: string): Profile {
  const bundled = path.join(PROFILE_DIR(), `${nameOrPath}.json`);
  const file = /[\\/]|\.json$/.test(nameOrPath) ? nameOrPath : bundled;
  if (file === bundled && !fs.existsSync(bundled)) {
    throw new InputError(`no bundled transport profile "${nameOrPath}" (bundled: ${bundledProfiles().join(', ')})`);
  }
  return parseProfile(readJson(file), file);
}

export function loadSweep(file: string): Sweep {
  return parseSweep(readJson(file), file);
}

export function bundledScenarios(): string[] {
  return fs
    .readdirSync(SCENARIO_DIR())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function bundledProfiles(): string[] {
  return fs
    .readdirSync(PROFILE_DIR())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}
