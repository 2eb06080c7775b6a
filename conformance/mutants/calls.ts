// Mutants for the rules of calls and multicast under real servers and groups: one realistic bug
// each (the model with the bug grafted on, as in conformance/mutants/index.ts). Each must be caught
// by the suite: by a case of conformance/cases/calls.ts, by the property, or both
// (test/conformance/mutants.test.ts); the first also by the concurrent checker.
import type { CallDelivery, Completion, Delivery, Invocation, Operation } from '../../spec/types';
import { applyInPlace, firstFailure, type StepOutcome } from '../../model';
import { lookup } from '../../model/rules';
import { createModelDriver, type StepFn } from '../model-driver';
import type { Mutant } from './index';

type Outcome = Omit<StepOutcome, 'state'>;

function live(name: string, makeStep: () => StepFn): Mutant['createDriver'] {
  return () => createModelDriver(`mutant:${name}`, makeStep);
}

const ABANDONING = ['TIMED_OUT', 'CANCELLED', 'CLOSED'];

/** CANCEL-3: the cancel does not see that the reply already decided the call. */
const cancelTwoOutcomes: Mutant = {
  name: 'cancel-two-outcomes',
  bug: 'a cancel racing a reply yields two outcomes: cancelling a call just answered says cancelled and completes it again, CANCELLED',
  clauses: ['CANCEL-3', 'INV-6'],
  createDriver: live('cancel-two-outcomes', () => {
    const answered = new Map<number, number>(); // ticket -> caller, of calls completed by their reply
    return (state, op) => {
      if (
        op.op === 'cancel' &&
        firstFailure(state, op) === null &&
        answered.get(op.ticket) === op.peer &&
        !state.pending.some((p) => p.ticket === op.ticket)
      ) {
        answered.delete(op.ticket);
        const again: Completion = {
          ticket: op.ticket,
          peer: op.peer,
          op: 'call',
          result: { ok: false, error: 'CANCELLED' },
        };
        return { result: { ok: true, value: { cancelled: true } }, completions: [again], events: [] };
      }
      const out = applyInPlace(state, op);
      for (const c of out.completions) if (c.op === 'call' && c.result.ok) answered.set(c.ticket, c.peer);
      return out;
    };
  }),
};

/** CALL-8: the message of a call that timed out, was cancelled or whose caller closed is still delivered. */
const abandonedCallDelivered: Mutant = {
  name: 'abandoned-call-delivered',
  bug: 'an abandoned call stays queued: the server still receives a call nobody waits for (and serves it for nothing)',
  clauses: ['CALL-8', 'INV-13'],
  createDriver: live('abandoned-call-delivered', () => {
    const phantoms = new Map<number, CallDelivery[]>(); // receiver -> the calls it should not get
    let nextName = 2 ** 40;
    return (state, op) => {
      const queued = new Map<number, { peer: number; ticket: number; delivery: CallDelivery }>();
      for (const p of Object.values(state.peers))
        for (const e of p.queue) {
          if (e.kind !== 'call') continue;
          const delivery: CallDelivery = {
            kind: 'call',
            node: e.ownerName,
            badge: e.badge,
            payload: e.payload,
            handles: [],
            replyHandle: 0,
          };
          if (e.credentials) delivery.credentials = e.credentials;
          queued.set(e.seq, { peer: p.id, ticket: state.calls[state.handles[e.replyHandle!].call].ticket, delivery });
        }
      const out = applyInPlace(state, op);
      for (const ev of out.events) {
        const q = ev.type === 'discard' ? queued.get(ev.seq) : undefined;
        const c = q && out.completions.find((x) => x.ticket === q.ticket);
        if (!q || !c || c.result.ok || !ABANDONING.includes(c.result.error) || state.peers[q.peer].status !== 'open')
          continue;
        // The bug: it stays in the queue, and a receive hands it out with a reply handle of its own.
        const list = phantoms.get(q.peer) ?? [];
        list.push({ ...q.delivery, replyHandle: nextName++ });
        phantoms.set(q.peer, list);
      }
      return deliverPhantoms(op, out, phantoms);
    };
  }),
};

/** The first receive of a peer with phantom calls hands them out first, as the buggy queue would. */
function deliverPhantoms(op: Operation, out: Outcome, phantoms: Map<number, CallDelivery[]>): Outcome {
  const take = (peer: number, r: Invocation): Invocation => {
    const mine = phantoms.get(peer);
    if (!mine || mine.length === 0) return r;
    if (!('pending' in r) && !r.ok) return r;
    phantoms.delete(peer);
    const rest = 'pending' in r ? [] : ((r as { value: { deliveries: Delivery[] } }).value.deliveries ?? []);
    return { ok: true, value: { deliveries: [...mine, ...rest] } };
  };
  if (op.op === 'receive' || op.op === 'replyReceive') out = { ...out, result: take(op.peer, out.result) };
  const completions = out.completions.map((c) =>
    c.op === 'receive' ? { ...c, result: take(c.peer, c.result) as never } : c,
  );
  return { ...out, completions };
}

/** QUOTA-5: the room watch is kept, but its notice never reaches the sender. */
const roomNoticeLost: Mutant = {
  name: 'room-notice-lost',
  bug: 'a sender refused for room is never told when the queue has room again: its room notice is lost',
  clauses: ['QUOTA-5', 'NOTICE-4'],
  createDriver: live('room-notice-lost', () => (state, op) => {
    const seq0 = state.nextSeq;
    const out = applyInPlace(state, op);
    const lost = new Set<number>();
    for (const p of Object.values(state.peers))
      p.queue = p.queue.filter((e) => {
        const room = e.seq >= seq0 && e.notice?.type === 'room';
        if (room) lost.add(e.seq);
        return !room;
      });
    if (lost.size > 0) state.roomWatches = state.roomWatches.filter((w) => w.notice === null || !lost.has(w.notice));
    return out;
  }),
};

/** CALL-10: replyReceive implemented as a receive followed by a reply. */
const replyReceiveUnordered: Mutant = {
  name: 'reply-receive-unordered',
  bug: "replyReceive receives first and replies after: its receive sees the queue before the reply's effects (a no-senders notice the reply withdraws is still received)",
  clauses: ['CALL-10', 'NOTICE-6'],
  createDriver: live('reply-receive-unordered', () => (state, op) => {
    if (op.op !== 'replyReceive' || firstFailure(state, op) !== null) return applyInPlace(state, op);
    const received = applyInPlace(state, { op: 'receive', peer: op.peer, max: op.max, timeoutMs: op.timeoutMs });
    const replied = lookup(state, op.peer, op.handle)
      ? applyInPlace(state, { op: 'reply', peer: op.peer, handle: op.handle, message: op.message })
      : { completions: [], events: [] };
    return {
      result: received.result,
      completions: [...received.completions, ...replied.completions],
      events: [...received.events, ...replied.events],
    };
  }),
};

export const CALL_MUTANTS: readonly Mutant[] = [
  cancelTwoOutcomes,
  abandonedCallDelivered,
  roomNoticeLost,
  replyReceiveUnordered,
];
