// One spin policy: the shm backend runs by SPIN_POLICY, and the simulator's tessera_shm
// profile (which may not import a backend) must say the same; this test holds them equal.
import { strict as assert } from 'assert';
import { SPIN_POLICY } from '../../backends/shm/spin-policy';
import { loadProfile } from '../../simulator/load';

describe('the spin policy shared by the shm backend and its simulator profile', () => {
  it("the tessera_shm profile spins by the shm backend's policy: budget, back-off divisor and floor, probe interval, when a lost spin shrinks the budget", () => {
    const spin = loadProfile('tessera_shm').spin;
    assert.equal(spin.adaptive, true);
    assert.deepEqual(
      {
        budgetUs: spin.budget.ns / 1000,
        divisor: spin.backoff?.divisor,
        floorUs: (spin.backoff?.floorNs ?? NaN) / 1000,
        probeEvery: spin.backoff?.probeEvery,
        shrinkOnlyWhenShared: spin.backoff?.shrinkOnlyWhenShared,
      },
      { ...SPIN_POLICY },
    );
  });
});
