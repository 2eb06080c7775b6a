// The shared-memory backend: the Tessera bus in one SharedArrayBuffer shared by
// worker threads (DESIGN.md). The public API mirrors the reference backend
// (Bus, Peer) and adds synchronous flavours for worker threads (blocking via
// Atomics.wait) and allocation-free fast paths (sendBytes, receiveBatchSync,
// callBytesSync, replyBytes).
import { Worker, type WorkerOptions } from 'worker_threads';
import { performance } from 'perf_hooks';
import type {
  BootstrapGrant,
  Completion,
  Credentials,
  Delivery,
  HandleName,
  Invocation,
  Limits,
  Message,
  Operation,
  PeerId,
  ReceivedHandle,
  ReplyDelivery,
  Result,
  Right,
  Transfer,
} from '../../spec/types';
import { resolveLimits } from '../../spec/registry/limits';
import { isBase64 } from '../../model/payload';
import { rightsValid } from '../../model/rules';
import { TesseraError, type MessageInput } from '../common';
import { SPIN_POLICY } from './spin-policy';
import {
  BLOCKED,
  BusCore,
  CLOSED,
  CODES,
  INVALID_ARGUMENT,
  OK,
  OWNER_TOKEN,
  TIMED_OUT,
  createReceiveBatch,
  rightsArray,
  rightsMask,
  type LocalPending,
  type ReceiveBatch,
  type StagedTransfer,
} from './core';
import {
  computeLayout,
  NONE,
  P_MBREADY,
  P_ROOM_WAITERS,
  P_SLEEP,
  P_WAITING,
  P_WAKE,
  P_WORDS,
  type Layout,
  type ShmOptions,
} from './layout';

export { TesseraError, createReceiveBatch, type ReceiveBatch, type MessageInput };
export type { ShmOptions };

const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const now = (): number => performance.now();
// Atomics.waitAsync is in Node 20 but not in the ES2022 lib this project compiles against.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, t?: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

export interface ShmBusOptions extends ShmOptions {
  limits?: Partial<Limits>;
  /** Longest spin before sleeping, in microseconds (adaptive below it, see DESIGN.md); 0 sleeps at once. Default 50. */
  spin?: number;
  /** 'real' (default): timeouts follow performance.now(). 'virtual': only bus.tick(ms) moves time (run() only). */
  clock?: 'real' | 'virtual';
}

/** What a worker needs to join a bus (structured-clonable; the buffer is shared, not copied). */
export interface PeerDescriptor {
  sab: SharedArrayBuffer;
  limits: Limits;
  options: ShmOptions;
  slot: number;
  id: PeerId;
  token: number;
  bootstrap: HandleName[];
  spin: number;
}

export interface BootstrapInput {
  from: { id: PeerId } | PeerId;
  handle: HandleName;
  rights?: Right[];
  badge?: number;
}

function fail(code: number, op: string): never {
  throw new TesseraError(CODES[code] as never, op);
}

// ------------------------------------------------------------------ staging of messages
function toBytes(part: string | Uint8Array): Uint8Array {
  return typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

/** Stage a MessageInput (bytes) into the core; returns false when its shape is invalid (INVALID_ARGUMENT). */
function stageInput(core: BusCore, input: MessageInput | undefined, allowMove: boolean): boolean {
  const p = input?.payload ?? [];
  core.nsegs = 0;
  if (typeof p === 'string' || p instanceof Uint8Array) {
    core.segs[0] = toBytes(p);
    core.nsegs = 1;
  } else for (const part of p) core.segs[core.nsegs++] = toBytes(part);
  return stageTransfers(core, input?.handles, allowMove);
}

/**
 * rightsValid(r) ? rightsMask(r) : -1, in one indexed pass without a closure or an iterator (the
 * per-transfer cost of a send). A hole in a sparse array is not a right: -1, as rightsValid says.
 */
function transferMask(r: unknown): number {
  if (!Array.isArray(r)) return -1;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    const x = r[i];
    if (x === 'send') m |= 1;
    else if (x === 'grant') m |= 2;
    else return -1;
  }
  return m;
}

function stageTransfers(core: BusCore, transfers: readonly Transfer[] | undefined, allowMove: boolean): boolean {
  core.nxfers = 0;
  if (transfers === undefined) return true;
  if (!Array.isArray(transfers)) return false;
  for (let i = 0; i < transfers.length; i++) {
    const t = transfers[i];
    if (typeof t !== 'object' || t === null || !isName(t.handle)) return false;
    const mask = t.rights === undefined ? -1 : transferMask(t.rights);
    if (t.rights !== undefined && mask < 0) return false;
    if (t.move !== undefined && typeof t.move !== 'boolean') return false;
    for (let j = 0; j < i; j++) if (transfers[j].handle === t.handle) return false; // SEND-5
    if (!allowMove && t.move === true) return false; // MCAST-1
    while (core.xfers.length <= i) core.xfers.push({ handle: 0, rights: -1, move: false });
    const x = core.xfers[i];
    x.handle = t.handle;
    x.rights = mask;
    x.move = t.move === true;
  }
  core.nxfers = transfers.length;
  return true;
}

/** Stage a spec Message (base64 segments); false when malformed (SEND-5 shape rule). */
function stageMessage(core: BusCore, m: unknown, allowMove: boolean): boolean {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as Message;
  if (!Array.isArray(msg.segments) || !msg.segments.every(isBase64)) return false;
  if (msg.transfers !== undefined && !Array.isArray(msg.transfers)) return false;
  // Shape of every transfer first (INVALID_ARGUMENT wins over size checks, ERR-1).
  if (!stageTransfers(core, msg.transfers, true)) return false;
  if (!allowMove && (msg.transfers ?? []).some((t) => t.move === true)) return false;
  core.nsegs = 0;
  for (const s of msg.segments) core.segs[core.nsegs++] = Buffer.from(s, 'base64');
  return true;
}

function snapshotStaged(core: BusCore): { segments: Uint8Array[]; transfers: StagedTransfer[] } {
  return {
    segments: core.segs.slice(0, core.nsegs).map((s) => Uint8Array.from(s)),
    transfers: core.xfers.slice(0, core.nxfers).map((t) => ({ ...t })),
  };
}

function restoreStaged(core: BusCore, lp: LocalPending): void {
  core.nsegs = 0;
  for (const s of lp.segments) core.segs[core.nsegs++] = s;
  core.nxfers = 0;
  for (const t of lp.transfers) {
    while (core.xfers.length <= core.nxfers) core.xfers.push({ handle: 0, rights: -1, move: false });
    Object.assign(core.xfers[core.nxfers++], t);
  }
}

// ------------------------------------------------------------------ the bus (owner side)
export class ShmBus {
  readonly sab: SharedArrayBuffer;
  readonly core: BusCore;
  readonly layout: Layout;
  readonly limits: Limits;
  private readonly options: ShmOptions;
  private readonly spin: number;
  private readonly clock: 'real' | 'virtual';
  private readonly slots = new Map<PeerId, number>();
  private readonly startMs = now();
  private readonly workers = new Map<PeerId, Worker>();
  /** Completions of the last run() (TIME-2). */
  lastCompletions: Completion[] = [];

  private constructor(options: ShmBusOptions) {
    this.limits = resolveLimits(options.limits);
    this.options = {
      callSlotsPerPeer: options.callSlotsPerPeer,
      maxNodes: options.maxNodes,
      journalEntries: options.journalEntries,
      viewSlackBytes: options.viewSlackBytes,
    };
    for (const k of Object.keys(this.options) as (keyof ShmOptions)[])
      if (this.options[k] === undefined) delete this.options[k];
    this.layout = computeLayout(this.limits, this.options);
    this.sab = new SharedArrayBuffer(this.layout.totalBytes);
    this.core = new BusCore(this.sab, this.layout, OWNER_TOKEN);
    this.core.initialize();
    this.spin = options.spin ?? SPIN_POLICY.budgetUs;
    this.clock = options.clock ?? 'real';
  }

  static create(options: ShmBusOptions = {}): ShmBus {
    return new ShmBus(options);
  }

  /** BUS-2: attach a peer run by this thread. */
  attach(credentials: Credentials, bootstrap: BootstrapInput[] = []): ShmPeer {
    const d = this.attachDescriptor(credentials, bootstrap, OWNER_TOKEN);
    return new ShmPeer(this.core, d.slot, d.id, d.bootstrap, this.spin, this);
  }

  /** BUS-2 for a peer another thread will run: pass the descriptor to joinBus() there. */
  attachDescriptor(credentials: Credentials, bootstrap: BootstrapInput[] = [], token?: number): PeerDescriptor {
    const r = this.attachOp(
      credentials,
      bootstrap.map((b) => ({
        fromPeer: typeof b.from === 'number' ? b.from : b.from.id,
        handle: b.handle,
        ...(b.rights ? { rights: b.rights } : {}),
        ...(b.badge !== undefined ? { badge: b.badge } : {}),
      })),
      token,
    );
    if (!r.ok) throw new TesseraError(r.error, 'attach');
    const v = r.value as { peer: PeerId; handles: HandleName[] };
    return {
      sab: this.sab,
      limits: this.limits,
      options: this.options,
      slot: this.slots.get(v.peer)!,
      id: v.peer,
      token: token ?? this.core.tokenOf(this.slots.get(v.peer)!),
      bootstrap: v.handles,
      spin: this.spin,
    };
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
    const id = this.core.nextPeerId();
    const d = this.attachDescriptor(options.credentials, options.bootstrap ?? [], id + 1);
    const worker = new Worker(workerFile, { ...options.worker, workerData: { tessera: d, data: options.workerData } });
    this.workers.set(d.id, worker);
    const onGone = () => {
      this.workers.delete(d.id);
      this.recover(d.id);
    };
    worker.once('exit', onGone);
    worker.on('error', () => undefined); // 'exit' follows
    return { worker, peer: d.id, bootstrap: d.bootstrap };
  }

  /** Close a peer whose thread died, stealing the bus lock from it if it held it. */
  recover(peer: PeerId): boolean {
    const slot = this.slots.get(peer);
    if (slot === undefined) return false;
    const core = this.core;
    const token = core.tokenOf(slot);
    // A worker journals in area 1 + slot (joinBus); the owner thread's peers never die alone.
    core.lockStealing(token === OWNER_TOKEN ? -2 : token, 1 + slot);
    try {
      if (!core.peerOpen(slot, peer)) {
        core.unlock();
        return false;
      }
      core.closeLocked(slot, peer);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return true;
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

  /** TIME-1 for the virtual clock. */
  tick(ms: number): void {
    const r = this.run({ op: 'tick', ms });
    if ('pending' in r || !r.ok) throw new Error('tick failed');
  }

  // ------------------------------------------------------------------ the in-process runner
  /**
   * Run one operation of the spec as given (the conformance driver's entry point):
   * results, deliveries and completions exactly as the model's step (handle names
   * differ: slot + generation). Completions land in lastCompletions.
   */
  run(op: Operation): Invocation {
    const core = this.core;
    if (this.clock === 'real' && (op as { op?: string })?.op !== 'tick') this.catchUp();
    core.completions = [];
    const r = this.exec(op);
    const acted = 'pending' in r || r.ok || r.error === 'CALLER_GONE';
    if (acted) this.settle();
    this.lastCompletions = core.completions;
    core.completions = [];
    return r;
  }

  private catchUp(): void {
    const elapsed = Math.floor(now() - this.startMs) - this.core.F[this.layout.fHeader + 4];
    if (elapsed > 0) {
      this.core.completions = [];
      this.exec({ op: 'tick', ms: elapsed });
      this.settle();
    }
  }

  private slotOf(id: unknown): number | 'unknown' {
    if (!isName(id) || id < 1 || id >= this.core.nextPeerId()) return 'unknown';
    return this.slots.get(id) ?? 'unknown';
  }

  /** PEER-2 checks: returns the slot or an error result. */
  private peerCheck(id: unknown): number | Result {
    const slot = this.slotOf(id);
    if (slot === 'unknown') return { ok: false, error: 'INVALID_ARGUMENT' };
    if (!this.core.peerOpen(slot, id as number)) return { ok: false, error: 'CLOSED' };
    return slot;
  }

  private locked(fn: () => number): number {
    const core = this.core;
    core.lock();
    let code: number;
    try {
      code = fn();
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return code;
  }

  private attachOp(credentials: unknown, bootstrap: unknown, token?: number): Result {
    const c = credentials as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || !isName(c.uid) || !isName(c.gid) || !isName(c.pid))
      return err(INVALID_ARGUMENT);
    const grants: { slot: number; handle: number; rights: number; badge: number }[] = [];
    if (bootstrap !== undefined) {
      if (!Array.isArray(bootstrap)) return err(INVALID_ARGUMENT);
      for (const g of bootstrap as BootstrapGrant[]) {
        const slot = this.slotOf(g?.fromPeer);
        if (slot === 'unknown' || !this.core.peerOpen(slot, g.fromPeer) || !isName(g.handle))
          return err(INVALID_ARGUMENT);
        if (g.rights !== undefined && !rightsValid(g.rights)) return err(INVALID_ARGUMENT);
        if (g.badge !== undefined && !(isName(g.badge) && g.badge >= 1)) return err(INVALID_ARGUMENT);
        grants.push({
          slot,
          handle: g.handle,
          rights: g.rights === undefined ? -1 : rightsMask(g.rights),
          badge: g.badge ?? 0,
        });
      }
    }
    const id = this.core.nextPeerId();
    const code = this.locked(() =>
      this.core.attachLocked(
        id,
        { uid: c.uid as number, gid: c.gid as number, pid: c.pid as number },
        grants,
        token ?? OWNER_TOKEN,
      ),
    );
    if (code !== OK) return err(code);
    this.slots.set(id, this.core.outCount);
    return { ok: true, value: { peer: id, handles: this.core.outSkipped.slice() } };
  }

  private exec(op: Operation): Invocation {
    const core = this.core;
    const o = op as unknown as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) return err(INVALID_ARGUMENT);
    switch (o.op) {
      case 'attach':
        return this.attachOp(o.credentials, o.bootstrap);
      case 'tick': {
        if (!isName(o.ms)) return err(INVALID_ARGUMENT);
        const F = core.F,
          nowI = this.layout.fHeader + 4;
        this.locked(() => {
          core.wf(nowI, F[nowI] + (o.ms as number));
          return OK;
        });
        const t = F[nowI];
        for (const lp of core.local.filter((q) => q.deadline !== null && q.deadline <= t)) {
          if (!core.local.includes(lp)) continue;
          if (lp.kind === 'call')
            this.locked(() => {
              core.timeoutCall(lp.call);
              return OK;
            });
          else {
            core.removeLocal(lp);
            core.pushCompletion(lp, lp.kind === 'send' ? err(TIMED_OUT) : { ok: true, value: { deliveries: [] } });
          }
        }
        return { ok: true, value: { nowMs: t } };
      }
    }
    const pc = this.peerCheck(o.peer);
    if (typeof pc !== 'number') return pc;
    const slot = pc,
      id = o.peer as number;
    switch (o.op) {
      case 'createNode': {
        if (o.credentials !== undefined && typeof o.credentials !== 'boolean') return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.createNodeLocked(slot, o.credentials === true));
        return code === OK ? { ok: true, value: { handle: core.outName } } : err(code);
      }
      case 'mint': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        if (!rightsValid(o.rights) || (o.badge !== undefined && !(isName(o.badge) && o.badge >= 1)))
          return err(INVALID_ARGUMENT);
        const code = this.locked(() =>
          core.mintLocked(slot, o.handle as number, rightsMask(o.rights as Right[]), (o.badge as number) ?? 0),
        );
        return code === OK ? { ok: true, value: { handle: core.outName } } : err(code);
      }
      case 'release': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        return res(
          this.locked(() => core.releaseLocked(slot, o.handle as number)),
          {},
        );
      }
      case 'revoke': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.revokeLocked(slot, o.handle as number));
        return code === OK ? { ok: true, value: { revoked: core.outCount } } : err(code);
      }
      case 'destroyNode': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        return res(
          this.locked(() => core.destroyNodeLocked(slot, o.handle as number)),
          {},
        );
      }
      case 'send': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        if (o.timeoutMs !== undefined && !isName(o.timeoutMs)) return err(INVALID_ARGUMENT);
        if (!stageMessage(core, o.message, true)) return err(INVALID_ARGUMENT);
        const timeoutMs = (o.timeoutMs as number | undefined) ?? 0;
        const code = this.locked(() => core.sendLocked(slot, id, o.handle as number, timeoutMs > 0));
        if (code !== BLOCKED) return res(code, {});
        const ticket = this.locked(() => core.newTicket());
        const staged = snapshotStaged(core);
        core.local.push({
          ticket,
          kind: 'send',
          slot,
          peerId: id,
          deadline: this.nowMs() + timeoutMs,
          call: NONE,
          callGen: 0,
          max: 0,
          handle: o.handle as number,
          timeoutMs,
          ...staged,
        });
        return { pending: true, ticket };
      }
      case 'call': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        if (o.timeoutMs !== undefined && !isName(o.timeoutMs)) return err(INVALID_ARGUMENT);
        if (!stageMessage(core, o.message, true)) return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.callLocked(slot, id, o.handle as number));
        if (code !== OK) return err(code);
        const c = core.outCall;
        const lp: LocalPending = {
          ticket: core.outTicket,
          kind: 'call',
          slot,
          peerId: id,
          deadline: o.timeoutMs === undefined ? null : this.nowMs() + (o.timeoutMs as number),
          call: c,
          callGen: core.callGen(c),
          max: 0,
          handle: o.handle as number,
          segments: [],
          transfers: [],
          timeoutMs: 0,
        };
        core.local.push(lp);
        core.localCalls.set(c, lp);
        return { pending: true, ticket: lp.ticket };
      }
      case 'reply': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        if (!stageMessage(core, o.message, true)) return err(INVALID_ARGUMENT);
        return res(
          this.locked(() => core.replyLocked(slot, o.handle as number)),
          {},
        );
      }
      case 'multicast': {
        const hs = o.handles;
        if (!Array.isArray(hs) || hs.length === 0 || !hs.every(isName) || new Set(hs).size !== hs.length)
          return err(INVALID_ARGUMENT);
        if (!stageMessage(core, o.message, false)) return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.multicastLocked(slot, id, hs as number[]));
        return code === OK
          ? { ok: true, value: { skipped: core.outSkipped.slice(0, core.outSkippedCount) } }
          : err(code);
      }
      case 'receive': {
        if (!isName(o.max) || (o.max as number) < 1) return err(INVALID_ARGUMENT);
        if (o.timeoutMs !== undefined && !isName(o.timeoutMs)) return err(INVALID_ARGUMENT);
        const timeoutMs = (o.timeoutMs as number | undefined) ?? 0;
        if (core.queued(slot) === 0 && timeoutMs > 0) {
          const ticket = this.locked(() => core.newTicket());
          core.local.push({
            ticket,
            kind: 'receive',
            slot,
            peerId: id,
            deadline: this.nowMs() + timeoutMs,
            call: NONE,
            callGen: 0,
            max: o.max as number,
            handle: 0,
            segments: [],
            transfers: [],
            timeoutMs,
          });
          return { pending: true, ticket };
        }
        let deliveries: Delivery[] = [];
        this.locked(() => {
          deliveries = this.takeDeliveries(slot, o.max as number);
          return OK;
        });
        return { ok: true, value: { deliveries } };
      }
      case 'close':
        return res(
          this.locked(() => core.closeLocked(slot, id)),
          {},
        );
      default:
        return err(INVALID_ARGUMENT);
    }
  }

  private nowMs(): number {
    return this.core.F[this.layout.fHeader + 4];
  }

  private rx: ReceiveBatch | null = null;
  private rxBuffer: Buffer | null = null;

  /** RECV-1 under the lock: up to max deliveries, through the same batch path as the peers' receive. */
  private takeDeliveries(slot: number, max: number): Delivery[] {
    const core = this.core;
    const take = Math.min(max, core.queued(slot));
    if (take === 0) return [];
    core.batchNeeds(slot, take);
    const rx = this.rx;
    if (
      rx === null ||
      rx.kind.length < take ||
      rx.data.length < core.needBytes ||
      rx.handleName.length < core.needHandles
    ) {
      this.rx = createReceiveBatch(Math.max(take, 64), Math.max(core.needBytes, 4096), {
        handles: Math.max(core.needHandles, 64),
      });
      this.rxBuffer = Buffer.from(this.rx.data.buffer, this.rx.data.byteOffset, this.rx.data.length);
    }
    const n = core.takeBatch(slot, take, this.rx!);
    return deliveriesOf(this.rx!, n, this.rxBuffer!);
  }

  /** RECV-2, SEND-7: the model's settle, over this thread's pending operations. */
  private settle(): void {
    const core = this.core;
    for (let changed = true; changed;) {
      changed = false;
      for (const lp of core.local.slice()) {
        if (lp.kind !== 'receive' || core.queued(lp.slot) === 0) continue;
        let deliveries: Delivery[] = [];
        this.locked(() => {
          deliveries = this.takeDeliveries(lp.slot, lp.max);
          return OK;
        });
        core.removeLocal(lp);
        core.pushCompletion(lp, { ok: true, value: { deliveries } });
        changed = true;
      }
      const capacityBlocked = new Set<number>();
      for (const lp of core.local.slice()) {
        if (lp.kind !== 'send') continue;
        const dest = core.destOfHandle(lp.slot, lp.handle);
        if (capacityBlocked.has(dest)) continue; // FIFO behind a waiter blocked by capacity
        restoreStaged(core, lp);
        const open = core.peerOpen(lp.slot, lp.peerId);
        const code = open ? this.locked(() => core.sendLocked(lp.slot, lp.peerId, lp.handle, true)) : CLOSED;
        if (code === BLOCKED) {
          if (core.blockCause(lp.slot, lp.peerId, lp.handle).cause === 1) capacityBlocked.add(dest);
          continue;
        }
        core.removeLocal(lp);
        core.pushCompletion(lp, res(code, {}));
        changed = true;
        break;
      }
    }
  }
}

function err(code: number): Result {
  return { ok: false, error: CODES[code] as never };
}
function res(code: number, value: object): Result {
  return code === OK ? { ok: true, value } : err(code);
}

// ------------------------------------------------------------------ a peer (any thread)
/** Join a bus from a worker thread with the descriptor its owner attached for it. */
export function joinBus(descriptor: PeerDescriptor): ShmPeer {
  const layout = computeLayout(descriptor.limits, descriptor.options);
  if (layout.totalBytes !== descriptor.sab.byteLength) throw new Error('joinBus: the buffer does not match the limits');
  // Journal area 1 + slot: this thread's own undo journal stays in its own cache (DESIGN.md).
  const core = new BusCore(descriptor.sab, layout, descriptor.token, 1 + descriptor.slot);
  return new ShmPeer(core, descriptor.slot, descriptor.id, descriptor.bootstrap, descriptor.spin, null);
}

/** A received message in the convenience API, with bytes as well as base64. */
export type ShmDelivery = Delivery;

const HANDLE_STATES = ['live', 'revoked', 'dead'] as const;

/** Spec deliveries from the first n of a (copy-mode) batch, in the model's shape and key order. */
function deliveriesOf(b: ReceiveBatch, n: number, data: Buffer): Delivery[] {
  const out: Delivery[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = b.kind[i];
    if (kind === 3) {
      const t = b.noticeType[i];
      out[i] =
        t === 3
          ? { kind: 'notice', notice: { type: 'no-senders', node: b.node[i], derivedCount: b.badge[i] } }
          : { kind: 'notice', notice: { type: t === 1 ? 'node-destroyed' : 'revoked', handle: b.node[i] } };
      continue;
    }
    const handles: ReceivedHandle[] = new Array(b.handleCount[i]);
    for (let j = 0, h = b.handleStart[i]; j < handles.length; j++, h++) {
      const st = b.handleState[h];
      handles[j] = {
        name: st === 0 ? b.handleName[h] : null,
        kind: b.handleKind[h] === 2 ? 'reply' : 'node',
        rights: rightsArray(b.handleRights[h]),
        state: HANDLE_STATES[st],
      };
    }
    const len = b.length[i];
    const payload = len === 0 ? '' : data.toString('base64', b.offset[i], b.offset[i] + len);
    const d: Record<string, unknown> =
      b.credentials[i] === 1
        ? {
            kind: kind === 2 ? 'call' : 'message',
            node: b.node[i],
            badge: b.badge[i],
            credentials: { uid: b.uid[i], gid: b.gid[i], pid: b.pid[i] },
            payload,
            handles,
          }
        : { kind: kind === 2 ? 'call' : 'message', node: b.node[i], badge: b.badge[i], payload, handles };
    if (kind === 2) d.replyHandle = b.replyHandle[i];
    out[i] = d as unknown as Delivery;
  }
  return out;
}

// The spin clock starts at the 64th probe, not before the first: a wait that ends within 64
// probes (the common case of a round trip whose peer runs) never reads the clock, which costs
// about as much as the probes themselves. The budget is therefore exceeded by at most 64 probes.

/** Spin until word `idx` moves away from `seen` or `budgetMs` passed. */
function spinChange(I: Int32Array, idx: number, seen: number, budgetMs: number): boolean {
  let t0 = -1;
  for (let i = 1; ; i++) {
    if (Atomics.load(I, idx) !== seen) return true;
    if ((i & 63) === 0) {
      const t = now();
      if (t0 < 0) t0 = t;
      else if (t - t0 > budgetMs) return false;
    }
  }
}

/** Spin until word `idx` equals `want` or `budgetMs` passed. */
function spinEquals(I: Int32Array, idx: number, want: number, budgetMs: number): boolean {
  let t0 = -1;
  for (let i = 1; ; i++) {
    if (Atomics.load(I, idx) === want) return true;
    if ((i & 63) === 0) {
      const t = now();
      if (t0 < 0) t0 = t;
      else if (t - t0 > budgetMs) return false;
    }
  }
}

/** How often a peer whose spin budget fell to 0 tries a full spin again (in waits). */
const PROBE_EVERY = SPIN_POLICY.probeEvery;
/** A sleeper re-checks a call under the lock this often (a resolver that died between commit and publication). */
const CALL_RECHECK_MS = 50;

export class ShmPeer {
  /** Longest spin, ms; 0 never spins. */
  private readonly spinMaxMs: number;
  /** Current spin budget, ms (adaptive, DESIGN.md "Wake-ups and spinning"). */
  private spinMs: number;
  private waitsSinceProbe = 0;
  /** Wake-ups that actually slept (for the bench's wakes-per-message). */
  sleeps = 0;
  /** Deliveries received through the hand-off mailbox (replyBytesAndReceiveSync). */
  handedOff = 0;
  /** Waits that ended while spinning / after the spin ran out. */
  spinsWon = 0;
  spinsLost = 0;
  /** The fast call path collects its last call at the next call (one lock hold per call). */
  private uncollected = NONE;
  private outBytes: Uint8Array | null = null;
  private rx: ReceiveBatch | null = null;
  private rxBuffer: Buffer | null = null;
  private outWords: Int32Array | null = null;
  private readonly I: Int32Array;
  private readonly wakeI: number;
  private readonly sleepI: number;
  private readonly readyI: number;
  private readonly waitingI: number;

  constructor(
    readonly core: BusCore,
    readonly slot: number,
    readonly id: PeerId,
    readonly bootstrap: HandleName[],
    spinUs: number,
    readonly bus: ShmBus | null,
  ) {
    this.spinMaxMs = spinUs > 0 ? spinUs / 1000 : 0;
    this.spinMs = this.spinMaxMs;
    this.I = core.I;
    this.wakeI = core.L.peerBase + slot * P_WORDS + P_WAKE;
    this.sleepI = core.L.peerBase + slot * P_WORDS + P_SLEEP;
    this.readyI = core.L.peerBase + slot * P_WORDS + P_MBREADY;
    this.waitingI = core.L.peerBase + slot * P_WORDS + P_WAITING;
  }

  /** The spin budget for the next wait: 0 after spins kept failing, except for a periodic full probe. */
  private budget(): number {
    if (this.spinMs > 0) return this.spinMs;
    if (this.spinMaxMs === 0) return 0;
    if (++this.waitsSinceProbe < PROBE_EVERY) return 0;
    this.waitsSinceProbe = 0;
    return this.spinMaxMs;
  }

  private spinWon(): void {
    this.spinsWon++;
    this.spinMs = this.spinMaxMs;
  }

  private spinLost(): void {
    this.spinsLost++;
    // When the peer is not running (both threads on one vCPU, or it sleeps), spinning only adds
    // latency: cut the budget fast; a periodic probe finds out when spinning pays again.
    const next = this.spinMs / SPIN_POLICY.divisor;
    this.spinMs = next < SPIN_POLICY.floorUs / 1000 ? 0 : next;
  }

  // Every operation: lock, PEER-2 check, the core's checks and effects, unlock (no closures).
  private begin(): void {
    this.core.lock();
  }

  private end(code: number, name: string): void {
    this.core.unlock();
    if (code !== OK) fail(code, name);
  }

  private open(): boolean {
    return this.core.peerOpen(this.slot, this.id);
  }

  createNode(options: { credentials?: boolean } = {}): HandleName {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      code = this.open() ? core.createNodeLocked(this.slot, options.credentials === true) : CLOSED;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'createNode');
    return core.outName;
  }

  mint(handle: HandleName, options: { rights: Right[]; badge?: number }): HandleName {
    const core = this.core;
    const valid =
      isName(handle) &&
      rightsValid(options?.rights) &&
      (options.badge === undefined || (isName(options.badge) && options.badge >= 1));
    this.begin();
    let code: number;
    try {
      code = !this.open()
        ? CLOSED
        : !valid
          ? INVALID_ARGUMENT
          : core.mintLocked(this.slot, handle, rightsMask(options.rights), options.badge ?? 0);
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'mint');
    return core.outName;
  }

  release(handle: HandleName): void {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      code = !this.open() ? CLOSED : isName(handle) ? core.releaseLocked(this.slot, handle) : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'release');
  }

  /**
   * RELEASE-1, several times: releases names[0 .. count-1] in order, as that many release
   * operations run back to back in one lock hold (each is linearized there, in order; nothing
   * else interleaves). A name that does not resolve is skipped (that release fails BAD_HANDLE
   * and changes nothing). Returns how many failed. Throws CLOSED if the peer is closed.
   */
  releaseEach(names: ArrayLike<number>, count = names.length): number {
    const core = this.core;
    let failed = 0;
    this.begin();
    let code = OK;
    try {
      if (!this.open()) code = CLOSED;
      else for (let i = 0; i < count; i++) if (core.releaseLocked(this.slot, names[i]) !== OK) failed++;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'release');
    return failed;
  }

  revoke(handle: HandleName): number {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      code = !this.open() ? CLOSED : isName(handle) ? core.revokeLocked(this.slot, handle) : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'revoke');
    return core.outCount;
  }

  destroyNode(handle: HandleName): void {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      code = !this.open() ? CLOSED : isName(handle) ? core.destroyNodeLocked(this.slot, handle) : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'destroyNode');
  }

  /** One send attempt under the lock with what is staged; BLOCKED when there is no room and `block`. */
  private trySend(handle: HandleName, staged: boolean, block: boolean): number {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      code = !this.open()
        ? CLOSED
        : staged && isName(handle)
          ? core.sendLocked(this.slot, this.id, handle, block)
          : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return code;
  }

  /** SEND-1: non-blocking; QUEUE_FULL when there is no room. */
  send(handle: HandleName, message: MessageInput = {}): void {
    const code = this.trySend(handle, stageInput(this.core, message, true), false);
    if (code !== OK) fail(code, 'send');
  }

  /** The hot path: one payload, no handles, no allocation. Returns false on QUEUE_FULL. */
  sendBytes(handle: HandleName, bytes: Uint8Array): boolean {
    const core = this.core;
    core.segs[0] = bytes;
    core.nsegs = 1;
    core.nxfers = 0;
    const code = this.trySend(handle, true, true);
    if (code === OK) return true;
    if (code === BLOCKED) return false;
    return fail(code, 'send');
  }

  /**
   * Wait for room in the queue behind `handle` after a BLOCKED attempt: read the queue's room
   * word, retry once under the lock (room freed before that read is seen by the retry), then
   * spin until the room word moves, or sleep on it (announced in the room-waiter count).
   * Returns the retry's code, or BLOCKED when it is worth another attempt.
   */
  private waitRoom(handle: HandleName, deadline: number, staged: boolean, block: boolean): number {
    const core = this.core,
      I = this.I;
    const dest = core.destOfHandle(this.slot, handle);
    if (dest === NONE) return this.trySend(handle, staged, block); // gone meanwhile: the retry says why
    const roomI = core.roomIndex(dest);
    const seen = Atomics.load(I, roomI);
    const code = this.trySend(handle, staged, block);
    if (code !== BLOCKED) return code;
    const budget = this.budget();
    if (budget > 0) {
      if (spinChange(I, roomI, seen, budget)) {
        this.spinWon();
        return BLOCKED;
      }
      this.spinLost();
    }
    const waitersI = core.L.peerBase + dest * P_WORDS + P_ROOM_WAITERS;
    Atomics.add(I, waitersI, 1);
    const left = deadline - now();
    if (left > 0 && Atomics.load(I, roomI) === seen) {
      this.sleeps++;
      Atomics.wait(I, roomI, seen, left < 50 ? left : 50);
    }
    Atomics.sub(I, waitersI, 1);
    return BLOCKED;
  }

  /** The hot path, blocking: waits (adaptive spin, then Atomics.wait on the queue's room word) until there is room. */
  sendBytesSync(handle: HandleName, bytes: Uint8Array): void {
    const core = this.core;
    for (;;) {
      core.segs[0] = bytes;
      core.nsegs = 1;
      core.nxfers = 0;
      let code = this.trySend(handle, true, true);
      if (code === BLOCKED) code = this.waitRoom(handle, Infinity, true, true);
      if (code === OK) return;
      if (code !== BLOCKED) fail(code, 'send');
    }
  }

  /** SEND-7, synchronous flavour: wait (spin, then Atomics.wait) up to timeoutMs for room. */
  sendSync(handle: HandleName, message: MessageInput, options: { timeoutMs: number }): void {
    const deadline = now() + options.timeoutMs;
    const block = options.timeoutMs > 0;
    for (;;) {
      const staged = stageInput(this.core, message, true);
      let code = this.trySend(handle, staged, block);
      if (code === BLOCKED) {
        if (now() >= deadline) fail(TIMED_OUT, 'send');
        code = this.waitRoom(handle, deadline, staged, block);
      }
      if (code === OK) return;
      if (code !== BLOCKED) fail(code, 'send');
      if (now() >= deadline) fail(TIMED_OUT, 'send');
    }
  }

  /** SEND-7, promise flavour (Atomics.waitAsync). */
  async sendWait(handle: HandleName, message: MessageInput, options: { timeoutMs: number }): Promise<void> {
    const core = this.core,
      I = this.I;
    const deadline = now() + options.timeoutMs;
    const block = options.timeoutMs > 0;
    for (;;) {
      const dest = core.destOfHandle(this.slot, handle);
      const roomI = dest === NONE ? -1 : core.roomIndex(dest);
      const seen = roomI < 0 ? 0 : Atomics.load(I, roomI);
      const code = this.trySend(handle, stageInput(core, message, true), block);
      if (code === OK) return;
      if (code !== BLOCKED) fail(code, 'send');
      const left = deadline - now();
      if (left <= 0) fail(TIMED_OUT, 'send');
      if (roomI < 0 || Atomics.load(I, roomI) !== seen) continue;
      const waitersI = core.L.peerBase + dest * P_WORDS + P_ROOM_WAITERS;
      Atomics.add(I, waitersI, 1);
      try {
        const w = waitAsync(I, roomI, seen, Math.min(left, 50));
        if (w.async) await w.value;
      } finally {
        Atomics.sub(I, waitersI, 1);
      }
    }
  }

  /**
   * Wait until the queue behind `handle` may have room again (after QUEUE_FULL from a
   * non-blocking operation such as multicast): spin on its room word, then sleep on it, up to
   * timeoutMs. Returns at once if the handle no longer leads to a live node.
   */
  awaitRoom(handle: HandleName, timeoutMs: number): void {
    const core = this.core,
      I = this.I;
    const dest = core.destOfHandle(this.slot, handle);
    if (dest === NONE) return;
    const roomI = core.roomIndex(dest);
    const seen = Atomics.load(I, roomI);
    const budget = this.budget();
    if (budget > 0) {
      if (spinChange(I, roomI, seen, budget)) {
        this.spinWon();
        return;
      }
      this.spinLost();
    }
    const waitersI = core.L.peerBase + dest * P_WORDS + P_ROOM_WAITERS;
    Atomics.add(I, waitersI, 1);
    if (Atomics.load(I, roomI) === seen) {
      this.sleeps++;
      Atomics.wait(I, roomI, seen, timeoutMs);
    }
    Atomics.sub(I, waitersI, 1);
  }

  /** Start a call with what is staged (one lock hold, which also collects the previous fast call); returns the call slot. */
  private startCall(handle: HandleName, staged: boolean): number {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      if (this.uncollected !== NONE) {
        core.collectCall(this.uncollected);
        this.uncollected = NONE;
      }
      code = !this.open()
        ? CLOSED
        : staged && isName(handle)
          ? core.callLocked(this.slot, this.id, handle)
          : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'call');
    return core.outCall;
  }

  /**
   * Wait until call c (generation gen) has a committed outcome or the deadline passes (then it
   * is expired: TIMED_OUT unless something else resolved it first). Spins on the call's
   * completion word, then sleeps on this peer's wake word (announced in P_SLEEP first).
   */
  private awaitCallSync(c: number, gen: number, deadline: number): void {
    const core = this.core,
      I = this.I,
      doneI = core.callDoneIndex(c);
    if (Atomics.load(I, doneI) === gen) return;
    const budget = this.budget();
    if (budget > 0) {
      if (spinEquals(I, doneI, gen, budget)) {
        this.spinWon();
        return;
      }
      this.spinLost();
    }
    let recheckAt = now() + CALL_RECHECK_MS;
    for (;;) {
      const t = now();
      if (t >= deadline) {
        this.expireCall(c);
        return;
      }
      if (t >= recheckAt) {
        if (this.resolvedUnderLock(c)) return;
        recheckAt = t + CALL_RECHECK_MS;
      }
      Atomics.add(I, this.sleepI, 1);
      const w = Atomics.load(I, this.wakeI);
      if (Atomics.load(I, doneI) === gen) {
        Atomics.sub(I, this.sleepI, 1);
        return;
      }
      this.sleeps++;
      const left = Math.min(deadline - t, recheckAt - t);
      Atomics.wait(I, this.wakeI, w, left);
      Atomics.sub(I, this.sleepI, 1);
      if (Atomics.load(I, doneI) === gen) return;
    }
  }

  private resolvedUnderLock(c: number): boolean {
    const core = this.core;
    core.lock();
    const st = core.callState(c);
    core.unlock();
    return st === 2;
  }

  private expireCall(c: number): void {
    const core = this.core;
    core.lock();
    try {
      core.timeoutCall(c);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
  }

  private finishCall(c: number): Result {
    const core = this.core;
    core.lock();
    let r: Result;
    try {
      r = core.callResult(c);
      core.collectCall(c);
    } catch (e) {
      core.abort();
      throw e;
    }
    core.unlock();
    return r;
  }

  /** CALL-1, synchronous flavour: blocks this thread until the one outcome. */
  callSync(handle: HandleName, message: MessageInput = {}, options: { timeoutMs?: number } = {}): ReplyDelivery {
    const c = this.startCall(handle, stageInput(this.core, message, true));
    this.awaitCallSync(c, this.core.callGen(c), options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs);
    const r = this.finishCall(c);
    if (!r.ok) throw new TesseraError(r.error, 'call');
    return (r.value as { reply: ReplyDelivery }).reply;
  }

  /**
   * CALL-1, the fast path: one lock hold (which also collects the previous call), a spin or
   * sleep on the call's own completion word, and the reply bytes read straight from the call's
   * reply area into `replyOut` without the lock. Returns the reply's length; throws
   * TesseraError for the other outcomes.
   */
  callBytesSync(handle: HandleName, bytes: Uint8Array, replyOut: Uint8Array, timeoutMs = Infinity): number {
    const core = this.core;
    core.segs[0] = bytes;
    core.nsegs = 1;
    core.nxfers = 0;
    const c = this.startCall(handle, true);
    this.awaitCallSync(c, core.callGen(c), timeoutMs === Infinity ? Infinity : now() + timeoutMs);
    if (replyOut !== this.outBytes) {
      // one cached word view of the caller's reply buffer
      this.outBytes = replyOut;
      this.outWords =
        (replyOut.byteOffset & 3) === 0
          ? new Int32Array(replyOut.buffer, replyOut.byteOffset, replyOut.length >> 2)
          : null;
    }
    const n = core.replyInto(c, replyOut, this.outWords);
    this.uncollected = c;
    if (n < 0) fail(-n, 'call');
    return n;
  }

  /** CALL-1, promise flavour (Atomics.waitAsync, checking the value first: issue fact 2). */
  async call(
    handle: HandleName,
    message: MessageInput = {},
    options: { timeoutMs?: number } = {},
  ): Promise<ReplyDelivery> {
    const core = this.core,
      I = this.I;
    const c = this.startCall(handle, stageInput(core, message, true));
    const gen = core.callGen(c),
      doneI = core.callDoneIndex(c);
    const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
    let recheckAt = now() + CALL_RECHECK_MS;
    for (;;) {
      if (Atomics.load(I, doneI) === gen) break;
      const t = now();
      if (t >= deadline) {
        this.expireCall(c);
        break;
      }
      if (t >= recheckAt) {
        if (this.resolvedUnderLock(c)) break;
        recheckAt = t + CALL_RECHECK_MS;
      }
      await this.sleepAsync(0, doneI, gen, Math.min(deadline - t, recheckAt - t));
    }
    const r = this.finishCall(c);
    if (!r.ok) throw new TesseraError(r.error, 'call');
    return (r.value as { reply: ReplyDelivery }).reply;
  }

  reply(replyHandle: HandleName, message: MessageInput = {}): void {
    const core = this.core;
    const staged = stageInput(core, message, true);
    this.begin();
    let code: number;
    try {
      code = !this.open()
        ? CLOSED
        : staged && isName(replyHandle)
          ? core.replyLocked(this.slot, replyHandle)
          : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'reply');
  }

  /** CALL-3, the fast path: the reply goes straight into the caller's reply area. */
  replyBytes(replyHandle: HandleName, bytes: Uint8Array): void {
    const core = this.core;
    core.segs[0] = bytes;
    core.nsegs = 1;
    core.nxfers = 0;
    this.begin();
    let code: number;
    try {
      code = !this.open() ? CLOSED : isName(replyHandle) ? core.replyLocked(this.slot, replyHandle) : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'reply');
  }

  /** MCAST-1..5. */
  multicast(handles: HandleName[], message: MessageInput = {}): HandleName[] {
    const core = this.core;
    let valid = stageInput(core, message, false) && Array.isArray(handles) && handles.length > 0;
    if (valid) {
      for (let i = 0; i < handles.length && valid; i++) {
        if (!isName(handles[i])) valid = false;
        for (let j = 0; j < i && valid; j++) if (handles[j] === handles[i]) valid = false;
      }
    }
    this.begin();
    let code: number;
    try {
      code = !this.open() ? CLOSED : valid ? core.multicastLocked(this.slot, this.id, handles) : INVALID_ARGUMENT;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'multicast');
    return core.outSkippedCount === 0 ? [] : core.outSkipped.slice(0, core.outSkippedCount);
  }

  /**
   * RECV-1: what is queued now, at most max. The lock is held only to pop the entries into an
   * internal batch (copying payloads out); the Delivery objects are built after unlocking.
   */
  tryReceive(max = 64): Delivery[] {
    const core = this.core;
    let n = 0;
    this.begin();
    let code: number;
    try {
      if (!this.open()) code = CLOSED;
      else if (!(isName(max) && max >= 1)) code = INVALID_ARGUMENT;
      else {
        const take = Math.min(max, core.queued(this.slot));
        if (take > 0) {
          core.batchNeeds(this.slot, take);
          n = core.takeBatch(this.slot, take, this.rxFor(take, core.needBytes, core.needHandles));
        }
        code = OK;
      }
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'receive');
    return n === 0 ? [] : deliveriesOf(this.rx!, n, this.rxBuffer!);
  }

  /** The internal batch of tryReceive, grown (rarely) to hold `max` deliveries, `bytes` and `handles`. */
  private rxFor(max: number, bytes: number, handles: number): ReceiveBatch {
    const rx = this.rx;
    if (rx !== null && rx.kind.length >= max && rx.data.length >= bytes && rx.handleName.length >= handles) return rx;
    const size = (want: number, have: number) => Math.max(want, 2 * have);
    this.rx = createReceiveBatch(size(max, rx?.kind.length ?? 32), size(bytes, rx?.data.length ?? 4096), {
      handles: size(handles, rx?.handleName.length ?? 64),
    });
    this.rxBuffer = Buffer.from(this.rx.data.buffer, this.rx.data.byteOffset, this.rx.data.length);
    return this.rx;
  }

  /**
   * Wait until this peer's queue may hold something (or it closed) or the deadline passes:
   * announce in P_WAITING (publishers bump the wake word only while someone waits), read the
   * wake word, re-check the queue, then spin on the word (adaptive budget), then announce in
   * P_SLEEP and Atomics.wait on it.
   */
  private waitQueued(deadline: number): void {
    const I = this.I,
      wakeI = this.wakeI;
    Atomics.add(I, this.waitingI, 1);
    const seen = Atomics.load(I, wakeI);
    if (this.core.queued(this.slot) === 0 && this.open()) {
      const budget = this.budget();
      let won = false;
      if (budget > 0) {
        won = spinChange(I, wakeI, seen, budget);
        if (won) this.spinWon();
        else this.spinLost();
      }
      if (!won) {
        Atomics.add(I, this.sleepI, 1);
        if (Atomics.load(I, wakeI) === seen) {
          const left = deadline - now();
          if (left > 0) {
            this.sleeps++;
            Atomics.wait(I, wakeI, seen, left === Infinity ? undefined : left);
          }
        }
        Atomics.sub(I, this.sleepI, 1);
      }
    }
    Atomics.sub(I, this.waitingI, 1);
  }

  /** RECV-2, synchronous flavour: wait up to timeoutMs for a batch; [] on timeout. */
  receiveSync(options: { max?: number; timeoutMs?: number } = {}): Delivery[] {
    const max = options.max ?? 64;
    const deadline = now() + (options.timeoutMs ?? 0);
    for (;;) {
      if (this.core.queued(this.slot) > 0 || !this.open()) {
        const out = this.tryReceive(max);
        if (out.length > 0) return out;
      }
      if (now() >= deadline) return [];
      this.waitQueued(deadline);
    }
  }

  /** RECV-2, promise flavour. */
  async receive(options: { max?: number; timeoutMs?: number } = {}): Promise<Delivery[]> {
    const max = options.max ?? 64;
    const deadline = now() + (options.timeoutMs ?? 0);
    for (;;) {
      if (this.core.queued(this.slot) > 0 || !this.open()) {
        const out = this.tryReceive(max);
        if (out.length > 0) return out;
      }
      const left = deadline - now();
      if (left <= 0) return [];
      await this.sleepAsync(0, -1, 0, left);
    }
  }

  /**
   * RECV-1, the fast path: drain up to max entries into a preallocated batch (one lock hold and
   * at most one wake per batch). Waits up to timeoutMs for the first. Returns the count. With a
   * batch made with `views: true`, payloads are views into the queue, valid until the next receive.
   */
  receiveBatchSync(batch: ReceiveBatch, max: number, timeoutMs: number): number {
    const core = this.core;
    const deadline = timeoutMs > 0 ? now() + timeoutMs : 0;
    for (;;) {
      if (core.queued(this.slot) > 0) {
        core.lock();
        let n: number;
        try {
          n = this.open() ? core.takeBatch(this.slot, max, batch) : -1;
        } catch (e) {
          core.abort();
          throw e;
        }
        core.unlock();
        if (n < 0) fail(CLOSED, 'receive');
        if (n > 0) return n;
      } else if (!this.open()) fail(CLOSED, 'receive');
      batch.count = 0;
      if (timeoutMs <= 0 || now() >= deadline) return 0;
      this.waitQueued(deadline);
    }
  }

  /**
   * CALL-3 then RECV-1 in one lock hold (the ReplyRecv of seL4): reply to a call, then take what
   * is queued, or, with an empty queue, offer this peer's mailbox for a direct hand-off and wait:
   * the next sender or caller delivers straight into it in its own lock hold, so a call/reply
   * round trip takes one lock hold on each side. Payloads over MB_PAYLOAD_MAX, notices and
   * multicasts still come through the queue. Throws (and receives nothing) if the reply fails.
   */
  replyBytesAndReceiveSync(
    replyHandle: HandleName,
    bytes: Uint8Array,
    batch: ReceiveBatch,
    max: number,
    timeoutMs: number,
  ): number {
    const core = this.core,
      I = this.I;
    core.segs[0] = bytes;
    core.nsegs = 1;
    core.nxfers = 0;
    const deadline = timeoutMs > 0 ? now() + timeoutMs : 0;
    this.begin();
    let code: number,
      n = 0,
      reg = 0,
      seen = 0;
    try {
      code = !this.open() ? CLOSED : isName(replyHandle) ? core.replyLocked(this.slot, replyHandle) : INVALID_ARGUMENT;
      if (code === OK) {
        if (core.queued(this.slot) > 0) n = core.takeBatch(this.slot, max, batch);
        else if (timeoutMs > 0) {
          reg = core.registerHandOff(this.slot);
          // announced inside the hold: an enqueue committed after it bumps the wake word
          if (reg !== 0) {
            Atomics.add(I, this.waitingI, 1);
            seen = Atomics.load(I, this.wakeI);
          }
        }
      }
    } catch (e) {
      core.abort();
      throw e;
    }
    this.end(code, 'reply');
    if (n > 0) return n;
    if (reg === 0) return this.receiveBatchSync(batch, max, timeoutMs);
    try {
      return this.awaitHandOff(reg, seen, batch, max, deadline);
    } finally {
      Atomics.sub(I, this.waitingI, 1);
    }
  }

  /** Wait for hand-off registration `reg` to be filled (or something else to arrive, or the deadline). */
  private awaitHandOff(reg: number, seen: number, batch: ReceiveBatch, max: number, deadline: number): number {
    const core = this.core,
      I = this.I,
      readyI = this.readyI,
      wakeI = this.wakeI;
    if (Atomics.load(I, readyI) === reg) {
      this.handedOff++;
      return core.readHandOff(this.slot, batch);
    }
    const budget = this.budget();
    if (budget > 0) {
      // both words are on this peer's wake line: one line to watch; the clock starts at the 64th probe
      let t0 = -1;
      for (let i = 1; ; i++) {
        if (Atomics.load(I, readyI) === reg) {
          this.spinWon();
          this.handedOff++;
          return core.readHandOff(this.slot, batch);
        }
        if (Atomics.load(I, wakeI) !== seen) {
          this.spinWon();
          break;
        }
        if ((i & 63) === 0) {
          const t = now();
          if (t0 < 0) t0 = t;
          else if (t - t0 > budget) {
            this.spinLost();
            break;
          }
        }
      }
    }
    for (;;) {
      if (Atomics.load(I, wakeI) === seen) {
        Atomics.add(I, this.sleepI, 1);
        const w = Atomics.load(I, wakeI);
        const left = deadline - now();
        if (Atomics.load(I, readyI) !== reg && w === seen && left > 0) {
          this.sleeps++;
          Atomics.wait(I, wakeI, w, left < CALL_RECHECK_MS ? left : CALL_RECHECK_MS);
        }
        Atomics.sub(I, this.sleepI, 1);
      }
      if (Atomics.load(I, readyI) === reg) {
        this.handedOff++;
        return core.readHandOff(this.slot, batch);
      }
      // Something else arrived, time passed, or the filler's publication is late: settle under the lock.
      const moved = Atomics.load(I, wakeI) !== seen;
      const expired = now() >= deadline;
      core.lock();
      let n: number;
      try {
        n = core.settleHandOff(this.slot, reg, batch, !moved && !expired);
        if (n > 0) this.handedOff++;
        if (n === 0 && moved && core.queued(this.slot) > 0 && this.open()) n = core.takeBatch(this.slot, max, batch);
      } catch (e) {
        core.abort();
        throw e;
      }
      core.unlock();
      if (n > 0) return n;
      if (moved || expired) {
        if (!this.open()) fail(CLOSED, 'receive');
        const left = deadline - now();
        if (left <= 0) {
          batch.count = 0;
          return 0;
        }
        return this.receiveBatchSync(batch, max, left);
      }
    }
  }

  close(): void {
    const core = this.core;
    this.begin();
    let code: number;
    try {
      code = this.open() ? core.closeLocked(this.slot, this.id) : CLOSED;
    } catch (e) {
      core.abort();
      throw e;
    }
    this.uncollected = NONE;
    this.end(code, 'close');
  }

  /**
   * The promise flavour's sleep: announce, re-check, then Atomics.waitAsync on the wake word.
   * A receive passes doneI -1 (it announces in P_WAITING too and re-checks its queue); a call
   * its completion word and generation.
   */
  private async sleepAsync(_seen: number, doneI: number, gen: number, leftMs: number): Promise<void> {
    const I = this.I,
      wakeI = this.wakeI,
      receive = doneI < 0;
    const ready = () => (receive ? this.core.queued(this.slot) > 0 || !this.open() : Atomics.load(I, doneI) === gen);
    if (ready()) return;
    if (receive) Atomics.add(I, this.waitingI, 1);
    Atomics.add(I, this.sleepI, 1);
    try {
      const w = Atomics.load(I, wakeI);
      // waitAsync costs ~0.7 us even when it returns at once (issue fact 2): check first.
      if (ready()) return;
      this.sleeps++;
      const r = waitAsync(I, wakeI, w, leftMs === Infinity ? undefined : leftMs);
      if (r.async) await r.value;
    } finally {
      Atomics.sub(I, this.sleepI, 1);
      if (receive) Atomics.sub(I, this.waitingI, 1);
    }
  }
}
