import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { mutationsOf, sample } from '../../conformance/campaign';
import { ROOT } from './support';

describe('the mutation campaign over the model rules', () => {
  it('finds guards to flip, checks to drop and orders to swap in the rules of every operation [ERR-1, ATOMIC-1]', () => {
    const sites = ['model/rules.ts', 'model/checks.ts', 'model/effects.ts', 'model/apply.ts'].flatMap((f) =>
      mutationsOf(f, fs.readFileSync(path.join(ROOT, f), 'utf8')),
    );
    const operators = new Set(sites.map((m) => m.operator));
    for (const o of ['flip-guard', 'drop-not', 'off-by-one', 'drop-rule', 'swap-rules', 'swap-steps'])
      assert.ok(operators.has(o as never), `no ${o} site`);
    for (const m of sites) assert.notEqual(m.before, m.after, `${m.file}:${m.line} changes nothing`);
    const a = sample(sites, 40, 7);
    assert.deepEqual(
      sample(sites, 40, 7).map((m) => m.id),
      a.map((m) => m.id),
    );
    assert.equal(a.length, 40);
  });
});
