import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { CLAUSE_ID, loadClauses } from '../../spec/clauses';
import { ERRORS } from '../../spec/registry/errors';
import { OPERATIONS } from '../../spec/registry/operations';
import { NOTICES } from '../../spec/registry/notices';
import { LIMITS } from '../../spec/registry/limits';
import { RULES } from '../../model/rules';

const ROOT = path.join(__dirname, '..', '..', '..');
const SOURCE_DIRS = ['spec', 'model', 'simulator', 'conformance', 'backends', 'bench', 'cli', 'test'];

function sources(dir: string): string[] {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'schema' ? [] : sources(rel);
    return /\.(ts|json|py)$/.test(e.name) ? [rel] : [];
  });
}

describe('the clause registry', () => {
  const clauses = loadClauses();
  const ids = new Set(clauses.map((c) => c.id));

  it('the prose spec has unique clause ids, each with a title and text [ERR-2]', () => {
    assert.ok(clauses.length >= 70, `only ${clauses.length} clauses parsed from spec/spec.md`);
    assert.equal(ids.size, clauses.length, 'duplicate clause ids');
    for (const c of clauses) {
      assert.ok(c.title.length > 0, `${c.id} has no title`);
      assert.ok(c.text.length > 20, `${c.id} has no text`);
    }
  });

  it('every clause id cited in code, tests and registries exists in the spec [ERR-2]', () => {
    const unknown: string[] = [];
    for (const file of SOURCE_DIRS.flatMap(sources)) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(CLAUSE_ID)) if (!ids.has(m[0])) unknown.push(`${file}: ${m[0]}`);
    }
    const registries = [...ERRORS, ...OPERATIONS, ...NOTICES, ...LIMITS].flatMap((e) => e.clauses);
    for (const id of registries) if (!ids.has(id)) unknown.push(`registry: ${id}`);
    for (const rules of Object.values(RULES))
      for (const r of rules) if (!ids.has(r.clause)) unknown.push(`rule: ${r.clause}`);
    assert.deepEqual([...new Set(unknown)], []);
  });

  it('every clause is cited by at least one test [ERR-2]', () => {
    const cited = new Set<string>();
    for (const file of sources('test').concat(sources('conformance'))) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(CLAUSE_ID)) cited.add(m[0]);
    }
    const uncovered = clauses.map((c) => c.id).filter((id) => !cited.has(id));
    assert.deepEqual(uncovered, [], `clauses no test cites: ${uncovered.join(', ')}`);
  });
});
