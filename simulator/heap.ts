// The event queue: a min-heap ordered by (time, sequence). Events at the same
// virtual time pop in the order they were pushed, so simultaneous events are
// deterministic: (time, sequence) is a total order, so the pop order is fixed by
// the events alone, whatever the shape of the heap. Events live in parallel
// typed arrays indexed by an event slot (no object per event): the hot loop
// allocates nothing here. The heap itself is 4-ary (half the depth of a binary
// heap: a scenario with many far-off deadlines keeps a thousand events queued)
// and holds slot numbers, so sifting moves one integer per level, not an event.
// A keyed event (at most one per key, e.g. a thread's spin deadline) can be
// cancelled: it leaves the heap at once instead of staying as a stale entry
// that deepens the heap until its time comes.

const ARITY = 4;

export class EventQueue {
  // Per event slot:
  private time: Float64Array;
  private seq: Float64Array;
  private kind: Int32Array;
  private a: Int32Array;
  private b: Float64Array;
  /** The key the event was pushed with (-1: none). */
  private keyOf: Int32Array;
  /** Where the event is in the heap. */
  private pos: Int32Array;
  /** The heap: event slots, earliest first at 0; children of i at ARITY*i+1 ... ARITY*i+ARITY. */
  private heap: Int32Array;
  /** Event slots free for reuse (a stack), and the next never-used slot. */
  private free: Int32Array;
  private freeCount = 0;
  private fresh = 0;
  /** Slot of each key's event (-1: none). */
  private slotOfKey = new Int32Array(16).fill(-1);
  private size = 0;
  private nextSeq = 0;
  /** Fields of the event `pop` returned last. */
  popTime = 0;
  popKind = 0;
  popA = 0;
  popB = 0;

  constructor(capacity = 1024) {
    const n = Math.max(capacity, 1);
    this.time = new Float64Array(n);
    this.seq = new Float64Array(n);
    this.kind = new Int32Array(n);
    this.a = new Int32Array(n);
    this.b = new Float64Array(n);
    this.keyOf = new Int32Array(n).fill(-1);
    this.pos = new Int32Array(n);
    this.heap = new Int32Array(n);
    this.free = new Int32Array(n);
  }

  get length(): number {
    return this.size;
  }

  /** Time of the earliest event (Infinity when empty). */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.time[this.heap[0]];
  }

  push(time: number, kind: number, a: number, b: number): void {
    this.insert(time, kind, a, b, -1);
  }

  /** Push an event that `cancel(key)` can take back; a key's earlier event is cancelled first. */
  pushKeyed(key: number, time: number, kind: number, a: number, b: number): void {
    if (key >= this.slotOfKey.length) {
      const g = new Int32Array(Math.max(key + 1, this.slotOfKey.length * 2)).fill(-1);
      g.set(this.slotOfKey);
      this.slotOfKey = g;
    }
    this.cancel(key);
    this.slotOfKey[key] = this.insert(time, kind, a, b, key);
  }

  /** Remove the event pushed with `key`, if it is still queued. */
  cancel(key: number): void {
    if (key >= this.slotOfKey.length) return;
    const e = this.slotOfKey[key];
    if (e < 0) return;
    this.slotOfKey[key] = -1;
    this.keyOf[e] = -1;
    const i = this.pos[e];
    this.free[this.freeCount++] = e;
    const last = --this.size;
    if (i === last) return;
    // Refill position i with the last event: sift it up or down from there.
    const moved = this.heap[last];
    if (i > 0 && this.before(moved, this.heap[(i - 1) >> 2])) this.siftUp(i, moved);
    else this.siftDown(i, moved);
  }

  /** Remove the earliest event into popTime/popKind/popA/popB; false when empty. */
  pop(): boolean {
    if (this.size === 0) return false;
    const e = this.heap[0];
    this.popTime = this.time[e];
    this.popKind = this.kind[e];
    this.popA = this.a[e];
    this.popB = this.b[e];
    const key = this.keyOf[e];
    if (key >= 0) {
      this.slotOfKey[key] = -1;
      this.keyOf[e] = -1;
    }
    this.free[this.freeCount++] = e;
    const last = --this.size;
    if (last > 0) this.siftDown(0, this.heap[last]);
    return true;
  }

  private insert(time: number, kind: number, a: number, b: number, key: number): number {
    if (this.freeCount === 0 && this.fresh === this.time.length) this.grow();
    const e = this.freeCount > 0 ? this.free[--this.freeCount] : this.fresh++;
    this.time[e] = time;
    this.seq[e] = this.nextSeq++;
    this.kind[e] = kind;
    this.a[e] = a;
    this.b[e] = b;
    this.keyOf[e] = key;
    this.siftUp(this.size++, e);
    return e;
  }

  /** Whether event x orders before event y: earlier time, or the same time and pushed first. */
  private before(x: number, y: number): boolean {
    const tx = this.time[x],
      ty = this.time[y];
    return tx < ty || (tx === ty && this.seq[x] < this.seq[y]);
  }

  /** Put event e at position i or above it, moving later parents down. */
  private siftUp(i: number, e: number): void {
    const heap = this.heap,
      pos = this.pos;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const p = heap[parent];
      if (this.before(p, e)) break;
      heap[i] = p;
      pos[p] = i;
      i = parent;
    }
    heap[i] = e;
    pos[e] = i;
  }

  /** Put event e at position i or below it (within the heap), moving earlier children up. */
  private siftDown(i: number, e: number): void {
    const heap = this.heap,
      pos = this.pos,
      time = this.time,
      seq = this.seq;
    const n = this.size;
    const t = time[e],
      s = seq[e];
    for (;;) {
      const first = ARITY * i + 1;
      if (first >= n) break;
      // The earliest child.
      let c = first,
        ce = heap[first],
        ct = time[ce];
      const end = first + ARITY < n ? first + ARITY : n;
      for (let k = first + 1; k < end; k++) {
        const ke = heap[k],
          kt = time[ke];
        if (kt < ct || (kt === ct && seq[ke] < seq[ce])) {
          c = k;
          ce = ke;
          ct = kt;
        }
      }
      if (t < ct || (t === ct && s < seq[ce])) break;
      heap[i] = ce;
      pos[ce] = i;
      i = c;
    }
    heap[i] = e;
    pos[e] = i;
  }

  private grow(): void {
    const n = this.time.length * 2;
    const grow64 = (x: Float64Array) => {
      const y = new Float64Array(n);
      y.set(x);
      return y;
    };
    const grow32 = (x: Int32Array) => {
      const y = new Int32Array(n);
      y.set(x);
      return y;
    };
    this.time = grow64(this.time);
    this.seq = grow64(this.seq);
    this.kind = grow32(this.kind);
    this.a = grow32(this.a);
    this.b = grow64(this.b);
    const keys = new Int32Array(n).fill(-1);
    keys.set(this.keyOf);
    this.keyOf = keys;
    this.pos = grow32(this.pos);
    this.heap = grow32(this.heap);
    this.free = grow32(this.free);
  }
}
