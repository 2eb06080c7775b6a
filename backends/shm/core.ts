// The shared-memory bus core: every operation of the spec, run against the
// SharedArrayBuffer under the bus lock. One BusCore exists per thread (each
// with its own views and thread token) over the same buffer.
//
// Discipline (DESIGN.md): every control word written while holding the lock is
// written through w()/wf(), which log the old value in the undo journal, so a
// holder that dies mid-operation can be rolled back by the bus owner. Words
// beyond a queue's published tail (entry fields, payload bytes, reply areas of
// pending calls) are invisible until a journaled counter publishes them and
// are written plainly. Checks run first, in ERR-1 order, and change nothing;
// effects run only after every check passed (ATOMIC-1).
import type { Completion, Delivery, ErrorCode, ReceivedHandle, ReplyDelivery, Result, Right } from '../../spec/types';
import * as L from './layout';

const {
  NONE, HDR_LOCK, HDR_LOCK_WAITERS, HDR_JLEN, HDR_NEXT_PEER, HDR_NODE_FREE,
  FH_SEQ, FH_TICKET, FH_HANDLE_SEQ, FH_NODE_SEQ,
  P_ID, P_STATUS, P_USED, P_FREE, P_QHEAD, P_QCOUNT, P_QMSGS, P_QBYTES, P_BHEAD, P_WAKE, P_SLEEP, P_ROOM, P_ROOM_WAITERS, P_WORDS,
  PF_UID, PF_GID, PF_PID, PF_PLACE, PF_WORDS,
  H_STATE, H_KIND, H_STATUS, H_GEN, H_NODE, H_RIGHTS, H_ROOT, H_PARENT, H_CHILD, H_NEXT, H_PREV, H_CALL, H_CALLGEN, H_NEXTFREE, H_WORDS,
  HF_BADGE, HF_CREATED, HF_PLACED, HF_WORDS,
  KIND_NODE, KIND_REPLY, ST_LIVE, ST_REVOKED, ST_DEAD, R_SEND, R_GRANT,
  N_STATE, N_OWNER, N_ROOT, N_CRED, N_SENDERS, N_NEXTFREE, N_WORDS, NF_NAME, NF_DERIVED, NF_CREATED, NF_WORDS,
  C_STATE, C_GEN, C_CALLER, C_CALLER_ID, C_NODE, C_REPLY, C_CALLER_HOLDS, C_OUTCOME, C_RBYTES, C_RNH, C_RHANDLES, CF_TICKET, CF_NAMES,
  E_KIND, E_SENDER, E_SENDER_ID, E_NODE, E_BYTES, E_OFF, E_NH, E_REPLY, E_NTYPE, E_CRED, E_HANDLES,
  EF_SEQ, EF_NAME, EF_BADGE, EF_UID, EF_GID, EF_PID, EF_WORDS,
  ENTRY_MESSAGE, ENTRY_CALL, ENTRY_NOTICE, NOTICE_DESTROYED, NOTICE_REVOKED, NOTICE_NO_SENDERS,
  Q_ID, Q_MSGS, Q_BYTES, Q_WORDS,
} = L;

/** Error codes as small integers (index in this list); 0 is success. */
export const CODES: readonly (ErrorCode | 'OK')[] = [
  'OK', 'INVALID_ARGUMENT', 'BAD_HANDLE', 'WRONG_KIND', 'NO_RIGHTS', 'NOT_OWNER', 'DEAD', 'REVOKED', 'TOO_LARGE',
  'TOO_MANY_HANDLES', 'TABLE_FULL', 'QUEUE_FULL', 'TIMED_OUT', 'NO_REPLY', 'CALLER_GONE', 'CLOSED',
];
export const OK = 0, INVALID_ARGUMENT = 1, BAD_HANDLE = 2, WRONG_KIND = 3, NO_RIGHTS = 4, NOT_OWNER = 5, DEAD = 6,
  REVOKED = 7, TOO_LARGE = 8, TOO_MANY_HANDLES = 9, TABLE_FULL = 10, QUEUE_FULL = 11, TIMED_OUT = 12, NO_REPLY = 13,
  CALLER_GONE = 14, CLOSED = 15;
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

/** Where take() puts what it hands over, for the fast receive path. */
export interface ReceiveBatch {
  count: number;
  kind: Int32Array; // 1 message, 2 call, 3 notice
  node: Float64Array; // node name, or the notice's handle/node name
  badge: Float64Array; // badge, or derivedCount of a no-senders notice
  noticeType: Int32Array;
  offset: Int32Array; // payload offset in data
  length: Int32Array;
  replyHandle: Float64Array;
  handleCount: Int32Array;
  data: Uint8Array;
  dataUsed: number;
}

export function createReceiveBatch(max: number, dataBytes: number): ReceiveBatch {
  return {
    count: 0, kind: new Int32Array(max), node: new Float64Array(max), badge: new Float64Array(max),
    noticeType: new Int32Array(max), offset: new Int32Array(max), length: new Int32Array(max),
    replyHandle: new Float64Array(max), handleCount: new Int32Array(max), data: new Uint8Array(dataBytes), dataUsed: 0,
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

  /** Staged message of the current operation (no allocation on the hot path). */
  segs: Uint8Array[] = [];
  nsegs = 0;
  xfers: StagedTransfer[] = [];
  nxfers = 0;

  // Outputs of the last operation.
  outName = 0;
  outCall = 0;
  outTicket = 0;
  outCount = 0;
  outSkipped: number[] = [];

  /** In-process runner state: pending operations of this thread, and completions to report. */
  readonly local: LocalPending[] = [];
  readonly localCalls = new Map<number, LocalPending>();
  completions: Completion[] = [];
  /** Whether completions are collected (in-process runner) or left for the waiting thread. */
  collect = true;

  private wakeList: Int32Array;
  private wakeFlag: Uint8Array;
  private nwake = 0;
  private roomList: Int32Array;
  private nroom = 0;
  // scratch for arrivals
  readonly arrName: Float64Array;
  readonly arrKind: Int32Array;
  readonly arrRights: Int32Array;
  readonly arrState: Int32Array;
  arrCount = 0;
  arrReply = 0;
  /** Lock acquisition spins this many probes before sleeping: holds are short (sub-microsecond). */
  spinLock = 4000;

  constructor(readonly sab: SharedArrayBuffer, layout: L.Layout, readonly token: number) {
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
    this.replyStride = Math.ceil(layout.limits.maxPayloadBytes / 8) * 8;
    this.wakeList = new Int32Array(this.P);
    this.wakeFlag = new Uint8Array(this.P);
    this.roomList = new Int32Array(this.P);
    this.arrName = new Float64Array(this.M + 1);
    this.arrKind = new Int32Array(this.M + 1);
    this.arrRights = new Int32Array(this.M + 1);
    this.arrState = new Int32Array(this.M + 1);
    for (let i = 0; i < this.M; i++) this.xfers.push({ handle: 0, rights: -1, move: false });
  }

  /** Fill a fresh buffer: free lists of nodes and of every table slot. */
  initialize(): void {
    const I = this.I, Lo = this.L;
    I[L.HDR_MAGIC] = L.MAGIC;
    I[HDR_NEXT_PEER] = 1;
    for (let n = 0; n < Lo.maxNodes; n++) I[Lo.nodeBase + n * N_WORDS + N_NEXTFREE] = n + 1 < Lo.maxNodes ? n + 1 : NONE;
    I[HDR_NODE_FREE] = Lo.maxNodes > 0 ? 0 : NONE;
    for (let s = 0; s < this.P; s++) {
      const p = Lo.peerBase + s * P_WORDS;
      I[p + P_FREE] = 0;
      for (let t = 0; t < this.H; t++) {
        const h = this.hrec(s * this.H + t);
        I[h + H_GEN] = 1;
        I[h + H_NEXTFREE] = t + 1 < this.H ? t + 1 : NONE;
      }
    }
  }

  // ------------------------------------------------------------------ addressing
  pw(slot: number): number { return this.L.peerBase + slot * P_WORDS; }
  pf(slot: number): number { return this.L.fPeerBase + slot * PF_WORDS; }
  hrec(r: number): number { return this.L.handleBase + r * H_WORDS; }
  hf(r: number): number { return this.L.fHandleBase + r * HF_WORDS; }
  nrec(n: number): number { return this.L.nodeBase + n * N_WORDS; }
  nf(n: number): number { return this.L.fNodeBase + n * NF_WORDS; }
  crec(c: number): number { return this.L.callBase + c * this.L.callWords; }
  cf(c: number): number { return this.L.fCallBase + c * this.L.callFWords; }
  erec(slot: number, e: number): number { return this.L.entryBase + (slot * this.E + e) * this.L.entryWords; }
  ef(slot: number, e: number): number { return this.L.fEntryBase + (slot * this.E + e) * EF_WORDS; }
  qrec(dest: number, sender: number): number { return this.L.quotaBase + (dest * this.P + sender) * Q_WORDS; }
  ringBase(slot: number): number { return this.L.queueBytesBase + slot * this.QB; }
  replyBase(c: number): number { return this.L.replyBytesBase + c * this.replyStride; }

  // ------------------------------------------------------------------ undo journal
  /** A journaled i32 write (DESIGN.md: crash safety). */
  w(i: number, v: number): void {
    const I = this.I;
    const n = I[HDR_JLEN];
    if (n >= this.L.journalEntries) throw new Error('shm bus: undo journal overflow');
    const j = this.L.journalBase + 2 * n;
    I[j] = i;
    I[j + 1] = I[i];
    I[HDR_JLEN] = n + 1;
    I[i] = v;
  }

  /** A journaled f64 write. */
  wf(i: number, v: number): void {
    const I = this.I;
    const n = I[HDR_JLEN];
    if (n >= this.L.journalEntries) throw new Error('shm bus: undo journal overflow');
    this.F[this.L.fJournalBase + n] = this.F[i];
    I[this.L.journalBase + 2 * n] = -(i + 1);
    I[HDR_JLEN] = n + 1;
    this.F[i] = v;
  }

  /** Undo every journaled write of the interrupted operation, newest first. */
  rollback(): number {
    const I = this.I, F = this.F;
    const n = I[HDR_JLEN];
    for (let k = n - 1; k >= 0; k--) {
      const j = this.L.journalBase + 2 * k;
      const idx = I[j];
      if (idx >= 0) I[idx] = I[j + 1];
      else F[-idx - 1] = F[this.L.fJournalBase + k];
    }
    I[HDR_JLEN] = 0;
    return n;
  }

  // ------------------------------------------------------------------ the bus lock
  lock(): void {
    if (Atomics.compareExchange(this.I, HDR_LOCK, 0, this.token) !== 0) this.lockSlow();
  }

  private lockSlow(): void {
    const I = this.I;
    for (let i = 0; i < this.spinLock; i++) {
      if (Atomics.load(I, HDR_LOCK) === 0 && Atomics.compareExchange(I, HDR_LOCK, 0, this.token) === 0) return;
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

  /** Take the lock from a dead thread (or normally), rolling back what it left half done. */
  lockStealing(deadToken: number): number {
    const I = this.I;
    for (;;) {
      const v = Atomics.compareExchange(I, HDR_LOCK, deadToken, this.token);
      if (v === deadToken) return this.rollback();
      if (v === 0) { this.lock(); return 0; }
      Atomics.wait(I, HDR_LOCK, v, 5);
    }
  }

  unlock(): void {
    const I = this.I;
    I[HDR_JLEN] = 0; // commit
    Atomics.store(I, HDR_LOCK, 0);
    if (Atomics.load(I, HDR_LOCK_WAITERS) !== 0) Atomics.notify(I, HDR_LOCK, 1);
    this.flushWakes();
  }

  /** Leave after an exception: undo the partial operation (ATOMIC-1), then unlock. */
  abort(): void {
    this.rollback();
    this.nwake = 0;
    this.wakeFlag.fill(0);
    this.nroom = 0;
    this.unlock();
  }

  private wake(slot: number): void {
    if (this.wakeFlag[slot] === 0) { this.wakeFlag[slot] = 1; this.wakeList[this.nwake++] = slot; }
  }

  private roomFreed(slot: number): void {
    for (let i = 0; i < this.nroom; i++) if (this.roomList[i] === slot) return;
    this.roomList[this.nroom++] = slot;
  }

  /** Publish outcomes: bump each woken peer's futex word; notify only sleepers (issue fact 3). */
  private flushWakes(): void {
    const I = this.I;
    for (let i = 0; i < this.nwake; i++) {
      const slot = this.wakeList[i];
      this.wakeFlag[slot] = 0;
      const p = this.pw(slot);
      Atomics.add(I, p + P_WAKE, 1);
      if (Atomics.load(I, p + P_SLEEP) !== 0) Atomics.notify(I, p + P_WAKE);
    }
    this.nwake = 0;
    for (let i = 0; i < this.nroom; i++) {
      const p = this.pw(this.roomList[i]);
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
    if (!isName(name)) return NONE;
    const H = this.H;
    const t = name % H;
    const gen = (name - t) / H;
    const r = slot * H + t;
    const h = this.hrec(r);
    return this.I[h + H_GEN] === gen && this.I[h + H_STATE] === 2 ? r : NONE;
  }

  nameOf(r: number): number {
    return this.I[this.hrec(r) + H_GEN] * this.H + (r % this.H);
  }

  private allocSlot(slot: number): number {
    const I = this.I, p = this.pw(slot);
    const t = I[p + P_FREE];
    if (t === NONE) throw new Error('shm bus: handle table overflow (a room check was missed)');
    const r = slot * this.H + t;
    const h = this.hrec(r);
    this.w(p + P_FREE, I[h + H_NEXTFREE]);
    this.w(p + P_USED, I[p + P_USED] + 1);
    this.w(h + H_STATE, 1);
    return r;
  }

  private freeSlot(r: number): void {
    const I = this.I, h = this.hrec(r);
    const slot = (r / this.H) | 0;
    const p = this.pw(slot);
    this.w(h + H_STATE, 0);
    this.w(h + H_GEN, I[h + H_GEN] + 1); // the name never resolves again (RELEASE-1)
    this.w(h + H_NEXTFREE, I[p + P_FREE]);
    this.w(p + P_FREE, r % this.H);
    this.w(p + P_USED, I[p + P_USED] - 1);
  }

  /** Give a handle its name in its table (HANDLE-2), in placement order (CLOSE-3). */
  private place(r: number): number {
    const slot = (r / this.H) | 0;
    const pf = this.pf(slot);
    this.wf(pf + PF_PLACE, this.F[pf + PF_PLACE] + 1);
    this.wf(this.hf(r) + HF_PLACED, this.F[pf + PF_PLACE]);
    this.w(this.hrec(r) + H_STATE, 2);
    return this.nameOf(r);
  }

  private nextHandleSeq(): number {
    const i = this.L.fHeader + FH_HANDLE_SEQ;
    const v = this.F[i] + 1;
    this.wf(i, v);
    return v;
  }

  private linkChild(parent: number, child: number): void {
    const I = this.I, ph = this.hrec(parent), ch = this.hrec(child);
    const first = I[ph + H_CHILD];
    this.w(ch + H_PARENT, parent);
    this.w(ch + H_PREV, NONE);
    this.w(ch + H_NEXT, first);
    if (first !== NONE) this.w(this.hrec(first) + H_PREV, child);
    this.w(ph + H_CHILD, child);
  }

  /** Take a handle out of the derivation tree; its children re-attach to its parent (RELEASE-2). */
  private unlinkTree(r: number): void {
    const I = this.I, h = this.hrec(r);
    const parent = I[h + H_PARENT];
    // detach r from its siblings
    const prev = I[h + H_PREV], next = I[h + H_NEXT];
    if (prev !== NONE) this.w(this.hrec(prev) + H_NEXT, next);
    else if (parent !== NONE) this.w(this.hrec(parent) + H_CHILD, next);
    if (next !== NONE) this.w(this.hrec(next) + H_PREV, prev);
    // children move up
    let c = I[h + H_CHILD];
    while (c !== NONE) {
      const after = I[this.hrec(c) + H_NEXT];
      if (parent !== NONE) this.linkChild(parent, c);
      else {
        const ch = this.hrec(c);
        this.w(ch + H_PARENT, NONE);
        this.w(ch + H_PREV, NONE);
        this.w(ch + H_NEXT, NONE);
      }
      c = after;
    }
    this.w(h + H_CHILD, NONE);
    this.w(h + H_PARENT, NONE);
    this.w(h + H_PREV, NONE);
    this.w(h + H_NEXT, NONE);
  }

  /** A new node handle derived from `parent` (MINT-1, SEND-4, BUS-3), named or in flight. */
  private derive(parent: number, dest: number, mask: number, badge: number, named: boolean): number {
    const I = this.I, ph = this.hrec(parent);
    const node = I[ph + H_NODE];
    const r = this.allocSlot(dest);
    const h = this.hrec(r);
    this.w(h + H_KIND, KIND_NODE);
    this.w(h + H_STATUS, ST_LIVE);
    this.w(h + H_NODE, node);
    this.w(h + H_RIGHTS, mask);
    this.w(h + H_ROOT, 0);
    this.w(h + H_CHILD, NONE);
    this.linkChild(parent, r);
    const hf = this.hf(r);
    this.wf(hf + HF_BADGE, badge);
    this.wf(hf + HF_CREATED, this.nextHandleSeq());
    const n = this.nrec(node), nf = this.nf(node);
    this.wf(nf + NF_DERIVED, this.F[nf + NF_DERIVED] + 1);
    this.w(n + N_SENDERS, I[n + N_SENDERS] + 1);
    if (named) this.place(r);
    return r;
  }

  /** NOTICE-2: a live non-root handle stopped counting as a sender. */
  private senderGone(r: number): void {
    const I = this.I, h = this.hrec(r);
    if (I[h + H_KIND] !== KIND_NODE || I[h + H_ROOT] === 1) return;
    const node = I[h + H_NODE], n = this.nrec(node);
    if (I[n + N_STATE] !== 1) return;
    const left = I[n + N_SENDERS] - 1;
    this.w(n + N_SENDERS, left);
    if (left === 0) {
      const nf = this.nf(node);
      this.notice(I[n + N_OWNER], NOTICE_NO_SENDERS, this.F[nf + NF_NAME], this.F[nf + NF_DERIVED]);
    }
  }

  /** RELEASE-1..3, CALL-4: drop a handle wherever it is (table or flight). */
  private release(r: number): void {
    const I = this.I, h = this.hrec(r);
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
    this.freeSlot(r);
  }

  // ------------------------------------------------------------------ calls
  private freeCallIfDone(c: number): void {
    const I = this.I, cr = this.crec(c);
    if (I[cr + C_STATE] === 2 && I[cr + C_CALLER_HOLDS] === 0 && I[cr + C_REPLY] === NONE) {
      this.w(cr + C_STATE, 0);
      this.w(cr + C_GEN, I[cr + C_GEN] + 1);
    }
  }

  /** CALL-2: the one outcome of a call; its caller is woken (or, in-process, completed now). */
  private resolveCall(c: number, outcome: number): void {
    const I = this.I, cr = this.crec(c);
    this.w(cr + C_STATE, 2);
    this.w(cr + C_OUTCOME, outcome);
    this.wake(I[cr + C_CALLER]);
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
    const I = this.I, cr = this.crec(c);
    const outcome = I[cr + C_OUTCOME];
    if (outcome !== 0) return { ok: false, error: CODES[outcome] as ErrorCode };
    const bytes = I[cr + C_RBYTES];
    const base = this.replyBase(c);
    const payload = Buffer.from(this.B.buffer, base, bytes).toString('base64');
    const handles: ReceivedHandle[] = [];
    const cf = this.cf(c);
    for (let i = 0; i < I[cr + C_RNH]; i++) {
      const k = I[cr + C_RHANDLES + 3 * i], rights = I[cr + C_RHANDLES + 3 * i + 1];
      handles.push({ name: this.F[cf + CF_NAMES + i], kind: k === KIND_REPLY ? 'reply' : 'node', rights: rightsArray(rights), state: 'live' });
    }
    const reply: ReplyDelivery = { kind: 'reply', payload, handles };
    return { ok: true, value: { reply } };
  }

  /** The caller collected its outcome (sync flavour). */
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
    const I = this.I, p = this.pw(dest);
    const count = I[p + P_QCOUNT];
    if (count >= this.E) throw new Error('shm bus: receive queue entry ring full (notice reserve exhausted, NOTICE-4)');
    const e = I[p + P_QHEAD] + count;
    return e >= this.E ? e - this.E : e;
  }

  /** ORDER-1: the entry takes its place in the bus order; the receiver is woken after unlock. */
  private publishEntry(dest: number, e: number, bytes: number, message: boolean): void {
    const I = this.I, p = this.pw(dest);
    const seqI = this.L.fHeader + FH_SEQ;
    const seq = this.F[seqI] + 1;
    this.wf(seqI, seq);
    this.F[this.ef(dest, e) + EF_SEQ] = seq;
    this.w(p + P_QCOUNT, I[p + P_QCOUNT] + 1);
    if (message) {
      this.w(p + P_QMSGS, I[p + P_QMSGS] + 1);
      if (bytes > 0) this.w(p + P_QBYTES, I[p + P_QBYTES] + bytes);
    }
    this.wake(dest);
  }

  /** NOTICE-1: never limited (NOTICE-4); dropped for a closed peer, as in the model. */
  private notice(dest: number, type: number, name: number, derived: number): void {
    if (this.I[this.pw(dest) + P_STATUS] !== 1) return;
    const e = this.reserveEntry(dest);
    const er = this.erec(dest, e), ef = this.ef(dest, e);
    const I = this.I, F = this.F;
    I[er + E_KIND] = ENTRY_NOTICE;
    I[er + E_NTYPE] = type;
    I[er + E_BYTES] = 0;
    I[er + E_NH] = 0;
    I[er + E_REPLY] = NONE;
    F[ef + EF_NAME] = name;
    F[ef + EF_BADGE] = derived;
    this.publishEntry(dest, e, 0, false);
  }

  /** QUOTA-1: 0 when there is room; 1 for capacity, 2 for the sender's quota. */
  roomFor(dest: number, sender: number, senderId: number, messages: number, bytes: number): number {
    const I = this.I, p = this.pw(dest), lim = this.L.limits;
    if (I[p + P_QMSGS] + messages > lim.queueCapacityMessages || I[p + P_QBYTES] + bytes > lim.queueCapacityBytes) return 1;
    const q = this.qrec(dest, sender);
    const mine = I[q + Q_ID] === senderId ? I[q + Q_MSGS] : 0;
    const mineBytes = I[q + Q_ID] === senderId ? I[q + Q_BYTES] : 0;
    if (mine + messages > lim.senderQuotaMessages || mineBytes + bytes > lim.senderQuotaBytes) return 2;
    return 0;
  }

  private quotaAdd(dest: number, sender: number, senderId: number, bytes: number): void {
    const I = this.I, q = this.qrec(dest, sender);
    if (I[q + Q_ID] !== senderId) { this.w(q + Q_ID, senderId); this.w(q + Q_MSGS, 0); this.w(q + Q_BYTES, 0); }
    this.w(q + Q_MSGS, I[q + Q_MSGS] + 1);
    if (bytes > 0) this.w(q + Q_BYTES, I[q + Q_BYTES] + bytes);
  }

  private quotaSub(dest: number, sender: number, senderId: number, bytes: number): void {
    const I = this.I, q = this.qrec(dest, sender);
    if (I[q + Q_ID] !== senderId) return; // that sender closed and its slot has a new peer
    this.w(q + Q_MSGS, I[q + Q_MSGS] - 1);
    if (bytes > 0) this.w(q + Q_BYTES, I[q + Q_BYTES] - bytes);
  }

  /** Copy the staged segments into a queue's byte ring at its tail (the one copy, SEND-2). */
  private copyIn(dest: number, bytes: number): number {
    const I = this.I, p = this.pw(dest), QB = this.QB;
    let off = I[p + P_BHEAD] + I[p + P_QBYTES];
    if (off >= QB) off -= QB;
    const base = this.ringBase(dest), B = this.B;
    let at = off;
    for (let s = 0; s < this.nsegs; s++) {
      const seg = this.segs[s];
      const n = seg.length;
      const first = Math.min(n, QB - at);
      if (n <= 16) { for (let k = 0; k < first; k++) B[base + at + k] = seg[k]; }
      else B.set(first === n ? seg : seg.subarray(0, first), base + at);
      if (first < n) { B.set(seg.subarray(first), base); at = n - first; }
      else { at += n; if (at === QB) at = 0; }
    }
    return off;
  }

  /** Copy a queued payload out of the ring into `dst` at `dstOff`. */
  copyOut(slot: number, off: number, n: number, dst: Uint8Array, dstOff: number): void {
    const base = this.ringBase(slot), QB = this.QB, B = this.B;
    const first = Math.min(n, QB - off);
    if (n <= 16 && first === n) { for (let k = 0; k < n; k++) dst[dstOff + k] = B[base + off + k]; return; }
    dst.set(B.subarray(base + off, base + off + first), dstOff);
    if (first < n) dst.set(B.subarray(base, base + n - first), dstOff + first);
  }

  private payloadBase64(slot: number, off: number, n: number): string {
    if (n === 0) return '';
    const tmp = new Uint8Array(n);
    this.copyOut(slot, off, n, tmp, 0);
    return Buffer.from(tmp.buffer, 0, n).toString('base64');
  }

  /** Release everything a discarded entry carries (DESTROY-3, CLOSE-4). */
  private discardHandles(slot: number, e: number): void {
    const I = this.I, er = this.erec(slot, e);
    if (I[er + E_KIND] === ENTRY_NOTICE) return;
    const nh = I[er + E_NH];
    for (let i = 0; i < nh; i++) this.release(I[er + E_HANDLES + i]);
    if (I[er + E_KIND] === ENTRY_CALL) this.release(I[er + E_REPLY]);
  }

  /**
   * Pop the oldest entry of a queue (RECV-1), making its handles arrive (RECV-3):
   * names into arr* scratch, dead/revoked ones freed. Returns the entry index, still
   * readable (payload included) until the lock is released.
   */
  popHead(slot: number): number {
    const I = this.I, p = this.pw(slot);
    const e = I[p + P_QHEAD];
    const er = this.erec(slot, e);
    this.arrCount = 0;
    this.arrReply = 0;
    if (I[er + E_KIND] !== ENTRY_NOTICE) {
      const nh = I[er + E_NH];
      for (let i = 0; i < nh; i++) this.arrive(I[er + E_HANDLES + i]);
      if (I[er + E_KIND] === ENTRY_CALL) this.arrReply = this.place(I[er + E_REPLY]);
      const bytes = I[er + E_BYTES];
      this.quotaSub(slot, I[er + E_SENDER], I[er + E_SENDER_ID], bytes);
      this.w(p + P_QMSGS, I[p + P_QMSGS] - 1);
      if (bytes > 0) {
        this.w(p + P_QBYTES, I[p + P_QBYTES] - bytes);
        let bh = I[p + P_BHEAD] + bytes;
        if (bh >= this.QB) bh -= this.QB;
        this.w(p + P_BHEAD, bh);
      }
      this.roomFreed(slot);
    }
    const nh = e + 1;
    this.w(p + P_QHEAD, nh === this.E ? 0 : nh);
    this.w(p + P_QCOUNT, I[p + P_QCOUNT] - 1);
    return e;
  }

  private arrive(r: number): void {
    const I = this.I, h = this.hrec(r), i = this.arrCount++;
    this.arrKind[i] = I[h + H_KIND];
    this.arrRights[i] = I[h + H_KIND] === KIND_REPLY ? 0 : I[h + H_RIGHTS];
    const st = I[h + H_KIND] === KIND_REPLY ? ST_LIVE : I[h + H_STATUS];
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
    const I = this.I, F = this.F, p = this.pw(slot), E = this.E, ew = this.L.entryWords;
    const count = I[p + P_QCOUNT];
    if (count === 0) return;
    let any = false;
    const head = I[p + P_QHEAD];
    for (let i = 0; i < count; i++) {
      const er = this.erec(slot, (head + i) % E);
      if (I[er + E_KIND] !== ENTRY_NOTICE && I[er + E_NODE] === node) { any = true; break; }
    }
    if (!any) return;
    // Snapshot the entries and payloads, then rewrite the kept ones compactly.
    const keptI: Int32Array[] = [], keptF: Float64Array[] = [], keptBytes: Uint8Array[] = [], dropped: number[] = [];
    for (let i = 0; i < count; i++) {
      const e = (head + i) % E;
      const er = this.erec(slot, e), ef = this.ef(slot, e);
      if (I[er + E_KIND] !== ENTRY_NOTICE && I[er + E_NODE] === node) { dropped.push(e); continue; }
      keptI.push(I.slice(er, er + ew));
      keptF.push(F.slice(ef, ef + EF_WORDS));
      const n = I[er + E_BYTES];
      const b = new Uint8Array(n);
      if (n > 0) this.copyOut(slot, I[er + E_OFF], n, b, 0);
      keptBytes.push(b);
    }
    // Accounting of the dropped entries, then their handles (after the queue is consistent).
    const droppedInfo = dropped.map((e) => {
      const er = this.erec(slot, e);
      return { sender: I[er + E_SENDER], senderId: I[er + E_SENDER_ID], bytes: I[er + E_BYTES], handles: I.slice(er + E_HANDLES, er + E_HANDLES + I[er + E_NH]), kind: I[er + E_KIND], reply: I[er + E_REPLY] };
    });
    let off = I[p + P_BHEAD];
    let msgs = 0, bytes = 0;
    for (let k = 0; k < keptI.length; k++) {
      const e = (head + k) % E;
      const er = this.erec(slot, e), ef = this.ef(slot, e);
      for (let j = 0; j < ew; j++) this.w(er + j, keptI[k][j]);
      for (let j = 0; j < EF_WORDS; j++) this.wf(ef + j, keptF[k][j]);
      const n = keptBytes[k].length;
      if (keptI[k][E_KIND] !== ENTRY_NOTICE) {
        msgs++;
        bytes += n;
        this.w(er + E_OFF, off);
        const base = this.ringBase(slot);
        const first = Math.min(n, this.QB - off);
        this.B.set(keptBytes[k].subarray(0, first), base + off);
        if (first < n) this.B.set(keptBytes[k].subarray(first), base);
        off = (off + n) % this.QB;
      }
    }
    this.w(p + P_QCOUNT, keptI.length);
    this.w(p + P_QMSGS, msgs);
    this.w(p + P_QBYTES, bytes);
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
    const I = this.I, F = this.F, n = this.nrec(node);
    const owner = I[n + N_OWNER];
    this.w(n + N_STATE, 2);
    // DESTROY-4: pending calls (and the runner's blocked sends) to the node fail DEAD, in ticket order.
    const dying: { ticket: number; call: number; lp: LocalPending | null }[] = [];
    const calls = this.P * this.K;
    for (let c = 0; c < calls; c++) {
      const cr = this.crec(c);
      if (I[cr + C_STATE] === 1 && I[cr + C_NODE] === node) dying.push({ ticket: F[this.cf(c) + CF_TICKET], call: c, lp: null });
    }
    for (const lp of this.local) {
      if (lp.kind !== 'send') continue;
      const r = this.lookup(lp.slot, lp.handle);
      if (r !== NONE && I[this.hrec(r) + H_KIND] === KIND_NODE && I[this.hrec(r) + H_NODE] === node) dying.push({ ticket: lp.ticket, call: NONE, lp });
    }
    dying.sort((a, b) => a.ticket - b.ticket);
    for (const d of dying) {
      if (d.lp === null) this.resolveCall(d.call, DEAD);
      else { this.removeLocal(d.lp); this.pushCompletion(d.lp, { ok: false, error: 'DEAD' }); }
    }
    // DESTROY-2: every other live handle dies; holders in tables get a notice (NOTICE-5 order).
    const affected: number[] = [];
    const total = this.P * this.H;
    for (let r = 0; r < total; r++) {
      const h = this.hrec(r);
      if (I[h + H_STATE] !== 0 && I[h + H_KIND] === KIND_NODE && I[h + H_NODE] === node && I[h + H_STATUS] === ST_LIVE && r !== consumed) affected.push(r);
    }
    affected.sort((a, b) => F[this.hf(a) + HF_CREATED] - F[this.hf(b) + HF_CREATED]);
    for (const r of affected) {
      const h = this.hrec(r);
      this.w(h + H_STATUS, ST_DEAD);
      if (I[h + H_STATE] === 2) this.notice((r / this.H) | 0, NOTICE_DESTROYED, this.nameOf(r), 0);
    }
    if (consumed !== NONE) this.release(consumed);
    this.w(n + N_SENDERS, 0);
    // DESTROY-3
    this.discardNodeEntries(owner, node);
    // The record is free: no live handle, queued entry or pending call refers to it any more.
    this.w(n + N_STATE, 0);
    this.w(n + N_NEXTFREE, I[HDR_NODE_FREE]);
    this.w(HDR_NODE_FREE, node);
  }

  // ------------------------------------------------------------------ checks shared by send, call, reply, multicast
  /** SEND-4, SEND-6: every transfer in order. */
  private transferError(slot: number, allowReply: boolean): number {
    const I = this.I;
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      const r = this.lookup(slot, t.handle);
      if (r === NONE) return BAD_HANDLE;
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
    const h = this.hrec(r), I = this.I;
    if (I[h + H_KIND] !== kind) return -WRONG_KIND;
    if (I[h + H_STATUS] === ST_REVOKED) return -REVOKED;
    if (I[h + H_STATUS] === ST_DEAD) return -DEAD;
    return r;
  }

  private tableRoom(slot: number, incoming: number): boolean {
    return incoming === 0 || this.I[this.pw(slot) + P_USED] + incoming <= this.H;
  }

  /** Put a message's handles in flight to `dest` and enqueue it (post in the model). */
  private post(slot: number, peerId: number, target: number, kind: number, bytes: number): number {
    const I = this.I, F = this.F, th = this.hrec(target);
    const node = I[th + H_NODE], n = this.nrec(node);
    const dest = I[n + N_OWNER];
    const e = this.reserveEntry(dest);
    const er = this.erec(dest, e), ef = this.ef(dest, e);
    I[er + E_KIND] = kind;
    I[er + E_SENDER] = slot;
    I[er + E_SENDER_ID] = peerId;
    I[er + E_NODE] = node;
    I[er + E_BYTES] = bytes;
    I[er + E_OFF] = bytes > 0 ? this.copyIn(dest, bytes) : 0;
    I[er + E_NH] = this.nxfers;
    I[er + E_REPLY] = NONE;
    F[ef + EF_NAME] = F[this.nf(node) + NF_NAME];
    F[ef + EF_BADGE] = F[this.hf(target) + HF_BADGE];
    const cred = I[n + N_CRED];
    I[er + E_CRED] = cred;
    if (cred === 1) { // CRED-1: stamped by the bus
      const pf = this.pf(slot);
      F[ef + EF_UID] = F[pf + PF_UID]; F[ef + EF_GID] = F[pf + PF_GID]; F[ef + EF_PID] = F[pf + PF_PID];
    }
    if (this.nxfers > 0) this.carry(slot, dest, er);
    this.quotaAdd(dest, slot, peerId, bytes);
    this.publishEntry(dest, e, bytes, true);
    if (this.nxfers > 0) this.releaseMoved(slot);
    return e;
  }

  private carry(slot: number, dest: number, er: number): void {
    const I = this.I;
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      const r = this.lookup(slot, t.handle);
      const h = this.hrec(r);
      let carried: number;
      if (I[h + H_KIND] === KIND_REPLY) carried = this.moveReply(r, dest, false); // CALL-5
      else carried = this.derive(r, dest, t.rights >= 0 ? t.rights : I[h + H_RIGHTS], this.F[this.hf(r) + HF_BADGE], false);
      I[er + E_HANDLES + i] = carried;
    }
  }

  /** CALL-5: a reply handle travels to another table, bound to the same call. */
  private moveReply(r: number, dest: number, named: boolean): number {
    const I = this.I, h = this.hrec(r);
    const nr = this.allocSlot(dest);
    const nh = this.hrec(nr);
    this.w(nh + H_KIND, KIND_REPLY);
    this.w(nh + H_STATUS, ST_LIVE);
    this.w(nh + H_CALL, I[h + H_CALL]);
    this.w(nh + H_CALLGEN, I[h + H_CALLGEN]);
    this.w(nh + H_PARENT, NONE);
    this.w(nh + H_CHILD, NONE);
    this.w(nh + H_NEXT, NONE);
    this.w(nh + H_PREV, NONE);
    this.wf(this.hf(nr) + HF_CREATED, this.F[this.hf(r) + HF_CREATED]);
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
  attachLocked(id: number, cred: { uid: number; gid: number; pid: number }, grants: { slot: number; handle: number; rights: number; badge: number }[], token: number): number {
    const I = this.I;
    // peer table room
    let slot = NONE, open = 0;
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
    const p = this.pw(slot), pf = this.pf(slot);
    this.w(p + P_ID, id);
    this.w(p + P_STATUS, 1);
    this.w(p + P_QHEAD, 0); this.w(p + P_QCOUNT, 0); this.w(p + P_QMSGS, 0); this.w(p + P_QBYTES, 0); this.w(p + P_BHEAD, 0);
    this.w(p + L.P_TOKEN, token);
    this.wf(pf + PF_UID, cred.uid); this.wf(pf + PF_GID, cred.gid); this.wf(pf + PF_PID, cred.pid);
    this.wf(pf + PF_PLACE, 0);
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
    const n = this.nrec(node), nf = this.nf(node);
    this.w(HDR_NODE_FREE, I[n + N_NEXTFREE]);
    const r = this.allocSlot(slot);
    const h = this.hrec(r);
    this.w(h + H_KIND, KIND_NODE);
    this.w(h + H_STATUS, ST_LIVE);
    this.w(h + H_NODE, node);
    this.w(h + H_RIGHTS, R_SEND | R_GRANT);
    this.w(h + H_ROOT, 1);
    this.w(h + H_PARENT, NONE); this.w(h + H_CHILD, NONE); this.w(h + H_NEXT, NONE); this.w(h + H_PREV, NONE);
    this.wf(this.hf(r) + HF_BADGE, 0);
    this.wf(this.hf(r) + HF_CREATED, this.nextHandleSeq());
    const name = this.place(r);
    this.w(n + N_STATE, 1);
    this.w(n + N_OWNER, slot);
    this.w(n + N_ROOT, r);
    this.w(n + N_CRED, credentials ? 1 : 0);
    this.w(n + N_SENDERS, 0);
    this.wf(nf + NF_NAME, name);
    this.wf(nf + NF_DERIVED, 0);
    const seqI = this.L.fHeader + FH_NODE_SEQ;
    this.wf(seqI, this.F[seqI] + 1);
    this.wf(nf + NF_CREATED, this.F[seqI]);
    this.outName = name;
    return OK;
  }

  mintLocked(slot: number, handle: number, mask: number, badge: number): number {
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I, h = this.hrec(r);
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
    const I = this.I, F = this.F;
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
      if (I[h + H_STATE] === 2) this.notice((d / this.H) | 0, NOTICE_REVOKED, this.nameOf(d), 0); // REVOKE-2
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

  /** The checks of send and call after the peer and shape checks (ERR-1), then the effect. */
  sendLocked(slot: number, peerId: number, handle: number, block: boolean): number {
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I, h = this.hrec(r);
    if ((I[h + H_RIGHTS] & R_SEND) === 0) return NO_RIGHTS;
    if (this.nxfers > 0) {
      const te = this.transferError(slot, true);
      if (te !== OK) return te;
    }
    const dest = I[this.nrec(I[h + H_NODE]) + N_OWNER];
    if (!this.tableRoom(dest, this.nxfers)) return TABLE_FULL;
    if (this.roomFor(dest, slot, peerId, 1, bytes) !== 0) return block ? BLOCKED : QUEUE_FULL;
    this.post(slot, peerId, r, ENTRY_MESSAGE, bytes);
    return OK;
  }

  /** The capacity-or-quota cause of a blocked send to `handle` (SEND-7 FIFO rule); 0 if none. */
  blockCause(slot: number, peerId: number, handle: number): { dest: number; cause: number } {
    const r = this.lookup(slot, handle);
    if (r === NONE || this.I[this.hrec(r) + H_KIND] !== KIND_NODE || this.I[this.hrec(r) + H_STATUS] !== ST_LIVE) return { dest: NONE, cause: 0 };
    const dest = this.I[this.nrec(this.I[this.hrec(r) + H_NODE]) + N_OWNER];
    return { dest, cause: this.roomFor(dest, slot, peerId, 1, this.stagedBytes()) };
  }

  destOfHandle(slot: number, handle: number): number {
    const r = this.lookup(slot, handle);
    if (r === NONE || this.I[this.hrec(r) + H_KIND] !== KIND_NODE || this.I[this.hrec(r) + H_STATUS] !== ST_LIVE) return NONE;
    return this.I[this.nrec(this.I[this.hrec(r) + H_NODE]) + N_OWNER];
  }

  callLocked(slot: number, peerId: number, handle: number): number {
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const r = this.usable(slot, handle, KIND_NODE);
    if (r < 0) return -r;
    const I = this.I, F = this.F, h = this.hrec(r);
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
    for (let k = 0; k < this.K; k++) if (I[this.crec(slot * this.K + k) + C_STATE] === 0) { c = slot * this.K + k; break; }
    if (c === NONE) return QUEUE_FULL; // departure: callSlotsPerPeer pending calls at most (DESIGN.md)
    const ticketI = this.L.fHeader + FH_TICKET;
    const ticket = F[ticketI] + 1;
    this.wf(ticketI, ticket);
    const e = this.post(slot, peerId, r, ENTRY_CALL, bytes);
    const rr = this.allocSlot(dest);
    const rh = this.hrec(rr);
    const cr = this.crec(c);
    this.w(rh + H_KIND, KIND_REPLY);
    this.w(rh + H_STATUS, ST_LIVE);
    this.w(rh + H_CALL, c);
    this.w(rh + H_CALLGEN, I[cr + C_GEN]);
    this.w(rh + H_PARENT, NONE); this.w(rh + H_CHILD, NONE); this.w(rh + H_NEXT, NONE); this.w(rh + H_PREV, NONE);
    this.wf(this.hf(rr) + HF_CREATED, this.nextHandleSeq());
    this.w(this.erec(dest, e) + E_REPLY, rr); // still owned by this operation: journaled, as it is published
    this.w(cr + C_STATE, 1);
    this.w(cr + C_CALLER, slot);
    this.w(cr + C_CALLER_ID, peerId);
    this.w(cr + C_NODE, node);
    this.w(cr + C_REPLY, rr);
    this.w(cr + C_CALLER_HOLDS, 1);
    this.w(cr + C_OUTCOME, 0);
    this.wf(this.cf(c) + CF_TICKET, ticket);
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
    const I = this.I, h = this.hrec(r);
    const c = I[h + H_CALL], cr = this.crec(c);
    if (I[cr + C_STATE] !== 1) { // CALL-4: consumes r
      this.consumeReply(r);
      return CALLER_GONE;
    }
    const caller = I[cr + C_CALLER];
    if (!this.tableRoom(caller, this.nxfers)) return TABLE_FULL;
    // CALL-6: straight into the caller's reply area, handles straight into its table.
    const base = this.replyBase(c);
    let at = base;
    for (let s = 0; s < this.nsegs; s++) { this.B.set(this.segs[s], at); at += this.segs[s].length; }
    const cf = this.cf(c);
    const carried: number[] = [];
    for (let i = 0; i < this.nxfers; i++) {
      const t = this.xfers[i];
      const tr = this.lookup(slot, t.handle);
      const th = this.hrec(tr);
      let nr: number;
      if (I[th + H_KIND] === KIND_REPLY) nr = this.moveReply(tr, caller, true);
      else nr = this.derive(tr, caller, t.rights >= 0 ? t.rights : I[th + H_RIGHTS], this.F[this.hf(tr) + HF_BADGE], true);
      carried.push(nr);
      const nh = this.hrec(nr);
      this.w(cr + C_RHANDLES + 3 * i, I[nh + H_KIND]);
      this.w(cr + C_RHANDLES + 3 * i + 1, I[nh + H_KIND] === KIND_REPLY ? 0 : I[nh + H_RIGHTS]);
      this.w(cr + C_RHANDLES + 3 * i + 2, ST_LIVE);
      this.wf(cf + CF_NAMES + i, this.nameOf(nr));
    }
    this.w(cr + C_RBYTES, bytes);
    this.w(cr + C_RNH, this.nxfers);
    this.releaseMoved(slot);
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

  /** MCAST-1..5; `names` already checked for shape (non-empty, no duplicates, no move). */
  multicastLocked(slot: number, peerId: number, names: readonly number[]): number {
    const bytes = this.stagedBytes();
    if (bytes > this.L.limits.maxPayloadBytes) return TOO_LARGE;
    if (this.nxfers > this.M) return TOO_MANY_HANDLES;
    const I = this.I;
    const recs: number[] = [];
    for (const name of names) {
      const r = this.lookup(slot, name);
      if (r === NONE) return BAD_HANDLE;
      const h = this.hrec(r);
      if (I[h + H_KIND] !== KIND_NODE) return WRONG_KIND;
      if (I[h + H_STATUS] === ST_REVOKED) return REVOKED;
      if ((I[h + H_RIGHTS] & R_SEND) === 0) return NO_RIGHTS;
      recs.push(r);
    }
    if (this.nxfers > 0) {
      const te = this.transferError(slot, false);
      if (te !== OK) return te;
    }
    // per live destination peer: copies needed (MCAST-4)
    const need = new Map<number, number>();
    for (const r of recs) {
      if (I[this.hrec(r) + H_STATUS] !== ST_LIVE) continue;
      const d = I[this.nrec(I[this.hrec(r) + H_NODE]) + N_OWNER];
      need.set(d, (need.get(d) ?? 0) + 1);
    }
    if (this.nxfers > 0) for (const [d, k] of need) if (!this.tableRoom(d, k * this.nxfers)) return TABLE_FULL;
    for (const [d, k] of need) if (this.roomFor(d, slot, peerId, k, k * bytes) !== 0) return QUEUE_FULL;
    const skipped: number[] = [];
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i];
      if (I[this.hrec(r) + H_STATUS] !== ST_LIVE) { skipped.push(names[i]); continue; }
      this.post(slot, peerId, r, ENTRY_MESSAGE, bytes); // MCAST-3, ORDER-3: consecutive places
    }
    this.outSkipped = skipped;
    return OK;
  }

  /** RECV-1: take up to max entries as spec deliveries. */
  takeDeliveries(slot: number, max: number): Delivery[] {
    const I = this.I, F = this.F, p = this.pw(slot);
    const out: Delivery[] = [];
    while (out.length < max && I[p + P_QCOUNT] > 0) {
      const e = this.popHead(slot);
      const er = this.erec(slot, e), ef = this.ef(slot, e);
      const kind = I[er + E_KIND];
      if (kind === ENTRY_NOTICE) {
        const t = I[er + E_NTYPE];
        if (t === NOTICE_NO_SENDERS) out.push({ kind: 'notice', notice: { type: 'no-senders', node: F[ef + EF_NAME], derivedCount: F[ef + EF_BADGE] } });
        else out.push({ kind: 'notice', notice: { type: t === NOTICE_DESTROYED ? 'node-destroyed' : 'revoked', handle: F[ef + EF_NAME] } });
        continue;
      }
      const handles: ReceivedHandle[] = [];
      for (let i = 0; i < this.arrCount; i++) {
        const st = this.arrState[i];
        handles.push({
          name: st === ST_LIVE ? this.arrName[i] : null, kind: this.arrKind[i] === KIND_REPLY ? 'reply' : 'node',
          rights: rightsArray(this.arrRights[i]), state: st === ST_LIVE ? 'live' : st === ST_DEAD ? 'dead' : 'revoked',
        });
      }
      const payload = this.payloadBase64(slot, I[er + E_OFF], I[er + E_BYTES]);
      const base: Record<string, unknown> = { node: F[ef + EF_NAME], badge: F[ef + EF_BADGE] };
      if (I[er + E_CRED] === 1) base.credentials = { uid: F[ef + EF_UID], gid: F[ef + EF_GID], pid: F[ef + EF_PID] };
      base.payload = payload;
      base.handles = handles;
      if (kind === ENTRY_CALL) out.push({ kind: 'call', ...base, replyHandle: this.arrReply } as Delivery);
      else out.push({ kind: 'message', ...base } as Delivery);
    }
    return out;
  }

  /** RECV-1, the fast path: up to max entries into a preallocated batch, payloads copied once out of the ring. */
  takeBatch(slot: number, max: number, batch: ReceiveBatch): number {
    const I = this.I, F = this.F, p = this.pw(slot);
    let n = 0, used = 0;
    const cap = batch.data.length;
    while (n < max && I[p + P_QCOUNT] > 0) {
      const er0 = this.erec(slot, I[p + P_QHEAD]);
      const bytes = I[er0 + E_KIND] === ENTRY_NOTICE ? 0 : I[er0 + E_BYTES];
      if (used + bytes > cap && n > 0) break;
      const e = this.popHead(slot);
      const er = this.erec(slot, e), ef = this.ef(slot, e);
      const kind = I[er + E_KIND];
      batch.kind[n] = kind;
      batch.node[n] = F[ef + EF_NAME];
      batch.badge[n] = F[ef + EF_BADGE];
      batch.noticeType[n] = kind === ENTRY_NOTICE ? I[er + E_NTYPE] : 0;
      batch.offset[n] = used;
      batch.length[n] = bytes;
      batch.handleCount[n] = this.arrCount;
      batch.replyHandle[n] = kind === ENTRY_CALL ? this.arrReply : -1;
      if (bytes > 0) { this.copyOut(slot, I[er + E_OFF], bytes, batch.data, used); used += bytes; }
      n++;
    }
    batch.count = n;
    batch.dataUsed = used;
    return n;
  }

  queued(slot: number): number {
    return this.I[this.pw(slot) + P_QCOUNT];
  }

  /** CLOSE-1..4. `closeOwn` completes this thread's own pending operations of the peer. */
  closeLocked(slot: number, peerId: number): number {
    const I = this.I, F = this.F, p = this.pw(slot);
    // CLOSE-1: pending calls (in the bus) and this thread's blocked sends and receives, in ticket order.
    const own: { ticket: number; call: number; lp: LocalPending | null }[] = [];
    const calls = this.P * this.K;
    for (let c = 0; c < calls; c++) {
      const cr = this.crec(c);
      if (I[cr + C_STATE] === 1 && I[cr + C_CALLER] === slot && I[cr + C_CALLER_ID] === peerId) own.push({ ticket: F[this.cf(c) + CF_TICKET], call: c, lp: null });
    }
    for (const lp of this.local) if (lp.slot === slot && lp.peerId === peerId && lp.kind !== 'call') own.push({ ticket: lp.ticket, call: NONE, lp });
    own.sort((a, b) => a.ticket - b.ticket);
    for (const o of own) {
      if (o.lp === null) this.resolveCall(o.call, CLOSED);
      else { this.removeLocal(o.lp); this.pushCompletion(o.lp, { ok: false, error: 'CLOSED' }); }
    }
    // A caller that closed no longer collects outcomes.
    for (let k = 0; k < this.K; k++) {
      const c = slot * this.K + k, cr = this.crec(c);
      if (I[cr + C_STATE] === 2 && I[cr + C_CALLER_ID] === peerId && I[cr + C_CALLER_HOLDS] === 1) {
        this.w(cr + C_CALLER_HOLDS, 0);
        this.freeCallIfDone(c);
      }
    }
    this.w(p + P_STATUS, 2);
    this.wake(slot);
    // CLOSE-2: its nodes die, in creation order.
    const nodes: number[] = [];
    for (let n = 0; n < this.L.maxNodes; n++) if (I[this.nrec(n) + N_STATE] === 1 && I[this.nrec(n) + N_OWNER] === slot) nodes.push(n);
    nodes.sort((a, b) => F[this.nf(a) + NF_CREATED] - F[this.nf(b) + NF_CREATED]);
    for (const n of nodes) this.destroy(n, NONE);
    // CLOSE-3: its handles are released, in name order.
    const named: number[] = [];
    for (let t = 0; t < this.H; t++) if (I[this.hrec(slot * this.H + t) + H_STATE] === 2) named.push(slot * this.H + t);
    named.sort((a, b) => F[this.hf(a) + HF_PLACED] - F[this.hf(b) + HF_PLACED]);
    for (const r of named) if (I[this.hrec(r) + H_STATE] === 2) this.release(r);
    // CLOSE-4: its queue is discarded, in order.
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
      }
    }
    this.w(p + P_BHEAD, 0);
    this.roomFreed(slot);
    if (I[p + P_USED] !== 0) throw new Error(`shm bus: peer ${peerId} closed with ${I[p + P_USED]} table slots still used`);
    return OK;
  }

  /** Leak audit for tests: what is still allocated. */
  audit(): { peersOpen: number; handles: number; nodes: number; calls: number; queued: number } {
    const I = this.I;
    let peersOpen = 0, handles = 0, nodes = 0, calls = 0, queued = 0;
    for (let s = 0; s < this.P; s++) {
      if (I[this.pw(s) + P_STATUS] === 1) peersOpen++;
      queued += I[this.pw(s) + P_QCOUNT];
    }
    for (let r = 0; r < this.P * this.H; r++) if (I[this.hrec(r) + H_STATE] !== 0) handles++;
    for (let n = 0; n < this.L.maxNodes; n++) if (I[this.nrec(n) + N_STATE] !== 0) nodes++;
    for (let c = 0; c < this.P * this.K; c++) if (I[this.crec(c) + C_STATE] !== 0) calls++;
    return { peersOpen, handles, nodes, calls, queued };
  }

  // ------------------------------------------------------------------ waiting
  /** The current value of a peer's wake word (read before checking, then wait on it). */
  wakeValue(slot: number): number {
    return Atomics.load(this.I, this.pw(slot) + P_WAKE);
  }

  roomValue(slot: number): number {
    return Atomics.load(this.I, this.pw(slot) + P_ROOM);
  }

  sleepForRoom(dest: number, seen: number, timeoutMs: number): void {
    const I = this.I, p = this.pw(dest);
    Atomics.add(I, p + P_ROOM_WAITERS, 1);
    if (Atomics.load(I, p + P_ROOM) === seen) Atomics.wait(I, p + P_ROOM, seen, timeoutMs);
    Atomics.sub(I, p + P_ROOM_WAITERS, 1);
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

  /** The fast path's view of a resolved call: reply bytes copied into out; -code for an error. */
  replyInto(c: number, out: Uint8Array): number {
    const cr = this.crec(c);
    const outcome = this.I[cr + C_OUTCOME];
    if (outcome !== 0) return -outcome;
    const n = this.I[cr + C_RBYTES];
    const base = this.replyBase(c);
    const k = Math.min(n, out.length);
    if (k <= 16) for (let i = 0; i < k; i++) out[i] = this.B[base + i];
    else out.set(this.B.subarray(base, base + k));
    return n;
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
