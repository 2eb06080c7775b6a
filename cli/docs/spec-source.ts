// Reads the prose spec (spec/spec.md) into families and clauses. Format:
//   ## Family title (FAMILY)
//   **FAMILY-1** *Title.* Text of the clause ...
// (spec/clauses.ts parses the same clauses for the tests; the browser test
// cross-checks that both parsers find the same ids.)
import * as fs from 'fs';
import * as path from 'path';
import { parseBlocks, plainText } from './markdown';

export interface Clause {
  id: string;
  title: string;
  /** The clause text as Markdown (without the id and title). */
  text: string;
  family: string;
}

export interface Family {
  id: string;
  title: string;
  clauses: Clause[];
}

export interface SpecSource {
  /** Repository path the clauses were read from. */
  file: string;
  markdown: string;
  families: Family[];
  clauses: Clause[];
}

export const CLAUSE_PARAGRAPH = /^\*\*([A-Z][A-Z0-9]*-\d+)\*\*[ \t]*(?:\*([^*]+)\*)?\s*([\s\S]*)$/;
export const FAMILY_HEADING = /^(.*?)\s*\(([A-Z][A-Z0-9]*)\)\s*$/;

export function parseSpec(markdown: string, file: string): SpecSource {
  const blocks = parseBlocks(markdown);
  const families: Family[] = [];
  const clauses: Clause[] = [];
  let current: Family | null = null;
  for (const b of blocks) {
    if (b.kind === 'heading' && b.level === 2) {
      const m = FAMILY_HEADING.exec(b.text);
      current = m ? { id: m[2], title: plainText(m[1]), clauses: [] } : null;
      if (current) families.push(current);
      continue;
    }
    if (b.kind !== 'para') continue;
    const m = CLAUSE_PARAGRAPH.exec(b.text);
    if (!m) continue;
    const clause: Clause = { id: m[1], title: plainText(m[2] ?? '').replace(/\.$/, ''), text: m[3].trim(), family: current?.id ?? '' };
    clauses.push(clause);
    current?.clauses.push(clause);
  }
  return { file, markdown, families, clauses };
}

export function loadSpec(root: string): SpecSource {
  return parseSpec(fs.readFileSync(path.join(root, 'spec', 'spec.md'), 'utf8'), 'spec/spec.md');
}
