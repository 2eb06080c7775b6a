// Full-text search over every page, with the index built when the site is
// generated. Each page's HTML is cut into sections at the elements that carry
// an anchor (headings, sections such as spec clauses, table rows such as
// error codes), and MiniSearch indexes each section's title, its context
// (the heading above it, e.g. a clause's family) and its text. The browser
// loads the library and the prebuilt index only when the search box is first
// used, so pages stay light; everything works from file:// too (scripts, no
// fetch). Ranking is MiniSearch's BM25 with title matches weighted up, prefix
// matching for the word being typed, and small typos forgiven.
import * as fs from 'fs';
import * as path from 'path';
import MiniSearch from 'minisearch';

/** One searchable section of a page. */
export interface SearchDoc {
  /** Index in the list (MiniSearch's id). */
  i: number;
  /** Page-relative URL, with the section's anchor. */
  u: string;
  /** Section title. */
  t: string;
  /** Page title. */
  p: string;
  /** Context: the heading the section sits under (a clause's family, a table's section). */
  c: string;
  /** The section's text. */
  x: string;
}

/**
 * Words of a text: letters, digits and underscores, joined by `-` or `.`
 * (`init_ok`, `QUOTA-2`, `spec.html` stay whole), and each such word's parts
 * too, so `ok` finds `init_ok`. One source for the generator and the browser.
 */
const TOKENIZE_JS = `function (text) {
  var words = text.match(/[\\p{L}\\p{N}_]+(?:[-.][\\p{L}\\p{N}_]+)*/gu) || [];
  var out = [];
  for (var i = 0; i < words.length; i++) {
    out.push(words[i]);
    if (/[-._]/.test(words[i])) {
      var parts = words[i].split(/[-._]+/);
      for (var j = 0; j < parts.length; j++) if (parts[j]) out.push(parts[j]);
    }
  }
  return out;
}`;

/** How a query is matched: title matches weigh most, the word being typed is a prefix, small typos pass. */
const QUERY_OPTIONS_JS = `{
  boost: { t: 4, c: 1.5 },
  prefix: true,
  combineWith: 'AND',
  fuzzy: function (term) { return term.length > 5 ? 0.2 : false; }
}`;

// The same functions in the generator (and tests) as in the browser.
const tokenize = new Function(`return (${TOKENIZE_JS});`)() as (text: string) => string[];
const queryOptions = new Function(`return (${QUERY_OPTIONS_JS});`)() as Record<string, unknown>;

const FIELDS = ['t', 'c', 'x'];

/** Load a prebuilt index (as search-index.js holds it) and run one query, as the search box does. */
export function searchIndex(index: unknown, query: string): { id: number; score: number }[] {
  const engine = MiniSearch.loadJS(index as never, { idField: 'i', fields: FIELDS, tokenize });
  return engine.search(query, queryOptions).map((r) => ({ id: r.id as number, score: r.score }));
}

// ------------------------------------------------------------------ sections of a page

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', nbsp: ' ' };

function decode(text: string): string {
  return text.replace(/&(#\d+|#x[0-9a-f]+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e] ?? m;
  });
}

const VOID = new Set(['br', 'hr', 'img', 'input', 'meta', 'link', 'wbr', 'source', 'col', 'area', 'base']);
/** Not text a reader searches: drawings, scripts, navigation, DOT sources, cross-reference lines, tour output. */
const SKIPPED_TAGS = new Set(['svg', 'script', 'style', 'nav', 'footer', 'summary']);
const SKIPPED_CLASSES = /\b(dot|clause-refs|tour-output|header-anchor)\b/;
const BOUNDARY = /^(h[2-4]|section|tr)$/; // the h1 is the page itself
/** Elements inside a run of text; any other tag separates words (table cells, list items...). */
const INLINE = new Set(['a', 'code', 'span', 'em', 'strong', 'b', 'i', 'small', 'mark', 'sub', 'sup', 'abbr']);

function attr(attrs: string, name: string): string | null {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(attrs);
  return m ? decode(m[1]) : null;
}

interface Open {
  tag: string;
  skip: boolean;
  /** This element's text is the current section's title. */
  title: boolean;
}

/** Cut a page's <main> into sections at anchored headings, sections and table rows. */
export function sectionsOf(file: string, pageTitle: string, html: string): Omit<SearchDoc, 'i'>[] {
  const start = html.indexOf('<main');
  const end = html.lastIndexOf('</main>');
  const main = start >= 0 && end > start ? html.slice(start, end) : html;
  const docs: Omit<SearchDoc, 'i'>[] = [{ u: file, t: pageTitle, p: pageTitle, c: '', x: '' }];
  const stack: Open[] = [];
  let skipping = 0;
  let h2 = pageTitle;
  let awaitTitle: 'heading' | 'cell' | null = null;
  const current = () => docs[docs.length - 1];
  const titling = () => stack.some((o) => o.title);
  for (const m of main.matchAll(/<!--[\s\S]*?-->|<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|[^<]+/g)) {
    const [token, closing, rawTag, attrs = ''] = m;
    if (rawTag === undefined) {
      if (skipping > 0 || token.startsWith('<!--')) continue;
      const text = decode(token);
      if (titling()) current().t += text;
      else current().x += text;
      continue;
    }
    const tag = rawTag.toLowerCase();
    if (!INLINE.has(tag) && skipping === 0) {
      if (titling()) current().t += ' ';
      else current().x += ' ';
    }
    if (closing) {
      const at = stack.map((o) => o.tag).lastIndexOf(tag);
      if (at < 0) continue;
      for (const o of stack.splice(at)) if (o.skip) skipping--;
      if (tag === 'h2' && !titling()) h2 = current().t.trim() || h2;
      continue;
    }
    if (VOID.has(tag) || attrs.endsWith('/')) continue;
    const skip = SKIPPED_TAGS.has(tag) || SKIPPED_CLASSES.test(attr(attrs, 'class') ?? '');
    let title = false;
    const id = attr(attrs, 'id');
    if (skipping === 0 && !skip && id && BOUNDARY.test(tag)) {
      const given = attr(attrs, 'data-title');
      docs.push({ u: `${file}#${id}`, t: given ?? '', p: pageTitle, c: tag === 'h2' || tag === 'h1' ? pageTitle : h2, x: '' });
      title = given === null && /^h\d$/.test(tag);
      awaitTitle = given !== null || title ? null : tag === 'tr' ? 'cell' : 'heading';
    } else if (skipping === 0 && awaitTitle !== null && (awaitTitle === 'cell' ? /^t[dh]$/ : /^h\d$/).test(tag)) {
      title = true;
      awaitTitle = null;
    }
    stack.push({ tag, skip, title });
    if (skip) skipping++;
  }
  return docs
    .map((d) => ({ ...d, t: d.t.replace(/\s+/g, ' ').trim(), x: d.x.replace(/\s+/g, ' ').trim() }))
    .map((d) => ({ ...d, t: d.t || d.x.slice(0, 60) || d.u }))
    .filter((d) => d.x !== '' || d.u === file);
}

// ------------------------------------------------------------------ the index and its files

export interface PageHtml {
  file: string;
  title: string;
  html: string;
}

/** The prebuilt index and the documents it points into. */
export function buildSearchIndex(pages: readonly PageHtml[]): { docs: SearchDoc[]; index: unknown } {
  const docs = pages.flatMap((p) => sectionsOf(p.file, p.title, p.html)).map((d, i) => ({ ...d, i }));
  const search = new MiniSearch<SearchDoc>({ idField: 'i', fields: FIELDS, tokenize });
  search.addAll(docs);
  return { docs, index: search.toJSON() };
}

/** search-index.js: the documents and the index, as a script (file:// pages cannot fetch JSON). */
export function searchIndexJs(pages: readonly PageHtml[]): string {
  const { docs, index } = buildSearchIndex(pages);
  const rows = docs.map(({ u, t, p, x }) => [u, t, p, x]);
  return `// Tessera docs search index. Generated by npm run docs; do not edit.
window.TESSERA_SEARCH = {"docs":${JSON.stringify(rows)},
"index":${JSON.stringify(index)}};
`;
}

/** minisearch.js: the library's browser build as published, with its licence. */
export function miniSearchJs(): string {
  const dir = path.dirname(path.dirname(path.dirname(require.resolve('minisearch'))));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  const licence = fs.readFileSync(path.join(dir, 'LICENSE.txt'), 'utf8').trim();
  const umd = fs.readFileSync(path.join(dir, 'dist', 'umd', 'index.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  return `/*! MiniSearch ${pkg.version} (https://github.com/lucaong/minisearch), MIT licence:\n${licence}\n*/\n${umd}`;
}

/** Browser helpers of search.js: a snippet around the first match, and matches marked. */
const TEXT_HELPERS_JS = `function snippet(text, terms) {
    var lower = text.toLowerCase();
    var at = -1;
    for (var i = 0; i < terms.length && at < 0; i++) at = lower.indexOf(terms[i]);
    var from = Math.max(0, at - 50);
    var s = text.slice(from, from + 160);
    return (from > 0 ? '…' : '') + s + (from + 160 < text.length ? '…' : '');
  }
  function marked(el, text, terms) {
    var lower = text.toLowerCase();
    var i = 0;
    while (i < text.length) {
      var best = -1;
      var len = 0;
      for (var k = 0; k < terms.length; k++) {
        var at = lower.indexOf(terms[k], i);
        if (at >= 0 && (best < 0 || at < best)) { best = at; len = terms[k].length; }
      }
      if (best < 0) { el.appendChild(document.createTextNode(text.slice(i))); return; }
      if (best > i) el.appendChild(document.createTextNode(text.slice(i, best)));
      var m = document.createElement('mark');
      m.textContent = text.slice(best, best + len);
      el.appendChild(m);
      i = best + len;
    }
  }`;

/** search.js, on every page: the search box. It loads the library and the index on first use. */
export function searchJs(): string {
  return `// Tessera docs search. Generated by npm run docs; do not edit.
(function () {
  var form = document.querySelector('form.search');
  if (!form) return;
  var input = form.querySelector('input');
  var list = form.querySelector('.results');
  var status = form.querySelector('.search-status');
  var engine = null;
  var loading = null;
  form.hidden = false;
  var tokenize = ${TOKENIZE_JS.replace(/\n/g, '\n  ')};
  function load() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var scripts = ['minisearch.js', 'search-index.js'];
      (function next() {
        if (!scripts.length) return resolve();
        var s = document.createElement('script');
        s.src = scripts.shift();
        s.onload = next;
        s.onerror = function () { reject(new Error(s.src)); };
        document.head.appendChild(s);
      })();
    }).then(function () {
      var data = window.TESSERA_SEARCH;
      engine = { docs: data.docs, index: window.MiniSearch.loadJS(data.index, { idField: 'i', fields: ${JSON.stringify(FIELDS)}, tokenize: tokenize }) };
    });
    return loading;
  }
  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }
  ${TEXT_HELPERS_JS}
  function render() {
    var q = input.value.trim();
    list.textContent = '';
    if (!q) { say(''); return; }
    if (!engine) { say('Loading the index…'); load().then(render, function () { say('The search index could not be loaded.'); }); return; }
    var hits = engine.index.search(q, ${QUERY_OPTIONS_JS.replace(/\n/g, '\n    ')}).slice(0, 12);
    if (!hits.length) { say('No results for \\u201c' + q + '\\u201d.'); return; }
    say('');
    var terms = tokenize(q).map(function (t) { return t.toLowerCase(); }).filter(function (t) { return t.length > 1; });
    hits.forEach(function (hit) {
      var d = engine.docs[hit.id];
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = d[0];
      var kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = d[2];
      a.appendChild(kind);
      var title = document.createElement('span');
      title.className = 'title';
      marked(title, d[1], terms);
      a.appendChild(title);
      var hint = document.createElement('span');
      hint.className = 'hint';
      marked(hint, snippet(d[3], terms), terms);
      a.appendChild(hint);
      li.appendChild(a);
      list.appendChild(li);
    });
  }
  input.addEventListener('focus', function () { load().catch(function () {}); });
  input.addEventListener('input', render);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var first = list.querySelector('a');
    if (first) window.location.href = first.href;
  });
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') { input.value = ''; render(); }
  });
})();
`;
}
