// The checks of every operation, in the order ERR-1 fixes. Each rule is named
// by the clause it enforces and reads the state without changing it; the first
// rule that fails decides the operation's error. `applyInPlace` (model/step.ts)
// walks this list, and the xstate bus machine there shows each rule as a guard
// of the same name for the docs.
//
// Every rule must answer for any input whatever (ERR-1: a malformed operation is
// INVALID_ARGUMENT, never an exception): shape rules come first and later rules
// may rely on what they checked.
import type {
  AttachOp,
  CallOp,
  CancelOp,
  ErrorCode,
  HandleName,
  MulticastOp,
  Operation,
  OperationName,
  ReceiveOp,
  ReplyOp,
  ReplyReceiveOp,
  SendOp,
} from '../spec/types';
import type { BusState, PeerRec } from './state';
import type { RoomNeed } from './effects';

import {
  destOf,
  isCount,
  isDenseArray,
  isName,
  isSubset,
  lookup,
  mayWait,
  messageBytes,
  messageShapeValid,
  peerOf,
  queueRoom,
  refusesTransfers,
  resolveUsable,
  rightsValid,
  tableHasRoom,
  transferError,
  transfersOf,
  behindOwnBlockedSend,
  multicastLive,
  mayWaitFor,
  queueEmptyAfterReply,
  MAX_SAFE,
} from './checks';

export * from './checks';

export interface Rule {
  clause: string;
  says: string;
  fails: (s: BusState, op: any) => ErrorCode | null;
  /**
   * What a failure does besides returning the error (ATOMIC-1 exceptions and waits): a send that
   * may wait blocks (SEND-7) and one that may not arms a room watch, as every refusal for room
   * does (QUOTA-5); a late reply consumes its reply handle (CALL-4).
   */
  onFail?: 'block-if-waiting' | 'arm-room' | 'consume-reply-handle';
}

// ------------------------------------------------------------------ shared rules

const peerKnown: Rule = {
  clause: 'PEER-2',
  says: 'the peer id names an attached peer',
  fails: (s, op) => (peerOf(s, op.peer) ? null : 'INVALID_ARGUMENT'),
};
const peerOpen: Rule = {
  clause: 'PEER-2',
  says: 'the peer is open',
  fails: (s, op) => (s.peers[op.peer].status === 'open' ? null : 'CLOSED'),
};
const messageShape: Rule = {
  clause: 'SEND-5',
  says: 'the message is well formed (canonical base64 segments, known rights, no name twice, no holes)',
  fails: (_s, op) => (messageShapeValid(op.message) ? null : 'INVALID_ARGUMENT'),
};
const payloadSize: Rule = {
  clause: 'SEND-2',
  says: 'the gathered payload fits maxPayloadBytes',
  fails: (s, op) => (messageBytes(op.message) > s.limits.maxPayloadBytes ? 'TOO_LARGE' : null),
};
const handleCount: Rule = {
  clause: 'SEND-3',
  says: 'the message carries at most maxHandlesPerMessage handles',
  fails: (s, op) => (transfersOf(op.message).length > s.limits.maxHandlesPerMessage ? 'TOO_MANY_HANDLES' : null),
};
const targetNode: Rule = {
  clause: 'HANDLE-6',
  says: 'the handle resolves to a live node handle',
  fails: (s, op) => {
    const r = resolveUsable(s, op.peer, op.handle, 'node');
    return typeof r === 'string' ? r : null;
  },
};
const targetCanSend: Rule = {
  clause: 'SEND-1',
  says: 'the handle carries the send right',
  fails: (s, op) => (lookup(s, op.peer, op.handle)!.rights.includes('send') ? null : 'NO_RIGHTS'),
};
const targetAcceptsTransfers: Rule = {
  clause: 'NODE-5',
  says: 'the node accepts handles, if the message carries any',
  fails: (s, op) => {
    const t = op.message.transfers; // most messages carry none: no lookup then
    return t === undefined || t.length === 0 || !refusesTransfers(s, lookup(s, op.peer, op.handle)!, op.message)
      ? null
      : 'NO_RIGHTS';
  },
};
const transfersValid: Rule = {
  clause: 'SEND-4',
  says: 'every transferred handle is live and grantable, rights only attenuated; reply handles only moved (SEND-6)',
  fails: (s, op) => transferError(s, op.peer, transfersOf(op.message), true),
};
const nameIsSafe = (field: string, clause = 'ERR-1'): Rule => ({
  clause,
  says: `${field} is a safe integer`,
  fails: (_s, op) => (isName(op[field]) ? null : 'INVALID_ARGUMENT'),
});
const timeoutValid: Rule = {
  clause: 'TIME-1',
  says: 'timeoutMs, when given, is a safe integer',
  fails: (_s, op) => (op.timeoutMs === undefined || isCount(op.timeoutMs) ? null : 'INVALID_ARGUMENT'),
};
const optionalBoolean = (field: string, clause: string): Rule => ({
  clause,
  says: `${field}, when given, is a boolean`,
  fails: (_s, op) => (op[field] === undefined || typeof op[field] === 'boolean' ? null : 'INVALID_ARGUMENT'),
});

/** Table room in the node owner's table for the handles a message brings (HANDLE-1). */
function destTableRoom(extra: number): Rule {
  return {
    clause: 'HANDLE-1',
    says: "the receiver's table has room (slots and names) for the handles in flight to it",
    fails: (s, op) => {
      const incoming = transfersOf(op.message).length + extra;
      return incoming > 0 && !tableHasRoom(s, destOf(s, lookup(s, op.peer, op.handle)!), incoming)
        ? 'TABLE_FULL'
        : null;
    },
  };
}

/**
 * QUOTA-5: the queues a send, call or all-or-nothing multicast that failed QUEUE_FULL lacked room
 * in (capacity, quotas, or its own blocked send, SEND-8), with what it needed there.
 */
export function refusedRooms(s: BusState, op: SendOp | CallOp | MulticastOp): RoomNeed[] {
  const bytes = messageBytes(op.message);
  const n = transfersOf(op.message).length;
  if (op.op !== 'multicast') {
    const handles = n + (op.op === 'call' ? 1 : 0);
    const dest = destOf(s, lookup(s, op.peer, op.handle)!).id;
    return [{ dest, handle: op.handle, messages: 1, bytes, handles }];
  }
  const out: RoomNeed[] = [];
  const first = new Map<PeerRec, HandleName>();
  for (const name of op.handles) {
    const h = lookup(s, op.peer, name)!;
    if (h.status === 'live' && !first.has(destOf(s, h))) first.set(destOf(s, h), name);
  }
  for (const [d, k] of copiesPerPeer(s, op))
    if (queueRoom(s, d, op.peer, k, k * bytes, k * n) !== null || behindOwnBlockedSend(s, op.peer, d.id))
      out.push({ dest: d.id, handle: first.get(d)!, messages: k, bytes: k * bytes, handles: k * n });
  return out;
}

/**
 * Queue room for one message (QUOTA-1, QUOTA-4), and, for a fresh invocation, no older
 * blocked send of the same sender to that queue to overtake (SEND-8: 'order').
 */
export function roomError(s: BusState, op: SendOp | CallOp, replyHandle = 0): 'capacity' | 'quota' | 'order' | null {
  const dest = destOf(s, lookup(s, op.peer, op.handle)!);
  const handles = transfersOf(op.message).length + replyHandle;
  const room = queueRoom(s, dest, op.peer, 1, messageBytes(op.message), handles);
  if (room !== null) return room;
  return behindOwnBlockedSend(s, op.peer, dest.id) ? 'order' : null;
}

// ------------------------------------------------------------------ per operation

const attachRules: Rule[] = [
  {
    clause: 'BUS-2',
    says: 'credentials are three safe integers',
    fails: (_s, op: AttachOp) => {
      const c = op.credentials as unknown as Record<string, unknown>;
      return typeof c === 'object' && c !== null && isCount(c.uid) && isCount(c.gid) && isCount(c.pid)
        ? null
        : 'INVALID_ARGUMENT';
    },
  },
  {
    clause: 'BUS-3',
    says: 'each bootstrap grant names an open peer, valid rights and a badge in range',
    fails: (s, op: AttachOp) => {
      if (op.bootstrap === undefined) return null;
      if (!isDenseArray(op.bootstrap)) return 'INVALID_ARGUMENT';
      for (const g of op.bootstrap) {
        if (typeof g !== 'object' || g === null) return 'INVALID_ARGUMENT';
        const from = peerOf(s, g.fromPeer);
        if (!from || from.status !== 'open' || !isName(g.handle)) return 'INVALID_ARGUMENT';
        if (g.rights !== undefined && !rightsValid(g.rights)) return 'INVALID_ARGUMENT';
        if (g.badge !== undefined && !(isCount(g.badge) && g.badge >= 1)) return 'INVALID_ARGUMENT';
      }
      return null;
    },
  },
  {
    clause: 'BUS-2',
    says: 'the bus has room for another open peer, and a peer id for it (BOUND-3)',
    fails: (s) => {
      let open = 0;
      for (const id in s.peers) if (s.peers[id].status === 'open') open++;
      return open >= s.limits.maxPeers || s.nextPeer > MAX_SAFE ? 'TABLE_FULL' : null;
    },
  },
  {
    clause: 'BUS-3',
    says: 'each granted handle is a live node handle; rights only attenuated; badge only on an unbadged handle',
    fails: (s, op: AttachOp) => {
      for (const g of op.bootstrap ?? []) {
        const r = resolveUsable(s, g.fromPeer, g.handle, 'node');
        if (typeof r === 'string') return r;
        if (g.rights !== undefined && !isSubset(g.rights, r.rights)) return 'NO_RIGHTS';
        if (g.badge !== undefined && r.badge !== 0) return 'NO_RIGHTS';
      }
      return null;
    },
  },
  {
    clause: 'HANDLE-1',
    says: 'the bootstrap handles fit the new table',
    fails: (s, op: AttachOp) => ((op.bootstrap ?? []).length > s.limits.maxHandlesPerPeer ? 'TABLE_FULL' : null),
  },
];

const createNodeRules: Rule[] = [
  peerKnown,
  peerOpen,
  optionalBoolean('credentials', 'CRED-1'),
  optionalBoolean('acceptsHandles', 'NODE-5'),
  {
    clause: 'NODE-4',
    says: 'the peer owns fewer than maxNodesPerPeer live nodes',
    fails: (s, op) => (s.peers[op.peer].nodes >= s.limits.maxNodesPerPeer ? 'TABLE_FULL' : null),
  },
  {
    clause: 'NODE-1',
    says: "the peer's table has room for the root handle",
    fails: (s, op) => (tableHasRoom(s, s.peers[op.peer], 1) ? null : 'TABLE_FULL'),
  },
];

const mintRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  {
    clause: 'MINT-3',
    says: 'rights are known and a badge, when given, is in 1..2^53-1',
    fails: (_s, op) =>
      !rightsValid(op.rights) || (op.badge !== undefined && !(isCount(op.badge) && op.badge >= 1))
        ? 'INVALID_ARGUMENT'
        : null,
  },
  targetNode,
  {
    clause: 'MINT-2',
    says: "the rights asked are a subset of the handle's",
    fails: (s, op) => (isSubset(op.rights, lookup(s, op.peer, op.handle)!.rights) ? null : 'NO_RIGHTS'),
  },
  {
    clause: 'MINT-3',
    says: 'a badge is set only on an unbadged handle',
    fails: (s, op) => (op.badge !== undefined && lookup(s, op.peer, op.handle)!.badge !== 0 ? 'NO_RIGHTS' : null),
  },
  {
    clause: 'HANDLE-1',
    says: "the peer's table has room for the new handle",
    fails: (s, op) => (tableHasRoom(s, s.peers[op.peer], 1) ? null : 'TABLE_FULL'),
  },
];

const releaseRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  {
    clause: 'HANDLE-3',
    says: "the name is in the peer's table",
    fails: (s, op) => (lookup(s, op.peer, op.handle) ? null : 'BAD_HANDLE'),
  },
];

const revokeRules: Rule[] = [peerKnown, peerOpen, nameIsSafe('handle'), targetNode];

const destroyRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  {
    clause: 'DESTROY-5',
    says: 'derivedCount, when given, is a safe integer',
    fails: (_s, op) => (op.derivedCount === undefined || isCount(op.derivedCount) ? null : 'INVALID_ARGUMENT'),
  },
  targetNode,
  {
    clause: 'DESTROY-1',
    says: 'the peer owns the node',
    fails: (s, op) => (s.nodes[lookup(s, op.peer, op.handle)!.node].owner === op.peer ? null : 'NOT_OWNER'),
  },
  {
    clause: 'DESTROY-5',
    says: "a derivedCount given is still the node's: nothing was derived since",
    fails: (s, op) =>
      op.derivedCount !== undefined && s.nodes[lookup(s, op.peer, op.handle)!.node].derivedCount !== op.derivedCount
        ? 'STALE'
        : null,
  },
];

const sameNodeRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  nameIsSafe('other'),
  targetNode,
  {
    clause: 'NODE-6',
    says: 'the other handle resolves to a live node handle',
    fails: (s, op) => {
      const r = resolveUsable(s, op.peer, op.other, 'node');
      return typeof r === 'string' ? r : null;
    },
  },
];

const sendRoom: Rule = {
  clause: 'QUOTA-2',
  says: 'the queue has room, the sender is within its quotas, and no blocked send of its own waits for it (else wait, SEND-7)',
  fails: (s, op: SendOp) => (roomError(s, op) ? 'QUEUE_FULL' : null),
  onFail: 'block-if-waiting',
};

const sendRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  timeoutValid,
  messageShape,
  payloadSize,
  handleCount,
  targetNode,
  targetCanSend,
  targetAcceptsTransfers,
  transfersValid,
  destTableRoom(0),
  sendRoom,
];

/**
 * SEND-7: a blocked send checked again, exactly as firstFailure would check it, except that
 * its queue check says which room is short, 'capacity' (later waiters for the same queue
 * wait behind it) or 'quota' (its sender's share is used up); the order among blocked sends
 * (SEND-8) is settle's business (model/apply.ts).
 */
export function recheckBlockedSend(s: BusState, op: SendOp): ErrorCode | 'capacity' | 'quota' | null {
  for (let i = 0; i < sendRules.length; i++) {
    const rule = sendRules[i];
    if (rule === sendRoom) {
      const dest = destOf(s, lookup(s, op.peer, op.handle)!);
      return queueRoom(s, dest, op.peer, 1, messageBytes(op.message), transfersOf(op.message).length);
    }
    const code = rule.fails(s, op);
    if (code !== null) return code;
  }
  return null;
}

const callRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  timeoutValid,
  optionalBoolean('replierCredentials', 'CRED-3'),
  messageShape,
  payloadSize,
  handleCount,
  targetNode,
  targetCanSend,
  targetAcceptsTransfers,
  transfersValid,
  destTableRoom(1),
  {
    clause: 'QUOTA-2',
    says: 'the queue has room, the caller is within its quotas (the reply handle counted), and no blocked send of its own waits for it',
    fails: (s, op: CallOp) => (roomError(s, op, 1) ? 'QUEUE_FULL' : null),
    onFail: 'arm-room',
  },
  {
    clause: 'TIME-4',
    says: 'the call may wait for its reply (timeoutMs is not 0: a call that may not wait times out at once, CALL-1)',
    fails: (_s, op: CallOp) => (op.timeoutMs === 0 ? 'TIMED_OUT' : null),
  },
  {
    clause: 'BOUND-2',
    says: 'the caller has fewer than maxPendingPerPeer pending operations (and a ticket is left, BOUND-3)',
    fails: (s, op) => (mayWait(s, op.peer) ? null : 'TOO_MANY_PENDING'),
  },
];

const replyTarget: Rule = {
  clause: 'HANDLE-5',
  says: 'the handle resolves to a reply handle',
  fails: (s, op) => {
    const r = resolveUsable(s, op.peer, op.handle, 'reply');
    return typeof r === 'string' ? r : null;
  },
};
const replyNotCarried: Rule = {
  clause: 'CALL-7',
  says: 'the reply does not carry the reply handle it answers',
  fails: (_s, op: ReplyOp | ReplyReceiveOp) =>
    transfersOf(op.message).some((t) => t.handle === op.handle) ? 'INVALID_ARGUMENT' : null,
};
const replyTableRoom: Rule = {
  clause: 'CALL-6',
  says: "the caller's table has room for the handles the reply carries",
  fails: (s, op: ReplyOp) => {
    const caller = s.peers[s.calls[lookup(s, op.peer, op.handle)!.call].caller];
    const n = transfersOf(op.message).length;
    return n > 0 && !tableHasRoom(s, caller, n) ? 'TABLE_FULL' : null;
  },
};
const maxValid: Rule = {
  clause: 'RECV-1',
  says: 'max is a safe integer of at least 1',
  fails: (_s, op: ReceiveOp) => (isCount(op.max) && op.max >= 1 ? null : 'INVALID_ARGUMENT'),
};

const replyRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  messageShape,
  replyNotCarried,
  payloadSize,
  handleCount,
  replyTarget,
  transfersValid,
  {
    clause: 'CALL-4',
    says: 'the caller still waits (else the reply handle is consumed)',
    fails: (s, op: ReplyOp) =>
      s.calls[lookup(s, op.peer, op.handle)!.call].status === 'pending' ? null : 'CALLER_GONE',
    onFail: 'consume-reply-handle',
  },
  replyTableRoom,
];

const replyReceiveRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  messageShape,
  replyNotCarried,
  maxValid,
  timeoutValid,
  payloadSize,
  handleCount,
  replyTarget,
  transfersValid,
  {
    clause: 'CALL-10',
    says: "a reply to a pending call has room in the caller's table for its handles (a dropped reply needs none)",
    fails: (s, op: ReplyReceiveOp) =>
      s.calls[lookup(s, op.peer, op.handle)!.call].status === 'pending' ? replyTableRoom.fails(s, op) : null,
  },
  {
    clause: 'BOUND-2',
    says: 'a receive that would wait, on the queue as the reply leaves it, finds the peer below maxPendingPerPeer pending operations',
    fails: (s, op: ReplyReceiveOp) =>
      mayWaitFor(op.timeoutMs) && !mayWait(s, op.peer) && queueEmptyAfterReply(s, op) ? 'TOO_MANY_PENDING' : null,
  },
];

/** Per receiving peer, how many copies of a multicast it gets (MCAST-4). */
function copiesPerPeer(s: BusState, op: MulticastOp): Map<PeerRec, number> {
  const copies = new Map<PeerRec, number>();
  for (const h of multicastLive(s, op)) {
    const d = destOf(s, h);
    copies.set(d, (copies.get(d) ?? 0) + 1);
  }
  return copies;
}

const multicastRules: Rule[] = [
  peerKnown,
  peerOpen,
  {
    clause: 'MCAST-1',
    says: 'at least one destination, no name twice, no move and no reply handle in transfers',
    fails: (_s, op: MulticastOp) => {
      const handles = op.handles as unknown;
      if (!isDenseArray(handles) || handles.length === 0 || !handles.every(isName)) return 'INVALID_ARGUMENT';
      if (new Set(handles).size !== handles.length) return 'INVALID_ARGUMENT';
      if (!messageShapeValid(op.message)) return 'INVALID_ARGUMENT';
      if (transfersOf(op.message).some((t) => t.move === true)) return 'INVALID_ARGUMENT';
      if (op.skipFull !== undefined && typeof op.skipFull !== 'boolean') return 'INVALID_ARGUMENT'; // MCAST-6
      return null;
    },
  },
  payloadSize,
  handleCount,
  {
    clause: 'MCAST-2',
    says: 'every destination is a node handle with send right that is not revoked, to a node accepting the transfers',
    fails: (s, op: MulticastOp) => {
      for (const n of op.handles) {
        const h = lookup(s, op.peer, n);
        if (!h) return 'BAD_HANDLE';
        if (h.kind !== 'node') return 'WRONG_KIND';
        if (h.status === 'revoked') return 'REVOKED';
        if (!h.rights.includes('send')) return 'NO_RIGHTS';
        if (h.status === 'live' && refusesTransfers(s, h, op.message)) return 'NO_RIGHTS'; // NODE-5
      }
      return null;
    },
  },
  {
    clause: 'MCAST-5',
    says: 'every transferred handle is live and grantable (no reply handles)',
    fails: (s, op: MulticastOp) => transferError(s, op.peer, transfersOf(op.message), false),
  },
  {
    clause: 'MCAST-4',
    says: "every live destination's table has room for its copies",
    fails: (s, op: MulticastOp) => {
      const n = transfersOf(op.message).length;
      if (n === 0) return null;
      for (const [d, k] of copiesPerPeer(s, op)) if (!tableHasRoom(s, d, k * n)) return 'TABLE_FULL';
      return null;
    },
  },
  {
    clause: 'MCAST-4',
    says: "every live destination's queue has room within the sender's quotas, and no blocked send of its own waits for it (unless skipFull, MCAST-6)",
    onFail: 'arm-room',
    fails: (s, op: MulticastOp) => {
      if (op.skipFull === true) return null; // full destinations are skipped instead (MCAST-6)
      const bytes = messageBytes(op.message);
      const n = transfersOf(op.message).length;
      for (const [d, k] of copiesPerPeer(s, op)) {
        if (queueRoom(s, d, op.peer, k, k * bytes, k * n)) return 'QUEUE_FULL';
        if (behindOwnBlockedSend(s, op.peer, d.id)) return 'QUEUE_FULL'; // SEND-8
      }
      return null;
    },
  },
];

const receiveRules: Rule[] = [
  peerKnown,
  peerOpen,
  maxValid,
  timeoutValid,
  {
    clause: 'BOUND-2',
    says: 'a receive that would wait finds the peer below maxPendingPerPeer pending operations',
    fails: (s, op: ReceiveOp) =>
      mayWaitFor(op.timeoutMs) && s.peers[op.peer].queue.length === 0 && !mayWait(s, op.peer)
        ? 'TOO_MANY_PENDING'
        : null,
  },
];

const cancelRules: Rule[] = [
  peerKnown,
  peerOpen,
  {
    clause: 'CANCEL-1',
    says: 'the ticket is a safe integer',
    fails: (_s, op: CancelOp) => (isCount(op.ticket) ? null : 'INVALID_ARGUMENT'),
  },
];

const closeRules: Rule[] = [peerKnown, peerOpen];

const tickRules: Rule[] = [
  {
    clause: 'TIME-1',
    says: 'ms is a safe integer',
    fails: (_s, op) => (isCount(op.ms) ? null : 'INVALID_ARGUMENT'),
  },
  {
    clause: 'TIME-3',
    says: 'the clock does not pass 2^53-1',
    fails: (s, op) => (op.ms > MAX_SAFE - s.nowMs ? 'INVALID_ARGUMENT' : null),
  },
];

export const RULES: Record<OperationName, Rule[]> = {
  attach: attachRules,
  createNode: createNodeRules,
  mint: mintRules,
  release: releaseRules,
  revoke: revokeRules,
  destroyNode: destroyRules,
  sameNode: sameNodeRules,
  send: sendRules,
  call: callRules,
  reply: replyRules,
  replyReceive: replyReceiveRules,
  multicast: multicastRules,
  receive: receiveRules,
  cancel: cancelRules,
  close: closeRules,
  tick: tickRules,
};

/** The guard name of a rule, as the xstate machine and the docs show it. */
export function ruleName(rule: Rule): string {
  return `${rule.clause}: ${rule.says}`;
}

/** The rules of an operation: none for something that is not an operation of the spec. */
export function rulesOf(op: unknown): Rule[] | undefined {
  return typeof op === 'object' && op !== null ? RULES_BY_NAME.get((op as { op?: unknown }).op) : undefined;
}

const RULES_BY_NAME = new Map<unknown, Rule[]>(Object.entries(RULES));

/** The first failing rule of an operation, or null when all pass. */
export function firstFailure(s: BusState, op: Operation): { rule: Rule; code: ErrorCode } | null {
  const rules = rulesOf(op);
  if (!rules) return { rule: UNKNOWN_OPERATION, code: 'INVALID_ARGUMENT' };
  for (let i = 0; i < rules.length; i++) {
    const code = rules[i].fails(s, op);
    if (code !== null) return { rule: rules[i], code };
  }
  return null;
}

export const UNKNOWN_OPERATION: Rule = {
  clause: 'ERR-1',
  says: 'the operation is one the spec defines',
  fails: () => 'INVALID_ARGUMENT',
};
