// Cases for rules the random property reaches least or cannot check by itself: the wake order of
// several blocked senders, hidden effects of failed operations, one outcome per call around its
// deadline, default rights on transfer, a delegated reply handle discarded in flight, the release
// order of a closing peer, ids never issued twice, canonical base64 and the end of the clock.
// Names and tickets are the model's (the suite renames them for the implementation).
import { type Case, op, payload, setup, t, x } from './dsl';

const END_OF_CLOCK = Number.MAX_SAFE_INTEGER;

export const GAP_CASES: Case[] = [
  {
    id: 'blocked-senders-wake-in-order',
    title: 'senders blocked on one full queue are woken in the order they blocked, each as room appears',
    clauses: ['SEND-7', 'ORDER-2', 'TIME-2'],
    limits: { queueCapacityMessages: 1 },
    steps: [
      ...setup(true),
      x(op.send(2, 1, 'a'), 'ok'),
      x(op.send(3, 1, 'b', { timeoutMs: null }), 'pending'),
      x(op.send(2, 1, 'c', { timeoutMs: null }), 'pending'),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('a') }] }),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('b') }] }),
      x(op.receive(1, 1), 'ok', { deliveries: [{ payload: payload('c') }] }),
      x(op.receive(1), 'ok', { deliveries: [] }),
    ],
  },
  {
    id: 'refused-send-derives-nothing',
    title:
      'a send refused QUEUE_FULL derives no handle and consumes no moved one: the node count and the handle are as before',
    clauses: ['ATOMIC-1', 'QUOTA-2', 'SEND-4', 'SEND-5', 'DESTROY-5'],
    limits: { senderQuotaMessages: 1 },
    steps: [
      ...setup(true),
      // p3 holds p3.h1 -> A (grant) and sends it, with a move, to B while its quota there is spent.
      x(op.send(3, 2, 'first'), 'ok'),
      x(op.send(3, 2, 'second', { transfers: [t(1, ['send'], true)] }), 'QUEUE_FULL'),
      x(op.sameNode(3, 1, 1), 'ok', { same: true }),
      // A's derivations: the grants to p2 and p3 only.
      x(op.destroyNode(1, 1, 3), 'STALE'),
      x(op.destroyNode(1, 1, 2), 'ok'),
    ],
  },
  {
    id: 'refused-transfer-takes-no-slot',
    title: 'a send refused TABLE_FULL takes no slot in the receiving table: the receiver mints again once it frees one',
    clauses: ['ATOMIC-1', 'HANDLE-1', 'SEND-4', 'MINT-1'],
    limits: { maxHandlesPerPeer: 2 },
    steps: [
      ...setup(),
      // p1's table: its root, and a slot held by the handle in flight to it.
      x(op.send(2, 1, 'one', { transfers: [t(2)] }), 'ok'),
      x(op.send(2, 1, 'two', { transfers: [t(2)] }), 'TABLE_FULL'),
      x(op.mint(1, 1, ['send']), 'TABLE_FULL'),
      x(op.receive(1), 'ok', { deliveries: [{ payload: payload('one'), handles: [{ name: 2 }] }] }),
      x(op.release(1, 2), 'ok'),
      x(op.mint(1, 1, ['send']), 'ok', { handle: 3 }),
      x(op.mint(1, 1, ['send']), 'TABLE_FULL'),
    ],
  },
  {
    id: 'answered-call-ignores-its-deadline',
    title: 'a call answered before its deadline has one outcome: ticking past the deadline completes nothing more',
    clauses: ['INV-6', 'TIME-1', 'CALL-2'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q', { timeoutMs: 5 }), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.tick(4), 'ok', { nowMs: 4 }),
      x(op.reply(1, 2, 'a'), 'ok'),
      x(op.tick(1), 'ok', { nowMs: 5 }),
      x(op.tick(10), 'ok', { nowMs: 15 }),
      x(op.cancel(2, 1), 'ok', { cancelled: false }),
    ],
  },
  {
    id: 'deadline-beats-late-reply',
    title:
      'a call whose deadline passes while the server holds it times out once: the late reply fails CALLER_GONE and the handle is gone',
    clauses: ['INV-6', 'TIME-1', 'CALL-4', 'CALL-9'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q', { timeoutMs: 5 }), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.tick(5), 'ok', { nowMs: 5 }),
      x(op.reply(1, 2, 'late'), 'CALLER_GONE'),
      x(op.reply(1, 2, 'again'), 'BAD_HANDLE'),
      x(op.receive(1), 'ok'),
    ],
  },
  {
    id: 'transfer-keeps-rights-by-default',
    title: "a transfer that names no rights passes the sender's rights, grant included, so the receiver can pass it on",
    clauses: ['SEND-4', 'MINT-2', 'INV-2'],
    steps: [
      ...setup(true),
      x(op.send(3, 2, 'take A', { transfers: [t(1)] }), 'ok'),
      x(op.receive(2), 'ok', { deliveries: [{ handles: [{ name: 3, rights: ['send', 'grant'] }] }] }),
      x(op.send(2, 3, 'and on', { transfers: [t(3, ['send'])] }), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2, rights: ['send'] }] }] }),
      x(op.send(1, 2, 'no further', { transfers: [t(2)] }), 'NO_RIGHTS'),
    ],
  },
  {
    id: 'delegated-reply-discarded-in-flight',
    title: 'a reply handle delegated in a message that is discarded with its queue resolves the call NO_REPLY, once',
    clauses: ['CALL-5', 'CALL-4', 'DESTROY-3', 'INV-6'],
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'inbox', { transfers: [t(3)] }), 'ok'),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 2 }] }, { kind: 'call', replyHandle: 3 }] }),
      x(op.send(1, 2, 'answer this', { transfers: [t(3, undefined, true)] }), 'ok'),
      // The worker destroys the node the delegation waits at: the message and the reply handle go.
      x(op.destroyNode(3, 3), 'ok'),
      x(op.reply(1, 3, 'too late'), 'BAD_HANDLE'),
      x(op.cancel(2, 1), 'ok', { cancelled: false }),
    ],
  },
  {
    id: 'close-releases-in-table-order',
    title:
      'a closing peer releases its reply handles in the order they entered its table, not in ticket order: the NO_REPLY completions say so',
    clauses: ['CLOSE-3', 'CALL-4', 'CALL-5'],
    steps: [
      ...setup(true),
      x(op.send(3, 1, 'inbox', { transfers: [t(3)] }), 'ok'),
      x(op.call(2, 1, 'first'), 'pending'),
      x(op.call(3, 1, 'second'), 'pending'),
      x(op.receive(1), 'ok', {
        deliveries: [{ handles: [{ name: 2 }] }, { kind: 'call', replyHandle: 3 }, { kind: 'call', replyHandle: 4 }],
      }),
      // The first call's reply handle goes to p3 and comes back: it enters p1's table again, after the second's.
      x(op.send(1, 2, 'round trip', { transfers: [t(3, undefined, true)] }), 'ok'),
      x(op.receive(3), 'ok', { deliveries: [{ handles: [{ name: 4, kind: 'reply' }] }] }),
      x(op.send(3, 1, 'back', { transfers: [t(4, undefined, true)] }), 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ handles: [{ name: 5, kind: 'reply' }] }] }),
      x(op.close(1), 'ok'),
    ],
  },
  {
    id: 'ids-never-issued-again',
    title: 'a peer id and a ticket are never issued again: not after the peer closes, nor after the ticket completes',
    clauses: ['PEER-1', 'TIME-2', 'BOUND-3'],
    steps: [
      ...setup(),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.cancel(2, 1), 'ok', { cancelled: true }),
      x(op.call(2, 1, 'q again'), 'pending'),
      x(op.close(1), 'ok'),
      x(op.attach(1003, [{ fromPeer: 2, handle: 2 }]), 'ok', { peer: 3, handles: [1] }),
      x(op.send(3, 1, 'hello'), 'ok'),
      x(op.receive(2), 'ok', {
        deliveries: [{ kind: 'notice', notice: { type: 'node-destroyed' } }, { payload: payload('hello') }],
      }),
      x(op.receive(1), 'CLOSED'),
    ],
  },
  {
    id: 'non-canonical-base64-refused',
    title: 'segments must be canonical base64: bits past the data or missing padding are INVALID_ARGUMENT',
    clauses: ['SEND-2', 'ERR-1', 'ATOMIC-1'],
    steps: [
      ...setup(),
      ...['AB==', 'YR==', 'YQ', 'YWJ=', 'Y Q=='].map((segment) =>
        x({ op: 'send', peer: 2, handle: 1, message: { segments: [segment] }, timeoutMs: 0 }, 'INVALID_ARGUMENT'),
      ),
      x({ op: 'send', peer: 2, handle: 1, message: { segments: ['YQ==', ''] }, timeoutMs: 0 }, 'ok'),
      x(op.receive(1), 'ok', { deliveries: [{ payload: 'YQ==' }] }),
    ],
  },
  {
    id: 'checks-in-order-for-every-operation',
    title:
      'a malformed handle name is INVALID_ARGUMENT before any lookup, and a message with too many handles is refused before its target is resolved, in revoke, destroyNode, reply and replyReceive alike',
    clauses: ['ERR-1', 'SEND-3', 'HANDLE-5', 'REVOKE-1', 'DESTROY-1', 'CALL-10'],
    limits: { maxHandlesPerMessage: 1 },
    steps: [
      ...setup(),
      x(op.revoke(2, -1), 'INVALID_ARGUMENT'),
      x(op.revoke(2, 1.5), 'INVALID_ARGUMENT'),
      x(op.destroyNode(1, -1), 'INVALID_ARGUMENT'),
      x(op.destroyNode(1, 2 ** 53), 'INVALID_ARGUMENT'),
      // Through a node handle (not a reply handle) and through no handle at all: the count decides first.
      x(op.mint(2, 2, ['send']), 'ok', { handle: 3 }),
      x(op.reply(2, 1, 'two', { transfers: [t(2), t(3)] }), 'TOO_MANY_HANDLES'),
      x(op.reply(2, 9, 'two', { transfers: [t(2), t(3)] }), 'TOO_MANY_HANDLES'),
      x(op.replyReceive(2, 1, 'two', { transfers: [t(2), t(3)] }), 'TOO_MANY_HANDLES'),
      x(op.replyReceive(2, 9, 'two', { transfers: [t(2), t(3)] }), 'TOO_MANY_HANDLES'),
      x(op.reply(2, 1, 'one'), 'WRONG_KIND'),
    ],
  },
  {
    id: 'checks-in-order-attach-reply-cancel',
    title:
      'checks run in their order: a bad bootstrap grant before a full bus, an abandoned call before a full caller table, a closed peer before a bad ticket',
    clauses: ['ERR-1', 'BUS-2', 'BUS-3', 'CALL-4', 'CALL-6', 'CANCEL-1', 'PEER-2'],
    limits: { maxPeers: 2, maxHandlesPerPeer: 3 },
    steps: [
      ...setup(),
      x(op.attach(1003, [{ fromPeer: 9, handle: 1 }]), 'INVALID_ARGUMENT'),
      x(op.attach(1003), 'TABLE_FULL'),
      // p2's table is full; its call is cancelled after p1 took it: a reply carrying a handle is CALLER_GONE.
      x(op.mint(2, 2, ['send']), 'ok', { handle: 3 }),
      x(op.call(2, 1, 'q'), 'pending'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.cancel(2, 1), 'ok', { cancelled: true }),
      x(op.reply(1, 2, 'late', { transfers: [t(1)] }), 'CALLER_GONE'),
      x(op.reply(1, 2, 'again'), 'BAD_HANDLE'),
      x(op.close(2), 'ok'),
      x(op.cancel(2, -1), 'CLOSED'),
    ],
  },
  {
    id: 'clock-stops-at-its-end',
    title:
      'the clock runs to 2^53-1 and no further: a tick past it is INVALID_ARGUMENT, and a deadline beyond it is none',
    clauses: ['TIME-3', 'TIME-1', 'BOUND-3'],
    steps: [
      ...setup(),
      x(op.tick(END_OF_CLOCK - 10), 'ok', { nowMs: END_OF_CLOCK - 10 }),
      x(op.call(2, 1, 'q', { timeoutMs: 20 }), 'pending'),
      x(op.tick(10), 'ok', { nowMs: END_OF_CLOCK }),
      x(op.tick(1), 'INVALID_ARGUMENT'),
      x(op.receive(1), 'ok', { deliveries: [{ kind: 'call', replyHandle: 2 }] }),
      x(op.reply(1, 2, 'still waiting'), 'ok'),
    ],
  },
];
