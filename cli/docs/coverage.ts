// Which tests and conformance cases cite which clause.
// - Tests: read from source text. A bracketed citation inside a string (a test
//   title such as 'a revoked handle fails REVOKED [REVOKE-1, HANDLE-6]') is a
//   citation by that test; any other occurrence of a clause id is a mention.
// - Conformance suite: its case and mutant tables are data (`{id, title,
//   clauses}` and `{name, bug, clauses}` arrays exported from conformance/),
//   loaded as modules; files that export no such table are scanned like tests.
// Only citations count as coverage; mentions are listed as weaker evidence.
import * as fs from 'fs';
import * as path from 'path';

export type Suite = 'test' | 'conformance' | 'mutant';

export interface Citation {
  clause: string;
  suite: Suite;
  /** `citation`: a test title, a case or a mutant names the clause; `mention`: the id merely occurs. */
  kind: 'citation' | 'mention';
  /** Repository path. */
  file: string;
  line: number;
  /** Test title, case title or mutant bug; '' for a mention. */
  title: string;
  /** Case id or mutant name, for data-defined entries. */
  name?: string;
}

/** Folders left out of scanning: the docs' own tests name clause ids as data. */
const SKIPPED = new Set(['test/docs']);

function listSources(root: string, dir: string, pattern: RegExp): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs) || SKIPPED.has(dir)) return [];
  const out: string[] = [];
  const entries = fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) { if (entry.name !== 'node_modules') out.push(...listSources(root, rel, pattern)); }
    else if (pattern.test(entry.name) && !/\.d\.ts$/.test(entry.name)) out.push(rel);
  }
  return out;
}

const CITATION = /\[\s*([A-Z][A-Z0-9]*-\d+(?:\s*,\s*[A-Z][A-Z0-9]*-\d+)*)\s*\]/g;
const STRING = /(['"`])((?:\\.|(?!\1)[^\\])*?)\1/g;
const ID = /\b[A-Z][A-Z0-9]*-\d+\b/g;

/** Citations and mentions in one source file, read as text. */
function scanSource(root: string, file: string, suite: Suite, clauses: ReadonlySet<string>): Citation[] {
  const out: Citation[] = [];
  fs.readFileSync(path.join(root, file), 'utf8').split('\n').forEach((text, index) => {
    const line = index + 1;
    const seen = new Set<string>();
    for (const str of text.matchAll(STRING)) {
      const body = str[2].replace(/\\(['"`\\])/g, '$1');
      for (const c of body.matchAll(CITATION)) {
        const title = body.replace(CITATION, '').replace(/\s+/g, ' ').trim();
        for (const id of c[1].split(/\s*,\s*/)) {
          if (!clauses.has(id) || seen.has(id)) continue;
          seen.add(id);
          out.push({ clause: id, suite, kind: 'citation', file, line, title: title || body.trim() });
        }
      }
    }
    for (const m of text.matchAll(ID)) {
      if (!clauses.has(m[0]) || seen.has(m[0])) continue;
      seen.add(m[0]);
      out.push({ clause: m[0], suite, kind: 'mention', file, line, title: '' });
    }
  });
  return out;
}

interface CaseLike { id: string; title: string; clauses: string[] }
interface MutantLike { name: string; bug: string; clauses: string[] }

const isCase = (v: unknown): v is CaseLike => typeof v === 'object' && v !== null
  && typeof (v as CaseLike).id === 'string' && typeof (v as CaseLike).title === 'string' && Array.isArray((v as CaseLike).clauses);
const isMutant = (v: unknown): v is MutantLike => typeof v === 'object' && v !== null
  && typeof (v as MutantLike).name === 'string' && typeof (v as MutantLike).bug === 'string' && Array.isArray((v as MutantLike).clauses);

/** The line of `needle` in a source file (1 when not found). */
function lineOf(source: string, needle: string): number {
  const at = source.indexOf(needle);
  return at < 0 ? 1 : source.slice(0, at).split('\n').length;
}

/**
 * The case and mutant tables a conformance module exports, or null when it
 * exports none (or cannot be loaded). `compiledDir` is where the running code's
 * conformance/ lives (dist/conformance when compiled).
 */
function loadTables(root: string, compiledDir: string, file: string, clauses: ReadonlySet<string>): Citation[] | null {
  const rel = file.replace(/^conformance\//, '').replace(/\.ts$/, '');
  let exports: Record<string, unknown>;
  try {
    exports = require(path.join(compiledDir, rel)) as Record<string, unknown>;
  } catch {
    return null;
  }
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const out: Citation[] = [];
  let found = false;
  for (const key of Object.keys(exports).sort()) {
    const value = exports[key];
    if (!Array.isArray(value) || value.length === 0) continue;
    if (value.every(isCase)) {
      found = true;
      for (const c of value) {
        if (!source.includes(`'${c.id}'`)) continue; // re-exported from the file that defines it
        const line = lineOf(source, `'${c.id}'`);
        for (const id of new Set(c.clauses)) if (clauses.has(id)) out.push({ clause: id, suite: 'conformance', kind: 'citation', file, line, title: c.title, name: c.id });
      }
    } else if (value.every(isMutant)) {
      found = true;
      for (const m of value) {
        if (!source.includes(`'${m.name}'`)) continue; // re-exported from the file that defines it
        const line = lineOf(source, `'${m.name}'`);
        for (const id of new Set(m.clauses)) if (clauses.has(id)) out.push({ clause: id, suite: 'mutant', kind: 'citation', file, line, title: m.bug, name: m.name });
      }
    }
  }
  return found ? out : null;
}

/** Every citation and mention of a known clause, in file and line order. */
export function scanCitations(root: string, clauses: ReadonlySet<string>): Citation[] {
  const out: Citation[] = [];
  for (const file of listSources(root, 'test', /\.ts$/)) out.push(...scanSource(root, file, 'test', clauses));
  const compiledDir = path.resolve(__dirname, '..', '..', 'conformance');
  for (const file of listSources(root, 'conformance', /\.ts$/)) {
    const tables = fs.existsSync(compiledDir) ? loadTables(root, compiledDir, file, clauses) : null;
    out.push(...(tables ?? scanSource(root, file, 'conformance', clauses)));
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}
