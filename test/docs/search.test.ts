// Docs search: pages cut into sections, indexed at generation time, queried
// in the browser with the same options (the queries here run in Node).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import { repositoryRoot } from '../../cli/docs';
import { searchIndex, sectionsOf } from '../../cli/docs/search';

describe('docs: full-text search', () => {
  it('cuts a page into sections at anchored headings, clauses and table rows, each under the heading above it', () => {
    const html = `<nav>site map</nav><main id="main"><h1 id="top">Spec</h1><p>Intro text.</p>
<h2 id="QUOTA" class="family">Backpressure and quotas <span class="family-id">QUOTA</span> <a class="header-anchor" href="#QUOTA">#</a></h2>
<section class="clause" id="QUOTA-1" data-title="QUOTA-1 Capacity"><p>A queue&#39;s capacity &amp; quota.</p>
<p class="clause-refs">Coverage 3 tests</p></section>
<table><tr id="DEAD"><td><code>DEAD</code></td><td>The node died.</td></tr></table>
<svg><text>drawn text</text></svg><footer>generated</footer></main>`;
    const docs = sectionsOf('spec.html', 'Specification', html);
    assert.deepStrictEqual(
      docs.map((d) => [d.u, d.t, d.c, d.x]),
      [
        ['spec.html', 'Specification', '', 'Spec Intro text.'],
        ['spec.html#QUOTA', 'Backpressure and quotas QUOTA', 'Specification', ''],
        ['spec.html#QUOTA-1', 'QUOTA-1 Capacity', 'Backpressure and quotas QUOTA', "A queue's capacity & quota."],
        ['spec.html#DEAD', 'DEAD', 'Backpressure and quotas QUOTA', 'The node died.'],
      ].filter((row) => row[3] !== '' || row[0] === 'spec.html'),
    );
  });

  it('the committed index finds init_ok on the driver protocol page, backpressure in the QUOTA clauses, and nothing for a made-up word', () => {
    const sandbox = { window: {} as { TESSERA_SEARCH?: { docs: string[][]; index: unknown } } };
    vm.runInNewContext(fs.readFileSync(path.join(repositoryRoot(), 'docs', 'search-index.js'), 'utf8'), sandbox);
    const data = sandbox.window.TESSERA_SEARCH!;
    const urls = (q: string) => searchIndex(data.index, q).map((r) => data.docs[r.id][0]);
    assert.ok(urls('init_ok').some((u) => u.startsWith('driver-protocol.html#')), urls('init_ok').join(' '));
    assert.ok(urls('backpressure').filter((u) => /^spec\.html#QUOTA-\d+$/.test(u)).length >= 2, urls('backpressure').join(' '));
    assert.strictEqual(urls('CALL-2')[0], 'spec.html#CALL-2');
    assert.ok(urls('backpresure').some((u) => u.startsWith('spec.html#QUOTA')), 'a small typo is forgiven');
    assert.deepStrictEqual(urls('qwzxvq'), []);
  });
});
