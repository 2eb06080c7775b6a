// The docs generator: reads the sources of truth (spec, registries, schemas,
// model, tests) and writes a static site. Output is a pure function of the
// sources: no dates, sorted iteration, so a regenerated site is byte-identical
// and test/docs/stale.test.ts can compare it with the committed docs/.
import * as fs from 'fs';
import * as path from 'path';
import { FAVICON_SVG, STYLE_CSS } from './assets';
import { miniSearchJs, searchIndexJs, searchJs } from './search';
import { renderPage } from './html';
import { coveragePage } from './pages/coverage';
import { indexPage } from './pages/index';
import { lifecyclesPage } from './pages/lifecycles';
import { operationsPage } from './pages/operations';
import type { PageBody } from './pages/page';
import { readmePage, transcriptSection } from './pages/readme';
import { wireTranscript } from './transcript';
import { errorsPage, limitsPage, noticesPage } from './pages/registries';
import { schemaDownloadPath, schemasPage } from './pages/schemas';
import { simulatorPage } from './pages/simulator';
import { simulatorReferencePage } from './pages/simulator-reference';
import { hasScaleStudy, scaleStudyPage } from './pages/scale-study';
import { specPage } from './pages/spec';
import { tutorialPage } from './pages/tutorial';
import { recordStory } from './story';
import { loadSite } from './site';

export { repositoryRoot } from '../../spec/paths';
import { repositoryRoot } from '../../spec/paths';

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
    bodies.set('simulator-reference.html', simulatorReferencePage(site));
    if (hasScaleStudy(site.root)) bodies.set('scale-study.html', scaleStudyPage(site));
  }
  bodies.set('coverage.html', coveragePage(site));
  for (const page of site.pages) {
    const body = bodies.get(page.file);
    if (!body) throw new Error(`no generator for ${page.file}`);
    files.set(page.file, renderPage({ page, pages: site.pages, ...body }));
  }
  files.set('style.css', STYLE_CSS);
  files.set('favicon.svg', FAVICON_SVG);
  files.set('search.js', searchJs());
  files.set('minisearch.js', miniSearchJs());
  files.set('search-index.js', searchIndexJs(site.pages.map((p) => ({ file: p.file, title: p.title, html: files.get(p.file)! }))));
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
