// The docs' Markdown (markdown-it plus the site's rules): what the generated
// pages rely on, checked on small inputs.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Linker } from '../../cli/docs/html';
import { parseBlocks, plainText, renderDocument, renderInline } from '../../cli/docs/markdown';
import { rewriteHref } from '../../cli/docs/pages/spec';
import { parseSpec } from '../../cli/docs/spec-source';
import { repositoryRoot } from '../../cli/docs';
import { parseClauses } from '../../spec/clauses';

const linker = new Linker(new Set(['CALL-2', 'SEND-4']), 'page.html');

describe('docs: Markdown through markdown-it', () => {
  it('links clause ids and error codes in prose, and clause ids, operation calls and codes in code spans', () => {
    const html = renderInline('See CALL-2 and BAD_HANDLE; `SEND-4`, `send(h, m)`, `DEAD`, `send`, `NOPE-9`.', { linker });
    assert.match(html, /<a class="clause-ref" href="spec.html#CALL-2">CALL-2<\/a>/);
    assert.match(html, /<a class="code-ref" href="errors.html#BAD_HANDLE">BAD_HANDLE<\/a>/);
    assert.match(html, /<a class="code-link" href="spec.html#SEND-4"><code>SEND-4<\/code><\/a>/);
    assert.match(html, /<a class="code-link" href="operations.html#send"><code>send\(h, m\)<\/code><\/a>/);
    assert.match(html, /<a class="code-link" href="errors.html#DEAD"><code>DEAD<\/code><\/a>/);
    assert.match(html, /, <code>send<\/code>, <code>NOPE-9<\/code>\./, 'a bare right name and an unknown id stay code');
  });

  it('keeps the text of links to repository files and drops the link; web and site links stay, unlinked inside', () => {
    const html = renderInline(
      'Read [the model](model/step.ts), [RFC 2119](https://www.rfc-editor.org/rfc/rfc2119) and [CALL-2 here](spec.html#CALL-2).',
      { linker, rewriteHref },
    );
    assert.match(html, /^Read the model, <a href="https:\/\/www.rfc-editor.org\/rfc\/rfc2119">RFC 2119<\/a>/);
    assert.match(html, /<a href="spec.html#CALL-2">CALL-2 here<\/a>/, 'no link inside a link');
  });

  it('renders tables in a scrolling wrapper with alignment classes, JSON code blocks highlighted, raw HTML as text', () => {
    const doc = renderDocument(
      '| a | b |\n|:--|--:|\n| `x` | 1 |\n\n```json\n{"op": "send", "n": 2}\n```\n\n<script>alert(1)</script>\n',
      { linker },
    );
    assert.match(doc.html, /<div class="table-wrap"><table>/);
    assert.match(doc.html, /<th class="align-left">a<\/th>\s*<th class="align-right">b<\/th>/);
    assert.match(doc.html, /<pre class="code lang-json"><code>\{<span class="j-key">&quot;op&quot;<\/span>:/);
    assert.match(doc.html, /<span class="j-num">2<\/span>/);
    assert.match(doc.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.ok(!doc.html.includes('<script>'));
  });

  it('returns a leading h1 as the title and gives headings unique ids that avoid the page’s own', () => {
    const doc = renderDocument('# Title\n\n## Top\n\n## Names: the rules\n\n## Names: the rules\n', { linker }, new Set(['top']));
    assert.strictEqual(doc.title, 'Title');
    assert.deepStrictEqual(
      doc.headings.map((h) => h.id),
      ['top-2', 'names-the-rules', 'names-the-rules-2'],
    );
    assert.deepStrictEqual(
      doc.headings.map((h) => h.text),
      ['Top', 'Names: the rules', 'Names: the rules'],
    );
    assert.match(doc.html, /<h2 id="top-2">Top <a class="header-anchor" href="#top-2">#<\/a><\/h2>/);
  });

  it('gives plain text of inline Markdown, and top-level blocks with their inline source', () => {
    assert.strictEqual(plainText('A *small* [link](x.md) and `code`\nacross lines'), 'A small link and code across lines');
    const blocks = parseBlocks('## Calls (CALL)\n\n**CALL-1** *Making a call.* Text\nmore.\n\n- a\n- b\n');
    assert.deepStrictEqual(
      blocks.map((b) => b.kind),
      ['heading', 'para', 'other'],
    );
    assert.deepStrictEqual(blocks[1], { kind: 'para', text: '**CALL-1** *Making a call.* Text\nmore.' });
  });

  it('finds the same clauses in spec.md as the spec’s own parser, with their families and titles', () => {
    const markdown = fs.readFileSync(path.join(repositoryRoot(), 'spec', 'spec.md'), 'utf8');
    const spec = parseSpec(markdown, 'spec/spec.md');
    assert.deepStrictEqual(
      spec.clauses.map((c) => c.id),
      parseClauses(markdown).map((c) => c.id),
    );
    const call2 = spec.clauses.find((c) => c.id === 'CALL-2')!;
    assert.strictEqual(call2.family, 'CALL');
    assert.ok(call2.title.length > 0 && !call2.title.endsWith('.'));
    assert.ok(spec.families.some((f) => f.id === 'QUOTA' && /backpressure/i.test(f.title)));
  });
});
