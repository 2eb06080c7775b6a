// The shm backend against the model: random operation sequences (fast-check,
// fixed seeds), results, deliveries and completions compared modulo handle names.
import * as assert from 'assert';
import fc from 'fast-check';
import type { Operation } from '../../spec/types';
import { runDifferential, SMALL_LIMITS, type Choice, type Stats } from './differential';
import { skipUnlessShmSpeaksSuiteProtocol } from './protocol';

const n = fc.noBias(fc.nat(999));
const choice = fc.tuple(n, n, n, n, n) as fc.Arbitrary<Choice>;
const NUM_RUNS = process.env.TESSERA_LONG ? 5000 : 250;

function check(seed: number, limits = SMALL_LIMITS, maxLength = 90): Stats {
  const stats: Stats = {};
  const result = fc.check(
    fc.property(fc.array(choice, { minLength: 30, maxLength, size: 'max' }), (choices) => {
      runDifferential(choices, limits, stats);
    }),
    { seed, numRuns: NUM_RUNS },
  );
  if (result.failed) {
    const c = result.counterexample ? result.counterexample[0] : [];
    throw new Error(
      `shm differs from the model (seed ${seed}, path "${result.counterexamplePath}")\n` +
        `replay: npx mocha dist/test/shm/differential.test.js with seed ${seed} path "${result.counterexamplePath}"\n` +
        `choices: ${JSON.stringify(c)}\n${(result.errorInstance as Error)?.message}`,
    );
  }
  return stats;
}

function mustReach(stats: Stats, keys: string[]): void {
  const missing = keys.filter((k) => !(stats[k] > 0));
  assert.deepStrictEqual(missing, [], `interesting states never reached: ${missing.join(', ')}`);
}

describe('shm backend vs the model (differential)', function () {
  this.timeout(240_000);
  before(function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
  });

  it("every operation gives the model's result, deliveries and completions, modulo handle names, protocol 2's bounds, cancels, abandoned calls and room notices included [ERR-1, ATOMIC-1, HANDLE-2, ORDER-2, NOTICE-5, TIME-2, BOUND-2, CANCEL-1, CALL-8, QUOTA-5]", () => {
    const stats = check(0x5e4);
    if (process.env.TESSERA_STATS) console.log(stats);
    mustReach(stats, [
      'op send ok',
      'op send pending',
      'completion send ok',
      'op call pending',
      'completion call ok',
      'completion call DEAD',
      'completion call NO_REPLY',
      'completion call TIMED_OUT',
      'completion call CLOSED',
      'op reply CALLER_GONE',
      'completion receive ok',
      'op receive pending',
      'deliver notice no-senders',
      'deliver notice node-destroyed',
      'deliver notice revoked',
      'arrive node revoked',
      'arrive node dead',
      'arrive reply live',
      'op multicast ok',
      'op multicast QUEUE_FULL',
      'op close ok',
      'op destroyNode NOT_OWNER',
      'op attach ok',
      'op revoke ok',
      'op send QUEUE_FULL',
      'op call TABLE_FULL',
      'slot held by a waiting notice',
      // protocol 2: the bounds, withdrawn and new notices, cancel, replyReceive, skipFull
      'no-senders notice withdrawn',
      'op createNode TABLE_FULL',
      'op call TOO_MANY_PENDING',
      'op receive TOO_MANY_PENDING',
      'op destroyNode STALE',
      'op sameNode ok',
      'op send NO_RIGHTS',
      'completion call CANCELLED',
      'completion receive CANCELLED',
      'op call TIMED_OUT',
      'deliver notice call-abandoned',
      'arrive reply abandoned',
      'op send CALLER_GONE',
      'op replyReceive ok',
      'op replyReceive pending',
      'deliver notice room',
    ]);
  });

  it('with deep queues and roomy tables the same holds (blocked sends, batches) [SEND-7, QUOTA-1, RECV-1]', () => {
    const stats = check(
      0xbeef,
      {
        ...SMALL_LIMITS,
        maxHandlesPerPeer: 24,
        queueCapacityMessages: 10,
        senderQuotaMessages: 3,
        queueCapacityBytes: 64,
      },
      120,
    );
    mustReach(stats, ['op send pending', 'completion send ok', 'deliver message', 'deliver call']);
  });

  it('with a power-of-2 table size (names split by mask and shift) the same holds [HANDLE-2, HANDLE-3]', () => {
    const stats = check(0x2b16, { ...SMALL_LIMITS, maxHandlesPerPeer: 16 });
    mustReach(stats, ['op send ok', 'completion call ok', 'arrive reply live', 'op multicast ok']);
  });

  const A = { uid: 1, gid: 1, pid: 1 },
    B = { uid: 2, gid: 2, pid: 2 };

  it('a released handle keeps its slot while its revoked notice waits, and gets it back when the notice is received [NOTICE-4, HANDLE-1, REVOKE-2]', () => {
    const limits = { ...SMALL_LIMITS, maxHandlesPerPeer: 3 };
    const ops: Operation[] = [
      { op: 'attach', credentials: A },
      { op: 'attach', credentials: B },
      { op: 'createNode', peer: 1 }, // peer 1 name 1
      { op: 'mint', peer: 1, handle: 1, rights: ['send', 'grant'] }, // name 2
      { op: 'send', peer: 1, handle: 1, message: { segments: [], transfers: [{ handle: 2 }] } }, // one in flight to 1's own queue
      { op: 'receive', peer: 1, max: 1 }, // name 3 arrives
      { op: 'revoke', peer: 1, handle: 2 }, // name 3 revoked: notice to peer 1
      { op: 'release', peer: 1, handle: 3 }, // its slot stays held
      { op: 'mint', peer: 1, handle: 1, rights: ['send'] }, // 1 + 2 + held = 3: TABLE_FULL
      { op: 'receive', peer: 1, max: 8 }, // the revoked notice, then the no-senders notice
      { op: 'mint', peer: 1, handle: 1, rights: ['send'] }, // room again
      { op: 'close', peer: 1 },
    ];
    const { stats, bus } = runDifferential(ops, limits, {}, { noPrelude: true });
    assert.strictEqual(stats['op mint TABLE_FULL'], 1);
    assert.strictEqual(stats['slot held by a waiting notice'] > 0, true);
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it("a node-destroyed notice about a released handle is discarded with its peer's queue and frees the slot [NOTICE-4, CLOSE-3, CLOSE-4, DESTROY-2]", () => {
    const ops: Operation[] = [
      { op: 'attach', credentials: A },
      { op: 'createNode', peer: 1 },
      { op: 'attach', credentials: B, bootstrap: [{ fromPeer: 1, handle: 1 }] },
      { op: 'destroyNode', peer: 1, handle: 1 }, // peer 2's handle dies: notice to peer 2
      { op: 'release', peer: 2, handle: 1 }, // held by the notice
      { op: 'close', peer: 2 }, // CLOSE-4 discards the notice
    ];
    const { stats, bus } = runDifferential(ops, SMALL_LIMITS, {}, { noPrelude: true });
    assert.ok(stats['slot held by a waiting notice'] > 0);
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it('a rise from zero withdraws the waiting no-senders notice, and the next fall enqueues a fresh one after the message sent meanwhile [NOTICE-2, NOTICE-6, ORDER-2]', () => {
    const ops: Operation[] = [
      { op: 'attach', credentials: A },
      { op: 'createNode', peer: 1 },
      { op: 'createNode', peer: 1 },
      { op: 'mint', peer: 1, handle: 1, rights: ['send'] },
      { op: 'release', peer: 1, handle: 3 }, // node 1: notice, derivedCount 1
      { op: 'mint', peer: 1, handle: 2, rights: ['send'] },
      { op: 'release', peer: 1, handle: 4 }, // node 2: notice after it
      { op: 'mint', peer: 1, handle: 1, rights: ['send'] }, // node 1's notice withdrawn
      { op: 'send', peer: 1, handle: 5, message: { segments: ['TQ=='] } },
      { op: 'release', peer: 1, handle: 5 }, // node 1 again: a fresh notice, derivedCount 2, after the message
      { op: 'receive', peer: 1, max: 8 },
    ];
    const { stats } = runDifferential(ops, SMALL_LIMITS, {}, { noPrelude: true });
    assert.strictEqual(stats['no-senders notice withdrawn'], 1);
    assert.strictEqual(stats['deliver notice no-senders'], 2);
    assert.strictEqual(stats['deliver message'], 1);
  });

  it('destroying a node discards its waiting no-senders notice and frees its record at once: twenty rounds stay within maxNodesPerPeer 2 [NOTICE-2, DESTROY-3, NODE-4]', () => {
    // Create, mint, release, destroy in a loop without receiving: each round's no-senders notice
    // is discarded with its node, so 20 rounds fit 2 node records per peer and nothing waits.
    const ops: Operation[] = [{ op: 'attach', credentials: A }];
    for (let i = 0; i < 20; i++) {
      const root = 1 + 2 * i;
      ops.push(
        { op: 'createNode', peer: 1 },
        { op: 'mint', peer: 1, handle: root, rights: ['send'] },
        { op: 'release', peer: 1, handle: root + 1 },
        { op: 'destroyNode', peer: 1, handle: root },
      );
    }
    ops.push({ op: 'receive', peer: 1, max: 16 }, { op: 'createNode', peer: 1 }, { op: 'close', peer: 1 });
    const limits = { ...SMALL_LIMITS, maxNodesPerPeer: 2 };
    const { stats, bus } = runDifferential(ops, limits, {}, { noPrelude: true });
    assert.strictEqual(stats['deliver notice no-senders'] ?? 0, 0);
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });
});
