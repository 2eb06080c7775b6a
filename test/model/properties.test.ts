// Property tests over random operation sequences on the model: the invariants
// of the spec (INV-1..INV-12) hold in every reachable state, a failed operation
// changes nothing, the docs' xstate view of the rules gives what step gives, and
// the interesting situations, every v2 rule among them, are actually reached
// (statistics per 1,000 runs printed and checked).
import { strict as assert } from 'assert';
import fc from 'fast-check';
import type { Completion, Invocation, Operation, Right } from '../../spec/types';
import type { BusEvent } from '../../model/state';
import { type BusState, Monitor, applyInPlace, initialState, queueLoad, step, tableSize } from '../../model';
import { copyOp } from '../../model/copy';
import { busMachine } from '../../model/step';
import { destOf, lookup, messageBytes, queueRoom, roomError } from '../../model/rules';
import { transition } from 'xstate';
import { ERROR_CODES } from '../../spec/registry/errors';

const SEED = Number(process.env.TESSERA_SEED ?? 20261126);
const PATH = process.env.TESSERA_PATH;
const RUNS = Number(process.env.TESSERA_RUNS ?? 300);

const LIMITS = {
  maxPeers: 5,
  maxHandlesPerPeer: 7,
  maxNodesPerPeer: 3,
  maxPendingPerPeer: 2,
  maxPayloadBytes: 8,
  maxHandlesPerMessage: 2,
  queueCapacityMessages: 3,
  queueCapacityBytes: 24,
  senderQuotaMessages: 2,
  senderQuotaBytes: 8,
  senderQuotaHandles: 2,
};

/** An operation chosen abstractly: indices are resolved against the state when it runs. */
interface Abstract {
  kind: Operation['op'];
  p: number;
  h: number[];
  rights: Right[];
  badge: number;
  bytes: number;
  move: boolean;
  wait: number;
}

const abstractOp = fc.record({
  kind: fc.constantFrom<Operation['op']>(
    'attach',
    'createNode',
    'createNode',
    'mint',
    'mint',
    'mint',
    'release',
    'revoke',
    'revoke',
    'destroyNode',
    'destroyNode',
    'sameNode',
    'send',
    'send',
    'send',
    'send',
    'call',
    'call',
    'call',
    'reply',
    'reply',
    'replyReceive',
    'replyReceive',
    'multicast',
    'multicast',
    'receive',
    'receive',
    'receive',
    'cancel',
    'cancel',
    'close',
    'tick',
  ),
  p: fc.nat(20),
  h: fc.array(fc.nat(40), { minLength: 1, maxLength: 4 }),
  rights: fc.subarray<Right>(['send', 'grant']),
  badge: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  bytes: fc.oneof(
    { arbitrary: fc.nat(4), weight: 10 },
    { arbitrary: fc.integer({ min: 5, max: 8 }), weight: 3 },
    { arbitrary: fc.constant(9), weight: 1 },
  ),
  move: fc.boolean(),
  // TIME-4: 0 never waits, 1..3 waits that long, -1 (timeoutMs left out) waits without limit.
  wait: fc.oneof(
    { arbitrary: fc.constant(0), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 },
    { arbitrary: fc.constant(-1), weight: 2 },
  ),
});

/** timeoutMs as TIME-4 reads it: -1 leaves it out (no limit). */
const timeout = (a: Abstract) => (a.wait < 0 ? {} : { timeoutMs: a.wait });

/** A name of the peer's table by index, or now and then a stale or forged one. */
function nameFor(s: BusState, peer: number, i: number, kind?: 'node' | 'reply' | 'own'): number {
  const p = s.peers[peer];
  if (!p) return i;
  if (i % 13 === 12) return p.nextName + 7; // forged: never issued
  if (i % 13 === 11) return Math.max(1, p.nextName - 1 - (i % 3)); // maybe stale
  let names = Object.keys(p.table).map(Number);
  if (kind) {
    const typed = names.filter((n) => {
      const h = s.handles[p.table[n]];
      return kind === 'own' ? h.kind === 'node' && s.nodes[h.node]?.owner === peer : h.kind === kind;
    });
    if (typed.length) names = typed;
  }
  return names.length ? names.sort((a, b) => a - b)[i % names.length] : 1;
}

function concretize(s: BusState, a: Abstract): Operation {
  const ids = Object.keys(s.peers).map(Number);
  const open = ids.filter((id) => s.peers[id].status === 'open');
  // Replies, and sends that move a handle, come from peers holding reply handles when there are any.
  const replying = open.filter((id) => Object.values(s.peers[id].table).some((hid) => s.handles[hid].kind === 'reply'));
  const wantsReply =
    (a.kind === 'reply' || a.kind === 'replyReceive' || ((a.kind === 'send' || a.kind === 'release') && a.move)) &&
    replying.length > 0;
  // Cancels come from peers with pending operations when there are any (CANCEL-1).
  const waiting = open.filter((id) => s.peers[id].pending > 0);
  const pool = wantsReply
    ? replying
    : a.kind === 'cancel' && waiting.length > 0 && a.p % 5 !== 4
      ? waiting
      : a.p % 17 === 16
        ? ids
        : open.length
          ? open
          : ids;
  const peer = pool.length ? pool[a.p % pool.length] : 1;
  const h = (i: number, kind?: 'node' | 'reply' | 'own') => nameFor(s, peer, a.h[i % a.h.length], kind);
  const segments = [Buffer.alloc(a.bytes, 65).toString('base64')];
  const transfers = () =>
    a.h.slice(1).map((x, i) => ({
      handle: nameFor(s, peer, x, i === 0 && a.move ? 'reply' : 'node'),
      ...(a.move ? { move: true } : {}),
      ...(a.rights.length < 2 ? { rights: a.rights } : {}),
    }));
  switch (a.kind) {
    case 'attach': {
      const from = open.length ? open[a.h[0] % open.length] : undefined;
      return {
        op: 'attach',
        credentials: { uid: a.p, gid: 1, pid: a.p + 100 },
        ...(from
          ? {
              bootstrap: [
                { fromPeer: from, handle: nameFor(s, from, a.h[0], 'node'), ...(a.badge ? { badge: a.badge } : {}) },
              ],
            }
          : {}),
      };
    }
    case 'createNode':
      return { op: 'createNode', peer, credentials: a.move, ...(a.wait === 1 ? { acceptsHandles: false } : {}) };
    case 'mint':
      return { op: 'mint', peer, handle: h(0, 'node'), rights: a.rights, ...(a.badge ? { badge: a.badge } : {}) };
    case 'release':
      return { op: 'release', peer, handle: h(0, a.move ? 'reply' : undefined) };
    case 'revoke':
      return { op: 'revoke', peer, handle: h(0, 'node') };
    case 'destroyNode': {
      // Now and then conditional (DESTROY-5): on the node's current count, or on one already stale.
      const handle = h(0, a.move ? 'own' : 'node');
      const node = s.nodes[lookup(s, peer, handle)?.node ?? -1];
      if (!node || a.wait === 0) return { op: 'destroyNode', peer, handle };
      return { op: 'destroyNode', peer, handle, derivedCount: Math.max(0, node.derivedCount - (a.badge % 2)) };
    }
    case 'sameNode':
      return { op: 'sameNode', peer, handle: h(0, 'node'), other: h(1, 'node') };
    case 'send': {
      // Steering towards SEND-8: now and then the sender of a blocked send sends again to the same node.
      const blocked = s.pending.find((q) => q.kind === 'send' && s.peers[q.peer].status === 'open');
      if (blocked?.kind === 'send' && a.p % 3 === 0)
        return {
          op: 'send',
          peer: blocked.peer,
          handle: blocked.op.handle,
          message: { segments: [Buffer.alloc(a.bytes % 3, 66).toString('base64')] },
          ...timeout(a),
        };
      return {
        op: 'send',
        peer,
        handle: h(0, 'node'),
        message: { segments, transfers: transfers() },
        ...timeout(a),
      };
    }
    case 'call':
      // A call with timeoutMs 0 times out at once (TIME-4): now and then only; most calls wait.
      return {
        op: 'call',
        peer,
        handle: h(0, 'node'),
        message: { segments, transfers: transfers().filter((t) => !t.move) },
        ...(a.wait > 0 || (a.wait === 0 && a.badge === 1) ? { timeoutMs: a.wait } : {}),
        ...(a.rights.length === 1 ? { replierCredentials: true } : {}),
      };
    case 'reply':
      return {
        op: 'reply',
        peer,
        handle: h(0, 'reply'),
        message: { segments, transfers: a.h.slice(2).map((x) => ({ handle: nameFor(s, peer, x, 'node') })) },
      };
    case 'replyReceive':
      return {
        op: 'replyReceive',
        peer,
        handle: h(0, 'reply'),
        message: { segments, transfers: a.h.slice(2).map((x) => ({ handle: nameFor(s, peer, x, 'node') })) },
        max: 1 + (a.h[0] % 4),
        ...timeout(a),
      };
    case 'multicast':
      return {
        op: 'multicast',
        peer,
        handles: [...new Set(a.h.map((x) => nameFor(s, peer, x, 'node')))],
        message: { segments },
        ...(a.move ? { skipFull: true } : {}),
      };
    case 'receive':
      return { op: 'receive', peer, max: 1 + (a.h[0] % 4), ...timeout(a) };
    case 'cancel': {
      // Mostly one of the peer's own pending tickets; else a recent one (maybe completed, maybe another peer's).
      const mine = s.pending.filter((q) => q.peer === peer);
      const ticket =
        mine.length > 0 && a.h[0] % 4 !== 0
          ? mine[a.h[0] % mine.length].ticket
          : Math.max(1, s.nextTicket - 1 - (a.h[0] % 3));
      return { op: 'cancel', peer, ticket };
    }
    case 'close':
      return { op: 'close', peer };
    case 'tick':
      return { op: 'tick', ms: a.move ? 0 : Math.max(0, a.wait) };
    default:
      return { op: 'close', peer };
  }
}

/** The situations a good generator must reach (style: statistics, not hope). */
const STATS = {
  'revoke with live descendants': 0,
  'revoke during a pending call': 0,
  'queue full': 0,
  'table full': 0,
  'send blocked': 0,
  'blocked send woken': 0,
  'delegated reply handle': 0,
  'reply to a gone caller': 0,
  'call resolved NO_REPLY': 0,
  'call resolved DEAD': 0,
  'multicast to mixed live/dead': 0,
  'close with a full queue': 0,
  'handle arrived flagged': 0,
  'no-senders notice': 0,
  'failed operation': 0,
  // The rules of protocol v2:
  'table share exhausted': 0,
  'acceptsHandles refusal': 0,
  'notice withdrawn': 0,
  'pending limit hit': 0,
  'node limit hit': 0,
  'conditional destroy STALE': 0,
  'send held behind its own blocked send': 0,
  'same node answered true': 0,
  // Calls and multicast for real servers and groups (v2):
  'cancel of a call': 0,
  'cancel of a blocked send': 0,
  'cancel of a waiting receive': 0,
  'cancel lost to a completion': 0,
  'cancel completing another operation in its step': 0,
  'abandoned call withdrawn': 0,
  'call-abandoned notice': 0,
  'call surviving destroy': 0,
  replyReceive: 0,
  'replyReceive dropping a late reply': 0,
  'multicast skipping a full destination': 0,
  'room notice': 0,
  'replier credentials': 0,
};
type Stat = keyof typeof STATS;

/** The statistics that must each be reached (all of them): printed per 1,000 runs. */
const ABANDONING = new Set(['TIMED_OUT', 'CANCELLED', 'CLOSED']);

/** Where the rules for calls and multicast decided something (CANCEL-1..3, CALL-8..10, DESTROY-4, MCAST-6, QUOTA-5, CRED-3). */
function observeCalls(
  before: BusState,
  op: Operation,
  result: Invocation,
  completions: Completion[],
  events: BusEvent[],
  after: BusState,
  seen: Set<Stat>,
  issued: Map<number, number>,
): void {
  const ok = !('pending' in result) && result.ok ? (result.value as any) : null;
  const failed = !('pending' in result) && !result.ok;
  if (op.op === 'cancel' && ok) {
    if (ok.cancelled) {
      const own = completions.find((c) => c.ticket === op.ticket);
      if (own)
        seen.add(`cancel of a ${own.op === 'call' ? 'call' : own.op === 'send' ? 'blocked send' : 'waiting receive'}`);
      if (completions.length > 1) seen.add('cancel completing another operation in its step');
    } else if (issued.get(op.ticket) === op.peer) seen.add('cancel lost to a completion');
  }
  for (const e of events) {
    if (e.type !== 'discard') continue;
    const entry = before.peers[e.peer]?.queue.find((q) => q.seq === e.seq);
    if (entry?.kind !== 'call') continue;
    const call = before.calls[before.handles[entry.replyHandle!].call];
    const c = completions.find((x) => x.ticket === call.ticket);
    if (c && !c.result.ok && ABANDONING.has(c.result.error)) seen.add('abandoned call withdrawn');
  }
  for (const p of Object.values(after.peers))
    for (const e of p.queue) {
      if (e.seq < before.nextSeq || e.notice === undefined) continue;
      if (e.notice.type === 'call-abandoned') seen.add('call-abandoned notice');
      if (e.notice.type === 'room') seen.add('room notice');
    }
  if (op.op === 'destroyNode' && ok) {
    const node = lookup(before, op.peer, op.handle)!.node;
    for (const q of before.pending)
      if (q.kind === 'call' && before.calls[q.call].node === node && after.calls[q.call]?.status === 'pending')
        seen.add('call surviving destroy');
  }
  if (op.op === 'replyReceive' && !failed) {
    seen.add('replyReceive');
    if (before.calls[lookup(before, op.peer, op.handle)!.call].status !== 'pending')
      seen.add('replyReceive dropping a late reply');
  }
  if (op.op === 'multicast' && ok && ok.full.length > 0) seen.add('multicast skipping a full destination');
  for (const c of completions)
    if (c.op === 'call' && c.result.ok && (c.result.value as any).reply.credentials) seen.add('replier credentials');
  if ('pending' in result) issued.set(result.ticket, (op as { peer: number }).peer);
}

/** Where the v2 rules decided something (NODE-4, NODE-5, NODE-6, NOTICE-6, BOUND-2, QUOTA-4, SEND-8, DESTROY-5). */
function observeV2(
  before: BusState,
  op: Operation,
  result: Invocation,
  events: BusEvent[],
  after: BusState,
  seen: Set<Stat>,
): void {
  const error = 'pending' in result || result.ok ? null : result.error;
  if (error === 'TOO_MANY_PENDING') seen.add('pending limit hit');
  if (error === 'STALE') seen.add('conditional destroy STALE');
  if (op.op === 'createNode' && error === 'TABLE_FULL' && before.peers[op.peer].nodes >= before.limits.maxNodesPerPeer)
    seen.add('node limit hit');
  if (op.op === 'sameNode' && !error && (result as any).value.same && op.handle !== op.other)
    seen.add('same node answered true');
  for (const e of events) {
    if (e.type !== 'discard') continue;
    const entry = before.peers[e.peer]?.queue.find((q) => q.seq === e.seq);
    if (entry?.notice?.type === 'no-senders' && after.nodes[entry.node]?.status === 'live')
      seen.add('notice withdrawn');
  }
  if (
    (op.op === 'send' || op.op === 'call') &&
    (error === 'QUEUE_FULL' || error === 'NO_RIGHTS' || 'pending' in result)
  ) {
    const target = lookup(before, op.peer, op.handle);
    if (target?.kind !== 'node' || target.status !== 'live') return;
    const transfers = op.message.transfers ?? [];
    const node = before.nodes[target.node];
    if (error === 'NO_RIGHTS' && target.rights.includes('send') && transfers.length > 0 && !node.acceptsHandles)
      seen.add('acceptsHandles refusal');
    if (error === 'NO_RIGHTS' || (op.op === 'call' && 'pending' in result)) return;
    const dest = destOf(before, target);
    const handles = transfers.length + (op.op === 'call' ? 1 : 0);
    const bytes = messageBytes(op.message);
    if (queueRoom(before, dest, op.peer, 1, bytes, 0) === null && queueRoom(before, dest, op.peer, 1, bytes, handles))
      seen.add('table share exhausted');
    if (roomError(before, op, op.op === 'call' ? 1 : 0) === 'order') seen.add('send held behind its own blocked send');
  }
}

function observe(
  before: BusState,
  op: Operation,
  result: Invocation,
  completions: { op: string; result: any }[],
  events: BusEvent[],
  after: BusState,
  seen: Set<Stat>,
): void {
  const failed = !('pending' in result) && !result.ok;
  if (failed) seen.add('failed operation');
  if (op.op === 'send' && 'pending' in result) seen.add('send blocked');
  observeV2(before, op, result, events, after, seen);
  if (failed && result.error === 'QUEUE_FULL') seen.add('queue full');
  if (failed && result.error === 'TABLE_FULL') seen.add('table full');
  if (failed && result.error === 'CALLER_GONE') seen.add('reply to a gone caller');
  if (op.op === 'revoke' && !failed && (result as any).value.revoked > 0) {
    seen.add('revoke with live descendants');
    if (before.pending.some((p) => p.kind === 'call')) seen.add('revoke during a pending call');
  }
  if (
    op.op === 'send' &&
    !failed &&
    op.message.transfers?.some((t) => before.handles[before.peers[op.peer]?.table[t.handle]]?.kind === 'reply')
  )
    seen.add('delegated reply handle');
  if (
    op.op === 'multicast' &&
    !failed &&
    (result as any).value.skipped.length > 0 &&
    (result as any).value.skipped.length < op.handles.length
  )
    seen.add('multicast to mixed live/dead');
  if (op.op === 'close' && !failed) {
    const q = before.peers[op.peer].queue.filter((e) => e.kind !== 'notice').length;
    if (q >= before.limits.queueCapacityMessages || q >= before.limits.senderQuotaMessages)
      seen.add('close with a full queue');
  }
  for (const c of completions) {
    if (c.op === 'send' && c.result.ok) seen.add('blocked send woken');
    if (c.op === 'call' && !c.result.ok && c.result.error === 'NO_REPLY') seen.add('call resolved NO_REPLY');
    if (c.op === 'call' && !c.result.ok && c.result.error === 'DEAD') seen.add('call resolved DEAD');
  }
  const deliveries =
    op.op === 'receive' && !failed && !('pending' in result) ? [...(result as any).value.deliveries] : [];
  for (const c of completions) if (c.op === 'receive' && c.result.ok) deliveries.push(...c.result.value.deliveries);
  for (const d of deliveries) {
    if (d.handles?.some((h: any) => h.state !== 'live')) seen.add('handle arrived flagged');
    if (d.kind === 'notice' && d.notice.type === 'no-senders') seen.add('no-senders notice');
  }
  void after;
}

/** Three peers, each owning a node and holding send+grant handles to the others' nodes. */
const PROLOGUE: Operation[] = [
  { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } },
  { op: 'createNode', peer: 1, credentials: true }, // 1:1
  { op: 'attach', credentials: { uid: 2, gid: 2, pid: 2 }, bootstrap: [{ fromPeer: 1, handle: 1 }] }, // 2:1 -> node of 1
  { op: 'createNode', peer: 2 }, // 2:2
  {
    op: 'attach',
    credentials: { uid: 3, gid: 3, pid: 3 },
    bootstrap: [
      { fromPeer: 1, handle: 1 },
      { fromPeer: 2, handle: 2 },
    ],
  }, // 3:1, 3:2
  { op: 'createNode', peer: 3 }, // 3:3
  { op: 'send', peer: 2, handle: 1, message: { segments: [], transfers: [{ handle: 2 }] } },
  { op: 'send', peer: 3, handle: 1, message: { segments: [], transfers: [{ handle: 3 }] } },
  { op: 'send', peer: 3, handle: 2, message: { segments: [], transfers: [{ handle: 3 }] } },
  { op: 'receive', peer: 1, max: 8, timeoutMs: 0 },
  { op: 'receive', peer: 2, max: 8, timeoutMs: 0 },
];

const codesReached = new Set<string>();

function runSequence(actions: Abstract[], seen: Set<Stat>): void {
  let s = initialState(LIMITS);
  const monitor = new Monitor();
  const issued = new Map<number, number>(); // ticket -> the peer it was issued to
  const play = (op: Operation) => {
    const out = step(s, op);
    observe(s, op, out.result, out.completions, out.events, out.state, seen);
    observeCalls(s, op, out.result, out.completions, out.events, out.state, seen, issued);
    for (const r of [out.result, ...out.completions.map((c) => c.result)])
      if (!('pending' in r) && !r.ok) codesReached.add(r.error);
    const violations = monitor.observe(s, op, out.result, out, out.state);
    if (violations.length)
      throw new Error(`${violations[0].invariant}: ${violations[0].detail}\n  after ${JSON.stringify(op)}`);
    if (!('pending' in out.result) && !out.result.ok && out.result.error !== 'CALLER_GONE') {
      // A refusal for room leaves one trace: the room watch it arms (QUOTA-5).
      const refused = out.result.error === 'QUEUE_FULL';
      const watchless = (x: BusState) => (refused ? { ...x, roomWatches: [] } : x);
      assert.deepStrictEqual(watchless(out.state), watchless(s), `failed ${op.op} changed the state`);
    }
    s = out.state;
  };
  for (const op of PROLOGUE) play(op);
  for (const a of actions) play(concretize(s, a));
  // Liveness: time passes, every peer closes; nothing may remain (INV-5, INV-6).
  play({ op: 'tick', ms: 1000 });
  for (const id of Object.keys(s.peers).map(Number)) if (s.peers[id].status === 'open') play({ op: 'close', peer: id });
  const end = monitor.finish();
  if (end.length) throw new Error(`${end[0].invariant}: ${end[0].detail}`);
}

function check<T>(name: string, arb: fc.Arbitrary<T>, predicate: (t: T) => void, runs = RUNS): void {
  const details = fc.check(fc.property(arb, predicate), { seed: SEED, numRuns: runs, ...(PATH ? { path: PATH } : {}) });
  if (details.failed) {
    const replay = `TESSERA_SEED=${details.seed} TESSERA_PATH="${details.counterexamplePath}" npx mocha dist/test/model/properties.test.js -g "${name}"`;
    throw new Error(
      `${name} failed after ${details.numRuns} runs (shrunk ${details.numShrinks} times)\n` +
        `counterexample: ${JSON.stringify(details.counterexample)}\n${details.errorInstance}\nreplay: ${replay}`,
    );
  }
}

describe('model properties over random operation sequences', function () {
  this.timeout(300_000);

  it('every invariant holds in every reachable state, failed operations change nothing, nothing leaks after all close, and every v2 rule is reached [INV-1, INV-2, INV-3, INV-4, INV-5, INV-6, INV-7, INV-8, INV-9, INV-10, INV-11, INV-12, INV-13, ATOMIC-1, NODE-4, NODE-5, NOTICE-6, BOUND-2, QUOTA-4, SEND-8, DESTROY-5, CANCEL-1, CANCEL-2, CANCEL-3, CALL-8, CALL-9, CALL-10, DESTROY-4, MCAST-6, QUOTA-5, CRED-3, TIME-4]', () => {
    const reachedIn: Record<string, number> = Object.fromEntries(Object.keys(STATS).map((k) => [k, 0]));
    check('invariants', fc.array(abstractOp, { minLength: 20, maxLength: 80 }), (actions) => {
      const seen = new Set<Stat>();
      runSequence(actions, seen);
      for (const k of seen) reachedIn[k]++;
    });
    const lines = Object.entries(reachedIn).map(
      ([k, n]) => `      ${k.padEnd(30)} ${((n / RUNS) * 1000).toFixed(0).padStart(5)} per 1000 runs`,
    );
    console.log(`\n    interesting situations reached (seed ${SEED}, ${RUNS} runs):\n${lines.join('\n')}`);
    for (const [k, n] of Object.entries(reachedIn)) assert.ok(n > 0, `the generator never reached "${k}"`);
  });

  it('every error code of the spec is reachable by random operation sequences [ERR-2]', () => {
    const missing = ERROR_CODES.filter((c) => !codesReached.has(c));
    assert.deepEqual(missing, [], `never reached: ${missing.join(', ')}`);
  });

  it('the xstate view of the rules (the docs) takes the guard of the rule step fails on, and gives what step gives [ATOMIC-1, ERR-1]', () => {
    check(
      'xstate view agrees with step',
      fc.array(abstractOp, { minLength: 5, maxLength: 30 }),
      (actions) => {
        let s = initialState(LIMITS);
        for (let i = 0; i < PROLOGUE.length + actions.length; i++) {
          const op = i < PROLOGUE.length ? PROLOGUE[i] : concretize(s, actions[i - PROLOGUE.length]);
          const a = step(s, op);
          const snapshot = busMachine.resolveState({ value: 'running', context: { bus: s, last: null } });
          const [next] = transition(busMachine, snapshot, { type: op.op, op });
          const { state, ...outcome } = a;
          assert.deepStrictEqual(next.context.last, outcome);
          assert.deepStrictEqual(next.context.bus, state);
          s = state;
        }
      },
      Math.ceil(RUNS / 10),
    );
  });

  it('the counts kept beside an in-place state (table sizes, queue loads with handles in flight) always equal a fresh count [HANDLE-1, QUOTA-1, QUOTA-4]', () => {
    check(
      'derived counts',
      fc.array(abstractOp, { minLength: 5, maxLength: 60 }),
      (actions) => {
        const s = initialState(LIMITS);
        for (let i = 0; i < PROLOGUE.length + actions.length; i++) {
          const op = i < PROLOGUE.length ? PROLOGUE[i] : concretize(s, actions[i - PROLOGUE.length]);
          applyInPlace(s, op);
          for (const p of Object.values(s.peers)) {
            assert.equal(tableSize(p.table), Object.keys(p.table).length, `peer ${p.id} table size after ${op.op}`);
            const fresh = {
              messages: 0,
              bytes: 0,
              bySender: new Map<number, { messages: number; bytes: number; handles: number }>(),
            };
            for (const e of p.queue) {
              if (e.kind === 'notice') continue;
              fresh.messages++;
              fresh.bytes += e.bytes;
              const m = fresh.bySender.get(e.sender) ?? { messages: 0, bytes: 0, handles: 0 };
              m.messages++;
              m.bytes += e.bytes;
              m.handles += e.handles.length + (e.replyHandle === null ? 0 : 1);
              fresh.bySender.set(e.sender, m);
            }
            const load = queueLoad(p.queue);
            assert.equal(load.messages, fresh.messages, `peer ${p.id} queued messages after ${op.op}`);
            assert.equal(load.bytes, fresh.bytes, `peer ${p.id} queued bytes after ${op.op}`);
            for (const [sender, m] of fresh.bySender)
              assert.deepEqual(load.bySender.get(sender), m, `peer ${p.id} load of sender ${sender} after ${op.op}`);
            for (const [sender, m] of load.bySender)
              if (!fresh.bySender.has(sender))
                assert.deepEqual(m, { messages: 0, bytes: 0, handles: 0 }, `peer ${p.id} sender ${sender}`);
          }
        }
      },
      Math.ceil(RUNS / 3),
    );
  });

  it('step never changes the state it is given [ATOMIC-1]', () => {
    check(
      'step is pure',
      fc.array(abstractOp, { minLength: 1, maxLength: 30 }),
      (actions) => {
        let s = initialState(LIMITS);
        for (const op of PROLOGUE) s = step(s, op).state;
        for (const a of actions) {
          const frozen = JSON.stringify(s);
          const op = concretize(s, a);
          const next = step(s, op).state;
          assert.equal(JSON.stringify(s), frozen, `step(${op.op}) mutated its input`);
          s = next;
        }
      },
      Math.ceil(RUNS / 3),
    );
  });
});

describe('the copy a blocked send keeps of its operation', () => {
  class Box {
    constructor(readonly v: number) {}
  }
  const cyclic: Record<string, unknown> = { op: 'send' };
  cyclic.self = cyclic;
  const sparse = ['QUFB', 'QUFB'];
  delete sparse[0];

  it('equals structuredClone of the operation and shares no object with it, for plain data and for anything else [SEND-7, ATOMIC-1]', () => {
    const same = (x: unknown) => {
      const copy = copyOp(x);
      assert.deepStrictEqual(copy, structuredClone(x));
      if (typeof x === 'object' && x !== null) assert.notEqual(copy, x);
    };
    for (const x of [
      {
        op: 'send',
        peer: 1,
        handle: 2,
        message: { segments: ['QUFB', ''], transfers: [{ handle: 3, rights: ['send'], move: true }] },
        timeoutMs: 5,
      },
      { op: 'send', peer: 1, handle: 2, message: { segments: [] }, timeoutMs: undefined, extra: [null, -0, 1n, 'x'] },
      {
        op: 'send',
        peer: 1,
        handle: 2,
        message: { segments: sparse },
        when: new Date(0),
        box: new Box(1),
        map: new Map([[1, 2]]),
      },
      Object.assign(Object.create(null), { op: 'send' }),
      JSON.parse('{"op":"send","__proto__":{"peer":1}}'),
      cyclic,
      [1, [2, [3]]],
      'text',
      7,
      null,
      undefined,
    ])
      same(x);
    fc.assert(
      fc.property(fc.jsonValue(), (x) => same(x)),
      { seed: SEED, numRuns: RUNS },
    );
    // What cannot be copied (a function inside) is no operation of the spec: step answers INVALID_ARGUMENT.
    const s = initialState();
    const out = step(s, { op: 'send', f: () => 1 } as never);
    assert.deepStrictEqual(out.result, { ok: false, error: 'INVALID_ARGUMENT' });
    assert.deepStrictEqual(out.state, s);
  });
});
