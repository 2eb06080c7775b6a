// The undo journal (DESIGN.md, "Crash safety"): every control word a lock holder
// changes is first recorded with its old value, so that when a thread dies in the
// middle of an operation the bus owner can roll the operation back. Each thread
// journals in its own area (a line of its own for the length word, entries in its
// own cache); an operation too large for it moves to the shared area, which only
// the lock holder uses. Committing empties the journal; rolling back undoes the
// entries newest first.
import * as layout from './layout';
import { journalArea, type Layout } from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { HDR_JAREA, JOURNAL_AREA_HEADER } = layout;

export class UndoJournal {
  private readonly ownArea: number;
  private readonly sharedArea: number;
  private area: number;
  /** i32 index of the active area's length word, and of its first entry (2 words each, after the header). */
  private lengthAt = 0;
  private entriesAt = 0;
  /** f64 index of the active area's old f64 values (one per entry). */
  private oldF64At = 0;
  private capacity = 0;
  /** Entries in the active area (a mirror of its length word). */
  private length = 0;

  constructor(
    private readonly int32: Int32Array,
    private readonly float64: Float64Array,
    private readonly layout: Layout,
    area: number,
  ) {
    this.sharedArea = layout.journalAreas - 1;
    this.ownArea = Math.max(0, Math.min(area, this.sharedArea - 1));
    this.area = this.ownArea;
    this.useArea(this.ownArea);
  }

  /** A journaled i32 store. */
  set(i: number, v: number): void {
    const I = this.int32;
    this.record(i, I[i]);
    I[i] = v;
  }

  /** A journaled i32 store that is also a sequentially consistent one (it publishes a word read without the lock). */
  setPublished(i: number, v: number): void {
    this.record(i, this.int32[i]);
    Atomics.store(this.int32, i, v);
  }

  /** A journaled f64 store: its old value goes to the entry's f64 word, the entry names it by a negative index. */
  setF64(i: number, v: number): void {
    const F = this.float64;
    if (this.length >= this.capacity) this.moveToShared();
    F[this.oldF64At + this.length] = F[i];
    this.record(-(i + 1), 0);
    F[i] = v;
  }

  /**
   * The one place an entry is added: (index, old value). The entry is complete before the
   * length word counts it, and every caller changes the word only after this returns: a thread
   * that dies anywhere in between leaves a journal that undoes exactly what it did. Small, so
   * that the JIT inlines it into every store (a send makes about ten).
   */
  private record(index: number, old: number): void {
    const n = this.length;
    if (n >= this.capacity) return this.recordInShared(index, old);
    const I = this.int32,
      entry = this.entriesAt + 2 * n;
    I[entry] = index;
    I[entry + 1] = old;
    this.length = n + 1;
    I[this.lengthAt] = n + 1;
  }

  /** record, once this thread's area is full (out of line: record stays small enough to inline everywhere). */
  private recordInShared(index: number, old: number): void {
    this.moveToShared();
    this.record(index, old);
  }

  /** The operation succeeded: forget its entries (and leave the shared area). */
  commit(): void {
    if (this.length > 0) {
      this.int32[this.lengthAt] = 0;
      this.length = 0;
    }
    if (this.area !== this.ownArea) this.leaveShared();
  }

  private leaveShared(): void {
    this.int32[HDR_JAREA] = 0;
    this.useArea(this.ownArea);
  }

  /** The operation failed with an exception: undo what it did (ATOMIC-1), then commit the empty journal. */
  rollback(): void {
    this.rollbackArea(this.area);
    this.length = 0;
    this.commit();
  }

  /** Undo the journaled stores of the operation left in area `a` (a dead thread's), newest first; how many. */
  rollbackArea(a: number): number {
    const I = this.int32,
      F = this.float64;
    const j = journalArea(this.layout, a);
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

  /** Undo what a dead thread left half done: its own area and the shared one (at most one is non-empty). */
  rollbackDeadThread(deadArea: number): number {
    return this.rollbackArea(this.sharedArea) + this.rollbackArea(deadArea);
  }

  private useArea(a: number): void {
    const j = journalArea(this.layout, a);
    this.area = a;
    this.lengthAt = j.i;
    this.entriesAt = j.i + JOURNAL_AREA_HEADER;
    this.oldF64At = j.f;
    this.capacity = j.entries;
  }

  /** This thread's area is full: copy the operation's journal to the shared area and go on there. */
  private moveToShared(): void {
    if (this.area === this.sharedArea) throw new Error('shm bus: undo journal overflow');
    const I = this.int32,
      F = this.float64,
      n = this.length;
    const from = this.lengthAt,
      fromF64 = this.oldF64At;
    const to = journalArea(this.layout, this.sharedArea);
    for (let k = 0; k < 2 * n; k++) I[to.i + JOURNAL_AREA_HEADER + k] = I[from + JOURNAL_AREA_HEADER + k];
    for (let k = 0; k < n; k++) F[to.f + k] = F[fromF64 + k];
    I[to.i] = n; // from here on a recovery finds the operation's whole journal in the shared area
    I[HDR_JAREA] = this.ownArea; // who is using it (diagnostics)
    I[from] = 0;
    this.useArea(this.sharedArea);
  }
}
