// The simulator's tessera_broker profile states the broker's spin policy (backends/broker/spin.ts).
import { strict as assert } from 'assert';
import { loadProfile } from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import { loadScenario } from '../../simulator/load';
import { BROKER_SPIN_POLICY } from '../../backends/broker/spin';

describe('broker: the tessera_broker simulator profile', () => {
  it('spins as the broker and its peers do: the same budget, divisor, floor and probe interval [TIME-1]', () => {
    const p = loadProfile('tessera_broker');
    assert.equal(p.spin.budget.ns, BROKER_SPIN_POLICY.budgetUs * 1000);
    assert.equal(p.spin.adaptive, true);
    assert.deepEqual(
      { divisor: p.spin.backoff?.divisor, floorNs: p.spin.backoff?.floorNs, probeEvery: p.spin.backoff?.probeEvery },
      {
        divisor: BROKER_SPIN_POLICY.divisor,
        floorNs: BROKER_SPIN_POLICY.floorUs * 1000,
        probeEvery: BROKER_SPIN_POLICY.probeEvery,
      },
    );
  });

  it('runs the bundled ping-pong slower than tessera_shm: the broker works on every operation [TIME-1]', () => {
    const scenario = loadScenario('pingpong');
    const broker = runScenario({ scenario, profile: loadProfile('tessera_broker'), seed: 1 }).results;
    const shm = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed: 1 }).results;
    assert.ok(broker.latency.p50Ns > shm.latency.p50Ns);
  });
});
