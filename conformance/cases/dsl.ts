// A small vocabulary for writing scenario cases as data. Names are the
// model's (peers 1, 2, 3..., handles 1, 2, 3... per peer, in order of entry,
// HANDLE-2); the suite translates them for the implementation.
import type { BootstrapGrant, Credentials, ErrorCode, Limits, Operation, Right, Transfer } from '../../spec/types';
import type { Feature } from '../../protocol/driver';

/** What a step must give: 'ok', 'pending', or an error code; `match` is a deep partial of the value. */
export type Expectation = 'ok' | 'pending' | ErrorCode;

export interface CaseStep {
  op: Operation;
  expect?: Expectation;
  /** A deep partial of the ok value (arrays compared by length and position). */
  match?: unknown;
}

export interface Case {
  /** Stable id, kebab-case. */
  id: string;
  /** A sentence about the behaviour. */
  title: string;
  /** The clause ids it exercises (spec/spec.md). */
  clauses: string[];
  limits?: Partial<Limits>;
  /** Features needed beyond those read from the operations. */
  features?: Feature[];
  steps: CaseStep[];
}

export const creds = (uid: number): Credentials => ({ uid, gid: uid + 100, pid: uid + 200 });
const text = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export interface MessageOptions {
  transfers?: Transfer[];
  segments?: string[];
  /**
   * For send: 0 by default (does not wait, TIME-4); null leaves it out (waits without limit). For
   * call: left out by default (waits for its outcome without limit).
   */
  timeoutMs?: number | null;
  /** call: the reply carries the replier's credentials (CRED-3). */
  replierCredentials?: boolean;
}

/** timeoutMs for an operation that waits only when asked to: 0 unless given; null leaves it out (TIME-4). */
const noWait = (timeoutMs: number | null | undefined) => (timeoutMs === null ? {} : { timeoutMs: timeoutMs ?? 0 });
const message = (payload: string, o: MessageOptions = {}) => ({
  segments: o.segments ? o.segments.map(text) : [text(payload)],
  ...(o.transfers ? { transfers: o.transfers } : {}),
});

export const op = {
  attach: (uid: number, bootstrap?: BootstrapGrant[]): Operation => ({
    op: 'attach',
    credentials: creds(uid),
    ...(bootstrap ? { bootstrap } : {}),
  }),
  createNode: (peer: number, credentials?: boolean, acceptsHandles?: boolean): Operation => ({
    op: 'createNode',
    peer,
    ...(credentials !== undefined ? { credentials } : {}),
    ...(acceptsHandles !== undefined ? { acceptsHandles } : {}),
  }),
  mint: (peer: number, handle: number, rights: Right[], badge?: number): Operation => ({
    op: 'mint',
    peer,
    handle,
    rights,
    ...(badge !== undefined ? { badge } : {}),
  }),
  release: (peer: number, handle: number): Operation => ({ op: 'release', peer, handle }),
  revoke: (peer: number, handle: number): Operation => ({ op: 'revoke', peer, handle }),
  destroyNode: (peer: number, handle: number, derivedCount?: number): Operation => ({
    op: 'destroyNode',
    peer,
    handle,
    ...(derivedCount !== undefined ? { derivedCount } : {}),
  }),
  sameNode: (peer: number, handle: number, other: number): Operation => ({ op: 'sameNode', peer, handle, other }),
  send: (peer: number, handle: number, payload = '', o: MessageOptions = {}): Operation => ({
    op: 'send',
    peer,
    handle,
    message: message(payload, o),
    ...noWait(o.timeoutMs),
  }),
  call: (peer: number, handle: number, payload = '', o: MessageOptions = {}): Operation => ({
    op: 'call',
    peer,
    handle,
    message: message(payload, o),
    ...(o.timeoutMs !== undefined && o.timeoutMs !== null ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.replierCredentials !== undefined ? { replierCredentials: o.replierCredentials } : {}),
  }),
  reply: (peer: number, handle: number, payload = '', o: MessageOptions = {}): Operation => ({
    op: 'reply',
    peer,
    handle,
    message: message(payload, o),
  }),
  /** Answer and receive in one step (CALL-10); like receive, it does not wait unless `timeoutMs` says so. */
  replyReceive: (peer: number, handle: number, payload = '', o: MessageOptions & { max?: number } = {}): Operation => ({
    op: 'replyReceive',
    peer,
    handle,
    message: message(payload, o),
    max: o.max ?? 16,
    ...noWait(o.timeoutMs),
  }),
  multicast: (
    peer: number,
    handles: number[],
    payload = '',
    o: MessageOptions & { skipFull?: boolean } = {},
  ): Operation => ({
    op: 'multicast',
    peer,
    handles,
    message: message(payload, o),
    ...(o.skipFull !== undefined ? { skipFull: o.skipFull } : {}),
  }),
  /** 0 by default: returns at once (TIME-4); null waits without limit. */
  receive: (peer: number, max = 16, timeoutMs: number | null = 0): Operation => ({
    op: 'receive',
    peer,
    max,
    ...noWait(timeoutMs),
  }),
  /** Cancel the pending operation with this (model) ticket (CANCEL-1). */
  cancel: (peer: number, ticket: number): Operation => ({ op: 'cancel', peer, ticket }),
  close: (peer: number): Operation => ({ op: 'close', peer }),
  tick: (ms: number): Operation => ({ op: 'tick', ms }),
};

/** A transfer: `t(3)`, `t(3, ['send'])`, `t(3, undefined, true)` (move). */
export const t = (handle: number, rights?: Right[], move?: boolean): Transfer => ({
  handle,
  ...(rights ? { rights } : {}),
  ...(move ? { move } : {}),
});

/** A step with an expectation. */
export const x = (o: Operation, expect?: Expectation, match?: unknown): CaseStep => ({
  op: o,
  ...(expect ? { expect } : {}),
  ...(match !== undefined ? { match } : {}),
});

/**
 * The usual start: p1 owns node A (p1.h1); p2 holds p2.h1 -> A (send, grant),
 * and owns node B (p2.h2). With `three`, p3 holds p3.h1 -> A and p3.h2 -> B and owns node C (p3.h3).
 */
export function setup(three = false): CaseStep[] {
  const steps = [
    x(op.attach(1001), 'ok', { peer: 1 }),
    x(op.createNode(1), 'ok', { handle: 1 }),
    x(op.attach(1002, [{ fromPeer: 1, handle: 1 }]), 'ok', { peer: 2, handles: [1] }),
    x(op.createNode(2), 'ok', { handle: 2 }),
  ];
  if (three) {
    steps.push(
      x(
        op.attach(1003, [
          { fromPeer: 1, handle: 1 },
          { fromPeer: 2, handle: 2 },
        ]),
        'ok',
        { peer: 3, handles: [1, 2] },
      ),
      x(op.createNode(3), 'ok', { handle: 3 }),
    );
  }
  return steps;
}

export const payload = text;
