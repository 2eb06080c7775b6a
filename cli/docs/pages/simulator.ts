// simulator.html: generated from what the simulator ships: its README (if
// any), the documented first scenario and derived profile (simulator/examples/),
// how to run it, the bundled transport profiles and sample scenarios, and a
// transport comparison the simulator runs at docs time (deterministic: one
// seed, so the same sources give the same bytes). Every field of every input
// is on simulator-reference.html; the scale study on scale-study.html.
import * as fs from 'fs';
import * as path from 'path';
import { latencyComparison } from '../../../simulator/compare';
import { fmtNs, fmtRate } from '../../../simulator/report';
import { inlineSvg } from '../diagrams';
import { esc, table, type TocEntry } from '../html';
import { codeBlock, renderDocument } from '../markdown';
import type { Json } from '../schemas';
import type { Site } from '../site';
import type { PageBody } from './page';
import { rewriteHref } from './spec';

function readJsonFiles(dir: string): { name: string; json: Json; text: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    return { name: f.replace(/\.json$/, ''), json: JSON.parse(text) as Json, text };
  });
}

/** The comparison the page shows: what `tessera sim` prints and draws for it. */
export const DOCS_COMPARISON = { scenario: 'pingpong', transports: ['af_unix', 'binder_like', 'tessera_kernel', 'tessera_shm'], seed: '0x5eed' };

let memo: { key: string; html: string } | null = null;

/**
 * The transport comparison section: the latency CDF chart exactly as
 * `tessera sim pingpong --compare ... --svg DIR` writes it, and the summary numbers.
 * Memoized on the scenario and profile files within a process (the docs tests generate
 * the site three times; the simulation runs once).
 */
function comparisonSection(root: string): string {
  const { scenario, transports, seed } = DOCS_COMPARISON;
  const sources = [path.join('scenarios', `${scenario}.json`), ...transports.map((t) => path.join('profiles', `${t}.json`))];
  const key = sources.map((f) => fs.readFileSync(path.join(root, 'simulator', f), 'utf8')).join('\0');
  if (memo?.key === key) return memo.html;
  const cmp = latencyComparison(scenario, transports, seed);
  const command = `npx tessera sim ${scenario} --compare ${transports.join(',')} --seed ${seed} --svg DIR`;
  const rows = cmp.runs.map(({ label, results: r }) => [
    `<code>${esc(label)}</code>`,
    ...[fmtNs(r.latency.p50Ns), fmtNs(r.latency.p99Ns), fmtRate(r.messagesPerSec), r.wakesPerMessage.toFixed(2), r.handoffsPerMessage.toFixed(2),
      r.syscallsPerMessage.toFixed(2), r.contextSwitchesPerMessage.toFixed(2), fmtNs(r.cpuNsPerMessage)].map((c) => `<span class="num">${esc(c)}</span>`),
  ]);
  const html = `<h2 id="comparison">Transport comparison</h2>
<p>The bundled <a href="#scenario-${esc(scenario)}"><code>${esc(scenario)}</code></a> scenario (${esc(cmp.scenario.description)}) on each bundled transport, seed <code>${esc(seed)}</code>: simulated when these pages are generated, so the chart follows the model and the profiles. The chart is the file <code>${esc(scenario)}-latency-cdf.svg</code> that <code>${esc(command)}</code> writes.</p>
<figure class="diagram-figure">
${inlineSvg(cmp.svg, 'sim-cdf', `Latency CDF of ${scenario} on ${transports.join(', ')}`)}
<figcaption>Round-trip latency (log scale) of ${esc(scenario)} on each transport; dots mark the medians.</figcaption>
</figure>
${table(['Transport', 'p50', 'p99', 'msgs/s', 'wakes/msg', 'hand-offs/msg', 'syscalls/msg', 'switches/msg', 'CPU/msg'], rows)}`;
  memo = { key, html };
  return html;
}

/** The documented first scenario and derived profile (simulator/examples/): a test runs them from the generated page. */
export const DOCS_EXAMPLES = { scenario: 'kv-lookup', profile: 'shm-far-cores' };

function exampleSection(site: Site, linker: ReturnType<Site['linker']['forPage']>): string {
  const dir = path.join(site.root, 'simulator', 'examples');
  const scenarioFile = path.join(dir, `${DOCS_EXAMPLES.scenario}.json`);
  const profileFile = path.join(dir, `${DOCS_EXAMPLES.profile}.json`);
  if (!fs.existsSync(scenarioFile) || !fs.existsSync(profileFile)) return '';
  const scenario = JSON.parse(fs.readFileSync(scenarioFile, 'utf8')) as Json;
  const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as Json;
  // The file as it is in the repository, marked for a reader (and a test) to copy.
  const example = (kind: string, file: string, text: string) =>
    codeBlock(text.trimEnd(), 'json').replace('<pre class="code lang-json">', `<pre class="code lang-json" data-example="${kind}" data-file="${esc(file)}">`);
  return `<h2 id="first-scenario">A first scenario and a derived profile</h2>
<p>A scenario is a JSON file: the simulated machine (<code>cpus</code>, <code>jitter</code>, bus <code>limits</code>), a <code>workload</code> (a bundled generator, or a <code>script</code>: peers and their programs in the <a href="simulator-reference.html#steps">step language</a>) and optional <a href="simulator-reference.html#faults">faults</a>. This one, <code>${esc(DOCS_EXAMPLES.scenario)}.json</code>: ${linker.text(String(scenario.description ?? ''))}</p>
${example('scenario', `${DOCS_EXAMPLES.scenario}.json`, fs.readFileSync(scenarioFile, 'utf8'))}
<p>A transport profile says what each step costs on a transport. A derived profile starts from a bundled one (<code>extends</code>) and changes what it names, here <code>${esc(DOCS_EXAMPLES.profile)}.json</code>: ${linker.text(String(profile.description ?? ''))}</p>
${example('profile', `${DOCS_EXAMPLES.profile}.json`, fs.readFileSync(profileFile, 'utf8'))}
<p>Save them and run the scenario on the derived profile, then on two bundled transports side by side, with charts:</p>
<pre class="code"><code>npx tessera sim ${esc(DOCS_EXAMPLES.scenario)}.json --profile ${esc(DOCS_EXAMPLES.profile)}.json
npx tessera sim ${esc(DOCS_EXAMPLES.scenario)}.json --compare af_unix,tessera_shm --svg charts --json results.json</code></pre>
<p>Both are also in the repository (<code>simulator/examples/</code>). A misspelled handle, node or peer is reported before the run, naming the field and the names there are; every field is in the <a href="simulator-reference.html">reference</a>.</p>`;
}

function runningSection(): string {
  const rows: [string, string][] = [
    ['npx tessera sim --list', 'the bundled scenarios and transport profiles'],
    ['npx tessera sim SCENARIO --transport NAME', 'one run: the summary table (latency percentiles, throughput, wake-ups, system calls, switches, CPU per message)'],
    ['npx tessera sim SCENARIO --compare T1,T2 --svg DIR', 'one run per transport: one table, a latency CDF (log latency, tail-stretched fraction, p50/p99/p99.9 marked), per-thread timelines over one shared window'],
    ['npx tessera sim SCENARIO --json FILE --trace FILE', 'the results as JSON (SimResults, or CompareResults with --compare) and a JSON-lines trace of every operation and bus event'],
    ['npx tessera sim --sweep simulator/sweeps/cpus.json --seeds 5 --svg DIR', 'a sweep over any numeric field, platform and profile included, N seeds a point: charts with the median and a band'],
    ['npx tessera sim --scale-study --svg DIR', 'the scale study: its workloads at 2 to 256 cores on every profile (see Scale study)'],
  ];
  return `<h2 id="running">Running it</h2>
${table(['Command', 'What it does'], rows.map(([c, w]) => [`<code>${esc(c)}</code>`, esc(w)]))}
<p>The same seed gives byte-identical results; a run that breaks an invariant, deadlocks or makes a step the model rejects exits 1 and prints the command that replays it. Inputs are checked before anything runs (exit 2, naming the field).</p>`;
}

export function simulatorPage(site: Site, readme: string): PageBody {
  const linker = site.linker.forPage('simulator.html');
  const s = site.schemas;
  const toc: TocEntry[] = [];
  const parts: string[] = ['<h1 id="top">Simulator</h1>'];
  const ids = new Set<string>(['top', 'first-scenario', 'running', 'profiles', 'comparison', 'samples']);

  if (readme.trim()) {
    const doc = renderDocument(readme, { linker, rewriteHref }, ids);
    parts.push(doc.html);
    for (const h of doc.headings) if (h.level === 2) toc.push({ id: h.id, label: h.text });
  } else {
    parts.push('<p class="lead">The simulator runs Tessera workloads on a simulated machine (CPUs, a scheduler, wake-ups, spinning, a bus lock), every protocol operation through the formal model, with what each step costs on a transport given as data; it reports latency, throughput, wake-ups, system calls and CPU per message, and the invariants it monitored. Every field of its inputs is in the <a href="simulator-reference.html">Simulator reference</a>; what it predicts at 2 to 256 cores is the <a href="scale-study.html">Scale study</a>.</p>');
  }

  const example = exampleSection(site, linker);
  if (example) {
    toc.push({ id: 'first-scenario', label: 'A first scenario' });
    parts.push(example);
  }
  toc.push({ id: 'running', label: 'Running it' });
  parts.push(runningSection());

  const profiles = readJsonFiles(path.join(site.root, 'simulator', 'profiles'));
  if (profiles.length) {
    toc.push({ id: 'profiles', label: 'Transport profiles' });
    const ns = (v: unknown) => (typeof v === 'object' && v !== null && typeof (v as Json).ns === 'number' ? `${(v as Json).ns}` : '');
    const lock = (l: Json | undefined) => (l ? `${Math.round(l.holdFraction * 100)}% of each op, ${esc(l.handover)}${l.spin ? `, sleeps after ${Number(l.spin.ns) / 1000} us` : ''}` : 'none');
    const rows = profiles.map((p) => [
      `<code>${esc(p.name)}</code>`,
      esc(String(p.json.description ?? '')),
      `<span class="num">${ns(p.json.syscall)}</span>`,
      `<span class="num">${ns(p.json.copyPerKiB)}</span>`,
      `<span class="num">${p.json.copies ?? ''}</span>`,
      `<span class="num">${ns(p.json.wake?.latency)}</span>`,
      lock(p.json.lock as Json | undefined),
    ]);
    parts.push(`<h2 id="profiles">Transport profiles</h2>
<p>The transports the simulator bundles (<code>simulator/profiles/</code>), as data: what each step costs in nanoseconds, each number with its source (fields: <a href="simulator-reference.html#profile">reference</a>${s.file('Profile') ? ', schema <a href="schemas.html#schema-Profile"><code>Profile</code></a>' : ''}). A new profile is a new file there: every command, the docs and the scale study take it up.</p>
${table(['Profile', 'Transport', 'Syscall ns', 'Copy ns/KiB', 'Copies', 'Wake ns', 'Bus lock'], rows)}`);
  }

  if (fs.existsSync(path.join(site.root, 'simulator', 'scenarios', `${DOCS_COMPARISON.scenario}.json`))) {
    toc.push({ id: 'comparison', label: 'Transport comparison' });
    parts.push(comparisonSection(site.root));
  }

  const samples = readJsonFiles(path.join(site.root, 'simulator', 'scenarios'));
  if (samples.length) {
    toc.push({ id: 'samples', label: 'Sample scenarios' });
    parts.push(`<h2 id="samples">Sample scenarios</h2>
${samples.map((x) => `<h3 id="scenario-${esc(x.name)}"><code>${esc(x.name)}</code></h3>
<p>${linker.text(String(x.json.description ?? ''))}</p>
<pre class="code lang-json"><code>${s.jsonHtml('Scenario', x.json, linker)}</code></pre>`).join('\n')}`);
  }
  return { toc, description: 'The Tessera simulator: a first scenario and a derived profile, how to run it, the bundled transport profiles and scenarios, a transport comparison.', body: parts.join('\n') };
}
