// Cases: how pending operations end. A call, a blocked send and a waiting receive each end
// exactly once (INV-6), and these cases say with what, in the step that ends them
// (`completes`, conformance/cases/completes.ts): a reply, DEAD, NO_REPLY, TIMED_OUT, CLOSED,
// or a batch. Tickets are the model's (1, 2, 3, ... per bus, TIME-2).
import { type Case, op, payload, setup, t, x } from './dsl';
import { ends } from './completes';

export const OUTCOME_CASES: Case[] = [
  {
    id: 'destroy-ends-queued-calls',
    title:
      'destroying a node ends DEAD only the calls still queued to it: a call already received survives, and its reply reaches the caller',
    clauses: ['DESTROY-4', 'CALL-2', 'CALL-5'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'served'), 'pending'),
      x(op.call(2, 1, 'queued'), 'pending'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      ends(x(op.destroyNode(1, 1), 'ok'), [2, 'DEAD']),
      ends(x(op.reply(1, 2, 'done anyway'), 'ok'), [1, 'ok', { reply: { payload: payload('done anyway') } }]),
    ],
  },
  {
    id: 'blocked-sends-end-in-order',
    title:
      'blocked sends end in order as room frees, and one whose deadline passes first ends TIMED_OUT without entering the queue',
    clauses: ['SEND-7', 'TIME-1', 'TIME-2'],
    limits: { queueCapacityMessages: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, '1'), 'ok'),
      x(op.send(2, 1, '2', { timeoutMs: 100 }), 'pending'),
      x(op.send(2, 1, '3', { timeoutMs: 10 }), 'pending'),
      ends(x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('1') }] }), [1, 'ok']),
      ends(x(op.tick(10), 'ok'), [2, 'TIMED_OUT']),
      ends(x(op.receive(1), 'ok', { deliveries: [{ payload: payload('2') }] })),
    ],
  },
  {
    id: 'call-outcome-codes',
    title:
      'a call whose reply handle is dropped ends NO_REPLY, one whose deadline passes ends TIMED_OUT, and a reply after that fails CALLER_GONE once',
    clauses: ['CALL-4', 'CALL-2', 'TIME-1', 'RELEASE-3'],
    steps: [
      ...setup(),
      x(op.call(2, 1, '1'), 'pending'),
      x(op.call(2, 1, '2', { timeoutMs: 5 }), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ replyHandle: 2 }, { replyHandle: 3 }] }),
      ends(x(op.release(1, 2), 'ok'), [1, 'NO_REPLY']),
      ends(x(op.tick(5), 'ok'), [2, 'TIMED_OUT']),
      x(op.reply(1, 3, 'late'), 'CALLER_GONE'),
      x(op.release(1, 3), 'BAD_HANDLE'),
    ],
  },
  {
    id: 'caller-close-ends-call',
    title: "a caller that closes ends its call CLOSED, and the replier's reply then fails CALLER_GONE",
    clauses: ['CLOSE-1', 'CALL-4'],
    steps: [
      ...setup(),
      x(op.call(2, 1, '1'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      ends(x(op.close(2), 'ok'), [1, 'CLOSED']),
      x(op.reply(1, 2, 'x'), 'CALLER_GONE'),
    ],
  },
  {
    id: 'call-never-waits-for-room',
    title: 'a call never waits for room: short of room it fails QUEUE_FULL at once, whatever its timeout',
    clauses: ['QUOTA-2', 'CALL-1'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, '1'), 'ok'),
      x(op.call(2, 1, '2', { timeoutMs: 100 }), 'QUEUE_FULL'),
      x(op.call(2, 1, '3'), 'QUEUE_FULL'),
      ends(x(op.tick(100), 'ok')),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('1') }] }),
    ],
  },
  {
    id: 'waiting-receive-outcomes',
    title: 'a waiting receive ends with the first batch that arrives, or with an empty batch at its deadline',
    clauses: ['RECV-2', 'TIME-1', 'TIME-2'],
    steps: [
      ...setup(),
      x(op.receive(1, 8, 50), 'pending'),
      ends(x(op.send(2, 1, 'x'), 'ok'), [1, 'ok', { deliveries: [{ payload: payload('x') }] }]),
      x(op.receive(1, 8, 50), 'pending'),
      ends(x(op.tick(49), 'ok')),
      ends(x(op.tick(1), 'ok'), [2, 'ok', { deliveries: [] }]),
      x(op.receive(1), 'ok', { deliveries: [] }),
    ],
  },
  {
    id: 'close-ends-served-call',
    title: 'a server that closes holding the reply handle of a call it received ends that call NO_REPLY',
    clauses: ['CLOSE-2', 'CLOSE-3', 'CALL-4', 'INV-5'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      ends(x(op.close(1), 'ok'), [1, 'NO_REPLY']),
      x(op.receive(2), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'node-destroyed', handle: 1 } }] }),
      ends(x(op.close(2), 'ok')),
    ],
  },
  {
    id: 'delegate-close-ends-call',
    title: 'a peer that closes holding a reply handle delegated to it ends that call NO_REPLY',
    clauses: ['CLOSE-3', 'CALL-4', 'CALL-5'],
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'inbox', { transfers: [t(3)] }), 'ok'),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2 }] }, { kind: 'call', replyHandle: 3 }] }),
      x(op.send(1, 2, 'answer this', { transfers: [t(3, undefined, true)] }), 'ok'),
      x(op.receive(3), 'ok', {
        deliveries: [{ kind: 'message', handles: [{ name: 4, kind: 'reply', state: 'live' }] }],
      }),
      ends(x(op.close(3), 'ok'), [1, 'NO_REPLY']),
    ],
  },
  {
    id: 'held-back-then-examined',
    title:
      'a blocked send held back behind another is not examined while held: a transfer revoked meanwhile ends it REVOKED only when room comes',
    clauses: ['SEND-7', 'REVOKE-3', 'TIME-2'],
    limits: { queueCapacityMessages: 1 },
    steps: [
      ...setup(true),
      x(op.mint(3, 3, ['send', 'grant']), 'ok', { handle: 4 }),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'first waiter', { timeoutMs: 50 }), 'pending'),
      x(op.send(3, 1, 'held', { transfers: [t(4)], timeoutMs: 50 }), 'pending'),
      ends(x(op.revoke(3, 3), 'ok', { revoked: 1 })),
      ends(x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('fills') }] }), [1, 'ok'], [2, 'REVOKED']),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('first waiter') }] }),
    ],
  },
  {
    id: 'no-timeout-never-expires',
    title:
      'a send and a receive that wait without a timeout are ended by no amount of time, only by room, a batch or close',
    clauses: ['TIME-4', 'SEND-7', 'RECV-2'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'waits', { timeoutMs: null }), 'pending'),
      x(op.receive(2, 1, null), 'pending'),
      ends(x(op.tick(1_000_000), 'ok')),
      ends(x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('fills') }] }), [1, 'ok']),
      ends(x(op.close(2), 'ok'), [2, 'CLOSED']),
    ],
  },
];
