// The door to the model: every operation of a simulated peer (and of the bus owner: setup,
// clock ticks, faults, the final closes) goes through applyInPlace on the simulation's own
// bus state, and everything the step reports is checked by the invariant monitors, traced,
// accounted (occupancy, send times) and handed to the threads that were waiting on it.
import type { Delivery, Invocation, Limits, Operation, Result } from '../../spec/types';
import { resolveLimits } from '../../spec/registry/limits';
import { applyInPlace, initialState, type BusEvent, type BusState } from '../../model';
import { Monitor, fingerprint, type Violation } from '../../model/invariants';
import { TicketTable } from '../../model/ticket-table';
import type { Scenario } from '../types';
import type { Simulation, RunOptions } from './engine';
import { InvariantViolation } from './errors';
import { Occupancy } from './occupancy';
import type { SeqBuf, ThreadRt } from './records';

export class BusDoor {
  readonly state: BusState;
  readonly limits: Limits;
  readonly monitors: Monitor;
  readonly occupancy = new Occupancy();
  /** The thread waiting on each ticket of a pending operation (tickets only grow, TIME-2). */
  private readonly waiters = new TicketTable(64);
  private readonly stateCheckEvery: number;
  private readonly tamper: RunOptions['tamper'];
  readonly traceLines: string[] | null;
  private stepCount = 0;
  /** The step of the next sampled structural check. */
  private nextStateCheck: number;
  /** Scratch for the seqs of a completion whose waiter is gone. */
  private readonly scratch: SeqBuf = { lastSeqs: new Float64Array(16), lastSent: new Float64Array(16), lastN: 0 };
  private traceTruncated = false;
  /** Where takeSeqs is in the current step's events. */
  private cursor = 0;
  /** Below this simulated time, syncClock has nothing to do (see there). */
  private clockSkipBelowNs = 0;

  constructor(
    private readonly sim: Simulation,
    scenario: Scenario,
    options: RunOptions,
  ) {
    this.limits = resolveLimits(scenario.limits ?? {});
    this.state = initialState(this.limits);
    this.monitors = new Monitor(this.limits);
    const every = options.stateCheckEvery ?? 2048;
    this.stateCheckEvery = Number.isSafeInteger(every) && every >= 1 ? every : 2048;
    this.nextStateCheck = this.stateCheckEvery;
    this.tamper = options.tamper;
    this.traceLines = options.trace ? [] : null;
  }

  /** Apply one operation through the model, feed the monitors, and wake whoever it completed. */
  apply(op: Operation, by: ThreadRt | null): Invocation {
    const sim = this.sim;
    const kind = op.op;
    if (kind !== 'tick') this.syncClock();
    this.occupancy.seqs.step++;
    const state = this.state;
    const before = fingerprint(state);
    const out = applyInPlace(state, op);
    this.stepCount++;
    sim.metrics.operations++;
    const result = out.result;
    const completions = out.completions;
    const events = this.tamper ? this.tamper(out.events.slice(), this.stepCount) : out.events;
    const pending = isPending(result);
    const v = this.monitors.step(
      op,
      result,
      completions,
      events,
      pending || (result as Result).ok ? null : before,
      state,
    );
    if (v !== null) this.violate(v);
    if (this.stepCount === this.nextStateCheck) this.sampledCheck();
    if (this.traceLines) this.traceStep(op, by, result, events);
    if (events.length > 0) this.occupancy.account(events, sim.now, by !== null ? by.prog.opStartNs : sim.now);
    // Deliveries of this step, in order, checked against the dequeue events (INV-10, INV-9).
    this.cursor = 0;
    if ((kind === 'receive' || kind === 'replyReceive') && !pending && (result as Result).ok) {
      const d = ((result as { value: unknown }).value as { deliveries: Delivery[] }).deliveries;
      const buf: SeqBuf = by !== null ? by.prog : this.scratch;
      this.takeSeqs(events, op.peer, d.length, buf);
      const dv = this.monitors.deliveries(op.peer, d, buf.lastSeqs, buf.lastN);
      if (dv !== null) this.violate(dv);
    }
    const nc = completions.length;
    for (let i = 0; i < nc; i++) {
      const c = completions[i];
      if (c.op === 'receive' && c.result.ok) {
        const d = (c.result.value as { deliveries: Delivery[] }).deliveries;
        const waiter = this.waiterOf(c.ticket);
        const buf: SeqBuf = waiter !== null ? waiter.prog : this.scratch;
        this.takeSeqs(events, c.peer, d.length, buf);
        const dv = this.monitors.deliveries(c.peer, d, buf.lastSeqs, buf.lastN);
        if (dv !== null) this.violate(dv);
      }
    }
    if (pending && by !== null) this.waiters.add((result as { ticket: number }).ticket, by.id);
    for (let i = 0; i < nc; i++) {
      const c = completions[i];
      const slot = this.waiters.find(c.ticket);
      if (slot < 0) continue; // a thread that ended (closed) or the setup
      const t = sim.threads[this.waiters.value(slot)];
      this.waiters.remove(slot);
      sim.waits.completed(t, c.result, by, kind);
    }
    return result;
  }

  /** Keep the model's clock (ms) in step with the simulation's (ns) (TIME-1). */
  syncClock(): void {
    // Fast path: well inside the model's current millisecond (the margin covers the rounding of
    // now / 1e6 for any clock below 1e12 ms; the model's clock only moves forward, by ticks).
    const now = this.sim.now;
    if (now < this.clockSkipBelowNs) return;
    const ms = Math.floor(now / 1e6);
    if (ms > this.state.nowMs) this.apply({ op: 'tick', ms: ms - this.state.nowMs }, null);
    this.clockSkipBelowNs = (this.state.nowMs + 1) * 1e6 - 4096;
  }

  /**
   * The sampled structural check, at multiples of stateCheckEvery steps; the next one at least
   * as many steps later as the state has records, so that checks cost O(1) per step however
   * large the state grows (the same steps as every stateCheckEvery while it is smaller).
   */
  private sampledCheck(): void {
    this.fullCheck();
    const every = this.stateCheckEvery;
    const size = every === 1 ? 0 : stateSize(this.state);
    this.nextStateCheck = Math.ceil((this.stepCount + Math.max(every, size)) / every) * every;
  }

  /** A full structural check of the model state (sampled, after faults, at the end). */
  fullCheck(): void {
    const v = this.monitors.state(this.state);
    if (v) this.violate(v);
  }

  /** Once every peer has closed: nothing left anywhere. */
  finalCheck(): void {
    const found = this.monitors.finish(this.state);
    if (found.length > 0) this.violate(found[0]);
  }

  private violate(v: Violation): never {
    throw new InvariantViolation(v, this.sim.now);
  }

  /**
   * The next n dequeue events of a peer in this step's events (the deliveries of one receive):
   * their seqs into `seqs`, and when each was sent into `sent` (from account(), same step).
   */
  private takeSeqs(events: readonly BusEvent[], peer: number, n: number, buf: SeqBuf): void {
    if (n > buf.lastSeqs.length) {
      buf.lastSeqs = new Float64Array(n * 2);
      buf.lastSent = new Float64Array(n * 2);
    }
    const seqs = buf.lastSeqs,
      sent = buf.lastSent;
    const sentNs = this.occupancy.eventSentNs;
    let k = 0;
    while (k < n && this.cursor < events.length) {
      const i = this.cursor++;
      const e = events[i];
      if (e.type === 'dequeue' && e.peer === peer) {
        seqs[k] = e.seq;
        sent[k] = sentNs[i];
        k++;
      }
    }
    buf.lastN = k;
  }

  /** The thread waiting on a ticket, or null (a thread that ended, the setup, a fault). */
  private waiterOf(ticket: number): ThreadRt | null {
    const slot = this.waiters.find(ticket);
    return slot >= 0 ? this.sim.threads[this.waiters.value(slot)] : null;
  }

  private traceStep(op: Operation, by: ThreadRt | null, result: Invocation, events: readonly BusEvent[]): void {
    if (this.traceLines!.length >= MAX_TRACE_LINES) {
      // A trace is for reading: past this many lines it ends with one line saying so.
      if (!this.traceTruncated) this.traceLines!.push(JSON.stringify({ truncatedAfterLines: this.traceLines!.length }));
      this.traceTruncated = true;
      return;
    }
    const r = 'pending' in result ? { pending: result.ticket } : result.ok ? { ok: true } : { error: result.error };
    const o: Record<string, unknown> = { op: op.op };
    if ('handle' in op) o.handle = op.handle;
    if (op.op === 'multicast') o.handles = op.handles;
    if (op.op === 'tick') o.ms = op.ms;
    const tNs = Math.round(this.sim.now);
    this.traceLines!.push(
      JSON.stringify({
        tNs,
        thread: by ? by.name : 'bus',
        peer: 'peer' in op ? op.peer : null,
        ...o,
        result: r,
      }),
    );
    for (const e of events) this.traceLines!.push(JSON.stringify({ tNs, event: e.type, ...e, type: undefined }));
  }
}

/** Records a structural check of the state walks: handles, nodes, calls, pending operations, queued entries. */
function stateSize(s: BusState): number {
  let n = Object.keys(s.handles).length + Object.keys(s.nodes).length + Object.keys(s.calls).length + s.pending.length;
  for (const p of Object.values(s.peers)) n += 1 + p.queue.length;
  return n;
}

/** The longest trace kept, lines (the simulator's JSON-lines trace of one run). */
export const MAX_TRACE_LINES = 2_000_000;

/** Whether an invocation is pending (a ticket) rather than a result. */
export function isPending(r: Invocation): r is { pending: true; ticket: number } {
  return (r as { pending?: boolean }).pending === true;
}
