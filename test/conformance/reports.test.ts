// The files a conformance run writes: a transcript that `tessera replay` feeds
// into the driver alone, JUnit XML that CI systems read (validated against the
// structure rules of fixtures/junit.xsd by libxml2's validator), and the HTML
// page, opened in headless Chromium (test/docs/chromium.ts).
// TESSERA_SKIP_BROWSER=1 skips the browser test where the packaged browser does not run.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { validateXML } from 'xmllint-wasm';
import type { Browser } from 'playwright-core';
import { tesseraHere } from '../cli/support';
import { launchChromium } from '../docs/chromium';
import { ROOT } from './support';

const DRIVER = `node ${JSON.stringify(path.join(ROOT, 'test', 'conformance', 'fixtures', 'minimal-driver.js'))}`;
const XSD = fs.readFileSync(path.join(ROOT, 'test', 'conformance', 'fixtures', 'junit.xsd'), 'utf8');
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-reports-'));

async function validJunit(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const r = await validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [XSD] });
  return { valid: r.valid, errors: r.errors.map((e) => e.message) };
}

// Page functions run in the browser; this file compiles without the DOM library.
interface DomElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<DomElement> };

describe('conformance report files', function () {
  this.timeout(300_000);

  it("a failing run's transcript replays into the driver alone: the same driver answers as recorded, the fixed one differs at the first wrong response [ORDER-2]", async () => {
    const dir = temp();
    const file = path.join(dir, 'fail.txt');
    const run = await tesseraHere(
      'conformance',
      '--driver',
      `${DRIVER} --bug lifo-receive`,
      '--case',
      'receive-batches',
      '--transcript',
      file,
    );
    assert.equal(run.code, 1);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^# tessera transcript/);
    assert.match(text, /^> \{"type":"init"/m);
    assert.match(text, /^< \{"type":"invoke_ok"/m);
    assert.match(
      text,
      new RegExp(`# replay: npx tessera replay ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --driver`),
    );
    const same = await tesseraHere('replay', file, '--driver', `${DRIVER} --bug lifo-receive`);
    assert.equal(same.code, 0, same.out);
    assert.match(same.out, /every response as recorded/);
    const fixed = await tesseraHere('replay', file, '--driver', DRIVER);
    assert.equal(fixed.code, 1);
    assert.match(fixed.out, /invoke receive\): the response differs at invocation\.value\.deliveries\.0\.payload/);
    const bad = await tesseraHere('replay', path.join(ROOT, 'package.json'), '--driver', DRIVER);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /not a transcript: line 1 is neither a comment/);
  });

  it('--junit writes XML that the JUnit structure rules accept, with failures, errors and skipped cases; the validator rejects a broken one [ORDER-3, MCAST-3]', async () => {
    const dir = temp();
    const file = path.join(dir, 'junit.xml');
    const run = await tesseraHere('conformance', '--impl', 'mutant:multicast-order', '--runs', '5', '--junit', file);
    assert.equal(run.code, 1);
    const xml = fs.readFileSync(file, 'utf8');
    const checked = await validJunit(xml);
    assert.ok(checked.valid, checked.errors.join('\n'));
    assert.match(
      xml,
      /<testsuite name="tessera conformance: level core" tests="\d+" failures="\d+" errors="0" skipped="0"/,
    );
    assert.match(xml, /<failure type="\w+" message="[^"]+\[[A-Z]+-\d/);
    const py = await tesseraHere(
      'conformance',
      '--driver',
      'python3 conformance/examples/driver.py',
      '--runs',
      '5',
      '--junit',
      file,
    );
    assert.equal(py.code, 0, py.out);
    const pyXml = fs.readFileSync(file, 'utf8');
    assert.ok((await validJunit(pyXml)).valid);
    assert.match(pyXml, /<skipped message="unsupported: needs [^"]+"\/>/);
    const broken = await validJunit(pyXml.replace(/(<testsuite name="[^"]*" tests="\d+") failures="\d+"/, '$1'));
    assert.equal(broken.valid, false, 'a testsuite without its failures count must be rejected');
  });

  it('the HTML page shows the levels, a failing case with its steps, and a concurrent failure as a timeline with the operation that cannot be placed [INV-7, QUOTA-1]', async function () {
    if (process.env.TESSERA_SKIP_BROWSER === '1') this.skip();
    const dir = temp();
    const py = await tesseraHere(
      'conformance',
      '--driver',
      'python3 conformance/examples/driver.py',
      '--html',
      path.join(dir, 'py'),
    );
    assert.equal(py.code, 0, py.out);
    const mutant = await tesseraHere(
      'conformance',
      '--impl',
      'mutant:quota-per-receiver',
      '--runs',
      '5',
      '--seed',
      '1',
      '--concurrency',
      '3',
      '--concurrent-runs',
      '5',
      '--html',
      path.join(dir, 'mutant'),
    );
    assert.equal(mutant.code, 1);
    assert.ok(fs.existsSync(path.join(dir, 'mutant', 'timeline.svg')));
    let browser: Browser | null = null;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`file://${path.join(dir, 'py', 'index.html')}`);
      const levels = await page.evaluate(() =>
        Array.from(document.querySelectorAll('tr.level')).map((r) => [
          r.getAttribute('data-level'),
          r.getAttribute('data-status'),
        ]),
      );
      assert.deepEqual(
        levels.find(([l]) => l === 'core'),
        ['core', 'pass'],
      );
      assert.deepEqual(
        levels.find(([l]) => l === 'calls'),
        ['calls', 'unsupported'],
      );
      assert.match((await page.textContent('#verdict')) ?? '', /^PASS: levels core, limits, credentials passed/);
      assert.ok(await page.isVisible('tr.case.pass'));

      await page.goto(`file://${path.join(dir, 'mutant', 'index.html')}`);
      const failing = page.locator('tr.case.fail').first();
      assert.ok(await failing.isVisible());
      const steps = await failing.locator('tr.step').count();
      assert.ok(steps > 1, 'the failing case shows its steps');
      assert.ok(await failing.locator('tr.step.differs').isVisible(), 'the step that differs is marked');
      assert.match(
        (await failing.locator('.replay').textContent()) ?? '',
        /npx tessera conformance --impl mutant:quota-per-receiver --case /,
      );
      const transcript = await failing.locator('a.transcript').getAttribute('href');
      assert.ok(transcript && fs.existsSync(path.join(dir, 'mutant', transcript)), `transcript ${transcript}`);
      const svg = page.locator('section[data-property="linearizability"] svg.timeline');
      assert.ok(await svg.isVisible());
      const lanes = await svg.locator('text', { hasText: /^client \d$/ }).count();
      assert.equal(lanes, 3, 'one lane per client');
      assert.equal(await svg.locator('g.op.blamed').count(), 1, 'the operation that cannot be placed is highlighted');
      const shot = path.join(ROOT, 'test-artifacts', 'conformance-report.png');
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: false });
    } finally {
      await browser?.close();
    }
  });
});
