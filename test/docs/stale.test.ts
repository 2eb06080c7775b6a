// The committed site under docs/ must be exactly what `npm run docs` generates
// from the current sources, and generation must be deterministic.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { generateDocs, repositoryRoot } from '../../cli/docs';
import { tempDirs } from '../helpers';

function listFiles(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

/** The first file that differs between two folders, with the reason, or null. */
export function firstDifference(expectedDir: string, actualDir: string): string | null {
  const expected = listFiles(expectedDir);
  const actual = new Set(listFiles(actualDir));
  const all = [...new Set([...expected, ...actual])].sort();
  for (const file of all) {
    if (!actual.has(file)) return `${file} (missing from ${actualDir})`;
    if (!expected.includes(file)) return `${file} (not generated any more)`;
    const a = fs.readFileSync(path.join(expectedDir, file));
    const b = fs.readFileSync(path.join(actualDir, file));
    if (!a.equals(b)) return `${file} (contents differ)`;
  }
  return null;
}

describe('docs: generated site', function () {
  this.timeout(60_000);
  const root = repositoryRoot();
  const temp = tempDirs('docs');

  it('the committed docs/ is byte-identical to a fresh generation', async () => {
    const fresh = temp();
    const { pages } = await generateDocs(fresh, { root });
    assert.ok(pages >= 9, `expected at least 9 pages, got ${pages}`);
    const diff = firstDifference(fresh, path.join(root, 'docs'));
    if (diff !== null) assert.fail(`docs/ is stale: run npm run docs (first differing file: docs/${diff})`);
  });

  it('generating twice gives byte-identical files', async () => {
    const a = temp();
    const b = temp();
    await generateDocs(a, { root });
    await generateDocs(b, { root });
    const diff = firstDifference(a, b);
    assert.strictEqual(diff, null, `two generations differ: ${diff}`);
  });

  it('regenerating into a folder removes pages that are no longer generated', async () => {
    const dir = temp();
    fs.writeFileSync(path.join(dir, 'old-page.html'), '<p>gone</p>');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'kept: not a kind of file the generator writes');
    await generateDocs(dir, { root });
    assert.ok(!fs.existsSync(path.join(dir, 'old-page.html')));
    assert.ok(fs.existsSync(path.join(dir, 'notes.txt')));
  });
});
