// Conformance levels: what a verdict is made of. Each level is data: the
// operations and features an implementation declares for it, and the clauses it
// owns (whole families, or single clauses taken from another family). A case
// belongs to every level whose operations or features it needs, and to core when
// it needs none of theirs; a clause belongs to exactly one level. A level passes
// when the implementation declares what it needs and every case of it that ran
// passed (and, for concurrency, the linearizability property ran and passed).
import type { OperationName } from '../spec/types';
import type { Feature } from '../protocol/driver';
import { CLAUSE_FAMILIES } from '../spec/clauses';
import { CASES, requirementsOf, type Case } from './cases';

export const LEVEL_NAMES = [
  'core',
  'limits',
  'revocation',
  'transfers',
  'calls',
  'multicast',
  'blocking',
  'credentials',
  'concurrency',
] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];

export interface Level {
  name: LevelName;
  /** What it covers, in a phrase. */
  summary: string;
  /** The operations an implementation declares for this level. */
  operations: OperationName[];
  /** The features it declares. */
  features: Feature[];
  /** Clause families the level owns. */
  families: string[];
  /** Single clauses it owns, from any family (these win over families). */
  clauses: string[];
  /** A property that must run and pass for the level (beside its cases). */
  property?: 'linearizability';
}

export const LEVELS: readonly Level[] = [
  {
    name: 'core',
    summary: 'peers, nodes, handles, minting, release, one-way messages, receive, notices, quotas and close',
    operations: ['attach', 'createNode', 'mint', 'release', 'sameNode', 'send', 'receive', 'close'],
    features: [],
    families: CLAUSE_FAMILIES.filter(
      (f) => !['REVOKE', 'DESTROY', 'CALL', 'MCAST', 'CRED', 'TIME'].includes(f),
    ) as string[],
    clauses: [],
  },
  {
    name: 'limits',
    summary: 'the bus takes the limits the suite asks for, so every edge is probed at small limits',
    operations: [],
    features: ['configurable-limits'],
    families: [],
    clauses: ['BUS-1'],
  },
  {
    name: 'revocation',
    summary: 'revoke and node destruction: revoked and dead handles, their notices, conditional destroy',
    operations: ['revoke', 'destroyNode'],
    features: [],
    families: ['REVOKE', 'DESTROY'],
    clauses: [],
  },
  {
    name: 'transfers',
    summary: 'handles carried in messages: attenuation, move, the handle quota',
    operations: [],
    features: ['transfers'],
    families: [],
    clauses: ['SEND-4', 'SEND-5', 'SEND-6', 'QUOTA-4', 'RECV-3', 'INV-2'],
  },
  {
    name: 'calls',
    summary: 'call and reply: one-shot reply handles, exactly one outcome, delegation',
    operations: ['call', 'reply'],
    features: [],
    families: ['CALL'],
    clauses: ['INV-6'],
  },
  {
    name: 'multicast',
    summary: 'atomic multicast, ordered alike at every receiver',
    operations: ['multicast'],
    features: [],
    families: ['MCAST'],
    clauses: ['ORDER-3'],
  },
  {
    name: 'blocking',
    summary: 'waiting sends and receives, deadlines on a virtual clock',
    operations: ['tick'],
    features: ['virtual-clock', 'blocking-send', 'blocking-receive'],
    families: ['TIME'],
    clauses: ['SEND-7', 'SEND-8', 'RECV-2', 'BOUND-2'],
  },
  {
    name: 'credentials',
    summary: 'sender credentials stamped by the bus on nodes that ask',
    operations: [],
    features: ['credentials'],
    families: ['CRED'],
    clauses: ['INV-10'],
  },
  {
    name: 'concurrency',
    summary: 'peers that really run in parallel: every concurrent history linearizable',
    operations: [],
    features: ['concurrency'],
    families: [],
    clauses: ['INV-7'],
    property: 'linearizability',
  },
];

export function levelNamed(name: string): Level | undefined {
  return LEVELS.find((l) => l.name === name);
}

/** The one level a clause belongs to. */
export function levelOfClause(id: string): LevelName {
  const single = LEVELS.find((l) => l.clauses.includes(id));
  if (single) return single.name;
  const family = id.split('-')[0];
  return LEVELS.find((l) => l.name !== 'core' && l.families.includes(family))?.name ?? 'core';
}

/** The levels a case belongs to: those whose operations or features it needs; core when none. */
export function levelsOfCase(c: Case): LevelName[] {
  const req = requirementsOf(c);
  const ops = new Set<string>(req.operations);
  const features = new Set<string>(req.features);
  const levels = LEVELS.filter(
    (l) => l.name !== 'core' && (l.operations.some((o) => ops.has(o)) || l.features.some((f) => features.has(f))),
  ).map((l) => l.name);
  return levels.length ? levels : ['core'];
}

/** The cases of a level. */
export function casesOfLevel(name: LevelName): Case[] {
  return CASES.filter((c) => levelsOfCase(c).includes(name));
}

/** What an implementation lacks for a level: "operation revoke", "feature transfers". */
export function missingForLevel(
  level: Level,
  declared: { operations: readonly string[]; features: readonly string[] },
): string[] {
  return [
    ...level.operations.filter((o) => !declared.operations.includes(o)).map((o) => `operation ${o}`),
    ...level.features.filter((f) => !declared.features.includes(f)).map((f) => `feature ${f}`),
  ];
}
