// Per-message bookkeeping keyed by bus sequence number (ORDER-1: seqs only grow), in a ring of
// typed-array columns: memory is bounded by the span of seqs still queued, not by the number of
// messages a run sends, and nothing is allocated per message. A slot is reused only once its
// seq has left the queues (retired) in an earlier step; a live seq (or one retired in the
// current step, whose data the step may still read) makes the ring grow instead.

const EMPTY = 0,
  LIVE = 1,
  RETIRED = 2;

export class SeqRing {
  /** Int32 columns the owner reads and writes at a slot. Re-read after `add` (growth replaces them). */
  i32: Int32Array[];
  /** Float64 columns. */
  f64: Float64Array[];
  /** The current step: a slot retired during it is not reused until the owner moves on. */
  step = 0;
  private seqOf: Float64Array;
  private state: Uint8Array;
  private retiredStep: Float64Array;
  private mask: number;

  constructor(int32Columns: number, float64Columns: number, capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.mask = cap - 1;
    this.seqOf = new Float64Array(cap).fill(-1);
    this.state = new Uint8Array(cap);
    this.retiredStep = new Float64Array(cap).fill(-1);
    this.i32 = Array.from({ length: int32Columns }, () => new Int32Array(cap));
    this.f64 = Array.from({ length: float64Columns }, () => new Float64Array(cap));
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** The slot for a new seq (live from now on); grows the ring when the slot is still in use. */
  add(seq: number): number {
    if (seq > 0x7fffffff) throw new RangeError(`seq ${seq} beyond 2^31: the ring indexes with 32-bit masks`);
    let slot = seq & this.mask;
    while (this.state[slot] === LIVE || (this.state[slot] === RETIRED && this.retiredStep[slot] === this.step)) {
      if (this.seqOf[slot] === seq) throw new Error(`seq ${seq} added twice`);
      this.grow();
      slot = seq & this.mask;
    }
    this.seqOf[slot] = seq;
    this.state[slot] = LIVE;
    return slot;
  }

  /** The slot holding `seq` (live or retired, while not overwritten), or -1. */
  find(seq: number): number {
    const slot = seq & this.mask;
    return this.seqOf[slot] === seq && this.state[slot] !== EMPTY ? slot : -1;
  }

  isLive(slot: number): boolean {
    return this.state[slot] === LIVE;
  }

  /** The seq left the queues: its slot may be reused after the current step. */
  retire(slot: number): void {
    this.state[slot] = RETIRED;
    this.retiredStep[slot] = this.step;
  }

  /** Every live seq, in slot order (for end-of-run reports). */
  liveSeqs(): number[] {
    const out: number[] = [];
    for (let i = 0; i <= this.mask; i++) if (this.state[i] === LIVE) out.push(this.seqOf[i]);
    return out.sort((a, b) => a - b);
  }

  /**
   * Double the ring. Seqs distinct modulo the old capacity are distinct modulo the new one,
   * so every occupied slot moves without collision.
   */
  private grow(): void {
    const oldCap = this.mask + 1;
    const cap = oldCap * 2;
    const mask = cap - 1;
    const seqOf = new Float64Array(cap).fill(-1);
    const state = new Uint8Array(cap);
    const retiredStep = new Float64Array(cap).fill(-1);
    const i32 = this.i32.map(() => new Int32Array(cap));
    const f64 = this.f64.map(() => new Float64Array(cap));
    for (let i = 0; i < oldCap; i++) {
      if (this.state[i] === EMPTY) continue;
      const j = this.seqOf[i] & mask;
      seqOf[j] = this.seqOf[i];
      state[j] = this.state[i];
      retiredStep[j] = this.retiredStep[i];
      for (let c = 0; c < i32.length; c++) i32[c][j] = this.i32[c][i];
      for (let c = 0; c < f64.length; c++) f64[c][j] = this.f64[c][i];
    }
    this.seqOf = seqOf;
    this.state = state;
    this.retiredStep = retiredStep;
    this.i32 = i32;
    this.f64 = f64;
    this.mask = mask;
  }
}
