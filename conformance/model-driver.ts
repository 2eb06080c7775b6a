// A Driver served directly by the model, with an optional replacement for its
// step: the base of the mutants (conformance/mutants/), each a realistic
// wrong implementation with exactly one bug.
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import { DEFAULT_LIMITS } from '../spec/registry/limits';
import { applyInPlace, initialState, type BusState, type StepOutcome } from '../model';
import { PROTOCOL_VERSION, type Driver, type DriverInfo, type Feature } from '../protocol/driver';

export type StepFn = (state: BusState, op: Operation) => Omit<StepOutcome, 'state'>;

export const MODEL_FEATURES: Feature[] = [
  'virtual-clock',
  'configurable-limits',
  'credentials',
  'transfers',
  'blocking-send',
  'blocking-receive',
];

/** `makeStep` is called at every reset, so a step with its own memory starts fresh with each bus. */
export interface ModelDriver extends Driver {
  /** The model state of the current bus (for drivers that wrap this one). */
  peek(): BusState | null;
}

export function createModelDriver(name: string, makeStep: () => StepFn = () => applyInPlace): ModelDriver {
  let state: BusState | null = null;
  let stepFn: StepFn = applyInPlace;
  let listener: (c: Completion) => void = () => {};
  return {
    peek: () => state,
    async init(): Promise<DriverInfo> {
      return {
        name,
        protocolVersion: PROTOCOL_VERSION,
        limits: { ...DEFAULT_LIMITS },
        operations: OPERATIONS.map((o) => o.name),
        features: [...MODEL_FEATURES],
      };
    },
    async reset(limits: Limits): Promise<Limits> {
      state = initialState(limits);
      stepFn = makeStep();
      return { ...state.limits };
    },
    async invoke(op: Operation): Promise<Invocation> {
      if (!state) throw new Error('reset was not called');
      const out = stepFn(state, op);
      for (const c of out.completions) listener(c);
      return out.result;
    },
    onCompletion(l) {
      listener = l;
    },
    async close() {
      state = null;
    },
  };
}
