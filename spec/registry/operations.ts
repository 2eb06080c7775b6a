import type { ErrorCode, OperationName } from '../types';

/** One row of the operation registry. `argumentsType`/`resultType` name types in spec/types.ts. */
export interface OperationEntry {
  name: OperationName;
  summary: string;
  argumentsType: string;
  resultType: string;
  /** Who may invoke it: a peer, or the trusted bus owner. */
  by: 'peer' | 'owner';
  /** Whether the operation may return pending and complete later (TIME-2). */
  blocking: boolean;
  /** Every error the operation can return, in check order (ERR-1); outcomes of a pending operation included. */
  errors: ErrorCode[];
  clauses: string[];
}

const PEER_START: ErrorCode[] = ['INVALID_ARGUMENT', 'CLOSED'];
const TARGET: ErrorCode[] = ['BAD_HANDLE', 'WRONG_KIND', 'REVOKED', 'DEAD'];
const MESSAGE: ErrorCode[] = ['TOO_LARGE', 'TOO_MANY_HANDLES'];

export const OPERATIONS: readonly OperationEntry[] = [
  {
    name: 'attach',
    summary: 'Attach a new peer with credentials and bootstrap handles.',
    argumentsType: 'AttachOp',
    resultType: 'AttachValue',
    by: 'owner',
    blocking: false,
    errors: ['INVALID_ARGUMENT', 'TABLE_FULL', 'BAD_HANDLE', 'WRONG_KIND', 'REVOKED', 'DEAD', 'NO_RIGHTS'],
    clauses: ['BUS-2', 'BUS-3', 'PEER-1'],
  },
  {
    name: 'createNode',
    summary: 'Create a node; get its root handle with all rights.',
    argumentsType: 'CreateNodeOp',
    resultType: 'HandleValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START, 'TABLE_FULL'],
    clauses: ['NODE-1', 'NODE-3', 'NODE-4', 'NODE-5', 'CRED-1'],
  },
  {
    name: 'mint',
    summary: 'Derive a handle with the same or fewer rights, optionally badged.',
    argumentsType: 'MintOp',
    resultType: 'HandleValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START, ...TARGET, 'NO_RIGHTS', 'TABLE_FULL'],
    clauses: ['MINT-1', 'MINT-2', 'MINT-3'],
  },
  {
    name: 'release',
    summary: 'Drop a handle; its children re-attach to its parent.',
    argumentsType: 'ReleaseOp',
    resultType: 'EmptyValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START, 'BAD_HANDLE'],
    clauses: ['RELEASE-1', 'RELEASE-2', 'RELEASE-3'],
  },
  {
    name: 'revoke',
    summary: 'Revoke every handle derived from this one, everywhere.',
    argumentsType: 'RevokeOp',
    resultType: 'RevokeValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START, ...TARGET],
    clauses: ['REVOKE-1', 'REVOKE-2', 'REVOKE-3'],
  },
  {
    name: 'destroyNode',
    summary: 'Destroy a node the peer owns; optionally only if nothing was derived for it since a count.',
    argumentsType: 'DestroyNodeOp',
    resultType: 'EmptyValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START, ...TARGET, 'NOT_OWNER', 'STALE'],
    clauses: ['DESTROY-1', 'DESTROY-2', 'DESTROY-3', 'DESTROY-4', 'DESTROY-5'],
  },
  {
    name: 'sameNode',
    summary: "Tell whether two of the peer's handles designate the same node.",
    argumentsType: 'SameNodeOp',
    resultType: 'SameNodeValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START, ...TARGET],
    clauses: ['NODE-6'],
  },
  {
    name: 'send',
    summary: 'Send a message through a node handle; wait for room unless timeoutMs is 0.',
    argumentsType: 'SendOp',
    resultType: 'EmptyValue',
    by: 'peer',
    blocking: true,
    errors: [
      ...PEER_START,
      ...MESSAGE,
      ...TARGET,
      'NO_RIGHTS',
      'CALLER_GONE',
      'TABLE_FULL',
      'QUEUE_FULL',
      'TOO_MANY_PENDING',
      'TIMED_OUT',
      'CANCELLED',
    ],
    clauses: [
      'SEND-1',
      'SEND-2',
      'SEND-3',
      'SEND-4',
      'SEND-5',
      'SEND-6',
      'SEND-7',
      'SEND-8',
      'QUOTA-2',
      'QUOTA-4',
      'QUOTA-5',
      'TIME-4',
    ],
  },
  {
    name: 'call',
    summary: 'Send a message with a fresh reply handle and wait for one outcome; optionally the replier credentials.',
    argumentsType: 'CallOp',
    resultType: 'CallValue',
    by: 'peer',
    blocking: true,
    errors: [
      ...PEER_START,
      ...MESSAGE,
      ...TARGET,
      'NO_RIGHTS',
      'CALLER_GONE',
      'TABLE_FULL',
      'QUEUE_FULL',
      'TOO_MANY_PENDING',
      'TIMED_OUT',
      'NO_REPLY',
      'CANCELLED',
    ],
    clauses: ['CALL-1', 'CALL-2', 'CALL-8', 'QUOTA-2', 'QUOTA-5', 'BOUND-2', 'CRED-3', 'TIME-4'],
  },
  {
    name: 'reply',
    summary: 'Answer a call through its reply handle (consumes it).',
    argumentsType: 'ReplyOp',
    resultType: 'EmptyValue',
    by: 'peer',
    blocking: false,
    errors: [
      ...PEER_START,
      ...MESSAGE,
      'BAD_HANDLE',
      'WRONG_KIND',
      'REVOKED',
      'DEAD',
      'NO_RIGHTS',
      'CALLER_GONE',
      'TABLE_FULL',
    ],
    clauses: ['CALL-3', 'CALL-4', 'CALL-6', 'CALL-7', 'CALL-9'],
  },
  {
    name: 'replyReceive',
    summary: 'Answer a call, then receive, in one step; a reply to a caller gone is dropped.',
    argumentsType: 'ReplyReceiveOp',
    resultType: 'ReceiveValue',
    by: 'peer',
    blocking: true,
    errors: [
      ...PEER_START,
      ...MESSAGE,
      'BAD_HANDLE',
      'WRONG_KIND',
      'REVOKED',
      'DEAD',
      'NO_RIGHTS',
      'CALLER_GONE',
      'TABLE_FULL',
      'TOO_MANY_PENDING',
      'CANCELLED',
    ],
    clauses: ['CALL-10', 'CALL-3', 'CALL-6', 'RECV-1', 'RECV-2', 'BOUND-2', 'TIME-4'],
  },
  {
    name: 'multicast',
    summary: 'One message to many nodes, atomically; dead destinations skipped, and full ones with skipFull.',
    argumentsType: 'MulticastOp',
    resultType: 'MulticastValue',
    by: 'peer',
    blocking: false,
    errors: [
      ...PEER_START,
      ...MESSAGE,
      'BAD_HANDLE',
      'WRONG_KIND',
      'REVOKED',
      'NO_RIGHTS',
      'DEAD',
      'TABLE_FULL',
      'QUEUE_FULL',
    ],
    clauses: ['MCAST-1', 'MCAST-2', 'MCAST-3', 'MCAST-4', 'MCAST-5', 'MCAST-6', 'QUOTA-5'],
  },
  {
    name: 'receive',
    summary: 'Take up to max deliveries in bus order; wait for one unless timeoutMs is 0.',
    argumentsType: 'ReceiveOp',
    resultType: 'ReceiveValue',
    by: 'peer',
    blocking: true,
    errors: [...PEER_START, 'TOO_MANY_PENDING', 'CANCELLED'],
    clauses: ['RECV-1', 'RECV-2', 'RECV-3', 'ORDER-2', 'BOUND-2', 'TIME-4'],
  },
  {
    name: 'cancel',
    summary: "End one of the peer's pending operations; says whether it was still pending.",
    argumentsType: 'CancelOp',
    resultType: 'CancelValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START],
    clauses: ['CANCEL-1', 'CANCEL-2', 'CANCEL-3'],
  },
  {
    name: 'close',
    summary:
      'Detach the peer: resolve its pending operations, destroy its nodes, release its handles, discard its queue.',
    argumentsType: 'CloseOp',
    resultType: 'EmptyValue',
    by: 'peer',
    blocking: false,
    errors: [...PEER_START],
    clauses: ['CLOSE-1', 'CLOSE-2', 'CLOSE-3', 'CLOSE-4'],
  },
  {
    name: 'tick',
    summary: 'Advance the bus clock; expire deadlines.',
    argumentsType: 'TickOp',
    resultType: 'TickValue',
    by: 'owner',
    blocking: false,
    errors: ['INVALID_ARGUMENT'],
    clauses: ['TIME-1', 'TIME-3'],
  },
];

export function operationEntry(name: OperationName): OperationEntry {
  const entry = OPERATIONS.find((o) => o.name === name);
  if (!entry) throw new Error(`no operation ${name} in the registry`);
  return entry;
}
