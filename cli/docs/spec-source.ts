// Reads the prose spec (spec/spec.md) into families and clauses. Format:
//   ## Family title (FAMILY)
//   **FAMILY-1** *Title.* Text of the clause ...
// Until spec.md exists the clause outline (spec/CLAUSES-OUTLINE.md) stands in,
// converted to the same format, so every other page can already link clauses.
import * as fs from 'fs';
import * as path from 'path';
import { type Block, parseBlocks, plainText } from './markdown';

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
  /** True while only the outline exists. */
  draft: boolean;
  markdown: string;
  blocks: Block[];
  families: Family[];
  clauses: Clause[];
}

export const CLAUSE_PARAGRAPH = /^\*\*([A-Z][A-Z0-9]*-\d+)\*\*[ \t]*(?:\*([^*]+)\*)?\s*([\s\S]*)$/;
export const FAMILY_HEADING = /^(.*?)\s*\(([A-Z][A-Z0-9]*)\)\s*$/;

const OUTLINE_FAMILIES: Record<string, string> = {
  BUS: 'Bus', PEER: 'Peers', NODE: 'Nodes', HANDLE: 'Handles', MINT: 'Mint', RELEASE: 'Release',
  REVOKE: 'Revoke', DESTROY: 'Destroy', SEND: 'Send', CALL: 'Call and reply', MCAST: 'Multicast',
  RECV: 'Receive', DELIVER: 'Deliveries', CRED: 'Credentials', NOTICE: 'Notices', ORDER: 'Order',
  QUOTA: 'Quotas', CLOSE: 'Close', ATOMIC: 'Atomicity', ERR: 'Errors', TIME: 'Time', INV: 'Invariants',
};

/** The outline, rewritten in the spec.md format (titles are not known yet). */
export function outlineToMarkdown(outline: string): string {
  const out: string[] = ['# Tessera protocol specification (outline)', ''];
  let family = '';
  for (const line of outline.split('\n')) {
    const m = /^([A-Z][A-Z0-9]*)-(\d+)\s+(?:\.\.\s+[A-Z]+-\d+:?\s*)?(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] !== family) {
      family = m[1];
      out.push(`## ${OUTLINE_FAMILIES[family] ?? family} (${family})`, '');
    }
    out.push(`**${m[1]}-${m[2]}** ${m[3].replace(/\*/g, '\\*')}`, '');
  }
  return out.join('\n');
}

export function parseSpec(markdown: string, file: string, draft: boolean): SpecSource {
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
  return { file, draft, markdown, blocks, families, clauses };
}

export function loadSpec(root: string): SpecSource {
  const specFile = path.join(root, 'spec', 'spec.md');
  if (fs.existsSync(specFile)) return parseSpec(fs.readFileSync(specFile, 'utf8'), 'spec/spec.md', false);
  const outline = fs.readFileSync(path.join(root, 'spec', 'CLAUSES-OUTLINE.md'), 'utf8');
  return parseSpec(outlineToMarkdown(outline), 'spec/CLAUSES-OUTLINE.md', true);
}
