// Memory layout of the shared-memory bus: one SharedArrayBuffer, sized from the
// limits at creation, viewed as Int32Array (control words), Float64Array
// (values that need 53 bits: names, badges, credentials, sequence numbers) and
// Uint8Array (payload bytes). Regions never overlap; DESIGN.md draws them.
import type { Limits } from '../../spec/types';

export const NONE = -1;

// ------------------------------------------------------------------ header (i32 words)
export const HDR_LOCK = 0; // bus lock: 0 free, else the holder's thread token
export const HDR_LOCK_WAITERS = 16; // threads sleeping on HDR_LOCK (own cache line)
export const HDR_JLEN = 32; // undo journal length (i32 entries)
export const HDR_JFLEN = 33; // undo journal length (f64 entries)
export const HDR_NEXT_PEER = 34; // next peer id (PEER-1)
export const HDR_NODE_FREE = 35; // head of the node free list
export const HDR_MAGIC = 36;
export const HDR_WORDS = 64;
export const MAGIC = 0x7e55e4a;

// header f64 words
export const FH_SEQ = 0; // bus-wide order (ORDER-1)
export const FH_TICKET = 1; // tickets of blocking operations (TIME-2)
export const FH_HANDLE_SEQ = 2; // handle creation order (NOTICE-5)
export const FH_NODE_SEQ = 3; // node creation order (CLOSE-2)
export const FH_NOW = 4; // virtual clock (TIME-1), in-process runner only
export const FH_WORDS = 8;

// ------------------------------------------------------------------ peer record (i32)
export const P_ID = 0; // peer id of the slot's current occupant
export const P_STATUS = 1; // 0 free, 1 open, 2 closed
export const P_USED = 2; // table use: named + in flight (HANDLE-1)
export const P_FREE = 3; // head of the table's free slot list
export const P_QHEAD = 4; // first entry of the receive queue (ring index)
export const P_QCOUNT = 5; // entries queued (messages, calls, notices)
export const P_QMSGS = 6; // messages and calls queued (QUOTA-1)
export const P_QBYTES = 7; // payload bytes queued (QUOTA-1); also bytes used in the byte ring
export const P_BHEAD = 8; // byte ring head offset
export const P_TOKEN = 9; // thread token of the thread that runs this peer (0: owner thread)
export const P_WAKE = 16; // futex word: bumped on every enqueue / outcome for this peer
export const P_SLEEP = 17; // set by the peer itself while it sleeps on P_WAKE
export const P_ROOM = 32; // futex word: bumped when this queue frees room
export const P_ROOM_WAITERS = 33; // senders sleeping on P_ROOM
export const P_WORDS = 48; // three cache lines: control, wake, room
// peer f64
export const PF_UID = 0;
export const PF_GID = 1;
export const PF_PID = 2;
export const PF_PLACE = 3; // placements so far (name order for CLOSE-3)
export const PF_WORDS = 4;

// ------------------------------------------------------------------ handle record (i32), one per table slot
export const H_STATE = 0; // 0 free, 1 in flight to this table, 2 named in this table
export const H_KIND = 1; // 1 node, 2 reply
export const H_STATUS = 2; // 0 live, 1 revoked, 2 dead (HANDLE-6)
export const H_GEN = 3; // generation: bumped when the slot is freed (HANDLE-2)
export const H_NODE = 4;
export const H_RIGHTS = 5; // bit 1 send, bit 2 grant
export const H_ROOT = 6;
export const H_PARENT = 7; // derivation tree, record indices (MINT-1)
export const H_CHILD = 8;
export const H_NEXT = 9;
export const H_PREV = 10;
export const H_CALL = 11; // reply handles: call slot
export const H_CALLGEN = 12;
export const H_NEXTFREE = 13;
export const H_WORDS = 14;
export const HF_BADGE = 0;
export const HF_CREATED = 1; // creation order (NOTICE-5)
export const HF_PLACED = 2; // placement order (CLOSE-3)
export const HF_WORDS = 3;

export const KIND_NODE = 1;
export const KIND_REPLY = 2;
export const ST_LIVE = 0;
export const ST_REVOKED = 1;
export const ST_DEAD = 2;
export const R_SEND = 1;
export const R_GRANT = 2;

// ------------------------------------------------------------------ node record
export const N_STATE = 0; // 0 free, 1 live
export const N_OWNER = 1; // owner peer slot
export const N_ROOT = 2; // root handle record while it exists
export const N_CRED = 3; // CRED-1
export const N_SENDERS = 4; // NOTICE-2
export const N_NEXTFREE = 5;
export const N_WORDS = 6;
export const NF_NAME = 0; // owner's name for the node (NODE-3)
export const NF_DERIVED = 1; // NOTICE-3
export const NF_CREATED = 2;
export const NF_WORDS = 3;

// ------------------------------------------------------------------ call record (per caller slot, callSlotsPerPeer of them)
export const C_STATE = 0; // 0 free, 1 pending, 2 resolved
export const C_GEN = 1;
export const C_CALLER = 2; // caller peer slot
export const C_CALLER_ID = 3;
export const C_NODE = 4;
export const C_REPLY = 5; // reply handle record, NONE once gone
export const C_CALLER_HOLDS = 6; // 1 until the caller collected the outcome (or closed)
export const C_OUTCOME = 7; // 0: replied; else an error code number
export const C_RBYTES = 8;
export const C_RNH = 9;
export const C_RHANDLES = 10; // then 3 words per handle: kind, rights, state
export const CF_TICKET = 0;
export const CF_NAMES = 1; // then one name per reply handle

// ------------------------------------------------------------------ queue entry
export const E_KIND = 0; // 1 message, 2 call, 3 notice
export const E_SENDER = 1; // sender slot
export const E_SENDER_ID = 2;
export const E_NODE = 3;
export const E_BYTES = 4;
export const E_OFF = 5; // payload offset in the byte ring
export const E_NH = 6;
export const E_REPLY = 7; // reply handle record (calls)
export const E_NTYPE = 8; // notice type
export const E_CRED = 9;
export const E_HANDLES = 10;
export const EF_SEQ = 0;
export const EF_NAME = 1; // node name (messages), handle or node name (notices)
export const EF_BADGE = 2; // badge (messages), derivedCount (no-senders)
export const EF_UID = 3;
export const EF_GID = 4;
export const EF_PID = 5;
export const EF_WORDS = 6;
export const ENTRY_MESSAGE = 1;
export const ENTRY_CALL = 2;
export const ENTRY_NOTICE = 3;
export const NOTICE_DESTROYED = 1;
export const NOTICE_REVOKED = 2;
export const NOTICE_NO_SENDERS = 3;

// quota record per (destination slot, sender slot)
export const Q_ID = 0;
export const Q_MSGS = 1;
export const Q_BYTES = 2;
export const Q_WORDS = 3;

export interface ShmOptions {
  /** Pending calls one peer may have at a time (each owns a reply area of maxPayloadBytes). */
  callSlotsPerPeer?: number;
  /** Queue entries reserved for notices in each receive queue (NOTICE-4). */
  noticeSlotsPerPeer?: number;
  /** Nodes alive at one time on the bus (default maxPeers * maxHandlesPerPeer). */
  maxNodes?: number;
  /** Undo journal entries (default sized for the largest cascade). */
  journalEntries?: number;
}

export interface Layout {
  limits: Limits;
  peers: number;
  tableSize: number;
  maxNodes: number;
  callSlots: number;
  entriesPerQueue: number;
  entryWords: number;
  callWords: number;
  callFWords: number;
  journalEntries: number;
  // i32 offsets
  peerBase: number;
  handleBase: number;
  nodeBase: number;
  callBase: number;
  quotaBase: number;
  entryBase: number;
  journalBase: number;
  journalFIndexBase: number;
  // f64 offsets
  fHeader: number;
  fPeerBase: number;
  fHandleBase: number;
  fNodeBase: number;
  fCallBase: number;
  fEntryBase: number;
  fJournalBase: number;
  // byte offsets
  queueBytesBase: number;
  queueBytes: number;
  replyBytesBase: number;
  totalBytes: number;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function computeLayout(limits: Limits, options: ShmOptions = {}): Layout {
  const P = limits.maxPeers;
  const H = limits.maxHandlesPerPeer;
  const M = limits.maxHandlesPerMessage;
  const callSlots = options.callSlotsPerPeer ?? 4;
  const notices = options.noticeSlotsPerPeer ?? 2 * H + 16;
  const maxNodes = options.maxNodes ?? P * H;
  const entriesPerQueue = limits.queueCapacityMessages + notices;
  const entryWords = E_HANDLES + M;
  const callWords = C_RHANDLES + 3 * M;
  const callFWords = CF_NAMES + M;
  const journalEntries = options.journalEntries ?? Math.max(1 << 14, P * H * 24 + maxNodes * 8);
  let i = HDR_WORDS;
  const peerBase = i; i += P * P_WORDS;
  const handleBase = i; i += P * H * H_WORDS;
  const nodeBase = i; i += maxNodes * N_WORDS;
  const callBase = i; i += P * callSlots * callWords;
  const quotaBase = i; i += P * P * Q_WORDS;
  const entryBase = i; i += P * entriesPerQueue * entryWords;
  const journalBase = i; i += journalEntries * 2;
  const journalFIndexBase = i; i += journalEntries;
  let byte = align(i * 4, 64);
  let f = byte / 8;
  const fHeader = f; f += FH_WORDS;
  const fPeerBase = f; f += P * PF_WORDS;
  const fHandleBase = f; f += P * H * HF_WORDS;
  const fNodeBase = f; f += maxNodes * NF_WORDS;
  const fCallBase = f; f += P * callSlots * callFWords;
  const fEntryBase = f; f += P * entriesPerQueue * EF_WORDS;
  const fJournalBase = f; f += journalEntries;
  byte = align(f * 8, 64);
  const queueBytes = align(limits.queueCapacityBytes, 8);
  const queueBytesBase = byte; byte += P * queueBytes;
  const replyBytesBase = byte; byte += P * callSlots * align(limits.maxPayloadBytes, 8);
  const totalBytes = align(byte, 64);
  return {
    limits, peers: P, tableSize: H, maxNodes, callSlots, entriesPerQueue, entryWords, callWords, callFWords, journalEntries,
    peerBase, handleBase, nodeBase, callBase, quotaBase, entryBase, journalBase, journalFIndexBase,
    fHeader, fPeerBase, fHandleBase, fNodeBase, fCallBase, fEntryBase, fJournalBase,
    queueBytesBase, queueBytes, replyBytesBase, totalBytes,
  };
}
