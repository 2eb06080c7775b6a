// coverage.html: clause -> the tests and conformance cases that cite it,
// uncovered clauses first and prominently.
import { esc, type TocEntry } from '../html';
import type { Citation } from '../coverage';
import type { Site } from '../site';
import type { PageBody } from './page';

function citationItem(c: Citation): string {
  const where = `<code class="path">${esc(c.file)}:${c.line}</code>`;
  return c.title ? `<li>${where} ${esc(c.title)}</li>` : `<li>${where} <span class="muted">mentions it</span></li>`;
}

export function coveragePage(site: Site): PageBody {
  const linker = site.linker.forPage('coverage.html');
  const clauses = site.spec.clauses;
  const by = (id: string, suite: Citation['suite']) => site.refs.get(id)?.citations.filter((c) => c.suite === suite) ?? [];
  const uncovered = clauses.filter((c) => (site.refs.get(c.id)?.citations.length ?? 0) === 0);
  const inTests = clauses.filter((c) => by(c.id, 'test').length > 0).length;
  const inConformance = clauses.filter((c) => by(c.id, 'conformance').length > 0).length;
  const covered = clauses.length - uncovered.length;
  const percent = clauses.length === 0 ? 0 : Math.round((100 * covered) / clauses.length);

  const rows = clauses.map((c) => {
    const tests = by(c.id, 'test');
    const cases = by(c.id, 'conformance');
    const all = [...tests, ...cases];
    const where = all.length === 0 ? '<span class="uncovered">not cited</span>'
      : `<details><summary>${all.length} citation${all.length > 1 ? 's' : ''}</summary><ul class="citations">${all.map(citationItem).join('')}</ul></details>`;
    return `<tr id="${c.id}"${all.length === 0 ? ' class="uncovered-row"' : ''}><td>${linker.clause(c.id)}</td><td>${linker.text(c.title || firstWords(c.text))}</td><td class="num">${tests.length || '<span class="zero">0</span>'}</td><td class="num">${cases.length || '<span class="zero">0</span>'}</td><td>${where}</td></tr>`;
  }).join('\n');

  const toc: TocEntry[] = [
    { id: 'uncovered', label: `Not cited yet (${uncovered.length})` },
    { id: 'matrix', label: 'Clause matrix' },
  ];
  const body = `<h1 id="top">Coverage</h1>
<p class="lead">Which clauses the tests (<code>test/</code>) and the conformance suite (<code>conformance/</code>) check, read from their source: a test or case cites clauses in brackets in its title, as in <code>'a revoked handle fails REVOKED in every peer holding a descendant [REVOKE-1, HANDLE-6]'</code>; any other mention of a clause id in those files is listed as a mention.</p>
<div class="stats">
<div class="stat"><span class="stat-value">${clauses.length}</span><span class="stat-label">clauses</span></div>
<div class="stat"><span class="stat-value">${covered}</span><span class="stat-label">cited (${percent}%)</span></div>
<div class="stat"><span class="stat-value">${inTests}</span><span class="stat-label">cited by tests</span></div>
<div class="stat"><span class="stat-value">${inConformance}</span><span class="stat-label">cited by conformance cases</span></div>
<div class="stat${uncovered.length ? ' warn' : ''}"><span class="stat-value">${uncovered.length}</span><span class="stat-label">not cited yet</span></div>
</div>
<section id="uncovered" class="${uncovered.length ? 'callout warn' : 'callout ok'}">
<h2>Not cited yet</h2>
${uncovered.length === 0 ? '<p>Every clause is cited by at least one test or conformance case.</p>'
    : `<p>No test or conformance case cites these ${uncovered.length} clauses:</p>\n<p class="clause-cloud">${uncovered.map((c) => `<a href="#${c.id}">${esc(c.id)}</a>`).join(' ')}</p>`}
</section>
<h2 id="matrix">Clause matrix</h2>
<div class="table-wrap"><table class="matrix">
<thead><tr><th>Clause</th><th>Title</th><th>Tests</th><th>Conformance</th><th>Where</th></tr></thead>
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
