// A small Markdown renderer for the subset the spec and the READMEs use:
// ATX headings, paragraphs, **bold**, *italic*, `code`, [links](url), bullet
// and numbered lists (nested by indentation), pipe tables, fenced code,
// block quotes and rules. Clause ids and error codes in text become links
// (through the Linker), so the prose and the reference pages stay joined.
import { Linker, anchorId, esc } from './html';

export type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'para'; text: string }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'list'; ordered: boolean; start: number; tight: boolean; items: Block[][] }
  | { kind: 'table'; head: string[]; align: ('left' | 'center' | 'right' | '')[]; rows: string[][] }
  | { kind: 'quote'; blocks: Block[] }
  | { kind: 'hr' };

const FENCE = /^ {0,3}(```+|~~~+)\s*([\w+-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}(?:-\s*){3,}$|^ {0,3}(?:\*\s*){3,}$|^ {0,3}(?:_\s*){3,}$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

const isBlank = (line: string) => line.trim() === '';

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  let inCode = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '|') { cell += '|'; i++; continue; }
    if (c === '`') inCode = !inCode;
    if (c === '|' && !inCode) { cells.push(cell.trim()); cell = ''; continue; }
    cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || /^ {0,3}([-*+]|\d{1,9}[.)])\s+\S/.test(line);
}

export function parseBlocks(source: string): Block[] {
  return parseLines(source.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n'));
}

function parseLines(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(marker)) body.push(lines[i++]);
      i++;
      blocks.push({ kind: 'code', lang: fence[2], text: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', level: heading[1].length, text: heading[2] });
      i++;
      continue;
    }
    if (RULE.test(line)) { blocks.push({ kind: 'hr' }); i++; continue; }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        body.push(q ? q[1] : lines[i]);
        i++;
      }
      blocks.push({ kind: 'quote', blocks: parseLines(body) });
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      const head = splitRow(line);
      const align = splitRow(lines[i + 1]).map((c) => {
        const left = c.startsWith(':');
        const right = c.endsWith(':');
        return left && right ? 'center' : right ? 'right' : left ? 'left' : '';
      });
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) rows.push(splitRow(lines[i++]));
      blocks.push({ kind: 'table', head, align: align as ('left' | 'center' | 'right' | '')[], rows });
      continue;
    }
    const item = ITEM.exec(line);
    if (item && item[1].length <= 3) {
      i = parseList(lines, i, blocks);
      continue;
    }
    const para: string[] = [line.trim()];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i])) para.push(lines[i++].trim());
    blocks.push({ kind: 'para', text: para.join('\n') });
  }
  return blocks;
}

/** Parse one list starting at lines[start]; push it; return the next line index. */
function parseList(lines: string[], start: number, out: Block[]): number {
  const first = ITEM.exec(lines[start])!;
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const items: string[][] = [];
  let tight = true;
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const m = ITEM.exec(line);
    if (m && m[1].length === indent && /\d/.test(m[2]) === ordered) {
      const contentIndent = m[1].length + m[2].length + 1;
      const body = [m[3]];
      i++;
      while (i < lines.length) {
        const next = lines[i];
        if (isBlank(next)) {
          let j = i + 1;
          while (j < lines.length && isBlank(lines[j])) j++;
          if (j < lines.length && leadingSpaces(lines[j]) > indent) {
            tight = false;
            for (; i < j; i++) body.push('');
            continue;
          }
          break;
        }
        const nested = ITEM.exec(next);
        if (nested && nested[1].length <= indent) break;
        if (leadingSpaces(next) > indent) { body.push(next.slice(Math.min(contentIndent, leadingSpaces(next)))); i++; continue; }
        if (startsBlock(next)) break;
        body.push(next.trim()); // lazy continuation of the item's paragraph
        i++;
      }
      items.push(body);
      continue;
    }
    if (isBlank(line)) {
      let j = i + 1;
      while (j < lines.length && isBlank(lines[j])) j++;
      const n = j < lines.length ? ITEM.exec(lines[j]) : null;
      if (n && n[1].length === indent && /\d/.test(n[2]) === ordered) { tight = false; i = j; continue; }
    }
    break;
  }
  out.push({ kind: 'list', ordered, start: ordered ? parseInt(first[2], 10) : 1, tight, items: items.map((b) => parseLines(b)) });
  return i;
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

// ------------------------------------------------------------------ inline

function findClosing(s: string, from: number, marker: string): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') { i++; continue; }
    if (s[i] === '`') {
      const end = s.indexOf('`', i + 1);
      if (end > 0) { i = end; continue; }
    }
    if (s.startsWith(marker, i)) {
      if (marker === '*' && s[i + 1] === '*') { i++; continue; }
      return i;
    }
  }
  return -1;
}

export interface InlineOptions {
  linker: Linker;
  /** Inside a link: no nested links. */
  noLinks?: boolean;
  /** Rewrite a relative link target (e.g. a repository path) or return null to drop the link. */
  rewriteHref?: (href: string) => string | null;
}

/** Render inline Markdown to HTML. */
export function renderInline(s: string, opts: InlineOptions): string {
  let out = '';
  let text = '';
  const flush = () => {
    out += opts.noLinks ? esc(text) : opts.linker.text(text);
    text = '';
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length && /[\\`*_[\]()#+\-.!|<>{}]/.test(s[i + 1])) { text += s[++i]; continue; }
    if (c === '\n') { text += ' '; continue; }
    if (c === '`') {
      let run = 1;
      while (s[i + run] === '`') run++;
      const marker = '`'.repeat(run);
      const end = s.indexOf(marker, i + run);
      if (end > 0) {
        flush();
        let code = s.slice(i + run, end);
        if (code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
        out += inlineCode(code, opts);
        i = end + run - 1;
        continue;
      }
    }
    if (c === '*' && s[i + 1] === '*') {
      const end = findClosing(s, i + 2, '**');
      if (end > i + 2) {
        flush();
        out += `<strong>${renderInline(s.slice(i + 2, end), opts)}</strong>`;
        i = end + 1;
        continue;
      }
    }
    if ((c === '*' || (c === '_' && !/\w/.test(s[i - 1] ?? ''))) && s[i + 1] !== ' ' && s[i + 1] !== undefined) {
      const end = findClosing(s, i + 1, c);
      if (end > i + 1 && (c === '*' || !/\w/.test(s[end + 1] ?? ''))) {
        flush();
        out += `<em>${renderInline(s.slice(i + 1, end), opts)}</em>`;
        i = end;
        continue;
      }
    }
    if (c === '[' && !opts.noLinks) {
      const close = findClosing(s, i + 1, ']');
      if (close > 0 && s[close + 1] === '(') {
        const paren = s.indexOf(')', close + 2);
        if (paren > 0) {
          const label = s.slice(i + 1, close);
          const rawHref = s.slice(close + 2, paren).trim().split(/\s+/)[0];
          const href = opts.rewriteHref ? opts.rewriteHref(rawHref) : rawHref;
          flush();
          const inner = renderInline(label, { ...opts, noLinks: true });
          out += href === null ? inner : `<a href="${esc(href)}">${inner}</a>`;
          i = paren;
          continue;
        }
      }
    }
    if (c === '<' && !opts.noLinks) {
      const m = /^<(https?:\/\/[^\s>]+)>/.exec(s.slice(i));
      if (m) {
        flush();
        out += `<a href="${esc(m[1])}">${esc(m[1])}</a>`;
        i += m[0].length - 1;
        continue;
      }
    }
    text += c;
  }
  flush();
  return out;
}

/** Inline code; a code span that is exactly a clause id or an error code links to it. */
function inlineCode(code: string, opts: InlineOptions): string {
  const html = `<code>${esc(code)}</code>`;
  if (opts.noLinks) return html;
  if (opts.linker.isClause(code)) return `<a class="code-link" href="${opts.linker.href('spec.html', code)}">${html}</a>`;
  // `send(h, message)`: a call of an operation links to its reference (a bare `send` may be the right).
  const call = /^(\w+)\(/.exec(code);
  if (call && opts.linker.isOperation(call[1])) return `<a class="code-link" href="${opts.linker.href('operations.html', call[1])}">${html}</a>`;
  const linked = opts.linker.text(code);
  if (linked !== esc(code) && /^[A-Z_]+$/.test(code)) return `<a class="code-link" href="${opts.linker.href('errors.html', code)}">${html}</a>`;
  return html;
}

// ------------------------------------------------------------------ blocks

export interface RenderOptions extends InlineOptions {
  /** Heading ids already used on the page (kept unique). */
  ids?: Set<string>;
  /** Shift heading levels (e.g. +1 when the page has its own h1). */
  headingShift?: number;
  /** Heading id for a heading's text; default a slug. */
  headingId?: (text: string, level: number) => string;
  /** Collects the headings rendered, for a table of contents. */
  headings?: { level: number; id: string; text: string }[];
}

export function slug(text: string): string {
  return anchorId(text.toLowerCase().replace(/[`*_]/g, '').replace(/\s+/g, '-')) || 'section';
}

export function uniqueId(base: string, ids: Set<string>): string {
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  ids.add(id);
  return id;
}

function highlightJson(code: string): string {
  return esc(code).replace(/(&quot;(?:[^&\\]|\\.|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|(-?\b\d+(?:\.\d+)?\b)/g,
    (m, str: string | undefined, colon: string | undefined, lit: string | undefined, num: string | undefined) => {
      if (str !== undefined) return colon ? `<span class="j-key">${str}</span>${colon}` : `<span class="j-str">${str}</span>`;
      if (lit !== undefined) return `<span class="j-lit">${lit}</span>`;
      if (num !== undefined) return `<span class="j-num">${num}</span>`;
      return m;
    });
}

export function codeBlock(text: string, lang: string): string {
  const body = lang === 'json' || lang === 'jsonl' ? highlightJson(text) : esc(text);
  return `<pre class="code${lang ? ` lang-${esc(lang)}` : ''}"><code>${body}</code></pre>`;
}

export function renderBlocks(blocks: readonly Block[], opts: RenderOptions, tight = false): string {
  const ids = opts.ids ?? new Set<string>();
  const o = { ...opts, ids };
  return blocks.map((b) => renderBlock(b, o, tight)).join('\n');
}

function renderBlock(b: Block, opts: RenderOptions & { ids: Set<string> }, tight: boolean): string {
  switch (b.kind) {
    case 'heading': {
      const level = Math.min(6, b.level + (opts.headingShift ?? 0));
      const id = uniqueId(opts.headingId ? opts.headingId(b.text, b.level) : slug(b.text), opts.ids);
      opts.headings?.push({ level: b.level, id, text: b.text });
      return `<h${level} id="${id}">${renderInline(b.text, opts)}</h${level}>`;
    }
    case 'para':
      return tight ? renderInline(b.text, opts) : `<p>${renderInline(b.text, opts)}</p>`;
    case 'code':
      return codeBlock(b.text, b.lang);
    case 'hr':
      return '<hr>';
    case 'quote':
      return `<blockquote>${renderBlocks(b.blocks, opts)}</blockquote>`;
    case 'list': {
      const tag = b.ordered ? 'ol' : 'ul';
      const start = b.ordered && b.start !== 1 ? ` start="${b.start}"` : '';
      return `<${tag}${start}>\n${b.items.map((item) => `<li>${renderBlocks(item, opts, b.tight)}</li>`).join('\n')}\n</${tag}>`;
    }
    case 'table': {
      const align = (i: number) => (b.align[i] ? ` class="align-${b.align[i]}"` : '');
      const head = b.head.map((h, i) => `<th${align(i)}>${renderInline(h, opts)}</th>`).join('');
      const rows = b.rows.map((r) => `<tr>${b.head.map((_h, i) => `<td${align(i)}>${renderInline(r[i] ?? '', opts)}</td>`).join('')}</tr>`).join('\n');
      return `<div class="table-wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table></div>`;
    }
  }
}

/** Plain text of inline Markdown (for search entries and titles). */
export function plainText(s: string): string {
  return s.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '').replace(/\\(.)/g, '$1').replace(/\s+/g, ' ').trim();
}
