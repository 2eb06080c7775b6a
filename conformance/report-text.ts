// The report as a person reads it in a terminal: the details of every failure
// first (what differs in protocol terms, the clauses, each step with the driver's
// JSON, the run's limits), then a summary block that always ends the output:
// the levels, the counts, each failure in one line with its replay command, and
// the verdict.
import type { ConformanceReport, ReportCase, ReportConditions, ReportProperty } from './report-types';
import { citeClauses } from './diagnosis';
import { formatSteps } from './steps';

const indent = (lines: string[], by = '  ') => lines.map((l) => `${by}${l}`);

function conditionLines(c: ReportConditions): string[] {
  const limits = Object.entries(c.limits)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `limits in force: ${limits}`,
    ...(c.peers !== undefined || c.operations.length
      ? [
          `enabled: ${c.peers !== undefined ? `${c.peers} peers; ` : ''}operations ${c.operations.join(', ') || '(none)'}; faults ${c.faults.join(', ') || '(none)'}`,
        ]
      : []),
    ...(c.drivenTo ? [`driven to the limit ${c.drivenTo} before the random operations`] : []),
  ];
}

/** What the unsupported cases need, each need with the number of cases it would unlock (most first). */
function unsupportedLines(cases: ReportCase[], verbose: boolean): string[] {
  if (verbose)
    return cases.map((c) => `  UNSUPPORTED ${c.id} [${c.clauses.join(', ')}]: needs ${(c.missing ?? []).join(', ')}`);
  const counts = new Map<string, number>();
  for (const c of cases) for (const m of c.missing ?? []) counts.set(m, (counts.get(m) ?? 0) + 1);
  const needs = [...counts].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} (${n})`);
  return [`  ${cases.length} unsupported; they need: ${needs.join(', ')}; --verbose lists each case and its needs`];
}

function caseLines(r: ConformanceReport, verbose: boolean): string[] {
  if (!r.cases.length) return [];
  const by = (s: string) => r.cases.filter((c) => c.status === s);
  const lines = [
    '',
    `cases: ${by('pass').length} passed, ${by('fail').length} failed, ${by('error').length} errors, ${by('unsupported').length} unsupported (of ${r.cases.length})`,
  ];
  for (const c of r.cases) {
    if (c.status === 'unsupported' || (c.status === 'pass' && !verbose)) continue;
    lines.push(`  ${c.status.toUpperCase()} ${c.id} [${c.clauses.join(', ')}] ${c.title}`);
    if (c.message) lines.push(...indent(c.message.split('\n'), '    '));
    if (c.replay) lines.push(`    replay: ${c.replay}`);
    if (c.transcript) lines.push(`    transcript: ${c.transcript}`);
  }
  if (by('unsupported').length) lines.push(...unsupportedLines(by('unsupported'), verbose));
  return lines;
}

function propertyLines(p: ReportProperty): string[] {
  const lines = [
    '',
    `property ${p.name}: ${p.status.toUpperCase()} after ${p.runs} runs (seed ${p.seed}), ${p.steps} operations, ${p.opsPerSecond} ops/s`,
  ];
  const c = p.concurrency;
  if (c) {
    lines.push(
      `  ${c.clients} clients x ${c.opsPerClient} operations per run (${c.driver}, ${c.inImplementation ? 'each client in its own thread, real-time intervals' : 'interleaved by the suite'}); ` +
        `operations of different clients overlapped in ${c.runsWithOverlap}/${p.runs} runs; ${c.exploredStates} linearizability states explored`,
      `  overlapping pairs: ${c.races.map((x) => `${x.race} ${x.pairs}`).join(', ')}`,
    );
  }
  if (p.message) lines.push(...indent(p.message.split('\n')));
  if (p.trace?.length || p.counterexample?.length) {
    lines.push(`  counterexample (${p.notShrunk ? 'as found' : 'shrunk'}):`);
    if (p.conditions) lines.push(...indent(conditionLines(p.conditions), '    '));
    lines.push(...indent(p.trace?.length ? formatSteps(p.trace) : p.counterexample!, '    '));
  }
  if (p.timeline) lines.push(`  timeline: ${p.timeline}`);
  if (p.transcript) lines.push(`  transcript: ${p.transcript}`);
  if (p.replay) lines.push(`  replay: ${p.replay}`);
  return lines;
}

function situationLines(r: ConformanceReport, verbose: boolean): string[] {
  if (r.statistics.runs === 0) return [];
  const rows = r.statistics.situations.filter((s) => verbose || s.perThousandRuns > 0);
  const never = r.statistics.situations.length - r.statistics.situations.filter((s) => s.perThousandRuns > 0).length;
  const lines = [`situations reached (runs per 1000, over ${r.statistics.runs} runs):`];
  if (rows.length) {
    const width = Math.max(...rows.map((s) => s.situation.length));
    for (const s of rows) lines.push(`  ${s.situation.padEnd(width)}  ${String(s.perThousandRuns).padStart(4)}`);
  }
  if (!verbose && never > 0) lines.push(`  (${never} more never reached; --verbose lists every situation)`);
  return lines;
}

const STATUS: Record<string, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  unsupported: 'UNSUPPORTED',
  'not-run': 'NOT RUN',
};

/** The block that ends every report: levels, counts, failures with their replay lines, the verdict. */
export function summaryBlock(r: ConformanceReport): string[] {
  const impl = r.implementation;
  const lines = ['', '-------- summary --------'];
  if (impl)
    lines.push(
      `implementation: ${impl.name} (${impl.driver}), protocol ${impl.protocolVersion}; ${impl.operations.length} operations; features: ${impl.features.join(', ') || 'none'}`,
    );
  if (r.selection)
    lines.push(
      `selection: ${[...r.selection.cases.map((c) => `case ${c}`), ...r.selection.clauses.map((c) => `clause ${c}`), ...r.selection.levels.map((l) => `level ${l}`), ...(r.selection.bail ? ['--bail'] : [])].join(', ')}`,
    );
  lines.push('levels:');
  const width = Math.max(...r.levels.map((l) => l.name.length));
  for (const l of r.levels) {
    const cases = l.cases.total ? `cases ${l.cases.passed}/${l.cases.total} passed` : 'no cases of its own';
    const what =
      l.status === 'unsupported'
        ? `needs ${l.missing.join(', ')}${l.unlock ? `: ${l.unlock}` : ''}`
        : l.status === 'fail'
          ? `${cases}; failed: ${l.failures.join(', ')}`
          : l.status === 'not-run'
            ? `${l.unlock ?? 'nothing of it ran'}`
            : `${cases}; clauses ${l.clauses.covered}/${l.clauses.ids.length} exercised`;
    lines.push(`  ${(STATUS[l.status] ?? l.status).padEnd(11)} ${l.name.padEnd(width)}  ${what}`);
  }
  const by = (s: string) => r.cases.filter((c) => c.status === s).length;
  if (r.cases.length)
    lines.push(
      `cases: ${by('pass')} passed, ${by('fail')} failed, ${by('error')} errors, ${by('unsupported')} unsupported (of ${r.cases.length})`,
    );
  for (const p of r.properties)
    lines.push(`property ${p.name}: ${p.status.toUpperCase()} (${p.runs} runs, seed ${p.seed})`);
  if (!r.properties.length) lines.push('properties: not run');
  const failures = [
    ...r.cases
      .filter((c) => c.status === 'fail' || c.status === 'error')
      .map((c) => ({
        what: `case ${c.id}`,
        why: c.diagnosis
          ? `${c.diagnosis.summary}${citeClauses(c.diagnosis.clauses)}`
          : (c.message ?? '').split('\n')[0],
        replay: c.replay,
      })),
    ...r.properties
      .filter((p) => p.status === 'fail' || p.status === 'error')
      .map((p) => ({
        what: `property ${p.name}`,
        why: p.diagnosis
          ? `${p.diagnosis.summary}${citeClauses(p.diagnosis.clauses)}`
          : (p.message ?? '').split('\n')[0],
        replay: p.replay,
      })),
  ];
  if (failures.length) {
    lines.push(`failures (${failures.length}):`);
    for (const f of failures) {
      lines.push(`  ${f.what}: ${f.why.length > 240 ? `${f.why.slice(0, 240)}...` : f.why}`);
      if (f.replay) lines.push(`    replay: ${f.replay}`);
    }
  }
  if (r.driverError) lines.push(`driver error: ${r.driverError.split('\n')[0]}`);
  lines.push(`VERDICT ${r.verdict}`);
  return lines;
}

/** The report as a person reads it. */
export function formatReport(r: ConformanceReport, options: { verbose?: boolean } = {}): string {
  const verbose = options.verbose ?? false;
  const impl = r.implementation;
  const lines: string[] = [
    `tessera conformance: ${impl ? `${impl.name} (${impl.driver}), protocol ${impl.protocolVersion}` : 'no implementation'}`,
  ];
  if (impl) lines.push(`  features: ${impl.features.join(', ') || 'none'}; operations: ${impl.operations.join(', ')}`);
  lines.push(...caseLines(r, verbose));
  for (const p of r.properties) lines.push(...propertyLines(p));
  if (r.driverError) lines.push('', `DRIVER ERROR: ${r.driverError}`);
  const covered = r.coverage.clauses.length - r.coverage.uncovered.length;
  lines.push(
    '',
    `clause coverage: ${covered}/${r.coverage.clauses.length} clauses exercised${r.coverage.uncovered.length ? `; not covered: ${r.coverage.uncovered.join(', ')}` : ''}`,
  );
  lines.push(...situationLines(r, verbose));
  lines.push(...summaryBlock(r));
  lines.push(`${r.status.toUpperCase()} in ${(r.durationMs / 1000).toFixed(1)} s`);
  return lines.join('\n');
}
