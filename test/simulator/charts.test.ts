// The simulator's charts as a performance engineer reads them: a latency CDF whose tail is as
// visible as its median (log latency, tail-stretched fractions, p50/p99/p99.9 marked) with a
// legend that is never clipped; axes labelled in words with units, never a metric's id;
// per-thread timelines over one shared window that tell the five states apart and stay light.
import { strict as assert } from 'assert';
import { loadProfile, loadScenario } from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import { latencyCdfSvg, sweepSvg } from '../../simulator/svg';
import { defaultWindowNs, sharedWindowNs, timelineSvg, TIMELINE_STATES } from '../../simulator/timeline';
import { METRICS } from '../../simulator/metrics';
import type { Scenario, SimResults } from '../../simulator/types';

function pingpong(rounds: number): Scenario {
  return {
    name: 'pp',
    description: 'pp',
    cpus: 2,
    workload: { kind: 'pingpong', mode: 'call', rounds, payloadBytes: 64 },
  };
}

const run = (scenario: Scenario, transport: string, timeline = false): SimResults =>
  runScenario({ scenario, profile: loadProfile(transport), seed: 1, timeline }).results;

/** The y of each tick label of the fraction axis (text anchored at the end, left of the plot). */
function yTicks(svg: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of svg.matchAll(
    /<text x="\d+" y="([\d.]+)" font-size="11" text-anchor="end" fill="#555">([^<]+)<\/text>/g,
  ))
    out.set(m[2], Number(m[1]) - 4);
  return out;
}

describe('simulator charts a performance engineer accepts', function () {
  this.timeout(60_000);

  it('the latency CDF stretches the tail: 90%, 99% and 99.9% equally spaced, p50/p99/p99.9 marked on every line', () => {
    const runs = [
      { label: 'rpc-pool on tessera_shm', results: run(loadScenario('rpc-pool'), 'tessera_shm') },
      { label: 'rpc-pool on af_unix', results: run(loadScenario('rpc-pool'), 'af_unix') },
    ];
    const svg = latencyCdfSvg(runs, 'CDF');
    const ticks = yTicks(svg);
    for (const t of ['0%', '50%', '90%', '99%', '99.9%']) assert.ok(ticks.has(t), `tick ${t}: ${[...ticks.keys()]}`);
    const step = ticks.get('90%')! - ticks.get('99%')!;
    assert.ok(Math.abs(ticks.get('99%')! - ticks.get('99.9%')! - step) < 0.2, 'equal spacing per nine');
    for (const r of runs)
      for (const p of ['p50', 'p99', 'p99.9']) assert.ok(svg.includes(`<title>${r.label} ${p}: `), `${r.label} ${p}`);
    // The p99.9 marker sits on the 99.9% line, well above the p50 one: the tail is on the chart.
    const markerY = (label: string, p: string) => {
      const m = new RegExp(
        `<(?:circle|rect|polygon) [^>]*?(?:cy="([\\d.]+)"|y="([\\d.]+)"|points="[\\d.]+,([\\d.]+))[^>]*><title>${label} ${p}:`,
      ).exec(svg);
      return Number(m?.[1] ?? m?.[2] ?? m?.[3]);
    };
    const shm = runs[0].label;
    assert.ok(markerY(shm, 'p99.9') < markerY(shm, 'p50') - 2 * step, 'p99.9 is far above p50');
    assert.ok(runs[0].results.latency.p999Ns > 10 * runs[0].results.latency.p50Ns, 'this run has a long tail to show');
  });

  it('the legend sizes the chart: a long label is never clipped', () => {
    const label = 'a transport with a very long and descriptive name, seed 0x5eed';
    const svg = latencyCdfSvg([{ label, results: run(pingpong(50), 'af_unix') }]);
    const width = Number(/^<svg [^>]*width="(\d+)"/.exec(svg)![1]);
    const x = Number(new RegExp(`<text x="([\\d.]+)"[^>]*>${label}</text>`).exec(svg)![1]);
    assert.ok(x + label.length * 12 * 0.58 <= width, `label at ${x}, ${label.length} characters, chart ${width} wide`);
  });

  it('axes are labelled in words with their units, never with a metric id', () => {
    const a = run(pingpong(40), 'tessera_shm');
    const b = run(pingpong(80), 'tessera_shm');
    for (const m of METRICS) {
      const svg = sweepSvg(
        [
          { transport: 'tessera_shm', params: { 'workload.rounds': 40 }, seed: '0x1', results: a },
          { transport: 'tessera_shm', params: { 'workload.rounds': 80 }, seed: '0x1', results: b },
        ],
        ['workload.rounds'],
        m.id,
      );
      const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]);
      assert.ok(texts.includes(`${m.label} (${m.unit})`), `${m.id}: y axis`);
      assert.ok(texts.includes('rounds'), `${m.id}: x axis`);
      if (/[A-Z]/.test(m.id)) assert.ok(!texts.some((t) => t.includes(m.id)), `${m.id} printed raw`);
      assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
    }
  });

  it('timelines share one window and tell running, spinning, runnable and sleeping apart', () => {
    const scenario = pingpong(300);
    const unix = run(scenario, 'af_unix', true);
    const shm = run(scenario, 'tessera_shm', true);
    const windowNs = sharedWindowNs([unix, shm]);
    assert.equal(windowNs, Math.max(defaultWindowNs(unix), defaultWindowNs(shm)));
    const svgs = [unix, shm].map((r) => timelineSvg(r, windowNs));
    const said = svgs.map((s) => /the first ([^ ]+ [a-z]+) of/.exec(s)![1]);
    assert.equal(said[0], said[1]);
    const color = (state: string) => TIMELINE_STATES.find((s) => s.state === state)!.color;
    for (const state of ['run', 'ready', 'sleep'])
      assert.ok(svgs[0].includes(`fill="${color(state)}"/>`), `af_unix ${state}`);
    assert.ok(svgs[1].includes(`fill="${color('spin')}"/>`), 'tessera_shm spins');
    for (const s of TIMELINE_STATES) assert.ok(svgs[0].includes(`>${s.label}</text>`), `key ${s.label}`);
  });

  it("a long run's timeline stays light: spans below a pixel are merged", () => {
    const r = run(loadScenario('pingpong'), 'af_unix', true);
    const spans = r.timeline!.reduce((n, t) => n + t.spans.length, 0);
    const svg = timelineSvg(r, r.workloadNs);
    const rects = (svg.match(/<rect /g) ?? []).length;
    assert.ok(spans > 5000, `${spans} spans`);
    assert.ok(rects < 2 * 2 * 690 + 40, `${rects} rectangles for 2 rows`);
    assert.ok(svg.length < 200_000, `${svg.length} bytes`);
  });
});
