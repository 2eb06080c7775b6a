// scale-study.html: the scale study's committed results (simulator/studies/scale-results.json,
// written by `tessera sim --scale-study`) as a report: where each transport design stops
// scaling and why, per workload the charts of throughput, tail latency, bus lock and CPUs
// against the core count, and the numbers. Drawn from the results file alone (no simulation
// at docs time); a test re-runs part of the study and checks the file is current.
import * as fs from 'fs';
import * as path from 'path';
import { formatMetric, metric } from '../../../simulator/metrics';
import { loadStudy, medianOf, scalingVerdicts, type ScalingVerdict } from '../../../simulator/scale-study';
import { studyCharts } from '../../../simulator/scale-report';
import type { ScaleStudy, ScaleStudyResults } from '../../../simulator/types';
import { inlineSvg } from '../diagrams';
import { esc, table, type TocEntry } from '../html';
import type { Site } from '../site';
import type { PageBody } from './page';

export function studyFiles(root: string): { study: string; results: string } {
  const dir = path.join(root, 'simulator', 'studies');
  return { study: path.join(dir, 'scale.json'), results: path.join(dir, 'scale-results.json') };
}

/** Whether the site has a scale study to show. */
export function hasScaleStudy(root: string): boolean {
  const f = studyFiles(root);
  return fs.existsSync(f.study) && fs.existsSync(f.results);
}

/** One sentence for a transport on a workload: its peak, its end, and what stops it. */
function finding(v: ScalingVerdict, unit: (x: number) => string): string {
  const peak = v.throughput.reduce((a, b) => (b.value > a.value ? b : a));
  const last = v.throughput[v.throughput.length - 1];
  const first = v.throughput[0];
  if (!v.stopsBetween)
    return `scales to ${last.cores} cores: ${unit(first.value)} to ${unit(last.value)} (x${v.speedup.toFixed(0)} of an ideal x${v.ideal}); ${v.reason}.`;
  const after =
    peak.cores < last.cores
      ? `peaks at ${unit(peak.value)} at ${peak.cores} cores and ends at ${unit(last.value)} at ${last.cores}${last.value < peak.value * 0.8 ? ` (${(peak.value / last.value).toFixed(1)} times less: more cores make it slower)` : ''}`
      : `reaches ${unit(last.value)} at ${last.cores} cores (x${v.speedup.toFixed(1)} of an ideal x${v.ideal})`;
  return `stops scaling between ${v.stopsBetween[0]} and ${v.stopsBetween[1]} cores: it ${after}. Why: ${v.reason}.`;
}

function numbersTable(study: ScaleStudy, results: ScaleStudyResults, workload: string, throughput: string): string {
  const ids = [throughput, 'latencyP99Ns', 'lockUtilization', 'lockWaitNsPerOp', 'wakesPerMessage', 'cpuUtilization'];
  const rows: string[][] = [];
  for (const t of results.transports)
    for (const cores of results.cores)
      rows.push([
        `<code>${esc(t)}</code>`,
        `<span class="num">${cores}</span>`,
        ...ids.map((id) => `<span class="num">${esc(formatMetric(metric(id), medianOf(results, workload, t, cores, id)))}</span>`),
      ]);
  return table(['Transport', 'Cores', ...ids.map((id) => esc(metric(id).label))], rows, 'study-numbers');
}

export function scaleStudyPage(site: Site): PageBody {
  const linker = site.linker.forPage('scale-study.html');
  const files = studyFiles(site.root);
  const study = loadStudy(files.study);
  const results = JSON.parse(fs.readFileSync(files.results, 'utf8')) as ScaleStudyResults;
  const verdicts = scalingVerdicts(study, results);
  const charts = studyCharts(study, results);
  const toc: TocEntry[] = [{ id: 'findings', label: 'Findings' }, { id: 'model', label: 'What is modelled' }];
  const unitOf = (w: string) => (x: number) => formatMetric(metric(study.workloads.find((s) => s.id === w)!.throughput), x);

  const findings = study.workloads
    .map((w) => {
      const items = verdicts
        .filter((v) => v.workload === w.id)
        .map((v) => `<li><code>${esc(v.transport)}</code> ${linker.text(finding(v, unitOf(w.id)))}</li>`)
        .join('\n');
      return `<h3>${esc(w.title)} <small>(${esc(metric(w.throughput).label.toLowerCase())})</small></h3>\n<ul class="findings">\n${items}\n</ul>`;
    })
    .join('\n');

  const summary = table(
    ['Workload', 'Transport', ...results.cores.map((c) => `${c} cores`), 'Stops scaling'],
    verdicts.map((v) => [
      esc(study.workloads.find((w) => w.id === v.workload)!.title),
      `<code>${esc(v.transport)}</code>`,
      ...v.throughput.map((t) => `<span class="num">${esc(unitOf(v.workload)(t.value))}</span>`),
      v.stopsBetween ? `between ${v.stopsBetween[0]} and ${v.stopsBetween[1]} cores` : 'no',
    ]),
    'study-summary',
  );

  const profiles = results.transports.map((t) => {
    const p = JSON.parse(fs.readFileSync(path.join(site.root, 'simulator', 'profiles', `${t}.json`), 'utf8')) as {
      lock?: { holdFraction: number; handover: string; lineTransfer: { ns: number }; spin?: { ns: number } };
      description: string;
    };
    const l = p.lock;
    return [
      `<code>${esc(t)}</code>`,
      l ? `${Math.round(l.holdFraction * 100)}% of each operation` : 'none',
      l ? esc(l.handover) : '',
      l ? `${l.lineTransfer.ns} ns` : '',
      l ? (l.spin ? `spins ${l.spin.ns / 1000} us, then sleeps` : 'spins until free') : '',
    ];
  });

  const sections = study.workloads.map((w) => {
    toc.push({ id: `workload-${w.id}`, label: w.title, sub: true });
    const sizing = w.perCore
      .map((f) => `<code>${esc(f.field)}</code> = ${f.perCore === 1 ? 'C' : `${f.perCore} &times; C`}${f.add ? ` ${f.add < 0 ? '&minus;' : '+'} ${Math.abs(f.add)}` : ''}`)
      .join(', ');
    const figures = charts
      .filter((c) => c.workload === w.id)
      .map((c) => `<figure class="diagram-figure">\n${inlineSvg(c.svg, `study-${w.id}-${c.metric}`, c.title)}\n<figcaption>${esc(c.title)}: the median of ${results.seeds.length} seeds, the band from the lowest to the highest.</figcaption>\n</figure>`)
      .join('\n');
    return `<section class="study-workload" id="workload-${esc(w.id)}">
<h2>${esc(w.title)}</h2>
<p>${linker.text(w.question)} At C cores: <code>cpus</code> = C, ${sizing} (<code>simulator/studies/${esc(w.scenario)}</code>).</p>
${figures}
${numbersTable(study, results, w.id, w.throughput)}
</section>`;
  });

  const body = `<h1 id="top">Scale study</h1>
<p class="lead">${linker.text(study.description)} Simulated, since this machine has 2 CPUs: ${results.runs.length} runs (${study.workloads.length} workloads, ${results.transports.length} transports, ${results.cores.length} core counts, ${results.seeds.length} seeds each), every operation through the formal model.</p>
<p><code>npx tessera sim --scale-study</code> runs it (from <code>simulator/studies/scale.json</code>) and writes <code>simulator/studies/scale-results.json</code>, from which <code>npm run docs</code> draws this page; a test re-runs its 2- and 8-core points and checks the inputs' digest, so the numbers here are what the code computes. A new transport profile in <code>simulator/profiles/</code> joins the study: run both commands again.</p>
<h2 id="findings">Findings</h2>
<p>A step from one core count to the next <em>scales</em> when throughput grows by at least the square root of the ratio of cores (half the step in log terms); the first step that does not is where the design stops scaling. Why is read off the metrics at the end of that step: the bus lock when it is busy 60% of the time or more, the CPUs when they are 85% busy, else a thread every message goes through.</p>
${summary}
${findings}
<h2 id="model">What is modelled</h2>
<p>Each core is a simulated CPU with its run queue, context switches, migrations, wake-up latency and spinning; the costs are each profile's (<a href="simulator.html#profiles">Transport profiles</a>), the same at every core count. Where a profile has a bus lock, every operation takes it (<a href="simulator-reference.html#lock">the lock model</a>): waiting is queueing for the holder, and with a lock all waiters spin on (<code>handover: spinning</code>) every handover costs more cache-line transfers the more waiters there are. The locks of the profiles:</p>
${table(['Profile', 'Held for', 'Handover', 'Line transfer', 'Waiters'], profiles)}
<p>Not modelled, so read the numbers as bounds: locks finer than the bus (a socket's receive queue in <code>af_unix</code>, a process's lock in <code>binder_like</code>: contended in <em>One shared service</em> on real kernels, so their curves there are upper bounds); near and far cores (one line-transfer cost for all, where a two-socket machine pays more across sockets); a lock holder losing its CPU; memory bandwidth.</p>
${sections.join('\n')}`;
  return {
    toc,
    description: 'The Tessera scale study: simulated workloads at 2 to 256 cores on every transport profile, where each design stops scaling and why.',
    body,
  };
}
