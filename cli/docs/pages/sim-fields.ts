// Field tables of the simulator's inputs, generated from their JSON Schemas: each field with
// its type and bounds, unit, default and an example taken from the files the simulator ships
// (bundled scenarios and profiles, the documented examples, sweeps and the scale study), so
// nothing is retyped and a field added to simulator/types.ts shows up with no more work.
import * as fs from 'fs';
import * as path from 'path';
import { LIMITS } from '../../../spec/registry/limits';
import { esc, table, type Linker } from '../html';
import { type Json, type Schemas, displayName, refName } from '../schemas';

/** One row of a field table: a property of a definition (inline objects flattened into dotted paths). */
interface FieldRow {
  path: string;
  prop: Json;
  required: boolean;
}

/** Values seen in shipped files, by `Definition|path`: the first one found is the example. */
export class Examples {
  private readonly seen = new Map<string, unknown>();

  constructor(
    private readonly schemas: Schemas,
    private readonly file: string,
  ) {}

  /** Walk a value along the schema of the file's root, recording every field's value. */
  add(value: unknown): void {
    const root = this.schemas.file(this.file)?.json;
    if (root) this.walk(root, value, displayName(this.file), '');
  }

  get(def: string, field: string): unknown {
    return this.seen.get(`${def}|${field}`);
  }

  private walk(schema: Json, value: unknown, def: string, at: string): void {
    if (value === undefined) return;
    if (at !== '' && !this.seen.has(`${def}|${at}`)) this.seen.set(`${def}|${at}`, value);
    let s = schema;
    if (typeof s.$ref === 'string') {
      const name = displayName(refName(s.$ref));
      s = this.schemas.resolve(this.file, s);
      const union: Json[] | undefined = s.oneOf ?? s.anyOf;
      if (union && s.discriminator && typeof value === 'object' && value !== null) {
        const tag = s.discriminator.propertyName as string;
        const member = union.find((m) => this.schemas.resolve(this.file, m).properties?.[tag]?.const === (value as Json)[tag]);
        if (member) this.walk(member, value, def, '\u0000');
        return;
      }
      if (s.properties) {
        def = name;
        at = '';
      }
    }
    if (Array.isArray(value) && s.items) {
      for (const v of value) this.walk(s.items, v, def, at === '\u0000' ? '' : at);
      return;
    }
    if (typeof value !== 'object' || value === null || !s.properties) return;
    const base = at === '\u0000' ? '' : at;
    for (const [k, p] of Object.entries<Json>(s.properties)) this.walk(p, (value as Json)[k], def, base ? `${base}.${k}` : k);
  }
}

/** Every JSON file of a folder (sorted), parsed. */
export function jsonFiles(dir: string): { name: string; file: string; json: Json }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), file: path.join(dir, f), json: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Json }));
}

function rows(schemas: Schemas, file: string, schema: Json, prefix = ''): FieldRow[] {
  const def = schemas.resolve(file, schema);
  const required: string[] = def.required ?? [];
  const out: FieldRow[] = [];
  for (const [k, prop] of Object.entries<Json>(def.properties ?? {})) {
    const p = `${prefix}${k}`;
    out.push({ path: p, prop, required: required.includes(k) });
    if (prop.$ref === undefined && prop.type === 'object' && prop.properties) out.push(...rows(schemas, file, prop, `${p}.`));
  }
  return out;
}

const REF_UNITS: Record<string, string> = {
  Nanos: 'ns',
  CostNs: 'ns',
  Cost: 'ns',
  OpCost: 'ns and system calls',
  TimeoutMs: 'ms',
  PayloadBytes: 'bytes',
  Times: 'times',
  PeerCount: 'peers',
  ThreadCount: 'threads',
  BatchSize: 'deliveries',
};

/** A field's unit, from its type's name or its own name's suffix. */
function unitOf(def: string, fieldPath: string, prop: Json): string {
  const key = fieldPath.split('.').pop()!;
  const ref = typeof prop.$ref === 'string' ? displayName(refName(prop.$ref)) : '';
  if (/PerKiB$/.test(key)) return 'ns per KiB';
  if (def === 'LimitsOverride') return LIMITS.find((l) => l.name === fieldPath)?.unit ?? '';
  if (REF_UNITS[ref]) return REF_UNITS[ref];
  if (key === 'ns' || /Ns$/.test(key)) return 'ns';
  if (/Ms$/.test(key)) return 'ms';
  if (/Bytes$/.test(key)) return 'bytes';
  if (key === 'cpus') return def === 'BackgroundLoad' ? 'CPU-equivalents' : 'CPUs';
  if (key === 'cores') return 'CPUs';
  if (key === 'jitter') return 'relative spread';
  if (/Fraction$/.test(key) || key === 'perCore') return 'fraction';
  return '';
}

/** An example value as a short cell: a cost as its ns, anything long cut short. */
function exampleCell(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Json;
    if (typeof o.ns === 'number' && typeof o.source === 'string') return `<code>${o.ns}</code>`;
    if (o.cpu && typeof o.cpu.ns === 'number' && typeof o.syscalls === 'number')
      return `<code>${o.cpu.ns}</code> ns, <code>${o.syscalls}</code> calls`;
  }
  let text = JSON.stringify(v);
  if (text.length > 36) text = `${text.slice(0, 33)}…`;
  return `<code>${esc(text)}</code>`;
}

function defaultCell(def: string, fieldPath: string, prop: Json, target: Json, required: boolean): string {
  if (def === 'LimitsOverride') {
    const limit = LIMITS.find((l) => l.name === fieldPath);
    if (limit) return `<code>${limit.defaultValue}</code> <span class="muted">(<a href="limits.html#${esc(limit.name)}">registry</a>)</span>`;
  }
  const d = prop.default ?? target.default;
  if (d !== undefined) return `<code>${esc(JSON.stringify(d))}</code>`;
  return required ? '<span class="muted">required</span>' : '<span class="muted">none</span>';
}

/**
 * The field table of a definition: field, type (with bounds), unit, default, example, meaning.
 * `skip` leaves out fields shown elsewhere (a union's tag, fields every step shares).
 */
export function fieldTable(
  schemas: Schemas,
  file: string,
  def: string,
  schema: Json,
  examples: Examples,
  linker: Linker,
  skip: string[] = [],
): string {
  const body = rows(schemas, file, schema)
    .filter((r) => !skip.includes(r.path))
    .map((r) => {
      const target = typeof r.prop.$ref === 'string' ? schemas.resolve(file, r.prop) : r.prop;
      // The type is in the type column already: its bounds alone.
      const constraint = schemas.constraints(file, r.prop).replace(/^(integer|number) /, '');
      const limit = def === 'LimitsOverride' ? LIMITS.find((l) => l.name === r.path) : undefined;
      const description =
        limit?.meaning ??
        r.prop.description ??
        (typeof r.prop.$ref === 'string' ? target.description : undefined) ??
        (r.prop.const !== undefined ? `Always ${JSON.stringify(r.prop.const)}.` : '');
      const depth = r.path.split('.').length - 1;
      return [
        `<code${depth ? ` style="margin-left:${depth}em"` : ''}>${esc(r.path)}</code>${r.required ? '' : ' <span class="optional">optional</span>'}`,
        `<span class="type">${schemas.typeExpr(file, r.prop, linker)}</span>${constraint ? ` <span class="constraint">${constraint}</span>` : ''}`,
        esc(unitOf(def, r.path, r.prop)),
        defaultCell(def, r.path, r.prop, target, r.required),
        exampleCell(examples.get(def, r.path)),
        linker.text(description),
      ];
    });
  return table(['Field', 'Type', 'Unit', 'Default', 'Example', 'Meaning'], body, 'fields sim-fields');
}
