// lifecycles.html: one state diagram per lifecycle machine of the model
// (model/lifecycles.ts), drawn from the machine definitions, and the states
// with their descriptions and transitions.
import { esc, table, type TocEntry } from '../html';
import { codeBlock } from '../markdown';
import { type Lifecycle, inlineSvg, lifecycleDot, renderSvg } from '../diagrams';
import type { Site } from '../site';
import type { PageBody } from './page';

const TITLES: Record<string, string> = {
  peer: 'Peer', node: 'Node', handle: 'Node handle', replyHandle: 'Reply handle', call: 'Call',
  blockedSend: 'Blocked send', receiveWait: 'Waiting receive', noSendersNotice: 'No-senders notice', roomWatch: 'Room watch',
};

export function lifecycleTitle(lc: Lifecycle): string {
  return TITLES[lc.name] ?? lc.name;
}

export interface LifecyclesOutput {
  page: PageBody;
  /** docs-relative path -> standalone SVG document. */
  svgFiles: Map<string, string>;
}

export async function lifecyclesPage(site: Site): Promise<LifecyclesOutput> {
  const linker = site.linker.forPage('lifecycles.html');
  const svgFiles = new Map<string, string>();
  const sections: string[] = [];
  for (const lc of site.lifecycles) {
    const dot = lifecycleDot(lc);
    const svg = await renderSvg(dot);
    const file = `diagrams/${lc.name}.svg`;
    svgFiles.set(file, svg);
    const rows = lc.states.map((s) => [
      `<span id="${lc.name}-${s.name}"><code>${esc(s.name)}</code></span>`,
      [s.initial ? '<span class="tag">initial</span>' : '', s.final ? '<span class="tag final">final</span>' : ''].filter(Boolean).join(' '),
      linker.text(s.description),
      s.on.length === 0 ? '<span class="muted">none</span>'
        : s.on.map(([event, target]) => `<code>${esc(event)}</code>&nbsp;→&nbsp;<a href="#${lc.name}-${target}">${esc(target)}</a>`).join('<br>'),
    ]);
    sections.push(`<section class="lifecycle" id="${lc.name}">
<h2>${esc(lifecycleTitle(lc))} <span class="family-id">${esc(lc.name)}</span></h2>
<figure class="diagram-figure">
${inlineSvg(svg, `lc-${lc.name}`, `State diagram of the ${lifecycleTitle(lc).toLowerCase()} lifecycle`)}
<figcaption>The <code>${esc(lc.id)}</code> machine: a filled dot marks the initial state, a double border a final state. <a href="${file}">SVG file</a></figcaption>
</figure>
${table(['State', '', 'Meaning', 'Transitions'], rows, 'states')}
<details class="dot"><summary>DOT source</summary>
${codeBlock(dot.trimEnd(), 'dot')}
</details>
</section>`);
  }
  const toc: TocEntry[] = site.lifecycles.map((lc) => ({ id: lc.name, label: lifecycleTitle(lc) }));
  const body = `<h1 id="top">Lifecycles</h1>
<p class="lead">The status of every entity of the protocol moves only along these machines: the model changes a status through the transition table read from the same xstate definitions (<code>model/lifecycles.ts</code>), and an illegal change is a bug in the model. The diagrams are drawn from those definitions with Graphviz (<code>@viz-js/viz</code>).</p>
${sections.join('\n')}`;
  return { page: { toc, description: 'Tessera lifecycle state machines as diagrams.', body }, svgFiles };
}
