// The sequential model-based property: random operation sequences over several
// peers, compared with the model after every step (conformance/session.ts).
//
// Swarm testing: each run first draws which operations and faults are enabled,
// their weights, and small limits, so rare combinations (revoke during a
// pending call, close with a full queue, multicast to mixed live and dead
// nodes, a delegated reply handle whose holder closes) are reached. Commands
// are plain data with abstract picks ("the 3rd node handle of the 2nd open
// peer"), made concrete against the model state when they run, so shrinking
// keeps them meaningful and a fast-check seed and path replay a failure.
import fc from 'fast-check';
import type { Limits, Operation } from '../spec/types';
import { DriverError } from '../protocol/driver';
import { Harness, Mismatch, ModelFailure, type Session, type StepObserver } from './session';
import {
  COMMAND_KINDS,
  Concretizer,
  FAULTS,
  type Capabilities,
  type Command,
  type CommandKind,
  type Fault,
} from './concretizer';

export * from './concretizer';
import { ClauseCounter } from './coverage';
import { Situations } from './situations';
import { propertyFailure, type PropertyFailure } from './counterexample';
import { fillArbitrary, fillOperations, type Fill } from './fill';

export interface Swarm {
  peers: number;
  limits: Partial<Limits>;
  /** Weight of each enabled command kind (absent: disabled). */
  weights: Partial<Record<CommandKind, number>>;
  faults: Fault[];
  timeouts: boolean;
  /** The last peer's node refuses handles (NODE-5). */
  refusingNode: boolean;
  /** A limit of the implementation's own to fill first, when the suite cannot set small ones (conformance/fill.ts). */
  fill: Fill | null;
  /** The run starts with a call of p2 that p1 has received: a reply handle to answer, delegate or abandon. */
  servedCall: boolean;
}

export function capabilitiesOf(h: Harness): Capabilities {
  return { operations: new Set(h.info.operations), features: new Set(h.info.features) };
}

function usable(kind: CommandKind, caps: Capabilities): boolean {
  if (!caps.operations.has(kind)) return false;
  if (kind === 'tick') return caps.features.has('virtual-clock');
  return true;
}

export function swarmArbitrary(caps: Capabilities): fc.Arbitrary<Swarm> {
  const kinds = COMMAND_KINDS.filter((k) => usable(k, caps));
  const limits = caps.features.has('configurable-limits')
    ? (fc.record({
        maxPeers: fc.integer({ min: 4, max: 8 }),
        maxHandlesPerPeer: fc.integer({ min: 6, max: 40 }),
        maxNodesPerPeer: fc.integer({ min: 1, max: 6 }),
        maxPendingPerPeer: fc.oneof(
          { arbitrary: fc.integer({ min: 1, max: 2 }), weight: 1 },
          { arbitrary: fc.integer({ min: 3, max: 16 }), weight: 2 },
        ),
        maxPayloadBytes: fc.integer({ min: 4, max: 24 }),
        maxHandlesPerMessage: fc.integer({ min: 1, max: 4 }),
        queueCapacityMessages: fc.integer({ min: 2, max: 8 }),
        queueCapacityBytes: fc.integer({ min: 16, max: 96 }),
        senderQuotaMessages: fc.integer({ min: 1, max: 6 }),
        senderQuotaBytes: fc.integer({ min: 8, max: 64 }),
        senderQuotaHandles: fc.integer({ min: 1, max: 8 }),
      }) as fc.Arbitrary<Partial<Limits>>)
    : fc.constant({});
  return fc.record({
    peers: fc.integer({ min: 2, max: 4 }),
    limits,
    weights: fc
      .tuple(
        ...kinds.map((k) =>
          fc.oneof(
            { arbitrary: fc.constant(0), weight: k === 'send' || k === 'receive' ? 0 : 1 },
            { arbitrary: fc.integer({ min: 1, max: 10 }), weight: 4 },
          ),
        ),
      )
      .map(
        (ws) =>
          Object.fromEntries(kinds.map((k, i) => [k, ws[i]]).filter(([, w]) => (w as number) > 0)) as Swarm['weights'],
      ),
    faults: fc.subarray([...FAULTS]),
    timeouts: caps.features.has('virtual-clock') ? fc.boolean() : fc.constant(false),
    refusingNode: fc.boolean(),
    fill: fillArbitrary(caps),
    servedCall: caps.operations.has('call') && caps.operations.has('receive') ? fc.boolean() : fc.constant(false),
  });
}

export function commandArbitrary(sw: Swarm): fc.Arbitrary<Command> {
  const kinds = Object.entries(sw.weights) as [CommandKind, number][];
  const kindArb = fc.oneof(
    ...kinds.map(([k, w]) => ({
      arbitrary: fc.constant(k),
      weight: k === 'close' || k === 'attach' ? Math.max(1, Math.floor(w / 4)) : w,
    })),
  );
  const modeArb =
    sw.faults.length === 0
      ? fc.constant<'ok'>('ok')
      : fc.oneof(
          { arbitrary: fc.constant<'ok'>('ok'), weight: 8 },
          { arbitrary: fc.constantFrom(...sw.faults), weight: 2 },
        );
  return fc.record({
    kind: kindArb,
    peer: fc.nat(7),
    pick: fc.nat(15),
    mode: modeArb as fc.Arbitrary<Command['mode']>,
    aux: fc.array(fc.nat(15), { maxLength: 3 }),
    rights: fc.nat(4),
    badge: fc.oneof(
      { arbitrary: fc.constant(0), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 1 },
    ),
    size: fc.nat(12),
    move: fc.boolean(),
    timeoutMs: fc.oneof(
      { arbitrary: fc.constant(0), weight: 2 },
      { arbitrary: fc.constant(-1), weight: 1 },
      { arbitrary: sw.timeouts ? fc.integer({ min: 1, max: 40 }) : fc.constant(0), weight: 2 },
    ),
    max: fc.nat(3),
    flag: fc.boolean(),
  });
}

export function runArbitrary(caps: Capabilities, maxCommands: number): fc.Arbitrary<[Swarm, Command[]]> {
  return swarmArbitrary(caps).chain((sw) =>
    fc.tuple(fc.constant(sw), fc.array(commandArbitrary(sw), { minLength: 1, maxLength: maxCommands, size: 'max' })),
  );
}

/**
 * The start of every run: peers attached in turn, each granted the nodes of those before it, each
 * creating a node; with `refusingNode`, the last peer's node refuses handles (NODE-5).
 */
export function prelude(peers: number, caps: Capabilities, refusingNode = false, servedCall = false): Operation[] {
  const ops: Operation[] = [];
  for (let k = 1; k <= peers; k++) {
    const bootstrap = [];
    for (let j = 1; j < k; j++) bootstrap.push({ fromPeer: j, handle: j });
    ops.push({
      op: 'attach',
      credentials: { uid: 1000 + k, gid: 100, pid: 4000 + k },
      ...(bootstrap.length ? { bootstrap } : {}),
    });
    // Every other node opts in to credentials (CRED-1), when the implementation has them.
    ops.push({
      op: 'createNode',
      peer: k,
      ...(caps.features.has('credentials') && k % 2 === 0 ? { credentials: true } : {}),
      ...(refusingNode && k === peers ? { acceptsHandles: false } : {}),
    });
  }
  // With `servedCall`, p2 calls p1's node and p1 receives it (CALL-1): p1 starts with a reply handle.
  if (servedCall)
    ops.push(
      { op: 'call', peer: 2, handle: 1, message: { segments: [] } },
      { op: 'receive', peer: 1, max: 1, timeoutMs: 0 },
    );
  return ops;
}

// ------------------------------------------------------------------ running the property

export interface PropertyOptions {
  runs: number;
  seed: number;
  path?: string;
  maxCommands?: number;
  completionGraceMs?: number;
  counter?: ClauseCounter;
  situations?: Situations;
  onRun?: (runIndex: number) => void;
}

export interface PropertyOutcome {
  status: 'pass' | 'fail' | 'error';
  runs: number;
  seed: number;
  path?: string;
  numShrinks?: number;
  /** The shrunk failure: reason, and the operation list. */
  message?: string;
  counterexample?: string[];
  /** The failing run's diagnosis, steps and conditions. */
  failure?: PropertyFailure;
  steps: number;
  durationMs: number;
  opsPerSecond: number;
}

/** Run the sequential property against a harness. Never throws for implementation faults. */
export async function runSequentialProperty(h: Harness, options: PropertyOptions): Promise<PropertyOutcome> {
  const caps = capabilitiesOf(h);
  const started = Date.now();
  let steps = 0;
  let runIndex = 0;
  let fatal: Error | null = null;
  let last: PropertyFailure | null = null;
  const arb = runArbitrary(caps, options.maxCommands ?? 50);

  const property = fc.asyncProperty(arb, async ([sw, commands]) => {
    if (fatal) throw fatal;
    options.onRun?.(runIndex++);
    const runSituations = options.situations?.startRun();
    const observers: StepObserver[] = [];
    const runCounter = new ClauseCounter();
    observers.push(runCounter);
    if (runSituations) observers.push(runSituations);
    let session: Session | null = null;
    try {
      session = await h.session(sw.limits, { observers, completionGraceMs: options.completionGraceMs });
      const s = session;
      for (const op of prelude(sw.peers, caps, sw.refusingNode, sw.servedCall)) {
        await s.step(op);
        steps++;
      }
      for (const op of fillOperations(s.model, sw.fill)) {
        await s.step(op);
        steps++;
      }
      const concretizer = new Concretizer(s, caps);
      for (const c of commands) {
        const op = concretizer.concretize(c);
        if (op === null) continue;
        runSituations?.command(c);
        await s.step(op);
        steps++;
      }
      await s.closeAll();
      steps++;
      options.counter?.merge(runCounter);
      runSituations?.endRun();
      return true;
    } catch (err) {
      if (err instanceof Mismatch || err instanceof ModelFailure) {
        last = propertyFailure(err, session, sw);
        throw err;
      }
      // A fault of the driver itself: stop trying (shrinking a crashed driver helps nobody).
      fatal =
        err instanceof DriverError
          ? err
          : new DriverError(`the driver threw: ${(err as Error)?.message ?? String(err)}`);
      last = { message: fatal.message, trace: [], kind: 'error', steps: [] };
      throw fatal;
    }
  });

  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    ...(options.path ? { path: options.path } : {}),
    endOnFailure: false,
    verbose: 0,
  });
  const durationMs = Date.now() - started;
  const opsPerSecond = durationMs > 0 ? Math.round((steps * 1000) / durationMs) : 0;
  if (!details.failed)
    return { status: 'pass', runs: details.numRuns, seed: details.seed, steps, durationMs, opsPerSecond };
  const l = last as PropertyFailure | null;
  return {
    status: fatal ? 'error' : (l?.kind ?? 'fail'),
    runs: details.numRuns,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    numShrinks: details.numShrinks,
    message: l?.message ?? String(details.errorInstance),
    counterexample: l?.trace,
    ...(l ? { failure: l } : {}),
    steps,
    durationMs,
    opsPerSecond,
  };
}
