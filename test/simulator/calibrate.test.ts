// Calibration: the fitting math on hand-computed numbers, fits that recover a
// profile from its own simulated figures, `tessera calibrate` with injected
// measurements (deterministic) and in --quick mode on this machine (structure
// only: benchmarks are never timed pass/fail tests; between processes in
// calibrate-processes.test.ts, run uninstrumented), the reading of the shm
// bench's records, and the RPC-pool baseline's window.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadProfile, parseProfile } from '../../simulator/load';
import {
  DEFAULT_POOL,
  checkPredictions,
  fitProfile,
  matchRoundTripCpu,
  moveCopyToLargeRoundTrip,
  moveCopyToLargeStream,
  moveSleepingToRoundTrip,
  moveToRoundTrip,
  predict,
  scaleToStream,
  shapeOf,
  sleepingProfile,
  type CheckRow,
  type Measurement,
  type Prediction,
} from '../../simulator/calibration';
import type { Profile } from '../../simulator/types';
import { CALIBRATED_TRANSPORTS, requireAddon, shmMeasurement } from '../../bench/calibration';
import { BUNDLED_CALIBRATION_COMMAND, CALIBRATION_METHODS } from '../../simulator/calibration-methods';
import { INSTALLED_TRANSPORTS } from '../../cli/commands/calibrate';
import { poolWindowRate, type BenchRecord } from '../../bench/baselines';
import { emptyRecord } from '../../bench/baselines/common';
import { tessera } from './support';
import { tempDirs } from '../helpers';

/** The numbers of a profile (descriptions and sources dropped): what a fit decides. */
function numbers(p: Profile): unknown {
  return JSON.parse(JSON.stringify(p, (k, v) => (k === 'source' || k === 'description' ? undefined : v)));
}

/**
 * A hand-computable stand-in for the simulator: stream = 1e9 / (send + receive + per-delivery);
 * rtt = call + reply + 2 receives + 2 wakes; CPU per round trip = call + reply + 2 receives +
 * 2 x (switch + waker + sleep).
 */
function standIn(p: Profile): Prediction {
  const o = p.ops;
  const ops = o.call.cpu.ns + o.reply.cpu.ns + 2 * o.receive.cpu.ns;
  return {
    oneWayMsgsPerSec: 1e9 / (o.send.cpu.ns + o.receive.cpu.ns + o.receivePerMessage.ns),
    rttNs: ops + 2 * p.wake.latency.ns,
    rpcPoolCallsPerSec: 1e9 / (o.reply.cpu.ns + o.receive.cpu.ns + o.receivePerMessage.ns),
    cpuNsPerRoundTrip: ops + 2 * (p.scheduler.contextSwitch.ns + p.wake.waker.ns + p.wake.sleep.ns),
  };
}

/** af_unix with round per-message costs and wake latency. */
function handProfile(): Profile {
  const q = structuredClone(loadProfile('af_unix'));
  q.ops.send.cpu.ns = 1000;
  q.ops.call.cpu.ns = 1200;
  q.ops.reply.cpu.ns = 800;
  q.ops.receive.cpu.ns = 600;
  q.ops.receivePerMessage.ns = 400;
  q.wake.latency.ns = 1500;
  return q;
}

describe('calibration: the fitting math', () => {
  it('scales the per-message costs together by (predicted/measured)^0.8, in whole nanoseconds', () => {
    const p = handProfile();
    // predicted/measured = 2^1.25, so the factor is 2^(1.25 * 0.8) = 2 exactly.
    const f = scaleToStream(p, 1e6 / 2 ** 1.25, 1e6);
    assert.equal(f, 2);
    assert.deepEqual(
      [p.ops.send.cpu.ns, p.ops.call.cpu.ns, p.ops.reply.cpu.ns, p.ops.receive.cpu.ns, p.ops.receivePerMessage.ns],
      [2000, 2400, 1600, 1200, 800],
    );
    // Faster than predicted: costs shrink, to the floors at most (10 ns per op, 5 per delivery).
    scaleToStream(p, 1e12, 1e6);
    assert.deepEqual([p.ops.send.cpu.ns, p.ops.receivePerMessage.ns], [10, 5]);
    // Everything else is left alone.
    assert.equal(p.wake.latency.ns, 1500);
    assert.equal(p.ops.control.cpu.ns, loadProfile('af_unix').ops.control.cpu.ns);
  });

  it('moves the wake-up latency (sleeping) by half the round-trip gap, or scales call and reply (spinning) by the gap', () => {
    const sleeping = handProfile();
    assert.equal(moveToRoundTrip(sleeping, 20_000, 12_000), 1500 + 4000);
    assert.equal(sleeping.wake.latency.ns, 5500);
    assert.equal(moveToRoundTrip(sleeping, 1000, 20_000), 200, 'floored at 200 ns');
    const spinning = structuredClone(loadProfile('tessera_shm'));
    spinning.ops.call.cpu.ns = 300;
    spinning.ops.reply.cpu.ns = 200;
    // Round trip 1000 ns short: call + reply (500) grow by 1000, factor 3: 900 and 600.
    assert.equal(moveToRoundTrip(spinning, 2000, 1000), 900);
    assert.equal(spinning.ops.reply.cpu.ns, 600);
    // At most a factor 4 (or 1/4) per round.
    assert.equal(moveToRoundTrip(spinning, 100_000, 1000), 3600);
    assert.equal(
      spinning.wake.spinObserve.ns,
      loadProfile('tessera_shm').wake.spinObserve.ns,
      'the observe delay is kept',
    );
    assert.equal(
      spinning.wake.latency.ns,
      loadProfile('tessera_shm').wake.latency.ns,
      'a spinning transport keeps its wake latency',
    );
  });

  it("spreads half the round trip's CPU gap over the wake-up path's costs, in proportion to them", () => {
    const p = handProfile();
    p.scheduler.contextSwitch.ns = 600;
    p.wake.waker.ns = 400;
    p.wake.sleep.ns = 200;
    // Gap 6000 ns per round trip: 3000 per side, over 600:400:200 -> +1500, +1000, +500.
    assert.equal(matchRoundTripCpu(p, 16_000, 10_000), 2100);
    assert.deepEqual([p.scheduler.contextSwitch.ns, p.wake.waker.ns, p.wake.sleep.ns], [2100, 1400, 700]);
    // Too much CPU already: they shrink, to 50 ns at least.
    matchRoundTripCpu(p, 0, 100_000);
    assert.deepEqual([p.scheduler.contextSwitch.ns, p.wake.waker.ns, p.wake.sleep.ns], [50, 50, 50]);
    assert.equal(p.wake.latency.ns, 1500, 'the off-CPU wait is left alone');
  });

  it('one round of the fit on the stand-in lands on the hand-computed profile; more rounds converge on both targets', () => {
    const base = handProfile();
    // Stand-in before: stream 1e9/2000 = 500k/s; target 500k / 2^1.25 makes the factor 2 (costs double).
    // Then rtt = 2400 + 1600 + 2*1200 + 2*1500 = 9400; target 15400: latency += 3000 -> 4500.
    const m: Measurement = {
      transport: 'af_unix',
      rttNs: 15_400,
      oneWayMsgsPerSec: 5e5 / 2 ** 1.25,
      rpcPoolCallsPerSec: 200_000,
      sources: ['hand'],
    };
    const one = fitProfile(base, m, 'test', 1, (p) => standIn(p));
    assert.deepEqual(
      [
        one.profile.ops.send.cpu.ns,
        one.profile.ops.call.cpu.ns,
        one.profile.ops.receive.cpu.ns,
        one.profile.wake.latency.ns,
      ],
      [2000, 2400, 1200, 4500],
    );
    assert.equal(one.prediction.rttNs, 15_400);
    assert.equal(one.prediction.rpcPoolCallsPerSec, 1e9 / (1600 + 1200 + 800));
    // With the CPU of a round trip measured too: stream first (costs double), then the CPU step:
    // stand-in CPU = 2400 + 1600 + 2400 + 2 x (600 + 400 + 300) = 9000; measured 12000 -> +1500
    // per side over 600:400:300 -> 1292, 862, 646 (rounded); then the round trip moves the latency.
    const withCpu = fitProfile(base, { ...m, cpuNsPerRoundTrip: 12_000 }, 'test', 1, (p) => standIn(p));
    assert.deepEqual(
      [withCpu.profile.scheduler.contextSwitch.ns, withCpu.profile.wake.waker.ns, withCpu.profile.wake.sleep.ns],
      [1292, 862, 646],
    );
    assert.equal(withCpu.prediction.cpuNsPerRoundTrip, 6400 + 2 * (1292 + 862 + 646));
    assert.equal(withCpu.profile.wake.latency.ns, 4500, 'the stand-in round trip has no switch in it');
    assert.match(one.profile.wake.latency.source, /calibrated \(test\): fitted to hand; set so the round trip matches/);
    // A target the first round cannot hit at once: the damped rounds close in on it.
    const m2: Measurement = { ...m, oneWayMsgsPerSec: 150_000, rttNs: 30_000 };
    const errors = [1, 3, 8].map((rounds) => {
      const pred = fitProfile(base, m2, 'test', rounds, (p) => standIn(p)).prediction;
      return Math.abs(pred.oneWayMsgsPerSec / 150_000 - 1);
    });
    assert.ok(errors[0] > errors[1] && errors[1] > errors[2] && errors[2] < 0.01, `stream errors ${errors}`);
    // Deterministic: the same inputs give the same profile.
    assert.deepEqual(
      numbers(fitProfile(base, m2, 'a', 3, (p) => standIn(p)).profile),
      numbers(fitProfile(base, m2, 'b', 3, (p) => standIn(p)).profile),
    );
  });

  it('fits the af_unix profile with the simulator itself to within 5% of the round trip and the stream it is given', function () {
    this.timeout(30_000);
    const m: Measurement = {
      transport: 'af_unix',
      rttNs: 20_000,
      oneWayMsgsPerSec: 250_000,
      rpcPoolCallsPerSec: 60_000,
      rpcPool: DEFAULT_POOL,
      sources: ['injected'],
    };
    const { profile, prediction } = fitProfile(loadProfile('af_unix'), m, 'test');
    parseProfile(JSON.parse(JSON.stringify(profile)));
    const rows = checkPredictions(m, prediction);
    assert.ok(Math.abs(rows[0].error!) < 0.05, `rtt ${JSON.stringify(rows[0])}`);
    assert.ok(Math.abs(rows[1].error!) < 0.05, `stream ${JSON.stringify(rows[1])}`);
    assert.equal(rows[2].measured, 60_000);
    assert.equal(rows[2].predicted, prediction.rpcPoolCallsPerSec);
    assert.deepEqual(predict(profile, DEFAULT_POOL), prediction, "the prediction reported is the profile's");
  });
});

describe('calibration between processes: the fitting', () => {
  it('moves the wake-up latency by half the gap of the round trip without spinning, and the copy cost by the 64 KiB round trip or stream', () => {
    const p = structuredClone(loadProfile('tessera_shm_processes'));
    p.wake.latency.ns = 3000;
    assert.equal(moveSleepingToRoundTrip(p, 12_000, 8000), 5000);
    assert.equal(moveSleepingToRoundTrip(p, 100, 50_000), 200, 'floored at 200 ns');
    p.copyPerKiB.ns = 100;
    // 40k/s measured, 50k/s predicted: 5 us more per message, over 64 KiB: +78.125 ns per KiB.
    assert.equal(moveCopyToLargeStream(p, 40_000, 50_000), 178);
    // At most a factor 2 (or 1/2) per round, and 1 ns at least.
    assert.equal(moveCopyToLargeStream(p, 1000, 20_000), 356);
    p.copyPerKiB.ns = 1;
    assert.equal(moveCopyToLargeStream(p, 1e9, 1), 1, 'floored at 1 ns');
    // A 64 KiB round trip copies 128 KiB: 12.8 us short moves the copy cost by +100 ns per KiB.
    p.copyPerKiB.ns = 150;
    assert.equal(moveCopyToLargeRoundTrip(p, 40_000, 27_200), 250);
    assert.equal(moveCopyToLargeRoundTrip(p, 1000, 1_000_000), 125, 'at most halved in a round');
    const s = sleepingProfile(loadProfile('tessera_broker'));
    assert.deepEqual([s.spin.budget.ns, s.lock?.spin?.ns], [0, 0]);
    assert.equal(loadProfile('tessera_broker').spin.budget.ns, 50_000, 'the profile given is left alone');
  });

  /**
   * A starting profile of each transport that does not move when the bundled ones are calibrated
   * again: tessera_shm (hand-picked) with the futex costs between processes, or with the broker's
   * mechanisms (two copies, the broker thread as a queued lock, a few microseconds per operation).
   */
  function startingProfile(transport: 'tessera_shm_processes' | 'tessera_broker'): Profile {
    const p = structuredClone(loadProfile('tessera_shm'));
    p.name = transport;
    p.wake.waker.ns = 1000;
    p.wake.latency.ns = 2750;
    p.wake.sleep.ns = 800;
    if (transport === 'tessera_broker') {
      p.copies = 2;
      p.copyPerKiB.ns = 400;
      p.ops.send.cpu.ns = 4000;
      p.ops.call.cpu.ns = 4500;
      p.ops.reply.cpu.ns = 4000;
      p.ops.receive.cpu.ns = 3000;
      p.ops.receivePerMessage.ns = 800;
      p.wake.latency.ns = 1500;
      p.lock = { ...p.lock!, holdFraction: 0.7, handover: 'queued' };
    }
    return p;
  }

  // The truth: a starting profile with its costs moved; its own simulated figures are the
  // measurement. A fit from the starting profile must reproduce the fitted figures within 5% and
  // predict the figures it was not fitted to within the check's 25%.
  for (const transport of ['tessera_shm_processes', 'tessera_broker'] as const)
    it(`fits ${transport} to a profile's own figures: the round trips with and without spinning, the stream and a 64 KiB figure within 5%, the rest within 25%`, function () {
      this.timeout(120_000);
      const truth = startingProfile(transport);
      truth.wake.latency.ns *= 2;
      // Twice the copy cost: the broker's simulated 64 KiB stream changes regime near three times
      // (its sender's spins start losing), where no copy cost reproduces it closely.
      truth.copyPerKiB.ns *= 2;
      for (const o of [truth.ops.send, truth.ops.receive]) o.cpu.ns = Math.round(o.cpu.ns * 1.5);
      // Only the broker measures its lock hold (its thread's account).
      // As measured: the 64 KiB round trip between processes, the lock hold of the broker.
      const shape = {
        sleeping: true,
        large: true,
        largeRtt: transport === 'tessera_shm_processes',
        lockHold: transport === 'tessera_broker',
      };
      const window = transport === 'tessera_broker' ? 32 : undefined;
      const t = predict(truth, DEFAULT_POOL, false, {}, { ...shape, streamWindowMessages: window });
      const m: Measurement = {
        transport,
        rttNs: t.rttNs,
        sleepingRttNs: t.sleepingRttNs,
        oneWayMsgsPerSec: t.oneWayMsgsPerSec,
        largeOneWayMsgsPerSec: t.largeOneWayMsgsPerSec,
        largeRttNs: t.largeRttNs ?? null,
        lockHoldNsPerOp: t.lockHoldNsPerOp ?? null,
        rpcPoolCallsPerSec: t.rpcPoolCallsPerSec,
        ...(window ? { streamWindowMessages: window } : {}),
        sources: ['the simulator, on a profile with known costs'],
      };
      assert.deepEqual(shapeOf(m), { ...shape, ...(window ? { streamWindowMessages: window } : {}) });
      const { profile, prediction } = fitProfile(startingProfile(transport), m, 'test');
      parseProfile(JSON.parse(JSON.stringify(profile)));
      const rows = checkPredictions(m, prediction);
      // The copy cost is fitted to the 64 KiB round trip where it was measured, else to the stream.
      const large = shape.largeRtt ? '64 KiB call/reply round trip (ns)' : 'one-way 64 KiB msgs/s';
      const fitted = ['call/reply round trip (ns)', 'call/reply round trip, no spinning (ns)', 'one-way msgs/s', large];
      assert.deepEqual(
        rows.filter((r) => fitted.includes(r.metric)).map((r) => r.metric),
        [fitted[0], fitted[1], fitted[2], large],
      );
      for (const r of rows)
        assert.ok(
          Math.abs(r.error!) <= (fitted.includes(r.metric) ? 0.05 : 0.25),
          `${r.metric}: measured ${r.measured}, predicted ${r.predicted}`,
        );
      assert.match(profile.wake.latency.source, /set so the round trip without spinning \(futex only\) matches/);
      assert.match(
        profile.copyPerKiB.source,
        shape.largeRtt ? /closest to the 64 KiB call\/reply round trip/ : /closest to the 64 KiB one-way stream/,
      );
      // A second calibration of the calibrated profile keeps one note in its description.
      const again = fitProfile(profile, m, 'again', 1);
      assert.equal(again.profile.description.match(/\[calibrated/g)?.length, 1);
    });

  it('documents every transport calibrate measures, and the bundled profiles are the ones --install writes', () => {
    assert.deepEqual(
      CALIBRATION_METHODS.map((m) => m.transport),
      [...CALIBRATED_TRANSPORTS],
    );
    assert.deepEqual(INSTALLED_TRANSPORTS, ['tessera_shm_processes', 'tessera_broker']);
    assert.equal(
      BUNDLED_CALIBRATION_COMMAND,
      'npx tessera calibrate --only tessera_shm_processes,tessera_broker --install --out simulator/calibration-results/processes',
    );
    // Each bundled calibrated profile says it was calibrated, on what.
    for (const t of INSTALLED_TRANSPORTS) {
      const p = loadProfile(t);
      assert.match(p.description, /\[calibrated \(/, t);
      assert.match(p.wake.latency.source, /round trip without spinning/, t);
    }
  });

  it('says the native addon is missing, before anything is measured, for the transports between processes', () => {
    const missing = { available: false as const, error: new Error('no build/Release/tessera_native.node') };
    for (const t of ['tessera_shm_processes', 'tessera_broker'] as const)
      assert.throws(
        () => requireAddon(t, missing),
        (e: Error) =>
          e.name === 'InputError' &&
          e.message.includes(`${t}: the native addon is not built`) &&
          e.message.includes('no build/Release/tessera_native.node') &&
          e.message.includes('npm run build:native'),
      );
    for (const t of ['af_unix', 'tessera_shm'] as const) requireAddon(t, missing);
  });
});

describe('tessera calibrate (the command)', function () {
  this.timeout(60_000);
  const dir = tempDirs('calibrate');

  it('rejects bad arguments and bad measurement files with exit code 2', async () => {
    const d = dir();
    const badField = path.join(d, 'bad.json');
    fs.writeFileSync(badField, JSON.stringify([{ transport: 'af_unix', rttNs: -5, oneWayMsgsPerSec: 1, sources: [] }]));
    const unknown = path.join(d, 'unknown.json');
    fs.writeFileSync(
      unknown,
      JSON.stringify([{ transport: 'carrier_pigeon', rttNs: 5, oneWayMsgsPerSec: 1, sources: [] }]),
    );
    const badBg = path.join(d, 'badbg.json');
    fs.writeFileSync(
      badBg,
      JSON.stringify([
        { transport: 'af_unix', rttNs: 5, oneWayMsgsPerSec: 1, backgroundCpus: { pool: -1 }, sources: [] },
      ]),
    );
    const notJson = path.join(d, 'not.json');
    fs.writeFileSync(notJson, '{');
    const cases: [string[], RegExp][] = [
      [['calibrate', '--only', 'pipes'], /--only: no calibrated transport "pipes"/],
      [['calibrate', '--only', 'tessera_brokr'], /did you mean tessera_broker/],
      [['calibrate', '--rounds', '0'], /--rounds takes an integer 1\.\.50/],
      [['calibrate', 'extra'], /unexpected argument extra/],
      [['calibrate', '--measurements', badField, '--out', d], /invalid measurement at \/0\/rttNs/],
      [['calibrate', '--measurements', notJson, '--out', d], /cannot read measurements/],
      [['calibrate', '--measurements', badBg, '--out', d], /invalid measurement at \/0\/backgroundCpus\/pool/],
      [['calibrate', '--repeat', '0'], /--repeat takes an integer 1\.\.20/],
      [['calibrate', '--measurements', unknown, '--out', d], /no bundled transport profile "carrier_pigeon"/],
      [
        ['calibrate', '--shm-json', path.join(d, 'nope.json'), '--only', 'tessera_shm', '--out', d],
        /no such shm bench results file/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await tessera(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.out}\n${r.err}`);
      assert.match(r.err, message, argv.join(' '));
    }
  });

  it('with --measurements, fits deterministically and writes the measurements, the profiles and the check rows; sim --profile uses the profile', async () => {
    const d = dir();
    const measurements: Measurement[] = [
      {
        transport: 'af_unix',
        rttNs: 18_000,
        oneWayMsgsPerSec: 300_000,
        cpuNsPerRoundTrip: 16_000,
        rpcPoolCallsPerSec: 55_000,
        rpcPool: { clients: 4, serverThreads: 1 },
        sources: ['injected af_unix'],
      },
      {
        transport: 'tessera_shm',
        rttNs: 2_000,
        oneWayMsgsPerSec: 2_000_000,
        rpcPoolCallsPerSec: null,
        sources: ['injected shm'],
      },
    ];
    const file = path.join(d, 'in.json');
    fs.writeFileSync(file, JSON.stringify(measurements));
    const outs = [path.join(d, 'one'), path.join(d, 'two')];
    const runs = [];
    for (const out of outs)
      runs.push(await tessera('calibrate', '--measurements', file, '--out', out, '--rounds', '3'));
    const rows = JSON.parse(fs.readFileSync(path.join(outs[0], 'check.json'), 'utf8')) as CheckRow[];
    assert.equal(runs[0].code, rows.some((r) => r.ok === false) ? 1 : 0, runs[0].err);
    assert.deepEqual(fs.readdirSync(outs[0]).sort(), [
      'calibrated-af_unix.json',
      'calibrated-tessera_shm.json',
      'check.json',
      'measurements.json',
    ]);
    for (const t of ['af_unix', 'tessera_shm']) {
      const [a, b] = outs.map((o) =>
        parseProfile(JSON.parse(fs.readFileSync(path.join(o, `calibrated-${t}.json`), 'utf8'))),
      );
      assert.deepEqual(numbers(a), numbers(b), `${t}: two fits of the same measurements differ`);
      assert.notDeepEqual(numbers(a), numbers(loadProfile(t)), `${t}: nothing was fitted`);
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(outs[1], 'check.json'), 'utf8')), rows);
    // Fitted on round trip and stream: both within 5%; the pool is out of sample (measured for af_unix only).
    assert.deepEqual(
      rows.map((r) => [r.transport, r.metric.split(' ')[0]]),
      [
        ['af_unix', 'call/reply'],
        ['af_unix', 'CPU'],
        ['af_unix', 'one-way'],
        ['af_unix', 'RPC'],
        ['tessera_shm', 'call/reply'],
        ['tessera_shm', 'one-way'],
        ['tessera_shm', 'RPC'],
      ],
    );
    for (const r of rows.filter((x) => !x.metric.startsWith('RPC')))
      assert.ok(Math.abs(r.error!) < 0.05, JSON.stringify(r));
    assert.equal(rows[3].measured, 55_000);
    assert.equal(rows[6].measured, null);
    assert.equal(rows[6].ok, null);
    assert.match(runs[0].out, /RPC pool calls\/s \(4 clients, 1 server thread\)/);
    assert.match(runs[0].out, /not measured/);
    // The calibrated profile drives the simulator: its round trip is the one measured.
    const json = path.join(d, 'sim.json');
    const sim = await tessera(
      'sim',
      'pingpong',
      '--profile',
      path.join(outs[0], 'calibrated-af_unix.json'),
      '--json',
      json,
    );
    assert.equal(sim.code, 0, sim.err);
    const p50 = (JSON.parse(fs.readFileSync(json, 'utf8')) as { latency: { p50Ns: number } }).latency.p50Ns;
    assert.ok(Math.abs(p50 / 18_000 - 1) < 0.05, `p50 ${p50}`);
  });

  it('--quick measures the AF_UNIX round trip, stream and RPC pool on this machine and fits a profile (no figures checked)', async () => {
    const d = dir();
    const r = await tessera('calibrate', '--quick', '--only', 'af_unix', '--out', d, '--rounds', '2');
    assert.ok(r.code === 0 || r.code === 1, `${r.code}\n${r.err}`);
    const [m] = JSON.parse(fs.readFileSync(path.join(d, 'measurements.json'), 'utf8')) as Measurement[];
    assert.equal(m.transport, 'af_unix');
    for (const v of [m.rttNs, m.oneWayMsgsPerSec, m.cpuNsPerRoundTrip, m.rpcPoolCallsPerSec])
      assert.ok(typeof v === 'number' && v > 0, JSON.stringify(m));
    assert.deepEqual(m.rpcPool, { clients: 4, serverThreads: 1 });
    assert.equal(m.sources.length, 4);
    for (const k of ['rtt', 'stream', 'pool'] as const)
      assert.ok(
        typeof m.backgroundCpus?.[k] === 'number' && m.backgroundCpus[k]! >= 0,
        JSON.stringify(m.backgroundCpus),
      );
    assert.match(m.sources[2], /^(c|net)\.rpcpool \(64B call\/reply, 1 client, 1 server thread/);
    assert.match(m.sources[3], /^(c|net)\.rpcpool \(64B call\/reply, 4 clients, 1 server thread/);
    parseProfile(JSON.parse(fs.readFileSync(path.join(d, 'calibrated-af_unix.json'), 'utf8')));
    assert.match(r.out, /af_unix +RPC pool calls\/s/);
  });
});

describe('calibration inputs', () => {
  const rec = (name: string, variant: string, patch: Partial<BenchRecord>): BenchRecord => ({
    ...emptyRecord(name, variant),
    ...patch,
  });

  it('reads the shm bench: the adaptive-spin call round trip, the 64 B stream, and the pool with one server thread', () => {
    const records = [
      rec('shm.call', '64B call/reply, 1 client worker->worker server, spin 0 (Atomics.wait only)', {
        medianRttUs: 20,
      }),
      rec('shm.call', '64B call/reply, 1 client worker->worker server, spin <=50us adaptive', { medianRttUs: 3.5 }),
      rec('shm.stream', '64KiB one-way, sendBytesSync -> receiveBatchSync', { msgsPerSec: 9000 }),
      rec('shm.stream', '64B one-way, sendBytesSync -> receiveBatchSync', { msgsPerSec: 1_500_000 }),
      rec('shm.rpc', '64B call/reply, 4 clients worker->worker server, spin <=50us adaptive', {
        medianRttUs: 9,
        msgsPerSec: 400_000,
      }),
      rec('shm.send', 'skipped one', { skipped: 'no workers' }),
    ];
    const m = shmMeasurement(records, 'bench.json');
    assert.equal(m.rttNs, 3500);
    assert.equal(m.oneWayMsgsPerSec, 1_500_000);
    assert.equal(m.rpcPoolCallsPerSec, 400_000);
    assert.deepEqual(m.rpcPool, { clients: 4, serverThreads: 1, batch: 64 });
    assert.equal(m.sources.length, 3);
    assert.match(m.sources[0], /^bench\.json: shm\.call .*adaptive/);
    const none = shmMeasurement([], 'empty.json');
    assert.deepEqual([none.rttNs, none.oneWayMsgsPerSec, none.rpcPoolCallsPerSec], [null, null, null]);
  });

  it("counts the RPC pool's calls only in the window where every client was measuring", () => {
    const r = poolWindowRate([
      { rtt: [1, 1, 1, 1], doneAt: [100, 200, 300, 400], startNs: 50, endNs: 400, cpuUs: 1 },
      { rtt: [1, 1, 1], doneAt: [150, 250, 350], startNs: 120, endNs: 350, cpuUs: 1 },
    ]);
    // Window (120, 350]: 200, 300 from the first client and 150, 250, 350 from the second.
    assert.equal(r.windowNs, 230);
    assert.equal(r.callsPerSec, (5 * 1e9) / 230);
    assert.throws(() => poolWindowRate([{ rtt: [], doneAt: [], startNs: 10, endNs: 5, cpuUs: 0 }]), /do not overlap/);
  });
});
