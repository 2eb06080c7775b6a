// Runs scenario cases (conformance/cases/) through a Harness: every step is
// compared with the model like a property step, and the case's own
// expectations are checked against the model (they document the intent, and
// catch a case that no longer tests what it says).
import type { Invocation } from '../spec/types';
import { CASES, requirementsOf, type Case } from './cases';
import type { ClauseCounter } from './coverage';
import { DriverError } from '../protocol/driver';
import { formatInvocation, formatOp } from './format';
import { Harness, Mismatch, ModelFailure } from './session';

export type CaseStatus = 'pass' | 'fail' | 'unsupported' | 'error';

export interface CaseResult {
  id: string;
  title: string;
  clauses: string[];
  status: CaseStatus;
  /** Why it failed, erred, or what is missing for UNSUPPORTED. */
  message?: string;
  missing?: string[];
  steps: number;
  durationMs: number;
}

/** Whether `actual` has everything `pattern` has (arrays: same length, element-wise). */
export function matches(actual: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern))
    return Array.isArray(actual) && actual.length === pattern.length && pattern.every((p, i) => matches(actual[i], p));
  if (pattern && typeof pattern === 'object') {
    if (!actual || typeof actual !== 'object') return false;
    return Object.entries(pattern).every(([k, v]) => matches((actual as any)[k], v));
  }
  return actual === pattern;
}

function expectationHolds(expect: string | undefined, match: unknown, r: Invocation): boolean {
  if (expect === undefined) return true;
  if (expect === 'pending') return 'pending' in r;
  if ('pending' in r) return false;
  if (expect === 'ok') return r.ok && (match === undefined || matches(r.value, match));
  return !r.ok && r.error === expect;
}

export function missingFor(h: Harness, c: Case): string[] {
  const req = requirementsOf(c);
  return [
    ...req.operations.filter((o) => !h.supports(o)).map((o) => `operation ${o}`),
    ...req.features.filter((f) => !h.has(f)).map((f) => `feature ${f}`),
  ];
}

export async function runCase(
  h: Harness,
  c: Case,
  options: { counter?: ClauseCounter; completionGraceMs?: number } = {},
): Promise<CaseResult> {
  const started = Date.now();
  const base = { id: c.id, title: c.title, clauses: c.clauses, steps: 0 };
  const missing = missingFor(h, c);
  if (missing.length > 0)
    return { ...base, status: 'unsupported', missing, message: `needs ${missing.join(', ')}`, durationMs: 0 };
  try {
    const session = await h.session(c.limits ?? null, {
      observers: options.counter ? [options.counter] : [],
      completionGraceMs: options.completionGraceMs,
    });
    for (const [i, s] of c.steps.entries()) {
      const entry = await session.step(s.op);
      base.steps++;
      if (!expectationHolds(s.expect, s.match, entry.model)) {
        return {
          ...base,
          status: 'error',
          durationMs: Date.now() - started,
          message: `the case expects step ${i + 1} (${formatOp(s.op)}) to give ${s.expect}${s.match !== undefined ? ` matching ${JSON.stringify(s.match)}` : ''}, but the model gives ${formatInvocation(entry.model)}: the case or the model is wrong\n${session.formatTrace()}`,
        };
      }
    }
    await session.closeAll();
    return { ...base, status: 'pass', durationMs: Date.now() - started };
  } catch (err) {
    if (err instanceof Mismatch)
      return { ...base, status: 'fail', message: err.message, durationMs: Date.now() - started };
    if (err instanceof DriverError || err instanceof ModelFailure)
      return { ...base, status: 'error', message: err.message, durationMs: Date.now() - started };
    return {
      ...base,
      status: 'error',
      message: `driver threw: ${(err as Error)?.stack ?? String(err)}`,
      durationMs: Date.now() - started,
    };
  }
}

export async function runCases(
  h: Harness,
  options: {
    counter?: ClauseCounter;
    completionGraceMs?: number;
    cases?: readonly Case[];
    onCase?: (r: CaseResult) => void;
  } = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of options.cases ?? CASES) {
    const r = await runCase(h, c, options);
    results.push(r);
    options.onCase?.(r);
  }
  return results;
}
