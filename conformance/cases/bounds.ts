// Cases of protocol v2: every resource bounded (nodes, pending operations, the
// handle quota), nodes that refuse handles, the same-node test, one order that
// never lies (withdrawn notices, conditional destruction, a sender's order behind
// a blocked send), canonical payloads, the end of the clock, and the places the
// text used to leave open (close order, moves into one's own table, multicast).
import type { Operation } from '../../spec/types';
import { type Case, type CaseStep, op, payload, setup, t, x } from './dsl';

/** A message of `n` bytes of `c`. */
const sized = (n: number, c: string) => c.repeat(n);

/** The table-filling attack at default limits: two senders, each within its message quota, 8 handles a message. */
function tableFilling(): CaseStep[] {
  const steps: CaseStep[] = [...setup(true)]; // p1 owns A; p2 holds A, owns B (p2.h2); p3 holds A, B, owns C (p3.h3)
  steps.push(x(op.attach(1004, [{ fromPeer: 1, handle: 1 }]), 'ok', { peer: 4 }), x(op.createNode(4), 'ok'));
  for (const [peer, own] of [
    [2, 2],
    [3, 3],
  ]) {
    const names: number[] = [];
    for (let k = 0; k < 8; k++) {
      steps.push(x(op.mint(peer, own, ['send', 'grant']), 'ok'));
      names.push(own + 1 + k);
    }
    // 8 handles a message: 8 messages fill the 64 handles one sender may have in flight (QUOTA-4).
    for (let i = 0; i < 16; i++)
      steps.push(x(op.send(peer, 1, 'h', { transfers: names.map((n) => t(n)) }), i < 8 ? 'ok' : 'QUEUE_FULL'));
  }
  steps.push(x(op.call(4, 1, 'still served'), 'pending'), x(op.mint(1, 1, ['send']), 'ok'), x(op.createNode(1), 'ok'));
  return steps;
}

/** The steps of `tick(ms)` in chunks no larger than the clock has left, up to `target` from 0. */
const tickTo = (target: number): Operation => op.tick(target);

export const BOUND_CASES: Case[] = [
  {
    id: 'node-limit',
    title: 'a node counts toward maxNodesPerPeer until destroyed, even after its root is released',
    clauses: ['NODE-4', 'BOUND-1', 'INV-12'],
    limits: { maxHandlesPerPeer: 1, maxNodesPerPeer: 2 },
    steps: [
      x(op.attach(1001), 'ok'),
      x(op.createNode(1), 'ok', { handle: 1 }),
      x(op.release(1, 1), 'ok'),
      x(op.createNode(1), 'ok', { handle: 2 }),
      x(op.destroyNode(1, 2), 'ok'),
      x(op.createNode(1), 'ok', { handle: 3 }),
      x(op.release(1, 3), 'ok'),
      x(op.createNode(1), 'TABLE_FULL'),
      x(op.close(1), 'ok'),
      x(op.attach(1002), 'ok'),
      x(op.createNode(2), 'ok'),
    ],
  },
  {
    id: 'pending-limit',
    title:
      'over maxPendingPerPeer a call, a waiting receive and a waiting send fail TOO_MANY_PENDING at once, never a ticket',
    clauses: ['BOUND-2', 'CALL-1', 'RECV-2', 'SEND-7', 'INV-12'],
    limits: { maxPendingPerPeer: 1, senderQuotaMessages: 2 },
    steps: [
      ...setup(),
      x(op.call(2, 1, 'one'), 'pending'),
      x(op.call(2, 1, 'two'), 'TOO_MANY_PENDING'),
      x(op.receive(2, 1, 10), 'TOO_MANY_PENDING'),
      x(op.receive(2, 1), 'ok', { deliveries: [] }),
      x(op.send(2, 1, 'fills the quota'), 'ok'),
      x(op.send(2, 1, 'waits?', { timeoutMs: 10 }), 'TOO_MANY_PENDING'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call' }, { kind: 'message' }] }),
      x(op.reply(1, 2, 'answer'), 'ok'),
      x(op.receive(2, 1, 10), 'pending'),
    ],
  },
  {
    id: 'handle-quota-table-filling',
    title:
      "two senders can no longer fill a receiver's table: each stops at senderQuotaHandles in flight, a third peer's call is still taken and the receiver still mints",
    clauses: ['QUOTA-4', 'HANDLE-1', 'QUOTA-1', 'QUOTA-2', 'BOUND-1'],
    steps: tableFilling(),
  },
  {
    id: 'handle-quota-until-received',
    title: 'a handle counts toward its sender quota only until received, and a call counts its reply handle',
    clauses: ['QUOTA-4', 'RECV-3', 'CALL-1'],
    limits: { senderQuotaHandles: 2 },
    steps: [
      ...setup(),
      x(op.send(2, 1, 'two', { transfers: [t(1), t(2)] }), 'ok'),
      x(op.send(2, 1, 'one more', { transfers: [t(2)] }), 'QUEUE_FULL'),
      x(op.call(2, 1, 'its reply handle counts'), 'QUEUE_FULL'),
      x(op.send(2, 1, 'no handles'), 'ok'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ handles: [{ state: 'live' }, { state: 'live' }] }] }),
      x(op.call(2, 1, 'now it fits'), 'pending'),
      x(op.send(2, 1, 'and this', { transfers: [t(2)] }), 'ok'),
      x(op.send(2, 1, 'but not this', { transfers: [t(2)] }), 'QUEUE_FULL'),
    ],
  },
  {
    id: 'accepts-handles-false',
    title:
      'a node created with acceptsHandles false refuses transfers with NO_RIGHTS at once, yet can be called and answer',
    clauses: ['NODE-5', 'NODE-1', 'SEND-1', 'MCAST-2', 'CALL-1', 'ERR-1'],
    steps: [
      x(op.attach(1001), 'ok'),
      x(op.createNode(1, false, false), 'ok', { handle: 1 }),
      x(op.attach(1002, [{ fromPeer: 1, handle: 1 }]), 'ok', { handles: [1] }),
      x(op.createNode(2), 'ok', { handle: 2 }),
      x(op.send(2, 1, 'h', { transfers: [t(2)] }), 'NO_RIGHTS'),
      x(op.send(2, 1, 'h', { transfers: [t(2)], timeoutMs: 50 }), 'NO_RIGHTS'),
      x(op.call(2, 1, 'h', { transfers: [t(2)] }), 'NO_RIGHTS'),
      x(op.multicast(2, [2, 1], 'h', { transfers: [t(2)] }), 'NO_RIGHTS'),
      x(op.send(2, 1, 'data only'), 'ok'),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', {
        deliveries: [
          { kind: 'message', handles: [] },
          { kind: 'call', replyHandle: 2 },
        ],
      }),
      x(op.reply(1, 2, 'a', { transfers: [t(1, ['send'])] }), 'ok'),
      x({ op: 'createNode', peer: 1, acceptsHandles: 'no' } as never, 'INVALID_ARGUMENT'),
    ],
  },
  {
    id: 'same-node',
    title: 'sameNode tells whether two live handles of the invoker designate the same node; it needs no right',
    clauses: ['NODE-6', 'HANDLE-4', 'HANDLE-5'],
    steps: [
      ...setup(),
      x(op.mint(2, 1, []), 'ok', { handle: 3 }),
      x(op.sameNode(2, 1, 3), 'ok', { same: true }),
      x(op.sameNode(2, 3, 3), 'ok', { same: true }),
      x(op.sameNode(2, 1, 2), 'ok', { same: false }),
      x(op.sameNode(2, 1, 99), 'BAD_HANDLE'),
      x(op.call(2, 2, 'q'), 'pending'),
      x(op.receive(2), 'ok', { deliveries: [{ kind: 'call', replyHandle: 4 }] }),
      x(op.sameNode(2, 4, 1), 'WRONG_KIND'),
      x(op.revoke(2, 1), 'ok', { revoked: 1 }),
      x(op.sameNode(2, 1, 3), 'REVOKED'),
      x({ op: 'sameNode', peer: 2, handle: 1 } as never, 'INVALID_ARGUMENT'),
    ],
  },
  {
    id: 'no-senders-withdrawn',
    title:
      'a no-senders notice is withdrawn when the count rises again, so it never comes before a message sent through a later handle',
    clauses: ['NOTICE-6', 'NOTICE-2', 'NOTICE-3', 'ORDER-4', 'INV-9'],
    steps: [
      x(op.attach(1001), 'ok'),
      x(op.createNode(1), 'ok', { handle: 1 }),
      x(op.mint(1, 1, ['send']), 'ok', { handle: 2 }),
      x(op.release(1, 2), 'ok'),
      x(op.mint(1, 1, ['send']), 'ok', { handle: 3 }),
      x(op.send(1, 3, 'M'), 'ok'),
      x(op.release(1, 3), 'ok'),
      x(op.receive(1), 'ok', {
        deliveries: [
          { kind: 'message', payload: payload('M') },
          { kind: 'notice', notice: { type: 'no-senders', node: 1, derivedCount: 2 } },
        ],
      }),
    ],
  },
  {
    id: 'no-senders-within-one-step',
    title:
      'a fall to zero and a rise in one step leave no notice: destroyNode discards the last other handle, a retried blocked send carries the root',
    clauses: ['NOTICE-6', 'DESTROY-3', 'SEND-7', 'TIME-2'],
    limits: { queueCapacityMessages: 1 },
    steps: [
      x(op.attach(1001), 'ok'),
      x(op.createNode(1), 'ok', { handle: 1 }), // N
      x(op.createNode(1), 'ok', { handle: 2 }), // X
      x(op.createNode(1), 'ok', { handle: 3 }), // Y
      x(
        op.attach(1002, [
          { fromPeer: 1, handle: 2 },
          { fromPeer: 1, handle: 1 },
        ]),
        'ok',
        { handles: [1, 2] },
      ),
      x(op.send(2, 1, 'carries the only handle to N', { transfers: [t(2, undefined, true)] }), 'ok'),
      x(op.send(1, 3, 'carries N root', { transfers: [t(1)], timeoutMs: 10 }), 'pending'),
      x(op.destroyNode(1, 2), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'message', node: 3, handles: [{ state: 'live' }] }] }),
    ],
  },
  {
    id: 'conditional-destroy',
    title:
      "a conditional destroyNode fails STALE when a handle was derived since the notice's count, and destroys on the current count",
    clauses: ['DESTROY-5', 'NOTICE-3', 'DESTROY-1'],
    steps: [
      ...setup(),
      x(op.release(2, 1), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ notice: { type: 'no-senders', node: 1, derivedCount: 1 } }] }),
      x(op.attach(1003, [{ fromPeer: 1, handle: 1 }]), 'ok', { peer: 3 }),
      x(op.destroyNode(1, 1, 1), 'STALE'),
      x(op.send(3, 1, 'not lost'), 'ok'),
      x(op.destroyNode(1, 1, -1), 'INVALID_ARGUMENT'),
      x(op.release(3, 1), 'ok'),
      x(op.receive(1), 'ok', {
        deliveries: [{ payload: payload('not lost') }, { notice: { type: 'no-senders', derivedCount: 2 } }],
      }),
      x(op.destroyNode(1, 1, 2), 'ok'),
    ],
  },
  {
    id: 'send-order-behind-blocked',
    title:
      "a later send never overtakes its sender's blocked send to the same queue: it fails QUEUE_FULL or waits behind it",
    clauses: ['SEND-8', 'SEND-7', 'ORDER-2', 'QUOTA-2', 'INV-7'],
    limits: { senderQuotaBytes: 100 },
    steps: [
      ...setup(),
      x(op.send(2, 1, sized(50, 'A')), 'ok'),
      x(op.send(2, 1, sized(60, 'B'), { timeoutMs: 100 }), 'pending'),
      x(op.send(2, 1, sized(5, 'C')), 'QUEUE_FULL'),
      x(op.call(2, 1, sized(5, 'C')), 'QUEUE_FULL'),
      x(op.multicast(2, [1], sized(5, 'C')), 'QUEUE_FULL'),
      x(op.send(2, 1, sized(5, 'C'), { timeoutMs: 100 }), 'pending'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload(sized(50, 'A')) }] }),
      x(op.receive(1), 'ok', {
        deliveries: [{ payload: payload(sized(60, 'B')) }, { payload: payload(sized(5, 'C')) }],
      }),
    ],
  },
  {
    id: 'held-back-not-examined',
    title:
      'a blocked send held back behind an older one is not examined: a transfer revoked meanwhile fails it only once nothing holds it back',
    clauses: ['SEND-7', 'REVOKE-3'],
    limits: { queueCapacityMessages: 1 },
    steps: [
      ...setup(true),
      x(op.mint(3, 3, ['send', 'grant']), 'ok', { handle: 4 }),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'first waiter', { timeoutMs: 50 }), 'pending'),
      x(op.send(3, 1, 'held', { transfers: [t(4)], timeoutMs: 50 }), 'pending'),
      x(op.revoke(3, 3), 'ok', { revoked: 1 }),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('fills') }] }),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('first waiter') }] }),
      x(op.receive(3), 'ok', {
        deliveries: [{ notice: { type: 'revoked', handle: 4 } }, { notice: { type: 'no-senders', node: 3 } }],
      }),
    ],
  },
  {
    id: 'blocked-short-of-both',
    title:
      "a blocked send short of both capacity and its quota counts as short of capacity and holds back other senders' waiters",
    clauses: ['SEND-7', 'QUOTA-1'],
    limits: { queueCapacityMessages: 2, senderQuotaMessages: 2 },
    steps: [
      ...setup(true),
      x(op.send(2, 1, 'p2 one'), 'ok'),
      x(op.send(2, 1, 'p2 two'), 'ok'),
      x(op.send(2, 1, 'p2 three', { timeoutMs: 50 }), 'pending'),
      x(op.send(3, 1, 'p3 one', { timeoutMs: 50 }), 'pending'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('p2 one') }] }),
      x(op.receive(1), 'ok', {
        deliveries: [{ payload: payload('p2 two') }, { payload: payload('p2 three') }],
      }),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('p3 one') }] }),
    ],
  },
  {
    id: 'canonical-base64',
    title: 'segments must be canonical base64: AB== fails INVALID_ARGUMENT, and one byte string has one wire form',
    clauses: ['SEND-2', 'ERR-1'],
    steps: [
      ...setup(),
      x({ op: 'send', peer: 2, handle: 1, message: { segments: ['AB=='] }, timeoutMs: 0 } as never, 'INVALID_ARGUMENT'),
      x(
        { op: 'send', peer: 2, handle: 1, message: { segments: ['AB==', ''] }, timeoutMs: 0 } as never,
        'INVALID_ARGUMENT',
      ),
      x({ op: 'send', peer: 2, handle: 1, message: { segments: ['AAB='] }, timeoutMs: 0 } as never, 'INVALID_ARGUMENT'),
      x({ op: 'send', peer: 2, handle: 1, message: { segments: ['AA=='] }, timeoutMs: 0 } as never, 'ok'),
      x({ op: 'send', peer: 2, handle: 1, message: { segments: ['AA==', ''] }, timeoutMs: 0 } as never, 'ok'),
      x({ op: 'send', peer: 2, handle: 1, message: { segments: ['', 'AA==', ''] }, timeoutMs: 0 } as never, 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ payload: 'AA==' }, { payload: 'AA==' }, { payload: 'AA==' }] }),
    ],
  },
  {
    id: 'clock-end',
    title: 'the clock stops at 2^53-1: a tick past it fails INVALID_ARGUMENT, and a deadline beyond it is none',
    clauses: ['TIME-3', 'TIME-1', 'CALL-2'],
    steps: [
      ...setup(),
      x(tickTo(Number.MAX_SAFE_INTEGER - 10), 'ok', { nowMs: Number.MAX_SAFE_INTEGER - 10 }),
      x(op.call(2, 1, 'waits', { timeoutMs: 20 }), 'pending'),
      x(op.call(2, 1, 'times out', { timeoutMs: 5 }), 'pending'),
      x(op.tick(11), 'INVALID_ARGUMENT'),
      x(op.tick(10), 'ok', { nowMs: Number.MAX_SAFE_INTEGER }),
      x(op.tick(0), 'ok'),
      x(op.tick(1), 'INVALID_ARGUMENT'),
      // The call that timed out was never received: it is withdrawn (CALL-8).
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.reply(1, 2, 'answered'), 'ok'),
    ],
  },
  {
    id: 'close-release-order',
    title:
      'close releases handles in the order they entered the table, whatever their numbering: a reply handle delegated later resolves its call later',
    clauses: ['CLOSE-3', 'CALL-4', 'CALL-5', 'TIME-2'],
    steps: [
      ...setup(true),
      // p2 calls p1 (reply handle R1, created first), then p3 calls p2's node B (R2, created second).
      x(op.call(2, 1, 'to p1'), 'pending'),
      x(op.call(3, 2, 'to p2'), 'pending'),
      x(op.receive(2), 'ok', { deliveries: [{ kind: 'call', replyHandle: 3 }] }), // R2 enters p2's table first
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.send(1, 1, 'R1 to p2', { transfers: [t(2, undefined, true)] }), 'ok'),
      x(op.close(1), 'ok'),
      // p1 closed: its node A is gone, so the message carrying R1 was discarded with it: p2's call NO_REPLY.
      x(op.call(3, 2, 'again'), 'pending'),
      x(op.receive(2), 'ok'),
      x(op.close(2), 'ok'),
    ],
  },
  {
    id: 'move-into-own-full-table',
    title:
      "moving a handle to a node of one's own needs a free slot first: the move frees its slot only after the operation succeeds",
    clauses: ['HANDLE-1', 'SEND-5'],
    limits: { maxHandlesPerPeer: 3 },
    steps: [
      x(op.attach(1001), 'ok'),
      x(op.createNode(1), 'ok', { handle: 1 }),
      x(op.mint(1, 1, ['send', 'grant']), 'ok', { handle: 2 }),
      x(op.mint(1, 1, ['send', 'grant']), 'ok', { handle: 3 }),
      x(op.send(1, 1, 'to myself', { transfers: [t(3, undefined, true)] }), 'TABLE_FULL'),
      x(op.release(1, 2), 'ok'),
      x(op.send(1, 1, 'to myself', { transfers: [t(3, undefined, true)] }), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'message', handles: [{ name: 4, state: 'live' }] }] }),
    ],
  },
  {
    id: 'multicast-move-false',
    title: 'a multicast transfer with move false is allowed and means what leaving move out means',
    clauses: ['MCAST-1', 'MCAST-5'],
    steps: [
      ...setup(true),
      x(op.multicast(3, [1, 2], 'both', { transfers: [{ handle: 3, move: false }] }), 'ok', { skipped: [] }),
      x(op.multicast(3, [1, 2], 'both', { transfers: [{ handle: 3, move: true }] }), 'INVALID_ARGUMENT'),
      x(op.send(3, 3, 'still mine'), 'ok'),
    ],
  },
  {
    id: 'multicast-tables-before-queues',
    title:
      "a multicast checks every destination's table before any queue: a full table anywhere fails TABLE_FULL even when another queue is full",
    clauses: ['MCAST-4', 'HANDLE-1', 'QUOTA-2'],
    limits: { maxHandlesPerPeer: 3, senderQuotaMessages: 1 },
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'p1 queue full for p3'), 'ok'),
      x(op.mint(2, 2, []), 'ok', { handle: 3 }), // p2's table: 3 of 3
      x(op.multicast(3, [1, 2], 'x', { transfers: [t(3)] }), 'TABLE_FULL'),
      x(op.multicast(3, [1, 2], 'x'), 'QUEUE_FULL'),
    ],
  },
  {
    id: 'close-ends-pending-in-ticket-order',
    title: "close completes the closing peer's call, blocked send and waiting receive CLOSED, in ticket order",
    clauses: ['CLOSE-1', 'TIME-2'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(),
      x(op.send(2, 1, 'fills'), 'ok'),
      x(op.send(2, 1, 'waits', { timeoutMs: 50 }), 'pending'),
      x(op.receive(2, 1, 50), 'pending'),
      x(op.close(2), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('fills') }, { kind: 'notice' }] }),
    ],
  },
];
