// Cases: calls under real servers: cancel and what it ends in the same step, calls abandoned
// (withdrawn, or told to the reply handle's holder), replyReceive's two halves, and the
// replier's credentials. `completes` says what each step ends (conformance/cases/completes.ts);
// tickets are the model's (1, 2, 3, ... per bus, TIME-2).
import { type Case, creds, op, payload, setup, t, x } from './dsl';
import { ends, endsAs } from './completes';

export const ABANDON_CASES: Case[] = [
  {
    id: 'cancel-ends-in-the-same-step',
    title:
      'cancel ends a blocked send, a waiting receive and a call CANCELLED in its own step; the send moved nothing and the unread call is withdrawn',
    clauses: ['CANCEL-1', 'CANCEL-2', 'CALL-8', 'SEND-5'],
    limits: { senderQuotaMessages: 2 },
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'moves B', { transfers: [t(2, undefined, true)], timeoutMs: null }), 'pending'),
      x(op.receive(2, 4, null), 'pending'),
      ends(x(op.cancel(2, 2), 'ok', { cancelled: true }), [2, 'CANCELLED']),
      ends(x(op.cancel(2, 3), 'ok', { cancelled: true }), [3, 'CANCELLED']),
      ends(x(op.cancel(2, 1), 'ok', { cancelled: true }), [1, 'CANCELLED']),
      x(op.mint(2, 2, []), 'ok', { handle: 3 }),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('fills') }] }),
      x(op.receive(1, 1, null), 'pending'),
      ends(x(op.cancel(2, 4), 'ok', { cancelled: false })),
      ends(x(op.cancel(2, 1), 'ok', { cancelled: false })),
      x({ op: 'cancel', peer: 2, ticket: 1.5 } as never, 'INVALID_ARGUMENT'),
    ],
  },
  {
    id: 'cancel-or-reply-decides',
    title: 'whichever of a cancel and a reply comes first decides how the call ends, and each call ends exactly once',
    clauses: ['CANCEL-3', 'CALL-4', 'INV-6'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'one'), 'pending'),
      x(op.call(2, 1, 'two'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ replyHandle: 2 }, { replyHandle: 3 }] }),
      ends(x(op.cancel(2, 1), 'ok', { cancelled: true }), [1, 'CANCELLED']),
      ends(x(op.reply(1, 2, 'late'), 'CALLER_GONE')),
      ends(x(op.reply(1, 3, 'in time'), 'ok'), [2, 'ok', { reply: { payload: payload('in time') } }]),
      ends(x(op.cancel(2, 2), 'ok', { cancelled: false })),
    ],
  },
  {
    id: 'cancel-frees-room',
    title: 'a cancel that withdraws an unread call frees its room, and a blocked send takes it in the same step',
    clauses: ['CANCEL-2', 'CALL-8', 'SEND-7'],
    limits: { queueCapacityMessages: 1 },
    steps: [
      ...setup(true),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.send(3, 1, 'waits', { timeoutMs: null }), 'pending'),
      ends(x(op.cancel(2, 1), 'ok', { cancelled: true }), [1, 'CANCELLED'], [2, 'ok']),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('waits') }] }),
    ],
  },
  {
    id: 'withdrawn-call-releases',
    title:
      "a call withdrawn at its deadline releases what it carried and frees its room: the carried handle's owner hears no-senders, the refused caller gets a room notice",
    clauses: ['CALL-8', 'INV-13', 'QUOTA-5', 'NOTICE-2'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q', { transfers: [t(2)], timeoutMs: 5 }), 'pending'),
      x(op.call(2, 1, 'q', { transfers: [t(2)] }), 'QUEUE_FULL'),
      ends(x(op.tick(5), 'ok'), [1, 'TIMED_OUT']),
      x(op.receive(1), 'ok', { deliveries: [] }),
      x(op.receive(2), 'ok', {
        deliveries: [
          { kind: 'notice', notice: { type: 'no-senders', node: 2, derivedCount: 1 } },
          { kind: 'notice', notice: { type: 'room', handle: 1 } },
        ],
      }),
    ],
  },
  {
    id: 'abandoned-notice-holds-slot',
    title: "a call-abandoned notice holds its reply handle's slot after the handle is released, until it is received",
    clauses: ['CALL-9', 'NOTICE-4', 'HANDLE-1', 'CLOSE-1'],
    limits: { maxHandlesPerPeer: 3 },
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      ends(x(op.close(2), 'ok'), [1, 'CLOSED']),
      x(op.release(1, 2), 'ok'),
      x(op.createNode(1), 'ok', { handle: 3 }),
      x(op.createNode(1), 'TABLE_FULL'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'call-abandoned', handle: 2 } }] }),
      x(op.createNode(1), 'ok', { handle: 4 }),
    ],
  },
  {
    id: 'reply-receive-completes-as-receive',
    title:
      "replyReceive's reply ends the call at once, and its wait, when the queue is empty, ends as a receive with what comes next",
    clauses: ['CALL-10', 'CALL-3', 'RECV-1', 'TIME-4'],
    steps: [
      ...setup(),
      x(op.call(2, 1, '1'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.call(2, 1, '2'), 'pending'),
      ends(x(op.replyReceive(1, 2, 'a1', { max: 4 }), 'ok', { deliveries: [{ kind: 'call', replyHandle: 3 }] }), [
        1,
        'ok',
        { reply: { payload: payload('a1') } },
      ]),
      ends(x(op.replyReceive(1, 3, 'a2', { timeoutMs: null }), 'pending'), [2, 'ok']),
      endsAs(x(op.send(2, 1, 'next'), 'ok'), {
        ticket: 3,
        op: 'receive',
        result: 'ok',
        match: { deliveries: [{ payload: payload('next') }] },
      }),
    ],
  },
  {
    id: 'reply-receive-needs-a-place',
    title:
      'a replyReceive whose receive would wait needs a place among the pending operations: over maxPendingPerPeer it fails TOO_MANY_PENDING and answers nothing',
    clauses: ['CALL-10', 'BOUND-2', 'ATOMIC-1'],
    limits: { maxPendingPerPeer: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, 'inbox', { transfers: [t(2)] }), 'ok'),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2 }] }, { kind: 'call', replyHandle: 3 }] }),
      x(op.call(1, 2, 'the server waits too'), 'pending'),
      ends(x(op.replyReceive(1, 3, 'a', { timeoutMs: null }), 'TOO_MANY_PENDING')),
      ends(x(op.replyReceive(1, 3, 'a'), 'ok', { deliveries: [] }), [1, 'ok', { reply: { payload: payload('a') } }]),
    ],
  },
  {
    id: 'replier-credentials-delegate',
    title:
      'a caller that asks gets the credentials of whoever answered, a delegate included, with no opt-in by the replier; one that does not ask gets none',
    clauses: ['CRED-3', 'CALL-5', 'DELIVER-1'],
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'inbox', { transfers: [t(3)] }), 'ok'),
      x(op.call(2, 1, 'who?', { replierCredentials: true }), 'pending'),
      x(op.call(2, 1, 'anonymous'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2 }] }, { replyHandle: 3 }, { replyHandle: 4 }] }),
      x(op.send(1, 2, 'yours', { transfers: [t(3, undefined, true)] }), 'ok'),
      x(op.receive(3), 'ok', { deliveries: [{ handles: [{ name: 4, kind: 'reply' }] }] }),
      ends(x(op.reply(3, 4, 'me'), 'ok'), [1, 'ok', { reply: { credentials: { ...creds(1003), peerKey: 3 } } }]),
      ends(x(op.reply(1, 4, 'me too'), 'ok'), [
        2,
        'ok',
        { reply: { payload: payload('me too'), credentials: undefined } },
      ]),
    ],
  },
];
