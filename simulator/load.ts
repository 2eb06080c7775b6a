// Loading and checking what users give the simulator: scenario, profile and
// sweep files are validated with ajv against the schemas generated from
// simulator/types.ts; a rejection names the bad field (JSON pointer).
import * as fs from 'fs';
import * as path from 'path';
import { repositoryRoot } from '../spec/paths';
import { createAjv, Validator, type Checked } from '../spec/validate';
import type { Profile, Scenario, SimResults, Sweep } from './types';

import ScenarioSchema = require('./schema/Scenario.json');
import ProfileSchema = require('./schema/Profile.json');
import SweepSchema = require('./schema/Sweep.json');
import SimResultsSchema = require('./schema/SimResults.json');

let ajv: ReturnType<typeof createAjv> | null = null;

/** A validator compiled on first use: compiling every schema at import costs ~0.5 s of start-up. */
function lazy<T>(schema: object): { check(value: unknown): Checked<T> } {
  let v: Validator<T> | null = null;
  return { check: (value: unknown) => (v ??= new Validator<T>((ajv ??= createAjv()).compile(schema))).check(value) };
}

export const simValidators = {
  scenario: lazy<Scenario>(ScenarioSchema),
  profile: lazy<Profile>(ProfileSchema),
  sweep: lazy<Sweep>(SweepSchema),
  results: lazy<SimResults>(SimResultsSchema),
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

function check<T>(what: string, where: string, checked: Checked<T>): T {
  if (checked.ok) return checked.value;
  throw new InputError(`${where}: invalid ${what} at ${checked.path || '(top)'}: ${checked.message}`);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not JSON (${(err as Error).message})`);
  }
}

export function parseScenario(value: unknown, where = 'scenario'): Scenario {
  return check('scenario', where, simValidators.scenario.check(value));
}

export function parseProfile(value: unknown, where = 'profile'): Profile {
  return check('profile', where, simValidators.profile.check(value));
}

export function parseSweep(value: unknown, where = 'sweep'): Sweep {
  return check('sweep', where, simValidators.sweep.check(value));
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
