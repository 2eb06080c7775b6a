// Where every record of the bus lives in the shared buffer (layout.ts draws the
// regions): one thread's views over the buffer, the sizes fixed at creation, and
// the address of each record. An address is the index of the record's first word
// in the view it is read through (`...At` for i32 words, `...F64At` for f64 words),
// or a byte offset for the byte regions (rings, mailbox payloads, reply areas).
import * as layout from './layout';
import { type Layout } from './layout';
import type { Limits } from '../../spec/types';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { DONE_STRIDE, EF_WORDS, H_WORDS, HF_WORDS, MB_F64, N_WORDS, NF_WORDS, P_WORDS, PF_WORDS, Q_WORDS } = layout;

export class BusRecords {
  /** Control words (the i32 view of the whole buffer). */
  readonly int32: Int32Array;
  /** Values that need 53 bits: names, badges, credentials, sequence numbers (the f64 view). */
  readonly float64: Float64Array;
  /** Payload bytes (the byte view). */
  readonly bytes: Uint8Array;
  readonly layout: Layout;
  /** The bus's limits (BUS-1), layout.limits one load nearer. */
  readonly limits: Limits;
  /** Peer slots (maxPeers). */
  readonly peers: number;
  /** Slots of each handle table (maxHandlesPerPeer). */
  readonly tableSize: number;
  readonly maxHandlesPerMessage: number;
  /** Call slots of each peer (pending calls at most, DESIGN.md). */
  readonly callSlots: number;
  /** Entries of each queue's ring: messages and calls, plus one per table slot for state notices (NOTICE-4). */
  readonly entriesPerQueue: number;
  /** Bytes of each queue's byte ring. */
  readonly ringBytes: number;
  /** Bytes of each call slot's reply area (maxPayloadBytes, rounded up to a line). */
  readonly replyAreaBytes: number;
  /** Bytes a receiver may hold in zero-copy views beyond queueCapacityBytes. */
  readonly viewSlackBytes: number;

  constructor(
    readonly sab: SharedArrayBuffer,
    layout: Layout,
  ) {
    this.int32 = new Int32Array(sab);
    this.float64 = new Float64Array(sab);
    this.bytes = new Uint8Array(sab);
    this.layout = layout;
    this.limits = layout.limits;
    this.peers = layout.peers;
    this.tableSize = layout.tableSize;
    this.maxHandlesPerMessage = layout.limits.maxHandlesPerMessage;
    this.callSlots = layout.callSlots;
    this.entriesPerQueue = layout.entriesPerQueue;
    this.ringBytes = layout.queueBytes;
    this.viewSlackBytes = layout.viewSlack;
    this.replyAreaBytes = Math.ceil(layout.limits.maxPayloadBytes / 64) * 64;
  }

  /** Peer record of a slot (P_* words). */
  peerAt(slot: number): number {
    return this.layout.peerBase + slot * P_WORDS;
  }
  peerF64At(slot: number): number {
    return this.layout.fPeerBase + slot * PF_WORDS;
  }
  /** Handle record r = slot * tableSize + table slot (H_* words). */
  handleAt(r: number): number {
    return this.layout.handleBase + r * H_WORDS;
  }
  handleF64At(r: number): number {
    return this.layout.fHandleBase + r * HF_WORDS;
  }
  /** A handle's placement order (CLOSE-3): written by the receiver, apart from the sender's words. */
  placedF64At(r: number): number {
    return this.layout.fPlacedBase + r;
  }
  /** Node record (N_* words). */
  nodeAt(node: number): number {
    return this.layout.nodeBase + node * N_WORDS;
  }
  nodeF64At(node: number): number {
    return this.layout.fNodeBase + node * NF_WORDS;
  }
  /** Call record c = caller slot * callSlots + k (C_* words). */
  callAt(c: number): number {
    return this.layout.callBase + c * this.layout.callWords;
  }
  callF64At(c: number): number {
    return this.layout.fCallBase + c * this.layout.callFWords;
  }
  /** The completion word of call slot c, on a cache line of its own. */
  callDoneAt(c: number): number {
    return this.layout.doneBase + c * DONE_STRIDE;
  }
  /** Entry e of a queue's entry ring (E_* words). */
  entryAt(slot: number, e: number): number {
    return this.layout.entryBase + (slot * this.entriesPerQueue + e) * this.layout.entryWords;
  }
  entryF64At(slot: number, e: number): number {
    return this.layout.fEntryBase + (slot * this.entriesPerQueue + e) * EF_WORDS;
  }
  /** What a sender has in a destination's queue (QUOTA-1, Q_* words). */
  quotaAt(dest: number, sender: number): number {
    return this.layout.quotaBase + (dest * this.peers + sender) * Q_WORDS;
  }
  /** Byte offset of a queue's byte ring. */
  ringAt(slot: number): number {
    return this.layout.queueBytesBase + slot * this.ringBytes;
  }
  /** A peer's hand-off mailbox block (MB_* words). */
  mailboxAt(slot: number): number {
    return this.layout.mbBase + slot * this.layout.mbWords;
  }
  /** f64 index of the mailbox's f64 fields (MBF_*, on the block's first line). */
  mailboxF64At(slot: number): number {
    return (this.mailboxAt(slot) + MB_F64) >> 1;
  }
  /** Byte offset of the mailbox's payload. */
  mailboxPayloadAt(slot: number): number {
    return (this.mailboxAt(slot) + this.layout.mbPayloadAt) << 2;
  }
  /** Byte offset of call slot c's reply area (CALL-6). */
  replyAreaAt(c: number): number {
    return this.layout.replyBytesBase + c * this.replyAreaBytes;
  }
}
