import type { ErrorCode } from '../types';

/** One row of the error registry (ERR-2). */
export interface ErrorEntry {
  code: ErrorCode;
  /** What makes an operation fail with this code. */
  cause: string;
  /** Whether state is unchanged after the failure (ATOMIC-1). */
  stateUnchanged: boolean;
  clauses: string[];
}

export const ERRORS: readonly ErrorEntry[] = [
  {
    code: 'INVALID_ARGUMENT',
    cause:
      'An argument is malformed: unknown peer id, a right that does not exist, a badge, count or ticket out of range, a boolean that is not one, a list with a hole, a duplicate name, a move in a multicast, a reply handle transferred without move, base64 that is not canonical, or a tick past the end of the clock.',
    stateUnchanged: true,
    clauses: [
      'ERR-1',
      'PEER-2',
      'MINT-3',
      'SEND-2',
      'SEND-5',
      'SEND-6',
      'MCAST-1',
      'RECV-1',
      'BUS-3',
      'NODE-1',
      'TIME-3',
    ],
  },
  {
    code: 'BAD_HANDLE',
    cause: 'The name was never issued to this peer, was released, or belongs to another peer.',
    stateUnchanged: true,
    clauses: ['HANDLE-3', 'RELEASE-1'],
  },
  {
    code: 'WRONG_KIND',
    cause: 'A reply handle was used where a node handle is needed, or the reverse.',
    stateUnchanged: true,
    clauses: ['HANDLE-5'],
  },
  {
    code: 'NO_RIGHTS',
    cause:
      "The handle lacks the right the operation needs (send, or grant to transfer), the rights asked exceed the handle's, a badge was asked for on a badged handle, or the message carries handles to a node that refuses them.",
    stateUnchanged: true,
    clauses: ['HANDLE-4', 'MINT-2', 'MINT-3', 'SEND-1', 'SEND-4', 'MCAST-2', 'NODE-5'],
  },
  {
    code: 'NOT_OWNER',
    cause: 'destroyNode through a handle to a node the peer does not own.',
    stateUnchanged: true,
    clauses: ['DESTROY-1'],
  },
  {
    code: 'DEAD',
    cause: "The handle's node was destroyed; or, as a call outcome, the node died before replying.",
    stateUnchanged: true,
    clauses: ['HANDLE-6', 'DESTROY-2', 'DESTROY-4', 'CALL-2'],
  },
  {
    code: 'REVOKED',
    cause: "The handle was revoked by an ancestor's holder.",
    stateUnchanged: true,
    clauses: ['HANDLE-6', 'REVOKE-1'],
  },
  {
    code: 'STALE',
    cause: "A conditional destroyNode whose derivedCount is no longer the node's: a handle was derived since.",
    stateUnchanged: true,
    clauses: ['DESTROY-5'],
  },
  {
    code: 'TOO_LARGE',
    cause: 'The gathered payload exceeds maxPayloadBytes.',
    stateUnchanged: true,
    clauses: ['SEND-2'],
  },
  {
    code: 'TOO_MANY_HANDLES',
    cause: 'The message carries more than maxHandlesPerMessage handles.',
    stateUnchanged: true,
    clauses: ['SEND-3'],
  },
  {
    code: 'TABLE_FULL',
    cause:
      "A handle table (the peer's own, the receiver's, counting handles in flight, or the caller's for a reply) has no room or no names left, the peer table has no room or no ids left, or the peer owns maxNodesPerPeer live nodes.",
    stateUnchanged: true,
    clauses: ['HANDLE-1', 'NODE-1', 'NODE-4', 'BUS-2', 'BUS-3', 'CALL-6', 'BOUND-3'],
  },
  {
    code: 'QUEUE_FULL',
    cause:
      "The receive queue's capacity or the sender's quota in it (messages, bytes, handles in flight) would be exceeded, or the sender has an older blocked send to that queue; the sender is owed a room notice for that queue.",
    stateUnchanged: false,
    clauses: ['QUOTA-1', 'QUOTA-2', 'QUOTA-4', 'QUOTA-5', 'MCAST-4', 'SEND-8'],
  },
  {
    code: 'TOO_MANY_PENDING',
    cause:
      'The invocation would become pending while the peer has maxPendingPerPeer pending operations, or the bus has issued every ticket.',
    stateUnchanged: true,
    clauses: ['BOUND-2', 'BOUND-3'],
  },
  {
    code: 'TIMED_OUT',
    cause:
      'A call or blocking send reached its deadline; or a call with timeoutMs 0, which may not wait for its reply.',
    stateUnchanged: true,
    clauses: ['CALL-1', 'CALL-2', 'SEND-7', 'TIME-1', 'TIME-4'],
  },
  {
    code: 'NO_REPLY',
    cause: 'Call outcome: the reply handle was released, discarded in flight, or its holder closed.',
    stateUnchanged: true,
    clauses: ['CALL-2', 'CALL-4', 'CLOSE-3'],
  },
  {
    code: 'CALLER_GONE',
    cause:
      'reply through an abandoned reply handle (its call timed out, was cancelled, or its caller closed), which consumes it; or a transfer of an abandoned reply handle, which changes nothing.',
    stateUnchanged: false,
    clauses: ['CALL-4', 'CALL-9', 'SEND-6', 'ATOMIC-1'],
  },
  {
    code: 'CANCELLED',
    cause: 'Outcome of a pending call, blocked send or waiting receive that its peer cancelled.',
    stateUnchanged: true,
    clauses: ['CANCEL-1', 'CANCEL-2', 'CALL-2'],
  },
  {
    code: 'CLOSED',
    cause:
      'The peer has closed; or, as an outcome, the peer closed while its call, blocked send or receive was pending.',
    stateUnchanged: true,
    clauses: ['PEER-2', 'CLOSE-1', 'CLOSE-4'],
  },
];

export const ERROR_CODES: readonly ErrorCode[] = ERRORS.map((e) => e.code);
