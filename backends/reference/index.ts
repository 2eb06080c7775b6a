// The reference backend: the public Tessera API (Bus, Peer) implemented by
// driving the formal model. It is the executable spec: simple and obviously
// correct, not fast. Every operation goes through `step`, so it can never do
// what the spec forbids.
import type {
  BootstrapGrant,
  CallValue,
  CancelValue,
  Credentials,
  Delivery,
  HandleName,
  HandleValue,
  Invocation,
  Limits,
  Message,
  MulticastValue,
  Operation,
  PeerId,
  ReceiveValue,
  ReplyDelivery,
  Result,
  RevokeValue,
  Right,
  SameNodeValue,
} from '../../spec/types';
import { type BusState, type StepOutcome, initialState, step } from '../../model';
import {
  MALFORMED,
  MessageRead,
  TesseraError,
  payloadBytes,
  payloadText,
  readBootstrap,
  readBooleanOption,
  readCountOption,
  readCreateNodeOptions,
  readCredentials,
  readMintOptions,
  readNames,
  readPlain,
  readReceiveOptions,
  readTimeoutOption,
  rightsOfBits,
  toMessage,
  type BootstrapInput,
  type MessageInput,
  type PayloadInput,
} from '../common';

export {
  TesseraError,
  toMessage,
  payloadBytes,
  payloadText,
  type PayloadInput,
  type MessageInput,
  type BootstrapInput,
};

/**
 * An argument read once (backends/common.ts), as the operation given to the model carries it:
 * a malformed one becomes null, which fails the model's shape check for its field (ERR-1 step 3,
 * after the peer checks, as the model orders them).
 */
function field<T>(value: T | typeof MALFORMED): T | null {
  return value === MALFORMED ? null : value;
}

/** A message read once, in the spec's shape; null when malformed. */
function readMessage(input: unknown, allowMove = true): Message | null {
  const read = new MessageRead();
  return read.read(input, allowMove) ? read.toMessage() : null;
}

export interface BusOptions {
  limits?: Partial<Limits>;
  /**
   * 'real' (default): timeouts follow the wall clock. 'virtual': time moves only
   * by bus.tick(ms), as in the model (TIME-1); used by the conformance driver.
   */
  clock?: 'real' | 'virtual';
  /** Called with every step, for tracing and the tour. */
  observe?: (op: Operation, outcome: StepOutcome) => void;
}

type Waiter = { resolve: (r: Result) => void };

export class Bus {
  private state: BusState;
  private readonly waiters = new Map<number, Waiter>();
  private readonly clock: 'real' | 'virtual';
  private readonly observe?: BusOptions['observe'];
  private readonly startMs = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(options: BusOptions = {}) {
    this.state = initialState(options.limits);
    this.clock = options.clock ?? 'real';
    this.observe = options.observe;
  }

  static create(options: BusOptions = {}): Bus {
    return new Bus(options);
  }

  get limits(): Limits {
    return this.state.limits;
  }

  /** A deep copy of the model state, for tests and tools. */
  snapshot(): BusState {
    return structuredClone(this.state);
  }

  /** BUS-2: attach a peer with credentials; bootstrap handles derive from handles of open peers. */
  attach(credentials: Credentials, bootstrap: BootstrapInput[] = []): Peer {
    const r = this.run({
      op: 'attach',
      credentials: field(readCredentials(credentials)) as Credentials,
      bootstrap: field(readBootstrap(bootstrap)) as BootstrapGrant[],
    });
    const v = expectOk<{ peer: PeerId; handles: HandleName[] }>(r, 'attach');
    return new Peer(this, v.peer, v.handles);
  }

  /**
   * Advance a virtual clock (TIME-1). With the real clock this is done for you. The clock never
   * passes 2^53-1: a tick that would take it there fails INVALID_ARGUMENT (TIME-3).
   */
  tick(ms: number): void {
    expectOk(this.run({ op: 'tick', ms }), 'tick');
  }

  /** Run one operation of the spec as given (the driver's entry point). */
  run(op: Operation): Invocation {
    const plain = readPlain(op) as Operation;
    if (this.clock === 'real' && plain?.op !== 'tick') this.catchUp();
    const outcome = step(this.state, plain);
    this.state = outcome.state;
    this.observe?.(plain, outcome);
    for (const c of outcome.completions) {
      const w = this.waiters.get(c.ticket);
      if (w) {
        this.waiters.delete(c.ticket);
        w.resolve(c.result);
      }
    }
    if (this.clock === 'real') this.arm();
    return outcome.result;
  }

  /** Run a blocking operation; the promise settles at its completion (TIME-2). */
  async runBlocking(op: Operation): Promise<Result> {
    const r = this.run(op);
    if (!('pending' in r)) return r;
    return this.settled(r.ticket);
  }

  /** The completion of a pending operation, by ticket (TIME-2). */
  settled(ticket: number): Promise<Result> {
    return new Promise<Result>((resolve) => this.waiters.set(ticket, { resolve }));
  }

  private catchUp(): void {
    const elapsed = Date.now() - this.startMs - this.state.nowMs;
    if (elapsed > 0) this.run({ op: 'tick', ms: elapsed });
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let next = Infinity;
    for (const p of this.state.pending) if (p.deadline !== null) next = Math.min(next, p.deadline);
    if (next === Infinity) return;
    const delay = Math.max(0, next - (Date.now() - this.startMs));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.catchUp();
      this.arm();
    }, delay + 1);
  }
}

function expectOk<V>(r: Invocation, op: string): V {
  if ('pending' in r) throw new Error(`${op} unexpectedly pending`);
  if (!r.ok) throw new TesseraError(r.error, op);
  return r.value as V;
}

export interface CallOptions {
  /** Absent: wait for the outcome without limit; 0: may not wait, so TIMED_OUT at once (TIME-4). */
  timeoutMs?: number;
  /** The reply carries the replier's credentials (CRED-3). */
  replierCredentials?: boolean;
}

/** A call in progress: its ticket (to cancel it, CANCEL-1) and its reply. */
export interface PendingCall {
  ticket: number | null;
  reply: Promise<ReplyDelivery>;
}

export class Peer {
  constructor(
    readonly bus: Bus,
    readonly id: PeerId,
    readonly bootstrap: HandleName[],
  ) {}

  private now<V>(op: Operation): V {
    return expectOk<V>(this.bus.run(op), op.op);
  }

  private async later<V>(op: Operation): Promise<V> {
    const r = await this.bus.runBlocking(op);
    if (!r.ok) throw new TesseraError(r.error, op.op);
    return r.value as V;
  }

  /**
   * NODE-1: a new node; returns its root handle (all rights, no badge). `acceptsHandles: false`
   * makes it refuse transfers (NODE-5); the node counts toward maxNodesPerPeer until destroyed (NODE-4).
   */
  createNode(options: { credentials?: boolean; acceptsHandles?: boolean } = {}): HandleName {
    const credentials = field(readCreateNodeOptions(options));
    const acceptsHandles = field(readBooleanOption(options, 'acceptsHandles'));
    return this.now<HandleValue>({
      op: 'createNode',
      peer: this.id,
      ...(credentials !== undefined ? { credentials: credentials as boolean } : {}),
      ...(acceptsHandles !== undefined ? { acceptsHandles: acceptsHandles as boolean } : {}),
    }).handle;
  }

  /** MINT-1: derive a handle with the same or fewer rights; set a badge once. */
  mint(handle: HandleName, options: { rights: Right[]; badge?: number }): HandleName {
    const read = readMintOptions(options);
    return this.now<HandleValue>({
      op: 'mint',
      peer: this.id,
      handle,
      rights: (read === MALFORMED ? null : rightsOfBits(read.rights)) as Right[],
      ...(read !== MALFORMED && read.badge !== undefined ? { badge: read.badge } : {}),
    }).handle;
  }

  release(handle: HandleName): void {
    this.now({ op: 'release', peer: this.id, handle });
  }

  /** REVOKE-1: returns how many handles became revoked. */
  revoke(handle: HandleName): number {
    return this.now<RevokeValue>({ op: 'revoke', peer: this.id, handle }).revoked;
  }

  /**
   * DESTROY-1: destroy a node this peer owns. With `derivedCount` (from a no-senders notice) only if
   * no handle was derived for it since; otherwise it throws STALE and the node lives on (DESTROY-5).
   */
  destroyNode(handle: HandleName, options: { derivedCount?: number } = {}): void {
    const derivedCount = field(readCountOption(options, 'derivedCount'));
    this.now({
      op: 'destroyNode',
      peer: this.id,
      handle,
      ...(derivedCount !== undefined ? { derivedCount: derivedCount as number } : {}),
    });
  }

  /** NODE-6: whether two of this peer's handles designate the same node. */
  sameNode(handle: HandleName, other: HandleName): boolean {
    return this.now<SameNodeValue>({ op: 'sameNode', peer: this.id, handle, other }).same;
  }

  /** SEND-1: does not wait (timeoutMs 0, TIME-4); QUEUE_FULL when there is no room, and a room notice follows (QUOTA-5). */
  send(handle: HandleName, message: MessageInput = {}): void {
    this.now({ op: 'send', peer: this.id, handle, message: readMessage(message) as Message, timeoutMs: 0 });
  }

  /** SEND-7: wait for room, without limit or up to timeoutMs (TIME-4). */
  sendWait(handle: HandleName, message: MessageInput, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = field(readTimeoutOption(options));
    return this.later({
      op: 'send',
      peer: this.id,
      handle,
      message: readMessage(message) as Message,
      ...(timeoutMs !== undefined ? { timeoutMs: timeoutMs as number } : {}),
    });
  }

  /**
   * CALL-1: resolves with the reply, or rejects with DEAD, NO_REPLY, TIMED_OUT, CANCELLED or CLOSED.
   * `replierCredentials` asks for the replier's credentials on the reply (CRED-3).
   */
  async call(handle: HandleName, message: MessageInput = {}, options: CallOptions = {}): Promise<ReplyDelivery> {
    return this.startCall(handle, message, options).reply;
  }

  /** CALL-1 and CANCEL-1: a call whose ticket can be cancelled before its reply comes. */
  startCall(handle: HandleName, message: MessageInput = {}, options: CallOptions = {}): PendingCall {
    const timeoutMs = field(readTimeoutOption(options));
    const replierCredentials = field(readBooleanOption(options, 'replierCredentials'));
    const r = this.bus.run({
      op: 'call',
      peer: this.id,
      handle,
      message: readMessage(message) as Message,
      ...(timeoutMs !== undefined ? { timeoutMs: timeoutMs as number } : {}),
      ...(replierCredentials !== undefined ? { replierCredentials: replierCredentials as boolean } : {}),
    });
    const reply = ('pending' in r ? this.bus.settled(r.ticket) : Promise.resolve(r)).then((res) => {
      if (!res.ok) throw new TesseraError(res.error, 'call');
      return (res.value as CallValue).reply;
    });
    return { ticket: 'pending' in r ? r.ticket : null, reply };
  }

  /** CANCEL-1: end one of this peer's pending operations; false when it was no longer pending (CANCEL-3). */
  cancel(ticket: number): boolean {
    return this.now<CancelValue>({ op: 'cancel', peer: this.id, ticket }).cancelled;
  }

  reply(replyHandle: HandleName, message: MessageInput = {}): void {
    this.now({ op: 'reply', peer: this.id, handle: replyHandle, message: readMessage(message) as Message });
  }

  /**
   * CALL-10: answer and take the next deliveries in one step; waits as receive does (TIME-4). A reply
   * to an abandoned call is dropped, and its call-abandoned notice comes with the deliveries.
   */
  replyReceive(
    replyHandle: HandleName,
    message: MessageInput = {},
    options: { max?: number; timeoutMs?: number } = {},
  ): Promise<Delivery[]> {
    const read = readReceiveOptions(options);
    const max = read === MALFORMED ? null : (read.max ?? 64);
    const timeoutMs = read === MALFORMED ? undefined : read.timeoutMs;
    return this.later<ReceiveValue>({
      op: 'replyReceive',
      peer: this.id,
      handle: replyHandle,
      message: readMessage(message) as Message,
      max: max as number,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    }).then((v) => v.deliveries);
  }

  /** MCAST-1: returns the destinations skipped because their node is dead. */
  multicast(handles: HandleName[], message: MessageInput = {}): HandleName[] {
    return this.multicastOp(handles, message, false).skipped;
  }

  /**
   * MCAST-6: a multicast to a group that skips the members whose queue is full: returns the dead ones
   * (`skipped`) and the full ones (`full`), which are told by a room notice when they have room (QUOTA-5).
   */
  publish(handles: HandleName[], message: MessageInput = {}): MulticastValue {
    return this.multicastOp(handles, message, true);
  }

  private multicastOp(handles: HandleName[], message: MessageInput, skipFull: boolean): MulticastValue {
    const names: number[] = [];
    const count = readNames(handles, names);
    return this.now<MulticastValue>({
      op: 'multicast',
      peer: this.id,
      handles: (count === MALFORMED ? null : names) as HandleName[],
      message: readMessage(message) as Message,
      ...(skipFull ? { skipFull: true } : {}),
    });
  }

  /** RECV-1: what is queued now, at most max (default 64); never waits (timeoutMs 0). */
  tryReceive(max = 64): Delivery[] {
    return this.now<ReceiveValue>({ op: 'receive', peer: this.id, max, timeoutMs: 0 }).deliveries;
  }

  /** RECV-2: wait for a batch, without limit or up to timeoutMs (TIME-4); an empty list on timeout. */
  receive(options: { max?: number; timeoutMs?: number } = {}): Promise<Delivery[]> {
    const read = readReceiveOptions(options);
    const max = read === MALFORMED ? null : (read.max ?? 64);
    const timeoutMs = read === MALFORMED ? undefined : read.timeoutMs;
    return this.later<ReceiveValue>({
      op: 'receive',
      peer: this.id,
      max: max as number,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    }).then((v) => v.deliveries);
  }

  close(): void {
    this.now({ op: 'close', peer: this.id });
  }
}
