// The bus lock of a profile (simulator/engine/lock.ts), on hand-computed runs: operations
// take effect in lock order, a handover to one of S spinning waiters adds
// lineTransfer x (S - 1) / 2 (nothing with a queued lock), a waiter that spins its budget
// sleeps until a release wakes it, an uncontended lock costs nothing, and contention makes a
// spinning lock slower with more cores while a queued one levels off.
import { strict as assert } from 'assert';
import { loadProfile } from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import type { BusLock, Profile, Scenario } from '../../simulator/types';

/** af_unix with every cost zero but a control operation's (1 us), plus a lock. */
function lockedProfile(lock: Partial<BusLock>, patch: (p: Profile) => void = () => undefined): Profile {
  const p = structuredClone(loadProfile('af_unix'));
  const zero = (o: any): void => {
    for (const k of Object.keys(o)) {
      if (o[k] && typeof o[k] === 'object' && 'ns' in o[k]) o[k].ns = 0;
      else if (o[k] && typeof o[k] === 'object') zero(o[k]);
    }
  };
  zero(p);
  p.name = 'locked';
  p.ops.control.cpu.ns = 1000;
  p.lock = {
    holdFraction: 1,
    lineTransfer: { ns: 100, source: 'test' },
    handover: 'spinning',
    source: 'test',
    ...lock,
  };
  patch(p);
  return p;
}

/** Four peers on four CPUs each mint one handle at time 0 (one control op), then sleep 1 ms and close. */
function fourMinters(): Scenario {
  return {
    name: 'minters',
    description: 'four threads want the lock at once',
    cpus: 4,
    jitter: 0,
    workload: {
      kind: 'script',
      peers: [0, 1, 2, 3].map((i) => ({
        name: `p${i}`,
        nodes: [{ name: 'n' }],
        program: [
          { do: 'mint' as const, from: 'n', as: 'x', rights: ['send' as const] },
          { do: 'sleep' as const, ns: 1_000_000 },
        ],
      })),
    },
  };
}

/** When each peer's mint took effect, from the trace. */
function mintTimes(profile: Profile): {
  times: number[];
  lock: NonNullable<ReturnType<typeof runScenario>['results']['lock']>;
  out: ReturnType<typeof runScenario>;
} {
  const out = runScenario({ scenario: fourMinters(), profile, seed: 1, trace: true, timeline: true });
  assert.equal(out.failure, null, out.failure?.message);
  const times = out
    .trace!.map((l) => JSON.parse(l) as { op?: string; tNs: number })
    .filter((l) => l.op === 'mint')
    .map((l) => l.tNs);
  return { times, lock: out.results.lock!, out };
}

describe('the bus lock', () => {
  it('serialises operations: a spinning handover to S waiters adds lineTransfer x (S - 1) / 2 [ORDER-1]', () => {
    const { times, lock } = mintTimes(lockedProfile({}));
    // p0 holds [0, 1000); 3 spinners: +100; 2 spinners: +50; 1 spinner: +0.
    assert.deepEqual(times, [1000, 2100, 3150, 4150]);
    assert.equal(lock.handoverNs, 150);
    assert.equal(lock.contended, 3);
    assert.equal(lock.acquisitions, 8, 'four mints and four closes');
    assert.equal(lock.waitNs, 1100 + 2150 + 3150);
    assert.equal(lock.spinNs, lock.waitNs, 'they spun all the time they waited');
    assert.equal(lock.busyNs, 8 * 1000 + 150);
  });

  it('a queued lock hands over at no extra cost', () => {
    const { times, lock } = mintTimes(lockedProfile({ handover: 'queued' }));
    assert.deepEqual(times, [1000, 2000, 3000, 4000]);
    assert.equal(lock.handoverNs, 0);
  });

  it('without a lock the four operations run at once', () => {
    const p = lockedProfile({});
    delete p.lock;
    const out = runScenario({ scenario: fourMinters(), profile: p, seed: 1, trace: true });
    const times = out.trace!.map((l) => JSON.parse(l) as { op?: string; tNs: number }).filter((l) => l.op === 'mint');
    assert.deepEqual(
      times.map((l) => l.tNs),
      [1000, 1000, 1000, 1000],
    );
    assert.equal(out.results.lock, undefined);
  });

  it('a waiter that spins its budget sleeps on the lock and a release wakes the oldest sleeper', () => {
    const { times, lock, out } = mintTimes(
      lockedProfile({ spin: { ns: 500, source: 'test' } }, (p) => {
        p.wake.latency.ns = 2000;
      }),
    );
    // p1..p3 spin 500 ns and sleep; each release wakes one, runnable 2 us later, holding 1 us.
    assert.deepEqual(times, [1000, 4000, 7000, 10000]);
    assert.equal(lock.spinNs, 3 * 500);
    assert.equal(out.results.totals.wakes, 3);
    const p1 = out.results.timeline!.find((t) => t.thread === 'p1#0')!.spans.slice(0, 4);
    assert.deepEqual(p1, [
      [0, 500, 'lock'],
      [500, 1000, 'sleep'],
      [1000, 3000, 'ready'],
      [3000, 4000, 'run'],
    ]);
  });

  it('an uncontended lock changes no latency: a call/reply ping-pong on tessera_shm has the same percentiles with and without it [CALL-1]', () => {
    const scenario: Scenario = {
      name: 'pp',
      description: 'pp',
      cpus: 2,
      jitter: 0,
      workload: { kind: 'pingpong', mode: 'call', rounds: 200, payloadBytes: 64 },
    };
    const withLock = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed: 3 }).results;
    const bare = structuredClone(loadProfile('tessera_shm'));
    delete bare.lock;
    const without = runScenario({ scenario, profile: bare, seed: 3 }).results;
    // Only the start collides: the client's first call and the server's first receive, both at time 0.
    assert.equal(withLock.lock!.contended, 1);
    for (const k of ['p50Ns', 'p99Ns'] as const)
      assert.ok(
        Math.abs(withLock.latency[k] - without.latency[k]) < 0.2,
        `${k}: ${withLock.latency[k]} vs ${without.latency[k]}`,
      );
  });

  it('with more cores than the lock can serve, a spinning lock gets slower while a queued one levels off', () => {
    const calls = (profile: string, pairs: number) =>
      runScenario({
        scenario: {
          name: 'pairs',
          description: 'pairs',
          cpus: 2 * pairs,
          limits: { maxPeers: 1024 },
          workload: { kind: 'pairs', pairs, rounds: 10, payloadBytes: 64, serviceNs: 2000 },
        },
        profile: loadProfile(profile),
        seed: 5,
      }).results;
    const shm = [4, 32].map((n) => calls('tessera_shm', n));
    const kernel = [4, 32].map((n) => calls('tessera_kernel', n));
    assert.ok(shm[1].callsPerSec < shm[0].callsPerSec / 2, `shm ${shm[0].callsPerSec} -> ${shm[1].callsPerSec}`);
    assert.ok(shm[1].lock!.handoverNs > 0.3 * shm[1].lock!.busyNs, 'handovers take a large share of the lock');
    assert.ok(
      kernel[1].callsPerSec > kernel[0].callsPerSec,
      `kernel ${kernel[0].callsPerSec} -> ${kernel[1].callsPerSec}`,
    );
    assert.ok(kernel[1].callsPerSec < 8 * kernel[0].callsPerSec * 0.5, 'far from the 8x the cores would give');
    assert.ok(
      kernel[1].workloadNs > 0 && kernel[1].lock!.busyNs / kernel[1].workloadNs > 0.9,
      'the lock is the bottleneck',
    );
  });
});
