// The conformance suite against the broker (drivers/broker.ts): every peer a process of its
// own that maps only its own segment, the bus in the broker's thread. Scenario cases, the
// sequential model-based property, and concurrent runs whose histories must be linearizable.
import { strict as assert } from 'assert';
import { Harness } from '../../conformance/session';
import { runCases } from '../../conformance/run-cases';
import { runSequentialProperty } from '../../conformance/property';
import { runConcurrent } from '../../conformance/concurrent';
import { createBrokerDriver } from '../../drivers/broker';
import { requireNative } from '../native/support';
import type { EngineName } from '../../backends/broker';

/** The driver reports the completions an operation caused before its result: the suite need not wait. */
const GRACE_MS = 0;

/** Both engines of the broker's bus pass the whole suite (backends/broker/engine.ts): 'model' is the default. */
const ENGINES: EngineName[] = ['model', 'shm'];

for (const engine of ENGINES)
  describe(`conformance suite against the broker (one process per peer), its bus run by the ${engine} engine`, function () {
    this.timeout(180_000);
    before(function () {
      requireNative(this);
    });

    it('passes every scenario case [ERR-1, ATOMIC-1, BUS-2]', async () => {
      const d = createBrokerDriver({ engine });
      const h = await Harness.open(d);
      try {
        const results = await runCases(h, { completionGraceMs: GRACE_MS });
        const bad = results.filter((r) => r.status !== 'pass');
        assert.deepEqual(
          bad.map((r) => `${r.status}: ${JSON.stringify(r).slice(0, 600)}`),
          [],
        );
        assert.ok(results.length > 0);
      } finally {
        await d.close();
      }
    });

    it('passes the sequential model-based property [ERR-1, ATOMIC-1, ORDER-2, TIME-2]', async () => {
      const d = createBrokerDriver({ engine });
      const h = await Harness.open(d);
      try {
        const out = await runSequentialProperty(h, {
          runs: process.env.TESSERA_LONG ? 1000 : 60,
          seed: 0xb0c3,
          maxCommands: 40,
          completionGraceMs: GRACE_MS,
        });
        assert.equal(
          out.status,
          'pass',
          `${out.message}\nseed ${out.seed} path ${out.path}\n${(out.counterexample ?? []).join('\n')}`,
        );
      } finally {
        await d.close();
      }
    });

    it('concurrent runs of three peer processes are linearizable, with operations of different processes overlapping [ATOMIC-1, ORDER-1, INV-6]', async () => {
      const d = createBrokerDriver({ engine });
      const info = await d.init();
      let overlapped = 0;
      try {
        for (let seed = 1; seed <= 3; seed++) {
          const r = await runConcurrent(d, info, { clients: 3, opsPerClient: 12, seed });
          assert.equal(r.ok, true, `${r.message}\n${(r.counterexample ?? []).join('\n')}`);
          if (r.history.some((o, i) => r.history.some((p, j) => i !== j && p.call < o.return! && o.call < p.return!)))
            overlapped++;
        }
      } finally {
        await d.close();
      }
      assert.ok(overlapped > 0, 'no two operations of different processes overlapped in any run');
    });
  });
