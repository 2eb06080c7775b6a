// Which tests and conformance cases cite which clause, found by reading their
// source text: a bracketed citation inside a string (a test title such as
// 'a revoked handle fails REVOKED [REVOKE-1, HANDLE-6]') names a case; any
// other mention of a clause id in the file counts as a mention on that line.
import * as fs from 'fs';
import * as path from 'path';

export interface Citation {
  clause: string;
  /** `test` for test/**, `conformance` for conformance/**. */
  suite: 'test' | 'conformance';
  /** Repository path. */
  file: string;
  line: number;
  /** The case title (the string holding the citation), or '' for a plain mention. */
  title: string;
}

/** Folders scanned, and folders left out (the docs' own tests name ids as data). */
const SCANNED: { dir: string; suite: Citation['suite'] }[] = [
  { dir: 'test', suite: 'test' },
  { dir: 'conformance', suite: 'conformance' },
];
const SKIPPED = new Set(['test/docs']);

function listTs(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs) || SKIPPED.has(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) { if (entry.name !== 'node_modules') out.push(...listTs(root, rel)); }
    else if (/\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name)) out.push(rel);
  }
  return out;
}

const CITATION = /\[\s*([A-Z][A-Z0-9]*-\d+(?:\s*,\s*[A-Z][A-Z0-9]*-\d+)*)\s*\]/g;
const STRING = /(['"`])((?:\\.|(?!\1)[^\\])*?)\1/g;
const ID = /\b[A-Z][A-Z0-9]*-\d+\b/g;

/** Every citation of a known clause in the test and conformance sources, in file and line order. */
export function scanCitations(root: string, clauses: ReadonlySet<string>): Citation[] {
  const out: Citation[] = [];
  for (const { dir, suite } of SCANNED) {
    for (const file of listTs(root, dir)) {
      const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
      lines.forEach((text, index) => {
        const line = index + 1;
        const cited = new Set<string>();
        for (const str of text.matchAll(STRING)) {
          const body = str[2];
          for (const c of body.matchAll(CITATION)) {
            const title = body.replace(CITATION, '').replace(/\s+/g, ' ').trim();
            for (const id of c[1].split(/\s*,\s*/)) {
              if (!clauses.has(id) || cited.has(id)) continue;
              cited.add(id);
              out.push({ clause: id, suite, file, line, title: title || body.trim() });
            }
          }
        }
        for (const m of text.matchAll(ID)) {
          if (!clauses.has(m[0]) || cited.has(m[0])) continue;
          cited.add(m[0]);
          out.push({ clause: m[0], suite, file, line, title: '' });
        }
      });
    }
  }
  return out;
}
