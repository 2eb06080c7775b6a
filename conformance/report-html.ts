// The report as one HTML page, as WPT shows results: the verdict, a table of
// levels, then per level its cases (each with its steps: the operation, the
// model's result and the driver's own JSON), every failure with its diagnosis,
// clauses, replay line and transcript link; the properties, with the shrunk
// counterexample and, for a concurrent failure, the timeline of the smallest
// failing history; and per clause, what exercised it. Self-contained: no script,
// no remote resource.
import type { ConformanceReport, ReportCase, ReportProperty, ReportStep } from './report-types';
import { LEVELS, levelOfClause } from './levels';
import { loadClauses } from '../spec/clauses';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
.status { font-weight: 600; white-space: nowrap; } .status.pass { color: #1a7f37; } .status.fail, .status.error { color: #c0392b; } .status.unsupported, .status.not-run, .status.skipped { color: #888; }
tr.fail td, tr.error td { background: #fdf0ef; } code, pre { font: 12px/1.4 ui-monospace, monospace; } pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .2rem 0; }
.verdict { font-size: 1.1rem; padding: .6rem .8rem; border-radius: 4px; background: #f3f3f3; } .verdict.pass { background: #e6f4ea; } .verdict.fail, .verdict.error { background: #fdecea; }
details > summary { cursor: pointer; } .steps td.driver { color: #555; } tr.differs td { background: #fff3cd; }
.replay { background: #f6f8fa; padding: .3rem .5rem; display: block; } .clauses a { margin-right: .3rem; }
.uncovered { color: #c0392b; } svg.timeline { max-width: 100%; height: auto; border: 1px solid #eee; }
`;

function stepsTable(steps: ReportStep[]): string {
  const rows = steps.map(
    (s) =>
      `<tr class="step${s.differs ? ' differs' : ''}"><td>${s.index}</td><td><code>${esc(s.op)}</code></td><td><code>${esc(s.model)}</code></td>` +
      `<td class="driver"><code>${esc(s.driver === undefined ? '(no answer)' : JSON.stringify(s.driver))}</code>${(s.driverCompletions ?? []).map((c) => `<br><code>completion ${esc(JSON.stringify(c))}</code>`).join('')}</td></tr>`,
  );
  return `<table class="steps"><thead><tr><th>#</th><th>operation (model names)</th><th>model</th><th>driver (its JSON)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const clauseLinks = (ids: string[]) =>
  `<span class="clauses">${ids.map((id) => `<a href="#clause-${esc(id)}">${esc(id)}</a>`).join(' ')}</span>`;

function failureBlock(x: {
  diagnosis?: { summary: string; details: string[]; clauses: string[] };
  message?: string;
  replay?: string;
  transcript?: string;
}): string {
  const parts: string[] = [];
  if (x.diagnosis)
    parts.push(
      `<p class="diagnosis"><strong>${esc(x.diagnosis.summary)}</strong> ${clauseLinks(x.diagnosis.clauses)}</p>`,
      x.diagnosis.details.length ? `<pre>${esc(x.diagnosis.details.join('\n'))}</pre>` : '',
    );
  else if (x.message)
    parts.push(`<pre class="message">${esc(x.message.split('\noperations (model results')[0])}</pre>`);
  if (x.replay) parts.push(`<code class="replay">${esc(x.replay)}</code>`);
  if (x.transcript)
    parts.push(`<p><a class="transcript" href="${esc(x.transcript)}">transcript (the wire exchange)</a></p>`);
  return parts.join('\n');
}

function caseRow(c: ReportCase): string {
  const open = c.status === 'fail' || c.status === 'error' ? ' open' : '';
  const body =
    c.status === 'unsupported'
      ? `<p>needs ${esc((c.missing ?? []).join(', '))}</p>`
      : `${failureBlock(c)}${c.trace?.length ? stepsTable(c.trace) : ''}`;
  return (
    `<tr class="case ${c.status}" data-case="${esc(c.id)}" data-status="${c.status}"><td class="status ${c.status}">${c.status.toUpperCase()}</td>` +
    `<td><details${open}><summary><code>${esc(c.id)}</code> ${esc(c.title)}</summary>${body}</details></td><td>${clauseLinks(c.clauses)}</td></tr>`
  );
}

function propertySection(p: ReportProperty, timeline: string | undefined): string {
  const conditions = p.conditions
    ? `<pre>${esc(
        [
          `limits in force: ${Object.entries(p.conditions.limits)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
          `enabled: ${p.conditions.peers ?? '?'} peers; operations ${p.conditions.operations.join(', ')}; faults ${p.conditions.faults.join(', ') || '(none)'}`,
          ...(p.conditions.drivenTo ? [`driven to ${p.conditions.drivenTo}`] : []),
        ].join('\n'),
      )}</pre>`
    : '';
  return `<section class="property ${p.status}" data-property="${esc(p.name)}" data-status="${p.status}">
<h3>property ${esc(p.name)}: <span class="status ${p.status}">${p.status.toUpperCase()}</span> after ${p.runs} runs (seed ${p.seed}), ${p.steps} operations</h3>
${p.status === 'fail' || p.status === 'error' ? failureBlock(p) : ''}
${conditions}
${p.trace?.length ? `<details open><summary>counterexample (${p.notShrunk ? 'as found' : 'shrunk'}), ${p.trace.length} steps</summary>${stepsTable(p.trace)}</details>` : ''}
${!p.trace?.length && p.counterexample?.length ? `<details open><summary>smallest failing history</summary><pre>${esc(p.counterexample.join('\n'))}</pre></details>` : ''}
${timeline ? `<figure>${timeline}<figcaption>${p.timeline ? `<a href="${esc(p.timeline)}">timeline.svg</a>: ` : ''}one lane per client; numbers: the order of the longest linearization; red: the operation that cannot be placed</figcaption></figure>` : ''}
</section>`;
}

/** The report page; `timeline` is the SVG of a concurrent failure, inlined. */
export function reportHtml(r: ConformanceReport, o: { timeline?: string } = {}): string {
  const impl = r.implementation;
  const titles = new Map(loadClauses().map((c) => [c.id, c.title]));
  const levelRows = r.levels.map(
    (l) =>
      `<tr class="level ${l.status}" data-level="${l.name}" data-status="${l.status}"><td><a href="#level-${l.name}">${l.name}</a></td><td class="status ${l.status}">${l.status.toUpperCase()}</td>` +
      `<td>${esc(l.summary)}</td><td>${l.cases.passed}/${l.cases.total}${l.cases.unsupported ? ` (${l.cases.unsupported} unsupported)` : ''}</td>` +
      `<td>${l.clauses.covered}/${l.clauses.ids.length}</td><td>${esc(l.status === 'fail' ? `failed: ${l.failures.join(', ')}` : l.missing.length ? `needs ${l.missing.join(', ')}${l.unlock ? `: ${l.unlock}` : ''}` : (l.unlock ?? ''))}</td></tr>`,
  );
  const levelSections = LEVELS.map((level) => {
    const cases = r.cases.filter((c) => c.levels[0] === level.name);
    if (!cases.length) return '';
    return `<section id="level-${level.name}" class="level-cases"><h2>${level.name}: ${cases.length} cases</h2><table><tbody>${cases.map(caseRow).join('\n')}</tbody></table></section>`;
  });
  const clauseRows = r.coverage.clauses.map(
    (c) =>
      `<tr id="clause-${esc(c.id)}" class="clause${c.cases + c.caseSteps + c.propertySteps === 0 ? ' uncovered' : ''}"><td><code>${esc(c.id)}</code></td><td>${esc(titles.get(c.id) ?? '')}</td><td>${levelOfClause(c.id)}</td><td>${c.cases}</td><td>${c.caseSteps}</td><td>${c.propertySteps}</td></tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tessera conformance: ${esc(impl?.name ?? 'no implementation')}</title><style>${CSS}</style></head>
<body>
<h1>tessera conformance: ${esc(impl ? `${impl.name} (${impl.driver}), protocol ${impl.protocolVersion}` : 'no implementation')}</h1>
<p class="verdict ${r.status}" id="verdict">${esc(r.verdict)}</p>
<p>${impl ? `operations: ${esc(impl.operations.join(', '))}; features: ${esc(impl.features.join(', ') || 'none')}. ` : ''}Started ${esc(r.startedAt)}, ${(r.durationMs / 1000).toFixed(1)} s.</p>
${r.driverError ? `<h2>driver error</h2><pre class="driver-error">${esc(r.driverError)}</pre>` : ''}
<h2>levels</h2>
<table id="levels"><thead><tr><th>level</th><th>status</th><th>covers</th><th>cases passed</th><th>clauses exercised</th><th></th></tr></thead><tbody>${levelRows.join('\n')}</tbody></table>
${levelSections.join('\n')}
<h2>properties</h2>
${r.properties.length ? r.properties.map((p) => propertySection(p, p.name === 'linearizability' ? o.timeline : undefined)).join('\n') : '<p>not run</p>'}
<h2>clauses</h2>
<table id="clauses"><thead><tr><th>clause</th><th>title</th><th>level</th><th>cases</th><th>case steps</th><th>property steps</th></tr></thead><tbody>${clauseRows.join('\n')}</tbody></table>
</body></html>
`;
}
