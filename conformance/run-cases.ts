// Runs scenario cases (conformance/cases/) through a Harness: every step is
// compared with the model like a property step, and the case's own
// expectations are checked against the model (they document the intent, and
// catch a case that no longer tests what it says).
import type { Invocation } from '../spec/types';
import { CASES, requirementsOf, type Case } from './cases';
import type { ClauseCounter } from './coverage';
import { DriverError } from '../protocol/driver';
import { formatInvocation, formatOp } from './format';
import { Harness, Mismatch, ModelFailure, type Session } from './session';
import { levelsOfCase } from './levels';
import type { ReportDiagnosis, ReportStep } from './report-types';

export type CaseStatus = 'pass' | 'fail' | 'unsupported' | 'error';

export interface CaseResult {
  id: string;
  title: string;
  clauses: string[];
  levels: string[];
  status: CaseStatus;
  /** Why it failed, erred, or what is missing for UNSUPPORTED. */
  message?: string;
  missing?: string[];
  diagnosis?: ReportDiagnosis;
  /** Every step run, the driver's JSON beside the model's result. */
  trace?: ReportStep[];
  steps: number;
  durationMs: number;
}

/** Whether a case's error is the driver's own fault (it crashed, broke the protocol, went silent). */
export function isDriverFault(message: string | undefined): boolean {
  return /^(?:the driver|protocol error|driver threw)/.test(message ?? '');
}

/** The steps of a session as report steps. */
export function traceOf(session: Session | null): ReportStep[] {
  return session ? session.trace.map((e, i) => session.stepJson(e, i) as ReportStep) : [];
}

/** A mismatch's diagnosis as the report keeps it. */
export function diagnosisOf(err: Mismatch): ReportDiagnosis | undefined {
  const d = err.difference;
  return d
    ? { kind: d.kind, summary: d.summary, details: d.details, clauses: d.clauses, step: err.stepIndex + 1 }
    : undefined;
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
  const base = { id: c.id, title: c.title, clauses: c.clauses, levels: levelsOfCase(c), steps: 0 };
  const missing = missingFor(h, c);
  if (missing.length > 0)
    return { ...base, status: 'unsupported', missing, message: `needs ${missing.join(', ')}`, durationMs: 0 };
  let session: Session | null = null;
  try {
    session = await h.session(c.limits ?? null, {
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
          trace: traceOf(session),
        };
      }
    }
    await session.closeAll();
    return { ...base, status: 'pass', trace: traceOf(session), durationMs: Date.now() - started };
  } catch (err) {
    const trace = traceOf(session);
    const durationMs = Date.now() - started;
    if (err instanceof Mismatch)
      return { ...base, status: 'fail', message: err.message, diagnosis: diagnosisOf(err), trace, durationMs };
    if (err instanceof DriverError || err instanceof ModelFailure)
      return { ...base, status: 'error', message: err.message, trace, durationMs };
    return {
      ...base,
      status: 'error',
      message: `driver threw: ${(err as Error)?.stack ?? String(err)}`,
      trace,
      durationMs,
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
    /** Stop after the first case that fails or errs. */
    bail?: boolean;
  } = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of options.cases ?? CASES) {
    const r = await runCase(h, c, options);
    results.push(r);
    options.onCase?.(r);
    if (options.bail && (r.status === 'fail' || r.status === 'error')) break;
    // A driver that broke (crashed, spoke out of protocol) would fail every case after it the same way.
    if (r.status === 'error' && isDriverFault(r.message)) break;
  }
  return results;
}
