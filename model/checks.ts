// The questions the rules (model/rules.ts) and the effects ask of a state: name
// lookup, table and queue room, quotas, shapes of arguments, deadlines. Pure
// functions of the state; nothing here changes it.
import type {
  ErrorCode,
  HandleName,
  Message,
  MulticastOp,
  PeerId,
  ReplyReceiveOp,
  Right,
  Transfer,
} from '../spec/types';
import { queueLoad, tableSize, type BusState, type HandleRec, type PeerRec } from './state';
import { base64Bytes, isBase64 } from './payload';

export const RIGHTS: readonly Right[] = ['send', 'grant'];
export const MAX_BADGE = Number.MAX_SAFE_INTEGER;
/** The largest name, id, ticket and clock value (BOUND-3, TIME-3). */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ------------------------------------------------------------------ helpers

export const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
export const isCount = isName;

/** A dense list (ERR-1: a list with a hole is malformed). */
export function isDenseArray(v: unknown): v is unknown[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!(i in v)) return false;
  return true;
}

/** A list of rights: every element 'send' or 'grant' (a hole is not a right: invalid). */
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

/**
 * HANDLE-1, BOUND-3: whether a peer's table can take `k` more handles: free slots, and names
 * left for them and for the handles already in flight to it (named when received).
 */
export function tableHasRoom(s: BusState, p: PeerRec, k: number): boolean {
  return tableUse(p) + k <= s.limits.maxHandlesPerPeer && p.inflight + k <= 2 ** 53 - p.nextName;
}

/** Room in a receive queue for `messages` more entries from `sender` carrying `handles` handles (QUOTA-1, QUOTA-4). */
export function queueRoom(
  s: BusState,
  dest: PeerRec,
  sender: PeerId,
  messages: number,
  bytes: number,
  handles: number,
): 'capacity' | 'quota' | null {
  const load = queueLoad(dest.queue); // its messages, not its notices
  const mine = load.bySender.get(sender);
  const l = s.limits;
  if (load.messages + messages > l.queueCapacityMessages || load.bytes + bytes > l.queueCapacityBytes)
    return 'capacity';
  if (mine === undefined)
    return messages > l.senderQuotaMessages || bytes > l.senderQuotaBytes || handles > l.senderQuotaHandles
      ? 'quota'
      : null;
  if (
    mine.messages + messages > l.senderQuotaMessages ||
    mine.bytes + bytes > l.senderQuotaBytes ||
    mine.handles + handles > l.senderQuotaHandles
  )
    return 'quota';
  return null;
}

/** SEND-8: whether `sender` has a blocked send waiting for the queue of peer `dest`. */
export function behindOwnBlockedSend(s: BusState, sender: PeerId, dest: PeerId): boolean {
  if (s.peers[sender].blockedSends === 0) return false;
  const pending = s.pending;
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i];
    if (p.kind === 'send' && p.peer === sender && p.dest === dest) return true;
  }
  return false;
}

/** BOUND-2, BOUND-3: whether a peer may have one more pending operation (a place, and a ticket for it). */
export function mayWait(s: BusState, peer: PeerId): boolean {
  return s.peers[peer].pending < s.limits.maxPendingPerPeer && s.nextTicket <= MAX_SAFE;
}

export function messageBytes(m: Message): number {
  let n = 0;
  for (const seg of m.segments) n += base64Bytes(seg);
  return n;
}

export function messageShapeValid(m: unknown): m is Message {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as Message;
  const segs = msg.segments as unknown;
  if (!Array.isArray(segs)) return false;
  // segs.every(isBase64) with holes refused (SEND-2, ERR-1), without a callback per segment
  for (let i = 0, n = segs.length; i < n; i++) if (!isBase64(segs[i])) return false;
  if (msg.transfers === undefined) return true;
  if (!Array.isArray(msg.transfers)) return false;
  const seen = new Set<number>();
  for (let i = 0; i < msg.transfers.length; i++) {
    const t = msg.transfers[i] as unknown as Transfer; // a hole reads undefined: not an object, invalid
    if (typeof t !== 'object' || t === null || !isName(t.handle)) return false;
    if (t.rights !== undefined && !rightsValid(t.rights)) return false;
    if (t.move !== undefined && typeof t.move !== 'boolean') return false;
    if (seen.has(t.handle)) return false; // SEND-5: the same name twice
    seen.add(t.handle);
  }
  return true;
}

export const transfersOf = (m: Message): Transfer[] => m.transfers ?? [];

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
      if (h.status === 'abandoned') return 'CALLER_GONE'; // SEND-6, CALL-9: it never travels
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

/** Whether a message's transfers are refused by a handle's node (NODE-5); the node must exist. */
export function refusesTransfers(s: BusState, h: HandleRec, m: Message): boolean {
  return transfersOf(m).length > 0 && !s.nodes[h.node].acceptsHandles;
}

/** TIME-4: whether an operation with this timeoutMs may wait: absent (no limit) or greater than 0. */
export function mayWaitFor(timeoutMs: number | undefined): boolean {
  return timeoutMs === undefined || timeoutMs > 0;
}

/**
 * CALL-10: whether the invoker's queue is empty once the reply half of a replyReceive has taken
 * effect. A reply enqueues nothing; the only entries it can take away are the invoker's waiting
 * no-senders notices for nodes its transfers derive a handle for (NOTICE-6). A dropped reply
 * (the call already resolved) changes no queue. The rules before have checked the operation.
 */
export function queueEmptyAfterReply(s: BusState, op: ReplyReceiveOp): boolean {
  const queue = s.peers[op.peer].queue;
  if (queue.length === 0) return true;
  const r = lookup(s, op.peer, op.handle)!;
  if (s.calls[r.call].status !== 'pending') return false;
  const nodes = new Set<number>();
  for (const t of transfersOf(op.message)) {
    const h = lookup(s, op.peer, t.handle)!;
    if (h.kind === 'node') nodes.add(h.node);
  }
  for (const e of queue) if (e.kind !== 'notice' || e.notice?.type !== 'no-senders' || !nodes.has(e.node)) return false;
  return true;
}

/**
 * The deadline of a wait that starts now: the clock plus the timeout, or none when there is no
 * timeout or the deadline would lie past the end of the clock (TIME-3). Exact in safe integers.
 */
export function deadlineOf(s: BusState, timeoutMs: number | undefined): number | null {
  if (timeoutMs === undefined || timeoutMs > MAX_SAFE - s.nowMs) return null;
  return s.nowMs + timeoutMs;
}

/** MCAST-2/3: destinations in order; dead ones are skipped, not failed. */
export function multicastLive(s: BusState, op: MulticastOp): HandleRec[] {
  return op.handles.map((n) => lookup(s, op.peer, n)!).filter((h) => h.status === 'live');
}
