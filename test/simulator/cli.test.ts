// The `tessera sim` command end to end: argument errors, --json results that
// validate against their schema, --svg charts, --trace JSON lines, the replay
// command of a failing run, a 2x2 sweep through worker threads, and results that
// are byte-identical per seed across two separate processes.
import { strict as assert } from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tessera } from './support';
import { tempDirs } from '../helpers';
import { createAjv } from '../../spec/validate';
import { loadProfile, simValidators } from '../../simulator/load';
import { hashResults, runScenario } from '../../simulator/run';
import { latencyComparison } from '../../simulator/compare';
import { DOCS_COMPARISON } from '../../cli/docs/pages/simulator';
import type { CompareResults, Scenario, SimResults, SweepResults } from '../../simulator/types';
import SweepResultsSchema = require('../../simulator/schema/SweepResults.json');
import CompareResultsSchema = require('../../simulator/schema/CompareResults.json');

const ROOT = path.join(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'tessera.js');

/** The tessera command in its own process (node bin/tessera.js). */
function tesseraProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...argv], { cwd: ROOT, maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: stdout, err: stderr });
    });
  });
}

function tiny(rounds: number, extra: Partial<Scenario> = {}): Scenario {
  return {
    name: 'tiny-pingpong',
    description: 'a short call/reply ping-pong',
    cpus: 2,
    workload: { kind: 'pingpong', mode: 'call', rounds, payloadBytes: 64 },
    ...extra,
  };
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

function assertValidResults(value: unknown, what: string): SimResults {
  const checked = simValidators.results.check(value);
  assert.ok(checked.ok, `${what}: ${JSON.stringify(checked)}`);
  return value as SimResults;
}

/** Results without the wall-clock figures: what must be identical per seed. */
function deterministicPart(r: SimResults): Omit<SimResults, 'performance'> {
  const { performance: _p, ...rest } = r;
  return rest;
}

describe('tessera sim (the command)', function () {
  this.timeout(60_000);
  const dir = tempDirs('sim');

  it('rejects bad arguments with exit code 2 and a message naming the problem', async () => {
    const d = dir();
    const badScenario = writeJson(d, 'bad.json', {
      ...tiny(5),
      workload: { kind: 'rpc-pool', clients: -3, serverThreads: 1, callsPerClient: 1, payloadBytes: 0 },
    });
    const sweepFile = writeJson(d, 'sweep.json', {
      name: 'x',
      scenario: 'pingpong',
      transports: ['af_unix'],
      axes: [{ field: 'rounds', values: [1] }],
    });
    const cases: [string[], RegExp][] = [
      [['sim'], /give one scenario/],
      [['sim', 'pingpong', 'rpc-pool'], /give one scenario/],
      [['sim', 'no-such-scenario'], /no bundled scenario "no-such-scenario" \(bundled: .*pingpong/],
      [['sim', 'pingpong', '--seed', 'zz'], /seed must be decimal or 0x-hex/],
      [['sim', 'pingpong', '--transport', 'carrier_pigeon'], /no bundled transport profile "carrier_pigeon"/],
      [
        ['sim', 'pingpong', '--profile', 'p.json', '--compare', 'af_unix,tessera_shm'],
        /--profile and --compare do not combine/,
      ],
      [
        ['sim', 'pingpong', '--transport', 'af_unix', '--compare', 'af_unix,tessera_shm'],
        /--transport and --compare do not combine/,
      ],
      [['sim', 'pingpong', '--bogus'], /unknown option --bogus/],
      [['sim', 'pingpong', '--seed'], /--seed needs a value/],
      [['sim', 'pingpong', '--workers', '2'], /--workers applies to --sweep only/],
      [['sim', badScenario], /invalid scenario at \/workload\/clients/],
      [['sim', path.join(d, 'missing.json')], /cannot read/],
      [['sim', '--sweep', sweepFile, 'pingpong'], /--sweep takes no scenario argument/],
      [['sim', '--sweep', sweepFile, '--seed', '1'], /--seed does not apply to --sweep/],
      [['sim', '--sweep', sweepFile, '--workers', '0'], /--workers takes an integer 1\.\.64/],
      [['sim', 'pingpong', '--seeds', '3'], /--seeds applies to --sweep only/],
      [['sim', '--sweep', sweepFile, '--seeds', '101'], /--seeds takes an integer 1\.\.100/],
      [['sim', '--scale-study', 'pingpong'], /--scale-study takes no scenario argument/],
      [['sim', '--scale-study', '--sweep', sweepFile], /--sweep does not apply to --scale-study/],
    ];
    for (const [argv, message] of cases) {
      const r = await tessera(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.out}\n${r.err}`);
      assert.match(r.err, message, argv.join(' '));
    }
  });

  it('--json writes results that validate against the SimResults schema; with --compare, CompareResults with one run per transport, checked by its own schema', async () => {
    const d = dir();
    const scenario = writeJson(d, 'tiny.json', tiny(100));
    const one = path.join(d, 'one.json');
    const r = await tessera('sim', scenario, '--transport', 'binder_like', '--seed', '0x2a', '--json', one);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /scenario tiny-pingpong on binder_like, 2 CPUs, seed 0x2a/);
    const results = assertValidResults(JSON.parse(fs.readFileSync(one, 'utf8')), one);
    assert.equal(results.transport, 'binder_like');
    assert.equal(results.totals.calls, 100);
    assert.equal(results.latency.count, 100);
    // The same run in this process gives the same results (the CLI adds nothing of its own).
    const direct = runScenario({ scenario: tiny(100), profile: loadProfile('binder_like'), seed: '0x2a' }).results;
    assert.equal(results.hash, direct.hash);

    const both = path.join(d, 'both.json');
    const c = await tessera('sim', scenario, '--compare', 'af_unix,tessera_shm', '--json', both);
    assert.equal(c.code, 0, c.err);
    const compared = JSON.parse(fs.readFileSync(both, 'utf8')) as CompareResults;
    const validate = createAjv().compile(CompareResultsSchema);
    assert.ok(validate(compared), JSON.stringify(validate.errors));
    assert.equal(compared.scenario, 'tiny-pingpong');
    assert.equal(compared.seed, '0x5eed');
    assert.deepEqual(
      compared.runs.map((x, i) => assertValidResults(x, `${both} run ${i}`).transport),
      ['af_unix', 'tessera_shm'],
    );
    // The schema is the comparison's own: a bare list of results, or one run, does not pass it.
    assert.ok(!validate(compared.runs));
    assert.ok(!validate(compared.runs[0]));
    assert.match(c.out, /af_unix .*\n.*tessera_shm/);
  });

  it('--svg writes a latency CDF per run set and a per-thread timeline per transport over one shared window, as standalone SVG', async () => {
    const d = dir();
    const scenario = writeJson(d, 'tiny.json', tiny(200));
    const charts = path.join(d, 'charts');
    const r = await tessera('sim', scenario, '--compare', 'af_unix,tessera_kernel', '--svg', charts);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fs.readdirSync(charts).sort(), [
      'tiny-pingpong-latency-cdf.svg',
      'tiny-pingpong-timeline-af_unix.svg',
      'tiny-pingpong-timeline-tessera_kernel.svg',
    ]);
    for (const f of fs.readdirSync(charts)) {
      const svg = fs.readFileSync(path.join(charts, f), 'utf8');
      assert.match(
        svg,
        /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/,
        f,
      );
      assert.match(svg, /<\/svg>\n$/, f);
      assert.doesNotMatch(svg, /NaN|undefined|Infinity/, f);
    }
    const cdf = fs.readFileSync(path.join(charts, 'tiny-pingpong-latency-cdf.svg'), 'utf8');
    assert.match(cdf, />af_unix<\/text>/);
    assert.match(cdf, /p50 [\d.]+ us, p99 [\d.]+ us, p99\.9 [\d.]+ us/);
    assert.equal((cdf.match(/<polyline /g) ?? []).length, 2);
    const timelines = ['af_unix', 'tessera_kernel'].map((t) =>
      fs.readFileSync(path.join(charts, `tiny-pingpong-timeline-${t}.svg`), 'utf8'),
    );
    for (const timeline of timelines) {
      assert.match(timeline, /server#0/);
      assert.match(timeline, /client#0/);
    }
    // One shared window: both say the same "first ..." time.
    const windows = timelines.map((t) => /the first ([\d.]+ [a-z]+) of/.exec(t)?.[1]);
    assert.ok(windows[0] !== undefined && windows[0] === windows[1], `${windows.join(' vs ')}`);
  });

  it('the docs chart is byte for byte what `tessera sim --compare --svg` writes for the same scenario and seed', async () => {
    const d = dir();
    const { scenario, transports, seed } = DOCS_COMPARISON;
    const r = await tessera('sim', scenario, '--compare', transports.join(','), '--seed', seed, '--svg', d);
    assert.equal(r.code, 0, r.err);
    const written = fs.readFileSync(path.join(d, `${scenario}-latency-cdf.svg`), 'utf8');
    const a = latencyComparison(scenario, transports, seed).svg;
    const b = latencyComparison(scenario, transports, seed).svg;
    assert.equal(a, b, 'the chart must not change between two generations');
    assert.equal(a, written);
  });

  it('--trace writes one JSON line per operation and bus event, and the results hash covers the trace [TIME-1, ORDER-1]', async () => {
    const d = dir();
    const scenario = writeJson(d, 'tiny.json', tiny(20));
    const trace = path.join(d, 'trace.jsonl');
    const json = path.join(d, 'results.json');
    const r = await tessera('sim', scenario, '--transport', 'af_unix', '--trace', trace, '--json', json);
    assert.equal(r.code, 0, r.err);
    const text = fs.readFileSync(trace, 'utf8');
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { tNs: number; op?: string; event?: string; seq?: number });
    assert.match(r.out, new RegExp(`trace: .*trace\\.jsonl \\(${lines.length} lines\\)`));
    assert.ok(
      parsed.every((e) => typeof e.tNs === 'number' && (typeof e.op === 'string' || typeof e.event === 'string')),
    );
    assert.equal(parsed.filter((e) => e.op === 'call').length, 20);
    assert.equal(parsed.filter((e) => e.op === 'reply').length, 20);
    // Simulated time never goes back, and the bus numbers enqueues in order (ORDER-1).
    for (let i = 1; i < parsed.length; i++)
      assert.ok(parsed[i].tNs >= parsed[i - 1].tNs, `line ${i + 1} goes back in time`);
    const seqs = parsed.filter((e) => e.event === 'enqueue').map((e) => e.seq!);
    assert.deepEqual(
      seqs,
      seqs.slice().sort((x, y) => x - y),
    );
    const results = JSON.parse(fs.readFileSync(json, 'utf8')) as SimResults;
    assert.equal(hashResults(results, lines), results.hash);
    assert.notEqual(hashResults(results, lines.slice(1)), results.hash);
  });

  it('a run the model rejects exits 1, says why, and prints the command that replays it [CALL-3]', async () => {
    const d = dir();
    const broken = writeJson(d, 'broken.json', {
      name: 'broken',
      description: 'replies without a call',
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
    });
    const json = path.join(d, 'r.json');
    const r = await tessera('sim', broken, '--seed', '7', '--transport', 'tessera_kernel', '--json', json);
    assert.equal(r.code, 1);
    assert.match(r.err, /SCENARIO REJECTED: .*client.*reply.*BAD_HANDLE/);
    assert.ok(r.err.includes(`replay: npx tessera sim ${broken} --seed 0x7 --transport tessera_kernel`), r.err);
    const results = assertValidResults(JSON.parse(fs.readFileSync(json, 'utf8')), json);
    assert.equal(results.liveness.ok, false);
  });

  it('sweeps a 2x2 grid (transport x rounds) through worker threads into one results file and one chart per metric', async () => {
    const d = dir();
    writeJson(d, 'tiny.json', tiny(10));
    const sweep = writeJson(d, 'grid.json', {
      name: 'grid',
      scenario: 'tiny.json',
      seed: '0x99',
      transports: ['af_unix', 'tessera_shm'],
      axes: [{ field: 'rounds', values: [40, 80] }],
      metrics: ['messagesPerSec', 'latencyP50Ns'],
    });
    const json = path.join(d, 'out', 'grid-results.json');
    const charts = path.join(d, 'charts');
    const r = await tessera('sim', '--sweep', sweep, '--workers', '2', '--json', json, '--svg', charts);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as SweepResults;
    const validate = createAjv().compile(SweepResultsSchema);
    assert.ok(validate(result), JSON.stringify(validate.errors));
    assert.equal(result.sweep, 'grid');
    assert.deepEqual(
      result.points.map((p) => [p.transport, p.params.rounds]),
      [
        ['af_unix', 40],
        ['af_unix', 80],
        ['tessera_shm', 40],
        ['tessera_shm', 80],
      ],
    );
    for (const p of result.points) {
      assert.equal(p.results.totals.calls, p.params.rounds);
      // A worker computes exactly what this thread computes for the point: the point replays on its own.
      const here = runScenario({
        scenario: tiny(p.params.rounds),
        profile: loadProfile(p.transport),
        seed: '0x99',
      }).results;
      assert.equal(p.results.hash, here.hash, `${p.transport} rounds=${p.params.rounds}`);
    }
    assert.deepEqual(fs.readdirSync(charts).sort(), ['grid-latencyP50Ns.svg', 'grid-messagesPerSec.svg']);
    const chart = fs.readFileSync(path.join(charts, 'grid-messagesPerSec.svg'), 'utf8');
    assert.equal((chart.match(/<polyline /g) ?? []).length, 2);
    assert.match(chart, />Throughput \(messages\/s\)<\/text>/, 'the axis is labelled in words with its unit');
    assert.doesNotMatch(chart, /<polygon class="band"/, 'one seed a point: no band');
    assert.match(r.out, /af_unix rounds=40/);
    assert.equal(result.seeds, 1);
    assert.ok(result.points.every((p) => p.seed === '0x99'));
  });

  it('gives byte-identical results for a seed in two separate processes, and different ones for another seed [TIME-1, TIME-2]', async () => {
    const d = dir();
    const files = ['a.json', 'b.json'].map((f) => path.join(d, f));
    const runs = await Promise.all(
      files.map((f) =>
        tesseraProcess('sim', 'close-during-call', '--compare', 'tessera_shm,af_unix', '--seed', '0xd1ce', '--json', f),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.err);
    const [a, b] = files.map((f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as CompareResults).runs);
    assert.equal(a.length, 2);
    for (let i = 0; i < 2; i++) {
      assert.equal(a[i].hash, b[i].hash, `${a[i].transport}: same seed, other process, other hash`);
      assert.deepEqual(deterministicPart(a[i]), deterministicPart(b[i]));
      assert.ok((a[i].outcomes.DEAD ?? 0) > 0, 'the fault happened');
    }
    // And this process agrees with both.
    const scenario = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'simulator', 'scenarios', 'close-during-call.json'), 'utf8'),
    ) as Scenario;
    assert.equal(runScenario({ scenario, profile: loadProfile('af_unix'), seed: '0xd1ce' }).results.hash, a[1].hash);
    // Another seed, another run.
    assert.notEqual(
      runScenario({ scenario, profile: loadProfile('af_unix'), seed: '0xd1cf' }).results.hash,
      a[1].hash,
      'the seed must matter',
    );
  });
});
