// The bus state of the formal model: plain JSON data, so that a state can be
// cloned, compared deep-equal, hashed and printed. Records are keyed by id.
import type {
  Badge,
  Completion,
  Credentials,
  HandleName,
  Limits,
  Notice,
  PeerId,
  Right,
  SendOp,
  StampedCredentials,
} from '../spec/types';
import { resolveLimits } from '../spec/registry/limits';
import type {
  HandleStatus,
  ReplyHandleStatus,
  CallStatus,
  PeerStatus,
  NodeStatus,
  RoomWatchStatus,
} from './lifecycles';

export interface PeerRec {
  id: PeerId;
  status: PeerStatus;
  credentials: Credentials;
  /** Next handle name for this peer's table (HANDLE-2: names never reused). */
  nextName: HandleName;
  /** name -> handle id */
  table: Record<number, number>;
  /** The receive queue, in bus order (ORDER-2). */
  queue: QueueEntry[];
  /** Handles in flight to this peer, which hold a slot in its table (HANDLE-1). */
  inflight: number;
  /**
   * Slots still held by released handles whose notice has not been received yet
   * (NOTICE-4): a notice's room is the slot of the handle it is about.
   */
  ghosts: number;
  /** Live nodes this peer owns (NODE-4). */
  nodes: number;
  /** This peer's pending operations: calls, blocked sends, waiting receives (BOUND-2). */
  pending: number;
  /** Of those, its blocked sends (SEND-8 looks for them only when there are some). */
  blockedSends: number;
}

export interface NodeRec {
  id: number;
  owner: PeerId;
  /** The name createNode returned: how deliveries name the node (NODE-3). */
  ownerName: HandleName;
  /** The root handle's id while it exists. */
  root: number | null;
  status: NodeStatus;
  credentials: boolean;
  /** Whether messages to it may carry handles (NODE-5). */
  acceptsHandles: boolean;
  /** The seq of its no-senders notice while one waits in the owner's queue (NOTICE-2, NOTICE-6). */
  notice: number | null;
  /** Node handles ever derived for this node (NOTICE-3). */
  derivedCount: number;
  /** Live node handles other than the root, in tables and in flight (NOTICE-2). */
  senders: number;
}

export interface HandleRec {
  /** Global creation order (NOTICE-5). */
  id: number;
  kind: 'node' | 'reply';
  /** The table this handle is in, or the peer it travels to while in flight. */
  holder: PeerId;
  /** null while in flight. */
  name: HandleName | null;
  status: HandleStatus | ReplyHandleStatus;
  /** Node handles: */
  node: number;
  rights: Right[];
  badge: Badge;
  parent: number | null;
  root: boolean;
  /** Reply handles: the call this handle answers. */
  call: number;
  /** The seq of the notice about this handle (revoked, node-destroyed or call-abandoned), once one is queued. */
  notice: number | null;
}

export interface QueueEntry {
  seq: number;
  kind: 'message' | 'call' | 'notice';
  /** 0 for notices. */
  sender: PeerId;
  /** The destination node; for a no-senders notice, the node it is about; 0 for other notices. */
  node: number;
  ownerName: HandleName;
  badge: Badge;
  credentials?: StampedCredentials;
  payload: string;
  bytes: number;
  handles: number[];
  replyHandle: number | null;
  notice?: Notice;
  /** A notice about a handle released before the notice was received: it holds a slot (NOTICE-4). */
  ghost?: boolean;
}

export interface CallRec {
  id: number;
  caller: PeerId;
  ticket: number;
  node: number;
  status: CallStatus;
  replyHandle: number | null;
  /** The seq of its call message while that is queued (DESTROY-4, CALL-8); null once received. */
  message: number | null;
  /** The reply carries the replier's credentials (CRED-3). */
  replierCredentials: boolean;
}

/**
 * A sender's room watch on a queue (QUOTA-5): armed by a refusal for room, it records what the
 * refused message needed; once the queue has room for that, a room notice goes to the sender
 * and the watch waits (notified) until that notice is received or withdrawn. One per pair.
 */
export interface RoomWatch {
  sender: PeerId;
  /** The peer whose queue it watches. */
  dest: PeerId;
  /** The sender's name for the handle it was refused through. */
  handle: HandleName;
  messages: number;
  bytes: number;
  handles: number;
  status: RoomWatchStatus;
  /** The seq of its room notice while that waits in the sender's queue. */
  notice: number | null;
}

/** A pending operation; a null deadline is none (no timeout, or one past the end of the clock, TIME-3). */
export type PendingRec =
  | { ticket: number; kind: 'call'; peer: PeerId; call: number; deadline: number | null }
  /** `dest`: the peer whose queue the send waits for (SEND-8). */
  | { ticket: number; kind: 'send'; peer: PeerId; op: SendOp; dest: PeerId; deadline: number | null }
  | { ticket: number; kind: 'receive'; peer: PeerId; max: number; deadline: number | null };

export interface BusState {
  limits: Limits;
  nowMs: number;
  nextPeer: number;
  nextNode: number;
  nextHandle: number;
  nextCall: number;
  nextSeq: number;
  nextTicket: number;
  peers: Record<number, PeerRec>;
  nodes: Record<number, NodeRec>;
  handles: Record<number, HandleRec>;
  calls: Record<number, CallRec>;
  /** Pending operations in ticket order (TIME-2). */
  pending: PendingRec[];
  /** Room watches, armed or notified, in the order they were armed (QUOTA-5). */
  roomWatches: RoomWatch[];
}

/** A spec-level event of one step, for traces and the simulator. */
export type BusEvent =
  | { type: 'enqueue'; seq: number; to: PeerId; from: PeerId; kind: QueueEntry['kind']; bytes: number }
  | { type: 'dequeue'; seq: number; peer: PeerId }
  | { type: 'discard'; seq: number; peer: PeerId }
  | { type: 'complete'; ticket: number; peer: PeerId };

export interface StepEffects {
  completions: Completion[];
  events: BusEvent[];
}

export function initialState(limits: Partial<Limits> = {}): BusState {
  return {
    limits: resolveLimits(limits),
    nowMs: 0,
    nextPeer: 1,
    nextNode: 1,
    nextHandle: 1,
    nextCall: 1,
    nextSeq: 1,
    nextTicket: 1,
    peers: {},
    nodes: {},
    handles: {},
    calls: {},
    pending: [],
    roomWatches: [],
  };
}

export function cloneState(state: BusState): BusState {
  return structuredClone(state);
}

// ------------------------------------------------------------------ derived counts
//
// Two counts the rules need on every send and call, kept beside the state rather than in
// it (a state stays plain JSON data): how many names a table holds (HANDLE-1) and how
// much of a receive queue is messages, in all and per sender (QUOTA-1). Counting them
// afresh means Object.keys on a table (which turns every name into a string) or a walk
// of the whole queue; here they are counted once, on first use, and then kept up to date
// by the only code that adds to or takes from a table (place, unplace) or a queue
// (enqueue, take) in model/apply.ts. They are keyed by the table object and the queue
// array themselves, so a cloned state, or a queue array replaced by a new one, is simply
// counted afresh on first use.

const tableSizes = new WeakMap<Record<number, number>, number>();

/** The number of names in a table. */
export function tableSize(table: Record<number, number>): number {
  let n = tableSizes.get(table);
  if (n === undefined) {
    n = Object.keys(table).length;
    tableSizes.set(table, n);
  }
  return n;
}

/** A name was added to (+1) or deleted from (-1) a table. */
export function tableResized(table: Record<number, number>, by: 1 | -1): void {
  const n = tableSizes.get(table);
  if (n !== undefined) tableSizes.set(table, n + by);
}

/** What one sender has in a receive queue (QUOTA-1, QUOTA-4). */
export interface SenderLoad {
  messages: number;
  bytes: number;
  /** Handles in flight in its entries: transfers and reply handles. */
  handles: number;
}

/** The messages (notices do not count, NOTICE-4) in a receive queue: in all, and per sender. */
export interface QueueLoad {
  messages: number;
  bytes: number;
  bySender: Map<PeerId, SenderLoad>;
}

const queueLoads = new WeakMap<QueueEntry[], QueueLoad>();

export function queueLoad(queue: QueueEntry[]): QueueLoad {
  let load = queueLoads.get(queue);
  if (load === undefined) {
    load = { messages: 0, bytes: 0, bySender: new Map() };
    for (const e of queue) addLoad(load, e, 1);
    queueLoads.set(queue, load);
  }
  return load;
}

/** An entry was pushed onto (+1) or taken from (-1) a queue. */
export function queueChanged(queue: QueueEntry[], e: QueueEntry, by: 1 | -1): void {
  const load = queueLoads.get(queue);
  if (load !== undefined) addLoad(load, e, by);
}

function addLoad(load: QueueLoad, e: QueueEntry, by: 1 | -1): void {
  if (e.kind === 'notice') return;
  load.messages += by;
  load.bytes += by * e.bytes;
  let mine = load.bySender.get(e.sender);
  if (mine === undefined) load.bySender.set(e.sender, (mine = { messages: 0, bytes: 0, handles: 0 }));
  mine.messages += by;
  mine.bytes += by * e.bytes;
  mine.handles += by * (e.handles.length + (e.replyHandle === null ? 0 : 1));
}
