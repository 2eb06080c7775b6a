// Why a run stops early: the scenario breaks the spec, a call never resolves, or an
// invariant is violated. Each carries what the report needs as data (never parsed back).
import type { ErrorCode } from '../../spec/types';
import type { Violation } from '../../model/invariants';

/** The model rejected a scenario step with an error the program did not expect: the scenario breaks the spec. */
export class ScenarioError extends Error {
  constructor(
    readonly code: ErrorCode | 'SETUP',
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
    this.name = 'ScenarioError';
  }
}

/** Nothing can happen any more, yet a call is still pending (CALL-2). */
export class LivenessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LivenessError';
  }
}

/** Thrown to stop a run at the first violated invariant, with the simulated time it was seen. */
export class InvariantViolation extends Error {
  constructor(
    readonly violation: Violation,
    readonly atNs: number,
  ) {
    super(`${violation.invariant}: ${violation.detail}`);
    this.name = 'InvariantViolation';
  }
}
