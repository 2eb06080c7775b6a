// The shared-memory backend: the Tessera bus in one SharedArrayBuffer shared by
// worker threads (DESIGN.md). The public API mirrors the reference backend
// (Bus, Peer) and adds synchronous flavours for worker threads (blocking via
// Atomics.wait) and allocation-free fast paths (sendBytes, receiveBatchSync,
// callBytesSync, replyBytes).
import { Worker, type WorkerOptions } from 'worker_threads';
import { performance } from 'perf_hooks';
import type {
  BootstrapGrant, Completion, Credentials, Delivery, HandleName, Invocation, Limits, Message, Operation, PeerId,
  ReplyDelivery, Result, Right, Transfer,
} from '../../spec/types';
import { resolveLimits } from '../../spec/registry/limits';
import { isBase64 } from '../../model/payload';
import { rightsValid } from '../../model/rules';
import { TesseraError, type MessageInput } from '../reference';
import {
  BLOCKED, BusCore, CALLER_GONE, CLOSED, CODES, INVALID_ARGUMENT, OK, OWNER_TOKEN, TIMED_OUT, createReceiveBatch,
  rightsMask, type LocalPending, type ReceiveBatch, type StagedTransfer,
} from './core';
import { computeLayout, NONE, P_ROOM, P_WAKE, P_WORDS, type Layout, type ShmOptions } from './layout';

export { TesseraError, createReceiveBatch, type ReceiveBatch, type MessageInput };
export type { ShmOptions };

const isName = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const now = (): number => performance.now();
// Atomics.waitAsync is in Node 20 but not in the ES2022 lib this project compiles against.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, t?: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

export interface ShmBusOptions extends ShmOptions {
  limits?: Partial<Limits>;
  /** Longest spin before sleeping, in microseconds (adaptive below it); 0 sleeps at once. Default 50. */
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

let spinItersPerUs = 0;
/** Atomics.load iterations per microsecond on this machine, measured once per thread. */
function calibrateSpin(): number {
  if (spinItersPerUs > 0) return spinItersPerUs;
  const a = new Int32Array(new SharedArrayBuffer(4));
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = now();
    let x = 0;
    for (let i = 0; i < 20000; i++) x += Atomics.load(a, 0);
    const dt = now() - t0;
    if (x === 0 && dt < best) best = dt;
  }
  spinItersPerUs = Math.max(1, Math.round(20000 / (best * 1000)));
  return spinItersPerUs;
}

// ------------------------------------------------------------------ staging of messages
function toBytes(part: string | Uint8Array): Uint8Array {
  return typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

/** Stage a MessageInput (bytes) into the core; returns false when its shape is invalid (INVALID_ARGUMENT). */
function stageInput(core: BusCore, input: MessageInput | undefined, allowMove: boolean): boolean {
  const p = input?.payload ?? [];
  core.nsegs = 0;
  if (typeof p === 'string' || p instanceof Uint8Array) { core.segs[0] = toBytes(p); core.nsegs = 1; }
  else for (const part of p) core.segs[core.nsegs++] = toBytes(part);
  return stageTransfers(core, input?.handles, allowMove);
}

function stageTransfers(core: BusCore, transfers: readonly Transfer[] | undefined, allowMove: boolean): boolean {
  core.nxfers = 0;
  if (transfers === undefined) return true;
  if (!Array.isArray(transfers)) return false;
  for (let i = 0; i < transfers.length; i++) {
    const t = transfers[i];
    if (typeof t !== 'object' || t === null || !isName(t.handle)) return false;
    if (t.rights !== undefined && !rightsValid(t.rights)) return false;
    if (t.move !== undefined && typeof t.move !== 'boolean') return false;
    for (let j = 0; j < i; j++) if (transfers[j].handle === t.handle) return false; // SEND-5
    if (!allowMove && t.move === true) return false; // MCAST-1
    while (core.xfers.length <= i) core.xfers.push({ handle: 0, rights: -1, move: false });
    const x = core.xfers[i];
    x.handle = t.handle;
    x.rights = t.rights === undefined ? -1 : rightsMask(t.rights);
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
    this.options = { callSlotsPerPeer: options.callSlotsPerPeer, noticeSlotsPerPeer: options.noticeSlotsPerPeer, maxNodes: options.maxNodes, journalEntries: options.journalEntries };
    for (const k of Object.keys(this.options) as (keyof ShmOptions)[]) if (this.options[k] === undefined) delete this.options[k];
    this.layout = computeLayout(this.limits, this.options);
    this.sab = new SharedArrayBuffer(this.layout.totalBytes);
    this.core = new BusCore(this.sab, this.layout, OWNER_TOKEN);
    this.core.initialize();
    this.spin = options.spin ?? 50;
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
    const r = this.attachOp(credentials, bootstrap.map((b) => ({
      fromPeer: typeof b.from === 'number' ? b.from : b.from.id, handle: b.handle,
      ...(b.rights ? { rights: b.rights } : {}), ...(b.badge !== undefined ? { badge: b.badge } : {}),
    })), token);
    if (!r.ok) throw new TesseraError(r.error, 'attach');
    const v = r.value as { peer: PeerId; handles: HandleName[] };
    return {
      sab: this.sab, limits: this.limits, options: this.options, slot: this.slots.get(v.peer)!, id: v.peer,
      token: token ?? this.core.tokenOf(this.slots.get(v.peer)!), bootstrap: v.handles, spin: this.spin,
    };
  }

  /**
   * Start a worker that runs one peer: `joinBus(workerData.tessera)` in the worker. If the
   * worker dies (exit, uncaught error, terminate()), the peer is closed with full close
   * semantics (CLOSE-1..4), rolling back an operation it left half done.
   */
  spawnPeer(workerFile: string, options: { credentials: Credentials; bootstrap?: BootstrapInput[]; workerData?: unknown; worker?: WorkerOptions }): { worker: Worker; peer: PeerId; bootstrap: HandleName[] } {
    const id = this.core.nextPeerId();
    const d = this.attachDescriptor(options.credentials, options.bootstrap ?? [], id + 1);
    const worker = new Worker(workerFile, { ...options.worker, workerData: { tessera: d, data: options.workerData } });
    this.workers.set(d.id, worker);
    const onGone = () => { this.workers.delete(d.id); this.recover(d.id); };
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
    core.lockStealing(token === OWNER_TOKEN ? -2 : token);
    try {
      if (!core.peerOpen(slot, peer)) { core.unlock(); return false; }
      core.closeLocked(slot, peer);
    } catch (e) { core.abort(); throw e; }
    core.unlock();
    return true;
  }

  /** Leak audit (INV-5). */
  audit(): ReturnType<BusCore['audit']> {
    this.core.lock();
    try { return this.core.audit(); } finally { this.core.unlock(); }
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
    if (elapsed > 0) { this.core.completions = []; this.exec({ op: 'tick', ms: elapsed }); this.settle(); }
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
    try { code = fn(); } catch (e) { core.abort(); throw e; }
    core.unlock();
    return code;
  }

  private attachOp(credentials: unknown, bootstrap: unknown, token?: number): Result {
    const c = credentials as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || !isName(c.uid) || !isName(c.gid) || !isName(c.pid)) return err(INVALID_ARGUMENT);
    const grants: { slot: number; handle: number; rights: number; badge: number }[] = [];
    if (bootstrap !== undefined) {
      if (!Array.isArray(bootstrap)) return err(INVALID_ARGUMENT);
      for (const g of bootstrap as BootstrapGrant[]) {
        const slot = this.slotOf(g?.fromPeer);
        if (slot === 'unknown' || !this.core.peerOpen(slot, g.fromPeer) || !isName(g.handle)) return err(INVALID_ARGUMENT);
        if (g.rights !== undefined && !rightsValid(g.rights)) return err(INVALID_ARGUMENT);
        if (g.badge !== undefined && !(isName(g.badge) && g.badge >= 1)) return err(INVALID_ARGUMENT);
        grants.push({ slot, handle: g.handle, rights: g.rights === undefined ? -1 : rightsMask(g.rights), badge: g.badge ?? 0 });
      }
    }
    const id = this.core.nextPeerId();
    const code = this.locked(() => this.core.attachLocked(id, { uid: c.uid as number, gid: c.gid as number, pid: c.pid as number }, grants, token ?? OWNER_TOKEN));
    if (code !== OK) return err(code);
    this.slots.set(id, this.core.outCount);
    return { ok: true, value: { peer: id, handles: this.core.outSkipped.slice() } };
  }

  private exec(op: Operation): Invocation {
    const core = this.core;
    const o = op as unknown as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) return err(INVALID_ARGUMENT);
    switch (o.op) {
      case 'attach': return this.attachOp(o.credentials, o.bootstrap);
      case 'tick': {
        if (!isName(o.ms)) return err(INVALID_ARGUMENT);
        const F = core.F, nowI = this.layout.fHeader + 4;
        this.locked(() => { core.wf(nowI, F[nowI] + (o.ms as number)); return OK; });
        const t = F[nowI];
        for (const lp of core.local.filter((q) => q.deadline !== null && q.deadline <= t)) {
          if (!core.local.includes(lp)) continue;
          if (lp.kind === 'call') this.locked(() => { core.timeoutCall(lp.call); return OK; });
          else { core.removeLocal(lp); core.pushCompletion(lp, lp.kind === 'send' ? err(TIMED_OUT) : { ok: true, value: { deliveries: [] } }); }
        }
        return { ok: true, value: { nowMs: t } };
      }
    }
    const pc = this.peerCheck(o.peer);
    if (typeof pc !== 'number') return pc;
    const slot = pc, id = o.peer as number;
    switch (o.op) {
      case 'createNode': {
        if (o.credentials !== undefined && typeof o.credentials !== 'boolean') return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.createNodeLocked(slot, o.credentials === true));
        return code === OK ? { ok: true, value: { handle: core.outName } } : err(code);
      }
      case 'mint': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        if (!rightsValid(o.rights) || (o.badge !== undefined && !(isName(o.badge) && o.badge >= 1))) return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.mintLocked(slot, o.handle as number, rightsMask(o.rights as Right[]), (o.badge as number) ?? 0));
        return code === OK ? { ok: true, value: { handle: core.outName } } : err(code);
      }
      case 'release': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        return res(this.locked(() => core.releaseLocked(slot, o.handle as number)), {});
      }
      case 'revoke': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.revokeLocked(slot, o.handle as number));
        return code === OK ? { ok: true, value: { revoked: core.outCount } } : err(code);
      }
      case 'destroyNode': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        return res(this.locked(() => core.destroyNodeLocked(slot, o.handle as number)), {});
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
        core.local.push({ ticket, kind: 'send', slot, peerId: id, deadline: this.nowMs() + timeoutMs, call: NONE, callGen: 0, max: 0, handle: o.handle as number, timeoutMs, ...staged });
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
          ticket: core.outTicket, kind: 'call', slot, peerId: id, deadline: o.timeoutMs === undefined ? null : this.nowMs() + (o.timeoutMs as number),
          call: c, callGen: core.callGen(c), max: 0, handle: o.handle as number, segments: [], transfers: [], timeoutMs: 0,
        };
        core.local.push(lp);
        core.localCalls.set(c, lp);
        return { pending: true, ticket: lp.ticket };
      }
      case 'reply': {
        if (!isName(o.handle)) return err(INVALID_ARGUMENT);
        if (!stageMessage(core, o.message, true)) return err(INVALID_ARGUMENT);
        return res(this.locked(() => core.replyLocked(slot, o.handle as number)), {});
      }
      case 'multicast': {
        const hs = o.handles;
        if (!Array.isArray(hs) || hs.length === 0 || !hs.every(isName) || new Set(hs).size !== hs.length) return err(INVALID_ARGUMENT);
        if (!stageMessage(core, o.message, false)) return err(INVALID_ARGUMENT);
        const code = this.locked(() => core.multicastLocked(slot, id, hs as number[]));
        return code === OK ? { ok: true, value: { skipped: core.outSkipped.slice() } } : err(code);
      }
      case 'receive': {
        if (!isName(o.max) || (o.max as number) < 1) return err(INVALID_ARGUMENT);
        if (o.timeoutMs !== undefined && !isName(o.timeoutMs)) return err(INVALID_ARGUMENT);
        const timeoutMs = (o.timeoutMs as number | undefined) ?? 0;
        if (core.queued(slot) === 0 && timeoutMs > 0) {
          const ticket = this.locked(() => core.newTicket());
          core.local.push({ ticket, kind: 'receive', slot, peerId: id, deadline: this.nowMs() + timeoutMs, call: NONE, callGen: 0, max: o.max as number, handle: 0, segments: [], transfers: [], timeoutMs });
          return { pending: true, ticket };
        }
        let deliveries: Delivery[] = [];
        this.locked(() => { deliveries = core.takeDeliveries(slot, o.max as number); return OK; });
        return { ok: true, value: { deliveries } };
      }
      case 'close':
        return res(this.locked(() => core.closeLocked(slot, id)), {});
      default:
        return err(INVALID_ARGUMENT);
    }
  }

  private nowMs(): number {
    return this.core.F[this.layout.fHeader + 4];
  }

  /** RECV-2, SEND-7: the model's settle, over this thread's pending operations. */
  private settle(): void {
    const core = this.core;
    for (let changed = true; changed;) {
      changed = false;
      for (const lp of core.local.slice()) {
        if (lp.kind !== 'receive' || core.queued(lp.slot) === 0) continue;
        let deliveries: Delivery[] = [];
        this.locked(() => { deliveries = core.takeDeliveries(lp.slot, lp.max); return OK; });
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
  const core = new BusCore(descriptor.sab, layout, descriptor.token);
  return new ShmPeer(core, descriptor.slot, descriptor.id, descriptor.bootstrap, descriptor.spin, null);
}

/** A received message in the convenience API, with bytes as well as base64. */
export type ShmDelivery = Delivery;

export class ShmPeer {
  private spinMax: number;
  private spinBudget: number;
  /** Wake-ups that actually slept (for the bench's wakes-per-message). */
  sleeps = 0;

  constructor(readonly core: BusCore, readonly slot: number, readonly id: PeerId, readonly bootstrap: HandleName[], spinUs: number, readonly bus: ShmBus | null) {
    this.spinMax = spinUs > 0 ? Math.round(spinUs * calibrateSpin()) : 0;
    this.spinBudget = this.spinMax;
  }

  // Every operation: lock, PEER-2 check, the core's checks and effects, unlock.
  private op(name: string, fn: () => number): void {
    const core = this.core;
    core.lock();
    let code: number;
    try { code = core.peerOpen(this.slot, this.id) ? fn() : CLOSED; } catch (e) { core.abort(); throw e; }
    core.unlock();
    if (code !== OK) fail(code, name);
  }

  createNode(options: { credentials?: boolean } = {}): HandleName {
    this.op('createNode', () => this.core.createNodeLocked(this.slot, options.credentials === true));
    return this.core.outName;
  }

  mint(handle: HandleName, options: { rights: Right[]; badge?: number }): HandleName {
    if (!isName(handle) || !rightsValid(options.rights) || (options.badge !== undefined && !(isName(options.badge) && options.badge >= 1))) this.op('mint', () => INVALID_ARGUMENT);
    this.op('mint', () => this.core.mintLocked(this.slot, handle, rightsMask(options.rights), options.badge ?? 0));
    return this.core.outName;
  }

  release(handle: HandleName): void {
    this.op('release', () => (isName(handle) ? this.core.releaseLocked(this.slot, handle) : INVALID_ARGUMENT));
  }

  revoke(handle: HandleName): number {
    this.op('revoke', () => (isName(handle) ? this.core.revokeLocked(this.slot, handle) : INVALID_ARGUMENT));
    return this.core.outCount;
  }

  destroyNode(handle: HandleName): void {
    this.op('destroyNode', () => (isName(handle) ? this.core.destroyNodeLocked(this.slot, handle) : INVALID_ARGUMENT));
  }

  /** SEND-1: non-blocking; QUEUE_FULL when there is no room. */
  send(handle: HandleName, message: MessageInput = {}): void {
    const ok = stageInput(this.core, message, true);
    this.op('send', () => (ok && isName(handle) ? this.core.sendLocked(this.slot, this.id, handle, false) : INVALID_ARGUMENT));
  }

  /** The hot path: one payload, no handles, no allocation. Returns false on QUEUE_FULL. */
  sendBytes(handle: HandleName, bytes: Uint8Array): boolean {
    const core = this.core;
    core.segs[0] = bytes;
    core.nsegs = 1;
    core.nxfers = 0;
    core.lock();
    let code: number;
    try { code = core.peerOpen(this.slot, this.id) ? core.sendLocked(this.slot, this.id, handle, true) : CLOSED; } catch (e) { core.abort(); throw e; }
    core.unlock();
    if (code === OK) return true;
    if (code === BLOCKED) return false;
    return fail(code, 'send');
  }

  /** The hot path, blocking: waits (spin, then Atomics.wait on the queue's room word) until there is room. */
  sendBytesSync(handle: HandleName, bytes: Uint8Array): void {
    const core = this.core;
    for (;;) {
      const dest = core.destOfHandle(this.slot, handle);
      const seen = dest === NONE ? 0 : core.roomValue(dest);
      if (this.sendBytes(handle, bytes)) return;
      let moved = false;
      for (let i = 0; i < this.spinBudget; i++) if (core.roomValue(dest) !== seen) { moved = true; break; }
      if (moved) continue;
      this.sleeps++;
      core.sleepForRoom(dest, seen, 50);
    }
  }

  /** SEND-7, synchronous flavour: wait (Atomics.wait) up to timeoutMs for room. */
  sendSync(handle: HandleName, message: MessageInput, options: { timeoutMs: number }): void {
    const core = this.core;
    const deadline = now() + options.timeoutMs;
    for (;;) {
      if (!stageInput(core, message, true)) fail(INVALID_ARGUMENT, 'send');
      const dest = core.destOfHandle(this.slot, handle);
      const seen = dest === NONE ? 0 : core.roomValue(dest);
      core.lock();
      let code: number;
      try { code = core.peerOpen(this.slot, this.id) ? core.sendLocked(this.slot, this.id, handle, options.timeoutMs > 0) : CLOSED; } catch (e) { core.abort(); throw e; }
      core.unlock();
      if (code === OK) return;
      if (code !== BLOCKED) fail(code, 'send');
      const left = deadline - now();
      if (left <= 0) fail(TIMED_OUT, 'send');
      core.sleepForRoom(dest, seen, Math.min(left, 50));
    }
  }

  /** SEND-7, promise flavour (Atomics.waitAsync). */
  async sendWait(handle: HandleName, message: MessageInput, options: { timeoutMs: number }): Promise<void> {
    const core = this.core;
    const deadline = now() + options.timeoutMs;
    for (;;) {
      if (!stageInput(core, message, true)) fail(INVALID_ARGUMENT, 'send');
      const dest = core.destOfHandle(this.slot, handle);
      const seen = dest === NONE ? 0 : core.roomValue(dest);
      core.lock();
      let code: number;
      try { code = core.peerOpen(this.slot, this.id) ? core.sendLocked(this.slot, this.id, handle, options.timeoutMs > 0) : CLOSED; } catch (e) { core.abort(); throw e; }
      core.unlock();
      if (code === OK) return;
      if (code !== BLOCKED) fail(code, 'send');
      const left = deadline - now();
      if (left <= 0) fail(TIMED_OUT, 'send');
      const idx = core.L.peerBase + dest * P_WORDS + P_ROOM;
      if (Atomics.load(core.I, idx) === seen) {
        Atomics.add(core.I, idx + 1, 1);
        const w = waitAsync(core.I, idx, seen, Math.min(left, 50));
        if (w.async) await w.value;
        Atomics.sub(core.I, idx + 1, 1);
      }
    }
  }

  /** Start a call; returns the call slot. */
  private startCall(handle: HandleName, message: MessageInput | null, bytes: Uint8Array | null): number {
    const core = this.core;
    let ok = true;
    if (bytes !== null) { core.segs[0] = bytes; core.nsegs = 1; core.nxfers = 0; }
    else ok = stageInput(core, message ?? {}, true);
    this.op('call', () => (ok && isName(handle) ? core.callLocked(this.slot, this.id, handle) : INVALID_ARGUMENT));
    return core.outCall;
  }

  /** Wait (spin, then Atomics.wait) until call c resolves or the deadline passes. */
  private awaitCallSync(c: number, deadline: number): void {
    const core = this.core;
    for (;;) {
      const seen = core.wakeValue(this.slot);
      if (core.callState(c) === 2) return;
      const left = deadline - now();
      if (left <= 0) { this.expireCall(c); return; }
      this.sleepOn(seen, left);
    }
  }

  private expireCall(c: number): void {
    const core = this.core;
    core.lock();
    try { core.timeoutCall(c); } catch (e) { core.abort(); throw e; }
    core.unlock();
  }

  private finishCall(c: number): Result {
    const core = this.core;
    core.lock();
    let r: Result;
    try { r = core.callResult(c); core.collectCall(c); } catch (e) { core.abort(); throw e; }
    core.unlock();
    return r;
  }

  /** CALL-1, synchronous flavour: blocks this thread until the one outcome. */
  callSync(handle: HandleName, message: MessageInput = {}, options: { timeoutMs?: number } = {}): ReplyDelivery {
    const c = this.startCall(handle, message, null);
    this.awaitCallSync(c, options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs);
    const r = this.finishCall(c);
    if (!r.ok) throw new TesseraError(r.error, 'call');
    return (r.value as { reply: ReplyDelivery }).reply;
  }

  /**
   * CALL-1, the fast path: payload bytes out, reply bytes copied into `replyOut`.
   * Returns the reply's length; throws TesseraError for the other outcomes.
   */
  callBytesSync(handle: HandleName, bytes: Uint8Array, replyOut: Uint8Array, timeoutMs = Infinity): number {
    const core = this.core;
    const c = this.startCall(handle, null, bytes);
    this.awaitCallSync(c, timeoutMs === Infinity ? Infinity : now() + timeoutMs);
    core.lock();
    let n: number;
    try { n = core.replyInto(c, replyOut); core.collectCall(c); } catch (e) { core.abort(); throw e; }
    core.unlock();
    if (n < 0) fail(-n, 'call');
    return n;
  }

  /** CALL-1, promise flavour (Atomics.waitAsync, checking the value first: issue fact 2). */
  async call(handle: HandleName, message: MessageInput = {}, options: { timeoutMs?: number } = {}): Promise<ReplyDelivery> {
    const core = this.core;
    const c = this.startCall(handle, message, null);
    const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
    for (;;) {
      const seen = core.wakeValue(this.slot);
      if (core.callState(c) === 2) break;
      const left = deadline - now();
      if (left <= 0) { this.expireCall(c); break; }
      await this.sleepAsync(seen, left);
    }
    const r = this.finishCall(c);
    if (!r.ok) throw new TesseraError(r.error, 'call');
    return (r.value as { reply: ReplyDelivery }).reply;
  }

  reply(replyHandle: HandleName, message: MessageInput = {}): void {
    const ok = stageInput(this.core, message, true);
    this.op('reply', () => (ok && isName(replyHandle) ? this.core.replyLocked(this.slot, replyHandle) : INVALID_ARGUMENT));
  }

  /** CALL-3, the fast path. */
  replyBytes(replyHandle: HandleName, bytes: Uint8Array): void {
    const core = this.core;
    core.segs[0] = bytes; core.nsegs = 1; core.nxfers = 0;
    core.lock();
    let code: number;
    try { code = core.peerOpen(this.slot, this.id) ? core.replyLocked(this.slot, replyHandle) : CLOSED; } catch (e) { core.abort(); throw e; }
    core.unlock();
    if (code !== OK) fail(code, 'reply');
  }

  multicast(handles: HandleName[], message: MessageInput = {}): HandleName[] {
    const ok = stageInput(this.core, message, false) && Array.isArray(handles) && handles.length > 0 && handles.every(isName) && new Set(handles).size === handles.length;
    this.op('multicast', () => (ok ? this.core.multicastLocked(this.slot, this.id, handles) : INVALID_ARGUMENT));
    return this.core.outSkipped.slice();
  }

  /** RECV-1: what is queued now, at most max. */
  tryReceive(max = 64): Delivery[] {
    let out: Delivery[] = [];
    this.op('receive', () => { if (!(isName(max) && max >= 1)) return INVALID_ARGUMENT; out = this.core.takeDeliveries(this.slot, max); return OK; });
    return out;
  }

  /** RECV-2, synchronous flavour: wait up to timeoutMs for a batch; [] on timeout. */
  receiveSync(options: { max?: number; timeoutMs?: number } = {}): Delivery[] {
    const max = options.max ?? 64;
    const deadline = now() + (options.timeoutMs ?? 0);
    for (;;) {
      const seen = this.core.wakeValue(this.slot);
      if (this.core.queued(this.slot) > 0 || !this.core.peerOpen(this.slot, this.id)) {
        const out = this.tryReceive(max);
        if (out.length > 0) return out;
      }
      const left = deadline - now();
      if (left <= 0) return [];
      this.sleepOn(seen, left);
    }
  }

  /** RECV-2, promise flavour. */
  async receive(options: { max?: number; timeoutMs?: number } = {}): Promise<Delivery[]> {
    const max = options.max ?? 64;
    const deadline = now() + (options.timeoutMs ?? 0);
    for (;;) {
      const seen = this.core.wakeValue(this.slot);
      if (this.core.queued(this.slot) > 0 || !this.core.peerOpen(this.slot, this.id)) {
        const out = this.tryReceive(max);
        if (out.length > 0) return out;
      }
      const left = deadline - now();
      if (left <= 0) return [];
      await this.sleepAsync(seen, left);
    }
  }

  /**
   * RECV-1, the fast path: drain up to max entries into a preallocated batch (one
   * wake per batch). Waits up to timeoutMs for the first. Returns the count.
   */
  receiveBatchSync(batch: ReceiveBatch, max: number, timeoutMs: number): number {
    const core = this.core;
    const deadline = timeoutMs > 0 ? now() + timeoutMs : 0;
    for (;;) {
      const seen = core.wakeValue(this.slot);
      if (core.queued(this.slot) > 0) {
        core.lock();
        let n: number;
        try { n = core.peerOpen(this.slot, this.id) ? core.takeBatch(this.slot, max, batch) : -1; } catch (e) { core.abort(); throw e; }
        core.unlock();
        if (n < 0) fail(CLOSED, 'receive');
        if (n > 0) return n;
      } else if (!core.peerOpen(this.slot, this.id)) fail(CLOSED, 'receive');
      if (timeoutMs <= 0) return 0;
      const left = deadline - now();
      if (left <= 0) { batch.count = 0; return 0; }
      this.sleepOn(seen, left);
    }
  }

  close(): void {
    this.op('close', () => this.core.closeLocked(this.slot, this.id));
  }

  /** Adaptive spin, then Atomics.wait on this peer's wake word. */
  private sleepOn(seen: number, leftMs: number): void {
    const core = this.core;
    const I = core.I, idx = core.L.peerBase + this.slot * P_WORDS + P_WAKE;
    const budget = this.spinBudget;
    for (let i = 0; i < budget; i++) {
      if (Atomics.load(I, idx) !== seen) {
        // spinning paid off: allow longer spins again
        if (this.spinBudget < this.spinMax) this.spinBudget = Math.min(this.spinMax, this.spinBudget * 2);
        return;
      }
    }
    // spinning did not pay off (e.g. both threads on one vCPU): spin less next time, but never
    // stop probing altogether (a budget of 0 could never learn that spinning pays again)
    this.spinBudget = Math.max(this.spinMax >> 1, this.spinBudget >> 1);
    this.sleeps++;
    Atomics.add(I, idx + 1, 1);
    if (Atomics.load(I, idx) === seen) Atomics.wait(I, idx, seen, leftMs === Infinity ? undefined : leftMs);
    Atomics.sub(I, idx + 1, 1);
  }

  private async sleepAsync(seen: number, leftMs: number): Promise<void> {
    const core = this.core;
    const I = core.I, idx = core.L.peerBase + this.slot * P_WORDS + P_WAKE;
    if (Atomics.load(I, idx) !== seen) return; // waitAsync costs ~0.7 us even when it returns at once
    this.sleeps++;
    Atomics.add(I, idx + 1, 1);
    try {
      const w = waitAsync(I, idx, seen, leftMs === Infinity ? undefined : leftMs);
      if (w.async) await w.value;
    } finally {
      Atomics.sub(I, idx + 1, 1);
    }
  }
}
