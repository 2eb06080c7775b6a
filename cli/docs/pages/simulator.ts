// simulator.html: generated from what the simulator ships: its README (if
// any), the scenario format (simulator/schema/Scenario.json), the workload
// kinds, the bundled transport profiles and sample scenarios, and a transport
// comparison the simulator runs at docs time (deterministic: one seed, so the
// same sources give the same bytes).
import * as fs from 'fs';
import * as path from 'path';
import { latencyComparison } from '../../../simulator/compare';
import { fmtNs, fmtRate } from '../../../simulator/report';
import { inlineSvg } from '../diagrams';
import { esc, table, type TocEntry } from '../html';
import { renderDocument } from '../markdown';
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

export function simulatorPage(site: Site, readme: string): PageBody {
  const linker = site.linker.forPage('simulator.html');
  const s = site.schemas;
  const toc: TocEntry[] = [];
  const parts: string[] = ['<h1 id="top">Simulator</h1>'];
  const ids = new Set<string>(['top', 'scenario-format', 'workloads', 'profiles', 'comparison', 'samples']);

  if (readme.trim()) {
    const doc = renderDocument(readme, { linker, rewriteHref }, ids);
    parts.push(doc.html);
    for (const h of doc.headings) if (h.level === 2) toc.push({ id: h.id, label: h.text });
  } else {
    parts.push('<p class="lead">The simulator runs Tessera workloads on a simulated machine, under the same model, with the costs of a transport given as data; it reports throughput, latency and the invariants it monitored. This page is generated from its scenario schema and the profiles it bundles.</p>');
  }

  const scenario = s.file('Scenario');
  if (scenario) {
    toc.push({ id: 'scenario-format', label: 'Scenario format' });
    const fields = s.fields('Scenario', scenario.json, linker);
    parts.push(`<h2 id="scenario-format">Scenario format</h2>
<p>${linker.text(scenario.json.description ?? '')} A scenario is a JSON file checked against <a href="schemas.html#schema-Scenario"><code>Scenario</code></a> (<code>${esc(scenario.file)}</code>).</p>
${table(['Field', 'Type', 'Description'], fields.map((f) => [
    `<code>${esc(f.name)}</code>${f.required ? '' : ' <span class="optional">optional</span>'}`,
    `<span class="type">${f.type}</span>`,
    f.description,
  ]), 'fields')}`);
    const workload = s.definition('Scenario', 'Workload');
    const members: Json[] = workload ? (workload.oneOf ?? workload.anyOf ?? []) : [];
    if (members.length) {
      toc.push({ id: 'workloads', label: 'Workloads' });
      const rows = members.map((m) => {
        const def = s.resolve('Scenario', m);
        const kind = def.properties?.kind?.const;
        const params = Object.keys(def.properties ?? {}).filter((k) => k !== 'kind').map((k) => `<code>${esc(k)}</code>`).join(', ');
        return [kind !== undefined ? `<code>${esc(String(kind))}</code>` : s.typeExpr('Scenario', m, linker), linker.text(def.description ?? ''), params, s.typeExpr('Scenario', m, linker)];
      });
      parts.push(`<h2 id="workloads">Workloads</h2>
<p>The <code>workload</code> field is one of these, told apart by <code>kind</code>.</p>
${table(['Kind', 'What it runs', 'Parameters', 'Type'], rows)}`);
    }
  }

  const profiles = readJsonFiles(path.join(site.root, 'simulator', 'profiles'));
  if (profiles.length) {
    toc.push({ id: 'profiles', label: 'Transport profiles' });
    const ns = (v: unknown) => (typeof v === 'object' && v !== null && typeof (v as Json).ns === 'number' ? `${(v as Json).ns}` : '');
    const rows = profiles.map((p) => [
      `<code>${esc(p.name)}</code>`,
      esc(String(p.json.description ?? '')),
      `<span class="num">${ns(p.json.syscall)}</span>`,
      `<span class="num">${ns(p.json.copyPerKiB)}</span>`,
      `<span class="num">${p.json.copies ?? ''}</span>`,
    ]);
    parts.push(`<h2 id="profiles">Transport profiles</h2>
<p>The transports the simulator bundles (<code>simulator/profiles/</code>), as data: what each step costs in nanoseconds, each number with its source${s.file('Profile') ? ' (format: <a href="schemas.html#schema-Profile"><code>Profile</code></a>)' : ''}.</p>
${table(['Profile', 'Transport', 'Syscall ns', 'Copy ns/KiB', 'Copies'], rows)}`);
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
  return { toc, description: 'The Tessera simulator: scenario format, workloads and transport profiles.', body: parts.join('\n') };
}
