// coverage.html: clause -> the tests, conformance cases and mutants that cite
// it; clauses no test or case cites come first and prominently.
import { esc, type TocEntry } from '../html';
import type { Citation, Suite } from '../coverage';
import type { Site } from '../site';
import type { PageBody } from './page';

const SUITE_LABEL: Record<Suite, string> = { test: 'test', conformance: 'case', mutant: 'mutant' };

function citationItem(c: Citation): string {
  // No line numbers: the page should change only when what cites a clause changes.
  const where = `<code class="path">${esc(c.file)}</code>`;
  const label = `<span class="suite suite-${c.suite}">${SUITE_LABEL[c.suite]}</span>`;
  if (c.kind === 'mention') return `<li>${label} ${where} <span class="muted">mentions it</span></li>`;
  return `<li>${label} ${c.name ? `<code>${esc(c.name)}</code> ` : ''}${esc(c.title)} ${where}</li>`;
}

export function coveragePage(site: Site): PageBody {
  const linker = site.linker.forPage('coverage.html');
  const clauses = site.spec.clauses;
  const cites = (id: string) => site.refs.get(id)?.citations ?? [];
  const count = (id: string, suite: Suite) => cites(id).filter((c) => c.kind === 'citation' && c.suite === suite).length;
  const isCovered = (id: string) => count(id, 'test') + count(id, 'conformance') > 0;
  const uncovered = clauses.filter((c) => !isCovered(c.id));
  const mentionedOnly = uncovered.filter((c) => cites(c.id).length > 0);
  const byTests = clauses.filter((c) => count(c.id, 'test') > 0).length;
  const byCases = clauses.filter((c) => count(c.id, 'conformance') > 0).length;
  const byMutants = clauses.filter((c) => count(c.id, 'mutant') > 0).length;
  const covered = clauses.length - uncovered.length;
  const percent = clauses.length === 0 ? 0 : Math.round((100 * covered) / clauses.length);
  const cell = (n: number) => `<td class="num">${n || '<span class="zero">0</span>'}</td>`;

  const rows = clauses.map((c) => {
    const all = cites(c.id).filter((x, i, list) => x.kind === 'citation' || list.findIndex((y) => y.kind === 'mention' && y.file === x.file) === i);
    const where = all.length === 0 ? '<span class="uncovered">nothing cites it</span>'
      : `<details><summary>${all.length} reference${all.length > 1 ? 's' : ''}</summary><ul class="citations">${all.map(citationItem).join('')}</ul></details>`;
    return `<tr id="${c.id}"${isCovered(c.id) ? '' : ' class="uncovered-row"'}><td>${linker.clause(c.id)}</td><td>${linker.text(c.title || firstWords(c.text))}</td>${cell(count(c.id, 'test'))}${cell(count(c.id, 'conformance'))}${cell(count(c.id, 'mutant'))}<td>${where}</td></tr>`;
  }).join('\n');

  const cloud = (list: typeof clauses) => `<p class="clause-cloud">${list.map((c) => `<a href="#${c.id}" title="${esc(c.title)}">${esc(c.id)}</a>`).join(' ')}</p>`;
  const toc: TocEntry[] = [
    { id: 'uncovered', label: `Not cited yet (${uncovered.length})` },
    { id: 'matrix', label: 'Clause matrix' },
  ];
  const body = `<h1 id="top">Coverage</h1>
<p class="lead">Which clauses the tests (<code>test/</code>) and the conformance suite (<code>conformance/</code>) check. A test cites clauses in brackets in its title, as in <code>'a revoked handle fails REVOKED in every peer holding a descendant [REVOKE-1, HANDLE-6]'</code>; a conformance case lists them in its <code>clauses</code>; a mutant (a deliberately wrong implementation the suite must reject) names the clauses it breaks. Other occurrences of a clause id in those sources are listed as mentions and do not count as coverage.</p>
<div class="stats">
<div class="stat"><span class="stat-value">${clauses.length}</span><span class="stat-label">clauses</span></div>
<div class="stat"><span class="stat-value">${covered}</span><span class="stat-label">cited (${percent}%)</span></div>
<div class="stat"><span class="stat-value">${byTests}</span><span class="stat-label">cited by tests</span></div>
<div class="stat"><span class="stat-value">${byCases}</span><span class="stat-label">cited by conformance cases</span></div>
<div class="stat"><span class="stat-value">${byMutants}</span><span class="stat-label">broken by a mutant</span></div>
<div class="stat${uncovered.length ? ' warn' : ''}"><span class="stat-value">${uncovered.length}</span><span class="stat-label">not cited yet</span></div>
</div>
<section id="uncovered" class="${uncovered.length ? 'callout warn' : 'callout ok'}">
<h2>Not cited yet</h2>
${uncovered.length === 0 ? '<p>Every clause is cited by at least one test or conformance case.</p>'
    : `<p>No test or conformance case cites these ${uncovered.length} clauses${mentionedOnly.length ? ` (${mentionedOnly.length} of them are mentioned in test or suite code)` : ''}:</p>\n${cloud(uncovered)}`}
</section>
<h2 id="matrix">Clause matrix</h2>
<div class="table-wrap"><table class="matrix">
<thead><tr><th>Clause</th><th>Title</th><th class="align-right">Tests</th><th class="align-right">Cases</th><th class="align-right">Mutants</th><th>Where</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`;
  return { toc, description: 'Which Tessera clauses the tests and conformance cases check.', body };
}

function firstWords(markdown: string): string {
  const text = markdown.replace(/[`*]/g, '').replace(/\s+/g, ' ').trim();
  return text.length <= 80 ? text : `${text.slice(0, 77).replace(/\s+\S*$/, '')}…`;
}
