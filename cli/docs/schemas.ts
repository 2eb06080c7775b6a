// The generated JSON Schemas as the docs see them: every file under a
// `schema/` folder of spec, simulator and conformance; every named
// definition gets one anchor on schemas.html (identical definitions shared by
// several files get one), and types render as short expressions with links.
import * as fs from 'fs';
import * as path from 'path';
import { Linker, anchorId, esc } from './html';

export type Json = Record<string, any>;

export interface SchemaFile {
  /** Type name, e.g. `Operation`. */
  name: string;
  /** Repository path, e.g. `spec/schema/Operation.json`. */
  file: string;
  text: string;
  json: Json;
}

export interface TypeDef {
  name: string;
  anchor: string;
  schema: Json;
  /** Schema files that hold this definition. */
  files: string[];
}

const SCHEMA_FOLDERS = ['spec/schema', 'protocol/schema', 'simulator/schema', 'conformance/schema'];

export class Schemas {
  readonly files: SchemaFile[] = [];
  readonly types: TypeDef[] = [];
  /** `${file.name}/${definition}` -> anchor */
  private readonly anchors = new Map<string, string>();
  private readonly byFile = new Map<string, SchemaFile>();

  constructor(root: string) {
    for (const folder of SCHEMA_FOLDERS) {
      const dir = path.join(root, folder);
      if (!fs.existsSync(dir)) continue;
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        const base = f.replace(/\.json$/, '');
        // Names are unique across folders in practice; qualify a clash with its folder.
        const name = this.byFile.has(base) ? `${folder.split('/')[0]}.${base}` : base;
        const file: SchemaFile = { name, file: `${folder}/${f}`, text, json: JSON.parse(text) };
        this.files.push(file);
        this.byFile.set(file.name, file);
      }
    }
    const variants = new Map<string, TypeDef[]>();
    for (const file of this.files) {
      for (const [name, schema] of Object.entries<Json>(file.json.definitions ?? {})) {
        const list = variants.get(name) ?? [];
        const key = JSON.stringify(schema);
        let def = list.find((d) => JSON.stringify(d.schema) === key);
        if (!def) {
          const base = `type-${anchorId(name)}`;
          def = { name, anchor: list.length === 0 ? base : `${base}-v${list.length + 1}`, schema, files: [] };
          list.push(def);
          variants.set(name, list);
          this.types.push(def);
        }
        def.files.push(file.name);
        this.anchors.set(`${file.name}/${name}`, def.anchor);
      }
    }
    this.types.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.anchor < b.anchor ? -1 : 1));
  }

  file(name: string): SchemaFile | undefined {
    return this.byFile.get(name);
  }

  /** The anchor of a definition as seen from a schema file. */
  anchorOf(fileName: string, def: string): string | undefined {
    return this.anchors.get(`${fileName}/${def}`);
  }

  /** A definition by name as seen from a schema file. */
  definition(fileName: string, def: string): Json | undefined {
    return this.byFile.get(fileName)?.json.definitions?.[def];
  }

  /** Follow $refs (within one file) to the schema that says what a value is. */
  resolve(fileName: string, schema: Json): Json {
    let s = schema;
    for (let guard = 0; typeof s.$ref === 'string' && guard < 20; guard++) {
      const target = this.definition(fileName, refName(s.$ref));
      if (!target) break;
      s = target;
    }
    return s;
  }

  /** A short type expression in HTML: `HandleName`, `Right[]`, `"send" | "grant"`. */
  typeExpr(fileName: string, schema: Json | undefined, linker: Linker): string {
    if (!schema) return '<span class="t-any">any</span>';
    if (typeof schema.$ref === 'string') {
      const name = refName(schema.$ref);
      const anchor = this.anchorOf(fileName, name);
      const label = esc(displayName(name));
      return anchor ? `<a class="type-ref" href="${linker.href('schemas.html', anchor)}">${label}</a>` : label;
    }
    if (schema.const !== undefined) return `<span class="t-lit">${esc(JSON.stringify(schema.const))}</span>`;
    if (Array.isArray(schema.enum)) return schema.enum.map((v: unknown) => `<span class="t-lit">${esc(JSON.stringify(v))}</span>`).join(' | ');
    const union = schema.oneOf ?? schema.anyOf;
    if (Array.isArray(union)) return union.map((m: Json) => this.typeExpr(fileName, m, linker)).join(' | ');
    if (Array.isArray(schema.type)) return schema.type.map((t: string) => esc(t)).join(' | ');
    if (schema.type === 'array') {
      const inner = this.typeExpr(fileName, schema.items, linker);
      return /\|/.test(inner) ? `(${inner})[]` : `${inner}[]`;
    }
    if (schema.type === 'object' && !schema.properties) return schema.additionalProperties === false ? '{}' : 'object';
    if (typeof schema.type === 'string') return `<span class="t-prim">${esc(schema.type)}</span>`;
    return '<span class="t-any">any</span>';
  }

  /** Constraints worth showing next to a type (integer ranges, patterns). */
  constraints(fileName: string, schema: Json): string {
    const s = this.resolve(fileName, schema);
    const parts: string[] = [];
    if (s.type === 'integer' || s.type === 'number') {
      if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`${s.type} ${s.minimum}..${s.maximum === Number.MAX_SAFE_INTEGER ? '2^53-1' : s.maximum}`);
      else if (s.minimum !== undefined) parts.push(`${s.type} &ge; ${s.minimum}`);
    }
    if (typeof s.pattern === 'string') parts.push(`pattern <code>${esc(s.pattern)}</code>`);
    return parts.join(', ');
  }

  /** The rows of an object schema: name, type, required, description. */
  fields(fileName: string, schema: Json, linker: Linker): { name: string; type: string; required: boolean; description: string }[] {
    const s = this.resolve(fileName, schema);
    const required: string[] = s.required ?? [];
    return Object.entries<Json>(s.properties ?? {}).map(([name, prop]) => {
      const target = typeof prop.$ref === 'string' ? this.resolve(fileName, prop) : prop;
      const description = prop.description ?? (typeof prop.$ref === 'string' ? target.description : undefined)
        ?? (prop.const !== undefined ? `Always ${JSON.stringify(prop.const)}: names the ${name === 'op' ? 'operation' : 'variant'}.` : '');
      const constraint = this.constraints(fileName, prop);
      return {
        name,
        type: this.typeExpr(fileName, prop, linker) + (constraint ? ` <span class="constraint">${constraint}</span>` : ''),
        required: required.includes(name),
        description: linker.text(description),
      };
    });
  }

  /** Pretty-printed JSON in HTML, $ref values linked to the definitions' anchors. */
  jsonHtml(fileName: string, value: unknown, linker: Linker, indent = ''): string {
    const next = indent + '  ';
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      if (value.every((v) => typeof v !== 'object' || v === null)) {
        const inline = value.map((v) => this.jsonHtml(fileName, v, linker)).join(', ');
        if (JSON.stringify(value).length < 60) return `[${inline}]`;
      }
      return `[\n${value.map((v) => next + this.jsonHtml(fileName, v, linker, next)).join(',\n')}\n${indent}]`;
    }
    if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value as Json);
      if (entries.length === 0) return '{}';
      return `{\n${entries.map(([k, v]) => {
        const key = `<span class="j-key">${esc(JSON.stringify(k))}</span>`;
        if (k === '$ref' && typeof v === 'string') {
          const anchor = this.anchorOf(fileName, refName(v));
          const str = esc(JSON.stringify(v));
          return `${next}${key}: ${anchor ? `<a class="j-str" href="${linker.href('schemas.html', anchor)}">${str}</a>` : `<span class="j-str">${str}</span>`}`;
        }
        if (k === 'description' && typeof v === 'string') return `${next}${key}: <span class="j-str">${linker.text(JSON.stringify(v))}</span>`;
        return `${next}${key}: ${this.jsonHtml(fileName, v, linker, next)}`;
      }).join(',\n')}\n${indent}}`;
    }
    if (typeof value === 'string') return `<span class="j-str">${esc(JSON.stringify(value))}</span>`;
    if (typeof value === 'number') return `<span class="j-num">${value}</span>`;
    return `<span class="j-lit">${esc(JSON.stringify(value))}</span>`;
  }
}

export function refName(ref: string): string {
  return decodeURIComponent(ref.replace(/^#\/definitions\//, ''));
}

/** Generator artefacts such as `Credentials_1` read as their source type name. */
export function displayName(name: string): string {
  return name.replace(/_\d+$/, '');
}
