// schemas.html: the generated JSON Schemas, pretty-printed with every $ref a
// link, each definition once with a field table; the raw files are copied
// next to the page for download.
import { anchorId, esc, table, type TocEntry } from '../html';
import { type Json, displayName } from '../schemas';
import type { Site } from '../site';
import type { PageBody } from './page';

export function schemaDownloadPath(file: string): string {
  return `schemas/${file.replace(/\/schema\//, '/')}`;
}

export function schemasPage(site: Site): PageBody {
  const linker = site.linker.forPage('schemas.html');
  const s = site.schemas;
  const fieldTable = (fileName: string, schema: Json) => {
    const fields = s.fields(fileName, schema, linker);
    if (fields.length === 0) return '';
    return table(['Field', 'Type', 'Description'], fields.map((f) => [
      `<code>${esc(f.name)}</code>${f.required ? '' : ' <span class="optional">optional</span>'}`,
      `<span class="type">${f.type}</span>`,
      f.description,
    ]), 'fields');
  };

  const fileRows = s.files.map((f) => [
    `<a href="#schema-${anchorId(f.name)}"><code>${esc(f.name)}</code></a>`,
    linker.text(f.json.description ?? rootSummary(f.json)),
    `<a href="${schemaDownloadPath(f.file)}"><code>${esc(f.file)}</code></a>`,
  ]);

  const fileSections = s.files.map((f) => {
    const { definitions, ...rootPart } = f.json;
    const union = rootPart.oneOf ?? rootPart.anyOf;
    const members = Array.isArray(union)
      ? `<p>One of: ${union.map((m: Json) => s.typeExpr(f.name, m, linker)).join(', ')}${rootPart.discriminator ? ` (discriminated by <code>${esc(rootPart.discriminator.propertyName)}</code>)` : ''}.</p>`
      : '';
    const defs = Object.keys(definitions ?? {});
    const defList = defs.length === 0 ? '' : `<p class="defs"><span class="ref-kind">Definitions</span> ${defs.map((d) => s.typeExpr(f.name, { $ref: `#/definitions/${d}` }, linker)).join(', ')}</p>`;
    return `<section class="schema-file" id="schema-${anchorId(f.name)}">
<h3><code>${esc(f.name)}</code> <small><a href="${schemaDownloadPath(f.file)}">${esc(f.file)}</a></small></h3>
${rootPart.description ? `<p>${linker.text(rootPart.description)}</p>` : ''}
${members}
${rootPart.type === 'object' ? fieldTable(f.name, rootPart) : ''}
${defList}
<pre class="code lang-json"><code>${s.jsonHtml(f.name, defs.length ? { ...rootPart, definitions: `… ${defs.length} definitions, listed above` } : rootPart, linker)}</code></pre>
</section>`;
  }).join('\n');

  const typeSections = s.types.map((t) => {
    const home = t.files[0];
    const label = displayName(t.name);
    return `<section class="type-def" id="${t.anchor}">
<h3><code>${esc(label)}</code>${label !== t.name ? ` <small>generated as <code>${esc(t.name)}</code></small>` : ''} <small class="in">in ${t.files.map((f) => `<a href="#schema-${anchorId(f)}">${esc(f)}</a>`).join(', ')}</small></h3>
${t.schema.description ? `<p>${linker.text(t.schema.description)}</p>` : ''}
${t.schema.type === 'object' ? fieldTable(home, t.schema) : ''}
<pre class="code lang-json"><code>${s.jsonHtml(home, t.schema, linker)}</code></pre>
</section>`;
  }).join('\n');

  const toc: TocEntry[] = [
    { id: 'files', label: 'Schema files' },
    ...s.files.map((f) => ({ id: `schema-${anchorId(f.name)}`, label: f.name, sub: true })),
    { id: 'types', label: 'Types' },
  ];
  const body = `<h1 id="top">JSON Schemas</h1>
<p class="lead">The wire forms of operations, results, deliveries and the rest, generated from the TypeScript types of <code>spec/types.ts</code> by typescript-json-schema (<code>npm run schemas</code>; never edited by hand). They are JSON Schema draft-07; unions of tagged objects are <code>oneOf</code> with a <code>discriminator</code>, so a validator (ajv with <code>discriminator: true</code>) reports one clear error for a bad input.</p>
<h2 id="files">Schema files</h2>
${table(['Schema', 'What it describes', 'File'], fileRows, 'files-table')}
${fileSections}
<h2 id="types">Types</h2>
<p>Every named definition, once; a definition shared by several schema files is listed with all of them.</p>
${typeSections}`;
  return { toc, description: 'Tessera JSON Schemas, pretty-printed with links.', body };
}

function rootSummary(json: Json): string {
  if (Array.isArray(json.enum)) return `One of ${json.enum.length} values.`;
  const union = json.oneOf ?? json.anyOf;
  if (Array.isArray(union)) return `One of ${union.map((m: Json) => displayName(String(m.$ref ?? '').replace('#/definitions/', ''))).join(', ')}.`;
  return '';
}
