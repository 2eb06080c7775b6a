// The conformance driver of the broker (backends/broker): the bus lives in the broker's thread
// of this process; every peer the suite attaches is a process of its own (broker-peer.ts),
// which connects to the broker's Unix socket, takes the seat made for its pid (the broker
// learns the pid from SO_PEERCRED) and then speaks to the broker only through its own
// segment's rings. The processes are pooled: a reset makes them leave the old bus, and the
// next attaches reuse them (starting a process costs far more than a case).
//
// - invoke(op): attach and tick are the owner's (BUS-2, TIME-1) and run here; any other
//   operation goes to the process of op.peer, which answers the spec Invocation and forwards
//   the completions the broker writes into its ring.
// - runClients(plans): every process runs a concurrent client's whole script at once
//   (protocol/clients.ts), released together by one signal on a shared clock segment, each
//   invocation and response stamped on it, so the linearizability checker sees real intervals.
// The clock is virtual (TIME-1: only tick moves it), so timeouts are tested deterministically.
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { AttachOp, Completion, Invocation, Limits, Operation } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import { DEFAULT_LIMITS, resolveLimits } from '../spec/registry/limits';
import { DriverError, PROTOCOL_VERSION, type DriverInfo, type Feature } from '../protocol/driver';
import type { ClientPlan, ClientRunningDriver, RecordedOp } from '../protocol/clients';
import { runArmedClients, type ClientHost } from './client-runs';
import { Broker, type EngineName } from '../backends/broker';
import { createSegment, notify, type Segment } from '../native';
import type { FromPeerProcess, ToPeerProcess } from './broker-peer';

export const BROKER_FEATURES: Feature[] = [
  'virtual-clock',
  'configurable-limits',
  'credentials',
  'transfers',
  'blocking-send',
  'blocking-receive',
  'concurrency',
];

const PEER_FILE = path.join(__dirname, 'broker-peer.js');

/** The longest a result waits for the completions before it (then the suite's grace period applies). */
const BARRIER_TIMEOUT_MS = 10_000;

export interface BrokerDriverOptions {
  /** Spin budget of the broker and the peers, microseconds (0: sleep at once). */
  spinUs?: number;
  /** What runs the broker's bus (backends/broker/engine.ts); default the broker's default. */
  engine?: EngineName;
}

interface PeerProcess extends ClientHost {
  child: ChildProcess;
  peer: number | null;
  onJoined?: () => void;
}

export function createBrokerDriver(options: BrokerDriverOptions = {}): ClientRunningDriver {
  return new BrokerDriver(options);
}

class BrokerDriver implements ClientRunningDriver {
  /** [0] the stamp clock, [1] the start signal of runClients: mapped by every peer process (fd 4). */
  private clockSegment: Segment | null = null;
  private clock: Int32Array | null = null;
  private broker: Broker | null = null;
  private peers = new Map<number, PeerProcess>();
  private readonly idle: PeerProcess[] = [];
  private listener: (c: Completion) => void = () => {};
  private nextRequest = 1;
  private runNumber = 0;
  private epoch = 0;
  /** Completions each peer's process has read from its ring (this bus), by peer id. */
  private seen = new Map<number, number>();
  /** Called whenever a process reports what it has read. */
  private onSeen: (() => void) | null = null;
  /** While runClients collects the scripts' records: pending calls reported so far, by ticket. */
  private batchCalls: Map<number, RecordedOp> | null = null;

  constructor(private readonly options: BrokerDriverOptions) {}

  async init(): Promise<DriverInfo> {
    return {
      name: 'broker',
      protocolVersion: PROTOCOL_VERSION,
      limits: { ...DEFAULT_LIMITS },
      operations: OPERATIONS.map((o) => o.name),
      features: [...BROKER_FEATURES],
    };
  }

  async reset(limits: Limits): Promise<Limits> {
    for (const p of this.peers.values()) {
      if (p.child.connected) p.child.send({ type: 'leave' } satisfies ToPeerProcess);
      p.peer = null;
      p.failure = undefined;
      this.idle.push(p);
    }
    this.peers = new Map();
    this.seen = new Map();
    this.epoch++;
    const bus = { limits: resolveLimits(limits), clock: 'virtual' as const };
    if (this.broker === null) {
      this.clockSegment = createSegment(4096, { name: 'tessera-broker-driver-clock' });
      this.clock = new Int32Array(this.clockSegment.buffer);
      this.broker = await Broker.start({ ...bus, spinUs: this.options.spinUs ?? 20, engine: this.options.engine });
      return { ...this.broker.limits };
    }
    return { ...(await this.broker.reset(bus)) };
  }

  private newProcess(): PeerProcess {
    const child = fork(PEER_FILE, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', this.clockSegment!.fd],
      serialization: 'advanced',
    });
    const p: PeerProcess = { child, peer: null, waiting: new Map() };
    child.on('message', (m: FromPeerProcess) => this.onMessage(p, m));
    child.on('error', (e) => (p.failure = new DriverError(`the broker peer process of peer ${p.peer} failed: ${e}`)));
    child.on('exit', (code, signal) => {
      const e = p.failure ?? new DriverError(`the broker peer process of peer ${p.peer} exited (${signal ?? code})`);
      p.failure = e;
      for (const w of p.waiting.values()) w.reject(e);
      p.waiting.clear();
      const i = this.idle.indexOf(p);
      if (i >= 0) this.idle.splice(i, 1);
      // The broker closes the peer of a process that is gone (its socket and pidfd say so).
    });
    return p;
  }

  private onMessage(p: PeerProcess, m: FromPeerProcess): void {
    switch (m.type) {
      case 'joined':
        if (m.epoch === this.epoch) p.onJoined?.();
        return;
      case 'result': {
        const w = p.waiting.get(m.id);
        p.waiting.delete(m.id);
        w?.resolve(m.invocation);
        return;
      }
      case 'error': {
        const e = new DriverError(`the broker peer process of peer ${p.peer} failed: ${m.message}`);
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
      case 'seen':
        if (m.epoch === this.epoch && p.peer !== null) this.saw(p.peer, m.seen);
        return;
      case 'completion': {
        if (m.epoch !== this.epoch) return; // a peer of an old bus, closed by the reset
        if (p.peer !== null) this.saw(p.peer, m.seen);
        const r = this.batchCalls?.get(m.completion.ticket);
        if (r && r.outcome === undefined && m.completion.op === 'call') {
          r.completed = this.now();
          r.outcome = m.completion.result;
          return;
        }
        this.listener(m.completion);
        return;
      }
    }
  }

  private saw(peer: number, n: number): void {
    if (n > (this.seen.get(peer) ?? 0)) this.seen.set(peer, n);
    this.onSeen?.();
  }

  /**
   * TIME-2, driver protocol: the completions an operation caused are reported before its result.
   * They travel through the processes of the peers they belong to, so the result waits until
   * each process has read every completion the broker had given it when the result was written
   * (the broker answers the count after every request it answered before; a process that is gone
   * is not waited for).
   */
  private async completionsDelivered(): Promise<void> {
    const given = await this.broker!.completionsGiven();
    const behind = () =>
      Object.entries(given).some(([peer, n]) => {
        const p = this.peers.get(Number(peer));
        return p !== undefined && p.failure === undefined && (this.seen.get(Number(peer)) ?? 0) < n;
      });
    if (!behind()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, BARRIER_TIMEOUT_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.onSeen = () => {
        if (!behind()) done();
      };
    }).finally(() => (this.onSeen = null));
  }

  /** BUS-2: the owner attaches the peer, then a process takes its seat (the broker knows it by its pid). */
  private async attach(op: Operation): Promise<Invocation> {
    const p = this.idle.pop() ?? this.newProcess();
    const pid = p.child.pid;
    if (pid === undefined) throw new DriverError('a broker peer process could not be started');
    const { invocation, seat, connected } = await this.broker!.expect(pid, op as AttachOp);
    if (seat === null || connected === null) {
      this.idle.push(p);
      return invocation;
    }
    p.peer = seat.peer;
    this.peers.set(seat.peer, p);
    const joined = new Promise<void>((resolve, reject) => {
      p.onJoined = resolve;
      p.waiting.set(-2, { resolve: () => undefined, reject });
    });
    p.child.send({
      type: 'join',
      socketPath: this.broker!.socketPath,
      epoch: this.epoch,
      spinUs: this.options.spinUs ?? 20,
    } satisfies ToPeerProcess);
    try {
      await Promise.all([joined, connected]);
    } finally {
      p.waiting.delete(-2);
      p.onJoined = undefined;
    }
    return invocation;
  }

  async invoke(op: Operation): Promise<Invocation> {
    if (!this.broker) throw new DriverError('reset was not called');
    const o = op as unknown as { op?: unknown; peer?: unknown };
    if (o?.op === 'attach') return this.attach(op);
    const p = typeof o?.peer === 'number' ? this.peers.get(o.peer) : undefined;
    let invocation: Invocation;
    // tick is the owner's (TIME-1); for a peer id of no process of this bus (PEER-2) the owner
    // asks the bus too: the broker would answer the same to a peer naming another (it replaces
    // the field with the asker's own id).
    if (o?.op === 'tick' || !p) invocation = (await this.broker.run(op)).invocation;
    else {
      if (p.failure) throw p.failure;
      const id = this.nextRequest++;
      invocation = await new Promise<Invocation>((resolve, reject) => {
        p.waiting.set(id, { resolve, reject });
        p.child.send({ type: 'op', id, op } satisfies ToPeerProcess);
      });
    }
    await this.completionsDelivered();
    return invocation;
  }

  onCompletion(l: (c: Completion) => void): void {
    this.listener = l;
  }

  now(): number {
    return Atomics.add(this.clock!, 0, 1) + 1;
  }

  async runClients(plans: ClientPlan[]): Promise<RecordedOp[]> {
    const run = ++this.runNumber;
    this.batchCalls = new Map();
    try {
      return await runArmedClients(
        plans,
        (peer) => this.peers.get(peer),
        'process',
        (p, plan) => p.child.send({ type: 'run', plan, run } satisfies ToPeerProcess),
        () => {
          Atomics.store(this.clock!, 1, run);
          notify(this.clock!, 1); // futex: the scripts wait in other processes
        },
      );
    } finally {
      this.batchCalls = null;
    }
  }

  async close(): Promise<void> {
    const all = [...this.peers.values(), ...this.idle.splice(0)];
    this.peers = new Map();
    for (const p of all) p.child.kill('SIGKILL');
    await this.broker?.stop();
    this.broker = null;
    this.clockSegment?.close();
    this.clockSegment = null;
  }
}
