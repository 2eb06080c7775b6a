// HTML building blocks of the docs site: escaping, cross-reference links and
// the page frame (sidebar, search box, table of contents). Everything here is
// a pure function of its inputs so the site is byte-identical run to run.
import { ERROR_CODES } from '../../spec/registry/errors';
import { OPERATIONS } from '../../spec/registry/operations';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** An anchor id made of characters that need no escaping in a URL fragment. */
export function anchorId(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** Clause ids look like `CALL-2`; only ids the spec defines become links. */
export const CLAUSE_ID_PATTERN = /\b[A-Z][A-Z0-9]*-\d+\b/g;

/** One page of the site, in navigation order. */
export interface PageInfo {
  file: string;
  title: string;
  /** Sidebar group heading. */
  group: string;
  /** One line for the site map on the index page. */
  blurb: string;
}

export interface TocEntry {
  id: string;
  label: string;
  /** Smaller, nested entry. */
  sub?: boolean;
}

/**
 * Turns names the site knows (clause ids, error codes) into links, relative to
 * the page being written (same-page links are bare fragments so they work
 * from file:// too).
 */
export class Linker {
  private readonly codes: ReadonlySet<string> = new Set<string>(ERROR_CODES);
  private readonly operations: ReadonlySet<string> = new Set<string>(OPERATIONS.map((o) => o.name));

  constructor(readonly clauses: ReadonlySet<string>, readonly page: string) {}

  forPage(page: string): Linker {
    return new Linker(this.clauses, page);
  }

  href(file: string, anchor?: string): string {
    if (anchor === undefined) return file;
    return file === this.page ? `#${anchor}` : `${file}#${anchor}`;
  }

  isOperation(name: string): boolean {
    return this.operations.has(name);
  }

  isClause(id: string): boolean {
    return this.clauses.has(id);
  }

  clause(id: string): string {
    if (!this.clauses.has(id)) return `<span class="clause-ref missing" title="not in the spec">${esc(id)}</span>`;
    return `<a class="clause-ref" href="${this.href('spec.html', id)}">${esc(id)}</a>`;
  }

  clauseList(ids: readonly string[]): string {
    return ids.map((id) => this.clause(id)).join(' ');
  }

  error(code: string): string {
    return `<a class="code-ref" href="${this.href('errors.html', code)}">${esc(code)}</a>`;
  }

  operation(name: string): string {
    return `<a class="op-ref" href="${this.href('operations.html', name)}">${esc(name)}</a>`;
  }

  /** Escape plain text and link every clause id and error code in it. */
  text(plain: string): string {
    const pattern = /\b([A-Z][A-Z0-9]*-\d+|[A-Z][A-Z]+(?:_[A-Z]+)*)\b/g;
    let out = '';
    let last = 0;
    for (let m = pattern.exec(plain); m !== null; m = pattern.exec(plain)) {
      const word = m[1];
      let link: string | null = null;
      if (this.clauses.has(word)) link = this.clause(word);
      else if (this.codes.has(word)) link = this.error(word);
      if (link === null) continue;
      out += esc(plain.slice(last, m.index)) + link;
      last = m.index + word.length;
    }
    return out + esc(plain.slice(last));
  }
}

export interface PageFrame {
  page: PageInfo;
  pages: readonly PageInfo[];
  toc: readonly TocEntry[];
  body: string;
  /** Shown under the title in search engines and link previews. */
  description: string;
}

const GROUP_ORDER = ['Overview', 'Protocol', 'Reference', 'Implementers'];

function sidebar(frame: PageFrame): string {
  const groups = GROUP_ORDER.map((group) => ({ group, pages: frame.pages.filter((p) => p.group === group) }))
    .filter((g) => g.pages.length > 0);
  const items = groups.map(({ group, pages }) => {
    const links = pages.map((p) => {
      const current = p.file === frame.page.file;
      const toc = current && frame.toc.length > 0
        ? `\n<ul class="toc">${frame.toc.map((t) => `<li${t.sub ? ' class="sub"' : ''}><a href="#${t.id}">${esc(t.label)}</a></li>`).join('')}</ul>`
        : '';
      return `<li><a href="${p.file}"${current ? ' aria-current="page"' : ''}>${esc(p.title)}</a>${toc}</li>`;
    }).join('\n');
    return `<li class="group"><span class="group-title">${esc(group)}</span>\n<ul>\n${links}\n</ul></li>`;
  }).join('\n');
  return `<nav class="sidebar" aria-label="Site">
<a class="brand" href="index.html"><span class="brand-mark" aria-hidden="true"></span>Tessera<span class="brand-sub">protocol reference</span></a>
<form class="search" role="search" hidden>
<input type="search" placeholder="Search the docs" aria-label="Search the docs" autocomplete="off">
<p class="search-status" role="status" hidden></p>
<ol class="results"></ol>
</form>
<ul class="nav">
${items}
</ul>
</nav>`;
}

export function renderPage(frame: PageFrame): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="${esc(frame.description)}">
<title>${esc(frame.page.title)} · Tessera</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div class="layout">
${sidebar(frame)}
<main id="main">
${frame.body.trim()}
<footer class="page-footer">Generated from the Tessera sources by <code>npm run docs</code>; do not edit by hand.</footer>
</main>
</div>
<script src="search.js" defer></script>
</body>
</html>
`;
}

/** A table from header cells and rows of ready HTML. */
export function table(head: readonly string[], rows: readonly (readonly string[])[], className = ''): string {
  const cls = className ? ` class="${className}"` : '';
  return `<div class="table-wrap"><table${cls}>
<thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>`;
}

/** A table whose rows carry ids (row anchors). */
export function anchoredTable(head: readonly string[], rows: readonly { id: string; cells: readonly string[] }[], className = ''): string {
  const cls = className ? ` class="${className}"` : '';
  return `<div class="table-wrap"><table${cls}>
<thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr id="${r.id}">${r.cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>`;
}
