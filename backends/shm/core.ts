// One thread's core of the shared-memory bus: its views over the buffer (records.ts),
// its thread token and the bus lock (lock.ts), its undo journal (journal.ts), what
// its lock holds publish once committed (wakeups.ts), the message staged for the
// current operation, and the registers operations leave their outputs in. Every
// thread that runs peers builds its own BusCore over the same buffer (DESIGN.md);
// nothing a peer can observe lives outside the buffer.
//
// The operations themselves are functions over a BusCore, one module per concern:
// tables (handles and names), queues (entry rings, byte rings, quotas), notices,
// calls, release, destroy, post (send path), handoff (ReplyRecv mailboxes),
// receive, multicast, and operations (the spec's operations, checks then effects).
//
// Discipline (DESIGN.md): every control word written while holding the lock is
// written through the journal, so a holder that dies mid-operation can be rolled
// back by the bus owner. Three kinds of words are written plainly: words nothing
// refers to yet (entry fields and payload bytes past a queue's published tail,
// reply areas of pending calls, the fields of a record just taken from a free list:
// a rollback puts the record back and every allocation sets them again); order
// counters that only need to grow (a gap left by a rollback is harmless); and fields
// of a record being retired. Checks run first, in ERR-1 order, and change nothing;
// effects run only after every check passed (ATOMIC-1).
import type { ErrorCode } from '../../spec/types';
import { MessageRead } from '../common';
import * as layout from './layout';
import { type Layout, writeSizing } from './layout';
import { UndoJournal } from './journal';
import { BusLock } from './lock';
import { BusRecords } from './records';
import { Wakeups } from './wakeups';
import { threadWaiting, type Waiting } from './waiting';
import { notifyRoom } from './room';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const {
  C_GEN,
  C_STATE,
  FH_HANDLE_SEQ,
  FH_NOW,
  FH_SEQ,
  FH_TICKET,
  HDR_MAGIC,
  HDR_NEXT_PEER,
  HDR_NODE_FREE,
  HDR_ROOM_ARMED,
  H_GEN,
  H_NEXTFREE,
  H_STATE,
  MAGIC,
  NONE,
  N_NEXTFREE,
  N_STATE,
  P_FREE,
  P_ID,
  P_NSCOUNT,
  P_NSHEAD,
  P_NSTAIL,
  P_QCOUNT,
  P_STATUS,
  P_TOKEN,
  P_USED,
} = layout;

/** The thread token of the bus owner's thread; a worker's is its peer id + 1. */
export const OWNER_TOKEN = 1;

/** A blocked operation a thread keeps outside the buffer (the in-process runner's sends and receives). */
export interface LocalWait {
  ticket: number;
  /** End it with an error, as its completion in the current step. */
  end(error: ErrorCode): void;
}

/**
 * What the in-process runner keeps outside the buffer, which a node's destruction and a
 * close must end in ticket order together with the calls (DESTROY-4, CLOSE-1), and the calls
 * whose outcomes it reports in the step that decides them (TIME-2).
 */
export interface LocalWaits {
  /** Call slot c, of generation gen, resolved in this lock hold (CALL-2). */
  callResolved(c: number, gen: number): void;
  /** Blocked sends through a handle to `node`. */
  sendsTo(node: number): LocalWait[];
  /** Blocked sends and waiting receives of the peer in `slot`. */
  waitsOf(slot: number, peerId: number): LocalWait[];
  /** SEND-8: whether the peer in `slot` has a blocked send waiting for `dest`'s queue. */
  blockedSendTo(slot: number, dest: number): boolean;
  /** BOUND-2: the blocked sends and waiting receives of the peer in `slot`. */
  waitingOf(slot: number): number;
}

export class BusCore extends BusRecords {
  readonly journal: UndoJournal;
  readonly busLock: BusLock;
  readonly wakeups: Wakeups;
  /** The message of the current operation, read once (backends/common.ts). */
  readonly staged = new MessageRead();
  /** The table records of the staged transfers, resolved by the checks (valid within their lock hold). */
  readonly transferRecords: Int32Array;
  /** log2(tableSize) when it is a power of 2 (names split with a mask and a shift), else -1; and the mask. */
  readonly nameShift: number;
  readonly nameMask: number;
  /**
   * BOUND-3: the last generation a table slot may reach: names (generation x tableSize + slot)
   * stay safe integers and the generation word an Int32.
   */
  readonly maxGeneration: number;

  // Outputs of the last operation.
  outName = 0;
  outCall = 0;
  outTicket = 0;
  outCount = 0;
  /** Names the last operation lists (multicast's skipped destinations, attach's bootstrap handles). */
  readonly outNames: number[] = [];
  outNamesCount = 0;
  /** A multicast's destinations skipped for want of room (MCAST-6). */
  readonly outFull: number[] = [];
  outFullCount = 0;

  /** The in-process runner's waits, when this thread runs one. */
  localWaits: LocalWaits | null = null;

  /** One cached view each of a mailbox's and a reply area's payload (copying through a view beats a word loop; making one per copy would allocate). */
  private mailboxViewAt = -1;
  private mailboxView: Uint8Array = new Uint8Array(0);
  private replyViewAt = -1;
  private replyView: Uint8Array = new Uint8Array(0);

  constructor(
    sab: SharedArrayBuffer,
    layout: Layout,
    token: number,
    journalArea = 0,
    readonly waiting: Waiting = threadWaiting,
  ) {
    super(sab, layout);
    this.journal = new UndoJournal(this.int32, this.float64, layout, journalArea);
    this.busLock = new BusLock(this.int32, token, waiting);
    this.wakeups = new Wakeups(this, waiting);
    this.transferRecords = new Int32Array(this.maxHandlesPerMessage + 1);
    this.heldSends = new Int32Array(this.peers * this.peers);
    this.heldSendsOf = new Int32Array(this.peers);
    const H = this.tableSize;
    this.nameShift = (H & (H - 1)) === 0 ? 31 - Math.clz32(H) : -1;
    this.nameMask = H - 1;
    this.maxGeneration = Math.min(0x7fffffff, Math.floor((Number.MAX_SAFE_INTEGER - (H - 1)) / H));
  }

  get token(): number {
    return this.busLock.token;
  }

  /** Fill a fresh buffer: free lists of nodes and of every table slot. */
  initialize(): void {
    const I = this.int32,
      L = this.layout;
    I[HDR_MAGIC] = MAGIC;
    writeSizing(this.float64, L);
    I[HDR_NEXT_PEER] = 1;
    for (let n = 0; n < L.maxNodes; n++) I[this.nodeAt(n) + N_NEXTFREE] = n + 1 < L.maxNodes ? n + 1 : NONE;
    I[HDR_NODE_FREE] = L.maxNodes > 0 ? 0 : NONE;
    for (let s = 0; s < this.peers; s++) {
      const p = this.peerAt(s);
      I[p + P_FREE] = 0;
      I[p + P_NSHEAD] = NONE;
      I[p + P_NSTAIL] = NONE;
      for (let t = 0; t < this.tableSize; t++) {
        const h = this.handleAt(s * this.tableSize + t);
        I[h + H_GEN] = 1;
        I[h + H_NEXTFREE] = t + 1 < this.tableSize ? t + 1 : NONE;
      }
    }
    // Call generations start at 1 so that a completion word (0) never matches a fresh call.
    for (let c = 0; c < this.peers * this.callSlots; c++) I[this.callAt(c) + C_GEN] = 1;
  }

  // ------------------------------------------------------------------ holding the lock
  lock(): void {
    this.busLock.acquire();
  }

  /**
   * The end of a step: room notices now due (QUOTA-5; the in-process runner settles its own
   * steps, TIME-2), then commit (the journal is emptied), release, publish outcomes and wake
   * whoever sleeps.
   */
  unlock(): void {
    if (this.int32[HDR_ROOM_ARMED] !== 0 && this.localWaits === null) notifyRoom(this);
    this.release();
  }

  private release(): void {
    this.journal.commit();
    this.busLock.release();
    if (this.wakeups.pending) this.wakeups.publish();
  }

  /** Leave after an exception: undo the partial operation (ATOMIC-1), then unlock. */
  abort(): void {
    this.journal.rollback();
    this.wakeups.discard();
    this.release();
  }

  /**
   * Take the lock from a dead thread (or normally, if it is free), rolling back what it left
   * half done: its own journal area and the shared one. Returns how many stores were undone.
   */
  takeOverLock(deadToken: number, deadJournalArea: number): number {
    return this.busLock.takeOver(deadToken) ? this.journal.rollbackDeadThread(deadJournalArea) : 0;
  }

  /** The `length` bytes at byte offset `at` of a mailbox's payload, as a view (the last one made, when it is the same). */
  mailboxBytes(at: number, length: number): Uint8Array {
    if (at !== this.mailboxViewAt || length !== this.mailboxView.length) {
      this.mailboxViewAt = at;
      this.mailboxView = this.bytes.subarray(at, at + length);
    }
    return this.mailboxView;
  }

  /** The same for a reply area. */
  replyBytes(at: number, length: number): Uint8Array {
    if (at !== this.replyViewAt || length !== this.replyView.length) {
      this.replyViewAt = at;
      this.replyView = this.bytes.subarray(at, at + length);
    }
    return this.replyView;
  }

  // ------------------------------------------------------------------ order counters (written plainly: they only grow)
  /** The bus-wide order (ORDER-1). */
  nextSeq(): number {
    const i = this.layout.fHeader + FH_SEQ;
    const seq = this.float64[i] + 1;
    this.float64[i] = seq;
    return seq;
  }

  /** Handle creation order (NOTICE-5). */
  nextHandleSeq(): number {
    const i = this.layout.fHeader + FH_HANDLE_SEQ;
    const v = this.float64[i] + 1;
    this.float64[i] = v;
    return v;
  }

  /** The next ticket of a pending invocation (TIME-2): journaled, tickets are observable. */
  nextTicket(): number {
    const i = this.layout.fHeader + FH_TICKET;
    const t = this.float64[i] + 1;
    this.journal.setF64(i, t);
    return t;
  }

  /** The virtual clock of the in-process runner (TIME-1). */
  get nowMs(): number {
    return this.float64[this.layout.fHeader + FH_NOW];
  }

  // ------------------------------------------------------------------ reading peers and queues
  peerOpen(slot: number, id: number): boolean {
    const p = this.peerAt(slot);
    return this.int32[p + P_ID] === id && this.int32[p + P_STATUS] === 1;
  }

  peerIdAt(slot: number): number {
    return this.int32[this.peerAt(slot) + P_ID];
  }

  tokenOf(slot: number): number {
    return this.int32[this.peerAt(slot) + P_TOKEN];
  }

  nextPeerId(): number {
    return this.int32[HDR_NEXT_PEER];
  }

  /** Whether anything waits in a queue (ring entries or no-senders notices); read without the lock. */
  queued(slot: number): number {
    const I = this.int32,
      p = this.peerAt(slot);
    return Atomics.load(I, p + P_QCOUNT) + Atomics.load(I, p + P_NSCOUNT);
  }

  /** Table use as the model counts it (named + in flight + held by waiting notices). */
  tableUse(slot: number): number {
    return this.int32[this.peerAt(slot) + P_USED];
  }

  /**
   * Blocked sends of the peer API's promise flavour (ShmPeer.sendWait) of this thread's peers, by
   * sender slot x peers + destination slot, and by sender slot: a peer runs in one thread, so its
   * blocked sends are known to the thread that checks its operations (SEND-8, BOUND-2).
   */
  readonly heldSends: Int32Array;
  readonly heldSendsOf: Int32Array;

  /** SEND-8: whether the peer in `slot` has a blocked send waiting for `dest`'s queue (the runner's, or the promise API's). */
  blockedSendTo(slot: number, _peerId: number, dest: number): boolean {
    if (this.localWaits !== null) return this.localWaits.blockedSendTo(slot, dest);
    return this.heldSendsOf[slot] !== 0 && this.heldSends[slot * this.peers + dest] !== 0;
  }

  /** Whether the peer in `slot` has pending operations besides its calls (the runner's waits, held promise sends). */
  hasOwnWaits(slot: number): boolean {
    return this.localWaits !== null || this.heldSendsOf[slot] !== 0;
  }

  /** BOUND-2: the pending operations of the peer in `slot`: its calls awaiting their outcome, its runner waits or its blocked promise sends. */
  pendingOf(slot: number): number {
    const I = this.int32;
    let n = this.localWaits !== null ? this.localWaits.waitingOf(slot) : this.heldSendsOf[slot];
    for (let k = 0; k < this.callSlots; k++) if (I[this.callAt(slot * this.callSlots + k) + C_STATE] === 1) n++;
    return n;
  }

  callGen(c: number): number {
    return this.int32[this.callAt(c) + C_GEN];
  }

  callState(c: number): number {
    return this.int32[this.callAt(c) + C_STATE];
  }

  /** Whether call c (of generation gen) has a committed outcome; read without the lock. */
  callDone(c: number, gen: number): boolean {
    return Atomics.load(this.int32, this.callDoneAt(c)) === gen;
  }

  /** Leak audit for tests: what is still allocated (INV-5). */
  audit(): { peersOpen: number; handles: number; nodes: number; calls: number; queued: number } {
    const I = this.int32;
    let peersOpen = 0,
      handles = 0,
      nodes = 0,
      calls = 0,
      queued = 0;
    for (let s = 0; s < this.peers; s++) {
      if (I[this.peerAt(s) + P_STATUS] === 1) peersOpen++;
      queued += I[this.peerAt(s) + P_QCOUNT] + I[this.peerAt(s) + P_NSCOUNT];
    }
    for (let r = 0; r < this.peers * this.tableSize; r++) if (I[this.handleAt(r) + H_STATE] !== 0) handles++;
    for (let n = 0; n < this.layout.maxNodes; n++) if (I[this.nodeAt(n) + N_STATE] !== 0) nodes++;
    for (let c = 0; c < this.peers * this.callSlots; c++) if (I[this.callAt(c) + C_STATE] !== 0) calls++;
    return { peersOpen, handles, nodes, calls, queued };
  }
}
