// The event queue: a binary min-heap ordered by (time, sequence). Events at the
// same virtual time pop in the order they were pushed, so simultaneous events
// are deterministic. Events live in parallel typed arrays (no object per event):
// the hot loop allocates nothing here.

export class EventQueue {
  private time: Float64Array;
  private seq: Float64Array;
  private kind: Int32Array;
  private a: Int32Array;
  private b: Float64Array;
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
  }

  get length(): number {
    return this.size;
  }

  /** Time of the earliest event (Infinity when empty). */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.time[0];
  }

  push(time: number, kind: number, a: number, b: number): void {
    if (this.size === this.time.length) this.grow();
    let i = this.size++;
    const s = this.nextSeq++;
    // Sift up with a hole instead of swaps.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = this.time[parent];
      if (pt < time || (pt === time && this.seq[parent] < s)) break;
      this.move(parent, i);
      i = parent;
    }
    this.time[i] = time;
    this.seq[i] = s;
    this.kind[i] = kind;
    this.a[i] = a;
    this.b[i] = b;
  }

  /** Remove the earliest event into popTime/popKind/popA/popB; false when empty. */
  pop(): boolean {
    if (this.size === 0) return false;
    this.popTime = this.time[0];
    this.popKind = this.kind[0];
    this.popA = this.a[0];
    this.popB = this.b[0];
    const last = --this.size;
    if (last === 0) return true;
    const t = this.time[last], s = this.seq[last], k = this.kind[last], a = this.a[last], b = this.b[last];
    let i = 0;
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
    this.time[i] = t;
    this.seq[i] = s;
    this.kind[i] = k;
    this.a[i] = a;
    this.b[i] = b;
    return true;
  }

  private move(from: number, to: number): void {
    this.time[to] = this.time[from];
    this.seq[to] = this.seq[from];
    this.kind[to] = this.kind[from];
    this.a[to] = this.a[from];
    this.b[to] = this.b[from];
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
  }
}
