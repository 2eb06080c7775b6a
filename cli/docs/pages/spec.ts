// spec.html: the prose spec, every clause a section anchored by its id, each
// followed by what cites it (operations, model checks, errors, tests).
import { esc, type Linker, type TocEntry } from '../html';
import { type Block, type MarkdownEnv, parseBlocks, plainText, renderBlock, renderInline, slug, uniqueId } from '../markdown';
import type { ClauseRefs, Site } from '../site';
import { CLAUSE_PARAGRAPH, FAMILY_HEADING } from '../spec-source';
import type { PageBody } from './page';

/** Links in the prose: keep web and same-site links; repository paths become plain text. */
export function rewriteHref(href: string): string | null {
  if (/^(https?:|mailto:|#)/.test(href)) return href;
  if (/^[\w-]+\.html(#[\w.-]+)?$/.test(href)) return href;
  return null;
}

function refsLine(id: string, refs: ClauseRefs | undefined, linker: Linker): string {
  if (!refs) return '';
  const parts: string[] = [];
  if (refs.operations.length) parts.push(`<span class="ref-kind">Operations</span> ${refs.operations.map((o) => linker.operation(o)).join(', ')}`);
  if (refs.checks.length) {
    parts.push(`<span class="ref-kind">Model checks</span> ${refs.checks.map((c) =>
      `<a href="${linker.href('operations.html', `${c.op}-check-${c.index}`)}">${esc(c.op)}&nbsp;#${c.index}</a>`).join(', ')}`);
  }
  if (refs.errors.length) parts.push(`<span class="ref-kind">Errors</span> ${refs.errors.map((e) => linker.error(e)).join(', ')}`);
  if (refs.notices.length) parts.push(`<span class="ref-kind">Notices</span> ${refs.notices.map((n) => `<a href="${linker.href('notices.html', n)}">${esc(n)}</a>`).join(', ')}`);
  if (refs.limits.length) parts.push(`<span class="ref-kind">Limits</span> ${refs.limits.map((l) => `<a href="${linker.href('limits.html', l)}">${esc(l)}</a>`).join(', ')}`);
  if (refs.states.length) {
    parts.push(`<span class="ref-kind">Lifecycles</span> ${refs.states.map((s) =>
      `<a href="${linker.href('lifecycles.html', `${s.lifecycle}-${s.state}`)}">${esc(s.lifecycle)}.${esc(s.state)}</a>`).join(', ')}`);
  }
  const count = (suite: string) => refs.citations.filter((c) => c.kind === 'citation' && c.suite === suite).length;
  const plural = (n: number, word: string) => (n === 0 ? '' : `${n} ${word}${n > 1 ? 's' : ''}`);
  const tests = count('test');
  const cases = count('conformance');
  const cover = tests + cases === 0
    ? `<a class="uncovered" href="${linker.href('coverage.html', id)}">not cited by any test yet</a>`
    : `<a href="${linker.href('coverage.html', id)}">${[plural(tests, 'test'), plural(cases, 'conformance case'), plural(count('mutant'), 'mutant')].filter(Boolean).join(', ')}</a>`;
  parts.push(`<span class="ref-kind">Coverage</span> ${cover}`);
  return `<p class="clause-refs">${parts.join('<span class="sep"> · </span>')}</p>`;
}

export function specPage(site: Site): PageBody {
  const linker = site.linker.forPage('spec.html');
  const ids = new Set<string>(site.clauseIds);
  const toc: TocEntry[] = [];
  const out: string[] = [];
  const env: MarkdownEnv = { linker, rewriteHref };
  const blocks = parseBlocks(site.spec.markdown, env);
  let openClause: string | null = null;
  let sawTitle = false;

  const closeClause = () => {
    if (openClause === null) return;
    out.push(refsLine(openClause, site.refs.get(openClause), linker), '</section>');
    openClause = null;
  };

  const titled = blocks.some((b) => b.kind === 'heading' && b.level === 1);
  if (!titled) out.push('<h1 id="top">Tessera protocol specification</h1>');

  blocks.forEach((b: Block) => {
    if (b.kind === 'heading' && b.level === 1 && !sawTitle) {
      sawTitle = true;
      out.push(`<h1 id="top">${renderInline(b.text, env)}</h1>`);
      return;
    }
    if (b.kind === 'heading') {
      closeClause();
      const family = b.level === 2 ? FAMILY_HEADING.exec(b.text) : null;
      if (family) {
        const id = uniqueId(family[2], ids);
        toc.push({ id, label: plainText(family[1]) });
        out.push(
          `<h2 id="${id}" class="family">${renderInline(family[1], env)} <span class="family-id">${esc(family[2])}</span></h2>`,
        );
      } else {
        const id = uniqueId(slug(plainText(b.text)), ids);
        if (b.level === 2) toc.push({ id, label: plainText(b.text) });
        const level = Math.min(6, Math.max(2, b.level));
        out.push(`<h${level} id="${id}">${renderInline(b.text, env)}</h${level}>`);
      }
      return;
    }
    const clause = b.kind === 'para' ? CLAUSE_PARAGRAPH.exec(b.text) : null;
    if (clause) {
      closeClause();
      const [, id, title, text] = clause;
      openClause = id;
      const titleHtml = title ? ` <span class="clause-title">${renderInline(title, env)}</span>` : '';
      const searchTitle = `${id} ${plainText(title ?? '').replace(/\.$/, '')}`.trim();
      out.push(
        `<section class="clause" id="${id}" data-title="${esc(searchTitle)}">`,
        `<p><a class="clause-id" href="#${id}" title="Link to ${id}">${id}</a>${titleHtml} ${renderInline(text, env)}</p>`,
      );
      return;
    }
    out.push(renderBlock(b, env));
  });
  closeClause();

  return {
    toc,
    description: `The Tessera protocol specification: ${site.spec.clauses.length} clauses, each anchored by its id.`,
    body: out.join('\n'),
  };
}
