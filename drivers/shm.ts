// The in-process conformance driver of the shm backend: every operation runs on
// a ShmBus through its model-exact runner (ShmBus.run) with the virtual clock.
// Handle names are the backend's own (slot + generation); the suite maps them.
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import { DEFAULT_LIMITS, resolveLimits } from '../spec/registry/limits';
import type { Driver, DriverInfo, Feature } from '../protocol/driver';
import { ShmBus } from '../backends/shm';

/**
 * The driver protocol the shm backend speaks: 2, Tessera v2, the suite's (the bounded limits,
 * sameNode, acceptsHandles, conditional destroyNode, withdrawn no-senders notices, one sender's
 * order behind a blocked send, cancel, abandoned calls, replyReceive, skipFull and room notices,
 * peerKey and replier credentials).
 */
export const SHM_PROTOCOL_VERSION = '2';

/** Sequential in-process driver: no 'concurrency' (the operations of all peers run on one thread). */
export const SHM_FEATURES: Feature[] = [
  'virtual-clock',
  'configurable-limits',
  'credentials',
  'transfers',
  'blocking-send',
  'blocking-receive',
];

/** A bus for the suite: its call slots and node records follow the limits exactly (BUS-1, BOUND-1). */
export function shmBusForConformance(
  limits: Limits,
  options: { clock?: 'virtual' | 'real'; spin?: number; span?: 'threads' | 'processes' } = {},
): ShmBus {
  return ShmBus.create({
    limits,
    clock: options.clock ?? 'virtual',
    ...(options.spin !== undefined ? { spin: options.spin } : {}),
    ...(options.span !== undefined ? { span: options.span } : {}),
  });
}

export function createShmDriver(): Driver {
  let bus: ShmBus | null = null;
  let listener: (c: Completion) => void = () => {};
  return {
    async init(): Promise<DriverInfo> {
      return {
        name: 'shm',
        protocolVersion: SHM_PROTOCOL_VERSION,
        limits: { ...DEFAULT_LIMITS },
        operations: OPERATIONS.map((o) => o.name),
        features: [...SHM_FEATURES],
      };
    },
    async reset(limits: Limits): Promise<Limits> {
      bus = shmBusForConformance(resolveLimits(limits));
      return { ...bus.limits };
    },
    async invoke(op: Operation): Promise<Invocation> {
      if (!bus) throw new Error('reset was not called');
      const result = bus.run(op);
      for (const c of bus.lastCompletions) listener(c);
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
