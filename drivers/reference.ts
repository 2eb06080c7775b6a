// The in-process conformance driver of the reference backend: the suite's
// Driver served by the public Bus (with a virtual clock, TIME-1), so the
// conformance suite runs against exactly what users of the reference get.
import type { Completion, Limits, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import { DEFAULT_LIMITS } from '../spec/registry/limits';
import { PROTOCOL_VERSION, type Driver, type DriverInfo, type Feature } from '../protocol/driver';
import { Bus } from '../backends/reference';

export const REFERENCE_FEATURES: Feature[] = [
  'virtual-clock',
  'configurable-limits',
  'credentials',
  'transfers',
  'blocking-send',
  'blocking-receive',
];

export function createReferenceDriver(): Driver {
  let bus: Bus | null = null;
  let listener: (c: Completion) => void = () => {};
  let completed: Completion[] = [];
  return {
    async init(): Promise<DriverInfo> {
      return {
        name: 'reference',
        protocolVersion: PROTOCOL_VERSION,
        limits: { ...DEFAULT_LIMITS },
        operations: OPERATIONS.map((o) => o.name),
        features: [...REFERENCE_FEATURES],
      };
    },
    async reset(limits: Limits): Promise<Limits> {
      bus = new Bus({
        limits,
        clock: 'virtual',
        observe: (_op, outcome) => {
          completed.push(...outcome.completions);
        },
      });
      return { ...bus.limits };
    },
    async invoke(op: Operation) {
      if (!bus) throw new Error('reset was not called');
      completed = [];
      const result = bus.run(op);
      // Completions an operation causes are reported before its result (driver protocol).
      for (const c of completed) listener(c);
      completed = [];
      return result;
    },
    onCompletion(l) {
      listener = l;
    },
    async close() {
      bus = null;
    },
  };
}
