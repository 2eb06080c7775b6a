// The simulator: engine ordering and determinism, cost accounting on tiny
// hand-computed scenarios, schema errors, spec-breaking scenarios rejected with
// the model's error, and monitors that catch a deliberately broken event stream.
import { strict as assert } from 'assert';
import { EventQueue } from '../../simulator/heap';
import { Rng } from '../../simulator/rng';
import { Monitor } from '../../model';
import {
  bundledScenarios,
  loadProfile,
  loadScenario,
  parseProfile,
  parseScenario,
  InputError,
  simValidators,
} from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import { runScenarioComparison } from '../../simulator/compare';
import { latencyCdfSvg, sweepSvg } from '../../simulator/svg';
import { timelineSvg } from '../../simulator/timeline';
import type { PeerSpec, Profile, Scenario } from '../../simulator/types';
import { resolveLimits } from '../../spec/registry/limits';

/** A profile in which every cost is zero except the ones a test sets: hand-computable runs. */
function zeroProfile(patch: (p: Profile) => void = () => undefined): Profile {
  const p = structuredClone(loadProfile('af_unix'));
  const zero = (o: any): void => {
    for (const k of Object.keys(o)) {
      if (o[k] && typeof o[k] === 'object' && 'ns' in o[k]) o[k].ns = 0;
      else if (o[k] && typeof o[k] === 'object') zero(o[k]);
    }
  };
  zero(p);
  p.name = 'zero';
  patch(p);
  return p;
}

function pingpong(mode: 'call' | 'send-receive', rounds: number, extra: Partial<Scenario> = {}): Scenario {
  return {
    name: 'tiny',
    description: 'tiny',
    cpus: 2,
    jitter: 0,
    workload: { kind: 'pingpong', mode, rounds, payloadBytes: 64 },
    ...extra,
  };
}

describe('simulator engine', () => {
  it('pops simultaneous events in the order they were pushed, and earlier times first [TIME-1]', () => {
    const q = new EventQueue(2);
    const rng = new Rng(7);
    const pushed: [number, number][] = [];
    for (let i = 0; i < 500; i++) {
      const t = rng.int(20); // many ties
      q.push(t, 1, i, 0);
      pushed.push([t, i]);
    }
    const popped: [number, number][] = [];
    while (q.pop()) popped.push([q.popTime, q.popA]);
    const expected = pushed.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(popped, expected);
  });

  it('draws the same stream from the same seed and different streams from different seeds', () => {
    const a = new Rng('0x1234'),
      b = new Rng(0x1234),
      c = new Rng(0x1235);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    assert.deepEqual(
      Array.from({ length: 8 }, () => b.nextUint32()),
      xs,
    );
    assert.notDeepEqual(
      Array.from({ length: 8 }, () => c.nextUint32()),
      xs,
    );
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      assert.ok(x >= 0 && x < 1);
    }
  });

  it('gives byte-identical results and traces for the same scenario and seed [TIME-2]', () => {
    for (const name of ['rpc-pool', 'close-during-call', 'revocation-storm']) {
      const scenario = loadScenario(name);
      for (const seed of ['0x1', '0xbeef']) {
        const one = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed, trace: true });
        const two = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed, trace: true });
        assert.equal(one.failure, null, one.failure?.message);
        assert.equal(one.results.hash, two.results.hash, `${name} ${seed}`);
        assert.deepEqual(one.trace, two.trace);
      }
      const other = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed: '0x2' });
      const first = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed: '0x1' });
      assert.notEqual(other.results.hash, first.results.hash, `${name}: the seed matters`);
    }
  });
});

describe('simulator cost accounting', () => {
  it('a call/reply round trip on an idle 2-CPU machine costs exactly what the profile says [CALL-1, CALL-3]', () => {
    // Costs: call 1000, reply 700, receive 300, per delivery 50, wake latency 2000, switch 400, waker 100.
    const profile = zeroProfile((p) => {
      p.ops.call.cpu.ns = 1000;
      p.ops.call.syscalls = 1;
      p.ops.reply.cpu.ns = 700;
      p.ops.reply.syscalls = 1;
      p.ops.receive.cpu.ns = 300;
      p.ops.receive.syscalls = 1;
      p.ops.receivePerMessage.ns = 50;
      p.wake.latency.ns = 2000;
      p.scheduler.contextSwitch.ns = 400;
      p.wake.waker.ns = 100;
      p.copies = 1;
      p.copyPerKiB.ns = 0;
    });
    const { results, failure } = runScenario({ scenario: pingpong('call', 100), profile, seed: 1 });
    assert.equal(failure, null, failure?.message);
    // Client: call 1000 -> server (asleep in receive) woken: 2000 + 400 switch, takes the call 50,
    // replies 700 (+100 waking the client) -> client woken 2000 + 400, takes the reply 50.
    const expected = 1000 + 2000 + 400 + 50 + 700 + 2000 + 400 + 50;
    assert.equal(results.latency.p50Ns, expected);
    assert.equal(results.latency.p999Ns, expected);
    // Per round trip: 2 messages, 2 wakes, 3 syscalls (call, reply, receive), 4 context switches (2 in, 2 to idle);
    // plus one wake for the no-senders notice that ends the server.
    assert.equal(results.totals.calls, 100);
    assert.equal(results.totals.wakes, 2 * 100 + 1);
    assert.ok(Math.abs(results.syscallsPerMessage - 1.5) < 0.1, `syscalls/msg ${results.syscallsPerMessage}`);
    assert.ok(
      Math.abs(results.contextSwitchesPerMessage - 2) < 0.15,
      `switches/msg ${results.contextSwitchesPerMessage}`,
    );
  });

  it('direct hand-off replaces wake latency by one switch and counts no scheduler wake [CALL-1]', () => {
    const profile = zeroProfile((p) => {
      p.ops.call.cpu.ns = 1000;
      p.ops.reply.cpu.ns = 700;
      p.ops.receive.cpu.ns = 300;
      p.ops.receivePerMessage.ns = 50;
      p.wake.latency.ns = 2000;
      p.scheduler.contextSwitch.ns = 400;
      p.handoff.call = true;
      p.handoff.reply = true;
      p.handoff.switch.ns = 250;
    });
    const { results, failure } = runScenario({ scenario: pingpong('call', 10), profile, seed: 1 });
    assert.equal(failure, null, failure?.message);
    // call 1000, hand-off 250, take 50, reply 700, receive 300 (the replier goes to sleep), hand-off 250, take 50.
    assert.equal(results.latency.p50Ns, 1000 + 250 + 50 + 700 + 300 + 250 + 50);
    assert.equal(results.totals.wakes, 1, 'only the no-senders notice at the end wakes the server');
    assert.equal(results.handoffsPerMessage, 1);
  });

  it('spinning waiters on separate CPUs see each other after the observe delay, with no syscall or wake', () => {
    const profile = zeroProfile((p) => {
      p.ops.call.cpu.ns = 200;
      p.ops.call.syscalls = 0;
      p.ops.reply.cpu.ns = 150;
      p.ops.reply.syscalls = 0;
      p.ops.receive.cpu.ns = 100;
      p.ops.receive.syscalls = 0;
      p.ops.control.syscalls = 0;
      p.ops.send.syscalls = 0;
      p.wake.spinObserve.ns = 100;
      p.spin.budget.ns = 50_000;
    });
    const { results, failure } = runScenario({ scenario: pingpong('call', 50), profile, seed: 1 });
    assert.equal(failure, null, failure?.message);
    assert.equal(results.latency.p50Ns, 200 + 100 + 150 + 100);
    assert.equal(results.totals.wakes, 0);
    assert.equal(results.totals.syscalls, 0);
  });

  it('call/reply with hand-off spares wake-ups, switches and syscalls compared with send+receive, and shm beats AF_UNIX', () => {
    const { results } = runScenarioComparison(
      { ...loadScenario('pingpong'), workload: { kind: 'pingpong', mode: 'call', rounds: 2000, payloadBytes: 64 } },
      ['tessera_kernel', 'tessera_shm', 'af_unix'],
      3,
    );
    const get = (transport: string, calls: boolean) =>
      results.find((r) => r.transport === transport && r.totals.calls > 0 === calls)!;
    const kCall = get('tessera_kernel', true),
      kSend = get('tessera_kernel', false);
    assert.ok(kCall.wakesPerMessage < kSend.wakesPerMessage);
    assert.ok(kCall.contextSwitchesPerMessage < kSend.contextSwitchesPerMessage);
    assert.ok(kCall.syscallsPerMessage < kSend.syscallsPerMessage);
    assert.ok(kCall.latency.p50Ns < kSend.latency.p50Ns);
    assert.ok(get('tessera_shm', true).latency.p50Ns * 4 < get('af_unix', true).latency.p50Ns);
  });
});

describe('simulator platform: time slices, wake-up preemption, background load', () => {
  /**
   * One CPU: p0 computes (1500 ns between two control operations, 2000 times); w is runnable
   * from 0, then sleeps 100 us and measures how long it took to get the CPU back after that.
   */
  function wakeOnBusyCpu(protectionNs: number) {
    const profile = zeroProfile((p) => {
      p.scheduler.slice = { ns: 1_000_000, source: 'test' };
      p.scheduler.wakeupProtection = { ns: protectionNs, source: 'test' };
    });
    const scenario: Scenario = {
      name: 'wake',
      description: 'wake',
      cpus: 1,
      jitter: 0,
      workload: {
        kind: 'script',
        peers: [
          {
            name: 'p0',
            nodes: [{ name: 'n' }],
            program: [
              {
                do: 'repeat',
                times: 2000,
                body: [
                  { do: 'compute', ns: 1500 },
                  { do: 'mint', from: 'n', as: 'x', rights: ['send'] },
                  { do: 'release', handle: 'x' },
                ],
              },
            ],
          },
          { name: 'w', program: [{ do: 'timerStart' }, { do: 'sleep', ns: 100_000 }, { do: 'timerStop' }] },
        ],
      },
    };
    return runScenario({ scenario, profile, seed: 1 });
  }

  it('a woken thread that is owed CPU preempts one that has had more than its share (EEVDF lag), at its next op boundary', () => {
    const { results, failure } = wakeOnBusyCpu(0);
    assert.equal(failure, null, failure?.message);
    // w waits while p0 uses its slice: p0 leaves at its first op boundary past 1 ms (1,000,500 =
    // 667 x 1500), having had 500,250 ns more than its share, which w is owed. w sleeps at once; it
    // wakes at 1,100,500, eligible against a p0 that is not: p0 leaves at its next boundary
    // (1,101,000) and w runs 100,500 ns after it went to sleep.
    assert.equal(results.latency.maxNs, 100_500);
    assert.equal(results.totals.preemptions, 2);
  });

  it('within its wake-up protection the running thread keeps the CPU until its slice is used up', () => {
    const { results, failure } = wakeOnBusyCpu(1_000_000);
    assert.equal(failure, null, failure?.message);
    // p0 got the CPU back at 1,000,500, protected until its slice ends at 2,000,500: w runs at
    // p0's first boundary after that (2,001,000).
    assert.equal(results.latency.maxNs, 2_001_000 - 1_000_500);
    assert.equal(results.totals.preemptions, 2);
  });

  it('the shm back-off: lost spins divide the budget by 4 down to 0 below 1 us; then a full probe every 64th wait', () => {
    const profile = zeroProfile((p) => {
      p.spin.budget.ns = 50_000;
      p.spin.adaptive = true;
      p.spin.backoff = { divisor: 4, floorNs: 1000, probeEvery: 64, source: 'test' };
    });
    const scenario: Scenario = {
      ...pingpong('call', 130),
      workload: { kind: 'pingpong', mode: 'call', rounds: 130, payloadBytes: 64, serviceNs: 100_000 },
    };
    const { results, failure } = runScenario({ scenario, profile, seed: 1 });
    assert.equal(failure, null, failure?.message);
    // Every call takes 100 us, so every client spin is lost: 50 + 12.5 + 3.125 us, then 0 (781 ns
    // is below the floor); of the 127 waits left, the 64th is a full 50 us probe (lost too). The
    // server's spins all end at once (the next call is already there).
    assert.equal(results.totals.spinNs, 50_000 + 12_500 + 3125 + 50_000);
  });

  /** Peers that only compute (1500 ns) between two control operations (mint + release): op boundaries every 1500 ns. */
  function computeLoop(peers: number, iterations: number, extra: Partial<Scenario>): Scenario {
    return {
      name: 'compute',
      description: 'compute',
      cpus: 1,
      jitter: 0,
      ...extra,
      workload: {
        kind: 'script',
        peers: Array.from({ length: peers }, (_, i) => ({
          name: `p${i}`,
          nodes: [{ name: 'n' }],
          program: [
            {
              do: 'repeat',
              times: iterations,
              body: [
                { do: 'compute', ns: 1500 },
                { do: 'mint', from: 'n', as: 'x', rights: ['send'] },
                { do: 'release', handle: 'x' },
              ],
            },
          ],
        })) as PeerSpec[],
      },
    };
  }

  it('a used-up slice ends at the next scheduler tick when another thread waits: two busy threads on one CPU', () => {
    const profile = zeroProfile((p) => {
      p.scheduler.slice = { ns: 1_000_000, source: 'test' };
      p.scheduler.tick = { ns: 4_000_000, source: 'test' };
    });
    const { results, failure } = runScenario({ scenario: computeLoop(2, 4000, {}), profile, seed: 1, timeline: true });
    assert.equal(failure, null, failure?.message);
    // Each needs 6 ms. p0 runs from 0; its slice is used up at 1 ms, the tick at 4 ms ends its turn
    // at the op boundary at 4,000,500 (2667 x 1500); p1 runs to its first boundary past the tick at
    // 8 ms (8,001,000); p0 finishes its last 1,999,500 ns (before the next tick), then p1.
    assert.equal(results.totals.preemptions, 2);
    const spans = (name: string, state: string) =>
      results
        .timeline!.find((t) => t.thread === name)!
        .spans.filter((s) => s[2] === state)
        .map(([a, b]) => [a, b]);
    assert.deepEqual(spans('p0#0', 'run')[0], [0, 4_000_500]);
    assert.deepEqual(spans('p1#0', 'run')[0], [4_000_500, 8_001_000]);
    // Off its CPU, each is runnable (waiting in the run queue), never asleep: nothing blocks them.
    assert.deepEqual(spans('p1#0', 'ready')[0], [0, 4_000_500]);
    assert.deepEqual(spans('p0#0', 'ready')[0], [4_000_500, 8_001_000]);
    assert.deepEqual(spans('p0#0', 'sleep'), []);
    assert.equal(results.workloadNs, 12_000_000);
  });

  it('background load holds each CPU its share of every period; a running thread leaves it at its next op boundary', () => {
    const { results, failure } = runScenario({
      scenario: computeLoop(1, 2000, { background: { cpus: 0.5 } }),
      profile: zeroProfile(),
      seed: 1,
    });
    assert.equal(failure, null, failure?.message);
    // The CPU is held [0, 2 ms) of every 4 ms. The thread's first boundary (1500) is inside: it
    // waits until 2 ms, runs to its first boundary past 4 ms (2 ms + 1334 x 1500 = 4,001,000),
    // waits until 6 ms and does its remaining 665 x 1500.
    assert.equal(results.totals.preemptions, 2);
    assert.equal(results.workloadNs, 6_000_000 + 665 * 1500);
  });
});

describe('simulator inputs', () => {
  it('a scenario with a bad field is rejected with the path of that field', () => {
    const bad = { ...loadScenario('rpc-pool'), workload: { ...loadScenario('rpc-pool').workload, clients: -3 } };
    assert.throws(
      () => parseScenario(bad, 'bad.json'),
      (e: Error) => e instanceof InputError && /\/workload\/clients/.test(e.message),
    );
    const badStep = {
      name: 'x',
      description: 'x',
      workload: { kind: 'script', peers: [{ name: 'a', program: [{ do: 'sned', to: 'b', bytes: 1 }] }] },
    };
    assert.throws(() => parseScenario(badStep), /\/workload\/peers\/0\/program\/0/);
    const badKind = { name: 'x', description: 'x', workload: { kind: 'pingpang' } };
    assert.throws(() => parseScenario(badKind), /\/workload.*pingpang/);
  });

  it('a profile without a source for a cost is rejected at that cost', () => {
    const p: any = structuredClone(loadProfile('tessera_shm'));
    delete p.wake.latency.source;
    assert.throws(() => parseProfile(p), /\/wake\/latency/);
  });

  it('every bundled scenario and profile validates, and results validate against their schema', () => {
    assert.ok(bundledScenarios().length >= 10);
    for (const name of bundledScenarios()) loadScenario(name);
    const { results } = runScenario({
      scenario: pingpong('call', 5),
      profile: loadProfile('binder_like'),
      seed: 1,
      timeline: true,
    });
    const checked = simValidators.results.check(JSON.parse(JSON.stringify(results)));
    assert.ok(checked.ok, JSON.stringify(checked));
  });
});

describe('simulator and the model', () => {
  it("a scenario that breaks the spec is rejected with the model's error and the step [HANDLE-3, CALL-3]", () => {
    // The client replies although it never received a call: there is no reply handle to use.
    const scenario: Scenario = {
      name: 'broken',
      description: 'replies without a call',
      jitter: 0,
      workload: {
        kind: 'script',
        peers: [
          { name: 'server', nodes: [{ name: 'svc' }], program: [{ do: 'serve' }] },
          {
            name: 'client',
            bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['send'] }],
            program: [
              { do: 'send', to: 'svc', bytes: 4 },
              { do: 'reply', bytes: 4 },
            ],
          },
        ],
      },
    };
    const out = runScenario({ scenario, profile: loadProfile('tessera_shm'), seed: 9 });
    assert.ok(out.failure, 'the scenario must fail');
    assert.equal(out.failure!.kind, 'scenario');
    assert.match(out.failure!.message, /client.*step 2.*reply.*BAD_HANDLE/);
    assert.match(out.failure!.replay, /^npx tessera sim broken --seed 0x9 --transport tessera_shm$/);
  });

  it('sending through a handle without the send right fails NO_RIGHTS at that step [SEND-1, MINT-2]', () => {
    const scenario: Scenario = {
      name: 'no-rights',
      description: 'grant-only handle',
      jitter: 0,
      workload: {
        kind: 'script',
        peers: [
          { name: 'server', nodes: [{ name: 'svc' }], program: [{ do: 'serve' }] },
          {
            name: 'client',
            bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['grant'] }],
            program: [{ do: 'call', to: 'svc', bytes: 4 }],
          },
        ],
      },
    };
    const out = runScenario({ scenario, profile: loadProfile('af_unix'), seed: 1 });
    assert.equal(out.failure?.kind, 'scenario');
    assert.match(out.failure!.message, /NO_RIGHTS/);
  });

  it('faults end in a liveness phase where every call resolved and nothing leaked [CALL-2, CLOSE-1, DESTROY-4, INV-5, INV-6]', () => {
    for (const name of [
      'close-during-call',
      'destroy-during-call',
      'revoke-during-transfer',
      'stop-receiving',
      'backpressure',
    ]) {
      const out = runScenario({
        scenario: loadScenario(name),
        profile: loadProfile('tessera_shm'),
        seed: 4,
        stateCheckEvery: 64,
      });
      assert.equal(out.failure, null, `${name}: ${out.failure?.message}`);
      assert.ok(out.results.liveness.ok);
    }
    const closed = runScenario({
      scenario: loadScenario('close-during-call'),
      profile: loadProfile('af_unix'),
      seed: 4,
    }).results;
    assert.ok((closed.outcomes.DEAD ?? 0) > 0, JSON.stringify(closed.outcomes));
    const stopped = runScenario({
      scenario: loadScenario('stop-receiving'),
      profile: loadProfile('af_unix'),
      seed: 4,
    }).results;
    assert.ok((stopped.outcomes.TIMED_OUT ?? 0) > 0, JSON.stringify(stopped.outcomes));
  });

  it("no sender ever holds more than its quota of the slow consumer's queue [QUOTA-1, INV-11]", () => {
    const { results } = runScenario({
      scenario: loadScenario('backpressure'),
      profile: loadProfile('tessera_shm'),
      seed: 5,
    });
    const quota = loadScenario('backpressure').limits!.senderQuotaMessages!;
    const producers = results.queueOccupancy.filter((o) => o.receiver === 'consumer');
    assert.equal(producers.length, 6);
    for (const o of producers) assert.ok(o.maxMessages <= quota, `${o.sender} held ${o.maxMessages}`);
  });
});

describe('simulator invariant monitors', () => {
  const limits = resolveLimits({ senderQuotaMessages: 2 });

  it('catch a message received twice and one never enqueued [INV-4]', () => {
    const m = new Monitor(limits);
    assert.equal(m.event({ type: 'enqueue', seq: 1, to: 2, from: 1, kind: 'message', bytes: 4 }), null);
    assert.equal(m.event({ type: 'dequeue', seq: 1, peer: 2 }), null);
    assert.equal(m.event({ type: 'dequeue', seq: 1, peer: 2 })?.invariant, 'INV-4');
    assert.equal(new Monitor(limits).event({ type: 'discard', seq: 5, peer: 2 })?.invariant, 'INV-4');
  });

  it('catch deliveries out of the bus order and enqueues out of order [INV-7]', () => {
    const m = new Monitor(limits);
    m.event({ type: 'enqueue', seq: 1, to: 2, from: 1, kind: 'message', bytes: 4 });
    m.event({ type: 'enqueue', seq: 2, to: 2, from: 3, kind: 'message', bytes: 4 });
    assert.equal(m.event({ type: 'dequeue', seq: 2, peer: 2 }), null);
    assert.equal(m.event({ type: 'dequeue', seq: 1, peer: 2 })?.invariant, 'INV-7');
    assert.equal(m.event({ type: 'enqueue', seq: 2, to: 2, from: 1, kind: 'message', bytes: 4 })?.invariant, 'INV-7');
  });

  it('catch a sender over its quota, while notices never count [INV-11, NOTICE-4]', () => {
    const m = new Monitor(limits);
    m.event({ type: 'enqueue', seq: 1, to: 2, from: 1, kind: 'message', bytes: 4 });
    m.event({ type: 'enqueue', seq: 2, to: 2, from: 1, kind: 'call', bytes: 4 });
    assert.equal(m.event({ type: 'enqueue', seq: 3, to: 2, from: 0, kind: 'notice', bytes: 0 }), null);
    assert.equal(m.event({ type: 'enqueue', seq: 4, to: 2, from: 1, kind: 'message', bytes: 4 })?.invariant, 'INV-11');
  });

  it('catch forged credentials and a second notice for one handle [INV-10, INV-9]', () => {
    const m = new Monitor(limits);
    m.registerPeer(1, { uid: 7, gid: 7, pid: 7 });
    m.registerNode(2, 1, true);
    m.event({ type: 'enqueue', seq: 1, to: 2, from: 1, kind: 'message', bytes: 0 });
    const forged = {
      kind: 'message' as const,
      node: 1,
      badge: 0,
      payload: '',
      handles: [],
      credentials: { uid: 0, gid: 0, pid: 7, peerKey: 1 },
    };
    assert.equal(m.deliveries(2, [forged], [1])?.invariant, 'INV-10');
    const notice = { kind: 'notice' as const, notice: { type: 'revoked' as const, handle: 3 } };
    assert.equal(m.deliveries(2, [notice], [2]), null);
    assert.equal(m.deliveries(2, [notice], [3])?.invariant, 'INV-9');
  });

  it('stop a real run when its event stream is tampered with, and print the replay command [INV-4, INV-7]', () => {
    const scenario = loadScenario('rpc-pool');
    // Drop one dequeue event from the copy the monitors see: a receive that "never happened".
    let dropped = false;
    const out = runScenario({
      scenario,
      profile: loadProfile('tessera_shm'),
      seed: 11,
      scenarioRef: 'rpc-pool',
      tamper: (events) => {
        if (dropped) return events;
        const i = events.findIndex((e) => e.type === 'dequeue');
        if (i < 0) return events;
        dropped = true;
        return events.filter((_, j) => j !== i);
      },
    });
    assert.equal(out.failure?.kind, 'invariant');
    // Seen first as INV-4/INV-7 (order) or INV-10 (the delivery no longer matches its enqueue).
    assert.match(out.failure!.message, /INV-4|INV-7|INV-10/);
    assert.equal(out.failure!.replay, 'npx tessera sim rpc-pool --seed 0xb --transport tessera_shm');
    assert.equal(out.results.monitors.violations.length, 1);
  });

  it('stop a run whose stream delivers one message twice [INV-4]', () => {
    let done = false;
    const out = runScenario({
      scenario: pingpong('call', 20),
      profile: loadProfile('af_unix'),
      seed: 2,
      tamper: (events, step) => {
        if (step < 20 || done || !events.some((e) => e.type === 'dequeue')) return events;
        done = true;
        return [...events, ...events.filter((e) => e.type === 'dequeue')];
      },
    });
    assert.equal(out.failure?.kind, 'invariant');
    assert.match(out.failure!.message, /INV-4/);
  });
});

describe('simulator charts', () => {
  it('draws a CDF, a sweep chart and a timeline as standalone SVG', () => {
    const a = runScenario({
      scenario: pingpong('call', 200),
      profile: loadProfile('tessera_shm'),
      seed: 1,
      timeline: true,
    }).results;
    const b = runScenario({
      scenario: pingpong('call', 200),
      profile: loadProfile('af_unix'),
      seed: 1,
      timeline: true,
    }).results;
    for (const svg of [
      latencyCdfSvg([
        { label: 'shm', results: a },
        { label: 'af_unix', results: b },
      ]),
      sweepSvg(
        [
          { transport: 'shm', params: { n: 1 }, seed: '0x1', results: a },
          { transport: 'shm', params: { n: 2 }, seed: '0x1', results: b },
        ],
        ['n'],
        'messagesPerSec',
      ),
      timelineSvg(b),
    ]) {
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<\/svg>\n$/);
      assert.doesNotMatch(svg, /NaN|undefined/);
    }
  });
});
