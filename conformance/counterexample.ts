// A property failure as the reports keep it: what differs (the diagnosis and its
// clauses), the shrunk run's steps with the driver's JSON beside the model's
// results, and the conditions of the run (the limits in force, the operations and
// faults the swarm enabled, the limit it was driven to), without which a
// `QUEUE_FULL` after two sends is a mystery.
import type { Limits } from '../spec/types';
import { Mismatch, ModelFailure, type Session } from './session';
import { diagnosisOf, traceOf } from './run-cases';
import { formatSteps } from './steps';
import { describeFill, type Fill } from './fill';
import type { ReportConditions, ReportDiagnosis, ReportStep } from './report-types';

export interface PropertyFailure {
  /** The headline and its explanation (no trace). */
  message: string;
  /** The run as lines (the shrunk counterexample). */
  trace: string[];
  kind: 'fail' | 'error';
  diagnosis?: ReportDiagnosis;
  steps: ReportStep[];
  conditions?: ReportConditions;
}

/** What a run of the property was allowed to do (its swarm). */
export interface RunShape {
  peers: number;
  weights: Partial<Record<string, number>>;
  faults: readonly string[];
  fill?: Fill | null;
}

export function conditionsOf(limits: Limits, shape: RunShape | undefined): ReportConditions {
  return {
    limits: { ...limits } as unknown as Record<string, number>,
    ...(shape ? { peers: shape.peers } : {}),
    operations: shape ? Object.keys(shape.weights).filter((k) => (shape.weights[k] ?? 0) > 0) : [],
    faults: shape ? [...shape.faults] : [],
    ...(shape?.fill ? { drivenTo: describeFill(shape.fill, limits) } : {}),
  };
}

/** The record of a failing run of the property (a mismatch, or the model throwing). */
export function propertyFailure(
  err: Mismatch | ModelFailure,
  session: Session | null,
  shape?: RunShape,
): PropertyFailure {
  const steps = traceOf(session);
  const message =
    err instanceof Mismatch ? `${err.reason}\n${err.explanation}` : err.message.split('\noperations (model results')[0];
  return {
    message,
    trace: formatSteps(steps),
    kind: err instanceof Mismatch ? 'fail' : 'error',
    ...(err instanceof Mismatch && err.difference ? { diagnosis: diagnosisOf(err) } : {}),
    steps,
    ...(session ? { conditions: conditionsOf(session.model.limits, shape) } : {}),
  };
}
