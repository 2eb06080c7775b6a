// Tessera protocol types: the single source of truth for operations, results,
// deliveries, notices, errors, limits and credentials. JSON Schemas under
// spec/schema/ are generated from this file (npm run schemas); do not retype them.
//
// Every identifier is a plain JSON number so that any language can speak the
// driver protocol. Integers are safe integers (at most 2^53-1).

/**
 * A per-peer handle name. Names are never reused within one peer (HANDLE-2).
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type HandleName = number;

/**
 * A peer id, never reused within one bus (PEER-1).
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type PeerId = number;

/**
 * A badge: 0 means "no badge"; 1..2^53-1 is a badge fixed once set (MINT-3).
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type Badge = number;

/**
 * A duration in milliseconds of the bus clock (virtual in the model, TIME-1).
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type DurationMs = number;

/**
 * A count (of messages, bytes, handles).
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type Count = number;

/**
 * Payload bytes, canonical base64 (RFC 4648, with padding, unused bits zero; SEND-2).
 * @pattern ^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$
 */
export type Base64 = string;

/** A right carried by a node handle (HANDLE-4). */
export type Right = 'send' | 'grant';

/** The credentials the bus owner gave a peer at attach time (BUS-2, CRED-1). */
export interface Credentials {
  uid: Count;
  gid: Count;
  pid: Count;
}

/** Credentials as the bus stamps them on a delivery: the attach credentials and a key never reused (CRED-2). */
export interface StampedCredentials {
  uid: Count;
  gid: Count;
  pid: Count;
  /** The sender's (or replier's) peer id, never issued twice on a bus (CRED-2, PEER-1). */
  peerKey: PeerId;
}

/** Limits a bus is created with (BUS-1); defaults in spec/registry/limits.ts. */
export interface Limits {
  maxPeers: Count;
  maxHandlesPerPeer: Count;
  /** Live nodes one peer owns (NODE-4). */
  maxNodesPerPeer: Count;
  /** Pending operations of one peer: calls, blocked sends, waiting receives (BOUND-2). */
  maxPendingPerPeer: Count;
  maxPayloadBytes: Count;
  maxHandlesPerMessage: Count;
  queueCapacityMessages: Count;
  queueCapacityBytes: Count;
  senderQuotaMessages: Count;
  senderQuotaBytes: Count;
  /** Handles in flight one sender may have in one receiver's table (QUOTA-4). */
  senderQuotaHandles: Count;
}

/** One handle carried by a message (SEND-4..SEND-6). */
export interface Transfer {
  handle: HandleName;
  /** Rights the receiver gets; a subset of the sender's. Default: the same rights. */
  rights?: Right[];
  /** Release the sender's handle when the operation succeeds. Required for reply handles. */
  move?: boolean;
}

/** A message as given to send, call, reply and multicast (SEND-2). */
export interface Message {
  /**
   * Payload segments (base64), gathered into one payload in order (scatter/gather).
   * @items.type string
   * @items.pattern ^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$
   */
  segments: Base64[];
  transfers?: Transfer[];
}

/** A handle the bus owner gives a new peer at attach time (BUS-3). */
export interface BootstrapGrant {
  fromPeer: PeerId;
  handle: HandleName;
  rights?: Right[];
  badge?: Badge;
}

// ---------------------------------------------------------------- operations

/** Attach a peer (bus owner only, BUS-2). */
export interface AttachOp {
  op: 'attach';
  credentials: Credentials;
  bootstrap?: BootstrapGrant[];
}
/** Create a node owned by the peer (NODE-1). */
export interface CreateNodeOp {
  op: 'createNode';
  peer: PeerId;
  /** Messages to this node carry the sender's credentials (CRED-1). */
  credentials?: boolean;
  /** Whether messages to this node may carry handles; default true (NODE-5). */
  acceptsHandles?: boolean;
}
/** Derive a handle with fewer or equal rights, optionally setting a badge (MINT-1). */
export interface MintOp {
  op: 'mint';
  peer: PeerId;
  handle: HandleName;
  rights: Right[];
  badge?: Badge;
}
/** Drop a handle (RELEASE-1). */
export interface ReleaseOp {
  op: 'release';
  peer: PeerId;
  handle: HandleName;
}
/** Revoke every handle derived from this one (REVOKE-1). */
export interface RevokeOp {
  op: 'revoke';
  peer: PeerId;
  handle: HandleName;
}
/** Destroy a node the peer owns (DESTROY-1); with derivedCount, only if nothing was derived since (DESTROY-5). */
export interface DestroyNodeOp {
  op: 'destroyNode';
  peer: PeerId;
  handle: HandleName;
  derivedCount?: Count;
}
/** Whether two of the peer's handles designate the same node (NODE-6). */
export interface SameNodeOp {
  op: 'sameNode';
  peer: PeerId;
  handle: HandleName;
  other: HandleName;
}
/** Send a message; may wait for room (SEND-7): absent timeoutMs without limit, 0 not at all (TIME-4). */
export interface SendOp {
  op: 'send';
  peer: PeerId;
  handle: HandleName;
  message: Message;
  timeoutMs?: DurationMs;
}
/** Send a message with a fresh reply handle and wait for one outcome (CALL-1). */
export interface CallOp {
  op: 'call';
  peer: PeerId;
  handle: HandleName;
  message: Message;
  /** Absent: wait without limit; 0: may not wait, so TIMED_OUT at once (TIME-4). */
  timeoutMs?: DurationMs;
  /** The reply carries the replier's credentials (CRED-3). */
  replierCredentials?: boolean;
}
/** Answer a call through its reply handle (CALL-3). */
export interface ReplyOp {
  op: 'reply';
  peer: PeerId;
  handle: HandleName;
  message: Message;
}
/** Answer a call, then receive, in one step (CALL-10). */
export interface ReplyReceiveOp {
  op: 'replyReceive';
  peer: PeerId;
  /** The reply handle. */
  handle: HandleName;
  message: Message;
  /**
   * @TJS-type integer
   * @minimum 0
   * @maximum 9007199254740991
   */
  max: number;
  timeoutMs?: DurationMs;
}
/** One message to many nodes, atomically (MCAST-1); with skipFull, full destinations are skipped (MCAST-6). */
export interface MulticastOp {
  op: 'multicast';
  peer: PeerId;
  handles: HandleName[];
  message: Message;
  skipFull?: boolean;
}
/** Take up to max deliveries from the peer's queue; may wait for one (RECV-2, TIME-4). */
export interface ReceiveOp {
  op: 'receive';
  peer: PeerId;
  /**
   * @TJS-type integer
   * @minimum 0
   * @maximum 9007199254740991
   */
  max: number;
  timeoutMs?: DurationMs;
}
/** End one of the peer's pending operations (CANCEL-1). */
export interface CancelOp {
  op: 'cancel';
  peer: PeerId;
  ticket: Count;
}
/** Detach the peer (CLOSE-1). */
export interface CloseOp {
  op: 'close';
  peer: PeerId;
}
/** Advance the bus clock (TIME-1); expires deadlines. */
export interface TickOp {
  op: 'tick';
  ms: DurationMs;
}

export type Operation =
  | AttachOp
  | CreateNodeOp
  | MintOp
  | ReleaseOp
  | RevokeOp
  | DestroyNodeOp
  | SameNodeOp
  | SendOp
  | CallOp
  | ReplyOp
  | ReplyReceiveOp
  | MulticastOp
  | ReceiveOp
  | CancelOp
  | CloseOp
  | TickOp;

export type OperationName = Operation['op'];

// ---------------------------------------------------------------- deliveries

/** A handle as it arrives in a delivery (RECV-3). */
export interface ReceivedHandle {
  /** The receiver's new name for it; null when it arrives dead, revoked or abandoned. */
  name: HandleName | null;
  kind: 'node' | 'reply';
  rights: Right[];
  /** abandoned: a reply handle whose call was abandoned while it travelled (CALL-9). */
  state: 'live' | 'dead' | 'revoked' | 'abandoned';
}

/** A message received through a node (DELIVER-1). */
export interface MessageDelivery {
  kind: 'message';
  /** The destination node, as the name createNode returned to its owner. */
  node: HandleName;
  badge: Badge;
  credentials?: StampedCredentials;
  payload: Base64;
  handles: ReceivedHandle[];
}
/** A call received through a node, with the reply handle for it (CALL-1). */
export interface CallDelivery {
  kind: 'call';
  node: HandleName;
  badge: Badge;
  credentials?: StampedCredentials;
  payload: Base64;
  handles: ReceivedHandle[];
  replyHandle: HandleName;
}
/** The reply a caller receives as the result of call (CALL-6). */
export interface ReplyDelivery {
  kind: 'reply';
  /** The replier's, when the call asked for them (CRED-3). */
  credentials?: StampedCredentials;
  payload: Base64;
  handles: ReceivedHandle[];
}
/** A notice from the bus (NOTICE-1). */
export interface NoticeDelivery {
  kind: 'notice';
  notice: Notice;
}
export type Delivery = MessageDelivery | CallDelivery | ReplyDelivery | NoticeDelivery;

export interface NodeDestroyedNotice {
  type: 'node-destroyed';
  handle: HandleName;
}
export interface RevokedNotice {
  type: 'revoked';
  handle: HandleName;
}
export interface NoSendersNotice {
  type: 'no-senders';
  node: HandleName;
  /** Node handles ever derived for this node (NOTICE-3); a conditional destroyNode takes it back (DESTROY-5). */
  derivedCount: Count;
}
/** The call the holder's reply handle answers was abandoned (CALL-8). */
export interface CallAbandonedNotice {
  type: 'call-abandoned';
  handle: HandleName;
}
/** The queue the holder was refused at, through its handle, has room again (QUOTA-5). */
export interface RoomNotice {
  type: 'room';
  handle: HandleName;
}
export type Notice = NodeDestroyedNotice | RevokedNotice | NoSendersNotice | CallAbandonedNotice | RoomNotice;
export type NoticeType = Notice['type'];

// ---------------------------------------------------------------- results

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'BAD_HANDLE'
  | 'WRONG_KIND'
  | 'NO_RIGHTS'
  | 'NOT_OWNER'
  | 'DEAD'
  | 'REVOKED'
  | 'STALE'
  | 'TOO_LARGE'
  | 'TOO_MANY_HANDLES'
  | 'TABLE_FULL'
  | 'QUEUE_FULL'
  | 'TOO_MANY_PENDING'
  | 'TIMED_OUT'
  | 'NO_REPLY'
  | 'CALLER_GONE'
  | 'CANCELLED'
  | 'CLOSED';

export interface AttachValue {
  peer: PeerId;
  handles: HandleName[];
}
export interface HandleValue {
  handle: HandleName;
}
export interface RevokeValue {
  /** How many live handles became revoked. */
  revoked: Count;
}
export interface SameNodeValue {
  /** True when both handles designate the same node. */
  same: boolean;
}
export interface MulticastValue {
  /** The destination handles that were skipped because their node is dead (MCAST-3). */
  skipped: HandleName[];
  /** With skipFull, the destination handles skipped because their queue had no room (MCAST-6). */
  full: HandleName[];
}
export interface CancelValue {
  /** True when the operation was pending and is now CANCELLED; false when nothing was (CANCEL-1). */
  cancelled: boolean;
}
export interface ReceiveValue {
  deliveries: Delivery[];
}
export interface CallValue {
  reply: ReplyDelivery;
}
export interface TickValue {
  nowMs: Count;
}
/** The value of release, destroyNode, send, reply and close. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the schema of an empty JSON object
export interface EmptyValue {}

export type OkValue =
  | AttachValue
  | HandleValue
  | RevokeValue
  | SameNodeValue
  | MulticastValue
  | CancelValue
  | ReceiveValue
  | CallValue
  | TickValue
  | EmptyValue;

export interface OkResult<V = OkValue> {
  ok: true;
  value: V;
}
export interface ErrorResult {
  ok: false;
  error: ErrorCode;
}
export type Result<V = OkValue> = OkResult<V> | ErrorResult;

/** A blocking operation that has not completed yet (TIME-2). */
export interface PendingResult {
  pending: true;
  ticket: Count;
}
/** What an invocation returns: a result, or pending with a ticket. */
export type Invocation = Result | PendingResult;

/** The completion of a pending operation (TIME-2); a replyReceive waits, and completes, as a receive. */
export interface Completion {
  ticket: Count;
  peer: PeerId;
  op: 'call' | 'send' | 'receive';
  result: Result;
}
