// The bus between OS processes (DESIGN.md, "Processes"): the owner's bus lives in a
// memfd segment (ShmBus.create({ span: 'processes' })); a process joins it with the
// segment's fd and a seat, exactly as a worker thread joins with a descriptor
// (joinBus: the seat key, once; nothing else in the descriptor trusted). Two ways in:
//
// - spawnProcessPeer (ShmBus.spawnProcess): the owner forks a Node process with the
//   segment's fd inherited, the child connects to a one-use Unix socket, and the owner
//   attaches its peer with the credentials the kernel recorded for that connection
//   (SO_PEERCRED: pid, uid, gid; the pid must be the child's, as fork returned it), not
//   with anything the child says; the child's pidfd is watched from the fork on, and
//   its death (SIGKILL included) recovers the peer (ShmBus.watchProcess).
// - offerSeat / takeSeat: a seat and the segment's fd sent over a Unix socket the
//   receiver reads with the addon (SCM_RIGHTS), for a process that outlives a bus and
//   joins the next one (the conformance driver's pooled processes).
import { fork, spawnSync, type ChildProcess, type ForkOptions } from 'child_process';
import * as net from 'net';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import type { Credentials, HandleName, PeerId } from '../../spec/types';
import {
  mapSegment,
  peerCredentials,
  ProcessWatch,
  receiveFds,
  segmentSeals,
  sendFds,
  type PeerCredentials,
} from '../../native';
import { TesseraError, type BootstrapInput } from '../common';
import type { PeerDescriptor, ShmBus } from './bus';
import { joinBus } from './join';
import type { ShmPeer } from './peer';
import type { Waiting } from './waiting';

/** The environment variable a spawned process finds its seat's socket and the segment's fd in. */
export const SEAT_ENV = 'TESSERA_SHM_SEAT';
/** The fd the segment has in a spawned process: its stdio array is [0, 1, 2, ipc, segment, ...fds]. */
const SEGMENT_FD = 4;
/** A seat on the wire: the descriptor without its buffer (the receiver maps the fd it comes with). */
export type Seat = Omit<PeerDescriptor, 'sab'>;
const SEAT_BYTES_MAX = 1 << 20;

export interface SpawnProcessOptions {
  /** Grants from other peers (BUS-3), as for attach. */
  bootstrap?: BootstrapInput[];
  /** Given to the child with its seat (JSON). */
  data?: unknown;
  /** More fds for the child: they are its fds 5, 6, ... */
  fds?: number[];
  /** Passed to fork (args, execArgv, env, cwd, serialization; not stdio, which the seat needs). */
  fork?: Omit<ForkOptions, 'stdio'> & { args?: string[] };
  /** How long the child may take to connect (default 30 s): then it is killed and the spawn fails. */
  joinTimeoutMs?: number;
  /**
   * Whether the child's V8 gets the larger inlining budget the bus's hot paths need
   * (PEER_V8_FLAGS, appended to its execArgv, when this Node accepts them; default true).
   * DESIGN.md, "Processes".
   */
  tuneV8?: boolean;
}

/**
 * V8 flags a peer process runs with unless told not to: the cumulative inlining budget of one
 * optimized function raised from V8's 920 bytes of bytecode to 3000. A call's lock hold is a deep
 * tree of small functions (checks, table and journal helpers); with the default budget TurboFan
 * stops inlining them partway and each remaining call costs its frame. Measured (DESIGN.md): the
 * CPU of a round trip falls by ~14% on one thread, and the call RTT between processes by ~20-30%.
 */
export const PEER_V8_FLAGS: readonly string[] = ['--max-inlined-bytecode-size-cumulative=3000'];

let peerV8FlagsAccepted: boolean | null = null;

/**
 * Whether this Node starts with PEER_V8_FLAGS: V8's flags are not a stable interface, and Node
 * refuses to start with one its V8 does not know. Asked once, of a child that does nothing.
 */
export function acceptsPeerV8Flags(): boolean {
  peerV8FlagsAccepted ??=
    spawnSync(process.execPath, [...PEER_V8_FLAGS, '-e', ''], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return peerV8FlagsAccepted;
}

export interface ProcessPeer {
  child: ChildProcess;
  peer: PeerId;
  bootstrap: HandleName[];
  /** As the kernel recorded them for the child's connection (and stamped by the bus: CRED-1). */
  credentials: Credentials;
}

/** The seat of a descriptor, for the wire. */
export function seatOf(d: PeerDescriptor): Seat {
  return { slot: d.slot, id: d.id, seatKey: d.seatKey, bootstrap: d.bootstrap, spin: d.spin };
}

/**
 * Fork `file` as a peer of `bus` (span 'processes'): resolves once the child has connected, its
 * peer is attached with the kernel's credentials for it, and its seat is on its way; rejects (the
 * child killed) if it exits or does not connect in time, or if the attach fails (its error).
 */
export async function spawnProcessPeer(
  bus: ShmBus,
  file: string,
  options: SpawnProcessOptions = {},
): Promise<ProcessPeer> {
  const segment = bus.segment;
  if (segment === null) throw new TesseraError('INVALID_ARGUMENT', 'spawnProcess'); // a bus of one process
  const socketName = `\0tessera-seat-${process.pid}-${randomBytes(12).toString('hex')}`;
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketName, () => resolve());
  });
  const { args = [], ...forkOptions } = options.fork ?? {};
  const execArgv = forkOptions.execArgv ?? process.execArgv;
  if (options.tuneV8 !== false && acceptsPeerV8Flags())
    forkOptions.execArgv = [
      ...execArgv.filter((a) => !PEER_V8_FLAGS.some((f) => a.startsWith(f.split('=')[0]))),
      ...PEER_V8_FLAGS,
    ];
  let child: ChildProcess;
  let watch: ProcessWatch | null = null;
  try {
    child = fork(file, args, {
      ...forkOptions,
      env: { ...(forkOptions.env ?? process.env), [SEAT_ENV]: JSON.stringify({ socket: socketName, fd: SEGMENT_FD }) },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', segment.fd, ...(options.fds ?? [])],
    });
    // Opened before this turn of the event loop ends: the child cannot have been reaped yet, so
    // the pid still names it (a pidfd then names it for good, SIGKILL or not).
    if (child.pid === undefined) throw new Error(`spawnProcess: fork of ${file} failed`);
    watch = ProcessWatch.open(child.pid);
  } catch (e) {
    server.close();
    throw e;
  }
  const pid = child.pid;
  try {
    const socket = await connectionOf(server, pid, watch, options.joinTimeoutMs ?? 30_000);
    const credentials = kernelCredentials(peerCredentials(socket));
    const d = bus.attachDescriptor(credentials, options.bootstrap ?? []);
    bus.watchProcess(d.id, watch);
    socket.end(JSON.stringify({ seat: seatOf(d), data: options.data ?? null }) + '\n');
    return { child, peer: d.id, bootstrap: d.bootstrap, credentials };
  } catch (e) {
    child.kill('SIGKILL');
    watch.close();
    throw e;
  } finally {
    server.close();
  }
}

function kernelCredentials(c: PeerCredentials): Credentials {
  return { uid: c.uid, gid: c.gid, pid: c.pid };
}

/** The first connection from process `pid` (others are closed at once), or an error if it exits or times out. */
function connectionOf(server: net.Server, pid: number, watch: ProcessWatch, timeoutMs: number): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`spawnProcess: process ${pid} did not join in ${timeoutMs} ms`)),
      timeoutMs,
    );
    let settled = false;
    function done(e: Error | null, socket?: net.Socket): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      server.off('connection', onConnection);
      if (e) reject(e);
      else resolve(socket!);
    }
    function onConnection(socket: net.Socket): void {
      let from: number;
      try {
        from = peerCredentials(socket).pid;
      } catch {
        from = -1;
      }
      // Anyone on this machine may connect to an abstract socket: only the child gets its seat.
      if (from !== pid) socket.destroy();
      else done(null, socket);
    }
    server.on('connection', onConnection);
    watch.exited({ keepAlive: false }).then(
      () => done(new Error(`spawnProcess: process ${pid} exited before it joined`)),
      () => undefined,
    );
  });
}

/** A socket's bytes up to the first newline (at most SEAT_BYTES_MAX). */
function readLine(socket: net.Socket): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) {
        socket.destroy();
        resolve(text.slice(0, end));
      } else if (text.length > SEAT_BYTES_MAX) {
        socket.destroy();
        reject(new Error('joinSpawnedBus: the seat is too long'));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('joinSpawnedBus: the owner closed the connection without a seat')));
  });
}

/** The segment's fd mapped, after checking that no process can shrink it under this one (a SIGBUS). */
function mapSealed(fd: number, what: string): SharedArrayBuffer {
  if (!segmentSeals(fd).shrink) throw new Error(`${what}: fd ${fd} is not a sealed memfd segment`);
  return mapSegment(fd);
}

/**
 * In a process started by ShmBus.spawnProcess: connect to the owner, receive the seat (the owner
 * attached the peer with this process's kernel credentials), map the segment inherited as fd 4,
 * and join. Returns the peer and the data the owner gave spawnProcess.
 */
export async function joinSpawnedBus(options: { waiting?: Waiting } = {}): Promise<{ peer: ShmPeer; data: unknown }> {
  const env = process.env[SEAT_ENV];
  if (env === undefined)
    throw new Error(`joinSpawnedBus: no ${SEAT_ENV}: this process was not started by spawnProcess`);
  delete process.env[SEAT_ENV]; // not for this process's own children
  const { socket: name, fd } = JSON.parse(env) as { socket: string; fd: number };
  const socket = net.connect(name);
  const line = await readLine(socket);
  const { seat, data } = JSON.parse(line) as { seat: Seat; data: unknown };
  const sab = mapSealed(fd, 'joinSpawnedBus');
  fs.closeSync(fd); // the mapping stays
  return { peer: joinBus({ ...seat, sab }, options), data };
}

/**
 * Send a seat and the bus's segment fd (SCM_RIGHTS) over a connected Unix socket, to a process
 * that reads it with takeSeat. The owner attached the peer (attachDescriptor) with credentials it
 * vouches for: SO_PEERCRED of the socket when the other end connected to it (peerCredentials).
 */
export function offerSeat(socket: number, bus: ShmBus, descriptor: PeerDescriptor, timeoutMs = 10_000): void {
  if (bus.segment === null) throw new TesseraError('INVALID_ARGUMENT', 'offerSeat');
  sendFds(socket, JSON.stringify(seatOf(descriptor)), [bus.segment.fd], timeoutMs);
}

/** Receive a seat and its segment (offerSeat) on a socket no net.Socket reads, map it and join the bus. */
export function takeSeat(socket: number, options: { waiting?: Waiting; timeoutMs?: number } = {}): ShmPeer {
  const got = receiveFds(socket, { maxBytes: SEAT_BYTES_MAX, maxFds: 1, timeoutMs: options.timeoutMs ?? 10_000 });
  if (got === null) throw new Error('takeSeat: the socket was closed');
  if (got.fds.length !== 1) {
    for (const fd of got.fds) fs.closeSync(fd);
    throw new Error(`takeSeat: a seat comes with one fd, got ${got.fds.length}`);
  }
  const [fd] = got.fds;
  let sab: SharedArrayBuffer;
  try {
    sab = mapSealed(fd, 'takeSeat');
  } finally {
    fs.closeSync(fd);
  }
  const seat = JSON.parse(Buffer.from(got.data).toString('utf8')) as Seat;
  return joinBus({ ...seat, sab }, options.waiting ? { waiting: options.waiting } : {});
}
