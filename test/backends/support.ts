// Both backends set up alike, for tests that run the same calls against each and
// compare: the reference backend (model-backed) and the shm backend (one thread).
import { Bus, TesseraError, type Peer } from '../../backends/reference';
import { ShmBus, type ShmPeer } from '../../backends/shm';
import { HDR_JAREA, HDR_LOCK_WAITERS } from '../../backends/shm/layout';
import type { Limits } from '../../spec/types';

export const LIMITS: Limits = {
  maxPeers: 6,
  maxHandlesPerPeer: 16,
  maxPayloadBytes: 64,
  maxHandlesPerMessage: 3,
  queueCapacityMessages: 8,
  queueCapacityBytes: 256,
  senderQuotaMessages: 6,
  senderQuotaBytes: 192,
  // Protocol 2's limits, which the shm backend (protocol 1) does not have: never reached here.
  maxNodesPerPeer: 4096,
  maxPendingPerPeer: 4096,
  senderQuotaHandles: 4096,
};

export type BackendName = 'reference' | 'shm';
export const BACKENDS: readonly BackendName[] = ['reference', 'shm'];

/**
 * A small bus: a (the server) owns node n and a minted handle m (send, grant); b (the client)
 * holds h to n (send, grant) and owns node own; c is closed.
 */
export interface World {
  backend: BackendName;
  ref: Bus | null;
  shm: ShmBus | null;
  a: Peer & ShmPeer;
  b: Peer & ShmPeer;
  c: Peer & ShmPeer;
  n: number;
  m: number;
  h: number;
  own: number;
  /** Everything a failed operation must leave as it was (ATOMIC-1). */
  state(): unknown;
  /** Advance the clock (TIME-1). */
  tick(ms: number): void;
}

export function world(backend: BackendName, limits: Limits = LIMITS): World {
  const ref = backend === 'reference' ? Bus.create({ limits, clock: 'virtual' }) : null;
  const shm = backend === 'shm' ? ShmBus.create({ limits, clock: 'virtual' }) : null;
  const attach = (uid: number, grants: { from: Peer | ShmPeer; handle: number }[] = []) =>
    (ref
      ? ref.attach({ uid, gid: uid, pid: uid }, grants as never)
      : shm!.attach({ uid, gid: uid, pid: uid }, grants as never)) as Peer & ShmPeer;
  const a = attach(1);
  const n = a.createNode({ credentials: true });
  const m = a.mint(n, { rights: ['send', 'grant'] });
  const b = attach(2, [{ from: a, handle: n }]);
  const own = b.createNode();
  const c = attach(3);
  c.close();
  return {
    backend,
    ref,
    shm,
    a,
    b,
    c,
    n,
    m,
    h: b.bootstrap[0],
    own,
    state: () => (ref ? ref.snapshot() : shmState(shm!)),
    tick: (ms) => (ref ? ref.tick(ms) : shm!.tick(ms)),
  };
}

/**
 * The shm bus's state: every control word and value before the journal areas, and every
 * payload byte, but the journal areas (scratch of the last hold) and the two diagnostic words
 * (lock waiters, shared journal user).
 */
export function shmState(bus: ShmBus): { words: Int32Array; values: Float64Array; bytes: Uint8Array } {
  const L = bus.layout,
    core = bus.core;
  const words = core.int32.slice(0, L.journalBase);
  words[HDR_LOCK_WAITERS] = 0;
  words[HDR_JAREA] = 0;
  return {
    words,
    values: core.float64.slice(L.fHeader, L.fJournalBase),
    bytes: core.bytes.slice(L.queueBytesBase),
  };
}

/** What a call did: 'ok', a spec error code, or 'raw: ...' for anything else thrown (a defect). */
export type Outcome = string;

export function outcomeOf(fn: () => unknown): Outcome {
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('outcomeOf: a promise; use settledOutcome');
    return 'ok';
  } catch (e) {
    return e instanceof TesseraError ? e.code : `raw: ${(e as Error)?.message ?? String(e)}`;
  }
}

/** The outcome of a call that may return a promise (settled, or 'pending' if it did not settle at once). */
export async function settledOutcome(fn: () => unknown): Promise<Outcome> {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    return e instanceof TesseraError ? e.code : `raw: ${(e as Error)?.message ?? String(e)}`;
  }
  if (!(r instanceof Promise)) return 'ok';
  const settled = r.then(
    () => 'ok',
    (e: unknown) => (e instanceof TesseraError ? e.code : `raw: ${(e as Error)?.message ?? String(e)}`),
  );
  return Promise.race([settled, new Promise<Outcome>((resolve) => setTimeout(() => resolve('pending'), 50))]);
}
