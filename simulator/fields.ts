// Numeric fields of a scenario and a profile named by path, for sweeps: `cpus`, `jitter`,
// `limits.maxPeers`, `background.cpus`, `workload.clients` (or `clients` alone: a field of the
// workload), `workload.peers.1.program.0.times` in a script, `profile.wake.latency.ns` (or
// `profile.wake.latency`: a cost's ns). A path is walked through the generated JSON Schemas
// together with the value (a union picks its member by the value's `kind` or `do`), so any
// numeric field the schema allows can be swept, present in the file or not; the schema and
// static checks then judge each point's value as they judge a file's.
import type { Profile, Scenario } from './types';

import ScenarioSchema = require('./schema/Scenario.json');
import ProfileSchema = require('./schema/Profile.json');

type Json = Record<string, any>;

/** A numeric field: in the scenario or the profile, at a path of keys and array indexes. */
export interface FieldRef {
  target: 'scenario' | 'profile';
  path: (string | number)[];
  /** The canonical name: `workload.clients`, `profile.wake.latency.ns`. */
  name: string;
}

/** Fields not worth sweeping: identities and flags that happen to be numbers. */
const SKIPPED = new Set(['credentials', 'badge']);

function deref(schema: Json, root: Json): Json {
  let s = schema;
  for (let guard = 0; typeof s.$ref === 'string' && guard < 32; guard++)
    s = root.definitions[s.$ref.replace('#/definitions/', '')];
  return s;
}

/** The schema that says what `value` is: a $ref followed, a tagged union's member chosen by the value's tag. */
function schemaOf(schema: Json, value: unknown, root: Json): Json | null {
  const s = deref(schema, root);
  const members: Json[] | undefined = s.oneOf ?? s.anyOf;
  if (!members) return s;
  const tag: string | undefined = s.discriminator?.propertyName;
  if (!tag || typeof value !== 'object' || value === null) return null;
  const want = (value as Json)[tag];
  for (const m of members) {
    const member = deref(m, root);
    if (member.properties?.[tag]?.const === want) return member;
  }
  return null;
}

const isNumeric = (s: Json) => s.type === 'number' || s.type === 'integer';

/** Walk `path` from `schema` with `value`; the path of a number (a cost object's `ns` appended), or null. */
function walk(schema: Json, value: unknown, path: string[], root: Json): (string | number)[] | null {
  let s: Json | null = schema;
  let v: unknown = value;
  const out: (string | number)[] = [];
  for (const seg of path) {
    s = schemaOf(s!, v, root);
    if (s === null) return null;
    if (s.type === 'array') {
      if (!/^\d+$/.test(seg) || !Array.isArray(v) || Number(seg) >= v.length) return null;
      out.push(Number(seg));
      v = v[Number(seg)];
      s = s.items as Json;
      continue;
    }
    const next: Json | undefined = s.properties?.[seg];
    if (next === undefined || SKIPPED.has(seg)) return null;
    out.push(seg);
    v = typeof v === 'object' && v !== null ? (v as Json)[seg] : undefined;
    s = next;
  }
  s = schemaOf(s!, v, root);
  if (s === null) return null;
  if (isNumeric(s)) return out;
  const ns = s.properties?.ns;
  if (ns !== undefined && isNumeric(deref(ns, root))) return [...out, 'ns'];
  return null;
}

/** The field a sweep axis names, or null when the scenario and profile have no such numeric field. */
export function resolveField(field: string, scenario: Scenario, profile: Profile): FieldRef | null {
  const segments = field.split('.');
  if (segments[0] === 'profile') {
    const path = walk(ProfileSchema, profile, segments.slice(1), ProfileSchema);
    return path && path.length > 0 ? { target: 'profile', path, name: ['profile', ...path].join('.') } : null;
  }
  const top = (ScenarioSchema as Json).properties as Json;
  const full = segments[0] in top ? segments : ['workload', ...segments];
  const path = walk(ScenarioSchema, scenario, full, ScenarioSchema);
  return path ? { target: 'scenario', path, name: path.join('.') } : null;
}

/** Every numeric field of the scenario (its workload's kind, its script's steps) and of the profile, by canonical name. */
export function numericFields(scenario: Scenario, profile: Profile): string[] {
  const out: string[] = [];
  collect(ScenarioSchema, scenario, [], ScenarioSchema, out, 0);
  const inProfile: string[] = [];
  collect(ProfileSchema, profile, [], ProfileSchema, inProfile, 0);
  return [...out, ...inProfile.map((f) => `profile.${f}`)];
}

function collect(schema: Json, value: unknown, prefix: string[], root: Json, out: string[], depth: number): void {
  if (depth > 24 || out.length >= 1000) return;
  const s = schemaOf(schema, value, root);
  if (s === null) return;
  if (isNumeric(s)) {
    if (prefix.length > 0) out.push(prefix.join('.'));
    return;
  }
  if (s.type === 'array') {
    if (!Array.isArray(value)) return;
    value.forEach((item, i) => collect(s.items as Json, item, [...prefix, String(i)], root, out, depth + 1));
    return;
  }
  for (const [key, sub] of Object.entries<Json>(s.properties ?? {})) {
    if (SKIPPED.has(key)) continue;
    const child = typeof value === 'object' && value !== null ? (value as Json)[key] : undefined;
    collect(sub, child, [...prefix, key], root, out, depth + 1);
  }
}

/** A copy of the scenario and profile with the field set to `value` (the inputs stay as they are). */
export function withField(
  ref: FieldRef,
  value: number,
  scenario: Scenario,
  profile: Profile,
): { scenario: Scenario; profile: Profile } {
  const copy = structuredClone(ref.target === 'scenario' ? scenario : profile) as Json;
  let at: Json = copy;
  for (let i = 0; i < ref.path.length - 1; i++) {
    const key = ref.path[i];
    if (at[key] === undefined || at[key] === null) at[key] = {};
    at = at[key];
  }
  const last = ref.path[ref.path.length - 1];
  at[last] = value;
  // A cost the profile did not have gets a source, as every cost must.
  if (ref.target === 'profile' && last === 'ns' && at.source === undefined) at.source = 'a sweep axis';
  return ref.target === 'scenario' ? { scenario: copy as Scenario, profile } : { scenario, profile: copy as Profile };
}

/** A field's name in words with its unit, for a chart's axis: `simulated CPUs`, `wake latency (ns)`. */
export function fieldLabel(name: string): string {
  const known: Record<string, string> = {
    cpus: 'simulated CPUs',
    jitter: 'cost jitter (relative spread)',
    'background.cpus': 'background load (CPUs)',
  };
  if (known[name]) return known[name];
  // A profile cost named without its `ns`: the cost's ns (the schema says which fields are costs).
  if (name.startsWith('profile.')) {
    const path = walk(ProfileSchema, undefined, name.split('.').slice(1), ProfileSchema);
    if (path) name = ['profile', ...path].join('.');
  }
  let parts = name.split('.').filter((p) => !/^\d+$/.test(p));
  if (parts[0] === 'workload' || parts[0] === 'limits') parts = parts.slice(1);
  if (parts[0] === 'profile') parts = parts.slice(1);
  let unit = '';
  if (parts[parts.length - 1] === 'ns') {
    parts = parts.slice(0, -1);
    unit = 'ns';
  }
  const words = parts
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase())
    .join(' ')
    .replace(/ (ns|ms|bytes)$/, (_m, u: string) => {
      unit = u;
      return '';
    });
  return unit ? `${words} (${unit})` : words;
}
