// `tessera conformance --list`: the levels (what each needs, what it owns) and
// the cases (their levels, clauses and titles), so a selection can be made
// before anything runs.
import type { Case } from './cases';
import { LEVELS, casesOfLevel, levelOfClause, levelsOfCase } from './levels';
import { loadClauseIds } from './coverage';

export function formatListing(cases: readonly Case[]): string {
  const ids = loadClauseIds();
  const lines = ['conformance levels (a case belongs to every level whose operations or features it needs):'];
  const width = Math.max(...LEVELS.map((l) => l.name.length));
  for (const l of LEVELS) {
    const needs = [...l.operations.map((o) => `operation ${o}`), ...l.features.map((f) => `feature ${f}`)];
    const clauses = ids.filter((id) => levelOfClause(id) === l.name).length;
    lines.push(
      `  ${l.name.padEnd(width)}  ${l.summary}`,
      `  ${''.padEnd(width)}  needs ${needs.join(', ') || 'nothing'}; ${casesOfLevel(l.name).length} cases, ${clauses} clauses${l.property ? `; the ${l.property} property (--concurrency K)` : ''}`,
    );
  }
  lines.push('', `cases (${cases.length}):`);
  const idWidth = Math.max(...cases.map((c) => c.id.length));
  for (const c of cases)
    lines.push(
      `  ${c.id.padEnd(idWidth)}  ${levelsOfCase(c).join('+').padEnd(22)} [${c.clauses.join(', ')}] ${c.title}`,
    );
  return lines.join('\n');
}
