// What completes during a step: the pending operations that end in it, by model ticket
// (the model numbers tickets 1, 2, 3, ... per bus, TIME-2), with their outcome. Any
// implementation is held to the model's completions step by step (conformance/session.ts);
// these expectations say what the model itself must give, as a step's `expect` does for its
// result, and test/model/cases.test.ts checks them on the model. A step without `completes`
// says nothing about completions; `completes: []` says that nothing completes in it.
import type { ErrorCode, OperationName } from '../../spec/types';
import type { CaseStep } from './dsl';

export interface Completes {
  ticket: number;
  /** 'ok' or the error code the operation completes with. */
  result: 'ok' | ErrorCode;
  /** The operation it completes as (a replyReceive's wait completes as a receive, CALL-10). */
  op?: OperationName;
  /** A deep partial of the ok value, as a step's `match`. */
  match?: unknown;
}

export interface CompletingStep extends CaseStep {
  completes?: Completes[];
}

/** `step`, expecting exactly these completions, in this order: `[ticket, outcome, match?]`. */
export function ends(step: CaseStep, ...list: [number, 'ok' | ErrorCode, unknown?][]): CompletingStep {
  return {
    ...step,
    completes: list.map(([ticket, result, match]) => ({ ticket, result, ...(match !== undefined ? { match } : {}) })),
  };
}

/** `step`, expecting one completion given in full. */
export const endsAs = (step: CaseStep, ...list: Completes[]): CompletingStep => ({ ...step, completes: list });
