// The shared-memory bus core: every operation of the spec, run against the
// SharedArrayBuffer under the bus lock. One BusCore exists per thread (each
// with its own views, thread token and journal area) over the same buffer.
//
// Discipline (DESIGN.md): every control word written while holding the lock is
// written through w()/wf()/wa(), which log the old value in the holder's undo
// journal, so a holder that dies mid-operation can be rolled back by the bus
// owner. Three kinds of words are written plainly: words nothing refers to yet
// (entry fields and payload bytes past a queue's published tail, reply areas of
// pending calls, the fields of a record just taken from a free list: a rollback
// puts the record back and every allocation sets them again); order counters
// that only need to grow (a gap left by a rollback is harmless); and fields of
// a record being retired. Checks run first, in ERR-1 order, and change nothing;
// effects run only after every check passed (ATOMIC-1).
import type { Completion, ErrorCode, ReceivedHandle, ReplyDelivery, Result, Right } from '../../spec/types';
import { performance } from 'perf_hooks';
import * as L from './layout';

const {
  NONE,
  HDR_LOCK,
  HDR_JAREA,
  HDR_LOCK_WAITERS,
  HDR_NEXT_PEER,
  HDR_NODE_FREE,
  FH_SEQ,
  FH_TICKET,
  FH_HANDLE_SEQ,
  FH_NODE_SEQ,
  P_ID,
  P_STATUS,
  P_USED,
  P_FREE,
  P_QHEAD,
  P_QCOUNT,
  P_QMSGS,
  P_QBYTES,
  P_BHEAD,
  P_NSHEAD,
  P_NSTAIL,
  P_NSCOUNT,
  P_BUSED,
  P_BHELD,
  P_WAKE,
  P_SLEEP,
  P_ROOM,
  P_ROOM_WAITERS,
  P_WORDS,
  PF_UID,
  PF_GID,
  PF_PID,
  PF_PLACE,
  PF_WORDS,
  H_STATE,
  H_KIND,
  H_STATUS,
  H_GEN,
  H_NODE,
  H_RIGHTS,
  H_ROOT,
  H_PARENT,
  H_CHILD,
  H_NEXT,
  H_PREV,
  H_CALL,
  H_CALLGEN,
  H_NEXTFREE,
  H_NOTICE,
  H_WORDS,
  HF_BADGE,
  HF_CREATED,
  HF_WORDS,
  KIND_NODE,
  KIND_REPLY,
  ST_LIVE,
  ST_REVOKED,
  ST_DEAD,
  R_SEND,
  R_GRANT,
  N_STATE,
  N_OWNER,
  N_ROOT,
  N_CRED,
  N_SENDERS,
  N_NEXTFREE,
  N_NSWAIT,
  N_NSNEXT,
  N_WORDS,
  NF_NAME,
  NF_DERIVED,
  NF_CREATED,
  NF_NSSEQ,
  NF_NSDERIVED,
  NF_WORDS,
  C_STATE,
  C_GEN,
  C_CALLER,
  C_CALLER_ID,
  C_NODE,
  C_REPLY,
  C_CALLER_HOLDS,
  C_OUTCOME,
  C_RBYTES,
  C_RNH,
  C_RHANDLES,
  CF_TICKET,
  CF_NAMES,
  DONE_STRIDE,
  E_KIND,
  E_SENDER,
  E_SENDER_ID,
  E_NODE,
  E_BYTES,
  E_OFF,
  E_NH,
  E_REPLY,
  E_NTYPE,
  E_CRED,
  E_PHYS,
  E_HANDLES,
  EF_SEQ,
  EF_NAME,
  EF_BADGE,
  EF_UID,
  EF_GID,
  EF_PID,
  EF_WORDS,
  ENTRY_MESSAGE,
  ENTRY_CALL,
  ENTRY_NOTICE,
  NOTICE_DESTROYED,
  NOTICE_REVOKED,
  NOTICE_NO_SENDERS,
  Q_ID,
  Q_MSGS,
  Q_BYTES,
  Q_WORDS,
  JOURNAL_AREA_HEADER,
  P_MBREADY,
  P_WAITING,
  MB_STATE,
  MB_REG,
  MB_KIND,
  MB_LEN,
  MB_NH,
  MB_CRED,
  MB_F64,
  MBF_NODE,
  MBF_BADGE,
  MBF_REPLY,
  MBF_UID,
  MBF_GID,
  MBF_PID,
  MBF_NAMES,
} = L;

/** Error codes as small integers (index in this list); 0 is success. */
export const CODES: readonly (ErrorCode | 'OK')[] = [
  'OK',
  'INVALID_ARGUMENT',
  'BAD_HANDLE',
  'WRONG_KIND',
  'NO_RIGHTS',
  'NOT_OWNER',
  'DEAD',
  'REVOKED',
  'TOO_LARGE',
  'TOO_MANY_HANDLES',
  'TABLE_FULL',
  'QUEUE_FULL',
  'TIMED_OUT',
  'NO_REPLY',
  'CALLER_GONE',
  'CLOSED',
];
export const OK = 0,
  INVALID_ARGUMENT = 1,
  BAD_HANDLE = 2,
  WRONG_KIND = 3,
  NO_RIGHTS = 4,
  NOT_OWNER = 5,
  DEAD = 6,
  REVOKED = 7,
  TOO_LARGE = 8,
  TOO_MANY_HANDLES = 9,
  TABLE_FULL = 10,
  QUEUE_FULL = 11,
  TIMED_OUT = 12,
  NO_REPLY = 13,
  CALLER_GONE = 14,
  CLOSED = 15;
/** send found no room and the caller asked to wait (SEND-7): nothing changed. */
export const BLOCKED = 100;

export const OWNER_TOKEN = 1;

const RIGHTS_BY_MASK: readonly (readonly Right[])[] = [[], ['send'], ['grant'], ['send', 'grant']];
export function rightsArray(mask: number): Right[] {
  return RIGHTS_BY_MASK[mask].slice();
}
export function rightsMask(rights: readonly Right[]): number {
  let m = 0;
  for (const r of rights) m |= r === 'send' ? R_SEND : R_GRANT;
  return m;
}
const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
/** Bytes a payload occupies in a byte ring: every payload starts on a 4-byte boundary (word copies). */
const slotBytes = (n: number): number => (n + 3) & ~3;

/** A blocking operation of the in-process runner, kept in ticket order (TIME-2). */
export interface LocalPending {
  ticket: number;
  kind: 'call' | 'send' | 'receive';
  slot: number;
  peerId: number;
  deadline: number | null;
  call: number;
  callGen: number;
  max: number;
  /** A blocked send: its message, kept as given (SEND-7 retries re-check everything). */
  handle: number;
  segments: Uint8Array[];
  transfers: StagedTransfer[];
  timeoutMs: number;
}

export interface StagedTransfer {
  handle: number;
  rights: number; // -1: same as the handle's
  move: boolean;
}

/**
 * Where takeBatch puts what it hands over (the fast receive path): parallel arrays, one
 * element per delivery, and the handles that arrived, flattened.
 */
export interface ReceiveBatch {
  count: number;
  kind: Int32Array; // 1 message, 2 call, 3 notice
  node: Float64Array; // node name, or the notice's handle/node name
  badge: Float64Array; // badge, or derivedCount of a no-senders notice
  noticeType: Int32Array; // 1 node-destroyed, 2 revoked, 3 no-senders
  /** The payload of delivery i is buf[i].subarray(offset[i], offset[i] + length[i]). */
  buf: Uint8Array[];
  offset: Int32Array;
  length: Int32Array;
  replyHandle: Float64Array;
  /** CRED-1: 1 when delivery i carries the sender's credentials (then uid/gid/pid[i]). */
  credentials: Int32Array;
  uid: Float64Array;
  gid: Float64Array;
  pid: Float64Array;
  handleCount: Int32Array;
  /** The handles of delivery i are at handleStart[i] .. handleStart[i] + handleCount[i] - 1. */
  handleStart: Int32Array;
  handleName: Float64Array; // -1 for a handle that arrived dead or revoked (RECV-3)
  handleKind: Int32Array; // 1 node, 2 reply
  handleRights: Int32Array; // bit 1 send, bit 2 grant
  handleState: Int32Array; // 0 live, 1 revoked, 2 dead
  /** Payloads copied out of the queue land here (copy mode, or a payload wrapped around the ring). */
  data: Uint8Array;
  /** The same bytes as 32-bit words (copies of small payloads go word by word). */
  dataWords: Int32Array;
  dataUsed: number;
  /**
   * Zero-copy mode: payloads are views into the bus's own queue memory, valid until this peer's
   * next receive (the bytes stay reserved until then, and count against nothing the spec limits).
   */
  views: boolean;
}

export function createReceiveBatch(
  max: number,
  dataBytes: number,
  options: { views?: boolean; handles?: number } = {},
): ReceiveBatch {
  const hs = Math.max(0, options.handles ?? 8 * max);
  const data = new Uint8Array((dataBytes + 3) & ~3);
  return {
    count: 0,
    kind: new Int32Array(max),
    node: new Float64Array(max),
    badge: new Float64Array(max),
    noticeType: new Int32Array(max),
    buf: new Array<Uint8Array>(max).fill(data),
    offset: new Int32Array(max),
    length: new Int32Array(max),
    replyHandle: new Float64Array(max),
    credentials: new Int32Array(max),
    uid: new Float64Array(max),
    gid: new Float64Array(max),
    pid: new Float64Array(max),
    handleCount: new Int32Array(max),
    handleStart: new Int32Array(max),
    handleName: new Float64Array(hs),
    handleKind: new Int32Array(hs),
    handleRights: new Int32Array(hs),
    handleState: new Int32Array(hs),
    data,
    dataWords: new Int32Array(data.buffer),
    dataUsed: 0,
    views: options.views === true,
  };
}

export class BusCore {
  readonly I: Int32Array;
  readonly F: Float64Array;
  readonly B: Uint8Array;
  readonly L: L.Layout;
  readonly P: number;
  readonly H: number;
  readonly M: number;
  readonly K: number;
  readonly E: number;
  readonly QB: number;
  readonly replyStride: number;
  /** Bytes a receiver may hold in views beyond queueCapacityBytes. */
  readonly viewSlack: number;

  /** Staged message of the current operation (no allocation on the hot path). */
  segs: Uint8Array[] = [];
  nsegs = 0;
  xfers: StagedTransfer[] = [];
  nxfers = 0;
  /** log2(maxHandlesPerPeer) when it is a power of 2 (names split with a mask and a shift), else -1. */
  private readonly hShift: number;
  /** The table records of the staged transfers, resolved by transferError (valid within its lock hold). */
  private xferRec: Int32Array;

  // Outputs of the last operation.
  outName = 0;
  outCall = 0;
  outTicket = 0;
  outCount = 0;
  /** Names skipped by the last multicast (the first outSkippedCount of them); attach's names. */
  outSkipped: number[] = [];
  outSkippedCount = 0;

  /** In-process runner state: pending operations of this thread, and completions to report. */
  readonly local: LocalPending[] = [];
  readonly localCalls = new Map<number, LocalPending>();
  completions: Completion[] = [];
  /** Whether completions are collected (in-process runner) or left for the waiting thread. */
  collect = true;

  // Wake-ups, room and call outcomes to publish once the lock hold committed.
  private readonly wakeList: Int32Array;
  private readonly wakeFlag: Uint8Array;
  private nwake = 0;
  private readonly roomList: Int32Array;
  private readonly roomFlag: Uint8Array;
  private nroom = 0;
  private readonly doneCall: Int32Array;
  private readonly doneGen: Int32Array;
  private ndone = 0;
  private readonly mbDest: Int32Array;
  private readonly mbReg: Int32Array;
  private nmb = 0;

  // The undo journal: this thread's own area, or the shared one for a large operation.
  private readonly ownArea: number;
  private readonly sharedArea: number;
  private jArea: number;
  private jI = 0; // i32 offset of the active area's length word
  private jF = 0; // f64 offset of the active area's old f64 values
  private jCap = 0;
  private jn = 0; // entries in the active area (mirror of its length word)

  // scratch for arrivals
  readonly arrName: Float64Array;
  readonly arrKind: Int32Array;
  readonly arrRights: Int32Array;
  readonly arrState: Int32Array;
  arrCount = 0;
  arrReply = 0;
  // the last popped no-senders notice
  nsName = 0;
  nsDerived = 0;
  // multicast scratch (MCAST-4)
  private mcRecs: Int32Array;
  private readonly mcNeed: Int32Array;
  private readonly mcDests: Int32Array;
  private readonly mcPend: Int32Array;
  private readonly mcOff: Int32Array;
  private readonly accBytes: Float64Array;
  /** Lock acquisition spins this long (ms) before sleeping: longer than the longest common hold (a 64 KiB copy). */
  spinLockMs = 0.05;
  /** Lock acquisitions that had to spin or sleep (contention statistics). */
  lockContended = 0;

  constructor(
    readonly sab: SharedArrayBuffer,
    layout: L.Layout,
    readonly token: number,
    area = 0,
  ) {
    this.I = new Int32Array(sab);
    this.F = new Float64Array(sab);
    this.B = new Uint8Array(sab);
    this.L = layout;
    this.P = layout.peers;
    this.H = layout.tableSize;
    this.M = layout.limits.maxHandlesPerMessage;
    this.K = layout.callSlots;
    this.E = layout.entriesPerQueue;
    this.QB = layout.queueBytes;
    this.viewSlack = layout.viewSlack;
    this.replyStride = Math.ceil(layout.limits.maxPayloadBytes / 64) * 64;
    this.wakeList = new Int32Array(this.P);
    this.wakeFlag = new Uint8Array(this.P);
    this.roomList = new Int32Array(this.P);
    this.roomFlag = new Uint8Array(this.P);
    this.doneCall = new Int32Array(this.P * this.K);
    this.doneGen = new Int32Array(this.P * this.K);
    this.mbDest = new Int32Array(this.P);
    this.mbReg = new Int32Array(this.P);
    this.arrName = new Float64Array(this.M + 1);
    this.arrKind = new Int32Array(this.M + 1);
    this.arrRights = new Int32Array(this.M + 1);
    this.arrState = new Int32Array(this.M + 1);
    this.mcRecs = new Int32Array(16);
    this.mcNeed = new Int32Array(this.P);
    this.mcDests = new Int32Array(this.P);
    this.mcPend = new Int32Array(this.P);
    this.mcOff = new Int32Array(this.P);
    this.accBytes = new Float64Array(this.P);
    for (let i = 0; i < this.M; i++) this.xfers.push({ handle: 0, rights: -1, move: false });
    this.xferRec = new Int32Array(this.M + 1);
    this.hShift = (this.H & (this.H - 1)) === 0 ? 31 - Math.clz32(this.H) : -1;
    this.sharedArea = layout.journalAreas - 1;
    this.ownArea = Math.max(0, Math.min(area, this.sharedArea - 1));
    this.jArea = this.ownArea;
    this.useArea(this.ownArea);
  }

  /** Fill a fresh buffer: free lists of nodes and of every table slot. */
  initialize(): void {
    const I = this.I,
      Lo = this.L;
    I[L.HDR_MAGIC] = L.MAGIC;
    I[HDR_NEXT_PEER] = 1;
    for (let n = 0; n < Lo.maxNodes; n++)
      I[Lo.nodeBase + n * N_WORDS + N_NEXTFREE] = n + 1 < Lo.maxNodes ? n + 1 : NONE;
    I[HDR_NODE_FREE] = Lo.maxNodes > 0 ? 0 : NONE;
    for (let s = 0; s < this.P; s++) {
      const p = Lo.peerBase + s * P_WORDS;
      I[p + P_FREE] = 0;
      I[p + P_NSHEAD] = NONE;
      I[p + P_NSTAIL] = NONE;
      for (let t = 0; t < this.H; t++) {
        const h = this.hrec(s * this.H + t);
        I[h + H_GEN] = 1;
        I[h + H_NEXTFREE] = t + 1 < this.H ? t + 1 : NONE;
      }
    }
    // Call generations start at 1 so that a completion word (0) never matches a fresh call.
    for (let c = 0; c < this.P * this.K; c++) I[this.crec(c) + C_GEN] = 1;
  }

  // ------------------------------------------------------------------ addressing
  pw(slot: number): number {
    return this.L.peerBase + slot * P_WORDS;
  }
  pf(slot: number): number {
    return this.L.fPeerBase + slot * PF_WORDS;
  }
  hrec(r: number): number {
    return this.L.handleBase + r * H_WORDS;
  }
  hf(r: number): number {
    return this.L.fHandleBase + r * HF_WORDS;
  }
  nrec(n: number): number {
    return this.L.nodeBase + n * N_WORDS;
  }
  nf(n: number): number {
    return this.L.fNodeBase + n * NF_WORDS;
  }
  crec(c: number): number {
    return this.L.callBase + c * this.L.callWords;
  }
  cf(c: number): number {
    return this.L.fCallBase + c * this.L.callFWords;
  }
  /** The completion word of call slot c (a cache line of its own). */
  callDoneIndex(c: number): number {
    return this.L.doneBase + c * DONE_STRIDE;
  }
  erec(slot: number, e: number): number {
    return this.L.entryBase + (slot * this.E + e) * this.L.entryWords;
  }
  ef(slot: number, e: number): number {
    return this.L.fEntryBase + (slot * this.E + e) * EF_WORDS;
  }
  qrec(dest: number, sender: number): number {
    return this.L.quotaBase + (dest * this.P + sender) * Q_WORDS;
  }
  ringBase(slot: number): number {
    return this.L.queueBytesBase + slot * this.QB;
  }
  mbrec(slot: number): number {
    return this.L.mbBase + slot * this.L.mbWords;
  }
  /** f64 index of mailbox slot's f64 fields (on the block's first line, DESIGN.md). */
  mbf(slot: number): number {
    return (this.mbrec(slot) + MB_F64) >> 1;
  }
  /** Byte offset of mailbox slot's payload. */
  mbBytes(slot: number): number {
    return (this.mbrec(slot) + this.L.mbPayloadAt) << 2;
  }
  replyBase(c: number): number {
    return this.L.replyBytesBase + c * this.replyStride;
  }

  // ------------------------------------------------------------------ undo journal
  private useArea(a: number): void {
    const j = L.journalArea(this.L, a);
    this.jArea = a;
    this.jI = j.i;
    this.jF = j.f;
    this.jCap = j.entries;
  }

  /** This thread's area is full: move the operation's journal to the shared area and go on there. */
  private growJournal(): void {
    if (this.jArea === this.sharedArea) throw new Error('shm bus: undo journal overflow');
    const I = this.I,
      F = this.F,
      n = this.jn;
    const fromI = this.jI,
      fromF = this.jF;
    const to = L.journalArea(this.L, this.sharedArea);
    for (let k = 0; k < 2 * n; k++) I[to.i + JOURNAL_AREA_HEADER + k] = I[fromI + JOURNAL_AREA_HEADER + k];
    for (let k = 0; k < n; k++) F[to.f + k] = F[fromF + k];
    I[to.i] = n; // from here on a recovery finds the operation's whole journal in the shared area
    I[HDR_JAREA] = this.ownArea; // (who is using it: for diagnostics)
    I[fromI] = 0;
    this.useArea(this.sharedArea);
  }

  /** A journaled i32 write (DESIGN.md: crash safety). */
  w(i: number, v: number): void {
    const I = this.I;
    if (this.jn >= this.jCap) this.growJournal();
    const n = this.jn;
    const j = this.jI + JOURNAL_AREA_HEADER + 2 * n;
    I[j] = i;
    I[j + 1] = I[i];
    this.jn = n + 1;
    I[this.jI] = n + 1;
    I[i] = v;
  }

  /** A journaled i32 write that is also a sequentially consistent store (it publishes something read without the lock). */
  wa(i: number, v: number): void {
    const I = this.I;
    if (this.jn >= this.jCap) this.growJournal();
    const n = this.jn;
    const j = this.jI + JOURNAL_AREA_HEADER + 2 * n;
    I[j] = i;
    I[j + 1] = I[i];
    this.jn = n + 1;
    I[this.jI] = n + 1;
    Atomics.store(I, i, v);
  }

  /** A journaled f64 write. */
  wf(i: number, v: number): void {
    const I = this.I;
    if (this.jn >= this.jCap) this.growJournal();
    const n = this.jn;
    this.F[this.jF + n] = this.F[i];
    I[this.jI + JOURNAL_AREA_HEADER + 2 * n] = -(i + 1);
    this.jn = n + 1;
    I[this.jI] = n + 1;
    this.F[i] = v;
  }

  /** Undo every journaled write of the interrupted operation in journal area `a`, newest first. */
  private rollbackArea(a: number): number {
    const I = this.I,
      F = this.F;
    const j = L.journalArea(this.L, a);
    const n = I[j.i];
    for (let k = n - 1; k >= 0; k--) {
      const e = j.i + JOURNAL_AREA_HEADER + 2 * k;
      const idx = I[e];
      if (idx >= 0) I[idx] = I[e + 1];
      else F[-idx - 1] = F[j.f + k];
    }
    I[j.i] = 0;
    return n;
  }

  // ------------------------------------------------------------------ the bus lock
  lock(): void {
    if (Atomics.compareExchange(this.I, HDR_LOCK, 0, this.token) !== 0) this.lockSlow();
  }

  private lockSlow(): void {
    const I = this.I;
    this.lockContended++;
    const t0 = performance.now();
    for (let i = 1; ; i++) {
      if (Atomics.load(I, HDR_LOCK) === 0 && Atomics.compareExchange(I, HDR_LOCK, 0, this.token) === 0) return;
      if ((i & 63) === 0 && performance.now() - t0 > this.spinLockMs) break;
    }
    Atomics.add(I, HDR_LOCK_WAITERS, 1);
    try {
      for (;;) {
        const v = Atomics.compareExchange(I, HDR_LOCK, 0, this.token);
        if (v === 0) return;
        if (v === this.token) throw new Error('shm bus: the bus lock is not re-entrant');
        // A bounded wait: a holder that died between unlocking and notifying cannot strand us.
        Atomics.wait(I, HDR_LOCK, v, 20);
      }
    } finally {
      Atomics.sub(I, HDR_LOCK_WAITERS, 1);
    }
  }

  /**
   * Take the lock from a dead thread (or normally), rolling back what it left half done: its own
   * journal area (`deadArea`) and the shared one (non-empty only if it had moved there; never
   * both, as the move empties the own area after filling the shared one).
   */
  lockStealing(deadToken: number, deadArea: number): number {
    const I = this.I;
    for (;;) {
      const v = Atomics.compareExchange(I, HDR_LOCK, deadToken, this.token);
      if (v === deadToken) return this.rollbackArea(this.sharedArea) + this.rollbackArea(deadArea);
      if (v === 0) {
        this.lock();
        return 0;
      }
      Atomics.wait(I, HDR_LOCK, v, 5);
    }
  }

  /** Commit (the journal is emptied), release, then publish outcomes and wake whoever sleeps. */
  unlock(): void {
    const I = this.I;
    if (this.jn > 0) {
      I[this.jI] = 0;
      this.jn = 0;
    }
    if (this.jArea !== this.ownArea) {
      I[HDR_JAREA] = 0;
      this.useArea(this.ownArea);
    }
    Atomics.store(I, HDR_LOCK, 0);
    if (Atomics.load(I, HDR_LOCK_WAITERS) !== 0) Atomics.notify(I, HDR_LOCK, 1);
    if (this.nwake + this.nroom + this.ndone + this.nmb > 0) this.flushWakes();
  }

  /** Leave after an exception: undo the partial operation (ATOMIC-1), then unlock. */
  abort(): void {
    this.rollbackArea(this.jArea);
    this.jn = 0;
    for (let i = 0; i < this.nwake; i++) this.wakeFlag[this.wakeList[i]] = 0;
    for (let i = 0; i < this.nroom; i++) this.roomFlag[this.roomList[i]] = 0;
    this.nwake = 0;
    this.nroom = 0;
    this.ndone = 0;
    this.nmb = 0;
    this.unlock();
  }

  private wake(slot: number): void {
    if (this.wakeFlag[slot] === 0) {
      this.wakeFlag[slot] = 1;
      this.wakeList[this.nwake++] = slot;
    }
  }

  private roomFreed(slot: number): void {
    if (this.roomFlag[slot] === 0) {
      this.roomFlag[slot] = 1;
      this.roomList[this.nroom++] = slot;
    }
  }

  /**
   * After the commit: publish what the hold did. An enqueue bumps the receiver's wake word (the
   * word a receiver spins and sleeps on) if a receiver waits (P_WAITING, set by the receiver
   * before it re-checks its queue), and every freed room bumps the queue's room word;
   * a call's outcome is its completion word (the caller spins on it), and bumps the caller's wake
   * word only when the caller sleeps. Publishers only read the sleeper counts (issue fact 3:
   * only a waiter changes its own count); a waiter increments its count before re-checking, and
   * all of these are SC atomics, so either the waiter sees the change or the publisher the sleeper.
   */
  private flushWakes(): void {
    const I = this.I;
    for (let i = 0; i < this.ndone; i++) {
      const c = this.doneCall[i];
      Atomics.store(I, this.callDoneIndex(c), this.doneGen[i]);
      const p = this.pw(I[this.crec(c) + C_CALLER]);
      if (Atomics.load(I, p + P_SLEEP) !== 0) {
        Atomics.add(I, p + P_WAKE, 1);
        Atomics.notify(I, p + P_WAKE);
      }
    }
    this.ndone = 0;
    // Filled mailboxes: their registration number. The receiver (awaitHandOff) checks the ready word
    // after announcing itself in P_SLEEP and before sleeping, so the wake word needs a bump (and a
    // notify) only when it sleeps: store, then read the count, both SC (the lost-wakeup rule above).
    for (let i = 0; i < this.nmb; i++) {
      const p = this.pw(this.mbDest[i]);
      Atomics.store(I, p + P_MBREADY, this.mbReg[i]);
      if (Atomics.load(I, p + P_SLEEP) !== 0) {
        Atomics.add(I, p + P_WAKE, 1);
        Atomics.notify(I, p + P_WAKE);
      }
    }
    this.nmb = 0;
    for (let i = 0; i < this.nwake; i++) {
      const slot = this.wakeList[i];
      this.wakeFlag[slot] = 0;
      const p = this.pw(slot);
      // A busy receiver is not waiting: leave its wake line alone (no transfer per message).
      if (Atomics.load(I, p + P_WAITING) === 0) continue;
      Atomics.add(I, p + P_WAKE, 1);
      if (Atomics.load(I, p + P_SLEEP) !== 0) Atomics.notify(I, p + P_WAKE);
    }
    this.nwake = 0;
    for (let i = 0; i < this.nroom; i++) {
      const slot = this.roomList[i];
      this.roomFlag[slot] = 0;
      const p = this.pw(slot);
      Atomics.add(I, p + P_ROOM, 1);
      if (Atomics.load(I, p + P_ROOM_WAITERS) !== 0) Atomics.notify(I, p + P_ROOM);
    }
    this.nroom = 0;
  }

  // ------------------------------------------------------------------ peers and handles
  peerOpen(slot: number, id: number): boolean {
    const p = this.pw(slot);
    return this.I[p + P_ID] === id && this.I[p + P_STATUS] === 1;
  }

  /** HANDLE-2/3: a name resolves only in its own table, only while issued. */
  lookup(slot: number, name: number): number {
    const H = this.H;
    let t: number, gen: number;
    if ((name | 0) === name && name >= 0) {
      // small-integer names: integer arithmetic (no division when H is a power of 2)
      if (this.hShift >= 0) {
        t = name & (H - 1);
        gen = name >>> this.hShift;
      } else {
        t = name % H;
        gen = ((name - t) / H) | 0;
      }
    } else if (isName(name)) {
      t = name % H;
      gen = (name - t) / H;
    } else return NONE;
    const r = slot * H + t;
    const h = this.hrec(r);
    return this.I[h + H_GEN] === gen && this.I[h + H_STATE] === 2 ? r : NONE;
  }

  nameOf(r: number): number {
    return this.I[this.hrec(r) + H_GEN] * this.H + (r % this.H);
  }

  private allocSlot(slot: number): number {
    const I = this.I,
      p = this.pw(slot);
    const t = I[p + P_FREE];
    if (t === NONE) throw new Error('shm bus: handle table overflow (a room check was missed)');
    const r = slot * this.H + t;
    const h = this.hrec(r);
    this.w(p + P_FREE, I[h + H_NEXTFREE]);
    this.w(p + P_USED, I[p + P_USED] + 1);
    this.w(h + H_STATE, 1);
    I[h + H_NOTICE] = 0; // fields of a record just allocated are written plainly (see the top)
    return r;
  }

  private freeSlot(r: number): void {
    const I = this.I,
      h = this.hrec(r);
    const slot = (r / this.H) | 0;
    const p = this.pw(slot);
    this.w(h + H_STATE, 0);
    this.w(h + H_GEN, I[h + H_GEN] + 1); // the name never resolves again (RELEASE-1)
    if (I[h + H_NOTICE] !== 0) this.w(h + H_NOTICE, 0);
    this.w(h + H_NEXTFREE, I[p + P_FREE]);
    this.w(p + P_FREE, r % this.H);
    this.w(p + P_USED, I[p + P_USED] - 1);
  }

  /** Give a handle its name in its table (HANDLE-2), in placement order (CLOSE-3). */
  private place(r: number): number {
    const slot = (r / this.H) | 0;
    const pf = this.pf(slot);
    const placed = this.F[pf + PF_PLACE] + 1;
    this.F[pf + PF_PLACE] = placed; // an order counter: only needs to grow
    this.F[this.L.fPlacedBase + r] = placed; // read only while the handle is named
    this.w(this.hrec(r) + H_STATE, 2);
    return this.nameOf(r);
  }

  /** Handle creation order (NOTICE-5): an order counter, written plainly. */
  private nextHandleSeq(): number {
    const i = this.L.fHeader + FH_HANDLE_SEQ;
    const v = this.F[i] + 1;
    this.F[i] = v;
    return v;
  }

  /** Make `child` the first child of `parent`; `fresh`: child was just allocated (its own fields plain). */
  private linkChild(parent: number, child: number, fresh: boolean): void {
    const I = this.I,
      ph = this.hrec(parent),
      ch = this.hrec(child);
    const first = I[ph + H_CHILD];
    if (fresh) {
      I[ch + H_PARENT] = parent;
      I[ch + H_PREV] = NONE;
      I[ch + H_NEXT] = first;
    } else {
      this.w(ch + H_PARENT, parent);
      this.w(ch + H_PREV, NONE);
      this.w(ch + H_NEXT, first);
    }
    if (first !== NONE) this.w(this.hrec(first) + H_PREV, child);
    this.w(ph + H_CHILD, child);
  }

  /** Take a handle out of the derivation tree before it is retired; its children re-attach to its parent (RELEASE-2). */
  private unlinkTree(r: number): void {
    const I = this.I,
      h = this.hrec(r);
    const parent = I[h + H_PARENT];
    // detach r from its siblings
    const prev = I[h + H_PREV],
      next = I[h + H_NEXT];
    if (prev !== NONE) this.w(this.hrec(prev) + H_NEXT, next);
    else if (parent !== NONE) this.w(this.hrec(parent) + H_CHILD, next);
    if (next !== NONE) this.w(this.hrec(next) + H_PREV, prev);
    // children move up
    let c = I[h + H_CHILD];
    while (c !== NONE) {
      const after = I[this.hrec(c) + H_NEXT];
      if (parent !== NONE) this.linkChild(parent, c, false);
      else {
        const ch = this.hrec(c);
        this.w(ch + H_PARENT, NONE);
        this.w(ch + H_PREV, NONE);
        this.w(ch + H_NEXT, NONE);
      }
      c = after;
    }
    // r's own links are left as they are: every caller retires r (freed, or held by a notice,
    // where nothing follows them), and the next allocation of its slot sets them again.
  }

  /** A new node handle derived from `parent` (MINT-1, SEND-4, BUS-3), named or in flight. */
  private derive(parent: number, dest: number, mask: number, badge: number, named: boolean): number {
    const I = this.I,
      ph = this.hrec(parent);
    const node = I[ph + H_NODE];
    const r = this.allocSlot(dest);
    const h = this.hrec(r);
    I[h + H_KIND] = KIND_NODE;
    I[h + H_STATUS] = ST_LIVE;
    I[h + H_NODE] = node;
    I[h + H_RIGHTS] = mask;
    I[h + H_ROOT] = 0;
    I[h + H_CHILD] = NONE;
    this.linkChild(parent, r, true);
    const hf = this.hf(r),
      F = this.F;
    F[hf + HF_BADGE] = badge;
    F[hf + HF_CREATED] = this.nextHandleSeq();
    const n = this.nrec(node),
      nf = this.nf(node);
    this.wf(nf + NF_DERIVED, this.F[nf + NF_DERIVED] + 1);
    this.w(n + N_SENDERS, I[n + N_SENDERS] + 1);
    if (named) this.place(r);
    return r;
  }

  /**
   * NOTICE-2: a live non-root handle stopped counting as a sender. At most one no-senders notice
   * per node waits in the owner's queue: a new fall to zero while one waits updates its
   * derivedCount in place, keeping its place in the order.
   */
  private senderGone(r: number): void {
    const I = this.I,
      h = this.hrec(r);
    if (I[h + H_KIND] !== KIND_NODE || I[h + H_ROOT] === 1) return;
    const node = I[h + H_NODE],
      n = this.nrec(node);
    if (I[n + N_STATE] !== 1) return;
    const left = I[n + N_SENDERS] - 1;
    this.w(n + N_SENDERS, left);
    if (left !== 0) return;
    const nf = this.nf(node);
    if (I[n + N_NSWAIT] === 1) this.wf(nf + NF_NSDERIVED, this.F[nf + NF_DERIVED]);
    else this.noSendersNotice(node);
  }

  /** RELEASE-1..3, CALL-4: drop a handle wherever it is (table or flight). */
  private release(r: number): void {
    const I = this.I,
      h = this.hrec(r);
    if (I[h + H_KIND] === KIND_REPLY) {
      const c = I[h + H_CALL];
      this.freeSlot(r);
      const cr = this.crec(c);
      this.w(cr + C_REPLY, NONE);
      if (I[cr + C_STATE] === 1) this.resolveCall(c, NO_REPLY);
      else this.freeCallIfDone(c);
      return;
    }
    this.unlinkTree(r);
    if (I[h + H_ROOT] === 1) this.w(this.nrec(I[h + H_NODE]) + N_ROOT, NONE);
    if (I[h + H_STATUS] === ST_LIVE) this.senderGone(r);
    // NOTICE-4: the notice still waiting about this handle keeps its slot until received.
    if (I[h + H_NOTICE] === 1) this.w(h + H_STATE, 3);
    else this.freeSlot(r);
  }

  // ------------------------------------------------------------------ calls
  private freeCallIfDone(c: number): void {
    const I = this.I,
      cr = this.crec(c);
    if (I[cr + C_STATE] === 2 && I[cr + C_CALLER_HOLDS] === 0 && I[cr + C_REPLY] === NONE) {
      this.w(cr + C_STATE, 0);
      this.w(cr + C_GEN, I[cr + C_GEN] + 1);
    }
  }

  /** CALL-2: the one outcome of a call; its caller sees it (completion word) once this hold committed. */
  private resolveCall(c: number, outcome: number): void {
    const I = this.I,
      cr = this.crec(c);
    this.w(cr + C_STATE, 2);
    this.w(cr + C_OUTCOME, outcome);
    this.doneCall[this.ndone] = c;
    this.doneGen[this.ndone++] = I[cr + C_GEN];
    if (this.localCalls.size === 0) return;
    const lp = this.localCalls.get(c);
    if (lp !== undefined && lp.callGen === I[cr + C_GEN]) {
      this.localCalls.delete(c);
      this.removeLocal(lp);
      this.pushCompletion(lp, this.callResult(c));
      this.w(cr + C_CALLER_HOLDS, 0);
      this.freeCallIfDone(c);
    }
  }

  /** The caller's view of a resolved call: the reply delivery or the error. */
  callResult(c: number): Result {
    const I = this.I,
      cr = this.crec(c);
    const outcome = I[cr + C_OUTCOME];
    if (outcome !== 0) return { ok: false, error: CODES[outcome] as ErrorCode };
    const bytes = I[cr + C_RBYTES];
    const base = this.replyBase(c);
    const payload = Buffer.from(this.B.slice(base, base + bytes)).toString('base64');
    const handles: ReceivedHandle[] = [];
    const cf = this.cf(c);
    for (let i = 0; i < I[cr + C_RNH]; i++) {
      const k = I[cr + C_RHANDLES + 3 * i],
        rights = I[cr + C_RHANDLES + 3 * i + 1];
      handles.push({
        name: this.F[cf + CF_NAMES + i],
        kind: k === KIND_REPLY ? 'reply' : 'node',
        rights: rightsArray(rights),
        state: 'live',
      });
    }
    const reply: ReplyDelivery = { kind: 'reply', payload, handles };
    return { ok: true, value: { reply } };
  }

  /** The caller collected its outcome (sync flavour); frees the call slot once nothing refers to it. */
  collectCall(c: number): void {
    this.w(this.crec(c) + C_CALLER_HOLDS, 0);
    this.freeCallIfDone(c);
  }

  pushCompletion(lp: LocalPending, result: Result): void {
    if (this.collect) this.completions.push({ ticket: lp.ticket, peer: lp.peerId, op: lp.kind, result });
    else (lp as LocalPending & { done?: Result }).done = result;
  }

  removeLocal(lp: LocalPending): void {
    const i = this.local.indexOf(lp);
    if (i >= 0) this.local.splice(i, 1);
  }

  // ------------------------------------------------------------------ queues
  private reserveEntry(dest: number): number {
    const I = this.I,
      p = this.pw(dest);
    const count = I[p + P_QCOUNT];
    if (count >= this.E) throw new Error('shm bus: receive queue entry ring full (a room check was missed, NOTICE-4)');
    const e = I[p + P_QHEAD] + count;
    return e >= this.E ? e - this.E : e;
  }

  /** The bus-wide order (ORDER-1): an order counter, written plainly. */
  private nextSeq(): number {
    const seqI = this.L.fHeader + FH_SEQ;
    const seq = this.F[seqI] + 1;
    this.F[seqI] = seq;
    return seq;
  }

  /** ORDER-1: the entry takes its place in the bus order; the receiver is woken after the commit. */
  private publishEntry(dest: number, e: number, bytes: number, message: boolean): void {
    const I = this.I,
      p = this.pw(dest);
    this.F[this.ef(dest, e) + EF_SEQ] = this.nextSeq();
    if (message) {
      this.w(p + P_QMSGS, I[p + P_QMSGS] + 1);
      if (bytes > 0) {
        this.w(p + P_QBYTES, I[p + P_QBYTES] + bytes);
        this.w(p + P_BUSED, I[p + P_BUSED] + slotBytes(bytes));
      }
    }
    this.wa(p + P_QCOUNT, I[p + P_QCOUNT] + 1); // the word a spinning receiver watches
    this.wake(dest);
  }

  /** REVOKE-2, DESTROY-2: a state notice about table handle r, to its holder; it holds r's slot (NOTICE-4). */
  private stateNotice(r: number, type: number): void {
    const dest = (r / this.H) | 0;
    if (this.I[this.pw(dest) + P_STATUS] !== 1) return;
    const e = this.reserveEntry(dest);
    const er = this.erec(dest, e),
      ef = this.ef(dest, e);
    const I = this.I;
    I[er + E_KIND] = ENTRY_NOTICE;
    I[er + E_NTYPE] = type;
    I[er + E_BYTES] = 0;
    I[er + E_PHYS] = 0;
    I[er + E_NH] = 0;
    I[er + E_REPLY] = r;
    this.F[ef + EF_NAME] = this.nameOf(r);
    this.F[ef + EF_BADGE] = 0;
    this.w(this.hrec(r) + H_NOTICE, 1);
    this.publishEntry(dest, e, 0, false);
  }

  /** NOTICE-2: a no-senders notice, kept in the node record, at the tail of the owner's list. */
  private noSendersNotice(node: number): void {
    const I = this.I,
      n = this.nrec(node),
      nf = this.nf(node);
    const owner = I[n + N_OWNER],
      p = this.pw(owner);
    if (I[p + P_STATUS] !== 1) return;
    this.wf(nf + NF_NSSEQ, this.nextSeq());
    this.wf(nf + NF_NSDERIVED, this.F[nf + NF_DERIVED]);
    this.w(n + N_NSWAIT, 1);
    this.w(n + N_NSNEXT, NONE);
    const tail = I[p + P_NSTAIL];
    if (tail === NONE) this.w(p + P_NSHEAD, node);
    else this.w(this.nrec(tail) + N_NSNEXT, node);
    this.w(p + P_NSTAIL, node);
    this.wa(p + P_NSCOUNT, I[p + P_NSCOUNT] + 1);
    this.wake(owner);
  }

  /** QUOTA-1: 0 when there is room; 1 for capacity, 2 for the sender's quota. */
  roomFor(dest: number, sender: number, senderId: number, messages: number, bytes: number): number {
    const I = this.I,
      p = this.pw(dest),
      lim = this.L.limits;
    if (I[p + P_QMSGS] + messages > lim.queueCapacityMessages || I[p + P_QBYTES] + bytes > lim.queueCapacityBytes)
      return 1;
    const q = this.qrec(dest, sender);
    if (I[q + Q_ID] !== senderId) return messages > lim.senderQuotaMessages || bytes > lim.senderQuotaBytes ? 2 : 0;
    if (I[q + Q_MSGS] + messages > lim.senderQuotaMessages || I[q + Q_BYTES] + bytes > lim.senderQuotaBytes) return 2;
    return 0;
  }

  private quotaAdd(dest: number, sender: number, senderId: number, bytes: number): void {
    const I = this.I,
      q = this.qrec(dest, sender);
    if (I[q + Q_ID] !== senderId) {
      this.w(q + Q_ID, senderId);
      this.w(q + Q_MSGS, 0);
      this.w(q + Q_BYTES, 0);
    }
    this.w(q + Q_MSGS, I[q + Q_MSGS] + 1);
    if (bytes > 0) this.w(q + Q_BYTES, I[q + Q_BYTES] + bytes);
  }

  private quotaSub(dest: number, sender: number, senderId: number, bytes: number): void {
    const I = this.I,
      q = this.qrec(dest, sender);
    if (I[q + Q_ID] !== senderId) return; // that sender closed and its slot has a new peer
    this.w(q + Q_MSGS, I[q + Q_MSGS] - 1);
    if (bytes > 0) this.w(q + Q_BYTES, I[q + Q_BYTES] - bytes);
  }

  /** Copy the staged segments into a queue's byte ring at its tail (the one copy, SEND-2); `ahead`: bytes already taken past the tail. */
  private copyIn(dest: number, ahead = 0): number {
    const I = this.I,
      p = this.pw(dest),
      QB = this.QB;
    let off = I[p + P_BHEAD] + I[p + P_BUSED] + ahead;
    while (off >= QB) off -= QB;
    const base = this.ringBase(dest),
      B = this.B;
    let at = off;
    for (let s = 0; s < this.nsegs; s++) {
      const seg = this.segs[s];
      const n = seg.length;
      if (n === 0) continue;
      if (QB - at >= n) {
        // TypedArray.set: a memcpy, several times faster than a JS loop even for 64 B
        B.set(seg, base + at);
        at += n;
        if (at === QB) at = 0;
      } else {
        const first = QB - at;
        B.set(seg.subarray(0, first), base + at);
        B.set(seg.subarray(first), base);
        at = n - first;
      }
    }
    return off;
  }

  /** Copy a queued payload (4-aligned offset `off`) out of the ring into `dst` at `dstOff`; word copies when `dstWords` is given and dstOff is 4-aligned. */
  copyOut(
    slot: number,
    off: number,
    n: number,
    dst: Uint8Array,
    dstOff: number,
    dstWords: Int32Array | null = null,
  ): void {
    const base = this.ringBase(slot),
      QB = this.QB;
    const first = QB - off < n ? QB - off : n;
    if (dstWords !== null && n <= 512 && (dstOff & 3) === 0) {
      // 4-aligned on both sides; the padding words of the ring slot fit in dst's (4-aligned) room
      const I = this.I;
      let from = (base + off) >> 2,
        to = dstOff >> 2;
      const w1 = (first + 3) >> 2;
      for (let k = 0; k < w1; k++) dstWords[to + k] = I[from + k];
      if (first < n) {
        from = base >> 2;
        to += first >> 2;
        const w2 = (n - first + 3) >> 2;
        for (let k = 0; k < w2; k++) dstWords[to + k] = I[from + k];
      }
      return;
    }
    const B = this.B;
    dst.set(B.subarray(base + off, base + off + first), dstOff);
    if (first < n) dst.set(B.subarray(base, base + n - first), dstOff + first);
  }

  /** The bytes the receiver held in views since its last receive go back to the ring. */
  private releaseHeld(slot: number): void {
    const I = this.I,
      p = this.pw(slot);
    const held = I[p + P_BHELD];
    if (held === 0) return;
    let bh = I[p + P_BHEAD] + held;
    if (bh >= this.QB) bh -= this.QB;
    this.w(p + P_BHEAD, bh);
    this.w(p + P_BUSED, I[p + P_BUSED] - held);
    this.w(p + P_BHELD, 0);
  }

  /** Take the oldest no-senders notice (into nsName / nsDerived); its node is live (DESTROY-3 discards a destroyed node's). */
  private popNoSenders(slot: number): void {
    const I = this.I,
      p = this.pw(slot);
    const node = I[p + P_NSHEAD],
      n = this.nrec(node),
      nf = this.nf(node);
    this.nsName = this.F[nf + NF_NAME];
    this.nsDerived = this.F[nf + NF_NSDERIVED];
    const next = I[n + N_NSNEXT];
    this.w(p + P_NSHEAD, next);
    if (next === NONE) this.w(p + P_NSTAIL, NONE);
    this.w(p + P_NSCOUNT, I[p + P_NSCOUNT] - 1);
    this.w(n + N_NSWAIT, 0);
    this.w(n + N_NSNEXT, NONE);
  }

  private freeNode(node: number): void {
    const n = this.nrec(node);
    this.w(n + N_STATE, 0);
    this.w(n + N_NEXTFREE, this.I[HDR_NODE_FREE]);
    this.w(HDR_NODE_FREE, node);
  }

  /** A state notice leaves the queue (received or discarded): a released handle's slot is free now (NOTICE-4). */
  private noticeGone(r: number): void {
    const h = this.hrec(r);
    if (this.I[h + H_STATE] === 3) this.freeSlot(r);
    else this.w(h + H_NOTICE, 0);
  }

  private arrive(r: number): void {
    const I = this.I,
      h = this.hrec(r),
      i = this.arrCount++;
    const kind = I[h + H_KIND];
    this.arrKind[i] = kind;
    this.arrRights[i] = kind === KIND_REPLY ? 0 : I[h + H_RIGHTS];
    const st = kind === KIND_REPLY ? ST_LIVE : I[h + H_STATUS];
    this.arrState[i] = st;
    if (st === ST_LIVE) this.arrName[i] = this.place(r);
    else {
      this.arrName[i] = -1;
      this.unlinkTree(r);
      this.freeSlot(r);
    }
  }

  /** Remove queued entries to `node` from the owner's queue, keeping the others in order (DESTROY-3). */
  private discardNodeEntries(slot: number, node: number): void {
    const I = this.I,
      F = this.F,
      p = this.pw(slot),
      E = this.E,
      ew = this.L.entryWords;
    const count = I[p + P_QCOUNT];
    if (count === 0) return;
    let any = false;
    const head = I[p + P_QHEAD];
    for (let i = 0; i < count; i++) {
      const er = this.erec(slot, (head + i) % E);
      if (I[er + E_KIND] !== ENTRY_NOTICE && I[er + E_NODE] === node) {
        any = true;
        break;
      }
    }
    if (!any) return;
    // Snapshot the entries and payloads, then rewrite the kept ones compactly (cold path).
    const keptI: Int32Array[] = [],
      keptF: Float64Array[] = [],
      keptBytes: Uint8Array[] = [],
      dropped: number[] = [];
    for (let i = 0; i < count; i++) {
      const e = (head + i) % E;
      const er = this.erec(slot, e),
        ef = this.ef(slot, e);
      if (I[er + E_KIND] !== ENTRY_NOTICE && I[er + E_NODE] === node) {
        dropped.push(e);
        continue;
      }
      keptI.push(I.slice(er, er + ew));
      keptF.push(F.slice(ef, ef + EF_WORDS));
      const n = I[er + E_KIND] === ENTRY_NOTICE ? 0 : I[er + E_BYTES];
      const b = new Uint8Array(n);
      if (n > 0) this.copyOut(slot, I[er + E_OFF], n, b, 0);
      keptBytes.push(b);
    }
    const droppedInfo = dropped.map((e) => {
      const er = this.erec(slot, e);
      return {
        sender: I[er + E_SENDER],
        senderId: I[er + E_SENDER_ID],
        bytes: I[er + E_BYTES],
        handles: I.slice(er + E_HANDLES, er + E_HANDLES + I[er + E_NH]),
        kind: I[er + E_KIND],
        reply: I[er + E_REPLY],
      };
    });
    // Payloads held by the receiver's views stay where they are; the kept ones follow them.
    const held = I[p + P_BHELD];
    let off = (I[p + P_BHEAD] + held) % this.QB;
    let msgs = 0,
      bytes = 0,
      phys = 0;
    for (let k = 0; k < keptI.length; k++) {
      const e = (head + k) % E;
      const er = this.erec(slot, e),
        ef = this.ef(slot, e);
      for (let j = 0; j < ew; j++) this.w(er + j, keptI[k][j]);
      for (let j = 0; j < EF_WORDS; j++) this.wf(ef + j, keptF[k][j]);
      const n = keptBytes[k].length;
      if (keptI[k][E_KIND] !== ENTRY_NOTICE) {
        msgs++;
        bytes += n;
        phys += slotBytes(n);
        this.w(er + E_OFF, off);
        this.w(er + E_PHYS, slotBytes(n)); // a kept copy of a multicast gets bytes of its own
        const base = this.ringBase(slot);
        const first = Math.min(n, this.QB - off);
        this.B.set(keptBytes[k].subarray(0, first), base + off);
        if (first < n) this.B.set(keptBytes[k].subarray(first), base);
        off = (off + slotBytes(n)) % this.QB;
      }
    }
    this.wa(p + P_QCOUNT, keptI.length);
    this.w(p + P_QMSGS, msgs);
    this.w(p + P_QBYTES, bytes);
    this.w(p + P_BUSED, held + phys);
    for (const d of droppedInfo) this.quotaSub(slot, d.sender, d.senderId, d.bytes);
    this.roomFreed(slot);
    for (const d of droppedInfo) {
      for (const r of d.handles) this.release(r);
      if (d.kind === ENTRY_CALL) this.release(d.reply);
    }
  }

  // ------------------------------------------------------------------ node death
  /** DESTROY-2..4 for one node; `consumed` is the handle destroyNode used, or NONE. */
  private destroy(node: number, consumed: number): void {
    const I = this.I,
      F = this.F,
      n = this.nrec(node);
    const owner = I[n + N_OWNER];
    this.w(n + N_STATE, 2);
    // DESTROY-4: pending calls (and the runner's blocked sends) to the node fail DEAD, in ticket order.
    const dying: { ticket: number; call: number; lp: LocalPending | null }[] = [];
    const calls = this.P * this.K;
    for (let c = 0; c < calls; c++) {
      const cr = this.crec(c);
      if (I[cr + C_STATE] === 1 && I[cr + C_NODE] === node)
        dying.push({ ticket: F[this.cf(c) + CF_TICKET], call: c, lp: null });
    }
    for (const lp of this.local) {
      if (lp.kind !== 'send') continue;
      const r = this.lookup(lp.slot, lp.handle);
      if (r !== NONE && I[this.hrec(r) + H_KIND] === KIND_NODE && I[this.hrec(r) + H_NODE] === node)
        dying.push({ ticket: lp.ticket, call: NONE, lp });
    }
    dying.sort((a, b) => a.ticket - b.ticket);
    for (const d of dying) {
      if (d.lp === null) this.resolveCall(d.call, DEAD);
      else {
        this.removeLocal(d.lp);
        this.pushCompletion(d.lp, { ok: false, error: 'DEAD' });
      }
    }
    // DESTROY-2: every other live handle dies; holders in tables get a notice (NOTICE-5 order).
    const affected: number[] = [];
    const total = this.P * this.H;
    for (let r = 0; r < total; r++) {
      const h = this.hrec(r);
      const st = I[h + H_STATE];
      if (
        (st === 1 || st === 2) &&
        I[h + H_KIND] === KIND_NODE &&
        I[h + H_NODE] === node &&
        I[h + H_STATUS] === ST_LIVE &&
        r !== consumed
      )
        affected.push(r);
    }
    affected.sort((a, b) => F[this.hf(a) + HF_CREATED] - F[this.hf(b) + HF_CREATED]);
    for (const r of affected) {
      const h = this.hrec(r);
      this.w(h + H_STATUS, ST_DEAD);
      if (I[h + H_STATE] === 2) this.stateNotice(r, NOTICE_DESTROYED);
    }
    if (consumed !== NONE) this.release(consumed);
    this.w(n + N_SENDERS, 0);
    // DESTROY-3: queued traffic to the node, and its waiting no-senders notice, are discarded.
    this.discardNodeEntries(owner, node);
    if (I[n + N_NSWAIT] === 1) this.unlinkNoSenders(owner, node);
    // No live handle, queued entry, pending call or waiting notice refers to the record now.
    this.freeNode(node);
  }

  /** DESTROY-3: take a node's waiting no-senders notice out of its owner's list (anywhere in it). */
  private unlinkNoSenders(owner: number, node: number): void {
    const I = this.I,
      p = this.pw(owner);
    let prev = NONE,
      cur = I[p + P_NSHEAD];
    while (cur !== node) {
      prev = cur;
      cur = I[this.nrec(cur) + N_NSNEXT];
    }
    const n = this.nrec(node),
      next = I[n + N_NSNEXT];
    if (prev === NONE) this.w(p + P_NSHEAD, next);
    else this.w(this.nrec(prev) + N_NSNEXT, next);
    if (I[p + P_NSTAIL] === node) this.w(p + P_NSTAIL, prev);
    this.wa(p + P_NSCOUNT, I[p + P_NSCOUNT] - 1);
    this.w(n + N_NSWAIT, 0);
    this.w(n + N_NSNEXT, NONE);
  }

  // ------------------------------------------------------------------ checks shared by send, call, reply, multicast
  /** SEND-4, SEND-6: every transfer in order. */
  private transferError(slot: number, allowReply: boolean): number {
    const I = this.I;
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      const r = this.lookup(slot, t.handle);
      if (r === NONE) return BAD_HANDLE;
      this.xferRec[i] = r; // the effects (carry, handOff, reply) use it in the same hold: no second lookup
      const h = this.hrec(r);
      if (I[h + H_KIND] === KIND_REPLY) {
        if (!allowReply || !t.move) return INVALID_ARGUMENT;
        continue;
      }
      if (I[h + H_STATUS] === ST_REVOKED) return REVOKED;
      if (I[h + H_STATUS] === ST_DEAD) return DEAD;
      if ((I[h + H_RIGHTS] & R_GRANT) === 0) return NO_RIGHTS;
      if (t.rights >= 0 && (t.rights & ~I[h + H_RIGHTS]) !== 0) return NO_RIGHTS;
    }
    return OK;
  }

  private stagedBytes(): number {
    let n = 0;
    for (let s = 0; s < this.nsegs; s++) n += this.segs[s].length;
    return n;
  }

  /** HANDLE-6: resolve a target to a usable handle of a kind. Returns record or -code. */
  private usable(slot: number, name: number, kind: number): number {
    const r = this.lookup(slot, name);
    if (r === NONE) return -BAD_HANDLE;
    const h = this.hrec(r),
      I = this.I;
    if (I[h + H_KIND] !== kind) return -WRONG_KIND;
    if (I[h + H_STATUS] === ST_REVOKED) return -REVOKED;
    if (I[h + H_STATUS] === ST_DEAD) return -DEAD;
    return r;
  }

  private tableRoom(slot: number, incoming: number): boolean {
    return incoming === 0 || this.I[this.pw(slot) + P_USED] + incoming <= this.H;
  }

  /**
   * Put a message's handles in flight to `dest` and enqueue it (post in the model); `reply`: a
   * call's reply handle record (in flight to dest), or NONE. Returns the entry index, or -1 when
   * the message was handed off to dest's registered mailbox instead (DESIGN.md: hand-off).
   */
  private post(slot: number, peerId: number, target: number, kind: number, bytes: number, reply: number): number {
    const I = this.I,
      F = this.F,
      th = this.hrec(target);
    const node = I[th + H_NODE],
      n = this.nrec(node);
    const dest = I[n + N_OWNER],
      p = this.pw(dest);
    if (
      I[this.mbrec(dest) + MB_STATE] === 1 &&
      I[p + P_QCOUNT] === 0 &&
      I[p + P_NSCOUNT] === 0 &&
      bytes <= this.L.mbPayload
    ) {
      this.handOff(slot, target, kind, bytes, dest, reply);
      return -1;
    }
    const e = this.reserveEntry(dest);
    const er = this.erec(dest, e),
      ef = this.ef(dest, e);
    I[er + E_KIND] = kind;
    I[er + E_SENDER] = slot;
    I[er + E_SENDER_ID] = peerId;
    I[er + E_NODE] = node;
    I[er + E_BYTES] = bytes;
    I[er + E_OFF] = bytes > 0 ? this.copyIn(dest) : 0;
    I[er + E_PHYS] = slotBytes(bytes);
    I[er + E_NH] = this.nxfers;
    I[er + E_REPLY] = reply;
    F[ef + EF_NAME] = F[this.nf(node) + NF_NAME];
    F[ef + EF_BADGE] = F[this.hf(target) + HF_BADGE];
    const cred = I[n + N_CRED];
    I[er + E_CRED] = cred;
    if (cred === 1) {
      // CRED-1: stamped by the bus
      const pf = this.pf(slot);
      F[ef + EF_UID] = F[pf + PF_UID];
      F[ef + EF_GID] = F[pf + PF_GID];
      F[ef + EF_PID] = F[pf + PF_PID];
    }
    if (this.nxfers > 0) this.carry(slot, dest, er);
    this.quotaAdd(dest, slot, peerId, bytes);
    this.publishEntry(dest, e, bytes, true);
    if (this.nxfers > 0) this.releaseMoved(slot);
    return e;
  }

  /**
   * Send and receive in one: the effects of post followed at once by dest's receive of that one
   * entry (RECV-1, RECV-3), for a receiver blocked with an empty queue and a registered mailbox.
   * Its place in the bus order is taken; the quota and queue counters it would add and remove
   * are left alone; handles are created named, in the order receive would place them, then the
   * reply handle. The receiver reads the mailbox once MB_READY shows this hold committed.
   */
  private handOff(slot: number, target: number, kind: number, bytes: number, dest: number, reply: number): void {
    const I = this.I,
      F = this.F,
      B = this.B,
      th = this.hrec(target);
    const node = I[th + H_NODE],
      n = this.nrec(node);
    const mb = this.mbrec(dest),
      mf = this.mbf(dest);
    // The mailbox is unpublished until MB_STATE (journaled) and MB_READY (after the commit): plain writes.
    I[mb + MB_KIND] = kind;
    I[mb + MB_LEN] = bytes;
    I[mb + MB_NH] = this.nxfers;
    let at = this.mbBytes(dest);
    for (let s = 0; s < this.nsegs; s++) {
      const seg = this.segs[s];
      B.set(seg, at);
      at += seg.length;
    }
    F[mf + MBF_NODE] = F[this.nf(node) + NF_NAME];
    F[mf + MBF_BADGE] = F[this.hf(target) + HF_BADGE];
    const cred = I[n + N_CRED];
    I[mb + MB_CRED] = cred;
    if (cred === 1) {
      // CRED-1
      const pf = this.pf(slot);
      F[mf + MBF_UID] = F[pf + PF_UID];
      F[mf + MBF_GID] = F[pf + PF_GID];
      F[mf + MBF_PID] = F[pf + PF_PID];
    }
    this.nextSeq(); // ORDER-1: its place in the bus order
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      const r = this.xferRec[i];
      const h = this.hrec(r);
      let nr: number;
      if (I[h + H_KIND] === KIND_REPLY)
        nr = this.moveReply(r, dest, true); // CALL-5
      else nr = this.derive(r, dest, t.rights >= 0 ? t.rights : I[h + H_RIGHTS], F[this.hf(r) + HF_BADGE], true);
      const nh = this.hrec(nr);
      I[mb + this.L.mbHandles + 3 * i] = I[nh + H_KIND];
      I[mb + this.L.mbHandles + 3 * i + 1] = I[nh + H_KIND] === KIND_REPLY ? 0 : I[nh + H_RIGHTS];
      I[mb + this.L.mbHandles + 3 * i + 2] = ST_LIVE;
      F[mf + MBF_NAMES + i] = this.nameOf(nr);
    }
    F[mf + MBF_REPLY] = reply === NONE ? -1 : this.place(reply);
    this.w(mb + MB_STATE, 2);
    this.mbDest[this.nmb] = dest;
    this.mbReg[this.nmb++] = I[mb + MB_REG];
    // No wake(dest): the ready word is the receiver's signal (flushWakes bumps the wake word only for a sleeper).
    if (this.nxfers > 0) this.releaseMoved(slot);
  }

  /**
   * A receiver about to block with an empty queue offers its mailbox for a hand-off. Returns
   * the registration number to wait for (MB_READY), or 0 when something is queued or it closed.
   */
  registerHandOff(slot: number): number {
    const I = this.I,
      p = this.pw(slot),
      mb = this.mbrec(slot);
    if (I[p + P_QCOUNT] + I[p + P_NSCOUNT] > 0 || I[p + P_STATUS] !== 1) return 0;
    const r = (I[mb + MB_REG] + 1) & 0x3fffffff || 1;
    this.w(mb + MB_REG, r);
    this.w(mb + MB_STATE, 1);
    return r;
  }

  /** Under the lock: whether registration `r` was filled (then read it into the batch), else withdraw it. */
  settleHandOff(slot: number, r: number, batch: ReceiveBatch, keep: boolean): number {
    const I = this.I,
      mb = this.mbrec(slot);
    if (I[mb + MB_REG] !== r) return 0;
    if (I[mb + MB_STATE] === 2) return this.readHandOff(slot, batch);
    if (I[mb + MB_STATE] === 1 && !keep) this.w(mb + MB_STATE, 0);
    return 0;
  }

  /** The delivery in a filled mailbox, into a batch (stable until this peer registers again). */
  readHandOff(slot: number, batch: ReceiveBatch): number {
    const I = this.I,
      F = this.F,
      mb = this.mbrec(slot),
      mf = this.mbf(slot);
    const bytes = I[mb + MB_LEN],
      nh = I[mb + MB_NH],
      kind = I[mb + MB_KIND];
    if (nh > batch.handleName.length) throw new RangeError('receive batch: no room for the handles of one delivery');
    batch.kind[0] = kind;
    batch.node[0] = F[mf + MBF_NODE];
    batch.badge[0] = F[mf + MBF_BADGE];
    batch.noticeType[0] = 0;
    batch.length[0] = bytes;
    batch.handleStart[0] = 0;
    batch.handleCount[0] = nh;
    batch.replyHandle[0] = kind === ENTRY_CALL ? F[mf + MBF_REPLY] : -1;
    const cred = I[mb + MB_CRED];
    batch.credentials[0] = cred;
    if (cred === 1) {
      batch.uid[0] = F[mf + MBF_UID];
      batch.gid[0] = F[mf + MBF_GID];
      batch.pid[0] = F[mf + MBF_PID];
    }
    for (let i = 0; i < nh; i++) {
      batch.handleName[i] = F[mf + MBF_NAMES + i];
      batch.handleKind[i] = I[mb + this.L.mbHandles + 3 * i];
      batch.handleRights[i] = I[mb + this.L.mbHandles + 3 * i + 1];
      batch.handleState[i] = ST_LIVE;
    }
    const base = this.mbBytes(slot);
    if (batch.views) {
      batch.buf[0] = this.B;
      batch.offset[0] = base;
      batch.dataUsed = 0;
    } else {
      if (bytes > batch.data.length) throw new RangeError('receive batch: data buffer smaller than one payload');
      batch.buf[0] = batch.data;
      batch.offset[0] = 0;
      const words = batch.dataWords,
        from = base >> 2,
        w = (bytes + 3) >> 2;
      if (w <= words.length) for (let k = 0; k < w; k++) words[k] = I[from + k];
      else batch.data.set(this.B.subarray(base, base + bytes));
      batch.dataUsed = bytes;
    }
    batch.count = 1;
    return 1;
  }

  private carry(slot: number, dest: number, er: number): void {
    const I = this.I;
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      const r = this.xferRec[i];
      const h = this.hrec(r);
      let carried: number;
      if (I[h + H_KIND] === KIND_REPLY)
        carried = this.moveReply(r, dest, false); // CALL-5
      else
        carried = this.derive(
          r,
          dest,
          t.rights >= 0 ? t.rights : I[h + H_RIGHTS],
          this.F[this.hf(r) + HF_BADGE],
          false,
        );
      I[er + E_HANDLES + i] = carried;
    }
  }

  /** CALL-5: a reply handle travels to another table, bound to the same call. */
  private moveReply(r: number, dest: number, named: boolean): number {
    const I = this.I,
      h = this.hrec(r);
    const nr = this.allocSlot(dest);
    const nh = this.hrec(nr);
    I[nh + H_KIND] = KIND_REPLY;
    I[nh + H_STATUS] = ST_LIVE;
    I[nh + H_CALL] = I[h + H_CALL];
    I[nh + H_CALLGEN] = I[h + H_CALLGEN];
    I[nh + H_PARENT] = NONE;
    I[nh + H_CHILD] = NONE;
    I[nh + H_NEXT] = NONE;
    I[nh + H_PREV] = NONE;
    this.F[this.hf(nr) + HF_CREATED] = this.F[this.hf(r) + HF_CREATED];
    this.w(this.crec(I[h + H_CALL]) + C_REPLY, nr);
    this.freeSlot(r);
    if (named) this.place(nr);
    return nr;
  }

  /** SEND-5: moved node handles are released once the operation succeeded. */
  private releaseMoved(slot: number): void {
    const I = this.I;
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      if (!t.move) continue;
      const r = this.lookup(slot, t.handle);
      if (r === NONE || I[this.hrec(r) + H_KIND] === KIND_REPLY) continue; // a reply handle already travelled
      this.release(r);
    }
  }

  // ------------------------------------------------------------------ operations (the caller holds the lock)
  /** BUS-2, BUS-3 (checks done by the caller for grants' shape). */
  attachLocked(
    id: number,
    cred: { uid: number; gid: number; pid: number },
    grants: { slot: number; handle: number; rights: number; badge: number }[],
    token: number,
  ): number {
    const I = this.I;
    // peer table room
    let slot = NONE,
      open = 0;
    for (let s = 0; s < this.P; s++) {
      const st = I[this.pw(s) + P_STATUS];
      if (st === 1) open++;
      else if (slot === NONE) slot = s;
    }
    if (open >= this.P || slot === NONE) return TABLE_FULL;
    for (const g of grants) {
      const r = this.usable(g.slot, g.handle, KIND_NODE);
      if (r < 0) return -r;
      const h = this.hrec(r);
      if (g.rights >= 0 && (g.rights & ~I[h + H_RIGHTS]) !== 0) return NO_RIGHTS;
      if (g.badge > 0 && this.F[this.hf(r) + HF_BADGE] !== 0) return NO_RIGHTS;
    }
    if (grants.length > this.H) return TABLE_FULL;
    const p = this.pw(slot),
      pf = this.pf(slot);
    this.w(p + P_ID, id);
    this.w(p + P_QHEAD, 0);
    this.w(p + P_QCOUNT, 0);
    this.w(p + P_QMSGS, 0);
    this.w(p + P_QBYTES, 0);
    this.w(p + P_BHEAD, 0);
    this.w(p + P_BUSED, 0);
    this.w(p + P_BHELD, 0);
    this.w(p + P_NSHEAD, NONE);
    this.w(p + P_NSTAIL, NONE);
    this.w(p + P_NSCOUNT, 0);
    this.w(p + L.P_TOKEN, token);
    this.wf(pf + PF_UID, cred.uid);
    this.wf(pf + PF_GID, cred.gid);
    this.wf(pf + PF_PID, cred.pid);
    this.wf(pf + PF_PLACE, 0);
    this.wa(p + P_STATUS, 1);
    this.w(HDR_NEXT_PEER, id + 1);
    this.outSkipped.length = 0;
    for (const g of grants) {
      const r = this.lookup(g.slot, g.handle);
      const rights = g.rights >= 0 ? g.rights : I[this.hrec(r) + H_RIGHTS];
      const badge = g.badge > 0 ? g.badge : this.F[this.hf(r) + HF_BADGE];
      this.outSkipped.push(this.nameOf(this.derive(r, slot, rights, badge, true)));
    }
    this.outCount = slot;
    return OK;
  }

  createNodeLocked(slot: number, credentials: boolean): number {
    const I = this.I;
    if (!this.tableRoom(slot, 1)) return TABLE_FULL;
    const node = I[HDR_NODE_FREE];
    if (node === NONE) return TABLE_FULL; // departure: the node pool is sized at creation (DESIGN.md)
    const n = this.nrec(node),
      nf = this.nf(node);
    this.w(HDR_NODE_FREE, I[n + N_NEXTFREE]);
    const r = this.allocSlot(slot);
    const h = this.hrec(r),
      F = this.F;
    I[h + H_KIND] = KIND_NODE;
    I[h + H_STATUS] = ST_LIVE;
    I[h + H_NODE] = node;
    I[h + H_RIGHTS] = R_SEND | R_GRANT;
    I[h + H_ROOT] = 1;
    I[h + H_PARENT] = NONE;
    I[h + H_CHILD] = NONE;
    I[h + H_NEXT] = NONE;
    I[h + H_PREV] = NONE;
    F[this.hf(r) + HF_BADGE] = 0;
    F[this.hf(r) + HF_CREATED] = this.nextHandleSeq();
    const name = this.place(r);
    // The node record was just taken from the free list (HDR_NODE_FREE, journaled): plain fields.
    this.w(n + N_STATE, 1);
    I[n + N_OWNER] = slot;
    I[n + N_ROOT] = r;
    I[n + N_CRED] = credentials ? 1 : 0;
    I[n + N_SENDERS] = 0;
    I[n + N_NSWAIT] = 0;
    I[n + N_NSNEXT] = NONE;
    F[nf + NF_NAME] = name;
    F[nf + NF_DERIVED] = 0;
    const seqI = this.L.fHeader + FH_NODE_SEQ;
    F[seqI] = F[seqI] + 1; // an order counter (CLOSE-2)
    F[nf + NF_CREATED] = F[seqI];
    this.outName = name;
    return OK;
  }

  mintLocked(slot: number, handle: number, mask: number, badge: number): number {
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I,
      h = this.hrec(r);
    if ((mask & ~I[h + H_RIGHTS]) !== 0) return NO_RIGHTS;
    const parentBadge = this.F[this.hf(r) + HF_BADGE];
    if (badge > 0 && parentBadge !== 0) return NO_RIGHTS;
    if (!this.tableRoom(slot, 1)) return TABLE_FULL;
    this.outName = this.nameOf(this.derive(r, slot, mask, badge > 0 ? badge : parentBadge, true));
    return OK;
  }

  releaseLocked(slot: number, handle: number): number {
    const r = this.lookup(slot, handle);
    if (r === NONE) return BAD_HANDLE;
    this.release(r);
    return OK;
  }

  revokeLocked(slot: number, handle: number): number {
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I,
      F = this.F;
    const live: number[] = [];
    const stack: number[] = [];
    for (let c = I[this.hrec(r) + H_CHILD]; c !== NONE; c = I[this.hrec(c) + H_NEXT]) stack.push(c);
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (I[this.hrec(d) + H_STATUS] === ST_LIVE) live.push(d);
      for (let c = I[this.hrec(d) + H_CHILD]; c !== NONE; c = I[this.hrec(c) + H_NEXT]) stack.push(c);
    }
    live.sort((a, b) => F[this.hf(a) + HF_CREATED] - F[this.hf(b) + HF_CREATED]);
    for (const d of live) {
      const h = this.hrec(d);
      this.w(h + H_STATUS, ST_REVOKED);
      if (I[h + H_STATE] === 2) this.stateNotice(d, NOTICE_REVOKED); // REVOKE-2
      this.senderGone(d);
    }
    this.outCount = live.length;
    return OK;
  }

  destroyNodeLocked(slot: number, handle: number): number {
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const node = this.I[this.hrec(r) + H_NODE];
    if (this.I[this.nrec(node) + N_OWNER] !== slot) return NOT_OWNER;
    this.destroy(node, r);
    return OK;
  }

  /** The checks of send after the peer and shape checks (ERR-1), then the effect. */
  sendLocked(slot: number, peerId: number, handle: number, block: boolean): number {
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I,
      h = this.hrec(r);
    if ((I[h + H_RIGHTS] & R_SEND) === 0) return NO_RIGHTS;
    if (this.nxfers > 0) {
      const te = this.transferError(slot, true);
      if (te !== OK) return te;
    }
    const dest = I[this.nrec(I[h + H_NODE]) + N_OWNER];
    if (!this.tableRoom(dest, this.nxfers)) return TABLE_FULL;
    if (this.roomFor(dest, slot, peerId, 1, bytes) !== 0) return block ? BLOCKED : QUEUE_FULL;
    this.post(slot, peerId, r, ENTRY_MESSAGE, bytes, NONE);
    return OK;
  }

  /** The capacity-or-quota cause of a blocked send to `handle` (SEND-7 FIFO rule); 0 if none. */
  blockCause(slot: number, peerId: number, handle: number): { dest: number; cause: number } {
    const r = this.lookup(slot, handle);
    if (r === NONE || this.I[this.hrec(r) + H_KIND] !== KIND_NODE || this.I[this.hrec(r) + H_STATUS] !== ST_LIVE)
      return { dest: NONE, cause: 0 };
    const dest = this.I[this.nrec(this.I[this.hrec(r) + H_NODE]) + N_OWNER];
    return { dest, cause: this.roomFor(dest, slot, peerId, 1, this.stagedBytes()) };
  }

  destOfHandle(slot: number, handle: number): number {
    const r = this.lookup(slot, handle);
    if (r === NONE || this.I[this.hrec(r) + H_KIND] !== KIND_NODE || this.I[this.hrec(r) + H_STATUS] !== ST_LIVE)
      return NONE;
    return this.I[this.nrec(this.I[this.hrec(r) + H_NODE]) + N_OWNER];
  }

  callLocked(slot: number, peerId: number, handle: number): number {
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I,
      F = this.F,
      h = this.hrec(r);
    if ((I[h + H_RIGHTS] & R_SEND) === 0) return NO_RIGHTS;
    if (this.nxfers > 0) {
      const te = this.transferError(slot, true);
      if (te !== OK) return te;
    }
    const node = I[h + H_NODE];
    const dest = I[this.nrec(node) + N_OWNER];
    if (!this.tableRoom(dest, this.nxfers + 1)) return TABLE_FULL;
    if (this.roomFor(dest, slot, peerId, 1, bytes) !== 0) return QUEUE_FULL;
    let c = NONE;
    for (let k = 0; k < this.K; k++)
      if (I[this.crec(slot * this.K + k) + C_STATE] === 0) {
        c = slot * this.K + k;
        break;
      }
    if (c === NONE) return QUEUE_FULL; // departure: callSlotsPerPeer pending calls at most (DESIGN.md)
    const ticketI = this.L.fHeader + FH_TICKET;
    const ticket = F[ticketI] + 1;
    this.wf(ticketI, ticket);
    const cr = this.crec(c);
    // A free call record (C_STATE 0 -> 1, journaled): its other fields are written plainly.
    this.w(cr + C_STATE, 1);
    I[cr + C_CALLER] = slot;
    I[cr + C_CALLER_ID] = peerId;
    I[cr + C_NODE] = node;
    I[cr + C_CALLER_HOLDS] = 1;
    I[cr + C_OUTCOME] = 0;
    F[this.cf(c) + CF_TICKET] = ticket;
    const rr = this.allocSlot(dest);
    const rh = this.hrec(rr);
    I[rh + H_KIND] = KIND_REPLY;
    I[rh + H_STATUS] = ST_LIVE;
    I[rh + H_CALL] = c;
    I[rh + H_CALLGEN] = I[cr + C_GEN];
    I[rh + H_PARENT] = NONE;
    I[rh + H_CHILD] = NONE;
    I[rh + H_NEXT] = NONE;
    I[rh + H_PREV] = NONE;
    F[this.hf(rr) + HF_CREATED] = this.nextHandleSeq();
    I[cr + C_REPLY] = rr;
    this.post(slot, peerId, r, ENTRY_CALL, bytes, rr);
    this.outCall = c;
    this.outTicket = ticket;
    return OK;
  }

  replyLocked(slot: number, handle: number): number {
    for (let i = 0; i < this.nxfers; i++) if (this.xfers[i].handle === handle) return INVALID_ARGUMENT; // CALL-7
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const r = this.usable(slot, handle, KIND_REPLY);
    if (r < 0) return -r;
    if (this.nxfers > 0) {
      const te = this.transferError(slot, true);
      if (te !== OK) return te;
    }
    const I = this.I,
      h = this.hrec(r);
    const c = I[h + H_CALL],
      cr = this.crec(c);
    if (I[cr + C_STATE] !== 1) {
      // CALL-4: consumes r
      this.consumeReply(r);
      return CALLER_GONE;
    }
    const caller = I[cr + C_CALLER];
    if (!this.tableRoom(caller, this.nxfers)) return TABLE_FULL;
    // CALL-6: straight into the caller's reply area (unpublished until C_STATE), handles straight into its table.
    const base = this.replyBase(c),
      B = this.B;
    let at = base;
    for (let s = 0; s < this.nsegs; s++) {
      const seg = this.segs[s];
      B.set(seg, at);
      at += seg.length;
    }
    if (this.nxfers > 0) {
      const cf = this.cf(c);
      for (let i = 0; i < this.nxfers; i++) {
        const t = this.xfers[i];
        const tr = this.xferRec[i];
        const th = this.hrec(tr);
        let nr: number;
        if (I[th + H_KIND] === KIND_REPLY) nr = this.moveReply(tr, caller, true);
        else
          nr = this.derive(
            tr,
            caller,
            t.rights >= 0 ? t.rights : I[th + H_RIGHTS],
            this.F[this.hf(tr) + HF_BADGE],
            true,
          );
        const nh = this.hrec(nr);
        I[cr + C_RHANDLES + 3 * i] = I[nh + H_KIND];
        I[cr + C_RHANDLES + 3 * i + 1] = I[nh + H_KIND] === KIND_REPLY ? 0 : I[nh + H_RIGHTS];
        I[cr + C_RHANDLES + 3 * i + 2] = ST_LIVE;
        this.F[cf + CF_NAMES + i] = this.nameOf(nr);
      }
    }
    // Read only once C_STATE says resolved (journaled below): written plainly, like the reply area.
    I[cr + C_RBYTES] = bytes;
    I[cr + C_RNH] = this.nxfers;
    if (this.nxfers > 0) this.releaseMoved(slot);
    this.consumeReply(r);
    this.resolveCall(c, OK);
    return OK;
  }

  private consumeReply(r: number): void {
    const c = this.I[this.hrec(r) + H_CALL];
    this.freeSlot(r);
    this.w(this.crec(c) + C_REPLY, NONE);
    this.freeCallIfDone(c);
  }

  /** MCAST-1..5; `names` already checked for shape (non-empty, no duplicates, no move). No allocation. */
  multicastLocked(slot: number, peerId: number, names: readonly number[]): number {
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const I = this.I,
      count = names.length;
    if (this.mcRecs.length < count) this.mcRecs = new Int32Array(2 * count);
    const recs = this.mcRecs;
    for (let i = 0; i < count; i++) {
      const r = this.lookup(slot, names[i]);
      if (r === NONE) return BAD_HANDLE;
      const h = this.hrec(r);
      if (I[h + H_KIND] !== KIND_NODE) return WRONG_KIND;
      if (I[h + H_STATUS] === ST_REVOKED) return REVOKED;
      if ((I[h + H_RIGHTS] & R_SEND) === 0) return NO_RIGHTS;
      recs[i] = r;
    }
    if (this.nxfers > 0) {
      const te = this.transferError(slot, false);
      if (te !== OK) return te;
    }
    // per live destination peer: copies needed (MCAST-4), in first-seen order
    const need = this.mcNeed,
      dests = this.mcDests;
    let nd = 0;
    for (let i = 0; i < count; i++) {
      const h = this.hrec(recs[i]);
      if (I[h + H_STATUS] !== ST_LIVE) continue;
      const d = I[this.nrec(I[h + H_NODE]) + N_OWNER];
      if (need[d] === 0) dests[nd++] = d;
      need[d]++;
    }
    let code = OK;
    if (this.nxfers > 0)
      for (let k = 0; k < nd; k++)
        if (!this.tableRoom(dests[k], need[dests[k]] * this.nxfers)) {
          code = TABLE_FULL;
          break;
        }
    if (code === OK)
      for (let k = 0; k < nd; k++)
        if (this.roomFor(dests[k], slot, peerId, need[dests[k]], need[dests[k]] * bytes) !== 0) {
          code = QUEUE_FULL;
          break;
        }
    if (code === OK && this.nxfers === 0) {
      this.postAll(slot, peerId, count, bytes, names);
      return OK;
    } // resets need
    for (let k = 0; k < nd; k++) need[dests[k]] = 0;
    if (code !== OK) return code;
    let skipped = 0;
    for (let i = 0; i < count; i++) {
      const r = recs[i];
      if (I[this.hrec(r) + H_STATUS] !== ST_LIVE) {
        this.outSkipped[skipped++] = names[i];
        continue;
      }
      this.post(slot, peerId, r, ENTRY_MESSAGE, bytes, NONE); // MCAST-3, ORDER-3: consecutive places
    }
    this.outSkippedCount = skipped;
    return OK;
  }

  /**
   * A multicast without handles: every copy's entry and payload go past its queue's tail
   * (unpublished), in name order and consecutive places in the bus order (MCAST-3, ORDER-3);
   * then each destination's counters, quota and wake-up once. Same effects as posting each.
   */
  private postAll(slot: number, peerId: number, count: number, bytes: number, names: readonly number[]): void {
    const I = this.I,
      F = this.F,
      recs = this.mcRecs,
      total = this.mcNeed,
      pend = this.mcPend,
      where = this.mcOff,
      dests = this.mcDests,
      E = this.E;
    const seqI = this.L.fHeader + FH_SEQ,
      phys = slotBytes(bytes);
    let nd = 0,
      seq = F[seqI],
      skipped = 0;
    for (let i = 0; i < count; i++) {
      const r = recs[i],
        th = this.hrec(r);
      if (I[th + H_STATUS] !== ST_LIVE) {
        this.outSkipped[skipped++] = names[i];
        continue;
      }
      const node = I[th + H_NODE],
        n = this.nrec(node);
      const dest = I[n + N_OWNER],
        p = this.pw(dest);
      const k = pend[dest];
      if (k === 0) {
        dests[nd++] = dest;
        // One copy of the payload per destination queue: its copies are consecutive entries there
        // and share it; the last of them frees it (E_PHYS), so the bytes outlive every copy.
        where[dest] = bytes > 0 ? this.copyIn(dest) : 0;
      }
      let e = I[p + P_QHEAD] + I[p + P_QCOUNT] + k;
      while (e >= E) e -= E;
      const er = this.erec(dest, e),
        ef = this.ef(dest, e);
      I[er + E_KIND] = ENTRY_MESSAGE;
      I[er + E_SENDER] = slot;
      I[er + E_SENDER_ID] = peerId;
      I[er + E_NODE] = node;
      I[er + E_BYTES] = bytes;
      I[er + E_OFF] = where[dest];
      I[er + E_PHYS] = k + 1 === total[dest] ? phys : 0;
      I[er + E_NH] = 0;
      I[er + E_REPLY] = NONE;
      F[ef + EF_NAME] = F[this.nf(node) + NF_NAME];
      F[ef + EF_BADGE] = F[this.hf(r) + HF_BADGE];
      const cred = I[n + N_CRED];
      I[er + E_CRED] = cred;
      if (cred === 1) {
        // CRED-1
        const pf = this.pf(slot);
        F[ef + EF_UID] = F[pf + PF_UID];
        F[ef + EF_GID] = F[pf + PF_GID];
        F[ef + EF_PID] = F[pf + PF_PID];
      }
      F[ef + EF_SEQ] = ++seq;
      pend[dest] = k + 1;
    }
    F[seqI] = seq; // an order counter (ORDER-1), written plainly
    this.outSkippedCount = skipped;
    for (let j = 0; j < nd; j++) {
      const dest = dests[j],
        k = pend[dest],
        p = this.pw(dest);
      pend[dest] = 0;
      total[dest] = 0;
      const q = this.qrec(dest, slot);
      if (I[q + Q_ID] !== peerId) {
        this.w(q + Q_ID, peerId);
        this.w(q + Q_MSGS, 0);
        this.w(q + Q_BYTES, 0);
      }
      this.w(q + Q_MSGS, I[q + Q_MSGS] + k);
      this.w(p + P_QMSGS, I[p + P_QMSGS] + k);
      if (bytes > 0) {
        this.w(q + Q_BYTES, I[q + Q_BYTES] + k * bytes);
        this.w(p + P_QBYTES, I[p + P_QBYTES] + k * bytes);
        this.w(p + P_BUSED, I[p + P_BUSED] + phys);
      }
      this.wa(p + P_QCOUNT, I[p + P_QCOUNT] + k);
      this.wake(dest);
    }
  }

  /** Payload bytes (4-aligned) and handles of the next `max` deliveries: into needBytes / needHandles. */
  batchNeeds(slot: number, max: number): void {
    const I = this.I,
      p = this.pw(slot),
      E = this.E;
    const count = I[p + P_QCOUNT];
    let head = I[p + P_QHEAD],
      bytes = 0,
      handles = 0;
    for (let i = 0; i < count && i < max; i++) {
      const er = this.erec(slot, head);
      if (I[er + E_KIND] !== ENTRY_NOTICE) {
        bytes += slotBytes(I[er + E_BYTES]);
        handles += I[er + E_NH];
      }
      if (++head === E) head = 0;
    }
    this.needBytes = bytes;
    this.needHandles = handles;
  }

  needBytes = 0;
  needHandles = 0;

  /** Whether anything waits in a queue (ring entries or no-senders notices). */
  queued(slot: number): number {
    const I = this.I,
      p = this.pw(slot);
    return Atomics.load(I, p + P_QCOUNT) + Atomics.load(I, p + P_NSCOUNT);
  }

  /**
   * RECV-1, the fast path: up to max entries into a preallocated batch. Copy mode copies each
   * payload once out of the ring; view mode hands out views into the ring (bytes held until the
   * next receive, at most viewSlack of them; a payload that wraps around the ring is copied).
   * The queue's counters and the senders' quotas are written once per batch (same effects as
   * popping one by one: nothing else runs inside the lock hold).
   */
  takeBatch(slot: number, max: number, batch: ReceiveBatch): number {
    const I = this.I,
      F = this.F,
      p = this.pw(slot);
    this.releaseHeld(slot);
    const E = this.E,
      QB = this.QB,
      B = this.B;
    let head = I[p + P_QHEAD],
      count = I[p + P_QCOUNT];
    const count0 = count;
    let msgs = 0,
      bytesOut = 0,
      freed = 0,
      held = I[p + P_BHELD];
    let bhead = I[p + P_BHEAD];
    const held0 = held;
    let n = 0,
      used = 0,
      hused = 0;
    const cap = batch.data.length,
      hcap = batch.handleName.length;
    const views = batch.views,
      ring = this.ringBase(slot);
    // per-sender quota released by this batch (slot -> messages, bytes; id checked per entry)
    const qSlots = this.mcDests,
      qMsgs = this.mcNeed,
      qBytes = this.accBytes;
    let nq = 0;
    while (n < max && count + I[p + P_NSCOUNT] > 0) {
      if (
        I[p + P_NSCOUNT] > 0 &&
        (count === 0 || F[this.nf(I[p + P_NSHEAD]) + NF_NSSEQ] < F[this.ef(slot, head) + EF_SEQ])
      ) {
        this.popNoSenders(slot);
        batch.kind[n] = ENTRY_NOTICE;
        batch.noticeType[n] = NOTICE_NO_SENDERS;
        batch.node[n] = this.nsName;
        batch.badge[n] = this.nsDerived;
        batch.length[n] = 0;
        batch.offset[n] = 0;
        batch.handleCount[n] = 0;
        batch.handleStart[n] = hused;
        batch.replyHandle[n] = -1;
        batch.credentials[n] = 0;
        n++;
        continue;
      }
      const er = this.erec(slot, head),
        ef = this.ef(slot, head);
      const kind = I[er + E_KIND];
      if (kind === ENTRY_NOTICE) {
        this.noticeGone(I[er + E_REPLY]);
        batch.kind[n] = ENTRY_NOTICE;
        batch.noticeType[n] = I[er + E_NTYPE];
        batch.node[n] = F[ef + EF_NAME];
        batch.badge[n] = 0;
        batch.length[n] = 0;
        batch.offset[n] = 0;
        batch.handleCount[n] = 0;
        batch.handleStart[n] = hused;
        batch.replyHandle[n] = -1;
        batch.credentials[n] = 0;
      } else {
        const bytes = I[er + E_BYTES],
          nh = I[er + E_NH];
        if (nh > hcap - hused) {
          if (n > 0) break;
          throw new RangeError('receive batch: no room for the handles of one delivery');
        }
        // Held bytes must stay one run from the byte ring's head: once this batch holds any, every
        // later payload is held too (a wrapped one is copied, but its bytes stay held).
        let hold = false,
          view = false;
        const off = I[er + E_OFF],
          phys = I[er + E_PHYS];
        if (bytes > 0 && views) {
          if (held + phys <= this.viewSlack) {
            hold = true;
            view = off + bytes <= QB;
          } else if (held > 0) break;
        }
        if (bytes > 0 && !view && used + phys > cap) {
          if (n > 0) break;
          throw new RangeError('receive batch: data buffer smaller than one payload');
        }
        this.arrCount = 0;
        for (let i = 0; i < nh; i++) this.arrive(I[er + E_HANDLES + i]);
        batch.kind[n] = kind;
        batch.node[n] = F[ef + EF_NAME];
        batch.badge[n] = F[ef + EF_BADGE];
        batch.noticeType[n] = 0;
        batch.length[n] = bytes;
        batch.handleStart[n] = hused;
        batch.handleCount[n] = nh;
        batch.replyHandle[n] = kind === ENTRY_CALL ? this.place(I[er + E_REPLY]) : -1;
        const cred = I[er + E_CRED];
        batch.credentials[n] = cred;
        if (cred === 1) {
          batch.uid[n] = F[ef + EF_UID];
          batch.gid[n] = F[ef + EF_GID];
          batch.pid[n] = F[ef + EF_PID];
        }
        for (let i = 0; i < nh; i++, hused++) {
          batch.handleName[hused] = this.arrName[i];
          batch.handleKind[hused] = this.arrKind[i];
          batch.handleRights[hused] = this.arrRights[i];
          batch.handleState[hused] = this.arrState[i];
        }
        if (view) {
          batch.buf[n] = B;
          batch.offset[n] = ring + off;
        } else {
          batch.buf[n] = batch.data;
          batch.offset[n] = used;
          if (bytes > 0) {
            this.copyOut(slot, off, bytes, batch.data, used, batch.dataWords);
            used += phys;
          }
        }
        // accounting, written after the loop
        msgs++;
        bytesOut += bytes;
        if (hold) held += phys;
        else {
          freed += phys;
          bhead += phys;
          if (bhead >= QB) bhead -= QB;
        }
        const sender = I[er + E_SENDER],
          senderId = I[er + E_SENDER_ID];
        const q = this.qrec(slot, sender);
        if (I[q + Q_ID] === senderId) {
          // else that sender closed and its slot has a new peer
          if (qMsgs[sender] === 0) qSlots[nq++] = sender;
          qMsgs[sender]++;
          qBytes[sender] += bytes;
        }
      }
      head++;
      if (head === E) head = 0;
      count--;
      n++;
    }
    for (let j = 0; j < nq; j++) {
      const sender = qSlots[j],
        q = this.qrec(slot, sender);
      this.w(q + Q_MSGS, I[q + Q_MSGS] - qMsgs[sender]);
      if (qBytes[sender] > 0) this.w(q + Q_BYTES, I[q + Q_BYTES] - qBytes[sender]);
      qMsgs[sender] = 0;
      qBytes[sender] = 0;
    }
    if (count !== count0) {
      this.w(p + P_QHEAD, head);
      this.w(p + P_QCOUNT, count);
    }
    if (msgs > 0) {
      this.w(p + P_QMSGS, I[p + P_QMSGS] - msgs);
      if (bytesOut > 0) this.w(p + P_QBYTES, I[p + P_QBYTES] - bytesOut);
      if (held !== held0) this.w(p + P_BHELD, held);
      if (freed > 0) {
        this.w(p + P_BHEAD, bhead);
        this.w(p + P_BUSED, I[p + P_BUSED] - freed);
      }
      this.roomFreed(slot);
    }
    batch.count = n;
    batch.dataUsed = used;
    return n;
  }

  /** CLOSE-1..4. */
  closeLocked(slot: number, peerId: number): number {
    const I = this.I,
      F = this.F,
      p = this.pw(slot);
    // CLOSE-1: pending calls (in the bus) and this thread's blocked sends and receives, in ticket order.
    const own: { ticket: number; call: number; lp: LocalPending | null }[] = [];
    const calls = this.P * this.K;
    for (let c = 0; c < calls; c++) {
      const cr = this.crec(c);
      if (I[cr + C_STATE] === 1 && I[cr + C_CALLER] === slot && I[cr + C_CALLER_ID] === peerId)
        own.push({ ticket: F[this.cf(c) + CF_TICKET], call: c, lp: null });
    }
    for (const lp of this.local)
      if (lp.slot === slot && lp.peerId === peerId && lp.kind !== 'call')
        own.push({ ticket: lp.ticket, call: NONE, lp });
    own.sort((a, b) => a.ticket - b.ticket);
    for (const o of own) {
      if (o.lp === null) this.resolveCall(o.call, CLOSED);
      else {
        this.removeLocal(o.lp);
        this.pushCompletion(o.lp, { ok: false, error: 'CLOSED' });
      }
    }
    // A caller that closed no longer collects outcomes.
    for (let k = 0; k < this.K; k++) {
      const c = slot * this.K + k,
        cr = this.crec(c);
      if (I[cr + C_STATE] === 2 && I[cr + C_CALLER_ID] === peerId && I[cr + C_CALLER_HOLDS] === 1) {
        this.w(cr + C_CALLER_HOLDS, 0);
        this.freeCallIfDone(c);
      }
    }
    this.wa(p + P_STATUS, 2);
    if (I[this.mbrec(slot) + MB_STATE] !== 0) this.w(this.mbrec(slot) + MB_STATE, 0);
    this.wake(slot);
    // CLOSE-2: its nodes die, in creation order.
    const nodes: number[] = [];
    for (let n = 0; n < this.L.maxNodes; n++)
      if (I[this.nrec(n) + N_STATE] === 1 && I[this.nrec(n) + N_OWNER] === slot) nodes.push(n);
    nodes.sort((a, b) => F[this.nf(a) + NF_CREATED] - F[this.nf(b) + NF_CREATED]);
    for (const n of nodes) this.destroy(n, NONE);
    // CLOSE-3: its handles are released, in name order.
    const named: number[] = [];
    for (let t = 0; t < this.H; t++) if (I[this.hrec(slot * this.H + t) + H_STATE] === 2) named.push(slot * this.H + t);
    named.sort((a, b) => F[this.L.fPlacedBase + a] - F[this.L.fPlacedBase + b]);
    for (const r of named) if (I[this.hrec(r) + H_STATE] === 2) this.release(r);
    // CLOSE-4: its queue is discarded, in order (no-senders notices carry nothing to release).
    this.releaseHeld(slot);
    while (I[p + P_QCOUNT] > 0) {
      const e = I[p + P_QHEAD];
      const er = this.erec(slot, e);
      const kind = I[er + E_KIND];
      if (kind !== ENTRY_NOTICE) {
        this.quotaSub(slot, I[er + E_SENDER], I[er + E_SENDER_ID], I[er + E_BYTES]);
        this.w(p + P_QMSGS, I[p + P_QMSGS] - 1);
        this.w(p + P_QBYTES, I[p + P_QBYTES] - I[er + E_BYTES]);
      }
      this.w(p + P_QHEAD, e + 1 === this.E ? 0 : e + 1);
      this.w(p + P_QCOUNT, I[p + P_QCOUNT] - 1);
      if (kind !== ENTRY_NOTICE) {
        const hs = I.slice(er + E_HANDLES, er + E_HANDLES + I[er + E_NH]);
        const reply = I[er + E_REPLY];
        for (const r of hs) this.release(r);
        if (kind === ENTRY_CALL) this.release(reply);
      } else this.noticeGone(I[er + E_REPLY]);
    }
    while (I[p + P_NSCOUNT] > 0) this.popNoSenders(slot);
    this.w(p + P_BHEAD, 0);
    this.w(p + P_BUSED, 0);
    this.roomFreed(slot);
    if (I[p + P_USED] !== 0)
      throw new Error(`shm bus: peer ${peerId} closed with ${I[p + P_USED]} table slots still used`);
    return OK;
  }

  /** Leak audit for tests: what is still allocated. */
  audit(): { peersOpen: number; handles: number; nodes: number; calls: number; queued: number } {
    const I = this.I;
    let peersOpen = 0,
      handles = 0,
      nodes = 0,
      calls = 0,
      queued = 0;
    for (let s = 0; s < this.P; s++) {
      if (I[this.pw(s) + P_STATUS] === 1) peersOpen++;
      queued += I[this.pw(s) + P_QCOUNT] + I[this.pw(s) + P_NSCOUNT];
    }
    for (let r = 0; r < this.P * this.H; r++) if (I[this.hrec(r) + H_STATE] !== 0) handles++;
    for (let n = 0; n < this.L.maxNodes; n++) if (I[this.nrec(n) + N_STATE] !== 0) nodes++;
    for (let c = 0; c < this.P * this.K; c++) if (I[this.crec(c) + C_STATE] !== 0) calls++;
    return { peersOpen, handles, nodes, calls, queued };
  }

  /** Table use as the model counts it (tableUse: named + in flight + held by waiting notices). */
  tableUse(slot: number): number {
    return this.I[this.pw(slot) + P_USED];
  }

  // ------------------------------------------------------------------ waiting (see ShmPeer for the loops)
  wakeIndex(slot: number): number {
    return this.pw(slot) + P_WAKE;
  }

  roomIndex(slot: number): number {
    return this.pw(slot) + P_ROOM;
  }

  /** The room word of a queue (bumped after every lock hold that freed room in it). */
  roomValue(slot: number): number {
    return Atomics.load(this.I, this.pw(slot) + P_ROOM);
  }

  /** The wake word of a peer (bumped after every lock hold that enqueued to it, or closed it). */
  wakeValue(slot: number): number {
    return Atomics.load(this.I, this.pw(slot) + P_WAKE);
  }

  newTicket(): number {
    const i = this.L.fHeader + FH_TICKET;
    const t = this.F[i] + 1;
    this.wf(i, t);
    return t;
  }

  /** TIME-1: a call whose deadline passed resolves TIMED_OUT (if nothing else resolved it first). */
  timeoutCall(c: number): void {
    if (this.I[this.crec(c) + C_STATE] === 1) this.resolveCall(c, TIMED_OUT);
  }

  callGen(c: number): number {
    return this.I[this.crec(c) + C_GEN];
  }

  /** Whether call c (of generation gen) has a committed outcome; read without the lock. */
  callDone(c: number, gen: number): boolean {
    return Atomics.load(this.I, this.callDoneIndex(c)) === gen;
  }

  /**
   * The fast path's view of a resolved call (its completion word seen, so committed; the caller still holds
   * it, so nothing else writes it): reply bytes copied into out; -code for an error.
   */
  replyInto(c: number, out: Uint8Array, outWords: Int32Array | null = null): number {
    const I = this.I,
      cr = this.crec(c);
    const outcome = I[cr + C_OUTCOME];
    if (outcome !== 0) return -outcome;
    const n = I[cr + C_RBYTES];
    const base = this.replyBase(c),
      B = this.B;
    const k = n < out.length ? n : out.length;
    if (outWords !== null && k <= 512) {
      // reply areas are 64-aligned; outWords views out's bytes
      const w = k >> 2,
        from = base >> 2;
      for (let i = 0; i < w; i++) outWords[i] = I[from + i];
      for (let i = w << 2; i < k; i++) out[i] = B[base + i];
    } else out.set(B.subarray(base, base + k));
    return n;
  }

  /** Where a resolved call's reply payload is (for a zero-copy view): byte offset into B. */
  replyOffset(c: number): number {
    return this.replyBase(c);
  }

  callState(c: number): number {
    return this.I[this.crec(c) + C_STATE];
  }

  peerIdAt(slot: number): number {
    return this.I[this.pw(slot) + P_ID];
  }

  tokenOf(slot: number): number {
    return this.I[this.pw(slot) + L.P_TOKEN];
  }

  nextPeerId(): number {
    return this.I[HDR_NEXT_PEER];
  }
}
