// Driving a run to the implementation's own limits. An implementation without
// `configurable-limits` keeps its declared limits (64 peers, 256 table slots, a
// sender quota of 16 messages...), which random runs of a few dozen operations
// never reach, so its quota and table checks would go untested. So some runs
// start, after the prelude, by filling one resource up to its limit (or one
// short of it), read from the model state as it goes: the random commands that
// follow then meet the edge (QUOTA-1, QUOTA-2, HANDLE-1, NODE-4, BUS-2).
import fc from 'fast-check';
import type { Limits, Operation } from '../spec/types';
import type { BusState } from '../model';
import { tableUse } from '../model/rules';
import { queueLoad } from '../model/state';

export const FILL_TARGETS = [
  'senderQuotaMessages',
  'senderQuotaBytes',
  'queueCapacityMessages',
  'queueCapacityBytes',
  'maxHandlesPerPeer',
  'maxNodesPerPeer',
  'maxPeers',
] as const satisfies readonly (keyof Limits)[];
export type FillTarget = (typeof FILL_TARGETS)[number];

/** Fill `limit` up to `short` below it; with short 0, up to the limit and one operation past it (refused). */
export interface Fill {
  limit: FillTarget;
  short: number;
}

/** What each target needs of the implementation. */
const NEEDS: Record<FillTarget, string[]> = {
  senderQuotaMessages: ['send'],
  senderQuotaBytes: ['send'],
  queueCapacityMessages: ['send', 'attach'],
  queueCapacityBytes: ['send', 'attach'],
  maxHandlesPerPeer: ['mint'],
  maxNodesPerPeer: ['createNode'],
  maxPeers: ['attach'],
};

/** No fill for an implementation whose limits the suite sets small; else one run in three fills a resource. */
export function fillArbitrary(caps: { operations: Set<string>; features: Set<string> }): fc.Arbitrary<Fill | null> {
  const targets = FILL_TARGETS.filter((t) => NEEDS[t].every((op) => caps.operations.has(op)));
  if (caps.features.has('configurable-limits') || targets.length === 0) return fc.constant(null);
  return fc.oneof(
    { withCrossShrink: true },
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: fc.record({ limit: fc.constantFrom(...targets), short: fc.integer({ min: 0, max: 1 }) }), weight: 1 },
  );
}

/** The most operations a fill may take (a guard: each one moves the resource by at least one). */
const MAX_FILL_OPERATIONS = 5000;

const big = (bytes: number) => Buffer.alloc(bytes, 0x66).toString('base64');

/** The senders (open peers other than the owner) holding a send handle to peer 1's first node, with its name. */
function sendersTo(s: BusState, owner: number): { peer: number; handle: number }[] {
  const out: { peer: number; handle: number }[] = [];
  for (const p of Object.values(s.peers)) {
    if (p.status !== 'open' || p.id === owner) continue;
    for (const [name, id] of Object.entries(p.table)) {
      const h = s.handles[id];
      if (h.kind === 'node' && h.status === 'live' && h.rights.includes('send') && s.nodes[h.node]?.owner === owner) {
        out.push({ peer: p.id, handle: Number(name) });
        break;
      }
    }
  }
  return out;
}

/** The next operation towards the fill's goal, or null when it is reached (or cannot go on). */
function nextFill(s: BusState, fill: Fill): Operation | null {
  const l = s.limits;
  const owner = 1;
  const p1 = s.peers[owner];
  if (!p1 || p1.status !== 'open') return null;
  const root = Number(Object.keys(p1.table)[0]);
  const load = queueLoad(p1.queue);
  const send = (from: { peer: number; handle: number }, bytes: number): Operation => ({
    op: 'send',
    peer: from.peer,
    handle: from.handle,
    message: { segments: bytes > 0 ? [big(bytes)] : [] },
    // TIME-4: a send that must not wait says timeoutMs 0 (left out, it would wait without limit).
    timeoutMs: 0,
  });
  const senders = sendersTo(s, owner);
  // How far a count goes: `short` below the limit, or (short 0) one attempt past it, which must be refused.
  const goal = (limit: number) => (fill.short === 0 ? limit + 1 : limit - fill.short);
  switch (fill.limit) {
    case 'senderQuotaMessages': {
      const from = senders[0];
      const held = from ? (load.bySender.get(from.peer)?.messages ?? 0) : 0;
      return from && held < goal(l.senderQuotaMessages) ? send(from, 0) : null;
    }
    case 'senderQuotaBytes': {
      const from = senders[0];
      const held = from ? (load.bySender.get(from.peer)?.bytes ?? 0) : 0;
      const left = goal(l.senderQuotaBytes) - held;
      const mine = from ? (load.bySender.get(from.peer)?.messages ?? 0) : 0;
      return from && left > 0 && mine < l.senderQuotaMessages ? send(from, Math.min(left, l.maxPayloadBytes)) : null;
    }
    case 'queueCapacityMessages':
    case 'queueCapacityBytes': {
      const bytes = fill.limit === 'queueCapacityBytes';
      const left = bytes ? goal(l.queueCapacityBytes) - load.bytes : goal(l.queueCapacityMessages) - load.messages;
      if (left <= 0) return null;
      const size = bytes ? Math.min(left, l.maxPayloadBytes, l.senderQuotaBytes) : 0;
      const from = senders.find((x) => {
        const mine = load.bySender.get(x.peer) ?? { messages: 0, bytes: 0 };
        return mine.messages < l.senderQuotaMessages && mine.bytes + size <= l.senderQuotaBytes;
      });
      if (from) return send(from, size);
      // Every sender is at its quota: one more peer, granted the owner's node.
      const open = Object.values(s.peers).filter((p) => p.status === 'open').length;
      if (open >= l.maxPeers || Number.isNaN(root)) return null;
      return {
        op: 'attach',
        credentials: { uid: 3000 + s.nextPeer, gid: 100, pid: 6000 + s.nextPeer },
        bootstrap: [{ fromPeer: owner, handle: root }],
      };
    }
    case 'maxHandlesPerPeer':
      return !Number.isNaN(root) && tableUse(p1) < goal(l.maxHandlesPerPeer)
        ? { op: 'mint', peer: owner, handle: root, rights: ['send'] }
        : null;
    case 'maxNodesPerPeer':
      return p1.nodes < goal(l.maxNodesPerPeer) && tableUse(p1) < l.maxHandlesPerPeer
        ? { op: 'createNode', peer: owner }
        : null;
    case 'maxPeers': {
      const open = Object.values(s.peers).filter((p) => p.status === 'open').length;
      return open < goal(l.maxPeers)
        ? { op: 'attach', credentials: { uid: 3000 + s.nextPeer, gid: 100, pid: 6000 + s.nextPeer } }
        : null;
    }
  }
}

/**
 * The operations of a fill, each read from the state as the previous ones left it (the caller
 * steps each one before asking for the next). Stops when the goal is reached, or when an
 * operation changed nothing the goal counts.
 */
export function* fillOperations(s: BusState, fill: Fill | null | undefined): Generator<Operation> {
  if (!fill) return;
  let last = '';
  for (let i = 0; i < MAX_FILL_OPERATIONS; i++) {
    const op = nextFill(s, fill);
    if (op === null) return;
    const now = progress(s, fill);
    if (now === last) return; // the previous operation moved nothing: the implementation refused it
    last = now;
    yield op;
  }
}

function progress(s: BusState, fill: Fill): string {
  const p1 = s.peers[1];
  const load = p1 ? queueLoad(p1.queue) : null;
  return JSON.stringify([
    fill.limit,
    load?.messages,
    load?.bytes,
    p1 ? tableUse(p1) : 0,
    p1?.nodes,
    Object.keys(s.peers).length,
  ]);
}

/** "senderQuotaMessages (16), filled to 1 short" */
export function describeFill(fill: Fill, limits: Limits): string {
  return `${fill.limit} (${limits[fill.limit]})${fill.short ? `, filled to ${fill.short} short of it` : ', filled to it and probed one past it'}`;
}
