// driver-protocol.html and simulator.html: a folder's README rendered as a
// page, with a model-computed example appended where the README has none.
import { esc, type TocEntry } from '../html';
import { codeBlock, renderDocument } from '../markdown';
import type { Site } from '../site';
import { rewriteHref } from './spec';
import { compactJson, type PageBody } from './page';

export function readmePage(
  site: Site,
  file: string,
  markdown: string,
  fallbackTitle: string,
  description: string,
  extra = '',
): PageBody {
  const linker = site.linker.forPage(file);
  const doc = renderDocument(markdown, { linker, rewriteHref }, new Set(['top', 'computed-example']));
  const toc: TocEntry[] = doc.headings
    .filter((h) => h.level === 2 || h.level === 3)
    .map((h) => ({ id: h.id, label: h.text, sub: h.level === 3 }));
  if (extra) toc.push({ id: 'computed-example', label: 'Computed example' });
  return {
    toc,
    description,
    body: `<h1 id="top">${esc(doc.title ?? fallbackTitle)}</h1>\n${doc.html}\n${extra}`,
  };
}

/** The example exchange as JSON lines: what a driver is asked and what it answers. */
export function driverExample(site: Site): string {
  const lines = site.example.slice(0, 10).flatMap((s) => [
    `${compactJson(s.op)}`,
    `${compactJson(s.result)}`,
    ...s.completions.map((c) => compactJson(c)),
  ]);
  return `<section id="computed-example">
<h2>Computed example</h2>
<p>The first steps of the <a href="operations.html#example">example exchange</a>, as the model answers them: each operation, then its result (and any completion it caused). An implementation under test must answer the same, up to the renaming of handles the suite allows (${site.linker.forPage('driver-protocol.html').clause('HANDLE-2')}).</p>
${codeBlock(lines.join('\n'), 'json')}
</section>`;
}
