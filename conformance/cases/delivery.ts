// Cases: what reaches whom: the slots waiting notices hold, one relative order for multicasts
// from different senders, dead destinations that refused handles, the room notices owed to
// senders refused for room (QUOTA-5), and multicast's arguments.
import { type Case, op, payload, setup, t, x } from './dsl';

export const DELIVERY_CASES: Case[] = [
  {
    id: 'notices-hold-slots',
    title: "a notice keeps its handle's slot until it is received, so waiting notices are bounded by the table",
    clauses: ['NOTICE-4', 'HANDLE-1', 'INV-11'],
    limits: { maxHandlesPerPeer: 3 },
    steps: [
      ...setup(),
      x(op.mint(2, 1, ['send']), 'ok', { handle: 3 }),
      x(op.revoke(1, 1), 'ok', { revoked: 2 }),
      x(op.release(2, 3), 'ok'),
      x(op.release(2, 1), 'ok'),
      x(op.createNode(2), 'TABLE_FULL'),
      x(op.receive(2), 'ok', {
        deliveries: [
          { kind: 'notice', notice: { type: 'revoked', handle: 1 } },
          { kind: 'notice', notice: { type: 'revoked', handle: 3 } },
        ],
      }),
      x(op.createNode(2), 'ok', { handle: 4 }),
    ],
  },
  {
    id: 'multicasts-from-two-senders',
    title:
      'multicasts from two senders to the same receivers, listed in opposite orders, are seen in one relative order by every receiver',
    clauses: ['ORDER-1', 'ORDER-3', 'INV-7'],
    steps: [
      ...setup(true),
      x(
        op.attach(1004, [
          { fromPeer: 1, handle: 1 },
          { fromPeer: 2, handle: 2 },
        ]),
        'ok',
        { peer: 4, handles: [1, 2] },
      ),
      x(op.multicast(3, [1, 2], 'P'), 'ok', { skipped: [] }),
      x(op.multicast(4, [2, 1], 'Q'), 'ok', { skipped: [] }),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('P') }, { payload: payload('Q') }] }),
      x(op.receive(2), 'ok', { deliveries: [{ payload: payload('P') }, { payload: payload('Q') }] }),
    ],
  },
  {
    id: 'dead-refusing-destination-skipped',
    title:
      'a dead destination that refused handles is skipped, not refused: a multicast carrying handles reaches the live ones',
    clauses: ['NODE-5', 'MCAST-2', 'MCAST-3'],
    steps: [
      x(op.attach(1001), 'ok'),
      x(op.createNode(1, undefined, false), 'ok', { handle: 1 }),
      x(op.createNode(1), 'ok', { handle: 2 }),
      x(
        op.attach(1002, [
          { fromPeer: 1, handle: 1 },
          { fromPeer: 1, handle: 2 },
        ]),
        'ok',
        { peer: 2, handles: [1, 2] },
      ),
      x(op.createNode(2), 'ok', { handle: 3 }),
      x(op.multicast(2, [1, 2], 'x', { transfers: [t(3)] }), 'NO_RIGHTS'),
      x(op.destroyNode(1, 1), 'ok'),
      x(op.multicast(2, [1, 2], 'x', { transfers: [t(3)] }), 'ok', { skipped: [1] }),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'message', node: 2, handles: [{ state: 'live' }] }] }),
    ],
  },
  {
    id: 'waiting-send-owes-no-room-notice',
    title:
      'a send that waits for room is not refused, so it is owed no room notice; one room notice answers any number of refusals',
    clauses: ['QUOTA-5', 'SEND-7', 'NOTICE-1'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'waits', { timeoutMs: null }), 'pending'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('fills') }] }),
      x(op.receive(2), 'ok', { deliveries: [] }),
      x(op.send(2, 1, 'refused'), 'QUEUE_FULL'),
      x(op.call(2, 1, 'refused too'), 'QUEUE_FULL'),
      x(op.multicast(2, [1], 'and again'), 'QUEUE_FULL'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('waits') }] }),
      x(op.receive(2), 'ok', { deliveries: [{ kind: 'notice', notice: { type: 'room', handle: 1 } }] }),
      x(op.receive(2), 'ok', { deliveries: [] }),
    ],
  },
  {
    id: 'multicast-skip-full-flag',
    title: 'skipFull must be a boolean: anything else fails INVALID_ARGUMENT and sends nothing',
    clauses: ['MCAST-6', 'ERR-1'],
    steps: [
      ...setup(true),
      x(
        { op: 'multicast', peer: 3, handles: [1, 2], message: { segments: [] }, skipFull: 1 } as never,
        'INVALID_ARGUMENT',
      ),
      x(op.multicast(3, [1, 2], 'x', { skipFull: false }), 'ok', { skipped: [], full: [] }),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('x') }] }),
    ],
  },
];
