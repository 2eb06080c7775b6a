import { strict as assert } from 'assert';
import { runSequentialProperty } from '../../conformance/property';
import { Situations, V2_CALL_SITUATIONS, V2_SITUATIONS } from '../../conformance/situations';
import { ClauseCounter, loadClauseIds } from '../../conformance/coverage';
import { Harness } from '../../conformance/session';
import { createReferenceDriver } from '../../drivers/reference';
import { LONG } from './support';

describe('the sequential model-based property', () => {
  it('the reference backend equals the model after every step of random runs, and every rule of protocol v2 is reached [INV-3, INV-7, ATOMIC-1, QUOTA-4, NODE-5, NOTICE-6, BOUND-2, NODE-4, DESTROY-5, SEND-8, NODE-6, CANCEL-1, CANCEL-3, CALL-8, CALL-9, CALL-10, DESTROY-4, MCAST-6, QUOTA-5, CRED-3]', async function () {
    this.timeout(120_000);
    const h = await Harness.open(createReferenceDriver());
    const situations = new Situations();
    const counter = new ClauseCounter();
    const runs = LONG ? 2000 : 300;
    const r = await runSequentialProperty(h, { runs, seed: 1, situations, counter });
    assert.equal(r.status, 'pass', `${r.message}\n${(r.counterexample ?? []).join('\n')}`);
    console.log(
      `      ${r.steps} operations in ${r.durationMs} ms (${r.opsPerSecond} ops/s in-process); situations per 1000 runs:\n${situations.format()}`,
    );
    const per = situations.perThousandRuns();
    for (const s of [
      'QUEUE_FULL',
      'revoke during a pending call to the node',
      'close with a full queue',
      'call replied',
      'BAD_HANDLE through a stale name',
      'BAD_HANDLE through a forged name',
      'no-senders notice received',
      ...V2_SITUATIONS,
      ...V2_CALL_SITUATIONS,
    ]) {
      assert.ok(per[s] > 0, `the generator never reached "${s}"`);
    }
    const uncovered = loadClauseIds().filter((id) => !counter.counts.has(id));
    assert.ok(uncovered.length <= 3, `property steps never exercised ${uncovered.join(', ')}`);
  });

  it('a failure is replayed from its seed and path alone [TIME-2]', async () => {
    const { MUTANTS } = await import('../../conformance/mutants');
    const mutant = MUTANTS.find((m) => m.name === 'credentials-always')!;
    const first = await runSequentialProperty(await Harness.open(mutant.createDriver()), { runs: 100, seed: 7 });
    assert.equal(first.status, 'fail');
    assert.ok(first.path, 'no path');
    const replay = await runSequentialProperty(await Harness.open(mutant.createDriver()), {
      runs: 100,
      seed: first.seed,
      path: first.path,
    });
    assert.equal(replay.status, 'fail');
    assert.deepEqual(replay.counterexample, first.counterexample);
  });
});
