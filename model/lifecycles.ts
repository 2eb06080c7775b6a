// Lifecycle statecharts (xstate v5) of the entities of the protocol. They are
// the single definition of which status changes are legal: the bus model moves
// every status through `advance`, which reads the transition table derived from
// these machines, and the docs draw the diagrams from the same machines.
import { createMachine } from 'xstate';

export const peerLifecycle = createMachine({
  id: 'peer',
  initial: 'open',
  states: {
    open: { on: { CLOSE: 'closed' }, description: 'Attached by the bus owner (BUS-2); may operate.' },
    closed: { type: 'final', description: 'Every operation fails CLOSED (PEER-2, CLOSE-4).' },
  },
});

export const nodeLifecycle = createMachine({
  id: 'node',
  initial: 'live',
  states: {
    live: {
      on: { DESTROY: 'destroyed', OWNER_CLOSE: 'destroyed' },
      description: "Receives messages in its owner's queue (NODE-2).",
    },
    destroyed: {
      type: 'final',
      description: 'Handles to it are dead; queued messages discarded (DESTROY-2, DESTROY-3).',
    },
  },
});

export const handleLifecycle = createMachine({
  id: 'handle',
  initial: 'live',
  states: {
    live: {
      on: { REVOKE: 'revoked', NODE_DESTROYED: 'dead', RELEASE: 'released', DELIVER: 'live' },
      description: 'Usable as its rights allow; in a table or in flight (HANDLE-6).',
    },
    revoked: {
      on: { RELEASE: 'released', DELIVER: 'released' },
      description: 'Every use but release fails REVOKED (REVOKE-1).',
    },
    dead: {
      on: { RELEASE: 'released', DELIVER: 'released' },
      description: 'Every use but release fails DEAD (DESTROY-2).',
    },
    released: { type: 'final', description: 'The name never resolves again (RELEASE-1).' },
  },
});

export const replyHandleLifecycle = createMachine({
  id: 'replyHandle',
  initial: 'live',
  states: {
    live: {
      on: { DELIVER: 'live', DELEGATE: 'live', REPLY: 'used', ABANDON: 'abandoned', RELEASE: 'released' },
      description: 'One-shot right to answer one call (CALL-3), delegable by move (CALL-5), while the call is pending.',
    },
    abandoned: {
      on: { CALLER_GONE: 'used', RELEASE: 'released', DELIVER: 'released' },
      description:
        'Its call timed out, was cancelled or its caller closed after the call was received: the holder in a table ' +
        'is told by a call-abandoned notice; it cannot travel, and one in flight arrives flagged (CALL-8, CALL-9).',
    },
    used: {
      type: 'final',
      description: 'Consumed by reply, or by a late reply or replyReceive to an abandoned call (CALL-4, CALL-10).',
    },
    released: {
      type: 'final',
      description:
        'Released, discarded in flight, or its holder closed (the call, if pending, resolves NO_REPLY, CALL-4); ' +
        'or arrived flagged abandoned (RECV-3).',
    },
  },
});

export const callLifecycle = createMachine({
  id: 'call',
  initial: 'pending',
  states: {
    pending: {
      on: {
        REPLY: 'replied',
        NODE_DESTROYED: 'dead',
        REPLY_HANDLE_GONE: 'noReply',
        DEADLINE: 'timedOut',
        CANCEL: 'cancelled',
        CALLER_CLOSE: 'closed',
      },
      description: 'The caller waits for exactly one outcome (CALL-1), whatever races (CANCEL-3).',
    },
    replied: { type: 'final', description: 'Outcome: the reply (CALL-3).' },
    dead: { type: 'final', description: 'Outcome: DEAD, its message still queued when its node died (DESTROY-4).' },
    noReply: { type: 'final', description: 'Outcome: NO_REPLY (CALL-4).' },
    timedOut: { type: 'final', description: 'Outcome: TIMED_OUT (TIME-1); abandoned (CALL-8).' },
    cancelled: { type: 'final', description: 'Outcome: CANCELLED (CANCEL-1); abandoned (CALL-8).' },
    closed: { type: 'final', description: 'Outcome: CLOSED (CLOSE-1); abandoned (CALL-8).' },
  },
});

export const blockedSendLifecycle = createMachine({
  id: 'blockedSend',
  initial: 'waiting',
  states: {
    waiting: {
      on: {
        ROOM: 'sent',
        RECHECK_FAILED: 'failed',
        NODE_DESTROYED: 'failed',
        DEADLINE: 'timedOut',
        CANCEL: 'cancelled',
        SENDER_CLOSE: 'closed',
      },
      description: 'Waiting for room in the queue, in order with other waiters (SEND-7).',
    },
    sent: { type: 'final', description: 'Enqueued once room freed and every check passed again.' },
    failed: { type: 'final', description: 'A check failed at retry (e.g. DEAD, REVOKED).' },
    timedOut: { type: 'final', description: 'Outcome: TIMED_OUT.' },
    cancelled: { type: 'final', description: 'Outcome: CANCELLED; nothing enqueued, nothing moved (CANCEL-2).' },
    closed: { type: 'final', description: 'Outcome: CLOSED (CLOSE-1).' },
  },
});

export const receiveWaitLifecycle = createMachine({
  id: 'receiveWait',
  initial: 'waiting',
  states: {
    waiting: {
      on: { ARRIVAL: 'delivered', DEADLINE: 'timedOut', CANCEL: 'cancelled', RECEIVER_CLOSE: 'closed' },
      description: 'Waiting on an empty queue (RECV-2), after a receive or a replyReceive (CALL-10).',
    },
    delivered: { type: 'final', description: 'Completed with the first batch that arrived.' },
    timedOut: { type: 'final', description: 'Completed with an empty list.' },
    cancelled: { type: 'final', description: 'Outcome: CANCELLED; took nothing (CANCEL-2).' },
    closed: { type: 'final', description: 'Outcome: CLOSED (CLOSE-1).' },
  },
});

export const roomWatchLifecycle = createMachine({
  id: 'roomWatch',
  initial: 'armed',
  states: {
    armed: {
      on: { REFUSED: 'armed', ROOM: 'notified', SENDER_CLOSE: 'ended', QUEUE_CLOSE: 'ended' },
      description:
        'A refusal for room (QUEUE_FULL, or a multicast skipping a full queue) owes the sender a room notice; ' +
        'a later refusal for the same queue updates what it waits for (QUOTA-5).',
    },
    notified: {
      on: { RECEIVE: 'received', SENDER_CLOSE: 'discarded', QUEUE_CLOSE: 'withdrawn' },
      description: "The queue had room: its room notice waits in the sender's queue; refusals arm nothing meanwhile.",
    },
    ended: { type: 'final', description: 'The sender or the queue closed before there was room (CLOSE-4).' },
    received: { type: 'final', description: 'The sender took its room notice.' },
    discarded: { type: 'final', description: 'The sender closed with the notice unread (CLOSE-4).' },
    withdrawn: { type: 'final', description: "The queue's peer closed: the notice is taken back (QUOTA-5)." },
  },
});

export const noSendersNoticeLifecycle = createMachine({
  id: 'noSendersNotice',
  initial: 'waiting',
  states: {
    waiting: {
      on: { RECEIVE: 'received', SENDERS_RISE: 'withdrawn', NODE_DESTROYED: 'discarded' },
      description: "In the owner's queue while the node's sender count stays at zero (NOTICE-2); at most one per node.",
    },
    received: { type: 'final', description: 'Taken by receive: true when received (NOTICE-2).' },
    withdrawn: {
      type: 'final',
      description: 'The count rose again before it was received: taken back out of the queue (NOTICE-6).',
    },
    discarded: { type: 'final', description: 'Its node was destroyed, or its owner closed (DESTROY-3).' },
  },
});

export const LIFECYCLES = {
  peer: peerLifecycle,
  node: nodeLifecycle,
  handle: handleLifecycle,
  replyHandle: replyHandleLifecycle,
  call: callLifecycle,
  blockedSend: blockedSendLifecycle,
  receiveWait: receiveWaitLifecycle,
  noSendersNotice: noSendersNoticeLifecycle,
  roomWatch: roomWatchLifecycle,
} as const;

export type LifecycleName = keyof typeof LIFECYCLES;
export type PeerStatus = 'open' | 'closed';
export type NodeStatus = 'live' | 'destroyed';
export type HandleStatus = 'live' | 'revoked' | 'dead';
export type ReplyHandleStatus = 'live' | 'abandoned';
export type CallStatus = 'pending' | 'replied' | 'dead' | 'noReply' | 'timedOut' | 'cancelled' | 'closed';
export type RoomWatchStatus = 'armed' | 'notified';

/** state -> event -> target, read from the machine definitions once. */
export type TransitionTable = Record<string, Record<string, string>>;

function tableOf(machine: { config: unknown }): TransitionTable {
  const config = machine.config as { states: Record<string, { on?: Record<string, string> }> };
  const table: TransitionTable = {};
  for (const [state, node] of Object.entries(config.states)) {
    table[state] = { ...(node.on ?? {}) };
  }
  return table;
}

export const TRANSITIONS: Record<LifecycleName, TransitionTable> = Object.fromEntries(
  Object.entries(LIFECYCLES).map(([name, machine]) => [name, tableOf(machine)]),
) as Record<LifecycleName, TransitionTable>;

/** Thrown when the model itself tries an illegal status change: a bug in the model. */
export class ModelBug extends Error {}

/**
 * The same transitions, by event: event -> [lifecycle, from, to, lifecycle, from, to, ...].
 * An event names a handful of transitions at most, and every status change of every step
 * goes through advance: one Map lookup and a few string compares are cheaper than three
 * lookups by changing keys in the nested table.
 */
const BY_EVENT = new Map<string, string[]>();
for (const [lifecycle, table] of Object.entries(TRANSITIONS)) {
  for (const [from, on] of Object.entries(table)) {
    for (const [event, to] of Object.entries(on)) {
      let list = BY_EVENT.get(event);
      if (list === undefined) BY_EVENT.set(event, (list = []));
      list.push(lifecycle, from, to);
    }
  }
}

/** The status after `event`; throws ModelBug if the lifecycle does not allow it. */
export function advance<S extends string>(lifecycle: LifecycleName, from: S, event: string): S {
  const list = BY_EVENT.get(event);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i += 3) if (list[i] === lifecycle && list[i + 1] === from) return list[i + 2] as S;
  }
  throw new ModelBug(`illegal ${lifecycle} transition: ${from} --${event}-->`);
}
