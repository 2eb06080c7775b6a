// The layout is the architecture: a folder imports only from folders to its left.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const LAYERS = ['spec', 'model', 'simulator', 'conformance', 'backends', 'bench', 'cli'];

function files(dir: string): string[] {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

describe('architecture', () => {
  it('each folder imports only from folders below it: spec, model, simulator, conformance, backends, bench, cli [ERR-2]', () => {
    const wrong: string[] = [];
    for (const [rank, layer] of LAYERS.entries()) {
      for (const file of files(layer)) {
        const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
        for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](\.[^'"]+)['"]/g)) {
          const target = path
            .relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1]))
            .split(path.sep)[0];
          const targetRank = LAYERS.indexOf(target);
          if (targetRank > rank) wrong.push(`${file} imports ${m[1]} (${target} is above ${layer})`);
          if (targetRank < 0 && target !== layer && !['node_modules', 'package.json'].includes(target))
            wrong.push(`${file} imports outside the layers: ${m[1]}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the model and simulator never read the wall clock or Math.random [TIME-1]', () => {
    const offenders: string[] = [];
    for (const file of [...files('model'), ...files('simulator')]) {
      if (file.includes('sweep') || file.includes('calibrat') || file.includes('cli')) continue;
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\/.*$/gm, '');
      if (/Math\.random\(|Date\.now\(|performance\.now\(|setTimeout\(|setInterval\(/.test(text)) offenders.push(file);
    }
    assert.deepEqual(offenders, []);
  });
});
