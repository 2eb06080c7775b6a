// Sweeps as a designer uses them: any numeric field (the platform's CPUs, a workload's size,
// a script step, a profile's cost) against the transports, several seeds a point drawn as a
// median with a band, two axes as one line per (transport, value), and every mistake in a
// sweep file (a field or metric that does not exist) an exit 2 that names what there is.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { tessera } from './support';
import { tempDirs } from '../helpers';
import { createAjv } from '../../spec/validate';
import { loadProfile } from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import { numericFields, resolveField, withField } from '../../simulator/fields';
import { metric } from '../../simulator/metrics';
import { spread } from '../../simulator/svg';
import type { Scenario, SweepResults } from '../../simulator/types';
import SweepResultsSchema = require('../../simulator/schema/SweepResults.json');

function pairs(n: number, rounds: number): Scenario {
  return {
    name: 'tiny-pairs',
    description: 'independent call/reply pairs',
    cpus: 2,
    workload: { kind: 'pairs', pairs: n, rounds, payloadBytes: 64, serviceNs: 500 },
  };
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

describe('sweeps over any field, with seeds', function () {
  this.timeout(120_000);
  const dir = tempDirs('sweep');

  it('names any numeric field of a scenario or profile by path: the platform, a workload field, a script step, a profile cost', () => {
    const scenario = pairs(2, 5);
    const profile = loadProfile('af_unix');
    assert.deepEqual(resolveField('cpus', scenario, profile)?.path, ['cpus']);
    assert.deepEqual(resolveField('pairs', scenario, profile)?.path, ['workload', 'pairs']);
    assert.deepEqual(resolveField('workload.thinkNs', scenario, profile)?.path, ['workload', 'thinkNs']);
    assert.deepEqual(resolveField('profile.wake.latency', scenario, profile)?.path, ['wake', 'latency', 'ns']);
    assert.deepEqual(resolveField('profile.lock.holdFraction', scenario, profile)?.target, 'profile');
    assert.equal(resolveField('cpu', scenario, profile), null);
    assert.equal(resolveField('name', scenario, profile), null, 'a string is not sweepable');
    assert.equal(resolveField('workload.clients', scenario, profile), null, 'pairs has no clients');
    const script: Scenario = {
      name: 's',
      description: 's',
      workload: {
        kind: 'script',
        peers: [
          {
            name: 'a',
            nodes: [{ name: 'n' }],
            program: [{ do: 'repeat', times: 3, body: [{ do: 'compute', ns: 5 }] }],
          },
        ],
      },
    };
    const step = resolveField('workload.peers.0.program.0.body.0.ns', script, profile)!;
    assert.deepEqual(step.path, ['workload', 'peers', 0, 'program', 0, 'body', 0, 'ns']);
    assert.equal(resolveField('workload.peers.1.threads', script, profile), null, 'no second peer');
    const changed = withField(step, 77, script, profile);
    assert.equal(JSON.stringify(changed.scenario).includes('"ns":77'), true);
    assert.equal(JSON.stringify(script).includes('"ns":77'), false, 'the input is left as it was');
    const fields = numericFields(pairs(1, 1), profile);
    for (const f of [
      'cpus',
      'jitter',
      'workload.pairs',
      'workload.rounds',
      'limits.maxPeers',
      'profile.wake.latency.ns',
    ])
      assert.ok(fields.includes(f), f);
  });

  it('runs cpus x transports with 5 seeds a point and draws the median with a band from lowest to highest [TIME-2]', async () => {
    const d = dir();
    writeJson(d, 'pairs.json', pairs(4, 8));
    const sweep = writeJson(d, 'cpus.json', {
      name: 'cpus',
      scenario: 'pairs.json',
      transports: ['af_unix', 'tessera_shm'],
      axes: [{ field: 'cpus', values: [1, 2, 4] }],
      metrics: ['callsPerSec', 'latencyP99Ns'],
    });
    const json = path.join(d, 'out.json');
    const charts = path.join(d, 'charts');
    const r = await tessera('sim', '--sweep', sweep, '--seeds', '5', '--workers', '2', '--json', json, '--svg', charts);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as SweepResults;
    const validate = createAjv().compile(SweepResultsSchema);
    assert.ok(validate(result), JSON.stringify(validate.errors));
    assert.equal(result.seeds, 5);
    assert.equal(result.points.length, 2 * 3 * 5);
    const at = result.points.filter((p) => p.transport === 'tessera_shm' && p.params.cpus === 4);
    assert.deepEqual(
      at.map((p) => p.seed),
      ['0x5eed', '0x5eee', '0x5eef', '0x5ef0', '0x5ef1'],
    );
    for (const p of result.points) assert.equal(p.results.cpus, p.params.cpus, 'the axis set the simulated CPUs');
    // Each run replays on its own: the fourth seed's run, here.
    const here = runScenario({
      scenario: { ...pairs(4, 8), cpus: 4 },
      profile: loadProfile('tessera_shm'),
      seed: '0x5ef0',
    });
    assert.equal(at[3].results.hash, here.results.hash);
    const calls = spread(at.map((p) => metric('callsPerSec').value(p.results)));
    assert.ok(calls.min < calls.max, 'seeds differ (jitter), so the band has a width');
    assert.deepEqual(fs.readdirSync(charts).sort(), ['cpus-callsPerSec.svg', 'cpus-latencyP99Ns.svg']);
    const chart = fs.readFileSync(path.join(charts, 'cpus-callsPerSec.svg'), 'utf8');
    assert.equal((chart.match(/<polygon class="band"/g) ?? []).length, 2, 'one band per transport');
    assert.equal((chart.match(/<polyline /g) ?? []).length, 2, 'one median line per transport');
    assert.match(chart, /median of 5 seeds from 0x5eed, band: lowest to highest/);
    assert.match(chart, />simulated CPUs<\/text>/);
    assert.match(chart, />Calls completed \(calls\/s\)<\/text>/);
    assert.match(chart, new RegExp(`tessera_shm, cpus = 4: [^<]*\\(median of 5; `));
  });

  it('draws one line per (transport, second-axis value) with a legend, and sweeps a profile cost', async () => {
    const d = dir();
    writeJson(d, 'pairs.json', pairs(2, 6));
    const sweep = writeJson(d, 'two.json', {
      name: 'two',
      scenario: 'pairs.json',
      seed: '7',
      transports: ['af_unix', 'binder_like'],
      axes: [
        { field: 'profile.wake.latency', values: [500, 8000] },
        { field: 'pairs', values: [1, 2] },
      ],
      metrics: ['latencyP50Ns'],
    });
    const json = path.join(d, 'out.json');
    const charts = path.join(d, 'charts');
    const r = await tessera('sim', '--sweep', sweep, '--workers', '2', '--json', json, '--svg', charts);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as SweepResults;
    const p50 = (t: string, wake: number) =>
      result.points.find((p) => p.transport === t && p.params['profile.wake.latency'] === wake && p.params.pairs === 1)!
        .results.latency.p50Ns;
    assert.ok(
      p50('af_unix', 8000) > p50('af_unix', 500) + 10_000,
      'af_unix sleeps on every round trip: two wakes each',
    );
    const chart = fs.readFileSync(path.join(charts, 'two-latencyP50Ns.svg'), 'utf8');
    assert.equal((chart.match(/<polyline /g) ?? []).length, 4);
    for (const label of [
      'af_unix, pairs = 1',
      'af_unix, pairs = 2',
      'binder_like, pairs = 1',
      'binder_like, pairs = 2',
    ])
      assert.ok(chart.includes(`>${label}</text>`), label);
    assert.match(chart, />wake latency \(ns, log scale\)<\/text>/);
  });

  it('a field or metric that does not exist exits 2 naming the ones there are, before anything runs', async () => {
    const d = dir();
    writeJson(d, 'pairs.json', pairs(1, 1));
    const base = { name: 'bad', scenario: 'pairs.json', transports: ['af_unix'] };
    const badMetric = writeJson(d, 'metric.json', {
      ...base,
      axes: [{ field: 'cpus', values: [1] }],
      metrics: ['p99'],
    });
    const m = await tessera('sim', '--sweep', badMetric);
    assert.equal(m.code, 2, m.err);
    assert.match(m.err, /invalid sweep at \/metrics\/0: no metric "p99"; the metrics: messagesPerSec, .*latencyP99Ns/);
    const badField = writeJson(d, 'field.json', { ...base, axes: [{ field: 'cpu', values: [1] }] });
    const f = await tessera('sim', '--sweep', badField);
    assert.equal(f.code, 2, f.err);
    assert.match(
      f.err,
      /invalid sweep at \/axes\/0\/field: no numeric field "cpu" in scenario tiny-pairs or profile af_unix/,
    );
    assert.match(f.err, /the numeric fields: cpus, .*workload\.pairs.*profile\.wake\.latency\.ns/);
    const badValue = writeJson(d, 'value.json', { ...base, axes: [{ field: 'cpus', values: [0] }] });
    const v = await tessera('sim', '--sweep', badValue);
    assert.equal(v.code, 2, v.err);
    assert.match(v.err, /invalid scenario at \/cpus: must be >= 1/);
  });
});
