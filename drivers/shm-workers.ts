// The concurrent conformance driver of the shm backend: the bus lives in this
// thread; every peer the suite attaches runs in its own worker thread
// (shm-workers-thread.ts, joining with the descriptor of ShmBus.attachDescriptor and
// running the public peer API), so the operations of different peers really
// run in parallel on the shared buffer. The threads are pooled: a reset makes
// them leave the old bus, and the next attaches reuse them (starting a thread
// costs far more than a run). A thread that dies has its peer closed
// (ShmBus.recover), as spawnPeer would.
//
// - invoke(op) posts the operation to the worker of op.peer (attach runs here:
//   spawnPeer is the owner's BUS-2); the worker answers the spec Invocation and
//   later posts the completions of calls.
// - runClients(plans) makes every worker run a concurrent client's whole
//   script at once (protocol/clients.ts ClientScript), released together
//   by one signal, each invocation and response stamped on the shared clock
//   (now()); so the intervals the linearizability checker sees are the real
//   ones, and operations of different peers overlap for real.
// Real clock only ('virtual-clock' is not declared): timeouts are not
// exercised by the suite through this driver.
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { BootstrapGrant, Completion, Invocation, Limits, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import { DEFAULT_LIMITS, resolveLimits } from '../spec/registry/limits';
import { DriverError, type DriverInfo, type Feature } from '../protocol/driver';
import type { ClientPlan, ClientRunningDriver, RecordedOp } from '../protocol/clients';
import { runArmedClients, type ClientHost } from './client-runs';
import { ShmBus, TesseraError, type PeerDescriptor } from '../backends/shm';
import { SHM_PROTOCOL_VERSION, shmBusForConformance } from './shm';
import type { DriverWorkerData, FromWorker, ToWorker } from './shm-workers-thread';

export const SHM_WORKER_FEATURES: Feature[] = ['concurrency', 'configurable-limits', 'credentials', 'transfers'];

const WORKER_FILE = path.join(__dirname, 'shm-workers-thread.js');

export interface ShmWorkerDriverOptions {
  /**
   * A deliberately wrong variant, for the suite's self-test: its name and the module
   * that exports `createClientFault` (protocol/clients.ts ClientFault).
   */
  fault?: { name: string; module: string };
  /** Spin budget of the peers, microseconds (ShmBusOptions.spin). */
  spin?: number;
  /** Where the peers run: worker threads of this process (default), or OS processes (shm-processes.ts). */
  hosts?: PeerHosts;
}

/** What runs one peer of the driver at a time: a worker thread, or a forked process. */
export interface PeerHost {
  post(m: ToWorker): void;
  /** Seat it on the current bus: the descriptor the bus attached for it, then a join message. */
  join(bus: ShmBus, descriptor: PeerDescriptor, epoch: number): void;
  on(event: 'message', listener: (m: FromWorker) => void): void;
  on(event: 'error', listener: (e: Error) => void): void;
  on(event: 'exit', listener: () => void): void;
  stop(): Promise<void>;
}

/** How the driver's peers are hosted: the buses they can join, the shared clock, starting a host. */
export interface PeerHosts {
  /** The driver's name in init (the suite's reports). */
  name: string;
  /** The span of the buses the driver makes (ShmBusOptions.span). */
  span: 'threads' | 'processes';
  /** Int32 words: [0] the clock, [1] the start signal of runClients (the run number). */
  clock: Int32Array;
  /** Wake every host sleeping on the start signal (clock word 1). */
  notifyStart(): void;
  start(data: DriverWorkerData): PeerHost;
  /** Release what start() and the clock hold (at close). */
  close(): void;
}

/** Peers in worker threads of this process: the bus is a SharedArrayBuffer, waiting is Atomics. */
function threadHosts(): PeerHosts {
  const clockSab = new SharedArrayBuffer(8);
  const clock = new Int32Array(clockSab);
  return {
    name: 'shm-workers',
    span: 'threads',
    clock,
    notifyStart: () => Atomics.notify(clock, 1),
    start(data) {
      const worker = new Worker(WORKER_FILE, { workerData: { data: { ...data, clock: clockSab } } });
      return {
        post: (m) => worker.postMessage(m),
        join: (_bus, descriptor, epoch) => worker.postMessage({ type: 'join', descriptor, epoch } satisfies ToWorker),
        on: (event: string, listener: (x: never) => void) => {
          worker.on(event, listener as (...args: unknown[]) => void);
        },
        stop: () => worker.terminate().then(() => undefined),
      };
    },
    close: () => undefined,
  };
}

interface PeerWorker extends ClientHost {
  worker: PeerHost;
  /** The peer it runs on the current bus, if any. */
  peer: number | null;
}

export function createShmWorkerDriver(options: ShmWorkerDriverOptions = {}): ClientRunningDriver {
  return new ShmWorkerDriver(options);
}

/** The driver's state: the bus, the workers (each running one peer, or idle), the shared clock. */
class ShmWorkerDriver implements ClientRunningDriver {
  private readonly hosts: PeerHosts;
  private readonly clock: Int32Array;
  private bus: ShmBus | null = null;
  private peers = new Map<number, PeerWorker>();
  private listener: (c: Completion) => void = () => {};
  private nextRequest = 1;
  private runNumber = 0;
  /**
   * While runClients collects the scripts' records: the pending calls reported so far, by ticket.
   * A call that completes after its worker reported comes as a message, possibly before every
   * worker has reported (before the suite adopts the records): it is attached here instead.
   */
  private batchCalls: Map<number, RecordedOp> | null = null;
  private readonly name: string;
  private epoch = 0;
  private readonly idle: PeerWorker[] = [];

  constructor(private readonly options: ShmWorkerDriverOptions) {
    this.hosts = options.hosts ?? threadHosts();
    this.clock = this.hosts.clock;
    this.name = options.fault ? `mutant:${options.fault.name}` : this.hosts.name;
  }

  private async stopAll(): Promise<void> {
    const all = [...this.peers.values(), ...this.idle.splice(0)];
    this.peers = new Map();
    await Promise.all(all.map((p) => p.worker.stop().catch(() => undefined)));
  }

  /** A reset: every thread leaves the old bus (closing its peer there) and becomes idle. */
  private leaveAll(): void {
    for (const p of this.peers.values()) {
      p.worker.post({ type: 'leave' } satisfies ToWorker);
      p.peer = null;
      p.failure = undefined;
      this.idle.push(p);
    }
    this.peers = new Map();
  }

  private newWorker(): PeerWorker {
    const options = this.options;
    const data: DriverWorkerData = options.fault ? { faultModule: options.fault.module } : {};
    const p: PeerWorker = { worker: this.hosts.start(data), peer: null, waiting: new Map() };
    p.worker.on('message', (m: FromWorker) => this.onMessage(p, m));
    p.worker.on('error', (e) => {
      p.failure = new DriverError(`the ${this.hosts.name} driver's host of peer ${p.peer} failed: ${e?.stack ?? e}`);
    });
    p.worker.on('exit', () => {
      const e = p.failure ?? new DriverError(`the ${this.hosts.name} driver's host of peer ${p.peer} exited`);
      for (const w of p.waiting.values()) w.reject(e);
      p.waiting.clear();
      const i = this.idle.indexOf(p);
      if (i >= 0) this.idle.splice(i, 1);
      // As spawnPeer: the peer of a dead thread is closed, rolling back what it left half done.
      if (p.peer !== null && this.bus !== null && this.peers.get(p.peer) === p) this.bus.recover(p.peer);
    });
    return p;
  }

  private onMessage(p: PeerWorker, m: FromWorker): void {
    switch (m.type) {
      case 'result': {
        const w = p.waiting.get(m.id);
        p.waiting.delete(m.id);
        w?.resolve(m.invocation);
        return;
      }
      case 'error': {
        const e = new DriverError(`the shm driver worker failed: ${m.message}`);
        p.failure = e;
        if (m.id >= 0) {
          const w = p.waiting.get(m.id);
          p.waiting.delete(m.id);
          w?.reject(e);
        } else for (const w of p.waiting.values()) w.reject(e);
        return;
      }
      case 'armed':
        p.onArmed?.();
        return;
      case 'ran':
        for (const r of m.ops) if ('pending' in r.invocation) this.batchCalls?.set(r.invocation.ticket, r);
        p.onRan?.(m.ops);
        return;
      case 'completion': {
        if (m.epoch !== this.epoch) return; // a peer of an old bus, closed by the reset
        const r = this.batchCalls?.get(m.ticket);
        if (r && r.outcome === undefined) {
          r.completed = Atomics.add(this.clock, 0, 1) + 1;
          r.outcome = m.result;
          return;
        }
        this.listener({ ticket: m.ticket, peer: m.peer, op: 'call', result: m.result });
        return;
      }
    }
  }

  private attach(op: Operation): Invocation {
    const o = op as unknown as { credentials?: unknown; bootstrap?: unknown };
    const grants = o.bootstrap;
    // The spec's grants name peers by id (BUS-3); the API also takes a peer object, which the wire cannot mean.
    if (
      grants !== undefined &&
      (!Array.isArray(grants) ||
        grants.some((g) => typeof g !== 'object' || g === null || typeof (g as BootstrapGrant).fromPeer !== 'number'))
    )
      return { ok: false, error: 'INVALID_ARGUMENT' };
    let descriptor;
    try {
      descriptor = this.bus!.attachDescriptor(
        o.credentials as never,
        ((grants ?? []) as BootstrapGrant[]).map((g) => ({
          from: g.fromPeer,
          handle: g.handle,
          ...(g.rights !== undefined ? { rights: g.rights } : {}),
          ...(g.badge !== undefined ? { badge: g.badge } : {}),
        })),
      );
    } catch (e) {
      if (e instanceof TesseraError) return { ok: false, error: e.code as never };
      throw e;
    }
    const p = this.idle.pop() ?? this.newWorker();
    p.peer = descriptor.id;
    p.worker.join(this.bus!, descriptor, this.epoch);
    this.peers.set(descriptor.id, p);
    return { ok: true, value: { peer: descriptor.id, handles: descriptor.bootstrap } };
  }

  async init(): Promise<DriverInfo> {
    return {
      name: this.name,
      protocolVersion: SHM_PROTOCOL_VERSION,
      limits: { ...DEFAULT_LIMITS },
      operations: OPERATIONS.map((o) => o.name).filter((n) => n !== 'tick'),
      features: [...SHM_WORKER_FEATURES],
    };
  }

  async reset(limits: Limits): Promise<Limits> {
    this.leaveAll();
    this.epoch++;
    const l = resolveLimits(limits);
    this.bus?.dispose();
    this.bus = shmBusForConformance(l, { clock: 'real', spin: this.options.spin ?? 20, span: this.hosts.span });
    return { ...this.bus.limits };
  }

  async invoke(op: Operation): Promise<Invocation> {
    if (!this.bus) throw new DriverError('reset was not called');
    const o = op as unknown as { op?: unknown; peer?: unknown };
    if (o?.op === 'attach') return this.attach(op);
    const p = typeof o?.peer === 'number' ? this.peers.get(o.peer) : undefined;
    if (!p) return { ok: false, error: 'INVALID_ARGUMENT' }; // PEER-2: no such peer
    if (p.failure) throw p.failure;
    const id = this.nextRequest++;
    return new Promise<Invocation>((resolve, reject) => {
      p.waiting.set(id, { resolve, reject });
      p.worker.post({ type: 'op', id, op } satisfies ToWorker);
    });
  }

  onCompletion(l: (c: Completion) => void): void {
    this.listener = l;
  }

  now(): number {
    return Atomics.add(this.clock, 0, 1) + 1;
  }

  async runClients(plans: ClientPlan[]): Promise<RecordedOp[]> {
    const run = ++this.runNumber;
    this.batchCalls = new Map();
    try {
      return await runArmedClients(
        plans,
        (peer) => this.peers.get(peer),
        'worker',
        (p, plan) => p.worker.post({ type: 'run', plan, run } satisfies ToWorker),
        () => {
          Atomics.store(this.clock, 1, run);
          this.hosts.notifyStart();
        },
      );
    } finally {
      this.batchCalls = null;
    }
  }

  async close(): Promise<void> {
    await this.stopAll();
    this.bus?.dispose();
    this.bus = null;
    this.hosts.close();
  }
}
