// The shm backend against the model: random operation sequences (fast-check,
// fixed seeds), results, deliveries and completions compared modulo handle names.
import * as assert from 'assert';
import fc from 'fast-check';
import { runDifferential, SMALL_LIMITS, type Choice, type Stats } from './differential';

const n = fc.noBias(fc.nat(999));
const choice = fc.tuple(n, n, n, n, n) as fc.Arbitrary<Choice>;
const NUM_RUNS = process.env.TESSERA_LONG ? 5000 : 250;

function check(seed: number, limits = SMALL_LIMITS, maxLength = 90): Stats {
  const stats: Stats = {};
  const result = fc.check(fc.property(fc.array(choice, { minLength: 30, maxLength, size: "max" }), (choices) => { runDifferential(choices, limits, stats); }), { seed, numRuns: NUM_RUNS });
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

  it('every operation gives the model\'s result, deliveries and completions, modulo handle names [ERR-1, ATOMIC-1, HANDLE-2, ORDER-2, NOTICE-5, TIME-2]', () => {
    const stats = check(0x5e4);
    if (process.env.TESSERA_STATS) console.log(stats);
    mustReach(stats, [
      'op send ok', 'op send pending', 'completion send ok', 'op call pending', 'completion call ok', 'completion call DEAD',
      'completion call NO_REPLY', 'completion call TIMED_OUT', 'completion call CLOSED', 'op reply CALLER_GONE',
      'completion receive ok', 'op receive pending', 'deliver notice no-senders', 'deliver notice node-destroyed', 'deliver notice revoked',
      'arrive node revoked', 'arrive node dead', 'arrive reply live', 'op multicast ok', 'op multicast QUEUE_FULL', 'op close ok',
      'op destroyNode NOT_OWNER', 'op attach ok', 'op revoke ok', 'op send QUEUE_FULL', 'op call TABLE_FULL',
    ]);
  });

  it('with deep queues and roomy tables the same holds (blocked sends, batches) [SEND-7, QUOTA-1, RECV-1]', () => {
    const stats = check(0xbeef, { ...SMALL_LIMITS, maxHandlesPerPeer: 24, queueCapacityMessages: 10, senderQuotaMessages: 3, queueCapacityBytes: 64 }, 120);
    mustReach(stats, ['op send pending', 'completion send ok', 'deliver message', 'deliver call']);
  });
});
