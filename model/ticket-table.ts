// A set of live tickets (they only grow, TIME-2), each with an int32 value: an open-addressing
// hash table in typed arrays (linear probing, tombstones, rebuilt when half full). Its size is
// bounded by the number of tickets live at once (a thread waits on one at a time), not by the
// span between the oldest live ticket and the newest, as a ring keyed by ticket would be: a
// server's receive that stays pending for a whole run would make such a ring grow to that span.

const EMPTY = -1,
  GONE = -2;

export class TicketTable {
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  /** Live entries, and live plus tombstones. */
  private live = 0;
  private used = 0;
  private spareKeys: Float64Array | null = null;
  private spareVals: Int32Array | null = null;

  constructor(capacity = 64) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.mask = cap - 1;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.vals = new Int32Array(cap);
  }

  get size(): number {
    return this.live;
  }

  /** The slot of a live ticket, or -1. */
  find(ticket: number): number {
    const keys = this.keys,
      mask = this.mask;
    let i = ticket & mask;
    for (;;) {
      const k = keys[i];
      if (k === ticket) return i;
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Add a ticket that is not live (tickets are never added twice), with its value; returns its slot. */
  add(ticket: number, value: number): number {
    if (ticket > 0x7fffffff || ticket < 0) throw new RangeError(`ticket ${ticket} outside 0..2^31`);
    if ((this.used + 1) * 2 > this.mask + 1) this.rebuild();
    const keys = this.keys,
      mask = this.mask;
    let i = ticket & mask;
    while (keys[i] >= 0) i = (i + 1) & mask;
    if (keys[i] === EMPTY) this.used++;
    keys[i] = ticket;
    this.vals[i] = value;
    this.live++;
    return i;
  }

  value(slot: number): number {
    return this.vals[slot];
  }

  remove(slot: number): void {
    this.keys[slot] = GONE;
    this.live--;
  }

  /** Every live ticket, in order (for end-of-run reports). */
  liveTickets(): number[] {
    const out: number[] = [];
    for (let i = 0; i <= this.mask; i++) if (this.keys[i] >= 0) out.push(this.keys[i]);
    return out.sort((a, b) => a - b);
  }

  /** Rehash the live entries (dropping tombstones), into a table at least 4 times their number. */
  private rebuild(): void {
    const oldKeys = this.keys,
      oldVals = this.vals;
    let cap = this.mask + 1;
    while (cap < (this.live + 1) * 4) cap *= 2;
    const mask = cap - 1;
    // At the same size, into the spare arrays of the last rebuild (no allocation).
    const same = cap === oldKeys.length && this.spareKeys !== null;
    const keys = same ? this.spareKeys!.fill(EMPTY) : new Float64Array(cap).fill(EMPTY);
    const vals = same ? this.spareVals! : new Int32Array(cap);
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k < 0) continue;
      let i = k & mask;
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = k;
      vals[i] = oldVals[j];
    }
    this.spareKeys = cap === oldKeys.length ? oldKeys : null;
    this.spareVals = cap === oldKeys.length ? oldVals : null;
    this.keys = keys;
    this.vals = vals;
    this.mask = mask;
    this.used = this.live;
  }
}
