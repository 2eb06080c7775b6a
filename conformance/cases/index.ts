// Every scenario case, as data, and what each needs of an implementation.
import type { OperationName } from '../../spec/types';
import type { Feature } from '../../protocol/driver';
import type { Case } from './dsl';
import { HANDLE_CASES } from './handles';
import { MESSAGE_CASES } from './messages';
import { BOUND_CASES } from './bounds';
import { CALL_CASES } from './calls';
import { OUTCOME_CASES } from './outcomes';
import { ABANDON_CASES } from './abandon';
import { DELIVERY_CASES } from './delivery';
import { GAP_CASES } from './gaps';
import { OPERATIONS } from '../../spec/registry/operations';

export const CASES: readonly Case[] = [
  ...HANDLE_CASES,
  ...MESSAGE_CASES,
  ...BOUND_CASES,
  ...CALL_CASES,
  ...OUTCOME_CASES,
  ...ABANDON_CASES,
  ...DELIVERY_CASES,
  ...GAP_CASES,
];

export interface Requirements {
  operations: OperationName[];
  features: Feature[];
}

/** The operations of the spec's registry: a case's steps need those it uses. */
const KNOWN_OPERATIONS = new Set<string>(OPERATIONS.map((o) => o.name));

/** TIME-4: an operation that may wait is one whose timeoutMs is left out or greater than 0. */
const mayWait = (o: { timeoutMs?: unknown }) =>
  o.timeoutMs === undefined || (typeof o.timeoutMs === 'number' && o.timeoutMs > 0);

/** What a case needs, read from its operations (plus what it declares). */
export function requirementsOf(c: Case): Requirements {
  const ops = new Set<OperationName>(['attach', 'close']);
  const features = new Set<Feature>(c.features ?? []);
  if (c.limits) features.add('configurable-limits');
  for (const { op } of c.steps) {
    const o = op as any;
    if (KNOWN_OPERATIONS.has(o.op)) ops.add(o.op);
    if (o.op === 'tick') features.add('virtual-clock');
    if (typeof o.timeoutMs === 'number' && o.timeoutMs > 0) features.add('virtual-clock');
    if (o.op === 'send' && mayWait(o)) features.add('blocking-send');
    if ((o.op === 'receive' || o.op === 'replyReceive') && mayWait(o)) features.add('blocking-receive');
    if (o.op === 'createNode' && o.credentials === true) features.add('credentials');
    if (o.op === 'call' && o.replierCredentials === true) features.add('credentials');
    if (Array.isArray(o.message?.transfers) && o.message.transfers.length > 0) features.add('transfers');
  }
  return { operations: [...ops], features: [...features] };
}

export type { Case } from './dsl';
