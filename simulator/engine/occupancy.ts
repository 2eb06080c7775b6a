// Queue occupancy per (receiver, sender) pair and one-way latency bookkeeping, from the bus
// events of every model step: each queued message (not notices) is remembered by its bus
// sequence number (sender, receiver, pair, when it was sent) until it leaves its queue.
import type { BusEvent } from '../../model';
import type { QueueOccupancy } from '../types';
import { SeqRing } from '../../model/seq-ring';
import { round } from './metrics';

export class Occupancy {
  /**
   * Per bus seq of a queued message (not notices): sender, receiver, occupancy pair (i32
   * columns 0..2) and the simulated time of the send that enqueued it (f64 column 0).
   */
  readonly seqs = new SeqRing(3, 1);
  /** Per event of the current step: when the message a dequeue took was sent (NaN: a notice). */
  eventSentNs = new Float64Array(64);
  /** (receiver, sender) -> pair index + 1 (0: none yet), indexed receiver * pairStride + sender. */
  private pairOf = new Int32Array(0);
  private pairStride = 0;
  // Occupancy per pair, in typed arrays (no object per pair touched in the hot path).
  private readonly pairReceiver: number[] = [];
  private readonly pairSender: number[] = [];
  private pairCount = new Int32Array(16);
  private pairMax = new Int32Array(16);
  private pairEnqueued = new Int32Array(16);
  private pairAreaNs = new Float64Array(16);
  private pairSinceNs = new Float64Array(16);

  /** Account for one step's events at time `now`; a message enqueued now was sent at `sentNs`. */
  account(events: readonly BusEvent[], now: number, sentNs: number): void {
    const ring = this.seqs;
    if (events.length > this.eventSentNs.length) this.eventSentNs = new Float64Array(events.length * 2);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.type === 'enqueue') {
        if (e.kind === 'notice') continue;
        const slot = ring.add(e.seq);
        const o = this.pair(e.to, e.from, now);
        const cols = ring.i32;
        cols[0][slot] = e.from;
        cols[1][slot] = e.to;
        cols[2][slot] = o;
        ring.f64[0][slot] = sentNs;
        this.pairAreaNs[o] += this.pairCount[o] * (now - this.pairSinceNs[o]);
        this.pairSinceNs[o] = now;
        const count = ++this.pairCount[o];
        this.pairEnqueued[o]++;
        if (count > this.pairMax[o]) this.pairMax[o] = count;
      } else if (e.type === 'dequeue' || e.type === 'discard') {
        this.eventSentNs[i] = NaN;
        const slot = ring.find(e.seq);
        if (slot < 0 || ring.i32[1][slot] !== e.peer) continue; // a notice
        const o = ring.i32[2][slot];
        this.eventSentNs[i] = ring.f64[0][slot];
        ring.retire(slot);
        this.pairAreaNs[o] += this.pairCount[o] * (now - this.pairSinceNs[o]);
        this.pairSinceNs[o] = now;
        this.pairCount[o]--;
      }
    }
  }

  /** Per pair: time-weighted mean and max of the sender's messages in the receiver's queue, until `endNs`. */
  report(endNs: number, nameOf: (peer: number) => string): QueueOccupancy[] {
    return this.pairReceiver
      .map((_, i) => i)
      .sort((a, b) => this.pairReceiver[a] - this.pairReceiver[b] || this.pairSender[a] - this.pairSender[b])
      .map((o) => {
        const area = this.pairAreaNs[o] + this.pairCount[o] * (endNs - this.pairSinceNs[o]);
        return {
          receiver: nameOf(this.pairReceiver[o]),
          sender: nameOf(this.pairSender[o]),
          meanMessages: round(endNs > 0 ? area / endNs : 0, 3),
          maxMessages: this.pairMax[o],
          enqueued: this.pairEnqueued[o],
        };
      });
  }

  /** The occupancy record of a (receiver, sender) pair, made at its first message. */
  private pair(receiver: number, sender: number, now: number): number {
    if (receiver >= this.pairStride || sender >= this.pairStride) this.growPairs(Math.max(receiver, sender) + 1);
    const k = receiver * this.pairStride + sender;
    const o = this.pairOf[k];
    if (o !== 0) return o - 1;
    const i = this.pairReceiver.length;
    this.pairReceiver.push(receiver);
    this.pairSender.push(sender);
    if (i >= this.pairCount.length) {
      const n = this.pairCount.length * 2;
      this.pairCount = grow32(this.pairCount, n);
      this.pairMax = grow32(this.pairMax, n);
      this.pairEnqueued = grow32(this.pairEnqueued, n);
      this.pairAreaNs = grow64(this.pairAreaNs, n);
      this.pairSinceNs = grow64(this.pairSinceNs, n);
    }
    this.pairSinceNs[i] = now;
    this.pairOf[k] = i + 1;
    return i;
  }

  private growPairs(atLeast: number): void {
    const stride = Math.max(8, atLeast * 2);
    const next = new Int32Array(stride * stride);
    for (let r = 0; r < this.pairStride; r++)
      for (let c = 0; c < this.pairStride; c++) next[r * stride + c] = this.pairOf[r * this.pairStride + c];
    this.pairOf = next;
    this.pairStride = stride;
  }
}

function grow32(x: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const y = new Int32Array(n);
  y.set(x);
  return y;
}

function grow64(x: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const y = new Float64Array(n);
  y.set(x);
  return y;
}
