// `tessera calibrate --quick` between processes on this machine: Tessera's shm bus across
// processes and the broker measured and both profiles fitted, each fitted figure checked
// against its measurement (structure only: benchmarks are never timed pass/fail tests).
// It runs in npm test's uninstrumented pass (package.json config.uninstrumented): its
// measuring processes, instrumented, took seven times as long.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parseProfile } from '../../simulator/load';
import { checkPredictions, predict, shapeOf, type CheckRow, type Measurement } from '../../simulator/calibration';
import { nativeAvailability } from '../../native';
import { tessera } from './support';
import { tempDirs } from '../helpers';

describe('tessera calibrate between processes (the command, on this machine)', function () {
  this.timeout(600_000);
  const dir = tempDirs('calibrate-processes');

  it('--quick measures Tessera and the broker between processes and fits both profiles, each fitted figure checked against its measurement', async function () {
    const a = nativeAvailability();
    if (!a.available) {
      console.log(`      skipped: the native addon is not built (${a.error.message})`);
      this.skip();
    }
    const d = dir();
    const r = await tessera(
      'calibrate',
      '--quick',
      '--only',
      'tessera_shm_processes,tessera_broker',
      '--out',
      d,
      '--rounds',
      '2',
    );
    assert.ok(r.code === 0 || r.code === 1, `${r.code}\n${r.err}`);
    const ms = JSON.parse(fs.readFileSync(path.join(d, 'measurements.json'), 'utf8')) as Measurement[];
    assert.deepEqual(
      ms.map((m) => m.transport),
      ['tessera_shm_processes', 'tessera_broker'],
    );
    for (const m of ms) {
      for (const v of [m.rttNs, m.sleepingRttNs, m.oneWayMsgsPerSec, m.largeOneWayMsgsPerSec])
        assert.ok(typeof v === 'number' && v > 0, JSON.stringify(m));
      assert.match(m.sources[0], /^xproc\.(tessera|broker)\.call \(64B .*; spinning\)/);
      assert.match(m.sources[1], /^xproc\.(tessera|broker)\.call \(64B .*; sleeping\)/);
      for (const k of ['rtt', 'stream'] as const)
        assert.ok(typeof m.backgroundCpus?.[k] === 'number', JSON.stringify(m.backgroundCpus));
    }
    assert.ok(ms[0].largeRttNs! > 0);
    assert.ok(ms[1].lockHoldNsPerOp! > 0, "the broker's account of its request path");
    assert.equal(ms[1].streamWindowMessages, 32);
    // The check rows are the fitted profiles' simulated figures against these measurements.
    const rows = JSON.parse(fs.readFileSync(path.join(d, 'check.json'), 'utf8')) as CheckRow[];
    for (const m of ms) {
      const profile = parseProfile(JSON.parse(fs.readFileSync(path.join(d, `calibrated-${m.transport}.json`), 'utf8')));
      const again = checkPredictions(m, predict(profile, m.rpcPool, false, m.backgroundCpus, shapeOf(m)));
      assert.deepEqual(
        again,
        rows.filter((x) => x.transport === m.transport),
      );
      assert.ok(again.length >= 6, JSON.stringify(again));
    }
    assert.match(r.out, /tessera_broker +bus lock held per operation/);
  });
});
