// The clause registry, read from the prose spec (spec/spec.md), the single
// source of the clause ids that the model, tests, suite and docs cite.
import * as fs from 'fs';
import * as path from 'path';
import { repositoryRoot } from './paths';

export interface Clause {
  id: string;
  family: string;
  title: string;
  text: string;
  /** 1-based line of the clause in spec.md. */
  line: number;
}

export const CLAUSE_FAMILIES = [
  'BUS',
  'PEER',
  'NODE',
  'HANDLE',
  'MINT',
  'RELEASE',
  'REVOKE',
  'DESTROY',
  'SEND',
  'CALL',
  'MCAST',
  'RECV',
  'CANCEL',
  'DELIVER',
  'CRED',
  'NOTICE',
  'ORDER',
  'QUOTA',
  'CLOSE',
  'ATOMIC',
  'ERR',
  'TIME',
  'BOUND',
  'INV',
] as const;

/** Matches a clause id anywhere in text. */
export const CLAUSE_ID = new RegExp(`\\b(?:${CLAUSE_FAMILIES.join('|')})-\\d+\\b`, 'g');

export const specPath = (): string => path.join(repositoryRoot(), 'spec', 'spec.md');

/** Order clause ids by family as the spec lists them, then by number. */
export function compareClauseIds(a: string, b: string): number {
  const [fa, na] = a.split('-');
  const [fb, nb] = b.split('-');
  const ra = (CLAUSE_FAMILIES as readonly string[]).indexOf(fa);
  const rb = (CLAUSE_FAMILIES as readonly string[]).indexOf(fb);
  return fa === fb ? Number(na) - Number(nb) : ra - rb || fa.localeCompare(fb);
}

/** Parse clauses: a paragraph starting `**ID** *Title.* text`, ending at a blank line. */
export function parseClauses(markdown: string): Clause[] {
  const lines = markdown.split('\n');
  const clauses: Clause[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\*\*([A-Z]+)-(\d+)\*\*\s+(?:\*([^*]+)\*\s*)?(.*)$/.exec(lines[i]);
    if (!m) continue;
    const body = [m[4]];
    let j = i + 1;
    while (j < lines.length && lines[j].trim() !== '') body.push(lines[j++]);
    clauses.push({
      id: `${m[1]}-${m[2]}`,
      family: m[1],
      title: (m[3] ?? '').replace(/\.$/, '').trim(),
      text: body.join(' ').trim(),
      line: i + 1,
    });
    i = j - 1;
  }
  return clauses;
}

let cached: Clause[] | null = null;
export function loadClauses(file?: string): Clause[] {
  if (!file && cached) return cached;
  const clauses = parseClauses(fs.readFileSync(file ?? specPath(), 'utf8'));
  if (!file) cached = clauses;
  return clauses;
}

/** Every clause id of the spec, in spec order. */
export function loadClauseIds(): string[] {
  return loadClauses().map((c) => c.id);
}
