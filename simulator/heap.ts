// The event queue: a binary min-heap ordered by (time, sequence). Events at the
// same virtual time pop in the order they were pushed, so simultaneous events
// are deterministic. Events live in parallel typed arrays (no object per event):
// the hot loop allocates nothing here. A keyed event (at most one per key, e.g. a
// thread's spin deadline) can be cancelled: it leaves the heap at once instead of
// staying as a stale entry that deepens the heap until its time comes.

export class EventQueue {
  private time: Float64Array;
  private seq: Float64Array;
  private kind: Int32Array;
  private a: Int32Array;
  private b: Float64Array;
  /** Key of the event at each heap slot (-1: none), and heap slot of each key's event (-1: none). */
  private keyAt: Int32Array;
  private slotOfKey = new Int32Array(16).fill(-1);
  private size = 0;
  private nextSeq = 0;
  /** Fields of the event `pop` returned last. */
  popTime = 0;
  popKind = 0;
  popA = 0;
  popB = 0;

  constructor(capacity = 1024) {
    this.time = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.kind = new Int32Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Float64Array(capacity);
    this.keyAt = new Int32Array(capacity).fill(-1);
  }

  get length(): number {
    return this.size;
  }

  /** Time of the earliest event (Infinity when empty). */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.time[0];
  }

  push(time: number, kind: number, a: number, b: number): void {
    this.insert(time, this.nextSeq++, kind, a, b, -1);
  }

  /** Push an event that `cancel(key)` can take back; a key's earlier event is cancelled first. */
  pushKeyed(key: number, time: number, kind: number, a: number, b: number): void {
    if (key >= this.slotOfKey.length) {
      const g = new Int32Array(Math.max(key + 1, this.slotOfKey.length * 2)).fill(-1);
      g.set(this.slotOfKey);
      this.slotOfKey = g;
    }
    this.cancel(key);
    this.insert(time, this.nextSeq++, kind, a, b, key);
  }

  /** Remove the event pushed with `key`, if it is still queued. */
  cancel(key: number): void {
    if (key >= this.slotOfKey.length) return;
    const i = this.slotOfKey[key];
    if (i < 0) return;
    this.slotOfKey[key] = -1;
    this.keyAt[i] = -1;
    const last = --this.size;
    if (i === last) return;
    // Refill slot i with the last event: sift it up or down from there.
    const t = this.time[last], s = this.seq[last], k = this.kind[last], a = this.a[last], b = this.b[last], key2 = this.keyAt[last];
    this.keyAt[last] = -1;
    this.siftDown(this.siftUp(i, t, s), t, s, k, a, b, key2);
  }

  private insert(time: number, s: number, kind: number, a: number, b: number, key: number): void {
    if (this.size === this.time.length) this.grow();
    const i = this.siftUp(this.size++, time, s);
    this.place(i, time, s, kind, a, b, key);
  }

  /** Move parents down into the hole at i while they order after (time, s); returns the hole. */
  private siftUp(i: number, time: number, s: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = this.time[parent];
      if (pt < time || (pt === time && this.seq[parent] < s)) break;
      this.move(parent, i);
      i = parent;
    }
    return i;
  }

  /** Sift the event (t, s, ...) down from the hole at i within the heap, and place it. */
  private siftDown(i: number, t: number, s: number, k: number, a: number, b: number, key: number): void {
    const last = this.size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (right < last && (this.time[right] < this.time[child] || (this.time[right] === this.time[child] && this.seq[right] < this.seq[child]))) child = right;
      const ct = this.time[child];
      if (t < ct || (t === ct && s < this.seq[child])) break;
      this.move(child, i);
      i = child;
    }
    this.place(i, t, s, k, a, b, key);
  }

  private place(i: number, t: number, s: number, k: number, a: number, b: number, key: number): void {
    this.time[i] = t;
    this.seq[i] = s;
    this.kind[i] = k;
    this.a[i] = a;
    this.b[i] = b;
    this.keyAt[i] = key;
    if (key >= 0) this.slotOfKey[key] = i;
  }

  /** Remove the earliest event into popTime/popKind/popA/popB; false when empty. */
  pop(): boolean {
    if (this.size === 0) return false;
    this.popTime = this.time[0];
    this.popKind = this.kind[0];
    this.popA = this.a[0];
    this.popB = this.b[0];
    const key0 = this.keyAt[0];
    if (key0 >= 0) { this.slotOfKey[key0] = -1; this.keyAt[0] = -1; }
    const last = --this.size;
    if (last === 0) return true;
    const t = this.time[last], s = this.seq[last], k = this.kind[last], a = this.a[last], b = this.b[last], key = this.keyAt[last];
    this.keyAt[last] = -1;
    this.siftDown(0, t, s, k, a, b, key);
    return true;
  }

  private move(from: number, to: number): void {
    this.time[to] = this.time[from];
    this.seq[to] = this.seq[from];
    this.kind[to] = this.kind[from];
    this.a[to] = this.a[from];
    this.b[to] = this.b[from];
    const key = this.keyAt[from];
    this.keyAt[to] = key;
    if (key >= 0) this.slotOfKey[key] = to;
  }

  private grow(): void {
    const n = this.time.length * 2;
    const grow64 = (x: Float64Array) => { const y = new Float64Array(n); y.set(x); return y; };
    const grow32 = (x: Int32Array) => { const y = new Int32Array(n); y.set(x); return y; };
    this.time = grow64(this.time);
    this.seq = grow64(this.seq);
    this.kind = grow32(this.kind);
    this.a = grow32(this.a);
    this.b = grow64(this.b);
    const keys = new Int32Array(n).fill(-1);
    keys.set(this.keyAt);
    this.keyAt = keys;
  }
}
