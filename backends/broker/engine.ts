// The bus the broker runs, in the broker's private memory: no other process can reach a word of
// it, and the broker is its only writer (tables, trees, quotas, queues, the bus order). Two
// engines step it, behind one interface (BrokerEngine), both with every operation's outcome
// exactly the spec's (DESIGN.md, "The engines"):
// - 'model' (ModelEngine, the default): the formal model's state (model/state.ts) stepped in
//   place by the model's own transition (applyInPlace). The faster of the two here: a segment
//   stays the base64 string it arrived as, and a step does only what the operation changes.
// - 'shm' (ShmEngine): the shared-memory backend's bus (backends/shm) driven by its model-exact
//   runner (ShmBus.run), over memory only this process maps (a memfd mapping whose fd is closed
//   at once, or V8's own buffer): fixed-size tables indexed by slot, but the runner checks each
//   operation's shape by asking the model's rules with a state that throws when read, copies the
//   operation, and decodes and re-encodes payloads, ~10 us per request in the broker against ~2.
// Handle names differ between the two (slot and generation, or a counter, HANDLE-2); peers use
// the names the bus gives them.
import type { Completion, Invocation, Limits, Operation } from '../../spec/types';
import { applyInPlace, initialState, type BusState } from '../../model';
import { ShmBus } from '../shm';

/** What is alive on the bus (INV-5: after every peer closed, all of it is zero). */
export interface BusAudit {
  peersOpen: number;
  handles: number;
  nodes: number;
  calls: number;
  queued: number;
  pending: number;
}

/** Which engine runs the broker's bus. */
export type EngineName = 'shm' | 'model';

/** The default engine: the faster one here (measured in the broker's bench rows, which run both). */
export const DEFAULT_ENGINE: EngineName = 'model';

/** What the broker needs of its bus. */
export interface BrokerEngine {
  readonly name: EngineName;
  readonly limits: Limits;
  /** The bus clock, ms (TIME-1: moved only by tick). */
  readonly nowMs: number;
  /** The completions of the last run. */
  readonly lastCompletions: Completion[];
  /** Operations the engine threw on (never expected: counted, not trusted). */
  readonly faults: number;
  /**
   * One operation, given as a plain object the broker built in its own memory (decoded from a
   * private copy of a request, or the owner's). ERR-1: whatever is wrong with it, the engine
   * answers the error and changes nothing.
   */
  run(op: Operation): Invocation;
  audit(): BusAudit;
  /** Lets go of the bus's memory (the engine is not used after). */
  dispose(): void;
}

/** A new engine of that name over a new bus (BUS-1) with a virtual clock: the broker ticks it. */
export function createEngine(name: EngineName | undefined, limits: Partial<Limits> = {}): BrokerEngine {
  const engine = name ?? DEFAULT_ENGINE;
  if (engine === 'shm') return new ShmEngine(limits);
  if (engine === 'model') return new ModelEngine(limits);
  throw new Error(`unknown broker engine ${String(engine)} (shm or model)`);
}

const FAULT: Invocation = { ok: false, error: 'INVALID_ARGUMENT' };

export class ModelEngine implements BrokerEngine {
  readonly name = 'model';
  private readonly state: BusState;
  lastCompletions: Completion[] = [];
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

  run(op: Operation): Invocation {
    try {
      const out = applyInPlace(this.state, op);
      this.lastCompletions = out.completions;
      return out.result;
    } catch {
      this.faults++;
      this.lastCompletions = [];
      return FAULT;
    }
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

  dispose(): void {}
}

export class ShmEngine implements BrokerEngine {
  readonly name = 'shm';
  private readonly bus: ShmBus;
  lastCompletions: Completion[] = [];
  faults = 0;
  private clockMs = 0;
  /**
   * Tickets of the operations pending on the bus (calls, blocked sends, waiting receives): each
   * ends in exactly one completion (TIME-2; CLOSE-1 and CANCEL-1 complete them too), so this is
   * what the runner keeps waiting, counted without reaching into it.
   */
  private readonly pendingTickets = new Set<number>();

  constructor(limits: Partial<Limits> = {}) {
    // The thread span: memory of this process alone (a memfd mapping whose fd is closed at once,
    // or V8's buffer), never a segment another process could map.
    this.bus = ShmBus.create({ limits, clock: 'virtual', span: 'threads' });
  }

  get limits(): Limits {
    return this.bus.limits;
  }

  get nowMs(): number {
    return this.clockMs;
  }

  run(op: Operation): Invocation {
    let r: Invocation;
    try {
      r = this.bus.run(op);
    } catch {
      this.faults++;
      this.lastCompletions = [];
      return FAULT;
    }
    const completions = this.bus.lastCompletions;
    this.lastCompletions = completions;
    if ('pending' in r) this.pendingTickets.add(r.ticket);
    else if (r.ok && op.op === 'tick') this.clockMs = (r.value as { nowMs: number }).nowMs;
    for (let i = 0; i < completions.length; i++) this.pendingTickets.delete(completions[i].ticket);
    return r;
  }

  audit(): BusAudit {
    return { ...this.bus.audit(), pending: this.pendingTickets.size };
  }

  dispose(): void {
    this.bus.dispose();
  }
}
