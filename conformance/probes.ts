// Probing after failures and teardowns (ATOMIC-1): comparing the result of a failing step says
// nothing of what it may have changed underneath. A send refused QUEUE_FULL that still took a
// table slot, a refused transfer that still consumed the handle it moved, a destroyNode that
// forgot to free the slots of the handles its discarded messages carried: each is invisible until
// some later step happens to run into it. So after such a step the property looks at once, with
// a few cheap operations read from the model state, each compared with the model like any step:
//
// - the table edge of the peers involved: mint through one of the peer's live handles until the
//   model says TABLE_FULL, then release what was minted (HANDLE-1: any hidden slot taken or freed
//   moves the edge);
// - every handle a failed send or call named in a move: still there (sameNode, ATOMIC-1, SEND-6);
// - the queue it was refused at, in a third of the runs: a receive there shows any message the
//   failure still left (the receive changes the run, so not always).
//
// The probes are generated from the state as they run, like a fill (conformance/fill.ts), so a
// seed and path replay them.
import type { Invocation, Operation } from '../spec/types';
import type { BusState } from '../model';
import { lookup, tableUse, destOf } from '../model/rules';
import type { Capabilities } from './concretizer';

/** The largest table probed to its edge: beyond it a probe costs more steps than it is worth. */
const MAX_PROBED_TABLE = 12;

/** Operations whose failure or success the probes follow. */
const TEARDOWNS = new Set(['destroyNode', 'close', 'revoke']);

function targetPeer(state: BusState, op: Operation): number | null {
  if (op.op !== 'send' && op.op !== 'call') return null;
  const h = lookup(state, op.peer, op.handle);
  return h?.kind === 'node' && h.status === 'live' && state.nodes[h.node] ? destOf(state, h).id : null;
}

/** What a step leaves to probe, read before it runs: the peers involved and the handles it moved. */
export interface ProbePlan {
  peers: number[];
  moved: { peer: number; handle: number }[];
  queue: number | null;
}

export function probePlan(state: BusState, op: Operation, withReceive: boolean): ProbePlan {
  const peers: number[] = [];
  const self = (op as { peer?: unknown }).peer;
  if (typeof self === 'number' && state.peers[self]) peers.push(self);
  const dest = targetPeer(state, op);
  if (dest !== null && !peers.includes(dest)) peers.push(dest);
  if (op.op === 'destroyNode' || op.op === 'revoke') {
    // The peers holding handles to the node (their slots for handles in flight, NOTICE-4).
    const h = lookup(state, op.peer, op.handle);
    if (h?.kind === 'node')
      for (const x of Object.values(state.handles))
        if (x.kind === 'node' && x.node === h.node && !peers.includes(x.holder)) peers.push(x.holder);
  }
  const message = (op as { message?: { transfers?: unknown } }).message;
  const transfers = Array.isArray(message?.transfers)
    ? (message.transfers as { handle?: unknown; move?: unknown }[])
    : [];
  const moved = transfers
    .filter((t) => t && typeof t.handle === 'number' && t.move === true && typeof self === 'number')
    .map((t) => ({ peer: self as number, handle: t.handle as number }));
  return { peers: peers.slice(0, 3), moved, queue: withReceive ? dest : null };
}

/** Whether a step calls for probes: it failed, or it tore something down. */
export function wantsProbes(op: Operation, result: Invocation): boolean {
  if ('pending' in result) return false;
  return !result.ok || TEARDOWNS.has(op.op);
}

/** A live node handle of `peer` to mint through, or null. */
function mintable(state: BusState, peer: number): number | null {
  const p = state.peers[peer];
  for (const [name, id] of Object.entries(p.table)) {
    const h = state.handles[id];
    if (h.kind === 'node' && h.status === 'live') return Number(name);
  }
  return null;
}

/**
 * The probe operations, each read from the state the previous ones left (the caller steps each
 * before asking for the next, and passes the model's result of the last one in `last`).
 */
export function* probeOperations(
  state: BusState,
  plan: ProbePlan,
  caps: Capabilities,
  last: { result: Invocation | null },
): Generator<Operation> {
  const has = (o: string) => caps.operations.has(o);
  for (const m of plan.moved) {
    const p = state.peers[m.peer];
    if (p?.status === 'open' && has('sameNode') && p.table[m.handle] !== undefined)
      yield { op: 'sameNode', peer: m.peer, handle: m.handle, other: m.handle };
  }
  if (plan.queue !== null && state.peers[plan.queue]?.status === 'open' && has('receive'))
    yield { op: 'receive', peer: plan.queue, max: state.limits.queueCapacityMessages + 8, timeoutMs: 0 };
  if (!has('mint') || !has('release') || state.limits.maxHandlesPerPeer > MAX_PROBED_TABLE) return;
  for (const peer of plan.peers) {
    const p = state.peers[peer];
    if (p?.status !== 'open') continue;
    const through = mintable(state, peer);
    if (through === null) continue;
    const minted: number[] = [];
    const room = state.limits.maxHandlesPerPeer - tableUse(p);
    for (let k = 0; k <= room; k++) {
      yield { op: 'mint', peer, handle: through, rights: [] };
      const r = last.result;
      if (!r || 'pending' in r || !r.ok) break;
      minted.push((r.value as { handle: number }).handle);
    }
    for (const name of minted) yield { op: 'release', peer, handle: name };
  }
}
