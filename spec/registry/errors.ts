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
      'An argument is malformed: unknown peer id, a right that does not exist, a badge or count out of range, a duplicate name, a move in a multicast, a reply handle transferred without move, or bad base64.',
    stateUnchanged: true,
    clauses: ['ERR-1', 'PEER-2', 'MINT-3', 'SEND-5', 'SEND-6', 'MCAST-1', 'RECV-1', 'BUS-3'],
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
      "The handle lacks the right the operation needs (send, or grant to transfer), the rights asked exceed the handle's, or a badge was asked for on a badged handle.",
    stateUnchanged: true,
    clauses: ['HANDLE-4', 'MINT-2', 'MINT-3', 'SEND-1', 'SEND-4', 'MCAST-2'],
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
      "A handle table (the peer's own, the receiver's, counting handles in flight, or the caller's for a reply) or the peer table has no room.",
    stateUnchanged: true,
    clauses: ['HANDLE-1', 'NODE-1', 'BUS-2', 'BUS-3', 'CALL-6'],
  },
  {
    code: 'QUEUE_FULL',
    cause: "The receive queue's capacity or the sender's quota in it would be exceeded.",
    stateUnchanged: true,
    clauses: ['QUOTA-1', 'QUOTA-2', 'MCAST-4'],
  },
  {
    code: 'TIMED_OUT',
    cause: 'A call or blocking send reached its deadline.',
    stateUnchanged: true,
    clauses: ['CALL-2', 'SEND-7', 'TIME-1'],
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
      'reply on a call that already resolved (timed out, dead, or the caller closed); the reply handle is consumed.',
    stateUnchanged: false,
    clauses: ['CALL-4', 'ATOMIC-1'],
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
