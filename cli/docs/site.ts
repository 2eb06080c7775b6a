// Everything the pages are generated from, read once: the spec's clauses, the
// registries, the model's rules and lifecycles, the schemas, the citations in
// tests and conformance cases, and a model-computed example exchange. Also
// the cross-references from each clause to everything that cites it.
import * as fs from 'fs';
import * as path from 'path';
import { ERRORS } from '../../spec/registry/errors';
import { LIMITS } from '../../spec/registry/limits';
import { NOTICES } from '../../spec/registry/notices';
import { OPERATIONS } from '../../spec/registry/operations';
import { RULES } from '../../model/rules';
import { type Citation, scanCitations } from './coverage';
import { type Lifecycle, readLifecycles } from './diagrams';
import { type ExampleStep, runExample } from './example';
import { CLAUSE_ID_PATTERN, Linker, type PageInfo } from './html';
import { Schemas } from './schemas';
import { TOUR_STEPS } from '../tour';
import { hasScaleStudy } from './pages/scale-study';
import { type SpecSource, loadSpec } from './spec-source';

export interface ClauseRefs {
  operations: string[];
  /** Model checks (guards): operation and 1-based position. */
  checks: { op: string; index: number }[];
  errors: string[];
  notices: string[];
  limits: string[];
  /** Lifecycle states whose description cites the clause: `machine.state`. */
  states: { lifecycle: string; state: string }[];
  citations: Citation[];
}

export interface Site {
  root: string;
  spec: SpecSource;
  clauseIds: ReadonlySet<string>;
  linker: Linker;
  schemas: Schemas;
  lifecycles: Lifecycle[];
  citations: Citation[];
  example: ExampleStep[];
  /** conformance/README.md, when the conformance suite has one. */
  conformanceReadme: string | null;
  /** simulator/README.md, when the simulator has landed with a scenario schema. */
  simulatorReadme: string | null;
  refs: Map<string, ClauseRefs>;
  pages: PageInfo[];
}

function readIfExists(file: string): string | null {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
}

function idsIn(text: string): string[] {
  return text.match(CLAUSE_ID_PATTERN) ?? [];
}

function collectRefs(site: Omit<Site, 'refs' | 'pages'>): Map<string, ClauseRefs> {
  const refs = new Map<string, ClauseRefs>();
  for (const c of site.spec.clauses) {
    refs.set(c.id, { operations: [], checks: [], errors: [], notices: [], limits: [], states: [], citations: [] });
  }
  const add = <K extends keyof ClauseRefs>(id: string, key: K, value: ClauseRefs[K][number]) => {
    const r = refs.get(id);
    if (!r) return;
    const list = r[key] as unknown[];
    if (!list.some((v) => JSON.stringify(v) === JSON.stringify(value))) list.push(value);
  };
  for (const op of OPERATIONS) for (const id of op.clauses) add(id, 'operations', op.name);
  for (const op of OPERATIONS) {
    (RULES[op.name] ?? []).forEach((rule, i) => {
      for (const id of new Set([rule.clause, ...idsIn(rule.says)])) add(id, 'checks', { op: op.name, index: i + 1 });
    });
  }
  for (const e of ERRORS) for (const id of e.clauses) add(id, 'errors', e.code);
  for (const n of NOTICES) for (const id of n.clauses) add(id, 'notices', n.type);
  for (const l of LIMITS) for (const id of l.clauses) add(id, 'limits', l.name);
  for (const lc of site.lifecycles) {
    for (const s of lc.states) for (const id of idsIn(s.description)) add(id, 'states', { lifecycle: lc.name, state: s.name });
  }
  for (const c of site.citations) refs.get(c.clause)?.citations.push(c);
  return refs;
}

function pagesOf(site: Omit<Site, 'refs' | 'pages'>): PageInfo[] {
  const pages: PageInfo[] = [
    { file: 'index.html', title: 'Overview', group: 'Overview', blurb: 'What Tessera is and a map of this site.' },
    {
      file: 'tutorial.html',
      title: 'Tutorial',
      group: 'Overview',
      blurb: `The protocol's story in ${TOUR_STEPS.length} steps, each a sequence diagram of a real run: introductions, a delegated reply, revocation, a node's death.`,
    },
    { file: 'spec.html', title: 'Specification', group: 'Protocol', blurb: `The prose spec: ${site.spec.clauses.length} clauses in ${site.spec.families.length} families, each anchored by its id.` },
    { file: 'operations.html', title: 'Operations', group: 'Protocol', blurb: `The ${OPERATIONS.length} operations: arguments, result, the model's ordered checks, every error, and a computed example.` },
    { file: 'lifecycles.html', title: 'Lifecycles', group: 'Protocol', blurb: `State diagrams of the ${site.lifecycles.length} lifecycle machines of the model.` },
    { file: 'errors.html', title: 'Errors', group: 'Reference', blurb: `The ${ERRORS.length} error codes, their causes and the operations that return them.` },
    { file: 'notices.html', title: 'Notices', group: 'Reference', blurb: `The ${NOTICES.length} notices the bus sends, to whom and when.` },
    { file: 'limits.html', title: 'Limits', group: 'Reference', blurb: `The ${LIMITS.length} limits a bus is created with, and their defaults.` },
    { file: 'schemas.html', title: 'JSON Schemas', group: 'Reference', blurb: `${site.schemas.files.length} JSON Schemas and their ${site.schemas.types.length} types, generated from the TypeScript types.` },
  ];
  if (site.conformanceReadme !== null) {
    pages.push({ file: 'driver-protocol.html', title: 'Driver protocol', group: 'Implementers', blurb: 'How the conformance suite drives an implementation over JSON lines on stdio, with a transcript of a real exchange.' });
  }
  if (site.simulatorReadme !== null) {
    pages.push({ file: 'simulator.html', title: 'Simulator', group: 'Implementers', blurb: 'The simulator: a first scenario and a derived profile, how to run it, the bundled transports compared.' });
    pages.push({ file: 'simulator-reference.html', title: 'Simulator reference', group: 'Implementers', blurb: 'Every field of scenarios, profiles, sweeps and studies with type, unit, default and example; the step language, faults, the bus lock, metrics, the trace format.' });
    if (hasScaleStudy(site.root)) pages.push({ file: 'scale-study.html', title: 'Scale study', group: 'Implementers', blurb: 'Each transport design at 2 to 256 simulated cores: where it stops scaling, and why.' });
  }
  const cited = new Set(site.citations.filter((c) => c.kind === 'citation' && c.suite !== 'mutant').map((c) => c.clause)).size;
  pages.push({ file: 'coverage.html', title: 'Coverage', group: 'Implementers', blurb: `Clause by clause, the tests and conformance cases that cite it: ${cited} of ${site.spec.clauses.length} cited.` });
  return pages;
}

/** A simulator page needs the simulator and its scenario schema. */
function simulatorReadme(root: string): string | null {
  const dir = path.join(root, 'simulator');
  if (!fs.existsSync(dir)) return null;
  const hasScenarioSchema = ['schema', 'schemas'].some((d) => {
    const p = path.join(dir, d);
    return fs.existsSync(p) && fs.readdirSync(p).some((f) => /scenario/i.test(f) && f.endsWith('.json'));
  });
  if (!hasScenarioSchema) return null;
  return readIfExists(path.join(dir, 'README.md')) ?? '';
}

export function loadSite(root: string): Site {
  const spec = loadSpec(root);
  const clauseIds = new Set(spec.clauses.map((c) => c.id));
  const base = {
    root,
    spec,
    clauseIds,
    linker: new Linker(clauseIds, 'index.html'),
    schemas: new Schemas(root),
    lifecycles: readLifecycles(),
    citations: scanCitations(root, clauseIds),
    example: runExample(),
    conformanceReadme: readIfExists(path.join(root, 'conformance', 'README.md')),
    simulatorReadme: simulatorReadme(root),
  };
  return { ...base, refs: collectRefs(base), pages: pagesOf(base) };
}
