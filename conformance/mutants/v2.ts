// Mutants for the rules of protocol v2: one realistic bug per rule (the model
// with the bug grafted on, as in conformance/mutants/index.ts). Each must be
// caught by the suite: by a case of conformance/cases/bounds.ts, by the
// property, or both (test/conformance/mutants.test.ts).
import type { Operation, Result } from '../../spec/types';
import { applyInPlace, firstFailure, type BusState, type QueueEntry, type StepOutcome } from '../../model';
import { destOf, lookup, messageBytes, queueRoom, roomError } from '../../model/rules';
import { createModelDriver, type StepFn } from '../model-driver';
import type { Mutant } from './index';

type Outcome = Omit<StepOutcome, 'state'>;

function live(name: string, makeStep: () => StepFn): Mutant['createDriver'] {
  return () => createModelDriver(`mutant:${name}`, makeStep);
}

/** Apply `op` with one limit raised by `by` for the step: the bug of a check that forgets a case. */
function withLimitRaised(state: BusState, op: Operation, limit: keyof BusState['limits'], by: number): Outcome {
  state.limits[limit] += by;
  try {
    return applyInPlace(state, op);
  } finally {
    state.limits[limit] -= by;
  }
}

const failingClause = (state: BusState, op: Operation): string | null => firstFailure(state, op)?.rule.clause ?? null;

/** NODE-4: a node whose root handle was released is no longer counted. */
const nodeLimitCountsRoots: Mutant = {
  name: 'node-limit-counts-roots',
  bug: 'the node limit counts nodes that still have their root handle: releasing a root frees the place, so nodes pile up unbounded',
  clauses: ['NODE-4', 'BOUND-1'],
  createDriver: live('node-limit-counts-roots', () => (state, op) => {
    if (op.op !== 'createNode' || failingClause(state, op) !== 'NODE-4') return applyInPlace(state, op);
    const rooted = Object.values(state.nodes).filter(
      (n) => n.owner === op.peer && n.status === 'live' && n.root !== null,
    );
    if (rooted.length >= state.limits.maxNodesPerPeer) return applyInPlace(state, op);
    return withLimitRaised(state, op, 'maxNodesPerPeer', 1);
  }),
};

/** BOUND-2: only calls and blocked sends are counted; a waiting receive is not. */
const pendingLimitSkipsReceives: Mutant = {
  name: 'pending-limit-skips-receives',
  bug: 'waiting receives do not count toward maxPendingPerPeer: a receive over the limit still waits',
  clauses: ['BOUND-2', 'RECV-2'],
  createDriver: live('pending-limit-skips-receives', () => (state, op) => {
    if (op.op !== 'receive' || failingClause(state, op) !== 'BOUND-2') return applyInPlace(state, op);
    return withLimitRaised(state, op, 'maxPendingPerPeer', 1);
  }),
};

/** QUOTA-4: the reply handle of a call is left out of the handle quota. */
const handleQuotaSkipsReplyHandle: Mutant = {
  name: 'handle-quota-skips-reply-handle',
  bug: "the handle quota counts a message's transfers but not the reply handle a call brings",
  clauses: ['QUOTA-4', 'CALL-1'],
  createDriver: live('handle-quota-skips-reply-handle', () => (state, op) => {
    if (op.op !== 'call' || failingClause(state, op) !== 'QUOTA-2') return applyInPlace(state, op);
    const dest = destOf(state, lookup(state, op.peer, op.handle)!);
    const transfers = (op.message.transfers ?? []).length;
    if (queueRoom(state, dest, op.peer, 1, messageBytes(op.message), transfers) !== null)
      return applyInPlace(state, op);
    if (roomError(state, op, 0) !== null) return applyInPlace(state, op);
    return withLimitRaised(state, op, 'senderQuotaHandles', 1);
  }),
};

/** NODE-5: the refusal is checked in send only. */
const refusalOnlyInSend: Mutant = {
  name: 'refusal-only-in-send',
  bug: 'a node created with acceptsHandles false refuses transfers in a send but takes them in a call or a multicast',
  clauses: ['NODE-5', 'MCAST-2'],
  createDriver: live('refusal-only-in-send', () => (state, op) => {
    if (op.op !== 'call' && op.op !== 'multicast') return applyInPlace(state, op);
    const failure = firstFailure(state, op);
    if (failure?.code !== 'NO_RIGHTS' || (failure.rule.clause !== 'NODE-5' && failure.rule.clause !== 'MCAST-2'))
      return applyInPlace(state, op);
    const refusing = Object.values(state.nodes).filter((n) => !n.acceptsHandles);
    for (const n of refusing) n.acceptsHandles = true;
    try {
      return applyInPlace(state, op);
    } finally {
      for (const n of refusing) n.acceptsHandles = false;
    }
  }),
};

/** NOTICE-6: a waiting no-senders notice is never taken back. */
const noticeNeverWithdrawn: Mutant = {
  name: 'notice-never-withdrawn',
  bug: 'a waiting no-senders notice is not withdrawn when the sender count rises again: the owner reads a notice that is no longer true, ahead of messages sent after it',
  clauses: ['NOTICE-6', 'NOTICE-2', 'ORDER-4'],
  createDriver: live('notice-never-withdrawn', () => (state, op) => {
    const waiting = new Map<number, { owner: number; entry: QueueEntry }>();
    for (const n of Object.values(state.nodes)) {
      if (n.notice === null) continue;
      const entry = state.peers[n.owner].queue.find((e) => e.seq === n.notice);
      if (entry) waiting.set(entry.seq, { owner: n.owner, entry });
    }
    const out = applyInPlace(state, op);
    for (const e of out.events) {
      const w = e.type === 'discard' ? waiting.get(e.seq) : undefined;
      if (!w || state.nodes[w.entry.node]?.status !== 'live' || state.peers[w.owner].status !== 'open') continue;
      // The bug: the notice stays where it was (the node no longer points at it).
      const queue = state.peers[w.owner].queue;
      let i = queue.length;
      while (i > 0 && queue[i - 1].seq > w.entry.seq) i--;
      queue.splice(i, 0, w.entry);
    }
    return out;
  }),
};

/** DESTROY-5: the count given to destroyNode is not compared. */
const destroyIgnoresCount: Mutant = {
  name: 'destroy-ignores-count',
  bug: 'a conditional destroyNode ignores derivedCount and destroys the node even when handles were derived since',
  clauses: ['DESTROY-5', 'NOTICE-3'],
  createDriver: live('destroy-ignores-count', () => (state, op) => {
    if (op.op !== 'destroyNode' || failingClause(state, op) !== 'DESTROY-5') return applyInPlace(state, op);
    const { derivedCount: _ignored, ...unconditional } = op;
    return applyInPlace(state, unconditional);
  }),
};

/** SEND-8: a fresh send is checked against the queue alone, not against its sender's blocked sends. */
const laterSendOvertakes: Mutant = {
  name: 'later-send-overtakes',
  bug: "a later send, call or multicast that fits is accepted ahead of its sender's blocked send to the same queue",
  clauses: ['SEND-8', 'ORDER-2', 'INV-7'],
  createDriver: live('later-send-overtakes', () => (state, op) => {
    if (op.op !== 'send' && op.op !== 'call' && op.op !== 'multicast') return applyInPlace(state, op);
    const peer = state.peers[op.peer as number];
    if (!peer || peer.blockedSends === 0) return applyInPlace(state, op);
    const blocked = peer.blockedSends;
    peer.blockedSends = 0; // the bug: no look at the sender's own waiters
    try {
      return applyInPlace(state, op);
    } finally {
      peer.blockedSends += blocked;
    }
  }),
};

/** NODE-6: two handles are the same node only when they are the same handle. */
const sameNodeByName: Mutant = {
  name: 'same-node-by-name',
  bug: 'sameNode compares the two handles instead of their nodes: a minted or received copy of a handle answers false',
  clauses: ['NODE-6'],
  createDriver: live('same-node-by-name', () => (state, op) => {
    const out = applyInPlace(state, op);
    if (op.op !== 'sameNode' || 'pending' in out.result || !out.result.ok) return out;
    return { ...out, result: { ok: true, value: { same: op.handle === op.other } } as Result };
  }),
};

/** TIME-3: tick adds without looking at the end of the clock. */
const clockPassesItsEnd: Mutant = {
  name: 'clock-passes-its-end',
  bug: 'tick adds ms to the clock without a bound: the clock passes 2^53-1 and stops counting exactly',
  clauses: ['TIME-3'],
  createDriver: live('clock-passes-its-end', () => (state, op) => {
    if (op.op !== 'tick' || failingClause(state, op) !== 'TIME-3') return applyInPlace(state, op);
    state.nowMs += op.ms;
    return { result: { ok: true, value: { nowMs: state.nowMs } }, completions: [], events: [] };
  }),
};

/** SEND-2: base64 decoded leniently, so a segment with non-zero unused bits is taken. */
const lenientBase64: Mutant = {
  name: 'lenient-base64',
  bug: 'segments are decoded leniently: non-canonical base64 such as AB== is accepted as the byte it decodes to',
  clauses: ['SEND-2', 'ERR-1'],
  createDriver: live('lenient-base64', () => (state, op) => {
    const message = (op as { message?: { segments?: unknown } }).message;
    if (!message || !Array.isArray(message.segments)) return applyInPlace(state, op);
    const canonical = message.segments.map((s) =>
      typeof s === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0
        ? Buffer.from(s, 'base64').toString('base64')
        : s,
    );
    return applyInPlace(state, { ...op, message: { ...message, segments: canonical } } as Operation);
  }),
};

export const V2_MUTANTS: readonly Mutant[] = [
  nodeLimitCountsRoots,
  pendingLimitSkipsReceives,
  handleQuotaSkipsReplyHandle,
  refusalOnlyInSend,
  noticeNeverWithdrawn,
  destroyIgnoresCount,
  laterSendOvertakes,
  sameNodeByName,
  clockPassesItsEnd,
  lenientBase64,
];
