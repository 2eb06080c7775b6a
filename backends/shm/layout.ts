// Memory layout of the shared-memory bus: one SharedArrayBuffer, sized from the
// limits at creation, viewed as Int32Array (control words), Float64Array
// (values that need 53 bits: names, badges, credentials, sequence numbers) and
// Uint8Array (payload bytes). Regions never overlap; DESIGN.md draws them.
import type { Limits } from '../../spec/types';
import { LIMITS } from '../../spec/registry/limits';
import { rightBit } from '../common';

export const NONE = -1;

// ------------------------------------------------------------------ header (i32 words)
export const HDR_LOCK = 0; // bus lock: 0 free, else the holder's thread token
export const HDR_JAREA = 1; // which thread's operation is using the shared journal area (diagnostics; recovery does not need it)
export const HDR_LOCK_WAITERS = 16; // threads sleeping on HDR_LOCK (own cache line)
export const HDR_NEXT_PEER = 32; // next peer id (PEER-1)
export const HDR_NODE_FREE = 33; // head of the node free list
export const HDR_MAGIC = 34;
/** How the buffer was made, so every thread and process joining picks the same waiting (waiting.ts). */
export const HDR_SPAN = 35;
export const SPAN_THREADS = 0; // a SharedArrayBuffer of one process: Atomics.wait / notify
export const SPAN_PROCESSES = 1; // a memfd segment mapped by several processes: futex calls (native addon)
export const HDR_ROOM_ARMED = 36; // room watches armed (QUOTA-5): 0 lets a lock hold skip looking
export const HDR_ROOM_SEQ = 37; // arming order of room watches (compared with wrap-around)
/**
 * f64 words of the header (its second half, i32 words 64..127) holding what the buffer was sized
 * from: call slots per peer and node records (both from the limits), journalEntries,
 * viewSlackBytes, then the limits in the registry's order. A thread joining the bus computes the layout from these, not from anything
 * it was told (sizingOf).
 */
export const HDR_F64_SIZING = 32;
const SIZING_OPTIONS = ['callSlotsPerPeer', 'maxNodes', 'journalEntries', 'viewSlackBytes'] as const;
export const HDR_WORDS = 128;
export const MAGIC = 0x7e55e4b;

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
export const P_USED = 2; // table use: named + in flight + held by a waiting notice (HANDLE-1, NOTICE-4)
export const P_FREE = 3; // head of the table's free slot list
export const P_QHEAD = 4; // first entry of the receive queue's entry ring
export const P_QCOUNT = 5; // entries in the ring (messages, calls, state notices)
export const P_QMSGS = 6; // messages and calls queued (QUOTA-1)
export const P_QBYTES = 7; // payload bytes queued (QUOTA-1)
export const P_BHEAD = 8; // byte ring head offset (the oldest byte still in use, held views included)
export const P_TOKEN = 9; // thread token of the thread that runs this peer
export const P_NSHEAD = 10; // waiting no-senders notices: FIFO list of node records (NOTICE-2)
export const P_NSTAIL = 11;
export const P_NSCOUNT = 12;
export const P_BUSED = 13; // bytes of the byte ring in use: QBYTES + bytes held by the receiver's views
export const P_BHELD = 14; // bytes held by the receiver's last view batch (released at its next receive)
export const P_NODES = 15; // live nodes the peer owns (NODE-4)
export const P_WAKE = 16; // futex word: bumped after an enqueue (or close) while a receiver waits (P_WAITING); a call's outcome bumps it only for a sleeper
export const P_SLEEP = 17; // sleepers on P_WAKE: changed only by the sleeping threads themselves
export const P_MBREADY = 18; // hand-off mailbox: the registration number it was filled for, stored after the filling hold committed
// receivers waiting (spinning or sleeping) for this queue: changed only by them, read by publishers.
// A line of its own: on the wake line, a ReplyRecv server's add / sub (two locked RMWs per round trip)
// took the line the caller writes the ready word on away from it twice per round trip.
export const P_WAITING = 48;
/**
 * 1 while the thread running a seated peer is counted in HDR_LOCK_WAITERS (written only by it, in
 * the lock's slow path): recovering a process killed while it slept on the lock takes its count back.
 */
export const P_LOCK_WAITING = 49;
/**
 * The CPU the peer's thread ran on when a spin of its own last ran out, plus 1 (0: not known).
 * Written only by that thread; read by other peers' threads when their spins run out (spin.ts).
 */
export const P_CPU = 50;
export const P_ROOM = 32; // futex word: bumped whenever this queue frees room
export const P_ROOM_WAITERS = 33; // senders sleeping on P_ROOM
/**
 * The peer's seat for another thread (joinBus): 0 none (the owner's thread runs the peer), the
 * peer id while issued, minus the peer id once joined. Written at attach and at the one join.
 */
export const P_SEAT = 34;
/** SHA-256 of the seat's key (8 words): the key itself is only in the descriptor the owner handed out. */
export const P_SEAT_KEY_HASH = 40;
export const SEAT_KEY_HASH_WORDS = 8;
export const P_WORDS = 64; // four cache lines: control, wake, room, waiting
// peer f64
export const PF_UID = 0;
export const PF_GID = 1;
export const PF_PID = 2;
export const PF_PLACE = 3; // placements so far (name order for CLOSE-3)
export const PF_WORDS = 4;

// ------------------------------------------------------------------ handle record (i32), one per table slot
export const H_STATE = 0; // 0 free, 1 in flight to this table, 2 named in this table, 3 released but its slot held by a waiting notice, 4 retired (BOUND-3)
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
export const H_NOTICE = 14; // 1 while a revoked / node-destroyed notice about this handle waits (NOTICE-4)
export const H_WORDS = 16;
export const HF_BADGE = 0;
export const HF_CREATED = 1; // creation order (NOTICE-5)
export const HF_WORDS = 2;
// Placement order (CLOSE-3) is an f64 array of its own, one word per table slot: the receiver
// writes it when a handle arrives, while the sender wrote badge and creation order (no shared line).

export const KIND_NODE = 1;
export const KIND_REPLY = 2;
export const ST_LIVE = 0;
export const ST_REVOKED = 1;
export const ST_DEAD = 2;
/** A reply handle's state as delivered (RECV-3): its call was abandoned while it was in flight. */
export const ST_ABANDONED = 3;
/** Rights as bits (backends/common.ts): send and grant. */
export const R_SEND = rightBit('send');
export const R_GRANT = rightBit('grant');

// ------------------------------------------------------------------ node record
export const N_STATE = 0; // 0 free, 1 live, 2 dying (within destroy's lock hold)
export const N_OWNER = 1; // owner peer slot
export const N_ROOT = 2; // root handle record while it exists
export const N_CRED = 3; // CRED-1
export const N_SENDERS = 4; // NOTICE-2
export const N_NEXTFREE = 5;
export const N_NSWAIT = 6; // 1 while a no-senders notice for the node waits in the owner's queue (NOTICE-2)
export const N_NSNEXT = 7; // next node in the owner's list of waiting no-senders notices
export const N_REFUSES = 8; // 1: created with acceptsHandles false (NODE-5)
export const N_WORDS = 9;
export const NF_NAME = 0; // owner's name for the node (NODE-3)
export const NF_DERIVED = 1; // NOTICE-3
export const NF_CREATED = 2;
export const NF_NSSEQ = 3; // bus order of the waiting no-senders notice (ORDER-1)
export const NF_NSDERIVED = 4; // its derivedCount, updated in place by a later fall to zero (NOTICE-2)
export const NF_WORDS = 5;

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
export const C_RCRED = 10; // 1: the caller asked for the replier's credentials (CRED-3)
export const C_RHANDLES = 11; // then 3 words per handle: kind, rights, state
/**
 * Completion words, one cache line per call slot: the call's generation, stored once the lock
 * hold that resolved it committed. The caller spins on it without the lock; a line of its own
 * means the resolver's other writes never disturb that spin.
 */
export const DONE_STRIDE = 16;
export const CF_TICKET = 0;
export const CF_UID = 1; // the replier's credentials and key (CRED-3): uid, gid, pid, peerKey
export const CF_NAMES = 5; // then one name per reply handle

// ------------------------------------------------------------------ queue entry
export const E_KIND = 0; // 1 message, 2 call, 3 notice
export const E_SENDER = 1; // sender slot
export const E_SENDER_ID = 2;
export const E_NODE = 3;
export const E_BYTES = 4;
export const E_OFF = 5; // payload offset in the byte ring
export const E_NH = 6;
export const E_REPLY = 7; // reply handle record (calls); the handle record a state notice is about
export const E_NTYPE = 8; // notice type
export const E_CRED = 9;
export const E_PHYS = 10; // bytes of the byte ring this entry frees when it leaves (0: it shares the next entry's bytes)
export const E_HANDLES = 11;
export const EF_SEQ = 0;
export const EF_NAME = 1; // node name (messages), handle or node name (notices)
export const EF_BADGE = 2; // badge (messages), derivedCount (no-senders)
export const EF_UID = 3;
export const EF_GID = 4;
export const EF_PID = 5;
export const EF_KEY = 6; // the sender's peerKey (CRED-2), with its credentials
export const EF_WORDS = 8; // one cache line per entry (the region starts on a line)
export const ENTRY_MESSAGE = 1;
export const ENTRY_CALL = 2;
export const ENTRY_NOTICE = 3;
export const NOTICE_DESTROYED = 1;
export const NOTICE_REVOKED = 2;
export const NOTICE_NO_SENDERS = 3;
export const NOTICE_ABANDONED = 4; // call-abandoned (CALL-8), about a reply handle
export const NOTICE_ROOM = 5; // room (QUOTA-5)

// ------------------------------------------------------------------ hand-off mailbox (one per peer)
// A receiver blocked in replyBytesAndReceiveSync with an empty queue registers its mailbox; a
// sender that finds it registered and the queue empty delivers straight into it (send and
// receive in one lock hold: the receive is linearized there, inside the receiver's blocked call).
// One contiguous block per peer, read through both views: its first cache line holds the i32
// header (words 0-7) and the first four f64 fields (node, badge, reply handle, uid); then the rest
// of the f64 fields and the handles (touched only by deliveries with credentials or handles);
// then the payload, on a line boundary. A handed-off call without handles moves two lines for a
// payload up to 64 bytes (header + payload) where separate i32 / f64 / payload regions moved three.
export const MB_STATE = 0; // 0 not registered, 1 registered and empty, 2 filled
export const MB_REG = 1; // registration number (bumped at each registration)
export const MB_KIND = 2; // 1 message, 2 call
export const MB_LEN = 3; // payload bytes
export const MB_NH = 4; // handles delivered
export const MB_CRED = 5;
export const MB_CALL = 6; // a handed-off call's call record (what its reply handle's record leads to): read ahead by the receiver
/** i32 word of the block where its f64 fields start (f64 index = (block + MB_F64) / 2). */
export const MB_F64 = 8;
export const MBF_NODE = 0;
export const MBF_BADGE = 1;
export const MBF_REPLY = 2; // reply handle name (calls)
export const MBF_UID = 3;
export const MBF_GID = 4; // (second line from here on)
export const MBF_PID = 5;
export const MBF_KEY = 6; // CRED-2
export const MBF_NAMES = 7; // then one name per handle; then (Layout.mbHandles) 3 i32 words per handle: kind, rights, state
/** Largest payload handed off through a mailbox (larger ones go through the queue). */
export const MB_PAYLOAD_MAX = 1024;

// quota record per (destination slot, sender slot)
export const Q_ID = 0;
export const Q_MSGS = 1;
export const Q_BYTES = 2;
export const Q_HANDLES = 3; // handles in flight in its queued entries, reply handles of calls included (QUOTA-4)
// The room watch of the pair (QUOTA-5): 0 none, 1 armed, 2 its notice waits in the sender's queue
export const Q_WATCH = 4;
export const Q_WID = 5; // the watching sender's peer id
export const Q_WSEQ = 6; // arming order (kept when a later refusal updates the watch)
export const Q_WREC = 7; // the handle refused through: its record and generation (its name, HANDLE-2)
export const Q_WGEN = 8;
export const Q_WMSGS = 9; // the room the refused message needed there
export const Q_WBYTES = 10;
export const Q_WHANDLES = 11;
export const Q_WORDS = 12;

/**
 * Sizing beyond the limits. Call slots (maxPendingPerPeer per peer, each with a reply area of
 * maxPayloadBytes) and node records (maxNodesPerPeer per peer) follow the limits exactly (BUS-1,
 * BOUND-1): no option makes them tighter or looser.
 */
export interface ShmOptions {
  /** Entries of the shared undo journal used by operations too large for a thread's own journal. */
  journalEntries?: number;
  /** Bytes of each byte ring for payloads held by zero-copy receive views (default 2 * maxPayloadBytes). */
  viewSlackBytes?: number;
}

/** Entries of a thread's own undo journal (an operation that needs more moves to the shared one). */
export const JOURNAL_AREA_ENTRIES = 1024;
/** i32 words before a journal area's entries: its length, on a line of its own. */
export const JOURNAL_AREA_HEADER = 16;

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
  /** Journal areas: 0 for the owner thread, 1 + slot for a peer's worker thread, the last one shared. */
  journalAreas: number;
  journalEntries: number;
  // i32 offsets
  peerBase: number;
  handleBase: number;
  nodeBase: number;
  callBase: number;
  doneBase: number;
  quotaBase: number;
  mbBase: number;
  /** i32 words per mailbox block, and offsets in a block: the handles' i32 words, the payload. */
  mbWords: number;
  mbHandles: number;
  mbPayloadAt: number;
  entryBase: number;
  journalBase: number;
  // f64 offsets
  fHeader: number;
  fPeerBase: number;
  fHandleBase: number;
  fPlacedBase: number;
  fNodeBase: number;
  fCallBase: number;
  fEntryBase: number;
  fJournalBase: number;
  // byte offsets
  queueBytesBase: number;
  queueBytes: number;
  mbPayload: number;
  viewSlack: number;
  replyBytesBase: number;
  totalBytes: number;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** i32 offset and f64 offset of journal area `a` (entries: 2 i32 words + 1 f64 word each). */
export function journalArea(L: Layout, a: number): { i: number; f: number; entries: number } {
  const shared = a === L.journalAreas - 1;
  const stride = JOURNAL_AREA_HEADER + 2 * JOURNAL_AREA_ENTRIES;
  const i = L.journalBase + a * stride;
  const f = L.fJournalBase + a * JOURNAL_AREA_ENTRIES;
  return { i, f, entries: shared ? L.journalEntries : JOURNAL_AREA_ENTRIES };
}

/** The counts a layout is computed from. */
type Sizes = Pick<
  Layout,
  | 'limits'
  | 'peers'
  | 'tableSize'
  | 'maxNodes'
  | 'callSlots'
  | 'entriesPerQueue'
  | 'entryWords'
  | 'callWords'
  | 'callFWords'
  | 'journalAreas'
  | 'journalEntries'
>;

/** Regions laid out one after the other: `take(n)` returns where the next n units start. */
function regions(start: number): { take(n: number): number; align(a: number): void; readonly end: number } {
  let at = start;
  return {
    take(n: number): number {
      const here = at;
      at += n;
      return here;
    },
    align(a: number): void {
      at = align(at, a);
    },
    get end(): number {
      return at;
    },
  };
}

function sizesOf(limits: Limits, options: ShmOptions): Sizes {
  const P = limits.maxPeers,
    H = limits.maxHandlesPerPeer,
    M = limits.maxHandlesPerMessage;
  const maxNodes = P * limits.maxNodesPerPeer; // NODE-4: a node record per live node, destroyed ones free theirs
  return {
    limits,
    peers: P,
    tableSize: H,
    maxNodes,
    callSlots: limits.maxPendingPerPeer, // BOUND-2: a peer's pending calls are at most its pending operations
    // NOTICE-4: every waiting revoked / node-destroyed notice holds a table slot (named or released),
    // so a ring of messages + H entries always has room; no-senders notices live in the node records.
    // Room notices (QUOTA-5): at most one per sender of the bus, P more entries.
    entriesPerQueue: limits.queueCapacityMessages + H + P,
    entryWords: align(E_HANDLES + M, 2),
    callWords: C_RHANDLES + 3 * M,
    callFWords: CF_NAMES + M,
    journalAreas: P + 2,
    journalEntries: options.journalEntries ?? Math.max(1 << 14, P * H * 24 + maxNodes * 8),
  };
}

export function computeLayout(limits: Limits, options: ShmOptions = {}): Layout {
  const z = sizesOf(limits, options);
  const P = z.peers,
    H = z.tableSize,
    M = limits.maxHandlesPerMessage,
    calls = P * z.callSlots;
  // i32 words
  const i = regions(HDR_WORDS);
  const peerBase = i.take(P * P_WORDS);
  const handleBase = i.take(P * H * H_WORDS);
  const nodeBase = i.take(z.maxNodes * N_WORDS);
  const callBase = i.take(calls * z.callWords);
  i.align(16);
  const doneBase = i.take(calls * DONE_STRIDE);
  const quotaBase = i.take(P * P * Q_WORDS);
  i.align(16);
  const mbPayload = align(Math.min(limits.maxPayloadBytes, MB_PAYLOAD_MAX), 64);
  const mbHandles = MB_F64 + 2 * (MBF_NAMES + M);
  const mbPayloadAt = align(mbHandles + 3 * M, 16);
  const mbWords = mbPayloadAt + mbPayload / 4;
  const mbBase = i.take(P * mbWords); // 16-aligned: every block starts a cache line
  const entryBase = i.take(P * z.entriesPerQueue * z.entryWords);
  i.align(16);
  const journalStride = JOURNAL_AREA_HEADER + 2 * JOURNAL_AREA_ENTRIES;
  const journalBase = i.take((z.journalAreas - 1) * journalStride + JOURNAL_AREA_HEADER + 2 * z.journalEntries);
  // f64 words
  const f = regions(align(i.end * 4, 64) / 8);
  const fHeader = f.take(FH_WORDS);
  const fPeerBase = f.take(P * PF_WORDS);
  const fHandleBase = f.take(P * H * HF_WORDS);
  const fPlacedBase = f.take(P * H);
  const fNodeBase = f.take(z.maxNodes * NF_WORDS);
  const fCallBase = f.take(calls * z.callFWords);
  f.align(8);
  const fEntryBase = f.take(P * z.entriesPerQueue * EF_WORDS);
  f.align(8);
  const fJournalBase = f.take((z.journalAreas - 1) * JOURNAL_AREA_ENTRIES + z.journalEntries);
  // bytes. Each byte ring: the queued bytes (QUOTA-1), up to 3 bytes of padding per queued message
  // (every payload starts on a 4-byte boundary), and the bytes a receiver may hold in views.
  const viewSlack = align(options.viewSlackBytes ?? 2 * limits.maxPayloadBytes, 4);
  const queueBytes = align(limits.queueCapacityBytes + 4 * limits.queueCapacityMessages + viewSlack, 64);
  const b = regions(align(f.end * 8, 64));
  const queueBytesBase = b.take(P * queueBytes);
  const replyBytesBase = b.take(calls * align(limits.maxPayloadBytes, 64));
  return {
    ...z,
    peerBase,
    handleBase,
    nodeBase,
    callBase,
    doneBase,
    quotaBase,
    mbBase,
    mbWords,
    mbHandles,
    mbPayloadAt,
    entryBase,
    journalBase,
    fHeader,
    fPeerBase,
    fHandleBase,
    fPlacedBase,
    fNodeBase,
    fCallBase,
    fEntryBase,
    fJournalBase,
    queueBytesBase,
    queueBytes,
    viewSlack,
    replyBytesBase,
    mbPayload,
    totalBytes: align(b.end, 64),
  };
}

/** Record what the buffer was sized from in its header (computeLayout's inputs, resolved). */
export function writeSizing(float64: Float64Array, layout: Layout): void {
  const options = [layout.callSlots, layout.maxNodes, layout.journalEntries, layout.viewSlack];
  options.forEach((v, i) => (float64[HDR_F64_SIZING + i] = v));
  LIMITS.forEach((l, i) => (float64[HDR_F64_SIZING + SIZING_OPTIONS.length + i] = layout.limits[l.name]));
}

/** The layout a bus buffer was created with, read from its header; null when it is not one (magic, size). */
export function layoutOf(sab: SharedArrayBuffer): Layout | null {
  if (sab.byteLength < HDR_WORDS * 4) return null;
  const I = new Int32Array(sab, 0, HDR_WORDS),
    F = new Float64Array(sab, 0, HDR_WORDS / 2);
  if (I[HDR_MAGIC] !== MAGIC) return null;
  const options: ShmOptions = {
    journalEntries: F[HDR_F64_SIZING + SIZING_OPTIONS.indexOf('journalEntries')],
    viewSlackBytes: F[HDR_F64_SIZING + SIZING_OPTIONS.indexOf('viewSlackBytes')],
  };
  const limits = {} as Limits;
  LIMITS.forEach((l, i) => (limits[l.name] = F[HDR_F64_SIZING + SIZING_OPTIONS.length + i]));
  const layout = computeLayout(limits, options);
  return layout.totalBytes === sab.byteLength ? layout : null;
}
