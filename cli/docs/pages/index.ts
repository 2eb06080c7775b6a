// index.html: what Tessera is, and a map of the site.
import { ERRORS } from '../../../spec/registry/errors';
import { OPERATIONS } from '../../../spec/registry/operations';
import { esc } from '../html';
import type { Site } from '../site';
import type { PageBody } from './page';

export function indexPage(site: Site): PageBody {
  const linker = site.linker.forPage('index.html');
  const cards = site.pages.filter((p) => p.file !== 'index.html').map((p) => `<a class="card" href="${p.file}">
<span class="card-group">${esc(p.group)}</span>
<span class="card-title">${esc(p.title)}</span>
<span class="card-text">${esc(p.blurb)}</span>
</a>`).join('\n');
  const c = (id: string) => linker.clause(id);
  const ops = OPERATIONS.map((o) => `<a href="operations.html#${o.name}"><code>${esc(o.name)}</code></a>`).join(' ');
  const body = `<header class="hero">
<p class="eyebrow">Protocol reference</p>
<h1 id="top">Tessera</h1>
<p class="lead">A capability-based messaging protocol for local IPC. Processes attach to a bus as <em>peers</em>, own <em>nodes</em> that receive messages, and reach each other only through <em>handles</em>: unforgeable, per-peer names for a node that carry rights and an optional badge.</p>
</header>
<section id="map">
<h2>This site</h2>
<div class="cards">
${cards}
</div>
</section>
<section id="in-brief">
<h2>The protocol in brief</h2>
<ul class="brief">
<li><strong>Authority is a handle.</strong> A peer can send to a node only through a handle with the <code>send</code> right, and pass a handle on only if it carries <code>grant</code> (${c('HANDLE-4')}). Rights never grow: minting and transfers only attenuate them (${c('MINT-2')}, ${c('SEND-4')}); a badge, once set, is fixed and tells the receiver which handle was used (${c('MINT-3')}).</li>
<li><strong>Messages carry handles.</strong> <code>send</code>, <code>call</code> and <code>multicast</code> deliver a payload and handles into the owner's single receive queue, in one bus-wide order (${c('ORDER-1')}). A <code>call</code> carries a one-shot reply handle and waits for exactly one outcome (${c('CALL-2')}).</li>
<li><strong>Authority can be taken back.</strong> <code>revoke</code> disables every handle derived from one, everywhere (${c('REVOKE-1')}); destroying a node makes every handle to it dead (${c('DESTROY-2')}). Holders learn of both by notices, which never fail (${c('NOTICE-4')}).</li>
<li><strong>Nothing is lost silently.</strong> Every operation is atomic: a failure changes nothing (${c('ATOMIC-1')}) and returns one of ${ERRORS.length} codes, decided by a fixed check order (${c('ERR-1')}). Queues have capacities and per-sender quotas; a full queue fails or waits, it never drops (${c('QUOTA-2')}).</li>
</ul>
<p>The ${OPERATIONS.length} operations: ${ops}.</p>
</section>
<section id="sources">
<h2>Where it comes from</h2>
<p>Every page is generated from the project's single sources of truth, so the docs cannot drift from them: the prose spec (<code>${esc(site.spec.file)}</code>), the registries of operations, errors, notices and limits (<code>spec/registry/</code>), the JSON Schemas generated from <code>spec/types.ts</code>, the formal model's rules and lifecycle machines (<code>model/</code>), and the clause citations of the tests and conformance cases. Examples are computed by the model. <code>npm run docs</code> regenerates the site; a test fails when the committed copy is stale.</p>
</section>`;
  return { toc: [], description: 'Tessera: a capability-based messaging protocol for local IPC. Spec, operations, lifecycles, schemas and conformance coverage.', body };
}
