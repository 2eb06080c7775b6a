// Opens the committed docs site in headless Chromium, served from a local HTTP
// server, and checks what a reader would hit: errors on load, broken links and
// anchors, missing clause anchors, diagrams that do not render, the tutorial's
// sequence diagrams, and search. The browser comes with npm (test/docs/chromium.ts):
// no system package. Screenshots go to test-artifacts/ for a person to look at.
// TESSERA_SKIP_BROWSER=1 skips it on a platform the packaged browser does not run on.
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { Browser, BrowserContext } from 'playwright-core';
import { repositoryRoot } from '../../cli/docs';
import { parseClauses } from '../../spec/clauses';
import { LIFECYCLES } from '../../model/lifecycles';
import { launchChromium } from './chromium';
import { TOUR_STEPS } from '../../cli/tour';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png',
};

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

/** A static file server for one folder on 127.0.0.1, on a free port. */
function serve(dir: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const rel = urlPath.endsWith('/') ? `${urlPath}index.html` : urlPath;
    const file = path.join(dir, path.normalize(rel));
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Page functions run in the browser; this file compiles without the DOM library.
interface DomElement { id: string; getAttribute(name: string): string | null }
declare const document: { querySelectorAll(selector: string): ArrayLike<DomElement> };

interface PageReport {
  ids: string[];
  hrefs: string[];
  problems: string[];
}

describe('docs: the site in a browser', function () {
  // Generous: on a loaded machine unpacking and starting the browser, and each page, can take long.
  this.timeout(300_000);
  const root = repositoryRoot();
  const docs = path.join(root, 'docs');
  let server: http.Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let base = '';
  const reports = new Map<string, PageReport>();

  before(async function () {
    if (process.env.TESSERA_SKIP_BROWSER === '1') this.skip();
    assert.ok(fs.existsSync(path.join(docs, 'index.html')), 'docs/index.html is missing: run npm run docs');
    server = await serve(docs);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    context.setDefaultTimeout(120_000);
    context.setDefaultNavigationTimeout(120_000);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** Load a page once; collect its ids, links and every error seen while loading. */
  async function visit(file: string): Promise<PageReport> {
    const cached = reports.get(file);
    if (cached) return cached;
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    const response = await page.goto(base + file, { waitUntil: 'load' });
    if (!response || !response.ok()) problems.push(`HTTP ${response?.status()} for ${file}`);
    const { ids, hrefs } = await page.evaluate(() => ({
      ids: Array.from(document.querySelectorAll('[id]')).map((e) => e.id),
      hrefs: Array.from(document.querySelectorAll('a')).map((a) => a.getAttribute('href') ?? a.getAttribute('xlink:href') ?? '').filter((h) => h !== ''),
    }));
    await page.close();
    const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (duplicates.length) problems.push(`duplicate ids: ${[...new Set(duplicates)].join(', ')}`);
    const report = { ids, hrefs, problems };
    reports.set(file, report);
    return report;
  }

  const pages = () => listFiles(docs).filter((f) => f.endsWith('.html'));

  it('every page loads without console errors, page errors, failed requests or duplicate ids', async () => {
    const problems: string[] = [];
    for (const file of pages()) for (const p of (await visit(file)).problems) problems.push(`${file}: ${p}`);
    assert.deepStrictEqual(problems, []);
  });

  it('every internal link resolves to an existing page and an existing anchor on it', async () => {
    const files = new Set(listFiles(docs));
    const broken: string[] = [];
    for (const file of pages()) {
      for (const href of (await visit(file)).hrefs) {
        const url = new URL(href, base + file);
        if (url.origin !== new URL(base).origin) continue;
        const target = decodeURIComponent(url.pathname).replace(/^\//, '') || 'index.html';
        if (!files.has(target)) { broken.push(`${file}: ${href} (no file ${target})`); continue; }
        const anchor = decodeURIComponent(url.hash.replace(/^#/, ''));
        if (!anchor || !target.endsWith('.html')) continue;
        if (!(await visit(target)).ids.includes(anchor)) broken.push(`${file}: ${href} (no id "${anchor}" on ${target})`);
      }
    }
    assert.deepStrictEqual(broken, []);
  });

  it('every clause of spec/spec.md has its anchor on spec.html', async function () {
    const specFile = path.join(root, 'spec', 'spec.md');
    if (!fs.existsSync(specFile)) this.skip();
    const ids = new Set((await visit('spec.html')).ids);
    const clauses = parseClauses(fs.readFileSync(specFile, 'utf8')).map((c) => c.id);
    assert.ok(clauses.length > 0, 'spec.md has no clauses');
    assert.deepStrictEqual(clauses.filter((id) => !ids.has(id)), []);
  });

  it('every lifecycle diagram renders with a non-empty bounding box', async () => {
    const page = await context!.newPage();
    await page.goto(`${base}lifecycles.html`, { waitUntil: 'load' });
    const boxes = await page.$$eval('svg.diagram', (svgs) => svgs.map((s) => {
      const r = s.getBoundingClientRect();
      return { label: s.getAttribute('aria-label') ?? '', width: r.width, height: r.height };
    }));
    await page.close();
    assert.strictEqual(boxes.length, Object.keys(LIFECYCLES).length, 'one diagram per lifecycle machine');
    for (const b of boxes) assert.ok(b.width > 0 && b.height > 0, `${b.label}: ${b.width}x${b.height}`);
  });

  it('the tutorial has a labelled sequence diagram for every step of the tour, with messages, notices and failures marked', async () => {
    const page = await context!.newPage();
    await page.goto(`${base}tutorial.html`, { waitUntil: 'load' });
    const diagrams = await page.$$eval('svg.sequence', (svgs) =>
      svgs.map((s) => {
        const r = s.getBoundingClientRect();
        const arrows = Array.from(s.querySelectorAll('g.arrow'));
        return {
          label: s.getAttribute('aria-label') ?? '',
          width: r.width,
          height: r.height,
          arrows: arrows.length,
          unlabelled: arrows.filter((g: any) => !g.querySelector('title')?.textContent || !g.querySelector('text')?.textContent)
            .length,
          notices: s.querySelectorAll('g.arrow.notice').length,
          failures: s.querySelectorAll('g.failure').length,
          lifelines: s.querySelectorAll('g.lifeline').length,
        };
      }),
    );
    const out = path.join(root, 'test-artifacts', 'docs-tutorial.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.locator('#step-5').screenshot({ path: out });
    await page.close();
    assert.ok(TOUR_STEPS.length >= 5, 'the tour has at least 5 steps');
    assert.strictEqual(diagrams.length, TOUR_STEPS.length, 'one diagram per step of the tour');
    for (const d of diagrams) {
      assert.match(d.label, /^Sequence diagram of step \d+\. /);
      assert.ok(d.width > 100 && d.height > 50, `${d.label}: ${d.width}x${d.height}`);
      assert.ok(d.lifelines >= 1, `${d.label}: no lifeline`);
      assert.strictEqual(d.unlabelled, 0, `${d.label}: an arrow without its label`);
    }
    const total = (k: 'arrows' | 'notices' | 'failures') => diagrams.reduce((sum, d) => sum + d[k], 0);
    assert.ok(total('arrows') >= 20, `only ${total('arrows')} arrows`);
    assert.ok(total('notices') >= 5, `only ${total('notices')} notice arrows`);
    assert.ok(total('failures') >= 3, `only ${total('failures')} failures marked`);
    assert.ok(fs.statSync(out).size > 10_000, 'the screenshot is suspiciously small');
  });

  it('search finds init_ok on the driver protocol page and backpressure in the QUOTA clauses, and says when nothing matches', async () => {
    const page = await context!.newPage();
    await page.goto(`${base}index.html`, { waitUntil: 'load' });
    const input = page.locator('form.search input');
    const status = page.locator('form.search .search-status');
    const results = page.locator('form.search .results a');
    const search = async (query: string): Promise<string[]> => {
      await input.fill(query);
      // Results, or the no-results message (the first query also waits for the index to load).
      await page.waitForFunction(
        "document.querySelector('form.search .results li') !== null || " +
          "/^No results/.test(document.querySelector('form.search .search-status').textContent)",
      );
      return results.evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    };
    const initOk = await search('init_ok');
    assert.ok(
      initOk.some((h) => h.startsWith('driver-protocol.html#')),
      `init_ok: no hit on the driver protocol page: ${initOk.join(', ')}`,
    );
    const miss = await search('qwzxvq');
    assert.deepStrictEqual(miss, []);
    assert.match((await status.textContent()) ?? '', /No results for .qwzxvq./);
    const backpressure = await search('backpressure');
    assert.ok(
      backpressure.some((h) => /^spec\.html#QUOTA-\d+$/.test(h)),
      `backpressure: no QUOTA clause: ${backpressure.join(', ')}`,
    );
    const out = path.join(root, 'test-artifacts', 'docs-search.png');
    await page.screenshot({ path: out });
    await page.close();
    assert.ok(fs.statSync(out).size > 10_000, 'the screenshot is suspiciously small');
  });

  it('the scale study page charts every workload against the core count and says where each transport stops scaling, with a screenshot', async function () {
    const studyFile = path.join(root, 'simulator', 'studies', 'scale-results.json');
    if (!fs.existsSync(path.join(docs, 'scale-study.html')) || !fs.existsSync(studyFile)) this.skip();
    const study = JSON.parse(fs.readFileSync(studyFile, 'utf8')) as { transports: string[]; runs: { workload: string }[] };
    const workloads = new Set(study.runs.map((r) => r.workload)).size;
    const page = await context!.newPage();
    await page.goto(`${base}scale-study.html`, { waitUntil: 'load' });
    const charts = await page.$$eval('section.study-workload svg.diagram', (svgs) =>
      svgs.map((s) => {
        const r = s.getBoundingClientRect();
        return {
          label: s.getAttribute('aria-label') ?? '',
          width: r.width,
          height: r.height,
          lines: s.querySelectorAll('polyline').length,
          bands: s.querySelectorAll('polygon.band').length,
        };
      }),
    );
    const summaryRows = await page.$$eval('table.study-summary tbody tr', (trs) => trs.length);
    const findings = await page.$$eval('ul.findings li', (lis) => lis.map((l) => l.textContent ?? ''));
    const out = path.join(root, 'test-artifacts', 'docs-scale-study.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.locator('#workload-pairs').screenshot({ path: out });
    await page.close();
    assert.ok(workloads >= 3, `${workloads} workloads`);
    assert.strictEqual(charts.length, workloads * 4, 'throughput, p99, bus lock and CPU charts per workload');
    for (const c of charts) {
      assert.ok(c.width > 300 && c.height > 200, `${c.label}: ${c.width}x${c.height}`);
      assert.strictEqual(c.lines, study.transports.length, `${c.label}: one line per transport`);
      assert.ok(c.bands >= 1, `${c.label}: no band of the seeds' spread`);
    }
    assert.strictEqual(summaryRows, workloads * study.transports.length);
    assert.strictEqual(findings.length, workloads * study.transports.length);
    for (const f of findings) assert.match(f, /scales to \d+ cores|stops scaling between \d+ and \d+ cores: .* Why: /);
    assert.ok(fs.statSync(out).size > 10_000, 'the screenshot is suspiciously small');
  });

  it('takes a screenshot of the index page into test-artifacts/docs-index.png', async () => {
    const page = await context!.newPage();
    await page.goto(`${base}index.html`, { waitUntil: 'load' });
    const out = path.join(root, 'test-artifacts', 'docs-index.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out });
    await page.close();
    assert.ok(fs.statSync(out).size > 10_000, 'the screenshot is suspiciously small');
  });
});
