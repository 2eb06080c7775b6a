// Shared pieces of the conformance tests.
import * as path from 'path';
import { strict as assert } from 'assert';
import type { ConformanceReport } from '../../conformance/report-types';

/** The repository root, from dist/test/conformance or test/conformance. */
export const ROOT = path.resolve(
  __dirname,
  '..',
  '..',
  ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []),
);
/** How to start the CLI from a test (compiled). */
export const TESSERA = `node ${JSON.stringify(path.join(ROOT, 'bin', 'tessera.js'))}`;
export const LONG = process.env.TESSERA_LONG === '1';

export function expectReportPass(r: ConformanceReport): void {
  const bad = [
    ...r.cases.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => `${c.id}: ${c.message}`),
    ...r.properties
      .filter((p) => p.status !== 'pass')
      .map((p) => `${p.name}: ${p.message}\n${(p.counterexample ?? []).join('\n')}`),
    ...(r.driverError ? [r.driverError] : []),
  ];
  assert.equal(bad.length, 0, bad.join('\n\n'));
  assert.equal(r.status, 'pass');
}

export function expectReportFail(r: ConformanceReport, what: string): void {
  assert.notEqual(r.status, 'pass', `${what}: the suite passed it`);
}
