// Generate JSON Schemas from TypeScript types with typescript-json-schema.
// The list of (source, types, output) is data so other folders (protocol,
// conformance, simulator) register their wire types here too; `npm run schemas` writes them
// and test/spec/schema.test.ts fails when a committed schema is stale.
import * as path from 'path';
import * as fs from 'fs';
import * as TJS from 'typescript-json-schema';

export interface SchemaTarget {
  /** Source file, relative to the repository root. */
  source: string;
  /** Root type names; each becomes one schema file <out>/<Type>.json. */
  types: string[];
  /** Output folder, relative to the repository root. */
  out: string;
}

export const SCHEMA_TARGETS: SchemaTarget[] = [
  {
    source: 'spec/types.ts',
    types: ['Operation', 'Invocation', 'Completion', 'Delivery', 'Result', 'Limits', 'Credentials', 'ErrorCode'],
    out: 'spec/schema',
  },
  {
    source: 'simulator/types.ts',
    types: [
      'Scenario',
      'Profile',
      'Sweep',
      'SimResults',
      'SweepResults',
      'CompareResults',
      'ScaleStudy',
      'ScaleStudyResults',
    ],
    out: 'simulator/schema',
  },
  {
    source: 'protocol/wire.ts',
    types: ['DriverRequest', 'DriverResponse'],
    out: 'protocol/schema',
  },
  {
    source: 'conformance/report-types.ts',
    types: ['ConformanceReport'],
    out: 'conformance/schema',
  },
];

const SETTINGS: TJS.PartialArgs = {
  required: true,
  noExtraProps: true,
  strictNullChecks: true,
  ref: true,
  aliasRef: true,
  topRef: false,
  titles: false,
  defaultProps: false,
  propOrder: false,
};

type Json = Record<string, any>;

/**
 * Unions of tagged objects become `oneOf` with a `discriminator` on the tag, so
 * ajv (with `discriminator: true`) reports one clear error for a bad input
 * instead of one per member. Such a union also says `"type": "object"`: ajv's
 * discriminator passes over anything that is not an object, so without it
 * `null`, `[1,2]`, `42`, `"x"` or `true` would be accepted as a member.
 */
function discriminate(schema: Json): void {
  const defs: Json = schema.definitions ?? {};
  const resolve = (s: Json): Json =>
    typeof s.$ref === 'string' ? (defs[s.$ref.replace('#/definitions/', '')] ?? s) : s;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const n = node as Json;
    if (Array.isArray(n.anyOf)) {
      const members = n.anyOf.map(resolve);
      const first = members[0]?.properties ?? {};
      const tag = Object.keys(first).find((key) =>
        members.every((m: Json) => typeof m.properties?.[key]?.const === 'string' && (m.required ?? []).includes(key)),
      );
      if (tag) {
        n.type = 'object';
        n.oneOf = n.anyOf;
        delete n.anyOf;
        n.discriminator = { propertyName: tag };
      }
    }
    Object.values(n).forEach(visit);
  };
  visit(schema);
}

/** Generate every schema of the targets; returns path -> JSON text. */
export function generateSchemas(root: string, targets: SchemaTarget[] = SCHEMA_TARGETS): Map<string, string> {
  const out = new Map<string, string>();
  for (const target of targets) {
    const program = TJS.getProgramFromFiles(
      [path.join(root, target.source)],
      { strict: true, strictNullChecks: true, skipLibCheck: true },
      root,
    );
    const generator = TJS.buildGenerator(program, SETTINGS);
    if (!generator) throw new Error(`typescript-json-schema could not read ${target.source}`);
    for (const type of target.types) {
      const schema = generator.getSchemaForSymbol(type) as Json;
      discriminate(schema);
      schema.$id = `https://tessera.dev/${target.out}/${type}.json`;
      out.set(path.join(target.out, `${type}.json`), JSON.stringify(schema, null, 2) + '\n');
    }
  }
  return out;
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..', '..');
  const files = generateSchemas(root);
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
    console.log(`wrote ${file}`);
  }
}
