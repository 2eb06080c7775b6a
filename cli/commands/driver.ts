// `tessera driver --impl <name>`: serve an implementation over the stdio
// driver protocol (conformance/README.md), so `tessera conformance --driver
// "npx tessera driver --impl reference"` exercises the whole stdio path.
// IMPLEMENTATIONS is the registry behind every `--impl` flag: add a backend here.
import { UsageError, defineCommand } from '../command';
import { bool, choice } from '../flags';
import { didYouMean } from '../suggest';
import type { Driver } from '../../protocol/driver';
import { serveStdio } from '../../protocol/serve';
import { MUTANTS } from '../../conformance/mutants';
import { createReferenceDriver } from '../../drivers/reference';
import { createShmDriver } from '../../drivers/shm';
import { createShmWorkerDriver } from '../../drivers/shm-workers';
import { createShmProcessDriver } from '../../drivers/shm-processes';
import { createBrokerDriver } from '../../drivers/broker';

export interface Implementation {
  name: string;
  summary: string;
  createDriver(): Driver;
  /**
   * The concurrent phase `tessera conformance` runs by default: its clients
   * (--concurrency) and, when it is not createDriver's, the driver that runs it.
   */
  concurrent?: { clients: number; implementation?: string };
  /** How long the suite waits for completions it expects (default 0: they come with the operation). */
  completionGraceMs?: number;
}

export const IMPLEMENTATIONS: Implementation[] = [
  {
    name: 'reference',
    summary: 'the reference backend (the model behind the public API)',
    createDriver: createReferenceDriver,
  },
  {
    name: 'shm',
    summary:
      'the shared-memory backend (SharedArrayBuffer + Atomics): sequential in-process, concurrent with shm-workers',
    createDriver: () => createShmDriver(),
    concurrent: { clients: 3, implementation: 'shm-workers' },
  },
  {
    name: 'shm-workers',
    summary: 'the shared-memory backend with every peer in its own worker thread (real clock, concurrency)',
    createDriver: () => createShmWorkerDriver(),
    concurrent: { clients: 3 },
    completionGraceMs: 50,
  },
  {
    name: 'shm-processes',
    summary:
      'the shared-memory backend across OS processes: every peer in its own process, the bus in a memfd segment, futex waiting (real clock, concurrency)',
    createDriver: () => createShmProcessDriver(),
    concurrent: { clients: 3 },
    completionGraceMs: 50,
  },
  {
    name: 'broker',
    summary:
      'the broker: the bus in a thread of this process, every peer a process of its own that maps only its own segment (virtual clock, concurrency)',
    createDriver: () => createBrokerDriver(),
    concurrent: { clients: 3 },
  },
  {
    name: 'broker-shm',
    summary:
      "the broker with the shm backend's bus (its model-exact runner, in the broker's private memory) as its engine instead of the model's state",
    createDriver: () => createBrokerDriver({ engine: 'shm' }),
    concurrent: { clients: 3 },
  },
  {
    name: 'mutant:shm-deferred-send',
    summary:
      "a deliberately wrong shm-workers: a send answers ok at once and takes effect only after the client's next operation",
    createDriver: () =>
      createShmWorkerDriver({
        fault: { name: 'shm-deferred-send', module: require.resolve('../../conformance/mutants/shm-deferred-send') },
      }),
    concurrent: { clients: 3 },
  },
  ...MUTANTS.map((m) => ({
    name: `mutant:${m.name}`,
    summary: `a deliberately wrong implementation: ${m.bug}`,
    createDriver: () => m.createDriver(),
  })),
];

/** The suite options an implementation's defaults imply: its concurrent phase and completion grace. */
export function suiteDefaults(
  impl: Implementation,
  concurrencyFlag?: number,
): {
  concurrency: number;
  concurrent?: { createDriver: () => Driver; driverLabel: string };
  completionGraceMs: number;
} {
  const concurrency = concurrencyFlag ?? impl.concurrent?.clients ?? 1;
  const other = impl.concurrent?.implementation ? implementationNamed(impl.concurrent.implementation) : null;
  return {
    concurrency,
    ...(other
      ? { concurrent: { createDriver: () => other.createDriver(), driverLabel: `in-process:${other.name}` } }
      : {}),
    completionGraceMs: impl.completionGraceMs ?? 0,
  };
}

export function implementationNamed(name: string): Implementation {
  const impl = IMPLEMENTATIONS.find((i) => i.name === name);
  if (!impl)
    throw new UsageError(
      `unknown implementation "${name}"${didYouMean(name, IMPLEMENTATION_NAMES())}; known: ${IMPLEMENTATION_NAMES().join(', ')}`,
    );
  return impl;
}

export const IMPLEMENTATION_NAMES = (): string[] => IMPLEMENTATIONS.map((i) => i.name);

/** The --impl flag of every command that runs an in-process implementation. */
export const implFlag = (description: string) => choice(IMPLEMENTATION_NAMES, description, { noun: 'implementations' });

export const command = defineCommand({
  name: 'driver',
  summary:
    'Serve an in-process implementation over the conformance driver protocol: JSON lines, requests on stdin, responses on stdout, logs on stderr.',
  usage: ['--impl NAME'],
  flags: {
    impl: implFlag(
      'the implementation to serve (reference, shm, shm-workers, shm-processes, mutant:NAME; `tessera driver --list`)',
    ),
    list: bool('list the implementations and what each is'),
  },
  notes: [
    'The driver answers every line it reads: a line it cannot read (not JSON, not an object, against DriverRequest.json, longer than 16 MiB) gets an error message with the request id when there is a valid one. It exits when its input ends or after answering shutdown.',
  ],
  examples: [
    ['tessera driver --list', 'the implementations it can serve'],
    [
      'tessera conformance --driver "npx tessera driver --impl reference"',
      'the suite over the stdio protocol, end to end',
    ],
    [`printf '{"type":"init","id":1,"protocolVersion":"1"}\\n' | tessera driver --impl shm`, 'one request by hand'],
  ],
  plan({ flags }) {
    if (flags.list)
      return async () => {
        for (const i of IMPLEMENTATIONS) console.log(`${i.name.padEnd(26)} ${i.summary}`);
        return 0;
      };
    if (flags.impl === undefined) throw new UsageError('--impl is required (or --list)');
    const impl = implementationNamed(flags.impl);
    return async () => {
      // stdout carries the protocol only: anything else goes to stderr.
      console.log = (...args: unknown[]) => process.stderr.write(args.join(' ') + '\n');
      await serveStdio(impl.createDriver());
      return 0;
    };
  },
});
