// The committed scale study (simulator/studies/scale-results.json) is what the code computes
// from the committed inputs: the digest of the study file, its scenarios and the profiles
// matches, and its 2- and 8-core runs re-run here byte for byte (the whole study, through the
// command, with TESSERA_LONG=1). Where a design stops scaling is read off the numbers by one
// rule, tested on made-up numbers.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { tessera } from './support';
import { tempDirs } from '../helpers';
import { createAjv } from '../../spec/validate';
import { STUDY_RESULTS_FILE, planStudy, runStudy, scalingVerdicts } from '../../simulator/scale-study';
import { studyCharts } from '../../simulator/scale-report';
import type { ScaleRun, ScaleStudy, ScaleStudyResults } from '../../simulator/types';
import ScaleStudyResultsSchema = require('../../simulator/schema/ScaleStudyResults.json');

const STALE = 'the committed scale study is stale: run `npx tessera sim --scale-study` and `npm run docs`';

function committed(): ScaleStudyResults {
  return JSON.parse(fs.readFileSync(STUDY_RESULTS_FILE(), 'utf8')) as ScaleStudyResults;
}

describe('the scale study', function () {
  this.timeout(600_000);
  const dir = tempDirs('scale');

  it('the committed results validate and were computed from the committed study, scenarios and profiles', () => {
    const results = committed();
    const validate = createAjv().compile(ScaleStudyResultsSchema);
    assert.ok(validate(results), JSON.stringify(validate.errors));
    const plan = planStudy();
    assert.equal(results.inputsDigest, plan.inputsDigest, STALE);
    assert.deepEqual(results.transports, plan.transports, STALE);
    assert.equal(results.runs.length, plan.tasks.length, STALE);
    assert.ok(
      results.runs.every((r) => r.ok),
      'every run kept its invariants and liveness',
    );
    assert.deepEqual(plan.study.cores, [2, 8, 64, 256]);
    for (const t of ['af_unix', 'binder_like', 'tessera_kernel', 'tessera_shm'])
      assert.ok(plan.transports.includes(t), t);
  });

  it('its 2- and 8-core runs re-run here give the committed metrics and hashes [TIME-2]', async () => {
    const plan = planStudy(undefined, { cores: [2, 8] });
    const fresh = await runStudy(plan, { workers: 0 });
    const key = (r: ScaleRun) => `${r.workload} ${r.transport} ${r.cores} ${r.seed}`;
    const old = new Map(committed().runs.map((r) => [key(r), r]));
    assert.ok(fresh.runs.length >= 48, `${fresh.runs.length} runs`);
    for (const r of fresh.runs) assert.deepEqual(r, old.get(key(r)), `${key(r)}: ${STALE}`);
  });

  it('the whole study, run by `tessera sim --scale-study`, writes the committed file byte for byte (TESSERA_LONG=1)', async function () {
    if (process.env.TESSERA_LONG !== '1') this.skip();
    const out = path.join(dir(), 'scale-results.json');
    const r = await tessera('sim', '--scale-study', '--workers', '2', '--json', out);
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readFileSync(out, 'utf8'), fs.readFileSync(STUDY_RESULTS_FILE(), 'utf8'), STALE);
    assert.match(r.out, /stops/);
  });

  it('a design stops scaling at the first step that gains less than the square root of the ratio of cores, and the metrics say why', () => {
    const study: ScaleStudy = {
      name: 'made-up',
      description: 'made-up numbers',
      cores: [2, 8, 64],
      workloads: [{ id: 'w', title: 'W', question: 'q', scenario: 'x.json', perCore: [], throughput: 'callsPerSec' }],
    };
    const run = (transport: string, cores: number, metrics: Record<string, number>): ScaleRun => ({
      workload: 'w',
      transport,
      cores,
      seed: '0x1',
      params: {},
      metrics: {
        lockUtilization: 0,
        cpuUtilization: 0.5,
        lockWaitNsPerOp: 0,
        lockHandoverShare: 0,
        cpuNsPerMessage: 1000,
        wakesPerMessage: 1,
        syscallsPerMessage: 2,
        ...metrics,
      },
      ok: true,
      hash: '',
    });
    const results: ScaleStudyResults = {
      study: 'made-up',
      inputsDigest: '',
      cores: [2, 8, 64],
      transports: ['linear', 'locked', 'busy'],
      seeds: ['0x1'],
      runs: [
        run('linear', 2, { callsPerSec: 100 }),
        run('linear', 8, { callsPerSec: 400 }),
        run('linear', 64, { callsPerSec: 3200 }),
        run('locked', 2, { callsPerSec: 100 }),
        run('locked', 8, { callsPerSec: 300 }),
        run('locked', 64, { callsPerSec: 200, lockUtilization: 0.97, lockHandoverShare: 0.7, lockWaitNsPerOp: 20_000 }),
        run('busy', 2, { callsPerSec: 100 }),
        run('busy', 8, { callsPerSec: 190 }),
        run('busy', 64, { callsPerSec: 300, cpuUtilization: 0.95 }),
      ],
    };
    const [linear, locked, busy] = scalingVerdicts(study, results);
    assert.equal(linear.stopsBetween, null);
    assert.equal(linear.speedup, 32);
    assert.deepEqual(locked.stopsBetween, [8, 64]);
    assert.match(
      locked.reason,
      /^the bus lock: busy 97% of the time at 64 cores; handovers between spinning waiters \(cache-line transfers\) are 70% of that/,
    );
    assert.deepEqual(busy.stopsBetween, [2, 8], '1.9x for 4x the cores is less than 2x');
    assert.match(busy.reason, /a thread every message goes through/);
    const charts = studyCharts(study, results);
    assert.deepEqual(
      charts.map((c) => c.file),
      [
        'made-up-w-callsPerSec.svg',
        'made-up-w-latencyP99Ns.svg',
        'made-up-w-lockUtilization.svg',
        'made-up-w-cpuUtilization.svg',
      ],
    );
  });
});
