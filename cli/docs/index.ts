// The docs generator: reads the sources of truth (spec, registries, schemas,
// model, tests) and writes a static site. Output is a pure function of the
// sources: no dates, sorted iteration, so a regenerated site is byte-identical
// and test/docs/stale.test.ts can compare it with the committed docs/.
import * as fs from 'fs';
import * as path from 'path';
import { ERRORS } from '../../spec/registry/errors';
import { LIMITS } from '../../spec/registry/limits';
import { NOTICES } from '../../spec/registry/notices';
import { OPERATIONS } from '../../spec/registry/operations';
import { FAVICON_SVG, STYLE_CSS, type SearchEntry, searchJs } from './assets';
import { displayName } from './schemas';
import { renderPage } from './html';
import { plainText } from './markdown';
import { coveragePage } from './pages/coverage';
import { indexPage } from './pages/index';
import { lifecycleTitle, lifecyclesPage } from './pages/lifecycles';
import { operationsPage } from './pages/operations';
import type { PageBody } from './pages/page';
import { readmePage, transcriptSection } from './pages/readme';
import { wireTranscript } from './transcript';
import { errorsPage, limitsPage, noticesPage } from './pages/registries';
import { schemaDownloadPath, schemasPage } from './pages/schemas';
import { simulatorPage } from './pages/simulator';
import { specPage } from './pages/spec';
import { tutorialPage } from './pages/tutorial';
import { recordStory } from './story';
import { type Site, loadSite } from './site';

export { repositoryRoot } from '../../spec/paths';
import { repositoryRoot } from '../../spec/paths';

function searchIndex(site: Site): SearchEntry[] {
  const clip = (s: string) => (s.length > 140 ? `${s.slice(0, 137)}…` : s);
  const entries: SearchEntry[] = [];
  for (const c of site.spec.clauses) entries.push({ t: c.id, u: `spec.html#${c.id}`, k: 'clause', x: clip(plainText([c.title, c.text].filter(Boolean).join('. '))) });
  for (const o of OPERATIONS) entries.push({ t: o.name, u: `operations.html#${o.name}`, k: 'operation', x: o.summary });
  for (const e of ERRORS) entries.push({ t: e.code, u: `errors.html#${e.code}`, k: 'error', x: clip(e.cause) });
  for (const n of NOTICES) entries.push({ t: n.type, u: `notices.html#${n.type}`, k: 'notice', x: clip(n.when) });
  for (const l of LIMITS) entries.push({ t: l.name, u: `limits.html#${l.name}`, k: 'limit', x: l.meaning });
  for (const lc of site.lifecycles) entries.push({ t: lifecycleTitle(lc), u: `lifecycles.html#${lc.name}`, k: 'lifecycle', x: lc.states.map((s) => s.name).join(', ') });
  for (const t of site.schemas.types) entries.push({ t: displayName(t.name), u: `schemas.html#${t.anchor}`, k: 'type', x: clip(t.schema.description ?? '') });
  for (const p of site.pages) entries.push({ t: p.title, u: p.file, k: 'page', x: p.blurb });
  return entries;
}

/** Build every file of the site in memory: docs-relative path -> contents. */
export async function buildSite(root: string = repositoryRoot()): Promise<Map<string, string>> {
  const site = loadSite(root);
  const files = new Map<string, string>();
  const bodies = new Map<string, PageBody>();
  const lifecycles = await lifecyclesPage(site);
  bodies.set('index.html', indexPage(site));
  bodies.set('tutorial.html', tutorialPage(site, await recordStory()));
  bodies.set('spec.html', specPage(site));
  bodies.set('operations.html', operationsPage(site));
  bodies.set('lifecycles.html', lifecycles.page);
  bodies.set('errors.html', errorsPage(site));
  bodies.set('notices.html', noticesPage(site));
  bodies.set('limits.html', limitsPage(site));
  bodies.set('schemas.html', schemasPage(site));
  if (site.conformanceReadme !== null) {
    const transcript = transcriptSection(site, await wireTranscript(root));
    bodies.set(
      'driver-protocol.html',
      readmePage(
        site,
        'driver-protocol.html',
        site.conformanceReadme,
        'Driver protocol',
        'The Tessera conformance driver protocol, with a transcript of a real exchange.',
        transcript,
      ),
    );
  }
  if (site.simulatorReadme !== null) {
    bodies.set('simulator.html', simulatorPage(site, site.simulatorReadme));
  }
  bodies.set('coverage.html', coveragePage(site));
  for (const page of site.pages) {
    const body = bodies.get(page.file);
    if (!body) throw new Error(`no generator for ${page.file}`);
    files.set(page.file, renderPage({ page, pages: site.pages, ...body }));
  }
  files.set('style.css', STYLE_CSS);
  files.set('favicon.svg', FAVICON_SVG);
  files.set('search.js', searchJs(searchIndex(site)));
  for (const [file, svg] of lifecycles.svgFiles) files.set(file, svg);
  for (const schema of site.schemas.files) files.set(schemaDownloadPath(schema.file), schema.text);
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const GENERATED = /\.(html|css|js|svg|json)$/;

function listFiles(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]);
}

/**
 * Generate the site into outDir (created if needed). Files of the kinds the
 * generator writes that it no longer produces are removed, so the folder
 * mirrors the sources exactly. Returns the page count and every file written.
 */
export async function generateDocs(outDir: string, options: { root?: string } = {}): Promise<{ pages: number; files: string[] }> {
  const files = await buildSite(options.root ?? repositoryRoot());
  for (const old of listFiles(outDir)) {
    if (GENERATED.test(old) && !files.has(old)) fs.rmSync(path.join(outDir, old));
  }
  for (const [file, text] of files) {
    const target = path.join(outDir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text) continue;
    fs.writeFileSync(target, text);
  }
  const names = [...files.keys()];
  return { pages: names.filter((f) => f.endsWith('.html')).length, files: names };
}
