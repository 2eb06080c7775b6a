// Deadlines of pending operations (TIME-1): at each one the bus clock moves on, so the model
// expires what is due. Deadlines pushed one after another at the same time (senders blocked
// with the same timeout in the same model millisecond) share one queued event that stands
// for all of them: a later one would pop after the first at the same time, and all it does
// is count itself and sync the clock, which the first already did. The queue stays small
// (backpressure keeps thousands of these pending) and the event counts stay exact.
import type { EventQueue } from '../heap';
import { EventKind } from './records';

export class Deadlines {
  /** Per group: the deadlines it stands for. */
  private count = new Int32Array(64);
  /** Free group numbers (a stack), and the next never-used one. */
  private free = new Int32Array(64);
  private freeCount = 0;
  private fresh = 0;
  /** The time and group of the last deadline pushed (-1: that group has popped). */
  private lastTime = -1;
  private lastGroup = -1;
  /** Deadlines queued beyond the one event of their group (queue length as if each were its own event). */
  extra = 0;

  constructor(private readonly queue: EventQueue) {}

  /** Queue a deadline at `at` (ns). */
  push(at: number): void {
    if (at === this.lastTime && this.lastGroup >= 0) {
      this.count[this.lastGroup]++;
      this.extra++;
      return;
    }
    let g: number;
    if (this.freeCount > 0) g = this.free[--this.freeCount];
    else {
      g = this.fresh++;
      if (g >= this.count.length) {
        const c = new Int32Array(this.count.length * 2);
        c.set(this.count);
        this.count = c;
        const f = new Int32Array(this.free.length * 2);
        f.set(this.free);
        this.free = f;
      }
    }
    this.count[g] = 1;
    this.lastTime = at;
    this.lastGroup = g;
    this.queue.push(at, EventKind.Deadline, g, 0);
  }

  /** Group g popped: how many deadlines it stood for (each counts as an event). */
  popped(g: number): number {
    const n = this.count[g];
    this.free[this.freeCount++] = g;
    if (g === this.lastGroup) this.lastGroup = -1;
    this.extra -= n - 1;
    return n;
  }
}
