// The bus the broker runs: the formal model's state (model/state.ts) in the broker's private
// memory, stepped in place by the model's own transition (applyInPlace), so every operation has
// exactly the spec's outcome at the spec's current protocol, and no other process can reach a
// word of it. The broker is its only writer (tables, trees, quotas, queues, the bus order).
import type { Completion, Invocation, Limits, Operation } from '../../spec/types';
import { applyInPlace, initialState, type BusState } from '../../model';

/** What is alive on the bus (INV-5: after every peer closed, all of it is zero). */
export interface BusAudit {
  peersOpen: number;
  handles: number;
  nodes: number;
  calls: number;
  queued: number;
  pending: number;
}

export class ModelEngine {
  private readonly state: BusState;
  /** The completions of the last run. */
  lastCompletions: Completion[] = [];
  /** Operations the model threw on (never expected: its transition is total; counted, not trusted). */
  faults = 0;

  constructor(limits: Partial<Limits> = {}) {
    this.state = initialState(limits);
  }

  get limits(): Limits {
    return this.state.limits;
  }

  get nowMs(): number {
    return this.state.nowMs;
  }

  /**
   * One operation, given as a plain object the broker built in its own memory (decoded from a
   * private copy of a request, or the owner's). ERR-1: whatever is wrong with it, the model
   * answers the error and changes nothing.
   */
  run(op: Operation): Invocation {
    try {
      const out = applyInPlace(this.state, op);
      this.lastCompletions = out.completions;
      return out.result;
    } catch {
      this.faults++;
      this.lastCompletions = [];
      return { ok: false, error: 'INVALID_ARGUMENT' };
    }
  }

  /** The earliest deadline of a pending operation on the bus clock (Infinity: none). */
  earliestDeadlineMs(): number {
    let next = Infinity;
    for (const p of this.state.pending) if (p.deadline !== null && p.deadline < next) next = p.deadline;
    return next;
  }

  audit(): BusAudit {
    const s = this.state;
    let peersOpen = 0,
      queued = 0;
    for (const k in s.peers) {
      const p = s.peers[k];
      if (p.status === 'open') peersOpen++;
      queued += p.queue.length;
    }
    return {
      peersOpen,
      handles: Object.keys(s.handles).length,
      nodes: Object.keys(s.nodes).length,
      calls: Object.keys(s.calls).length,
      queued,
      pending: s.pending.length,
    };
  }
}
