// Markdown for the docs: markdown-it (CommonMark with GFM tables), and
// markdown-it-anchor for heading ids and their permalinks. What the site adds
// are a core rule and renderer rules: clause ids, error codes and operation
// calls in prose become links through the page's Linker (so the prose and the
// reference pages stay joined), links to repository files (which the site
// does not publish) keep their text and lose the link, JSON code blocks are
// highlighted, and tables scroll inside a wrapper. Raw HTML in the sources is
// shown as text (html: false). Output is a pure function of the input.
import MarkdownIt from 'markdown-it';
import anchor from 'markdown-it-anchor';
import { Linker, anchorId, esc } from './html';

type Token = MarkdownIt.Token;
type StateCore = MarkdownIt.StateCore;

/** What a render needs to know about the page it writes into. */
export interface MarkdownEnv {
  linker: Linker;
  /** Rewrite a link target (e.g. a repository path) or return null to drop the link and keep its text. */
  rewriteHref?: (href: string) => string | null;
}

export interface Heading {
  level: number;
  id: string;
  /** Plain text of the heading. */
  text: string;
}

export function slug(text: string): string {
  return anchorId(text.toLowerCase().replace(/[`*_]/g, '').replace(/\s+/g, '-')).replace(/-{2,}/g, '-') || 'section';
}

export function uniqueId(base: string, ids: Set<string>): string {
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  ids.add(id);
  return id;
}

function highlightJson(code: string): string {
  return esc(code).replace(
    /(&quot;(?:[^&\\]|\\.|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|(-?\b\d+(?:\.\d+)?\b)/g,
    (m, str: string | undefined, colon: string | undefined, lit: string | undefined, num: string | undefined) => {
      if (str !== undefined)
        return colon ? `<span class="j-key">${str}</span>${colon}` : `<span class="j-str">${str}</span>`;
      if (lit !== undefined) return `<span class="j-lit">${lit}</span>`;
      if (num !== undefined) return `<span class="j-num">${num}</span>`;
      return m;
    },
  );
}

export function codeBlock(text: string, lang: string): string {
  const body = lang === 'json' || lang === 'jsonl' ? highlightJson(text) : esc(text);
  return `<pre class="code${lang ? ` lang-${esc(lang)}` : ''}"><code>${body}</code></pre>`;
}

/** Inline code; a code span that is exactly a clause id, an operation call or an error code links to it. */
function inlineCode(code: string, linker: Linker): string {
  const html = `<code>${esc(code)}</code>`;
  if (linker.isClause(code)) return `<a class="code-link" href="${linker.href('spec.html', code)}">${html}</a>`;
  // `send(h, message)`: a call of an operation links to its reference (a bare `send` may be the right).
  const call = /^(\w+)\(/.exec(code);
  if (call && linker.isOperation(call[1]))
    return `<a class="code-link" href="${linker.href('operations.html', call[1])}">${html}</a>`;
  if (/^[A-Z_]+$/.test(code) && linker.text(code) !== esc(code))
    return `<a class="code-link" href="${linker.href('errors.html', code)}">${html}</a>`;
  return html;
}

/**
 * Core rule: drop the links rewriteHref refuses (their text stays), and mark
 * the text inside links, which must not be linked again.
 */
function linkRule(state: StateCore): void {
  const env = state.env as Partial<MarkdownEnv>;
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    const dropped: boolean[] = [];
    let depth = 0;
    for (const t of block.children) {
      if (t.type === 'link_open') {
        const href = t.attrGet('href') ?? '';
        const target = env.rewriteHref ? env.rewriteHref(href) : href;
        dropped.push(target === null);
        if (target === null) t.hidden = true;
        else {
          t.attrSet('href', target);
          depth++;
        }
      } else if (t.type === 'link_close') {
        if (dropped.pop()) t.hidden = true;
        else depth--;
      } else if (depth > 0) {
        t.meta = { ...(t.meta ?? {}), inLink: true };
      }
    }
  }
}

const ALIGN = /^text-align:(left|right|center)$/;

function cellRule(tokens: Token[], idx: number): string {
  const t = tokens[idx];
  const align = ALIGN.exec(t.attrGet('style') ?? '');
  return `<${t.tag}${align ? ` class="align-${align[1]}"` : ''}>`;
}

function createMarkdown(): MarkdownIt {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  md.use(anchor, {
    slugify: slug,
    tabIndex: false,
    uniqueSlugStartIndex: 2,
    permalink: anchor.permalink.linkInsideHeader({ symbol: '#', class: 'header-anchor', placement: 'after' }),
  });
  md.core.ruler.push('tessera_links', linkRule);
  const rules = md.renderer.rules;
  const linkerOf = (env: unknown) => (env as MarkdownEnv).linker;
  rules.text = (tokens, idx, _o, env) =>
    tokens[idx].meta?.inLink ? esc(tokens[idx].content) : linkerOf(env).text(tokens[idx].content);
  rules.code_inline = (tokens, idx, _o, env) =>
    tokens[idx].meta?.inLink ? `<code>${esc(tokens[idx].content)}</code>` : inlineCode(tokens[idx].content, linkerOf(env));
  rules.fence = (tokens, idx) =>
    `${codeBlock(tokens[idx].content.replace(/\n$/, ''), tokens[idx].info.trim().split(/\s+/)[0] ?? '')}\n`;
  rules.code_block = (tokens, idx) => `${codeBlock(tokens[idx].content.replace(/\n$/, ''), '')}\n`;
  rules.table_open = () => '<div class="table-wrap"><table>\n';
  rules.table_close = () => '</table></div>\n';
  rules.th_open = cellRule;
  rules.td_open = cellRule;
  return md;
}

const md = createMarkdown();

function envFor(env: MarkdownEnv, ids: ReadonlySet<string>): MarkdownEnv & { markdownItAnchor: unknown } {
  // markdown-it-anchor keeps heading ids unique against the ones in env (the page's own ids).
  return { ...env, markdownItAnchor: { slugs: Object.fromEntries([...ids].map((id) => [id, true])) } };
}

/** The plain text of an inline token's children (what a reader sees, without the permalink). */
function inlineText(children: readonly Token[] | null): string {
  return (children ?? [])
    .map((t) => (t.type === 'text' || t.type === 'code_inline' ? t.content : t.type === 'softbreak' ? ' ' : ''))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface RenderedDocument {
  /** The text of a leading level-1 heading, when the document starts with one (it is not rendered). */
  title: string | null;
  html: string;
  headings: Heading[];
}

/**
 * Render a Markdown document (a README): the leading h1, if any, is returned
 * as the title rather than rendered; heading ids avoid `ids` (the page's own).
 */
export function renderDocument(source: string, env: MarkdownEnv, ids: ReadonlySet<string> = new Set()): RenderedDocument {
  const renderEnv = envFor(env, ids);
  let tokens = md.parse(source, renderEnv);
  let title: string | null = null;
  if (tokens[0]?.type === 'heading_open' && tokens[0].tag === 'h1') {
    title = inlineText(tokens[1].children);
    tokens = tokens.slice(3);
  }
  const headings: Heading[] = [];
  tokens.forEach((t, i) => {
    if (t.type === 'heading_open')
      headings.push({ level: Number(t.tag.slice(1)), id: t.attrGet('id') ?? '', text: inlineText(tokens[i + 1].children) });
  });
  return { title, html: md.renderer.render(tokens, md.options, renderEnv).trimEnd(), headings };
}

/** Render inline Markdown (one paragraph's text) to HTML. */
export function renderInline(source: string, env: MarkdownEnv): string {
  return md.renderInline(source, env);
}

/** Plain text of inline Markdown (for search entries and titles). */
export function plainText(source: string): string {
  return inlineText(md.parseInline(source, {})[0]?.children ?? null);
}

/** One top-level block of a document, for pages that lay out some blocks themselves (the spec). */
export type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'para'; text: string }
  | { kind: 'other'; tokens: Token[] };

/**
 * Split a document into its top-level blocks; headings and paragraphs keep
 * their inline source. Links are rewritten here, with env's rewriteHref.
 */
export function parseBlocks(source: string, env: Partial<MarkdownEnv> = {}): Block[] {
  const tokens = md.parse(source, { ...env });
  const blocks: Block[] = [];
  let i = 0;
  while (i < tokens.length) {
    let end = i;
    let depth = tokens[i].nesting;
    while (depth > 0) depth += tokens[++end].nesting;
    const t = tokens[i];
    if (t.type === 'heading_open') blocks.push({ kind: 'heading', level: Number(t.tag.slice(1)), text: tokens[i + 1].content });
    else if (t.type === 'paragraph_open') blocks.push({ kind: 'para', text: tokens[i + 1].content });
    else blocks.push({ kind: 'other', tokens: tokens.slice(i, end + 1) });
    i = end + 1;
  }
  return blocks;
}

/** Render blocks of parseBlocks that the page does not lay out itself. */
export function renderBlock(block: Block, env: MarkdownEnv): string {
  if (block.kind === 'heading') {
    const tag = `h${block.level}`;
    return `<${tag}>${renderInline(block.text, env)}</${tag}>`;
  }
  if (block.kind === 'para') return `<p>${renderInline(block.text, env)}</p>`;
  return md.renderer.render(block.tokens, md.options, env).trimEnd();
}
