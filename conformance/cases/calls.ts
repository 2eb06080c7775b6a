// Cases: calls and multicast under real servers and groups: cancel, abandoned calls,
// replyReceive, one meaning of timeouts, multicast skipping full destinations, room notices,
// credentials keys and the replier's credentials. Names and tickets are the model's (the model
// numbers tickets 1, 2, 3, ... per bus, TIME-2).
import { type Case, creds, op, payload, setup, t, x } from './dsl';

export const CALL_CASES: Case[] = [
  {
    id: 'call-timeout-before-receive',
    title: "a call that times out before the server receives it is withdrawn: the server's receive returns nothing",
    clauses: ['CALL-8', 'TIME-1', 'ORDER-1', 'INV-13'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q', { timeoutMs: 5 }), 'pending'),
      x(op.tick(4), 'ok'),
      x(op.tick(1), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [] }),
    ],
  },
  {
    id: 'delegated-reply-survives-destroy',
    title:
      "a server delegates the reply handle to a worker and destroys its node: the worker's reply still reaches the caller",
    clauses: ['DESTROY-4', 'CALL-5', 'CALL-2'],
    steps: [
      ...setup(true),
      // The worker p3 gives the server p1 a handle to its own node (p1.h2).
      x(op.send(3, 1, 'inbox', { transfers: [t(3)] }), 'ok'),
      x(op.call(2, 1, '6 x 7?'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2 }] }, { kind: 'call', replyHandle: 3 }] }),
      x(op.send(1, 2, 'please answer', { transfers: [t(3, undefined, true)] }), 'ok'),
      x(op.destroyNode(1, 1), 'ok'),
      x(op.receive(3), 'ok', {
        deliveries: [
          { kind: 'message', handles: [{ name: 4, kind: 'reply', state: 'live' }] },
          { kind: 'notice', notice: { type: 'node-destroyed', handle: 1 } },
        ],
      }),
      x(op.reply(3, 4, '42'), 'ok'),
    ],
  },
  {
    id: 'multicast-skips-full-subscriber',
    title:
      'two subscribers, one never reading: the reading one gets every multicast, and each result names the full one',
    clauses: ['MCAST-6', 'MCAST-1', 'QUOTA-5'],
    limits: { senderQuotaMessages: 2 },
    steps: [
      ...setup(true),
      ...[1, 2, 3, 4].flatMap((i) => [
        x(op.multicast(3, [1, 2], `m${i}`, { skipFull: true }), 'ok', { skipped: [], full: i <= 2 ? [] : [2] }),
        x(op.receive(1), 'ok', { deliveries: [{ payload: payload(`m${i}`) }] }),
      ]),
      x(op.multicast(3, [1, 2], 'all or nothing'), 'QUEUE_FULL'),
      x(op.receive(3), 'ok', { deliveries: [] }),
      // The slow subscriber reads one: the publisher is told its queue has room again.
      x(op.receive(2, 1), 'ok', { deliveries: [{ payload: payload('m1') }] }),
      x(op.receive(3), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'room', handle: 2 } }] }),
    ],
  },
  {
    id: 'cancel-each-kind',
    title:
      'cancel ends a pending call, blocked send or waiting receive CANCELLED; any ticket not pending for the invoker answers false',
    clauses: ['CANCEL-1', 'CANCEL-2', 'CALL-8'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.send(2, 1, 'waits', { timeoutMs: null }), 'pending'),
      x(op.receive(2, 4, null), 'pending'),
      x(op.cancel(2, 2), 'ok', { cancelled: true }),
      x(op.cancel(2, 3), 'ok', { cancelled: true }),
      x(op.cancel(2, 1), 'ok', { cancelled: true }),
      x(op.cancel(2, 1), 'ok', { cancelled: false }),
      x(op.cancel(2, 99), 'ok', { cancelled: false }),
      x(op.receive(1, 4, null), 'pending'),
      x(op.cancel(2, 4), 'ok', { cancelled: false }),
      x(op.cancel(1, 4), 'ok', { cancelled: true }),
      x({ op: 'cancel', peer: 2, ticket: -1 } as never, 'INVALID_ARGUMENT'),
      x(op.receive(1), 'ok', { deliveries: [] }),
    ],
  },
  {
    id: 'cancel-races-reply',
    title: 'a cancel and a reply race: whichever comes first decides, and the call has exactly one outcome',
    clauses: ['CANCEL-3', 'CALL-4', 'CALL-8', 'INV-6'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'one'), 'pending'),
      x(op.call(2, 1, 'two'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ replyHandle: 2 }, { replyHandle: 3 }] }),
      x(op.cancel(2, 1), 'ok', { cancelled: true }),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'call-abandoned', handle: 2 } }] }),
      x(op.reply(1, 2, 'too late'), 'CALLER_GONE'),
      x(op.reply(1, 3, 'in time'), 'ok'),
      x(op.cancel(2, 2), 'ok', { cancelled: false }),
    ],
  },
  {
    id: 'abandoned-reply-handle',
    title:
      'an abandoned reply handle is told in a table, arrives flagged in flight, cannot be passed on, and its notice holds its slot',
    clauses: ['CALL-9', 'CALL-8', 'SEND-6', 'RECV-3', 'NOTICE-4'],
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'inbox', { transfers: [t(3)] }), 'ok'),
      x(op.call(2, 1, 'one'), 'pending'),
      x(op.call(2, 1, 'two'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2 }] }, { replyHandle: 3 }, { replyHandle: 4 }] }),
      x(op.send(1, 2, 'delegated', { transfers: [t(4, undefined, true)] }), 'ok'),
      x(op.cancel(2, 1), 'ok', { cancelled: true }),
      x(op.cancel(2, 2), 'ok', { cancelled: true }),
      x(op.send(1, 2, 'pass it on', { transfers: [t(3, undefined, true)] }), 'CALLER_GONE'),
      x(op.receive(3), 'ok', {
        deliveries: [{ kind: 'message', handles: [{ name: null, kind: 'reply', state: 'abandoned' }] }],
      }),
      x(op.release(1, 3), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'call-abandoned', handle: 3 } }] }),
    ],
  },
  {
    id: 'close-abandons-calls',
    title:
      'a caller that closes abandons its calls: the unread one is withdrawn and the server told of the one it holds',
    clauses: ['CLOSE-1', 'CALL-8', 'NOTICE-5'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'served'), 'pending'),
      x(op.call(2, 1, 'queued'), 'pending'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.close(2), 'ok'),
      x(op.receive(1), 'ok', {
        deliveries: [
          { kind: 'notice', notice: { type: 'call-abandoned', handle: 2 } },
          { kind: 'notice', notice: { type: 'no-senders', node: 1 } },
        ],
      }),
      x(op.reply(1, 2, 'late'), 'CALLER_GONE'),
    ],
  },
  {
    id: 'reply-receive',
    title: 'replyReceive answers and then receives in one step, and its receive waits like a receive',
    clauses: ['CALL-10', 'CALL-3', 'RECV-2', 'TIME-4'],
    steps: [
      ...setup(),
      x(op.call(2, 1, '1'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.call(2, 1, '2'), 'pending'),
      x(op.replyReceive(1, 2, 'a1'), 'ok', { deliveries: [{ kind: 'call', replyHandle: 3 }] }),
      x(op.replyReceive(1, 3, 'a2', { timeoutMs: null }), 'pending'),
      x(op.send(2, 1, 'next'), 'ok'),
      x(op.replyReceive(1, 99, 'x'), 'BAD_HANDLE'),
      x(op.replyReceive(1, 1, 'x'), 'WRONG_KIND'),
      x(
        { op: 'replyReceive', peer: 1, handle: 1, message: { segments: [] }, max: 0, timeoutMs: 0 } as never,
        'INVALID_ARGUMENT',
      ),
    ],
  },
  {
    id: 'reply-receive-order',
    title:
      "replyReceive's reply comes before its receive: a no-senders notice the reply makes untrue is never received",
    clauses: ['CALL-10', 'NOTICE-6'],
    steps: [
      ...setup(),
      x(op.createNode(1), 'ok', { handle: 2 }),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 3 }] }),
      x(op.mint(1, 2, ['send']), 'ok', { handle: 4 }),
      x(op.release(1, 4), 'ok'),
      x(op.replyReceive(1, 3, 'here', { transfers: [t(2, ['send'])] }), 'ok', { deliveries: [] }),
    ],
  },
  {
    id: 'reply-receive-late',
    title: 'replyReceive through an abandoned reply handle drops the reply and receives anyway, the notice included',
    clauses: ['CALL-10', 'CALL-9'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q', { timeoutMs: 1 }), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.tick(1), 'ok'),
      x(op.replyReceive(1, 2, 'late'), 'ok', {
        deliveries: [{ kind: 'notice', notice: { type: 'call-abandoned', handle: 2 } }],
      }),
      x(op.reply(1, 2, 'again'), 'BAD_HANDLE'),
    ],
  },
  {
    id: 'timeouts-one-meaning',
    title: 'a timeoutMs left out waits without limit and 0 does not wait, for send, receive and call alike',
    clauses: ['TIME-4', 'SEND-7', 'RECV-2', 'CALL-1'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'no wait', { timeoutMs: 0 }), 'QUEUE_FULL'),
      x(op.send(2, 1, 'waits', { timeoutMs: null }), 'pending'),
      x(op.call(2, 1, 'probe', { timeoutMs: 0 }), 'QUEUE_FULL'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('fills') }] }),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('waits') }] }),
      x(op.call(2, 1, 'probe', { timeoutMs: 0 }), 'TIMED_OUT'),
      x(op.receive(1), 'ok', { deliveries: [] }),
      x(op.receive(1, 1, null), 'pending'),
      x(op.send(2, 1, 'wakes it'), 'ok'),
    ],
  },
  {
    id: 'room-notice',
    title:
      'a sender refused for room gets one room notice when the queue has room again, withdrawn if that peer closes first',
    clauses: ['QUOTA-5', 'NOTICE-1', 'NOTICE-4', 'CLOSE-4', 'ORDER-1'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'fills'), 'ok'),
      x(op.send(3, 1, 'refused'), 'QUEUE_FULL'),
      x(op.call(3, 1, 'refused too'), 'QUEUE_FULL'),
      x(op.multicast(3, [1, 2], 'and again'), 'QUEUE_FULL'),
      x(op.receive(3), 'ok', { deliveries: [] }),
      x(op.receive(1, 1), 'ok'),
      x(op.receive(3), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'room', handle: 1 } }] }),
      x(op.send(3, 1, 'fills again'), 'ok'),
      x(op.send(3, 1, 'refused again'), 'QUEUE_FULL'),
      x(op.receive(1, 1), 'ok'),
      x(op.close(1), 'ok'),
      x(op.receive(3), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'node-destroyed', handle: 1 } }] }),
    ],
  },
  {
    id: 'credentials-keys',
    title:
      "credentials carry a peerKey never reused, and a caller that asks gets the replier's credentials on the reply",
    clauses: ['CRED-2', 'CRED-3', 'CRED-1', 'PEER-1', 'INV-10'],
    steps: [
      x(op.attach(1001), 'ok', { peer: 1 }),
      x(op.createNode(1, true), 'ok', { handle: 1 }),
      x(op.attach(1005, [{ fromPeer: 1, handle: 1 }]), 'ok', { peer: 2 }),
      x(op.send(2, 1, 'first'), 'ok'),
      x(op.close(2), 'ok'),
      x(op.attach(1005, [{ fromPeer: 1, handle: 1 }]), 'ok', { peer: 3 }),
      x(op.send(3, 1, 'second'), 'ok'),
      // Same uid, gid and pid, two keys (the no-senders notice of p2's close was withdrawn when p3 attached).
      x(op.receive(1), 'ok', {
        deliveries: [{ credentials: { ...creds(1005), peerKey: 2 } }, { credentials: { ...creds(1005), peerKey: 3 } }],
      }),
      x(op.call(3, 1, 'who answers?', { replierCredentials: true }), 'pending'),
      x(op.call(3, 1, 'anonymous'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ replyHandle: 2 }, { replyHandle: 3 }] }),
      x(op.reply(1, 2, 'p1'), 'ok'),
      x(op.reply(1, 3, 'nobody'), 'ok'),
      x(op.call(3, 1, 'x', { replierCredentials: 'yes' as never }), 'INVALID_ARGUMENT'),
    ],
  },
];
