// The bus owner's side of a broker: it starts the broker's thread (thread.ts), listens on a Unix
// socket, and gives a seat to each process that connects and that it admits. Who a process is
// comes from the kernel (SO_PEERCRED: pid, uid, gid as recorded at connect; a pidfd for its
// liveness), never from anything the process says. The owner then either finds a seat it made
// for that pid in advance (expect) or asks its admission policy (BUS-2, BUS-3: only the owner
// attaches peers and grants their first handles); the peer's segment, a memfd sealed against
// shrinking and growing, is passed once on the socket (SCM_RIGHTS), with the peer id, its
// bootstrap names and the limits. From then on the socket only tells that the process is gone:
// its hang-up (or its pidfd, whichever is first) closes the peer (CLOSE-1..4).
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { MessageChannel, Worker } from 'worker_threads';
import type {
  BootstrapGrant,
  Completion,
  Credentials,
  HandleName,
  Invocation,
  Limits,
  Operation,
  PeerId,
} from '../../spec/types';
import { resolveLimits } from '../../spec/registry/limits';
import { createSegment, notify, peerCredentials, ProcessWatch, sendFds } from '../../native';
import type { BrokerBusOptions, BrokerTimes } from './core';
import type { BusAudit } from './engine';
import { segmentLayout, writeLayout, type SegmentLayout } from './layout';
import type { SessionCounters } from './session';
import type { SpinOptions } from './spin';
import type { BrokerThreadData, FromBroker, ToBroker } from './thread';

/** What the kernel says about a process at the other end of the socket. */
export interface KernelIdentity {
  pid: number;
  uid: number;
  gid: number;
}

/** The owner's decision for a process that connects without a seat made for it: a seat, or null to refuse. */
export interface Admission {
  /** Stamped on its messages where a node asks (CRED-1); default: its kernel identity. */
  credentials?: Credentials;
  bootstrap?: BootstrapGrant[];
}

export interface BrokerOptions extends BrokerBusOptions, SpinOptions {
  /** The socket path (default: a fresh one under the system's temporary directory). */
  socketPath?: string;
  /** For a process that connects without a seat made for its pid: admit it (and how), or not. Default: refuse. */
  admit?: (who: KernelIdentity) => Admission | null;
  /** The completion ring of each peer, bytes (default 256 KiB; results larger than it travel in pieces). */
  completionRingBytes?: number;
}

/** What a peer process receives on the socket, with its segment (the handshake). */
export interface Handshake {
  peer: PeerId;
  handles: HandleName[];
  limits: Limits;
}

/** A peer of the broker: its id, its bootstrap names, and the process holding its seat (once it connected). */
export interface Seat {
  peer: PeerId;
  handles: HandleName[];
  pid: number | null;
}

const THREAD_FILE = path.join(__dirname, 'thread.js');

export class Broker {
  readonly socketPath: string;
  private readonly worker: Worker;
  private readonly port: import('worker_threads').MessagePort;
  private readonly control: Int32Array;
  private readonly server: net.Server;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Seats made for a pid that has not connected yet. */
  private readonly expected = new Map<number, { seat: Seat; connected: (s: Seat) => void }>();
  /** Connected peers: their socket and process watch. */
  private readonly connections = new Map<PeerId, { socket: net.Socket; watch: ProcessWatch | null }>();
  private busLimits: Limits;
  private layout: SegmentLayout;
  private readonly goneListeners: ((peer: PeerId, completions: Completion[]) => void)[] = [];
  private stopped = false;
  /** Incremented by every reset: a connection of an older bus is not of this one. */
  private generation = 0;

  private constructor(private readonly options: BrokerOptions) {
    this.socketPath =
      options.socketPath ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-broker-')), 'broker.sock');
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const controlSab = new SharedArrayBuffer(64);
    this.control = new Int32Array(controlSab);
    const data: BrokerThreadData = {
      port: port2,
      control: controlSab,
      bus: { limits: options.limits, clock: options.clock, engine: options.engine },
      spin: { spinUs: options.spinUs, yieldCpu: options.yieldCpu },
    };
    // Fds the thread closes were never opened through fs (the shm engine maps its bus from a memfd
    // it closes at once): untracked, so closing them is no warning (the thread opens none through fs).
    this.worker = new Worker(THREAD_FILE, { workerData: data, transferList: [port2], trackUnmanagedFds: false });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', () => this.failAll(new Error('the broker thread exited')));
    this.port.on('message', (m: FromBroker) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`the broker thread failed: ${m.error}`));
      else w?.resolve(m.value);
    });
    this.busLimits = resolveLimits(options.limits);
    this.layout = segmentLayout(this.busLimits, { completionBytes: options.completionRingBytes });
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.connected(socket));
  }

  /** Starts the broker's thread and listens on the socket. */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const b = new Broker(options);
    await new Promise<void>((resolve, reject) => {
      b.server.once('error', reject);
      b.server.listen(b.socketPath, () => resolve());
    });
    b.busLimits = (await b.ask({ t: 'reset', id: 0, bus: b.busOptions(options) })) as Limits;
    b.layout = segmentLayout(b.busLimits, { completionBytes: options.completionRingBytes });
    return b;
  }

  /** A bus's options; its engine, unless given, is the one the broker was started with. */
  private busOptions(o: BrokerBusOptions): BrokerBusOptions {
    return { limits: o.limits, clock: o.clock, engine: o.engine ?? this.options.engine };
  }

  get limits(): Limits {
    return this.busLimits;
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Posts a control message to the broker's thread and wakes it; resolves with its answer. */
  private ask(msg: ToBroker): Promise<unknown> {
    if (this.stopped) return Promise.reject(new Error('the broker is stopped'));
    const id = this.nextId++;
    const p = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.port.postMessage({ ...msg, id });
    Atomics.add(this.control, 0, 1);
    notify(this.control, 0);
    return p;
  }

  // ------------------------------------------------------------------ the owner's operations

  /** An operation of the owner (attach, tick; or any operation it runs itself), with the completions of its step. */
  async run(op: Operation): Promise<{ invocation: Invocation; completions: Completion[] }> {
    return (await this.ask({ t: 'run', id: 0, op })) as { invocation: Invocation; completions: Completion[] };
  }

  /**
   * BUS-2: attaches a peer now and keeps its seat for the process with this pid, which gets it
   * when it connects (the kernel's SO_PEERCRED names the pid). `connected` resolves then.
   */
  async expect(
    pid: number,
    attach: { credentials: Credentials; bootstrap?: BootstrapGrant[] },
  ): Promise<{ invocation: Invocation; seat: Seat | null; connected: Promise<Seat> | null }> {
    // The attach exactly as given (a malformed one fails on the bus, ERR-1), as the owner's operation.
    const { invocation } = await this.run({ ...attach, op: 'attach' } as Operation);
    if ('pending' in invocation || !invocation.ok) return { invocation, seat: null, connected: null };
    const v = invocation.value as { peer: PeerId; handles: HandleName[] };
    const seat: Seat = { peer: v.peer, handles: v.handles, pid: null };
    let connected!: (s: Seat) => void;
    const whenConnected = new Promise<Seat>((resolve) => (connected = resolve));
    this.expected.set(pid, { seat, connected });
    return { invocation, seat, connected: whenConnected };
  }

  /** Forgets a seat made for a pid that will not connect, and closes its peer. */
  async cancelExpected(pid: number): Promise<void> {
    const e = this.expected.get(pid);
    if (!e) return;
    this.expected.delete(pid);
    await this.peerGone(e.seat.peer);
  }

  /** TIME-1 (virtual clock). */
  async tick(ms: number): Promise<Invocation> {
    return (await this.run({ op: 'tick', ms })).invocation;
  }

  /** The bus's leak audit (INV-5). */
  async audit(): Promise<BusAudit> {
    return (await this.ask({ t: 'audit', id: 0 })) as never;
  }

  /** What the broker counted for one peer's session (null: no session). */
  async counters(peer: PeerId): Promise<SessionCounters | null> {
    return (await this.ask({ t: 'counters', id: 0, peer })) as SessionCounters | null;
  }

  /**
   * Completions given to each connected peer so far, by peer id (TIME-2): as of every request the
   * broker has answered before this call reaches its thread.
   */
  async completionsGiven(): Promise<Record<number, number>> {
    return (await this.ask({ t: 'given', id: 0 })) as Record<number, number>;
  }

  /** The request path's timing totals since the last call; `timed` turns timing on or off from now. */
  async times(timed: boolean): Promise<BrokerTimes> {
    return (await this.ask({ t: 'times', id: 0, timed })) as BrokerTimes;
  }

  /** A fresh bus (BUS-1): every peer of the old one is disconnected, nothing of it survives. */
  async reset(bus: BrokerBusOptions): Promise<Limits> {
    this.generation++;
    for (const [, c] of this.connections) c.socket.destroy();
    this.connections.clear();
    this.expected.clear();
    this.busLimits = (await this.ask({ t: 'reset', id: 0, bus: this.busOptions(bus) })) as Limits;
    this.layout = segmentLayout(this.busLimits, { completionBytes: this.options.completionRingBytes });
    return this.busLimits;
  }

  /** Called with the completions of the close whenever a peer's process goes away. */
  onPeerGone(listener: (peer: PeerId, completions: Completion[]) => void): void {
    this.goneListeners.push(listener);
  }

  /** The peer's process is gone (or the owner ends its seat): the peer is closed on the bus. */
  async peerGone(peer: PeerId): Promise<Completion[]> {
    const c = this.connections.get(peer);
    this.connections.delete(peer);
    c?.socket.destroy();
    c?.watch?.close();
    const completions = (await this.ask({ t: 'gone', id: 0, peer })) as Completion[];
    for (const l of this.goneListeners) l(peer, completions);
    return completions;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.ask({ t: 'stop', id: 0 }).catch(() => undefined);
    this.stopped = true;
    for (const [, c] of this.connections) {
      c.socket.destroy();
      c.watch?.close();
    }
    this.connections.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.worker.terminate();
    fs.rmSync(this.socketPath, { force: true });
  }

  // ------------------------------------------------------------------ connections

  private connected(socket: net.Socket): void {
    let who: KernelIdentity;
    try {
      who = peerCredentials(socket);
    } catch {
      socket.destroy();
      return;
    }
    const generation = this.generation;
    this.seatFor(who)
      .then((seat) => {
        if (seat === null || generation !== this.generation || this.stopped) {
          socket.destroy();
          return;
        }
        return this.handOver(socket, who, seat);
      })
      .catch(() => socket.destroy());
  }

  /** The seat made for this pid, or one the admission policy grants now; null: refused. */
  private async seatFor(who: KernelIdentity): Promise<(Seat & { connected?: (s: Seat) => void }) | null> {
    const e = this.expected.get(who.pid);
    if (e) {
      this.expected.delete(who.pid);
      return { ...e.seat, connected: e.connected };
    }
    const decision = this.options.admit?.(who) ?? null;
    if (decision === null) return null;
    const credentials = decision.credentials ?? { uid: who.uid, gid: who.gid, pid: who.pid };
    const bootstrap = decision.bootstrap ?? [];
    const { invocation } = await this.run({ op: 'attach', credentials, ...(bootstrap.length ? { bootstrap } : {}) });
    if ('pending' in invocation || !invocation.ok) return null;
    const v = invocation.value as { peer: PeerId; handles: HandleName[] };
    return { peer: v.peer, handles: v.handles, pid: null };
  }

  /** The segment to the broker's thread, then to the process (once), then watch the process. */
  private async handOver(
    socket: net.Socket,
    who: KernelIdentity,
    seat: Seat & { connected?: (s: Seat) => void },
  ): Promise<void> {
    const layout = this.layout;
    const seg = createSegment(layout.totalBytes, { name: `tessera-broker-peer-${seat.peer}` });
    try {
      writeLayout(new Int32Array(seg.buffer), layout);
      await this.ask({ t: 'bind', id: 0, peer: seat.peer, sab: seg.buffer, layout });
      const hello: Handshake = { peer: seat.peer, handles: seat.handles, limits: this.busLimits };
      sendFds(socket, JSON.stringify(hello), [seg.fd], 10_000);
    } finally {
      seg.close();
    }
    let watch: ProcessWatch | null = null;
    try {
      watch = ProcessWatch.ofPeer(socket);
    } catch {
      watch = null; // gone already: the socket's close says so too
    }
    this.connections.set(seat.peer, { socket, watch });
    const gone = () => {
      if (this.connections.get(seat.peer)?.socket === socket) void this.peerGone(seat.peer).catch(() => undefined);
    };
    socket.on('close', gone);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined); // nothing is read from a peer's socket after the handshake
    socket.resume();
    watch?.exited({ keepAlive: false }).then(gone, () => undefined);
    const done: Seat = { peer: seat.peer, handles: seat.handles, pid: who.pid };
    seat.connected?.(done);
  }
}
