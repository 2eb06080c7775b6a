// Inputs for the scenario and profile fuzz target: a bundled file (or a small script) with
// one to four mutations at random places, each a value a careless or hostile author could
// write (bounds and one past them, huge, negative, fractional, wrong types, misspelled
// names, deep nesting, unknown keys, removed or duplicated entries), and now and then a
// broken text. Near-valid inputs reach the static checks and the engine, not only the schema.
import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const NUMBERS = [
  0,
  -1,
  1,
  2,
  3,
  0.5,
  1.5,
  7,
  16,
  64,
  1000,
  1023,
  1024,
  1025,
  4096,
  4097,
  65536,
  65537,
  1e5,
  1e6,
  5e6,
  1e7,
  1e7 + 1,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53 - 1,
  2 ** 53,
  1e10,
  1e12,
  1e12 + 1,
  1e15,
  1e18,
  1e300,
  -1e300,
  86_400_000,
  86_400_001,
  16_777_216,
  16_777_217,
  0.001,
  999,
];
const STRINGS = [
  '',
  'x',
  'svc',
  'scv',
  'server',
  'client',
  'server.svc',
  'server.scv',
  'a.b',
  'inbox',
  'g',
  '0x5eed',
  '-1',
  'x'.repeat(200),
  'close',
  'revoke',
  'send',
];
const STEPS: Json[] = [
  { do: 'compute', ns: 1000 },
  { do: 'sleep', ns: 5000 },
  { do: 'repeat', times: 3, body: [] },
  { do: 'repeat', times: 1e7, body: [] },
  { do: 'receive' },
  { do: 'receive', bind: ['h'] },
  { do: 'send', to: 'svc', bytes: 8 },
  { do: 'call', to: 'svc', bytes: 8, timeoutMs: 1 },
  { do: 'reply', bytes: 1 },
  { do: 'serve' },
  { do: 'mint', from: 'svc', as: 'm', rights: ['send'] },
  { do: 'revoke', handle: 'svc' },
  { do: 'release', handle: 'svc' },
  { do: 'destroyNode', handle: 'svc' },
  { do: 'close' },
  { do: 'multicast', to: ['svc', 'svc'], bytes: 4 },
];

/** Nested arrays or repeats `depth` levels deep. */
function deep(depth: number, repeat: boolean): Json {
  let v: Json = repeat ? { do: 'compute', ns: 1 } : 0;
  for (let i = 0; i < depth; i++) v = repeat ? { do: 'repeat', times: 2, body: [v] } : [v];
  return v;
}

const replacement: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 2, arbitrary: fc.integer({ min: -10, max: 5000 }) },
  { weight: 3, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}) },
  { weight: 3, arbitrary: fc.constantFrom(...STEPS) },
  { weight: 1, arbitrary: fc.constantFrom(8, 17, 70, 1000).chain((d) => fc.boolean().map((r) => deep(d, r))) },
);

/** Every place in a value: paths of keys and array elements. */
function paths(value: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) {
    const p = [...at, Array.isArray(value) ? Number(k) : k];
    out.push(p);
    paths(v, p, out);
  }
  return out;
}

type Mutation = { path: (string | number)[]; op: 'set' | 'delete' | 'duplicate' | 'add-key'; value: Json };

function apply(base: Json, mutations: Mutation[]): Json {
  const root = structuredClone(base);
  for (const m of mutations) {
    let parent: any = root;
    for (const k of m.path.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object' || !(k in parent)) {
        parent = null;
        break;
      }
      parent = parent[k];
    }
    if (parent === null || typeof parent !== 'object') continue;
    const last = m.path[m.path.length - 1];
    if (m.op === 'set') parent[last] = m.value;
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (m.op === 'duplicate' && Array.isArray(parent) && Number(last) < parent.length)
      parent.splice(Number(last), 0, structuredClone(parent[Number(last)]));
    else if (m.op === 'add-key' && !Array.isArray(parent)) parent[`extra${String(last)}`] = m.value;
  }
  return root;
}

/** The value at a path. */
function at(value: Json, path: (string | number)[]): Json {
  let v: any = value;
  for (const k of path) v = v[k];
  return v as Json;
}

/**
 * The JSON text of a base with 1 to 4 mutations; sometimes cut short or with a stray byte.
 * Most mutations keep the type (a number for a number, a name for a name, a step for a
 * step), so the input gets past the schema's types to its bounds, the static checks and the
 * engine; a few put anything anywhere.
 */
export function mutatedText(bases: Json[]): fc.Arbitrary<string> {
  return fc.constantFrom(...bases).chain((base) => {
    const places = paths(base);
    const numbers = places.filter((p) => typeof at(base, p) === 'number');
    const strings = places.filter((p) => typeof at(base, p) === 'string');
    const steps = places.filter((p) => {
      const v = at(base, p);
      return typeof v === 'object' && v !== null && !Array.isArray(v) && 'do' in v;
    });
    const pick = (list: (string | number)[][]) => fc.constantFrom(...(list.length ? list : places));
    const set = (list: (string | number)[][], value: fc.Arbitrary<Json>) =>
      fc.record({ path: pick(list), op: fc.constant<Mutation['op']>('set'), value });
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      {
        weight: 10,
        arbitrary: set(numbers, fc.oneof(fc.constantFrom(...NUMBERS), fc.integer({ min: -10, max: 5000 }))),
      },
      { weight: 3, arbitrary: set(strings, fc.constantFrom(...STRINGS)) },
      { weight: 3, arbitrary: set(steps, fc.constantFrom(...STEPS)) },
      {
        weight: 2,
        arbitrary: fc.record({
          path: pick(steps),
          op: fc.constant<Mutation['op']>('duplicate'),
          value: fc.constant(null),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          path: pick(places),
          op: fc.constant<Mutation['op']>('delete'),
          value: fc.constant(null),
        }),
      },
      { weight: 1, arbitrary: set(places, replacement) },
      {
        weight: 1,
        arbitrary: fc.record({ path: pick(places), op: fc.constant<Mutation['op']>('add-key'), value: replacement }),
      },
    );
    return fc
      .tuple(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 59 }), fc.nat())
      .map(([ms, textFault, pos]) => {
        const text = JSON.stringify(apply(base, ms));
        if (textFault === 0) return text.slice(0, pos % Math.max(1, text.length));
        if (textFault === 1) return text.slice(0, pos % text.length) + '\u0000' + text.slice(pos % text.length);
        return text;
      });
  });
}
