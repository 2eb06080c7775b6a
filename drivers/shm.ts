// The in-process conformance driver of the shm backend: every operation runs on
// a ShmBus through its model-exact runner (ShmBus.run) with the virtual clock.
// Handle names are the backend's own (slot + generation); the suite maps them.
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import { DEFAULT_LIMITS, resolveLimits } from '../spec/registry/limits';
import type { Driver, DriverInfo, Feature } from '../protocol/driver';
import { ShmBus } from '../backends/shm';

/**
 * The driver protocol the shm backend speaks: 1, Tessera v1. It does not implement protocol 2 yet
 * (the v2 limits, sameNode, acceptsHandles, conditional destroyNode, withdrawn no-senders notices,
 * one sender's order behind a blocked send), so the suite refuses it with one clear message
 * (protocolMismatch) rather than failing it rule by rule.
 */
export const SHM_PROTOCOL_VERSION = '1';

/** Sequential in-process driver: no 'concurrency' (the operations of all peers run on one thread). */
export const SHM_FEATURES: Feature[] = [
  'virtual-clock',
  'configurable-limits',
  'credentials',
  'transfers',
  'blocking-send',
  'blocking-receive',
];

/** Reply areas cost callSlotsPerPeer * maxPayloadBytes per peer: keep them within a budget. */
const REPLY_AREA_BUDGET_BYTES = 64 * 1024 * 1024;

/** A bus sized for the suite: enough call slots and node records that the model's behaviour is never cut. */
export function shmBusForConformance(
  limits: Limits,
  options: { clock?: 'virtual' | 'real'; spin?: number; span?: 'threads' | 'processes' } = {},
): ShmBus {
  const callSlotsPerPeer = Math.max(
    4,
    Math.min(
      limits.maxPeers * limits.maxHandlesPerPeer,
      Math.floor(REPLY_AREA_BUDGET_BYTES / (limits.maxPeers * limits.maxPayloadBytes)),
    ),
  );
  // Node records bound live nodes (DESIGN.md); sized so that the suite's sequences never meet the pool's limit.
  const maxNodes = Math.max(limits.maxPeers * limits.maxHandlesPerPeer, 4096);
  return ShmBus.create({
    limits,
    clock: options.clock ?? 'virtual',
    callSlotsPerPeer,
    maxNodes,
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
