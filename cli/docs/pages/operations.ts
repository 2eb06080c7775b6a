// operations.html: one section per operation of the registry, with its
// arguments and result (from the JSON Schemas), the ordered checks (the
// model's rules, which are the guards of the xstate bus machine), every error
// with its cause, and the model's answer to an example invocation.
import { ERRORS } from '../../../spec/registry/errors';
import { OPERATIONS, type OperationEntry } from '../../../spec/registry/operations';
import { RULES } from '../../../model/rules';
import { busMachine } from '../../../model/step';
import { esc, type Linker, table, type TocEntry } from '../html';
import { codeBlock } from '../markdown';
import type { Site } from '../site';
import { compactJson, type PageBody } from './page';

/** The guard names of the bus machine, per operation, in the order it tries them. */
function guardNames(): Record<string, string[]> {
  const config = (busMachine as unknown as { config: { states: { running: { on: Record<string, { guard?: unknown }[]> } } } }).config;
  const out: Record<string, string[]> = {};
  for (const [event, transitions] of Object.entries(config.states.running.on)) {
    out[event] = transitions.map((t) => (typeof t.guard === 'string' ? t.guard : '')).filter(Boolean);
  }
  return out;
}

function fieldsTable(site: Site, file: string, typeName: string, linker: Linker): string {
  const def = site.schemas.definition(file, typeName);
  if (!def) return `<p class="muted">No schema definition <code>${esc(typeName)}</code> in ${esc(file)}.json.</p>`;
  const fields = site.schemas.fields(file, def, linker);
  if (fields.length === 0) return '<p>The empty object <code>{}</code>.</p>';
  return table(['Field', 'Type', 'Description'], fields.map((f) => [
    `<code>${esc(f.name)}</code>${f.required ? '' : ' <span class="optional">optional</span>'}`,
    `<span class="type">${f.type}</span>`,
    f.description,
  ]), 'fields');
}

function typeLink(site: Site, file: string, typeName: string, linker: Linker): string {
  const anchor = site.schemas.anchorOf(file, typeName);
  return anchor ? `<a class="type-ref" href="${linker.href('schemas.html', anchor)}">${esc(typeName)}</a>` : `<code>${esc(typeName)}</code>`;
}

function operationSection(site: Site, op: OperationEntry, guards: string[], linker: Linker): string {
  const rules = RULES[op.name] ?? [];
  const checks = rules.map((rule, i) => {
    const guard = guards[i] ? `<code class="guard" title="${esc(guards[i])}">${esc(guards[i].split(' ')[0])}</code>` : '';
    const effect = rule.onFail === 'block-if-waiting' ? ' <span class="note">with <code>timeoutMs</code> &gt; 0 the send waits instead (SEND-7)</span>'
      : rule.onFail === 'consume-reply-handle' ? ' <span class="note">the failure consumes the reply handle (CALL-4)</span>' : '';
    return `<li id="${op.name}-check-${i + 1}">${linker.clause(rule.clause)} ${linker.text(rule.says)}${effect.replace(/\((SEND-7|CALL-4)\)/, (_m, id: string) => `(${linker.clause(id)})`)} ${guard}</li>`;
  }).join('\n');
  const errors = table(['Code', 'Cause'], op.errors.map((code) => {
    const entry = ERRORS.find((e) => e.code === code);
    return [linker.error(code), entry ? linker.text(entry.cause) : ''];
  }), 'errors');
  const examples = site.example.filter((s) => s.op.op === op.name);
  const shown = [examples.find((s) => !('ok' in s.result) || s.result.ok), examples.find((s) => 'ok' in s.result && !s.result.ok)]
    .filter((s): s is NonNullable<typeof s> => s !== undefined);
  const example = shown.length === 0 ? '' : `<h3>Example <small>computed by the model</small></h3>
${shown.map((s) => {
    const n = site.example.indexOf(s) + 1;
    const completions = s.completions.map((c) => `\n// completion\n${compactJson(c)}`).join('');
    return `<p class="example-note"><a href="#example-${n}">Step ${n}</a> of the <a href="#example">example exchange</a>: ${linker.text(s.note)}</p>
${codeBlock(`// invocation\n${compactJson(s.op)}\n// result\n${compactJson(s.result)}${completions}`, 'json')}`;
  }).join('\n')}`;
  const blocking = op.blocking
    ? `<p>As a blocking operation it may first return ${typeLink(site, 'Invocation', 'PendingResult', linker)} <code>{"pending": true, "ticket": n}</code>; its outcome then arrives as a <a href="${linker.href('schemas.html', 'schema-Completion')}">Completion</a> with the same ticket (${linker.clause('TIME-2')}).</p>`
    : '';
  return `<section class="op" id="${op.name}">
<h2><code>${esc(op.name)}</code>${op.by === 'owner' ? ' <span class="tag owner">bus owner</span>' : ' <span class="tag">peer</span>'}${op.blocking ? ' <span class="tag blocking">blocking</span>' : ''}</h2>
<p class="summary">${linker.text(op.summary)}</p>
<p class="clauses"><span class="ref-kind">Clauses</span> ${linker.clauseList(op.clauses)}</p>
<h3>Arguments <small>${typeLink(site, 'Operation', op.argumentsType, linker)}</small></h3>
${fieldsTable(site, 'Operation', op.argumentsType, linker)}
<h3>Result <small>${typeLink(site, 'Invocation', op.resultType, linker)}</small></h3>
<p>On success: <code>{"ok": true, "value": ${esc(op.resultType)}}</code>; on failure: <code>{"ok": false, "error": code}</code>.</p>
${fieldsTable(site, 'Invocation', op.resultType, linker)}
${blocking}
<h3>Checks, in order <small>the model's guards</small></h3>
<p class="muted">The first failing check decides the error (${linker.clause('ERR-1')}); a failed operation changes nothing (${linker.clause('ATOMIC-1')}).</p>
<ol class="checks">
${checks}
</ol>
<h3>Errors</h3>
${errors}
${example}
</section>`;
}

export function operationsPage(site: Site): PageBody {
  const linker = site.linker.forPage('operations.html');
  const guards = guardNames();
  const toc: TocEntry[] = [
    ...OPERATIONS.map((o) => ({ id: o.name, label: o.name })),
    { id: 'example', label: 'Example exchange' },
  ];
  const overview = table(['Operation', 'Summary', 'Invoked by', 'Blocking'], OPERATIONS.map((o) => [
    `<a href="#${o.name}"><code>${esc(o.name)}</code></a>`,
    linker.text(o.summary),
    o.by === 'owner' ? 'bus owner' : 'peer',
    o.blocking ? 'yes' : 'no',
  ]), 'overview');
  const exchange = table(['#', 'Step', 'Invocation', 'Result'], site.example.map((s, i) => [
    `<span id="example-${i + 1}">${i + 1}</span>`,
    linker.text(s.note),
    `<code class="json">${esc(compactJson(s.op))}</code>`,
    `<code class="json">${esc(compactJson(s.result))}</code>${s.completions.map((c) => `<br><span class="muted">completion</span> <code class="json">${esc(compactJson(c))}</code>`).join('')}`,
  ]), 'exchange');
  const body = `<h1 id="top">Operations</h1>
<p class="lead">Every operation of the protocol, generated from the operation and error registries (<code>spec/registry/</code>), the JSON Schemas (<code>spec/schema/</code>) and the model's rules (<code>model/rules.ts</code>). The checks listed for each operation are the guards of the model's xstate bus machine, in the order it tries them.</p>
${overview}
${OPERATIONS.map((o) => operationSection(site, o, guards[o.name] ?? [], linker)).join('\n')}
<section id="example">
<h2>Example exchange</h2>
<p>Two peers run through the model, which computed every result below (<code>cli/docs/example.ts</code>). Peers, handles and tickets are numbered as the model numbers them (${linker.clause('PEER-1')}, ${linker.clause('HANDLE-2')}, ${linker.clause('TIME-2')}); payloads are base64.</p>
${exchange}
</section>`;
  return { toc, description: 'Tessera operations: arguments, results, ordered checks and errors.', body };
}
