// simulator-reference.html: everything a scenario, profile, sweep or study file may say, and
// what a run reports, generated from the simulator's schemas and registries: every field with
// its type, unit, default and an example from the shipped files; the script step language; the
// faults; derived profiles and the bus lock; sweeps; the metric registry; the trace format, with
// the bus events of a real trace.
import * as fs from 'fs';
import * as path from 'path';
import { METRICS } from '../../../simulator/metrics';
import type { CheckRow, Measurement } from '../../../simulator/calibration';
import {
  BUNDLED_CALIBRATION_COMMAND,
  BUNDLED_CALIBRATION_DIR,
  CALIBRATION_METHODS,
} from '../../../simulator/calibration-methods';
import { loadProfile, loadScenario } from '../../../simulator/load';
import { runScenario } from '../../../simulator/run';
import { TRACE_EVENT_FIELDS, TRACE_OPERATION_FIELDS, type TraceField } from '../../../simulator/trace-format';
import { codeBlock } from '../markdown';
import { esc, table, type Linker, type TocEntry } from '../html';
import type { Json, Schemas } from '../schemas';
import type { Site } from '../site';
import type { PageBody } from './page';
import { Examples, fieldTable, jsonFiles } from './sim-fields';

/** Examples of every input kind, from every file the simulator ships. */
function examples(site: Site): Record<'Scenario' | 'Profile' | 'Sweep' | 'ScaleStudy', Examples> {
  const s = site.schemas;
  const out = {
    Scenario: new Examples(s, 'Scenario'),
    Profile: new Examples(s, 'Profile'),
    Sweep: new Examples(s, 'Sweep'),
    ScaleStudy: new Examples(s, 'ScaleStudy'),
  };
  const sim = path.join(site.root, 'simulator');
  for (const dir of ['examples', 'scenarios', 'studies', 'profiles', 'sweeps'])
    for (const f of jsonFiles(path.join(sim, dir))) {
      const j = f.json;
      if (j.workload) out.Scenario.add(j);
      else if (j.ops || j.extends) out.Profile.add(j);
      else if (j.axes) out.Sweep.add(j);
      else if (j.workloads) out.ScaleStudy.add(j);
    }
  return out;
}

/** The members of a union definition: [tag value, member definition name, member schema]. */
function members(s: Schemas, file: string, def: string): [string, string, Json][] {
  const union = s.definition(file, def);
  const tag: string = union?.discriminator?.propertyName ?? '';
  return ((union?.oneOf ?? union?.anyOf ?? []) as Json[]).map((m) => {
    const schema = s.resolve(file, m);
    return [String(schema.properties?.[tag]?.const ?? ''), String(m.$ref ?? '').replace('#/definitions/', ''), schema];
  });
}

function traceTable(fields: readonly TraceField[], linker: Linker): string {
  return table(
    ['Field', 'Type', 'On every line', 'Meaning'],
    fields.map((f) => [`<code>${esc(f.name)}</code>`, esc(f.type), f.always ? 'yes' : 'when it applies', linker.text(f.meaning)]),
    'fields',
  );
}

let traceMemo: { key: string; html: string } | null = null;

/** The bus events of real traces (two bundled scenarios that reach most of them), each with its fields and one line. */
function traceEvents(site: Site): string {
  const runs = ['close-during-call', 'revoke-during-transfer', 'introduction-chain'];
  const key = runs.join(',') + site.root;
  if (traceMemo?.key === key) return traceMemo.html;
  const events = new Map<string, { fields: Set<string>; line: string; count: number }>();
  let excerpt: string[] = [];
  for (const name of runs) {
    const out = runScenario({ scenario: loadScenario(name), profile: loadProfile('tessera_kernel'), seed: '0x5eed', trace: true });
    if (name === runs[0]) excerpt = (out.trace ?? []).filter((l) => !l.includes('"op":"tick"')).slice(0, 14);
    for (const line of out.trace ?? []) {
      const o = JSON.parse(line) as Json;
      if (typeof o.event !== 'string') continue;
      const e = events.get(o.event) ?? { fields: new Set<string>(), line, count: 0 };
      for (const k of Object.keys(o)) if (k !== 'tNs' && k !== 'event') e.fields.add(k);
      e.count++;
      events.set(o.event, e);
    }
  }
  const rows = [...events.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([type, e]) => [`<code>${esc(type)}</code>`, [...e.fields].sort().map((f) => `<code>${esc(f)}</code>`).join(' '), `<code class="json">${esc(e.line)}</code>`]);
  const html = `<p>The events these traces hold (<code>${runs.join('</code>, <code>')}</code> on <code>tessera_kernel</code>, seed <code>0x5eed</code>), with the fields each carries and one line of each:</p>
${table(['Event', 'Fields', 'A line'], rows, 'exchange')}
<p>The first lines of the <code>${runs[0]}</code> trace (clock ticks left out): setup by the bus, then the threads' operations, each followed by its events.</p>
${codeBlock(excerpt.join('\n'), 'jsonl')}`;
  traceMemo = { key, html };
  return html;
}

/** How each profile `tessera calibrate` fits is calibrated, and the committed check of the bundled ones. */
function calibrationSection(site: Site): string {
  const methods = table(
    ['Transport', 'Measured', 'Fitted (figure: profile costs)', 'Predicted, not fitted', 'Bundled profile'],
    CALIBRATION_METHODS.map((m) => [
      `<code>${esc(m.transport)}</code>`,
      esc(m.measured),
      `<ul>${m.fitted.map((f) => `<li>${esc(f.figure)}: ${esc(f.costs)}</li>`).join('')}</ul>${m.taken ? `<p>Taken: ${esc(m.taken)}.</p>` : ''}`,
      esc(m.predicted.join('; ')),
      m.bundled ? 'this calibration' : 'hand-picked baselines (calibrations in <code>simulator/calibration-results/</code>)',
    ]),
    'calibration',
  );
  const dir = path.join(site.root, BUNDLED_CALIBRATION_DIR);
  let results = '<p class="muted">No committed calibration of the bundled profiles.</p>';
  if (fs.existsSync(path.join(dir, 'check.json'))) {
    const rows = JSON.parse(fs.readFileSync(path.join(dir, 'check.json'), 'utf8')) as CheckRow[];
    const ms = JSON.parse(fs.readFileSync(path.join(dir, 'measurements.json'), 'utf8')) as Measurement[];
    const fittedMetric = (r: CheckRow) => !/64 KiB call|lock held|RPC pool/.test(r.metric);
    const bg = ms
      .map(
        (m) =>
          `<code>${esc(m.transport)}</code> ${Object.entries(m.backgroundCpus ?? {})
            .map(([k, v]) => `${esc(k)} ${v ?? '-'}`)
            .join(', ')}`,
      )
      .join('; ');
    results = `<p>The committed calibration (<code>${esc(BUNDLED_CALIBRATION_DIR)}/</code>: the measurements, the fitted profiles, the check rows): each fitted profile run in the simulator on the calibration workloads at seed <code>0xca1</code>, with the background load measured during the rows (CPU-equivalents of other processes, by row: ${bg}), against the measurement. Tolerance: 25%.</p>
${table(
  ['Transport', 'Figure', 'Measured', 'Simulated', 'Error', 'Within 25%'],
  rows
    .filter((r) => r.measured !== null)
    .map((r) => [
      `<code>${esc(r.transport)}</code>`,
      `${esc(r.metric)}${fittedMetric(r) ? ' <span class="muted">fitted</span>' : ' <strong>predicted</strong>'}`,
      r.measured!.toFixed(0),
      r.predicted.toFixed(0),
      r.error === null ? '-' : `${(r.error * 100).toFixed(1)}%`,
      r.ok ? 'yes' : '<strong>no</strong>',
    ]),
  'calibration-check',
)}`;
  }
  return `<h2>Calibration</h2>
<p><code>tessera calibrate</code> measures this machine with the project's benchmarks and fits a transport's profile to the measurements in a few deterministic rounds, each running the simulator on the same workloads: per-message costs to the 64 B one-way stream, the wake-up path to the round trip's CPU time (when measured), the wake-up latency to a sleeping round trip, a spinning transport's call and reply to its spinning round trip, the copy cost to a 64 KiB stream. Each simulated workload runs with the background load measured during its bench row (<code>background</code>). What is not fitted is predicted and checked: the out-of-sample rows. It writes the measurements, the fitted profiles and the check rows (<code>--out</code>); <code>calibration-check</code> re-runs the check from them.</p>
${methods}
<p>The bundled profiles of the transports between processes are calibration outputs; re-calibrated, after a change to their code, with <code>${esc(BUNDLED_CALIBRATION_COMMAND)}</code> (a few minutes; needs the native addon), then the pinned simulator digests and the docs regenerated.</p>
${results}`;
}

export function simulatorReferencePage(site: Site): PageBody {
  const linker = site.linker.forPage('simulator-reference.html');
  const s = site.schemas;
  const ex = examples(site);
  const toc: TocEntry[] = [];
  const parts: string[] = [];
  const section = (id: string, label: string, html: string, sub = false) => {
    toc.push({ id, label, sub });
    parts.push(html.replace(/^<h([23])>/, `<h$1 id="${id}">`));
  };
  const def = (file: 'Scenario' | 'Profile' | 'Sweep' | 'ScaleStudy', name: string, skip: string[] = []) => {
    const schema = name === file ? s.file(file)!.json : s.definition(file, name);
    if (!schema) return '';
    return fieldTable(s, file, name, schema, ex[file], linker, skip);
  };
  const descr = (file: string, name: string) => linker.text(s.definition(file, name)?.description ?? '');

  parts.push(`<h1 id="top">Simulator reference</h1>
<p class="lead">Every field of the simulator's inputs (scenarios, transport profiles, sweeps, scale studies) with its type, unit, default and an example from the files the simulator ships; the script step language; faults; the metrics a run reports; the trace format. Generated from the JSON Schemas (<code>simulator/schema/</code>, themselves generated from <code>simulator/types.ts</code>) and the simulator's registries. A field without a default is required unless marked optional; an optional field without a default is absent unless given (its meaning says what absence does).</p>
<p>How the simulator works and a first scenario: <a href="simulator.html">Simulator</a>. What it shows at 2 to 256 cores: <a href="scale-study.html">Scale study</a>.</p>`);

  section('scenario', 'Scenario', `<h2>Scenario</h2>
<p>${linker.text(s.file('Scenario')!.json.description ?? '')} Checked against <a href="schemas.html#schema-Scenario"><code>Scenario</code></a>, then statically: every handle, node and peer name a program or fault uses must exist (the error names the field and the names there are), payloads must fit <code>limits.maxPayloadBytes</code>, and the work asked for must fit the simulator's bounds.</p>
${def('Scenario', 'Scenario')}
<h3>limits</h3><p>${descr('Scenario', 'LimitsOverride')} See <a href="limits.html">Limits</a>.</p>${def('Scenario', 'LimitsOverride')}
<h3>background</h3><p>${descr('Scenario', 'BackgroundLoad')}</p>${def('Scenario', 'BackgroundLoad')}`);

  const workloads = members(s, 'Scenario', 'Workload');
  section('workloads', 'Workloads', `<h2>Workloads</h2>
<p>The <code>workload</code> field is one of these, told apart by <code>kind</code>. Every kind but <code>script</code> is a generator: it expands into peers and programs in the step language below (<code>simulator/workloads.ts</code>).</p>
${workloads.map(([kind, name, schema]) => `<h3 id="workload-${esc(kind)}"><code>${esc(kind)}</code></h3><p>${linker.text(schema.description ?? '')}</p>${def('Scenario', name, ['kind'])}`).join('\n')}`);

  const steps = members(s, 'Scenario', 'Step');
  section('peers', 'Peers (script)', `<h2>Peers</h2>
<p>A <code>script</code> workload lists its peers in attach order. ${descr('Scenario', 'PeerSpec')}</p>${def('Scenario', 'PeerSpec')}
<h3>nodes</h3>${def('Scenario', 'NodeSpec')}
<h3>bootstrap</h3><p>Handles the bus owner gives a peer when it attaches, to nodes of peers listed before it.</p>${def('Scenario', 'GrantSpec')}
<h3>transfers</h3><p>${descr('Scenario', 'TransferSpec')}</p>${def('Scenario', 'TransferSpec')}
<h3>credentials</h3><p>${descr('Scenario', 'Credentials')} Absent, a peer gets uid 1000 + its index, gid 1000, pid 100 + its index.</p>${def('Scenario', 'Credentials')}`);

  section('steps', 'Script steps', `<h2>Script steps</h2>
<p>A program is a list of steps, each one object told apart by <code>do</code>. A step that is a protocol operation goes through the formal model, so a program can never do what the specification forbids: an error it does not <code>expect</code> stops the run (exit 1) with the step and a replay command. Steps that are not operations (<code>compute</code>, <code>sleep</code>, <code>repeat</code>, timers) cost only what they say. A latency sample is recorded for every call (issue to reply taken in) and for every <code>timerStart</code> to <code>timerStop</code>; a workload with neither records each message's one-way delay.</p>
<p>Every step may have:</p>${fieldTable(s, 'Scenario', 'StepBase', { properties: { expect: s.definition('Scenario', 'CallStep')?.properties?.expect ?? {} } }, ex.Scenario, linker)}
<ul>${steps.map(([d]) => `<li><a href="#step-${esc(d)}"><code>${esc(d)}</code></a></li>`).join('')}</ul>
${steps.map(([d, name, schema]) => `<h3 id="step-${esc(d)}"><code>${esc(d)}</code></h3><p>${linker.text(schema.description ?? '')}</p>${Object.keys(schema.properties ?? {}).some((k) => k !== 'do' && k !== 'expect') ? def('Scenario', name, ['do', 'expect']) : '<p class="muted">No fields besides <code>do</code> and <code>expect</code>.</p>'}`).join('\n')}`);

  section('faults', 'Faults', `<h2>Faults</h2>
<p>${descr('Scenario', 'Fault')} A fault runs at <code>atNs</code> of simulated time as an operation of the bus on behalf of the peer (through the model, like any operation), or, for <code>stop-receiving</code>, keeps the peer's threads from taking deliveries for <code>forNs</code>. Its outcome is counted in the results' <code>outcomes</code> (<code>fault:&lt;action&gt;:&lt;result&gt;</code>). After the workload, a liveness phase checks that every call resolved (CALL-2) and that nothing leaked.</p>
${def('Scenario', 'Fault')}`);

  section('profile', 'Transport profile', `<h2>Transport profile</h2>
<p>${linker.text(s.file('Profile')!.json.description ?? '')} Every cost has a <code>source</code>: a measurement, a calibration run (<code>tessera calibrate</code>, <code>simulator/calibration-results/</code>) or reasoning. Examples here are from the bundled profiles.</p>
<p><strong>A derived profile</strong> names a bundled one in <code>extends</code> and gives only what it changes, with its own <code>name</code>: each field it gives replaces the bundled profile's, objects merging field by field, and the result is checked as a whole profile. <code>tessera sim SCENARIO --profile FILE</code> runs it; <a href="simulator.html#first-scenario">Simulator</a> has one.</p>
${def('Profile', 'Profile')}
<h3>Cost</h3><p>${descr('Profile', 'Cost')}</p>${def('Profile', 'Cost')}
<h3>OpCost</h3><p>${descr('Profile', 'OpCost')}</p>${def('Profile', 'OpCost')}
<h3>spin.backoff</h3>${def('Profile', 'SpinBackoff')}`);

  section('calibration', 'Calibration', calibrationSection(site));

  section('lock', 'The bus lock', `<h2>The bus lock</h2>
<p>${descr('Profile', 'BusLock')}</p>
<ul>
<li><strong>Holding.</strong> An operation of CPU cost <i>c</i> runs <i>c</i> &times; (1 &minus; <code>holdFraction</code>) outside the lock, then asks for it, holds it for <i>c</i> &times; <code>holdFraction</code> and takes effect in the model as it releases it: the lock orders operations, as the bus-wide order of the specification needs.</li>
<li><strong>Waiting.</strong> A thread that finds the lock held spins on its CPU (the timeline's <em>spinning for the bus lock</em>); with <code>spin</code> set, after spinning that long it sleeps on the lock (a futex wait, the profile's sleep cost), and a release that finds no spinner wakes the oldest sleeper, paying the profile's wake costs; a thread arriving meanwhile may take the lock first.</li>
<li><strong>Handover.</strong> A release goes to the oldest spinner. With <code>handover: spinning</code> all S spinners poll one word: the release invalidates their copies, they re-read the line one after another, and the next holder gets it after (S + 1) / 2 line transfers on average, one of them already in its op cost: the handover adds <code>lineTransfer</code> &times; (S &minus; 1) / 2. The more waiters, the longer each handover, so the lock's throughput falls as cores are added. With <code>handover: queued</code> (an MCS lock, Linux's qspinlock) each waiter polls its own line: nothing is added, and the lock's throughput stays at 1 / hold.</li>
<li><strong>Not modelled.</strong> A holder losing its CPU while it holds the lock (a hold is within one operation); different transfer costs between near and far cores; locks finer than the whole bus (a socket's or a process's).</li>
</ul>
${def('Profile', 'BusLock')}
<p>The results of a run on a profile with a lock have a <code>lock</code> object (acquisitions, contended acquisitions, wait, spin and busy time, handover time); the metrics <code>lockUtilization</code>, <code>lockWaitNsPerOp</code>, <code>lockContention</code> and <code>lockHandoverShare</code> read it.</p>`);

  section('sweeps', 'Sweeps', `<h2>Sweeps</h2>
<p>${linker.text(s.file('Sweep')!.json.description ?? '')} <code>tessera sim --sweep FILE [--seeds N] [--json FILE] [--svg DIR]</code>. An axis's <code>field</code> is any numeric field of the scenario or of each transport's profile, by path:</p>
<ul>
<li><code>cpus</code>, <code>jitter</code>, <code>limits.queueCapacityMessages</code>, <code>background.cpus</code>: fields of the scenario;</li>
<li><code>workload.clients</code>, or <code>clients</code> alone: a field of the workload (any the workload's kind has, given in the file or not);</li>
<li><code>workload.peers.1.threads</code>, <code>workload.peers.1.program.2.body.0.bytes</code>: a field of a script's peer or step, by index;</li>
<li><code>profile.wake.latency.ns</code>, or <code>profile.wake.latency</code> (a cost's <code>ns</code>), <code>profile.lock.holdFraction</code>: a field of each transport's profile.</li>
</ul>
<p>A field the scenario and profile do not have, or a metric the registry does not know, is an error before anything runs (exit 2), naming the fields or metrics there are; each point is then checked like a file. A point's runs use seeds <code>seed</code>, <code>seed + 1</code>, ...: the charts draw their median and a band from the lowest to the highest. The first axis is the charts' x axis; the second gives one line per transport and value (colour per transport, line style per value); each value of a third or fourth axis makes charts of its own.</p>
${def('Sweep', 'Sweep')}
<h3>axes</h3>${def('Sweep', 'SweepAxis')}
${jsonFiles(path.join(site.root, 'simulator', 'sweeps'))
  .map((f) => `<p><code>simulator/sweeps/${esc(f.name)}.json</code>:</p><pre class="code lang-json"><code>${s.jsonHtml('Sweep', f.json, linker)}</code></pre>`)
  .join('\n')}
<h3 id="study-files">Scale study files</h3>
<p>${linker.text(s.file('ScaleStudy')!.json.description ?? '')} See <a href="scale-study.html">Scale study</a>.</p>
${def('ScaleStudy', 'ScaleStudy')}
<h3>workloads</h3>${def('ScaleStudy', 'StudyWorkload')}
<h3>perCore</h3>${def('ScaleStudy', 'StudyField')}`);

  section('metrics', 'Metrics', `<h2>Metrics</h2>
<p>What a run is judged by: the ids sweep files, charts and the scale study use (<code>simulator/metrics.ts</code>), each with its unit and where in the results (<a href="schemas.html#schema-SimResults"><code>SimResults</code></a>) it comes from. Charts label their axes with the label and unit.</p>
${table(
  ['Id', 'Label', 'Unit', 'Better', 'Meaning', 'From'],
  METRICS.map((m) => [`<code>${esc(m.id)}</code>`, esc(m.label), esc(m.unit), m.better ?? '', linker.text(m.meaning), `<code>${esc(m.from)}</code>`]),
  'fields',
)}
<p>Outputs: one run's results are <a href="schemas.html#schema-SimResults"><code>SimResults</code></a> (<code>--json</code>); <code>--compare</code> writes <a href="schemas.html#schema-CompareResults"><code>CompareResults</code></a>, <code>--sweep</code> <a href="schemas.html#schema-SweepResults"><code>SweepResults</code></a>, <code>--scale-study</code> <a href="schemas.html#schema-ScaleStudyResults"><code>ScaleStudyResults</code></a>. The timeline of a run (<code>--svg</code>) records what each thread was doing: <code>run</code>, <code>spin</code>, <code>lock</code> (spinning for the bus lock), <code>ready</code> (runnable) and <code>sleep</code>.</p>`);

  section('trace', 'Trace format', `<h2>Trace format</h2>
<p><code>tessera sim SCENARIO --trace FILE</code> writes one JSON object a line: a line for every model operation (by a simulated thread or by the bus), then a line for every bus event it caused, in the order the model reports them. Simulated time never goes back from one line to the next; the results' <code>hash</code> covers the trace.</p>
<h3>Operation lines</h3>${traceTable(TRACE_OPERATION_FIELDS, linker)}
<h3>Event lines</h3>${traceTable(TRACE_EVENT_FIELDS, linker)}
${traceEvents(site)}`);

  return { toc, description: 'The Tessera simulator reference: scenario, workload, step, fault, profile, lock, sweep and study fields; metrics; the trace format.', body: parts.join('\n') };
}
