// The verdict: how an implementation stands at each conformance level
// (conformance/levels.ts), and one line that names the levels passed and the
// clause coverage, so PASS never means more than what ran.
import type { ConformanceReport, ReportLevel } from './report-types';
import { LEVELS, levelOfClause, missingForLevel, type Level } from './levels';

function unlockOf(level: Level, missing: string[], report: ConformanceReport): string | undefined {
  if (missing.length > 0) {
    const ops = missing.filter((m) => m.startsWith('operation ')).map((m) => m.slice(10));
    const features = missing.filter((m) => m.startsWith('feature ')).map((m) => m.slice(8));
    return [
      ops.length ? `implement ${ops.join(', ')} and list ${ops.length > 1 ? 'them' : 'it'} in info.operations` : '',
      features.length ? `declare ${features.map((f) => `"${f}"`).join(', ')} in info.features (and honour it)` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
  if (level.property === 'linearizability' && !report.properties.some((p) => p.name === 'linearizability'))
    return 'run with --concurrency K (2 or more) for the concurrent phase';
  return undefined;
}

/** Each level's standing in a report (its cases, properties and clauses). */
export function assessLevels(report: ConformanceReport): ReportLevel[] {
  const declared = {
    operations: report.implementation?.operations ?? [],
    features: report.implementation?.features ?? [],
  };
  const covered = new Set(
    report.coverage.clauses.filter((c) => c.cases + c.caseSteps + c.propertySteps > 0).map((c) => c.id),
  );
  return LEVELS.map((level) => {
    const missing = report.implementation ? missingForLevel(level, declared) : [];
    const cases = report.cases.filter((c) => c.levels.includes(level.name));
    const failedCases = cases.filter((c) => c.status === 'fail' || c.status === 'error');
    const ran = cases.filter((c) => c.status !== 'unsupported');
    const failures = failedCases.map((c) => `case ${c.id}`);
    for (const p of report.properties) {
      if (p.status !== 'fail' && p.status !== 'error') continue;
      const owners =
        p.name === 'linearizability'
          ? ['concurrency']
          : p.diagnosis?.clauses.length
            ? [levelOfClause(p.diagnosis.clauses[0])]
            : ['core'];
      if (owners.includes(level.name)) failures.push(`property ${p.name}`);
    }
    const property = level.property ? report.properties.find((p) => p.name === level.property) : undefined;
    const ids = report.coverage.clauses.map((c) => c.id).filter((id) => levelOfClause(id) === level.name);
    const propertyRan = report.properties.some((p) => p.status !== 'skipped' && p.runs > 0 && p.name === 'sequential');
    const anythingRan =
      ran.length > 0 || (level.property ? property !== undefined : level.name === 'core' && propertyRan);
    const status: ReportLevel['status'] =
      missing.length > 0 || !report.implementation
        ? 'unsupported'
        : failures.length > 0
          ? 'fail'
          : !anythingRan || (level.property !== undefined && property === undefined)
            ? 'not-run'
            : 'pass';
    const unlock = unlockOf(level, missing, report);
    return {
      name: level.name,
      summary: level.summary,
      status,
      needs: [...level.operations.map((o) => `operation ${o}`), ...level.features.map((f) => `feature ${f}`)],
      missing,
      ...(unlock ? { unlock } : {}),
      cases: {
        passed: cases.filter((c) => c.status === 'pass').length,
        failed: failedCases.length,
        unsupported: cases.filter((c) => c.status === 'unsupported').length,
        total: cases.length,
      },
      clauses: { ids, covered: ids.filter((id) => covered.has(id)).length },
      failures,
    };
  });
}

/** The verdict in one line: status, levels passed, clause coverage. */
export function verdictLine(report: ConformanceReport): string {
  const passed = report.levels.filter((l) => l.status === 'pass').map((l) => l.name);
  const failed = report.levels.filter((l) => l.status === 'fail').map((l) => l.name);
  const total = report.coverage.clauses.length;
  const covered = total - report.coverage.uncovered.length;
  const pct = total ? Math.round((covered * 100) / total) : 0;
  const levels = passed.length
    ? `level${passed.length > 1 ? 's' : ''} ${passed.join(', ')} passed (${passed.length} of ${report.levels.length})`
    : 'no level passed';
  return `${report.status.toUpperCase()}: ${levels}${failed.length ? `; failed: ${failed.join(', ')}` : ''}; clause coverage ${covered}/${total} (${pct}%)`;
}
