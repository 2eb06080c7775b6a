// tutorial.html: the protocol's story, told by the tour's own steps
// (cli/tour.ts) run on the reference backend at generation time, each step
// with its sequence diagram (cli/docs/sequence.ts) and what `npm start`
// prints for it. A step added to the tour appears here with no more work.
import { esc, type TocEntry } from '../html';
import { codeBlock } from '../markdown';
import { sequenceSvg } from '../sequence';
import type { Site } from '../site';
import type { StoryStep } from '../story';
import type { PageBody } from './page';

export function stepAnchor(step: StoryStep): string {
  return `step-${step.index + 1}`;
}

function counts(step: StoryStep): string {
  const count = (kind: string, style?: string) =>
    step.marks.filter((m) => m.kind === kind && (style === undefined || ('style' in m && m.style === style))).length;
  const parts: [number, string, string][] = [
    [count('send', 'message') + count('send', 'call'), 'message', 'messages'],
    [count('send', 'notice'), 'notice', 'notices'],
    [count('reply'), 'reply', 'replies'],
    [count('failure'), 'failed operation', 'failed operations'],
    [count('discard'), 'entry discarded unread', 'entries discarded unread'],
  ];
  return parts
    .filter(([k]) => k > 0)
    .map(([k, one, many]) => `${k} ${k > 1 ? many : one}`)
    .join(', ');
}

function stepSection(site: Site, step: StoryStep): string {
  const linker = site.linker.forPage('tutorial.html');
  const id = stepAnchor(step);
  const title = `${step.index + 1}. ${step.step.title}`;
  const label = `Sequence diagram of step ${title}: ${counts(step) || 'operations on one peer'}`;
  return `<section class="story-step" id="${id}">
<h2>${esc(title)}</h2>
<p>${linker.text(step.step.story)}</p>
<figure class="diagram-figure sequence-figure">
${sequenceSvg(step, label)}
<figcaption>${esc(counts(step) || 'Operations on one peer')}, as the model ran them. Time goes down.</figcaption>
</figure>
<details class="tour-output"><summary>What <code>npm start</code> prints for this step</summary>
${codeBlock(step.lines.join('\n'), '')}
</details>
</section>`;
}

export function tutorialPage(site: Site, story: readonly StoryStep[]): PageBody {
  const linker = site.linker.forPage('tutorial.html');
  const c = (id: string) => linker.clause(id);
  const toc: TocEntry[] = story.map((s) => ({ id: stepAnchor(s), label: `${s.index + 1}. ${s.step.title}` }));
  const body = `<h1 id="top">Tutorial: the protocol's story</h1>
<p class="lead">Four peers (a service, two clients and a worker) meet on one bus and use every part of Tessera: handles handed out and narrowed, an introduction, a call whose reply is delegated, a multicast, a revocation, a node's death and the end of everything. Each step below is run on the reference backend when these pages are generated, every operation checked by the formal model; the diagrams draw what the model did, and <code>npm start</code> tells the same story in the terminal.</p>
<section id="reading">
<h2>Reading the diagrams</h2>
<ul class="legend">
<li>Each peer has a lifeline; <strong>bus</strong> is the bus owner, which attaches peers, and the bus, which sends notices. Time goes down.</li>
<li><span class="key key-message"></span> A message runs from the operation that queued it to the <code>receive</code> that delivered it: a slanted arrow is time spent in the receiver's one queue, in the bus order (${c('ORDER-1')}). A call is drawn bold; the caller's bar is the time it waits for its one outcome (${c('CALL-2')}).</li>
<li><span class="key key-reply"></span> A reply goes straight to the caller, past every queue (${c('CALL-6')}).</li>
<li><span class="key key-notice"></span> A notice comes from the bus (${c('NOTICE-1')}).</li>
<li><span class="key key-failure">✕</span> A cross on a lifeline is a failed operation, which changed nothing (${c('ATOMIC-1')}); at the end of an arrow, an entry discarded unread (${c('DESTROY-3')}, ${c('CLOSE-4')}).</li>
<li>Handle names such as <code>h3</code> belong to the peer that holds them (${c('HANDLE-2')}): the sender's name for a handle and the receiver's name for its copy differ.</li>
</ul>
</section>
${story.map((s) => stepSection(site, s)).join('\n')}
<section id="run-it">
<h2>Run it yourself</h2>
<p><code>npm ci &amp;&amp; npm start</code> runs the same story and prints every operation, its result and every delivery; the steps are data in <code>cli/tour.ts</code>, shared by the tour and this page.</p>
</section>`;
  return {
    toc: [{ id: 'reading', label: 'Reading the diagrams' }, ...toc, { id: 'run-it', label: 'Run it yourself' }],
    description: "Tessera tutorial: the protocol's story in sequence diagrams drawn from real model runs.",
    body,
  };
}
