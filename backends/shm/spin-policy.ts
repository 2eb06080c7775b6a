// The shm backend's spin policy (DESIGN.md "Wake-ups and spinning"): how long a waiter spins
// before it sleeps, and how the budget backs off when spins keep losing. One constant: the
// backend runs by it, and the simulator's tessera_shm profile (spin.budget, spin.backoff)
// must say the same (test/simulator/spin-policy.test.ts holds the two equal).
export const SPIN_POLICY = {
  /** The longest spin before sleeping, µs: the budget a peer starts with and returns to (ShmBus `spin` default). */
  budgetUs: 50,
  /** A wait that had to sleep divides the budget by this. */
  divisor: 4,
  /** A budget below this, µs, falls to 0: the waiter sleeps at once. */
  floorUs: 1,
  /** At budget 0, every probeEvery-th wait spins the full budget again (a probe). */
  probeEvery: 64,
  /**
   * A wait that had to sleep shrinks the budget only when a peer that may answer last ran on the
   * waiter's CPU (both share it: spinning only delays the other); a peer slow on another CPU
   * leaves it whole. Where the CPU cannot be known (no native addon), every such wait shrinks it.
   */
  shrinkOnlyWhenShared: true,
} as const;
