// The bus owner's side (DESIGN.md, "Trust model"): it creates the buffer (a
// SharedArrayBuffer for worker threads, or a memfd segment that other processes map),
// attaches peers (run by its own thread, or seated for a worker thread or a process
// that joins with the descriptor it is handed), recovers the peers of threads and
// processes that died, and runs spec operations as given through its in-process
// runner (runner.ts).
import { Worker, type WorkerOptions } from 'worker_threads';
import { createSegment, nativeAvailability, ProcessWatch, type Segment } from '../../native';
import { createHash, randomBytes } from 'crypto';
import type {
  Completion,
  Credentials,
  HandleName,
  Invocation,
  Limits,
  Operation,
  PeerId,
  Result,
} from '../../spec/types';
import { resolveLimits } from '../../spec/registry/limits';
import * as rules from '../../model/rules';
import {
  MALFORMED,
  readBootstrap,
  readCredentials,
  readRightsBits,
  TesseraError,
  type BootstrapInput,
} from '../common';
import { BusCore, OWNER_TOKEN } from './core';
import * as layout from './layout';
import { computeLayout, type Layout, type ShmOptions } from './layout';
import { attach, close, type Grant } from './operations';
import { InProcessRunner, type RunnerBus } from './runner';
import { PeerSeat } from './seat';
import { ShmPeer } from './peer';
import * as status from './status';
import { errorCodeOf, type Status } from './status';
import { now } from './spin';
import { SPIN_POLICY } from './spin-policy';
import { processWaiting, threadWaiting, type Waiting } from './waiting';
import { spawnProcessPeer, type ProcessPeer, type SpawnProcessOptions } from './processes';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { HDR_LOCK_WAITERS, HDR_SPAN, P_ID, P_LOCK_WAITING, P_ROOM, P_SLEEP, P_STATUS, P_WAITING, P_WAKE } = layout;
const { SEAT_KEY_HASH_WORDS, SPAN_PROCESSES } = layout;
const { OK, STATUS } = status;
const { isCount, isName } = rules;

export interface ShmBusOptions extends ShmOptions {
  limits?: Partial<Limits>;
  /** Longest spin before sleeping, in microseconds (adaptive below it, DESIGN.md); 0 sleeps at once. Default SPIN_POLICY.budgetUs. */
  spin?: number;
  /** 'real' (default): timeouts follow performance.now(). 'virtual': only tick(ms) moves time (run() only). */
  clock?: 'real' | 'virtual';
  /**
   * Who may join: 'threads' (default), worker threads of this process (the bus is a
   * SharedArrayBuffer, waiting is Atomics); 'processes', other OS processes too (the bus is a
   * memfd segment mapped through the native addon, waiting is futex calls, for every thread
   * and process of the bus: joinBus reads the choice from the buffer).
   */
  span?: 'threads' | 'processes';
  /** How this thread sleeps and wakes others (waiting.ts); by default the one the span implies. */
  waiting?: Waiting;
}

/**
 * What a worker needs to join a bus (structured-clonable; the buffer is shared, not copied).
 * It is a seat the owner handed out: joinBus accepts it only with the seat's key, once.
 */
export interface PeerDescriptor {
  sab: SharedArrayBuffer;
  slot: number;
  id: PeerId;
  /** The seat's key (128 random bits, hex): the bus keeps only its SHA-256. */
  seatKey: string;
  bootstrap: HandleName[];
  /** The spin budget of the bus, microseconds. */
  spin: number;
}

/** The SHA-256 of a seat key, as the words the bus keeps. */
export function seatKeyHash(seatKey: string): Int32Array {
  const digest = createHash('sha256').update(seatKey, 'utf8').digest();
  return new Int32Array(digest.buffer.slice(digest.byteOffset, digest.byteOffset + 4 * SEAT_KEY_HASH_WORDS));
}

export class ShmBus implements RunnerBus {
  readonly sab: SharedArrayBuffer;
  readonly core: BusCore;
  readonly layout: Layout;
  readonly limits: Limits;
  private readonly spin: number;
  private readonly clock: 'real' | 'virtual';
  private readonly slots = new Map<PeerId, number>();
  private readonly startMs = now();
  private readonly workers = new Map<PeerId, Worker>();
  /** The memfd the bus lives in when it spans processes (its fd is what a joining process maps). */
  readonly segment: Segment | null;
  /** The processes running seated peers, by peer id: their pidfds (recovery, and the lock's dead holders). */
  private readonly processes = new Map<PeerId, ProcessWatch>();
  private runner: InProcessRunner | null = null;
  /** Completions of the last run() (TIME-2). */
  lastCompletions: Completion[] = [];

  private constructor(options: ShmBusOptions) {
    this.limits = resolveLimits(options.limits);
    const sizing: ShmOptions = {};
    for (const k of ['journalEntries', 'viewSlackBytes'] as const) if (options[k] !== undefined) sizing[k] = options[k];
    this.layout = computeLayout(this.limits, sizing);
    const processes = options.span === 'processes';
    if (options.span !== undefined && !processes && options.span !== 'threads')
      throw new TesseraError('INVALID_ARGUMENT', 'ShmBus.create');
    this.segment = processes ? createSegment(this.layout.totalBytes, { name: 'tessera-bus' }) : null;
    this.sab = this.segment?.buffer ?? threadBusMemory(this.layout.totalBytes);
    const waiting = options.waiting ?? (processes ? processWaiting : threadWaiting);
    this.core = new BusCore(this.sab, this.layout, OWNER_TOKEN, 0, waiting);
    this.core.initialize();
    Atomics.store(this.core.int32, HDR_SPAN, processes ? SPAN_PROCESSES : 0);
    this.core.busLock.stolen = (token) => this.rollBackDeadHolder(token);
    this.spin = options.spin ?? SPIN_POLICY.budgetUs;
    this.clock = options.clock ?? 'real';
  }

  static create(options: ShmBusOptions = {}): ShmBus {
    return new ShmBus(options);
  }

  /** BUS-2: attach a peer run by this thread. */
  attach(credentials: Credentials, bootstrap: BootstrapInput[] = []): ShmPeer {
    const v = this.attachInput(credentials, bootstrap, null);
    return new ShmPeer(new PeerSeat(this.core, this.slots.get(v.peer)!, v.peer, this.spin), v.handles, this);
  }

  /** BUS-2 for a peer another thread will run: pass the descriptor to joinBus() there (it joins once). */
  attachDescriptor(credentials: Credentials, bootstrap: BootstrapInput[] = []): PeerDescriptor {
    const seatKey = randomBytes(16).toString('hex');
    const v = this.attachInput(credentials, bootstrap, seatKeyHash(seatKey));
    return { sab: this.sab, slot: this.slots.get(v.peer)!, id: v.peer, seatKey, bootstrap: v.handles, spin: this.spin };
  }

  private attachInput(
    credentials: unknown,
    bootstrap: unknown,
    seat: Int32Array | null,
  ): { peer: PeerId; handles: HandleName[] } {
    const grants = readBootstrap(bootstrap);
    const r = grants === MALFORMED ? invalid() : this.attachOp(credentials, grants, seat);
    if (!r.ok) throw new TesseraError(r.error, 'attach');
    return r.value as { peer: PeerId; handles: HandleName[] };
  }

  /**
   * Start a worker that runs one peer: `joinBus(workerData.tessera)` in the worker. If the
   * worker dies (exit, uncaught error, terminate()), the peer is closed with full close
   * semantics (CLOSE-1..4), rolling back an operation it left half done.
   */
  spawnPeer(
    workerFile: string,
    options: { credentials: Credentials; bootstrap?: BootstrapInput[]; workerData?: unknown; worker?: WorkerOptions },
  ): { worker: Worker; peer: PeerId; bootstrap: HandleName[] } {
    const d = this.attachDescriptor(options.credentials, options.bootstrap ?? []);
    const worker = new Worker(workerFile, { ...options.worker, workerData: { tessera: d, data: options.workerData } });
    this.workers.set(d.id, worker);
    worker.once('exit', () => {
      this.workers.delete(d.id);
      this.recover(d.id);
    });
    worker.on('error', () => undefined); // 'exit' follows
    return { worker, peer: d.id, bootstrap: d.bootstrap };
  }

  /**
   * Start an OS process that runs one peer (a bus made with span 'processes'): it calls
   * joinSpawnedBus() and gets its seat; the peer's credentials are the kernel's (SO_PEERCRED of
   * the socket it joins through), and when the process dies, however it dies, its peer is
   * recovered as a dead worker's is (processes.ts).
   */
  spawnProcess(file: string, options: SpawnProcessOptions = {}): Promise<ProcessPeer> {
    return spawnProcessPeer(this, file, options);
  }

  /**
   * The process behind a seated peer, watched through its pidfd: when it ends, its peer is
   * recovered (closed, its half-done operation rolled back); until then, a lock acquisition of
   * this thread that finds the lock held by that process after it died takes it over at once.
   */
  watchProcess(peer: PeerId, watch: ProcessWatch): void {
    if (this.slotOf(peer) === null) throw new TesseraError('INVALID_ARGUMENT', 'watchProcess');
    this.processes.get(peer)?.close();
    this.processes.set(peer, watch);
    this.core.busLock.deadHolder ??= (token) => {
      const w = this.processes.get(token - 1);
      return w !== undefined && !w.alive();
    };
    watch.exited({ keepAlive: false }).then(
      () => {
        this.recover(peer);
        if (this.processes.get(peer) === watch) this.processes.delete(peer);
        watch.close();
      },
      () => undefined, // the watch was closed (dispose, or a new watch for the peer)
    );
  }

  /** Stop watching processes and close the segment's fd (the memory lives until every process unmapped it). */
  dispose(): void {
    for (const w of this.processes.values()) w.close();
    this.processes.clear();
    this.segment?.close();
  }

  /** Close a peer whose thread or process died, taking the bus lock over from it if it held it. */
  recover(peer: PeerId): boolean {
    const slot = this.slotOf(peer);
    if (slot === null) return false;
    const core = this.core;
    // A peer closed before its thread or process ended may have its slot taken by a later peer
    // (ids are never reused, PEER-1): that slot, its token and its journal area are not the dead one's.
    if (Atomics.load(core.int32, core.peerAt(slot) + P_ID) !== peer) return false;
    const token = core.tokenOf(slot);
    // A worker journals in area 1 + slot (joinBus); the owner thread's peers never die alone.
    core.takeOverLock(token === OWNER_TOKEN ? -2 : token, 1 + slot);
    let closed = false;
    try {
      if (core.peerOpen(slot, peer)) closed = close(core, slot, peer) === OK;
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (token !== OWNER_TOKEN) this.afterDeath(slot);
    return closed;
  }

  /**
   * What a dead thread or process left outside the journal: its own sleeper counts (only it
   * changed them), its place in the lock's waiter count, and publications it may have committed
   * without making (killed between its commit and its wake-ups): every open peer's wake and room
   * words are bumped and woken once, and every waiter re-checks (a spurious wake-up is harmless).
   */
  private afterDeath(slot: number): void {
    const I = this.core.int32,
      p = this.core.peerAt(slot);
    Atomics.store(I, p + P_SLEEP, 0);
    Atomics.store(I, p + P_WAITING, 0);
    if (Atomics.exchange(I, p + P_LOCK_WAITING, 0) === 1) Atomics.sub(I, HDR_LOCK_WAITERS, 1);
    const waiting = this.core.waiting;
    for (let s = 0; s < this.layout.peers; s++) {
      const q = this.core.peerAt(s);
      if (Atomics.load(I, q + P_STATUS) !== 1) continue;
      Atomics.add(I, q + P_WAKE, 1);
      waiting.wake(I, q + P_WAKE, Infinity);
      Atomics.add(I, q + P_ROOM, 1);
      waiting.wake(I, q + P_ROOM, Infinity);
    }
  }

  /** The lock was stolen from a dead holder (lock.ts): undo its half-done operation in its journal area. */
  private rollBackDeadHolder(token: number): void {
    const slot = this.slotOf(token - 1);
    if (slot !== null && this.core.tokenOf(slot) === token) this.core.journal.rollbackDeadThread(1 + slot);
  }

  /** Leak audit (INV-5). */
  audit(): ReturnType<BusCore['audit']> {
    this.core.lock();
    try {
      return this.core.audit();
    } finally {
      this.core.unlock();
    }
  }

  /** TIME-1 for the virtual clock: throws INVALID_ARGUMENT unless ms is a safe non-negative integer keeping the clock below 2^53. */
  tick(ms: number): void {
    const r = this.run({ op: 'tick', ms });
    if ('pending' in r || !r.ok) throw new TesseraError('pending' in r ? 'INVALID_ARGUMENT' : r.error, 'tick');
  }

  /**
   * Run one operation of the spec as given (the conformance driver's entry point): results,
   * deliveries and completions exactly as the model's step (handle names differ: slot +
   * generation). Completions land in lastCompletions.
   */
  run(op: Operation): Invocation {
    this.runner ??= new InProcessRunner(this, this.clock === 'real' ? this.startMs : null);
    return this.runner.run(op, (completions) => (this.lastCompletions = completions));
  }

  /** PEER-2: the slot of a peer id this bus issued, or null. */
  slotOf(id: unknown): number | null {
    if (!isName(id) || id < 1 || id >= this.core.nextPeerId()) return null;
    return this.slots.get(id) ?? null;
  }

  /** BUS-2, BUS-3 with grants in the spec's shape; `seat`: the seat key's hash of a peer another thread runs. */
  attachOp(credentials: unknown, bootstrap: unknown, seat: Int32Array | null = null): Result {
    const cred = readCredentials(credentials);
    if (cred === MALFORMED) return invalid();
    const grants = this.grantsOf(bootstrap);
    if (grants === MALFORMED) return invalid();
    const core = this.core,
      id = core.nextPeerId();
    core.lock();
    let status: Status;
    try {
      status = attach(core, id, cred, grants, seat === null ? OWNER_TOKEN : id + 1, seat);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    if (status !== OK) return { ok: false, error: errorCodeOf(status) };
    this.slots.set(id, core.outCount);
    return { ok: true, value: { peer: id, handles: core.outNames.slice(0, core.outNamesCount) } };
  }

  /** BUS-3: each grant names an open peer of this bus, a name, valid rights and a badge in range. */
  private grantsOf(bootstrap: unknown): Grant[] | typeof MALFORMED {
    if (bootstrap === undefined) return [];
    if (!Array.isArray(bootstrap)) return MALFORMED;
    const grants: Grant[] = [];
    for (const g of bootstrap as unknown[]) {
      if (typeof g !== 'object' || g === null) return MALFORMED;
      const { fromPeer, handle, rights, badge } = g as Record<string, unknown>;
      const slot = this.slotOf(fromPeer);
      if (slot === null || !this.core.peerOpen(slot, fromPeer as number) || !isName(handle)) return MALFORMED;
      const bits = rights === undefined ? -1 : readRightsBits(rights);
      if (bits === MALFORMED || (badge !== undefined && !(isCount(badge) && badge >= 1))) return MALFORMED;
      grants.push({ slot, handle, rights: bits, badge: (badge as number | undefined) ?? 0 });
    }
    return grants;
  }
}

function invalid(): Result {
  return { ok: false, error: errorCodeOf(STATUS.INVALID_ARGUMENT) };
}

/**
 * The memory of a bus whose peers are threads of this process. V8's own SharedArrayBuffer is
 * private anonymous memory, which Linux's overcommit check charges whole to every fork() of the
 * process (a bus at the default limits is some hundreds of MiB, reserved though mostly never
 * touched): a process holding a few dozen buses could no longer start a child (spawn ENOMEM). A
 * shared mapping of a memfd is not charged at fork, so one is used where the native addon is
 * built; the fd is closed at once (the mapping lives as long as the buffer, which threads share).
 */
function threadBusMemory(bytes: number): SharedArrayBuffer {
  if (!nativeAvailability().available) return new SharedArrayBuffer(bytes);
  const segment = createSegment(bytes, { name: 'tessera-bus' });
  segment.close();
  return segment.buffer;
}
