// The layout is the architecture: every import between parts of the tree is an
// edge of one declared graph (CONTRIBUTING.md draws it), and the graph has no
// cycle. A part is a top-level folder, or one backend under backends/.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** Which parts each part may import. A part missing here may import nothing and be imported by nobody. */
export const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  spec: [],
  native: [],
  protocol: ['spec'],
  model: ['spec'],
  simulator: ['spec', 'model'],
  conformance: ['spec', 'protocol', 'model'],
  'backends/common': ['spec', 'model'],
  'backends/reference': ['spec', 'model', 'backends/common'],
  'backends/shm': ['spec', 'model', 'backends/common', 'native'],
  // The broker can run its bus on the shm backend's engine (ShmBus, in the broker's private memory).
  'backends/broker': ['spec', 'model', 'backends/common', 'native', 'backends/shm'],
  drivers: [
    'spec',
    'protocol',
    'model',
    'backends/common',
    'backends/reference',
    'backends/shm',
    'backends/broker',
    'native',
  ],
  bench: ['spec', 'model', 'simulator', 'backends/common', 'backends/shm', 'backends/broker', 'native'],
  cli: [
    'spec',
    'protocol',
    'model',
    'simulator',
    'conformance',
    'backends/common',
    'backends/reference',
    'backends/shm',
    'backends/broker',
    'drivers',
    'bench',
    'native',
  ],
};

/** The part a repository path belongs to: its top folder, or backends/<name> (backends/common.ts is one too). */
export function partOf(file: string): string {
  const [top, second] = file.split(/[\\/]/);
  if (top !== 'backends' || second === undefined) return top;
  return `backends/${second.replace(/\.ts$/, '')}`;
}

const IMPORT = /(?:from\s+|require\(\s*|import\(\s*|require\.resolve\(\s*)['"](\.[^'"]+)['"]/g;

/** Every import (relative path) that is not an edge of the graph, for files given as path -> text. */
export function importViolations(
  sources: ReadonlyMap<string, string>,
  allowed: Readonly<Record<string, readonly string[]>> = ALLOWED_IMPORTS,
): string[] {
  const wrong: string[] = [];
  for (const [file, text] of sources) {
    const from = partOf(file);
    if (!(from in allowed)) {
      wrong.push(`${file}: its part ${from} is not in the declared graph`);
      continue;
    }
    for (const m of text.matchAll(IMPORT)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
      const to = partOf(target);
      if (to === from || to === 'package.json' || to === 'node_modules') continue;
      if (!allowed[from].includes(to))
        wrong.push(`${file} imports ${m[1]}: ${from} -> ${to} is not an edge of the graph`);
    }
  }
  return wrong;
}

/** The parts of the graph in an order where each comes after everything it imports; throws on a cycle. */
export function topologicalOrder(allowed: Readonly<Record<string, readonly string[]>> = ALLOWED_IMPORTS): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (part: string, trail: string[]): void => {
    if (state.get(part) === 'done') return;
    if (state.get(part) === 'visiting')
      throw new Error(`the import graph has a cycle: ${[...trail, part].join(' -> ')}`);
    state.set(part, 'visiting');
    for (const next of allowed[part] ?? []) visit(next, [...trail, part]);
    state.set(part, 'done');
    order.push(part);
  };
  for (const part of Object.keys(allowed)) visit(part, []);
  return order;
}

function sourceFiles(dir: string): string[] {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  if (fs.statSync(full).isFile()) return dir.endsWith('.ts') ? [dir] : [];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? sourceFiles(path.posix.join(dir, e.name))
        : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
          ? [path.posix.join(dir, e.name)]
          : [],
    );
}

/** Every TypeScript source of the tree outside test/, docs/ and generated or installed folders. */
function treeSources(): Map<string, string> {
  const skip = new Set(['test', 'docs', 'dist', 'node_modules', 'coverage', '.nyc_output', 'test-artifacts', '.git']);
  const files = fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !skip.has(e.name) && !e.name.startsWith('.'))
    .flatMap((e) => sourceFiles(e.name));
  return new Map(files.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
}

describe('architecture', () => {
  it('every import between parts of the tree is an edge of the declared graph, and the graph has no cycle [ERR-2]', () => {
    const sources = treeSources();
    assert.ok(sources.size > 100, `only ${sources.size} sources found`);
    assert.deepEqual(importViolations(sources), []);
    const order = topologicalOrder();
    assert.equal(order[0], 'spec');
    assert.equal(order[order.length - 1], 'cli');
  });

  it('an import outside the graph is reported: a backend importing the suite, or one backend another [ERR-2]', () => {
    const sources = new Map([
      ['backends/shm/core.ts', "import { Driver } from '../../protocol/driver';\nimport { x } from '../reference';"],
      ['backends/reference/index.ts', "import type { Case } from '../../conformance/cases';"],
      ['drivers/shm.ts', "import { ShmBus } from '../backends/shm';"],
      ['widgets/index.ts', "import { step } from '../model';"],
    ]);
    assert.deepEqual(importViolations(sources), [
      'backends/shm/core.ts imports ../../protocol/driver: backends/shm -> protocol is not an edge of the graph',
      'backends/shm/core.ts imports ../reference: backends/shm -> backends/reference is not an edge of the graph',
      'backends/reference/index.ts imports ../../conformance/cases: backends/reference -> conformance is not an edge of the graph',
      'widgets/index.ts: its part widgets is not in the declared graph',
    ]);
    assert.throws(() => topologicalOrder({ a: ['b'], b: ['c'], c: ['a'] }), /cycle: a -> b -> c -> a/);
  });

  it('the model and simulator never read the wall clock or Math.random [TIME-1]', () => {
    const offenders: string[] = [];
    for (const file of [...sourceFiles('model'), ...sourceFiles('simulator')]) {
      if (file.includes('sweep') || file.includes('calibrat') || file.includes('cli')) continue;
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\/.*$/gm, '');
      if (/Math\.random\(|Date\.now\(|performance\.now\(|setTimeout\(|setInterval\(/.test(text)) offenders.push(file);
    }
    assert.deepEqual(offenders, []);
  });
});
