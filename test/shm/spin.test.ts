// The shm backend's spin budget (SpinPolicy): how a lost spin shrinks it, only when the CPU is
// shared once the seat can tell, and the seat's rule for telling (a peer that may answer, open
// and awake, last ran on this thread's CPU).
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as spin from '../../backends/shm/spin';
import { SpinPolicy } from '../../backends/shm/spin';
import { SPIN_POLICY } from '../../backends/shm/spin-policy';
import { ShmBus } from '../../backends/shm';
import { peerSeat } from '../../bench/shm';
import type { PeerSeat } from '../../backends/shm/seat';
import { P_CPU, P_SLEEP, P_STATUS } from '../../backends/shm/layout';
import { currentCpu } from '../../native';
import { requireNative } from '../native/support';

const MAX_MS = SPIN_POLICY.budgetUs / 1000;

/** The budgets of successive waits after each outcome in turn ('w' won, 'l' lost). */
function budgets(p: SpinPolicy, outcomes: string): number[] {
  return [...outcomes].map((o) => {
    const b = p.budget();
    if (o === 'w') p.spinWon();
    else p.spinLost();
    return b;
  });
}

describe('shm: the spin budget', () => {
  it('without a way to tell a shared CPU, every lost spin divides the budget, to 0 below the floor; a won one restores it', () => {
    const p = new SpinPolicy(SPIN_POLICY.budgetUs);
    const d = SPIN_POLICY.divisor;
    assert.deepEqual(budgets(p, 'lll'), [MAX_MS, MAX_MS / d, MAX_MS / d / d]);
    assert.equal(p.budget(), 0, 'collapsed: the next wait sleeps at once');
    p.spinWon();
    assert.equal(p.budget(), MAX_MS);
  });

  it('a lost spin shrinks the budget only when the peer shares the CPU, and asks once per lost spin', () => {
    const p = new SpinPolicy(SPIN_POLICY.budgetUs);
    let shared = false,
      asked = 0;
    p.sharesCpu = () => {
      asked++;
      return shared;
    };
    assert.deepEqual(
      budgets(p, 'llll'),
      [MAX_MS, MAX_MS, MAX_MS, MAX_MS],
      'a slow peer elsewhere: the budget stays whole',
    );
    assert.equal(asked, 4);
    shared = true;
    budgets(p, 'lll');
    assert.equal(p.budget(), 0, 'a peer on this CPU: three lost spins collapse it as before');
    assert.equal(p.lost, 7);
  });

  it('at budget 0 the waits sleep at once and every 64th probes the full budget; a lost probe is not asked about', () => {
    const p = new SpinPolicy(SPIN_POLICY.budgetUs);
    let asked = 0;
    p.sharesCpu = () => {
      asked++;
      return true;
    };
    budgets(p, 'lll');
    asked = 0;
    const seen = Array.from({ length: 2 * SPIN_POLICY.probeEvery }, () => {
      const b = p.budget();
      if (b > 0) p.spinLost();
      return b;
    });
    assert.deepEqual(
      seen.map((b, i) => [i, b]).filter(([, b]) => b > 0),
      [
        [SPIN_POLICY.probeEvery - 1, MAX_MS],
        [2 * SPIN_POLICY.probeEvery - 1, MAX_MS],
      ],
    );
    assert.equal(asked, 0);
  });

  it('spin 0 never spins, whatever the outcomes', () => {
    const p = new SpinPolicy(0);
    p.sharesCpu = () => false;
    assert.deepEqual(budgets(p, 'lwl'), [0, 0, 0]);
  });
});

describe("shm: a seat's answer to 'does a peer share my CPU'", function () {
  before(function () {
    requireNative(this);
  });

  it('yes for an open, awake peer that last published this CPU; no once it sleeps, runs elsewhere or closed', () => {
    const bus = ShmBus.create({ spin: SPIN_POLICY.budgetUs });
    try {
      const a = bus.attach({ uid: 0, gid: 0, pid: 1 });
      const b = bus.attach({ uid: 0, gid: 0, pid: 2 });
      const sa = peerSeat(a),
        sb = peerSeat(b);
      const I = sa.int32,
        pa = sa.core.peerAt(sa.slot);
      const ask = (s: PeerSeat) => {
        assert.ok(s.spin.sharesCpu !== null, 'the seat can tell (the addon loads)');
        return s.spin.sharesCpu();
      };
      assert.equal(ask(sb), false, 'a has not published a CPU yet');
      // Each check runs again if the thread moved to another CPU in the middle of it.
      const onOneCpu = (f: () => boolean): boolean => {
        for (let i = 0; i < 100; i++) {
          const cpu = currentCpu();
          const r = f();
          if (currentCpu() === cpu) return r;
        }
        throw new Error('the thread kept moving between CPUs');
      };
      const published = () => {
        ask(sa); // a publishes the CPU this thread runs on
        return I[pa + P_CPU] === currentCpu() + 1;
      };
      assert.ok(onOneCpu(published), 'a published the CPU it runs on, plus 1');
      assert.equal(
        onOneCpu(() => (ask(sa), ask(sb))),
        true,
        'a, open and awake, last ran on this CPU',
      );
      const asleep = () => {
        ask(sa);
        Atomics.store(I, pa + P_SLEEP, 1);
        const r = ask(sb);
        Atomics.store(I, pa + P_SLEEP, 0);
        return r;
      };
      assert.equal(onOneCpu(asleep), false, 'a sleeps: it does not compete for the CPU');
      const elsewhere = () => {
        Atomics.store(I, pa + P_CPU, currentCpu() + 2);
        return ask(sb);
      };
      assert.equal(onOneCpu(elsewhere), false, 'a last ran on another CPU');
      a.close();
      assert.notEqual(I[pa + P_STATUS], 1);
      assert.equal(
        onOneCpu(() => (ask(sa), ask(sb))),
        false,
        'a closed',
      );
    } finally {
      bus.dispose();
    }
  });
});

describe('shm: the spin loops (native, and JavaScript where the addon is absent)', function () {
  this.timeout(60_000);

  const impls = {
    dispatched: {
      changed: spin.spinUntilChanged,
      equals: spin.spinUntilEquals,
      either: spin.spinUntilEqualsOrChanged,
    },
    javascript: {
      changed: spin.jsSpinUntilChanged,
      equals: spin.jsSpinUntilEquals,
      either: spin.jsSpinUntilEqualsOrChanged,
    },
  };

  it('where the addon loads the spins run in it, and TESSERA_SHM_SPIN=js keeps them in JavaScript', function () {
    requireNative(this);
    assert.equal(spin.spinsNatively(), process.env[spin.SPIN_ENV] !== 'js');
    const file = path.join(__dirname, '..', '..', 'backends', 'shm', 'spin.js');
    const ask = (env: NodeJS.ProcessEnv) =>
      spawnSync(
        process.execPath,
        ['-e', `process.stdout.write(String(require(${JSON.stringify(file)}).spinsNatively()))`],
        {
          encoding: 'utf8',
          env,
        },
      );
    const js = ask({ ...process.env, [spin.SPIN_ENV]: 'js' });
    assert.equal(js.stdout, 'false', js.stderr);
    const native = ask({ ...process.env, [spin.SPIN_ENV]: '' });
    assert.equal(native.stdout, 'true', native.stderr);
  });

  for (const [name, f] of Object.entries(impls)) {
    it(`${name}: a word already there ends the spin at once, want before changed, with the words unchanged`, () => {
      const I = new Int32Array(new SharedArrayBuffer(256));
      I[0] = 5;
      I[16] = 9;
      assert.equal(f.changed(I, 16, 8, 1000), true);
      assert.equal(f.equals(I, 0, 5, 1000), true);
      assert.equal(f.either(I, 0, 5, 16, 8, 1000), spin.SPIN_EQUALS);
      assert.equal(f.either(I, 0, 4, 16, 8, 1000), spin.SPIN_CHANGED);
      assert.deepEqual([I[0], I[16]], [5, 9]);
    });

    it(`${name}: a spin that sees nothing gives up after its budget, not before`, () => {
      const I = new Int32Array(new SharedArrayBuffer(256));
      for (const [run, budgetMs] of [
        [() => f.changed(I, 16, 0, 3), 3],
        [() => f.equals(I, 0, 1, 3), 3],
        [() => f.either(I, 0, 1, 16, 0, 3), 3],
      ] as const) {
        const t0 = performance.now();
        const r = run();
        const ms = performance.now() - t0;
        assert.ok(r === false || r === spin.SPIN_TIMED_OUT, `ended with ${String(r)}`);
        assert.ok(ms >= budgetMs, `gave up after ${ms.toFixed(3)} ms, budget ${budgetMs}`);
      }
    });

    it(`${name}: a store by another thread ends the spin`, async () => {
      const I = new Int32Array(new SharedArrayBuffer(256));
      // The worker stores I[0], waits for this thread to have seen it (I[32]), then stores I[16]:
      // each spin sees exactly one change, whatever the scheduling.
      const w = new Worker(
        'const { workerData: I } = require("worker_threads"); setTimeout(() => { Atomics.store(I, 0, 7); Atomics.wait(I, 32, 0, 30000); Atomics.store(I, 16, 3); }, 20);',
        { eval: true, workerData: I },
      );
      try {
        assert.equal(f.either(I, 0, 7, 16, 0, 20_000), spin.SPIN_EQUALS);
        assert.equal(I[16], 0);
        Atomics.store(I, 32, 1);
        Atomics.notify(I, 32);
        assert.equal(f.changed(I, 16, 0, 20_000), true);
        assert.equal(f.equals(I, 16, 3, 20_000), true);
      } finally {
        await w.terminate();
      }
    });
  }
});
