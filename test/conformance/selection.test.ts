// Selecting what the suite runs, and what every run prints at its end.
import { strict as assert } from 'assert';
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { tesseraHere } from '../cli/support';
import { ROOT } from './support';
import { CASES } from '../../conformance/cases';

const DRIVER = `node ${JSON.stringify(path.join(ROOT, 'test', 'conformance', 'fixtures', 'minimal-driver.js'))}`;

describe('selection and output of `tessera conformance`', function () {
  this.timeout(120_000);

  it('--case is repeatable and takes comma-separated ids; only those cases run, and the properties do not [RECV-1, ORDER-2]', async () => {
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-selection-')), 'report.json');
    const r = await tesseraHere(
      'conformance',
      '--driver',
      DRIVER,
      '--case',
      'receive-batches,fifo-and-causal',
      '--case',
      'badges',
      '--json',
      json,
    );
    assert.equal(r.code, 0, r.out);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.deepEqual(report.cases.map((c: { id: string }) => c.id).sort(), [
      'badges',
      'fifo-and-causal',
      'receive-batches',
    ]);
    assert.equal(report.properties.length, 0);
    assert.match(r.out, /selection: case receive-batches, case fifo-and-causal, case badges/);
  });

  it('a mistyped case, clause or level is a usage error with the nearest name, as is a concurrent selection without clients [ERR-1]', async () => {
    for (const [args, message] of [
      [['--case', 'badgse'], /--case: no case "badgse" \(did you mean badges\?\)/],
      [['--case', 'badges,nope'], /--case: no case "nope"/],
      [['--clause', 'NOTCE-5'], /--clause: no clause "NOTCE-5" \(did you mean NOTICE-5\?\)/],
      [['--level', 'cor'], /--level: no level "cor" \(did you mean core\?\)/],
      [['--level', 'concurrency'], /--level concurrency runs the concurrent phase: give --concurrency K/],
      [
        ['--property', 'linearizability', '--seed', '1', '--path', '3'],
        /--property linearizability replays a concurrent run: give --concurrency K/,
      ],
    ] as [string[], RegExp][]) {
      const r = await tesseraHere('conformance', '--driver', DRIVER, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
      assert.match(r.err, message);
    }
  });

  it('a case the implementation cannot run is UNSUPPORTED with what it needs, never PASS, and the run exits 1 [NOTICE-5]', async () => {
    const r = await tesseraHere('conformance', '--driver', DRIVER, '--case', 'notice-order');
    assert.equal(r.code, 1);
    assert.match(r.out, /VERDICT UNSUPPORTED/);
    assert.match(r.out, /1 unsupported; they need: operation revoke \(1\)/);
    assert.doesNotMatch(r.out, /^PASS/m);
  });

  it('--clause and --level select the cases that cite the clause or belong to the level; --list shows them without a driver [NOTICE-5, CRED-1]', async () => {
    const list = await tesseraHere('conformance', '--list', '--clause', 'NOTICE-5');
    assert.equal(list.code, 0);
    const citing = CASES.filter((c) => c.clauses.includes('NOTICE-5'));
    assert.ok(citing.length >= 3);
    assert.match(list.out, new RegExp(`cases \\(${String(citing.length)}\\):`));
    for (const c of citing) assert.match(list.out, new RegExp(`^  ${c.id} `, 'm'));
    assert.match(list.out, /notice-order +revocation/);
    assert.match(list.out, /core +peers, nodes, handles/);
    const level = await tesseraHere('conformance', '--list', '--level', 'credentials');
    assert.match(level.out, /credentials-opt-in/);
    assert.doesNotMatch(level.out, /receive-batches/);
  });

  it('--bail stops at the first failure; every run, a failing mutant run too, ends with the summary block and the verdict [ORDER-3]', async () => {
    const r = await tesseraHere('conformance', '--impl', 'mutant:multicast-order', '--bail', '--runs', '5');
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    const summary = lines.indexOf('-------- summary --------');
    assert.ok(summary > 0);
    assert.match(lines[lines.length - 2], /^VERDICT FAIL: /);
    assert.match(lines[lines.length - 1], /^FAIL in /);
    assert.match(r.out, /failures \(1\):\n {2}case [\w-]+: /);
    assert.equal((r.out.match(/^ {2}FAIL [\w-]+ \[/gm) ?? []).length, 1, 'one case failed, then the run stopped');
    assert.equal(JSON.stringify(r.out).includes('property sequential'), false);
  });

  it('the situations table shows only the situations reached, and every one with --verbose [QUOTA-2]', async () => {
    const r = await tesseraHere('conformance', '--driver', DRIVER, '--runs', '10', '--seed', '1');
    assert.equal(r.code, 0, r.out);
    const table = r.out.slice(r.out.indexOf('situations reached'), r.out.indexOf('-------- summary'));
    assert.doesNotMatch(table, / {2}0\n/);
    assert.match(table, /more never reached; --verbose lists every situation/);
    const v = await tesseraHere('conformance', '--driver', DRIVER, '--runs', '10', '--seed', '1', '--verbose');
    assert.match(v.out, /revoke during a pending call to the node +0\n/);
    assert.match(v.out, /UNSUPPORTED notice-order \[NOTICE-5, NOTICE-1\]: needs operation revoke/);
  });
});
