// driver-protocol.html: the conformance suite's README rendered as a page,
// followed by a wire transcript captured from a real driver when the site is
// generated (cli/docs/transcript.ts).
import { esc, type TocEntry } from '../html';
import { codeBlock, renderDocument } from '../markdown';
import { TRANSCRIPT_COMMAND, type WireExchange } from '../transcript';
import type { Site } from '../site';
import { rewriteHref } from './spec';
import type { PageBody } from './page';

export function readmePage(
  site: Site,
  file: string,
  markdown: string,
  fallbackTitle: string,
  description: string,
  extra = '',
): PageBody {
  const linker = site.linker.forPage(file);
  const doc = renderDocument(markdown, { linker, rewriteHref }, new Set(['top', 'wire-transcript']));
  const toc: TocEntry[] = doc.headings
    .filter((h) => h.level === 2 || h.level === 3)
    .map((h) => ({ id: h.id, label: h.text, sub: h.level === 3 }));
  if (extra) toc.push({ id: 'wire-transcript', label: 'Wire transcript' });
  return {
    toc,
    description,
    body: `<h1 id="top">${esc(doc.title ?? fallbackTitle)}</h1>\n${doc.html}\n${extra}`,
  };
}

/** The transcript section: each request, then every line the driver wrote in answer. */
export function transcriptSection(site: Site, exchanges: readonly WireExchange[]): string {
  const linker = site.linker.forPage('driver-protocol.html');
  const rows = exchanges
    .map(
      (e, i) => `<li id="wire-${i + 1}"><p class="wire-note">${esc(e.note)}</p>
${codeBlock([`→ ${e.request}`, ...e.responses.map((r) => `← ${r}`)].join('\n'), 'jsonl')}</li>`,
    )
    .join('\n');
  return `<section id="wire-transcript">
<h2>Wire transcript</h2>
<p>A real session of this protocol, captured from <code>${esc(TRANSCRIPT_COMMAND)}</code> each time these pages are generated: <code>→</code> is a line the suite wrote on the driver's stdin, <code>←</code> a line the driver wrote on its stdout, in the order they crossed. Peers, handles and tickets are the driver's own names (${linker.clause('HANDLE-2')}); payloads are base64. Note the reply: the call's completion comes before the reply's own response.</p>
<ol class="transcript">
${rows}
</ol>
</section>`;
}
