// errors.html, notices.html, limits.html: the registries of spec/registry/,
// rendered as tables with every row anchored by its name.
import { ERRORS } from '../../../spec/registry/errors';
import { LIMITS } from '../../../spec/registry/limits';
import { NOTICES } from '../../../spec/registry/notices';
import { OPERATIONS } from '../../../spec/registry/operations';
import { anchoredTable, esc } from '../html';
import type { Site } from '../site';
import type { PageBody } from './page';

export function errorsPage(site: Site): PageBody {
  const linker = site.linker.forPage('errors.html');
  const rows = ERRORS.map((e) => ({
    id: e.code,
    cells: [
      `<a class="row-anchor" href="#${e.code}"><code>${esc(e.code)}</code></a>`,
      linker.text(e.cause),
      e.stateUnchanged ? 'unchanged' : '<strong>changed</strong>',
      OPERATIONS.filter((o) => o.errors.includes(e.code)).map((o) => linker.operation(o.name)).join(', '),
      linker.clauseList(e.clauses),
    ],
  }));
  return {
    toc: ERRORS.map((e) => ({ id: e.code, label: e.code })),
    description: 'Tessera error codes: causes, atomicity and the operations that return them.',
    body: `<h1 id="top">Errors</h1>
<p class="lead">One code per cause (${linker.clause('ERR-2')}), from <code>spec/registry/errors.ts</code>. When several checks fail, the first in the order of ${linker.clause('ERR-1')} decides the code; the order for each operation is on the <a href="operations.html">operations</a> page. A failed operation leaves the state unchanged (${linker.clause('ATOMIC-1')}), with the one exception marked below.</p>
${anchoredTable(['Code', 'Cause', 'State after', 'Returned by', 'Clauses'], rows, 'registry errors-table')}`,
  };
}

export function noticesPage(site: Site): PageBody {
  const linker = site.linker.forPage('notices.html');
  const rows = NOTICES.map((n) => ({
    id: n.type,
    cells: [
      `<a class="row-anchor" href="#${n.type}"><code>${esc(n.type)}</code></a>`,
      linker.text(n.to),
      linker.text(n.when),
      linker.text(n.fields),
      linker.clauseList(n.clauses),
    ],
  }));
  const noticeSchema = site.schemas.anchorOf('Delivery', 'Notice');
  return {
    toc: NOTICES.map((n) => ({ id: n.type, label: n.type })),
    description: 'Tessera notices: what the bus tells peers, to whom and when.',
    body: `<h1 id="top">Notices</h1>
<p class="lead">Notices arrive in the receive queue like messages, as deliveries of kind <code>notice</code>${noticeSchema ? ` (<a class="type-ref" href="schemas.html#${noticeSchema}">Notice</a>)` : ''}. They never fail and never count toward capacity or quota (${linker.clause('NOTICE-4')}); those one operation causes are enqueued in the order the affected handles were created (${linker.clause('NOTICE-5')}). From <code>spec/registry/notices.ts</code>.</p>
${anchoredTable(['Type', 'Sent to', 'When', 'Fields', 'Clauses'], rows, 'registry')}`,
  };
}

const unitFormat = new Intl.NumberFormat('en-US');

export function limitsPage(site: Site): PageBody {
  const linker = site.linker.forPage('limits.html');
  const rows = LIMITS.map((l) => ({
    id: l.name,
    cells: [
      `<a class="row-anchor" href="#${l.name}"><code>${esc(l.name)}</code></a>`,
      `<span class="num">${unitFormat.format(l.defaultValue)}</span>`,
      esc(l.unit),
      linker.text(l.meaning),
      linker.clauseList(l.clauses),
    ],
  }));
  const limitsSchema = site.schemas.file('Limits');
  return {
    toc: LIMITS.map((l) => ({ id: l.name, label: l.name })),
    description: 'Tessera limits: what a bus is created with and the defaults.',
    body: `<h1 id="top">Limits</h1>
<p class="lead">A bus is created with these limits (${linker.clause('BUS-1')}); each must be a positive safe integer, and any left out takes its default. From <code>spec/registry/limits.ts</code>${limitsSchema ? `; wire form: <a href="schemas.html#schema-Limits">Limits</a>` : ''}.</p>
${anchoredTable(['Limit', 'Default', 'Unit', 'Meaning', 'Clauses'], rows, 'registry')}`,
  };
}
