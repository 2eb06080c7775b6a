// The checks of every operation, in the order ERR-1 fixes. Each rule is named
// by the clause it enforces and reads the state without changing it; the first
// rule that fails decides the operation's error. The xstate bus machine turns
// each rule into a guard of the same name (model/machine.ts), and the in-place
// runner (model/step.ts) walks the same list.
import type {
  AttachOp,
  CallOp,
  ErrorCode,
  HandleName,
  Message,
  MulticastOp,
  Operation,
  OperationName,
  PeerId,
  ReceiveOp,
  ReplyOp,
  Right,
  SendOp,
  Transfer,
} from '../spec/types';
import { queueLoad, tableSize, type BusState, type HandleRec, type PeerRec } from './state';
import { base64Bytes, isBase64 } from './payload';

export const RIGHTS: readonly Right[] = ['send', 'grant'];
export const MAX_BADGE = Number.MAX_SAFE_INTEGER;

export interface Rule {
  clause: string;
  says: string;
  fails: (s: BusState, op: any) => ErrorCode | null;
  /** What a failure does besides returning the error (ATOMIC-1 exceptions and waits). */
  onFail?: 'block-if-waiting' | 'consume-reply-handle';
}

// ------------------------------------------------------------------ helpers

/** A handle name, peer id or count: a safe non-negative integer (ERR-1, step 3). */
export const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
export const isCount = isName;

/** A list of rights: every element 'send' or 'grant' (a hole in a sparse array is not a right: invalid). */
export function rightsValid(rights: unknown): rights is Right[] {
  if (!Array.isArray(rights)) return false;
  for (let i = 0; i < rights.length; i++) if (rights[i] !== 'send' && rights[i] !== 'grant') return false;
  return true;
}

export function canonicalRights(rights: readonly Right[]): Right[] {
  return RIGHTS.filter((r) => rights.includes(r));
}

export function isSubset(asked: readonly Right[], held: readonly Right[]): boolean {
  return asked.every((r) => held.includes(r));
}

export function peerOf(s: BusState, id: PeerId): PeerRec | undefined {
  return isName(id) ? s.peers[id] : undefined;
}

export function lookup(s: BusState, peer: PeerId, name: HandleName): HandleRec | undefined {
  const p = peerOf(s, peer);
  if (!p || !isName(name)) return undefined;
  const id = p.table[name];
  return id === undefined ? undefined : s.handles[id];
}

/** HANDLE-3, HANDLE-5, HANDLE-6: resolve a name to a usable handle of a kind. */
export function resolveUsable(
  s: BusState,
  peer: PeerId,
  name: HandleName,
  kind: 'node' | 'reply',
): ErrorCode | HandleRec {
  const h = lookup(s, peer, name);
  if (!h) return 'BAD_HANDLE';
  if (h.kind !== kind) return 'WRONG_KIND';
  if (h.status === 'revoked') return 'REVOKED';
  if (h.status === 'dead') return 'DEAD';
  return h;
}

/** Slots of a peer's table in use: names, handles in flight to it, notices holding a slot (HANDLE-1, NOTICE-4). */
export function tableUse(p: PeerRec): number {
  return tableSize(p.table) + p.inflight + p.ghosts;
}

/** Room in a receive queue for `messages` more messages from `sender` (QUOTA-1). */
export function queueRoom(
  s: BusState,
  dest: PeerRec,
  sender: PeerId,
  messages: number,
  bytes: number,
): 'capacity' | 'quota' | null {
  const load = queueLoad(dest.queue); // its messages, not its notices
  const mine = load.bySender.get(sender);
  const l = s.limits;
  if (load.messages + messages > l.queueCapacityMessages || load.bytes + bytes > l.queueCapacityBytes)
    return 'capacity';
  if ((mine?.messages ?? 0) + messages > l.senderQuotaMessages || (mine?.bytes ?? 0) + bytes > l.senderQuotaBytes)
    return 'quota';
  return null;
}

export function messageBytes(m: Message): number {
  let n = 0;
  for (const seg of m.segments) n += base64Bytes(seg);
  return n;
}

/** SEND-5: a well-formed message (base64 segments, known rights, no transfer named twice). */
export function messageShapeValid(m: unknown): m is Message {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as Message;
  if (!Array.isArray(msg.segments)) return false;
  const segs = msg.segments; // segs.every(isBase64), without a callback per segment
  for (let i = 0, n = segs.length; i < n; i++) if (i in segs && !isBase64(segs[i])) return false;
  if (msg.transfers === undefined) return true;
  if (!Array.isArray(msg.transfers)) return false;
  const seen = new Set<number>();
  for (const t of msg.transfers) {
    if (typeof t !== 'object' || t === null || !isName(t.handle)) return false;
    if (t.rights !== undefined && !rightsValid(t.rights)) return false;
    if (t.move !== undefined && typeof t.move !== 'boolean') return false;
    if (seen.has(t.handle)) return false; // SEND-5: the same name twice
    seen.add(t.handle);
  }
  return true;
}

const transfersOf = (m: Message): Transfer[] => m.transfers ?? [];

/** SEND-4, SEND-6: every transfer in order. */
export function transferError(
  s: BusState,
  peer: PeerId,
  transfers: readonly Transfer[],
  allowReply: boolean,
): ErrorCode | null {
  for (const t of transfers) {
    const h = lookup(s, peer, t.handle);
    if (!h) return 'BAD_HANDLE';
    if (h.kind === 'reply') {
      if (!allowReply || t.move !== true) return 'INVALID_ARGUMENT';
      continue;
    }
    if (h.status === 'revoked') return 'REVOKED';
    if (h.status === 'dead') return 'DEAD';
    if (!h.rights.includes('grant')) return 'NO_RIGHTS';
    if (t.rights !== undefined && !isSubset(t.rights, h.rights)) return 'NO_RIGHTS';
  }
  return null;
}

/** The destination peer of a node handle. */
export function destOf(s: BusState, h: HandleRec): PeerRec {
  return s.peers[s.nodes[h.node].owner];
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
  says: 'the message is well formed (base64 segments, known rights, no name twice)',
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
const transfersValid: Rule = {
  clause: 'SEND-4',
  says: 'every transferred handle is live and grantable, rights only attenuated; reply handles only moved (SEND-6)',
  fails: (s, op) => transferError(s, op.peer, transfersOf(op.message), true),
};
const nameIsSafe = (field: string, clause = 'ERR-1'): Rule => ({
  clause,
  says: `${field} is a safe non-negative integer`,
  fails: (_s, op) => (isName(op[field]) ? null : 'INVALID_ARGUMENT'),
});
const timeoutValid: Rule = {
  clause: 'TIME-1',
  says: 'timeoutMs, when given, is a safe non-negative integer',
  fails: (_s, op) => (op.timeoutMs === undefined || isCount(op.timeoutMs) ? null : 'INVALID_ARGUMENT'),
};

/** Table room in the node owner's table for the handles a message brings (HANDLE-1). */
function destTableRoom(extra: number): Rule {
  return {
    clause: 'HANDLE-1',
    says: "the receiver's table has room for the handles in flight to it",
    fails: (s, op) => {
      const dest = destOf(s, lookup(s, op.peer, op.handle)!);
      const incoming = transfersOf(op.message).length + extra;
      return incoming > 0 && tableUse(dest) + incoming > s.limits.maxHandlesPerPeer ? 'TABLE_FULL' : null;
    },
  };
}

/** Queue room for one message (QUOTA-1). */
export function roomError(s: BusState, op: SendOp | CallOp): 'capacity' | 'quota' | null {
  const dest = destOf(s, lookup(s, op.peer, op.handle)!);
  return queueRoom(s, dest, op.peer, 1, messageBytes(op.message));
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
      if (!Array.isArray(op.bootstrap)) return 'INVALID_ARGUMENT';
      for (const g of op.bootstrap) {
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
    says: 'the bus has room for another open peer',
    fails: (s) =>
      Object.values(s.peers).filter((p) => p.status === 'open').length >= s.limits.maxPeers ? 'TABLE_FULL' : null,
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
  {
    clause: 'CRED-1',
    says: 'credentials, when given, is a boolean',
    fails: (_s, op) =>
      op.credentials === undefined || typeof op.credentials === 'boolean' ? null : 'INVALID_ARGUMENT',
  },
  {
    clause: 'NODE-1',
    says: "the peer's table has room for the root handle",
    fails: (s, op) => (tableUse(s.peers[op.peer]) + 1 > s.limits.maxHandlesPerPeer ? 'TABLE_FULL' : null),
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
    fails: (s, op) => (tableUse(s.peers[op.peer]) + 1 > s.limits.maxHandlesPerPeer ? 'TABLE_FULL' : null),
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
  targetNode,
  {
    clause: 'DESTROY-1',
    says: 'the peer owns the node',
    fails: (s, op) => (s.nodes[lookup(s, op.peer, op.handle)!.node].owner === op.peer ? null : 'NOT_OWNER'),
  },
];

const sendRoom: Rule = {
  clause: 'QUOTA-2',
  says: 'the queue has room and the sender is within its quota (else wait, SEND-7)',
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
  transfersValid,
  destTableRoom(0),
  sendRoom,
];

/**
 * SEND-7: a blocked send checked again, exactly as firstFailure would check it, except that
 * its last rule (QUOTA-2) says which room is short: 'capacity' (the queue is full, so later
 * waiters for the same queue wait behind it) or 'quota' (this sender's share is used up).
 */
export function recheckBlockedSend(s: BusState, op: SendOp): ErrorCode | 'capacity' | 'quota' | null {
  for (let i = 0; i < sendRules.length; i++) {
    const rule = sendRules[i];
    if (rule === sendRoom) return roomError(s, op);
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
  messageShape,
  payloadSize,
  handleCount,
  targetNode,
  targetCanSend,
  transfersValid,
  destTableRoom(1),
  {
    clause: 'QUOTA-2',
    says: 'the queue has room and the caller is within its quota',
    fails: (s, op: CallOp) => (roomError(s, op) ? 'QUEUE_FULL' : null),
  },
];

const replyRules: Rule[] = [
  peerKnown,
  peerOpen,
  nameIsSafe('handle'),
  messageShape,
  {
    clause: 'CALL-7',
    says: 'the reply does not carry the reply handle it answers',
    fails: (_s, op: ReplyOp) =>
      transfersOf(op.message).some((t) => t.handle === op.handle) ? 'INVALID_ARGUMENT' : null,
  },
  payloadSize,
  handleCount,
  {
    clause: 'HANDLE-5',
    says: 'the handle resolves to a reply handle',
    fails: (s, op) => {
      const r = resolveUsable(s, op.peer, op.handle, 'reply');
      return typeof r === 'string' ? r : null;
    },
  },
  transfersValid,
  {
    clause: 'CALL-4',
    says: 'the caller still waits (else the reply handle is consumed)',
    fails: (s, op: ReplyOp) =>
      s.calls[lookup(s, op.peer, op.handle)!.call].status === 'pending' ? null : 'CALLER_GONE',
    onFail: 'consume-reply-handle',
  },
  {
    clause: 'CALL-6',
    says: "the caller's table has room for the handles the reply carries",
    fails: (s, op: ReplyOp) => {
      const caller = s.peers[s.calls[lookup(s, op.peer, op.handle)!.call].caller];
      const n = transfersOf(op.message).length;
      return n > 0 && tableUse(caller) + n > s.limits.maxHandlesPerPeer ? 'TABLE_FULL' : null;
    },
  },
];

/** MCAST-2/3: destinations in order; dead ones are skipped, not failed. */
export function multicastLive(s: BusState, op: MulticastOp): HandleRec[] {
  return op.handles.map((n) => lookup(s, op.peer, n)!).filter((h) => h.status === 'live');
}

const multicastRules: Rule[] = [
  peerKnown,
  peerOpen,
  {
    clause: 'MCAST-1',
    says: 'at least one destination, no name twice, no move and no reply handle in transfers',
    fails: (s, op: MulticastOp) => {
      if (!Array.isArray(op.handles) || op.handles.length === 0 || !op.handles.every(isName)) return 'INVALID_ARGUMENT';
      if (new Set(op.handles).size !== op.handles.length) return 'INVALID_ARGUMENT';
      if (!messageShapeValid(op.message)) return 'INVALID_ARGUMENT';
      if (transfersOf(op.message).some((t) => t.move === true)) return 'INVALID_ARGUMENT';
      return null;
    },
  },
  payloadSize,
  handleCount,
  {
    clause: 'MCAST-2',
    says: 'every destination is a node handle with send right that is not revoked',
    fails: (s, op: MulticastOp) => {
      for (const n of op.handles) {
        const h = lookup(s, op.peer, n);
        if (!h) return 'BAD_HANDLE';
        if (h.kind !== 'node') return 'WRONG_KIND';
        if (h.status === 'revoked') return 'REVOKED';
        if (!h.rights.includes('send')) return 'NO_RIGHTS';
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
      const need = new Map<PeerRec, number>();
      for (const h of multicastLive(s, op)) {
        const d = destOf(s, h);
        need.set(d, (need.get(d) ?? 0) + n);
      }
      for (const [d, k] of need) if (tableUse(d) + k > s.limits.maxHandlesPerPeer) return 'TABLE_FULL';
      return null;
    },
  },
  {
    clause: 'MCAST-4',
    says: "every live destination's queue has room within the sender's quota",
    fails: (s, op: MulticastOp) => {
      const bytes = messageBytes(op.message);
      const need = new Map<PeerRec, number>();
      for (const h of multicastLive(s, op)) {
        const d = destOf(s, h);
        need.set(d, (need.get(d) ?? 0) + 1);
      }
      for (const [d, k] of need) if (queueRoom(s, d, op.peer, k, k * bytes)) return 'QUEUE_FULL';
      return null;
    },
  },
];

const receiveRules: Rule[] = [
  peerKnown,
  peerOpen,
  {
    clause: 'RECV-1',
    says: 'max is a safe integer of at least 1',
    fails: (_s, op: ReceiveOp) => (isCount(op.max) && op.max >= 1 ? null : 'INVALID_ARGUMENT'),
  },
  timeoutValid,
];

const closeRules: Rule[] = [peerKnown, peerOpen];

const tickRules: Rule[] = [
  {
    clause: 'TIME-1',
    says: 'ms is a safe non-negative integer',
    fails: (_s, op) => (isCount(op.ms) ? null : 'INVALID_ARGUMENT'),
  },
];

export const RULES: Record<OperationName, Rule[]> = {
  attach: attachRules,
  createNode: createNodeRules,
  mint: mintRules,
  release: releaseRules,
  revoke: revokeRules,
  destroyNode: destroyRules,
  send: sendRules,
  call: callRules,
  reply: replyRules,
  multicast: multicastRules,
  receive: receiveRules,
  close: closeRules,
  tick: tickRules,
};

/** The guard name of a rule, as the xstate machine and the docs show it. */
export function ruleName(rule: Rule): string {
  return `${rule.clause}: ${rule.says}`;
}

/** The first failing rule of an operation, or null when all pass. */
export function firstFailure(s: BusState, op: Operation): { rule: Rule; code: ErrorCode } | null {
  const rules = RULES[op.op as OperationName];
  if (!rules) return { rule: UNKNOWN_OPERATION, code: 'INVALID_ARGUMENT' };
  for (const rule of rules) {
    const code = rule.fails(s, op);
    if (code !== null) return { rule, code };
  }
  return null;
}

export const UNKNOWN_OPERATION: Rule = {
  clause: 'ERR-1',
  says: 'the operation is one the spec defines',
  fails: () => 'INVALID_ARGUMENT',
};
