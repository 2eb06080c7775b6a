import type { Limits } from '../types';

export interface LimitEntry {
  name: keyof Limits;
  defaultValue: number;
  unit: 'peers' | 'handles' | 'bytes' | 'messages' | 'nodes' | 'operations';
  meaning: string;
  clauses: string[];
}

export const LIMITS: readonly LimitEntry[] = [
  {
    name: 'maxPeers',
    defaultValue: 64,
    unit: 'peers',
    meaning: 'Open peers at one time (ids are never reused).',
    clauses: ['BUS-2', 'PEER-1'],
  },
  {
    name: 'maxHandlesPerPeer',
    defaultValue: 256,
    unit: 'handles',
    meaning: 'Entries in one handle table, counting handles in flight to it.',
    clauses: ['HANDLE-1'],
  },
  {
    name: 'maxNodesPerPeer',
    defaultValue: 64,
    unit: 'nodes',
    meaning: 'Live nodes one peer owns; a node counts until destroyed, even after its root handle is released.',
    clauses: ['NODE-4', 'BOUND-1'],
  },
  {
    name: 'maxPendingPerPeer',
    defaultValue: 64,
    unit: 'operations',
    meaning:
      'Pending operations of one peer: calls awaiting their outcome, blocked sends and waiting receives together.',
    clauses: ['BOUND-2', 'BOUND-1'],
  },
  {
    name: 'maxPayloadBytes',
    defaultValue: 65536,
    unit: 'bytes',
    meaning: 'Gathered payload of one message.',
    clauses: ['SEND-2'],
  },
  {
    name: 'maxHandlesPerMessage',
    defaultValue: 8,
    unit: 'handles',
    meaning: 'Transfers in one message.',
    clauses: ['SEND-3'],
  },
  {
    name: 'queueCapacityMessages',
    defaultValue: 64,
    unit: 'messages',
    meaning: 'Messages and calls in one receive queue (notices not counted).',
    clauses: ['QUOTA-1'],
  },
  {
    name: 'queueCapacityBytes',
    defaultValue: 1048576,
    unit: 'bytes',
    meaning: 'Payload bytes in one receive queue.',
    clauses: ['QUOTA-1'],
  },
  {
    name: 'senderQuotaMessages',
    defaultValue: 16,
    unit: 'messages',
    meaning: 'Messages and calls one sender may have in one receive queue.',
    clauses: ['QUOTA-1'],
  },
  {
    name: 'senderQuotaBytes',
    defaultValue: 262144,
    unit: 'bytes',
    meaning: 'Payload bytes one sender may have in one receive queue.',
    clauses: ['QUOTA-1'],
  },
  {
    name: 'senderQuotaHandles',
    defaultValue: 64,
    unit: 'handles',
    meaning:
      "Handles in flight one sender may have in one receiver's table: the transfers and reply handles of its queued messages and calls.",
    clauses: ['QUOTA-4', 'QUOTA-1'],
  },
];

export const DEFAULT_LIMITS: Limits = Object.freeze(
  Object.fromEntries(LIMITS.map((l) => [l.name, l.defaultValue])) as unknown as Limits,
);

/** Fill in defaults and check every limit is a positive safe integer. Returns an error text or the limits. */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const entry of LIMITS) {
    const v = limits[entry.name];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(`limit ${entry.name} must be a positive safe integer, got ${JSON.stringify(v)}`);
    }
  }
  for (const key of Object.keys(partial)) {
    if (!LIMITS.some((l) => l.name === key)) throw new RangeError(`unknown limit ${key}`);
  }
  return limits;
}
