// The bus state of the formal model: plain JSON data, so that a state can be
// cloned, compared deep-equal, hashed and printed. Records are keyed by id.
import type { Badge, Completion, Credentials, HandleName, Limits, Notice, PeerId, Right, SendOp } from '../spec/types';
import { resolveLimits } from '../spec/registry/limits';
import type { HandleStatus, ReplyHandleStatus, CallStatus, PeerStatus, NodeStatus } from './lifecycles';

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
  /** The seq of the revoked/node-destroyed notice about this handle, once one is queued. */
  notice: number | null;
}

export interface QueueEntry {
  seq: number;
  kind: 'message' | 'call' | 'notice';
  /** 0 for notices. */
  sender: PeerId;
  node: number;
  ownerName: HandleName;
  badge: Badge;
  credentials?: Credentials;
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
}

export type PendingRec =
  | { ticket: number; kind: 'call'; peer: PeerId; call: number; deadline: number | null }
  | { ticket: number; kind: 'send'; peer: PeerId; op: SendOp; deadline: number }
  | { ticket: number; kind: 'receive'; peer: PeerId; max: number; deadline: number };

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
  };
}

export function cloneState(state: BusState): BusState {
  return structuredClone(state);
}
