// The report as JUnit XML, the format CI systems read (Jenkins, GitLab, GitHub
// test reporters): one <testsuite> per conformance level holding its cases
// (a case under the first of its levels), one for the properties; a failing case
// is a <failure> whose message is the diagnosis with its clauses, a case the
// implementation cannot run is <skipped> with what it needs, a driver fault is an
// <error>. test/conformance/fixtures/junit.xsd states the structure rules it keeps.
import type { ConformanceReport, ReportCase, ReportProperty } from './report-types';
import { LEVELS } from './levels';
import { citeClauses } from './diagnosis';
import { formatSteps } from './steps';

/** Whether XML 1.0 can hold a character (tab, newline, return, and the rest from space up, less the surrogates). */
function xmlChar(code: number): boolean {
  return (
    code === 9 ||
    code === 10 ||
    code === 13 ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    code >= 0x10000
  );
}

/** XML text: the five special characters escaped, and characters XML 1.0 cannot hold dropped. */
export function xmlText(s: string): string {
  return [...s]
    .filter((ch) => xmlChar(ch.codePointAt(0)!))
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlText(String(v))}"`)
    .join('');

function caseXml(c: ReportCase, level: string): string {
  const head = `    <testcase${attrs({ classname: `tessera.conformance.${level}`, name: `${c.id}: ${c.title}`, time: seconds(c.durationMs) })}`;
  const steps = c.trace?.length ? `      <system-out>${xmlText(formatSteps(c.trace).join('\n'))}</system-out>\n` : '';
  if (c.status === 'pass') return steps ? `${head}>\n${steps}    </testcase>` : `${head}/>`;
  if (c.status === 'unsupported')
    return `${head}>\n      <skipped${attrs({ message: `unsupported: needs ${(c.missing ?? []).join(', ')}` })}/>\n    </testcase>`;
  const message = c.diagnosis
    ? `${c.diagnosis.summary}${citeClauses(c.diagnosis.clauses)}`
    : (c.message ?? '').split('\n')[0];
  const body = [c.message ?? '', ...(c.replay ? [`replay: ${c.replay}`] : [])].join('\n');
  const tag = c.status === 'fail' ? 'failure' : 'error';
  return `${head}>\n      <${tag}${attrs({ type: c.diagnosis?.kind ?? c.status, message })}>${xmlText(body)}</${tag}>\n${steps}    </testcase>`;
}

function propertyXml(p: ReportProperty): string {
  const head = `    <testcase${attrs({ classname: 'tessera.conformance.properties', name: `property ${p.name} (${p.runs} runs, seed ${p.seed})`, time: seconds(p.durationMs) })}`;
  if (p.status === 'pass') return `${head}/>`;
  if (p.status === 'skipped')
    return `${head}>\n      <skipped${attrs({ message: p.message ?? 'skipped' })}/>\n    </testcase>`;
  const message = p.diagnosis
    ? `${p.diagnosis.summary}${citeClauses(p.diagnosis.clauses)}`
    : (p.message ?? '').split('\n')[0];
  const body = [
    p.message ?? '',
    ...(p.trace?.length
      ? [`counterexample (${p.notShrunk ? 'as found' : 'shrunk'}):`, ...formatSteps(p.trace)]
      : (p.counterexample ?? [])),
    ...(p.replay ? [`replay: ${p.replay}`] : []),
  ].join('\n');
  const tag = p.status === 'fail' ? 'failure' : 'error';
  return `${head}>\n      <${tag}${attrs({ type: p.diagnosis?.kind ?? p.status, message })}>${xmlText(body)}</${tag}>\n    </testcase>`;
}

/** The report as a JUnit XML document. */
export function junitXml(r: ConformanceReport): string {
  const suites: string[] = [];
  let total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suite = (name: string, cases: string[], counts: typeof total, timeMs: number, props: string) => {
    total = {
      tests: total.tests + counts.tests,
      failures: total.failures + counts.failures,
      errors: total.errors + counts.errors,
      skipped: total.skipped + counts.skipped,
    };
    suites.push(
      `  <testsuite${attrs({ name, tests: counts.tests, failures: counts.failures, errors: counts.errors, skipped: counts.skipped, time: seconds(timeMs), timestamp: r.startedAt.replace(/\.\d+Z$/, '') })}>\n${props}${cases.join('\n')}${cases.length ? '\n' : ''}  </testsuite>`,
    );
  };
  const impl = r.implementation;
  const props = impl
    ? `    <properties>\n${[
        ['implementation', impl.name],
        ['driver', impl.driver],
        ['protocolVersion', impl.protocolVersion],
        ['verdict', r.verdict],
      ]
        .map(([k, v]) => `      <property${attrs({ name: k, value: v })}/>`)
        .join('\n')}\n    </properties>\n`
    : '';
  for (const level of LEVELS) {
    const cases = r.cases.filter((c) => c.levels[0] === level.name);
    if (!cases.length) continue;
    const count = (s: string) => cases.filter((c) => c.status === s).length;
    suite(
      `tessera conformance: level ${level.name}`,
      cases.map((c) => caseXml(c, level.name)),
      { tests: cases.length, failures: count('fail'), errors: count('error'), skipped: count('unsupported') },
      cases.reduce((n, c) => n + c.durationMs, 0),
      suites.length === 0 ? props : '',
    );
  }
  const ps = r.properties;
  const driverError = r.driverError
    ? [
        `    <testcase${attrs({ classname: 'tessera.conformance.driver', name: 'the driver answers within the protocol' })}>\n      <error${attrs({ type: 'driver', message: r.driverError.split('\n')[0] })}>${xmlText(r.driverError)}</error>\n    </testcase>`,
      ]
    : [];
  if (ps.length || driverError.length)
    suite(
      'tessera conformance: properties',
      [...ps.map(propertyXml), ...driverError],
      {
        tests: ps.length + driverError.length,
        failures: ps.filter((p) => p.status === 'fail').length,
        errors: ps.filter((p) => p.status === 'error').length + driverError.length,
        skipped: ps.filter((p) => p.status === 'skipped').length,
      },
      ps.reduce((n, p) => n + p.durationMs, 0),
      suites.length === 0 ? props : '',
    );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: `tessera conformance: ${impl?.name ?? 'no implementation'}`, tests: total.tests, failures: total.failures, errors: total.errors, time: seconds(r.durationMs) })}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
