// What every backend's public API shares: the error it throws for a spec error
// code, the inputs callers give (messages as text, bytes or segments, gathered as
// SEND-2 says; options; bootstrap grants), and how every public entry reads them.
//
// The rule: an input is read once, into a plain copy, validated against the spec's
// shapes and bounds (the model's own checks), and only then acted on; every
// violation is the spec's error and changes nothing (ERR-1 step 3, ATOMIC-1). A
// getter, a proxy, or a typed array over a growable buffer is therefore read exactly
// once; what a backend checks and what it does both work on the copy. A reader never
// throws: an input it cannot read (a throwing getter included) is MALFORMED.
// Backends import this, never each other.
import type { BootstrapGrant, Credentials, ErrorCode, Message, Right, Transfer } from '../spec/types';
import * as rules from '../model/rules';

// The model's shape checks as this module's own constants (the JIT inlines them, where it would load a property of the model's exports on every call).
const { RIGHTS, isCount, isName } = rules;

/** An operation failed with a spec error code (ERR-2). */
export class TesseraError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly op: string,
  ) {
    super(`${op} failed: ${code}`);
    this.name = 'TesseraError';
  }
}

/** A payload as callers like to give it: text, bytes, or a list of segments (gathered, SEND-2). */
export type PayloadInput = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

export interface MessageInput {
  payload?: PayloadInput;
  handles?: Transfer[];
}

/** A bootstrap grant as the bus owner gives it (BUS-3): from a peer (or its id), a handle it holds. */
export interface BootstrapInput {
  from: { id: number } | number;
  handle: number;
  rights?: Right[];
  badge?: number;
}

/** What a reader returns for an input that is not of the spec's shape: INVALID_ARGUMENT, after the peer checks. */
export const MALFORMED: unique symbol = Symbol('malformed');
export type Malformed = typeof MALFORMED;

// ------------------------------------------------------------------ bytes, read through their internal slots

// A Uint8Array (a Buffer is one) is recognised and measured by the intrinsic accessors of
// %TypedArray%.prototype, which read its internal slots: nothing the object defines (an own
// `length`, a subclass's getter) is consulted.
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, key)!.get!;
const typedArrayName = intrinsic(Symbol.toStringTag) as (this: unknown) => string | undefined;
const typedArrayLength = intrinsic('length') as (this: Uint8Array) => number;
const typedArrayBuffer = intrinsic('buffer') as (this: Uint8Array) => ArrayBufferLike;
const typedArrayByteOffset = intrinsic('byteOffset') as (this: Uint8Array) => number;

/** Whether x is a Uint8Array (a Buffer included), by its internal slot. */
export function isBytes(x: unknown): x is Uint8Array {
  return typedArrayName.call(x) === 'Uint8Array';
}

/** The length of a Uint8Array now. */
export function bytesLength(x: Uint8Array): number {
  return typedArrayLength.call(x);
}

/** Bytes start..end of a Uint8Array as a fixed-length view of the same memory. */
export function bytesView(x: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(typedArrayBuffer.call(x), typedArrayByteOffset.call(x) + start, end - start);
}

const sharedBufferGrowable = Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'growable')?.get as
  ((this: SharedArrayBuffer) => boolean) | undefined;

/** The last Uint8Array found to be one whose length cannot grow while it is copied (a one-entry cache). */
let lastSteady: unknown = null;

/**
 * x as bytes a copy can trust, or null unless x is a Uint8Array. Its length can change behind
 * our back only if it is a view that tracks a growable shared buffer, which another thread may
 * grow between the length read and the copy (a copy would then run past the room reserved for
 * it): such a view is replaced by a fixed view of the bytes it has now. Every other Uint8Array
 * is itself; whether one is such a view never changes, so the last one found steady is
 * remembered (a sender that reuses its buffer pays for the check once).
 */
export function steadyBytes(x: unknown): Uint8Array | null {
  return x === lastSteady ? (x as Uint8Array) : checkSteady(x);
}

/** steadyBytes for an object not checked last (out of line: the hot path is the one compare above). */
function checkSteady(x: unknown): Uint8Array | null {
  if (!isBytes(x)) return null;
  const buffer = typedArrayBuffer.call(x);
  if (buffer instanceof SharedArrayBuffer && sharedBufferGrowable?.call(buffer) === true)
    return bytesView(x, 0, typedArrayLength.call(x));
  lastSteady = x;
  return x;
}

/**
 * Copy bytes start..end of a segment (bytes steadyBytes gave, read with length `length`) into
 * dst at `at`: the whole segment in one TypedArray.set (which reads its source through internal
 * slots), a part of it through a fixed view.
 */
export function copySegment(
  x: Uint8Array,
  length: number,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
): void {
  if (start === 0 && end === length) dst.set(x, at);
  else dst.set(bytesView(x, start, end), at);
}

// ------------------------------------------------------------------ messages

/**
 * Rights as bits, as the shm backend stores them: right i of the model's list of rights
 * (RIGHTS: send, grant) is bit 1 << i. -1 stands for "none given" (the handle's own).
 */
export function rightBit(right: Right): number {
  return 1 << RIGHTS.indexOf(right);
}

export function rightsOfBits(bits: number): Right[] {
  return RIGHTS.filter((_, i) => (bits & (1 << i)) !== 0);
}

/**
 * A list of rights read once, element by element, into its bits (HANDLE-4); MALFORMED unless
 * an array whose every element is one of the model's rights (a hole is not a right).
 */
export function readRightsBits(x: unknown): number | Malformed {
  if (!Array.isArray(x)) return MALFORMED;
  try {
    const n = x.length;
    if (!isCount(n)) return MALFORMED;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      const at = RIGHTS.indexOf(x[i] as Right);
      if (at < 0) return MALFORMED;
      bits |= 1 << at;
    }
    return bits;
  } catch {
    return MALFORMED;
  }
}

/** Beyond this many transfers, duplicates are found with a Set rather than pairwise. */
const PAIRWISE_DUPLICATES_UP_TO = 16;

/**
 * A message read once: its segments (bytes and the length each had when read) and its
 * transfers, in parallel arrays reused from message to message (no allocation for bytes
 * payloads). Segments given as text are encoded here, once.
 */
export class MessageRead {
  readonly segments: Uint8Array[] = [];
  readonly segmentLengths: number[] = [];
  segmentCount = 0;
  /** The gathered payload's size (SEND-2). */
  payloadBytes = 0;
  readonly transferHandles: number[] = [];
  /** Rights asked for each transfer, as bits; -1 when none were given (the handle's own). */
  readonly transferRights: number[] = [];
  readonly transferMoves: boolean[] = [];
  transferCount = 0;

  clear(): void {
    this.segmentCount = 0;
    this.payloadBytes = 0;
    this.transferCount = 0;
  }

  addSegment(bytes: Uint8Array, length: number): void {
    const i = this.segmentCount++;
    this.segments[i] = bytes;
    this.segmentLengths[i] = length;
    this.payloadBytes += length;
  }

  addTransfer(handle: number, rightsBits: number, move: boolean): void {
    const i = this.transferCount++;
    this.transferHandles[i] = handle;
    this.transferRights[i] = rightsBits;
    this.transferMoves[i] = move;
  }

  /** Make this a copy of `other` (the same segments and transfers). */
  copyFrom(other: MessageRead): void {
    this.clear();
    for (let i = 0; i < other.segmentCount; i++) this.addSegment(other.segments[i], other.segmentLengths[i]);
    for (let i = 0; i < other.transferCount; i++)
      this.addTransfer(other.transferHandles[i], other.transferRights[i], other.transferMoves[i]);
  }

  /** One payload of bytes and no transfers (the fast paths); false unless `bytes` is a Uint8Array. */
  setBytes(bytes: unknown): boolean {
    const steady = bytes === lastSteady ? (bytes as Uint8Array) : checkSteady(bytes);
    this.transferCount = 0;
    if (steady === null) {
      this.segmentCount = this.payloadBytes = 0;
      return false;
    }
    const length = typedArrayLength.call(steady);
    this.segments[0] = steady;
    this.segmentLengths[0] = length;
    this.segmentCount = 1;
    this.payloadBytes = length;
    return true;
  }

  /**
   * Read a MessageInput (undefined is the empty message); false when it is not of the spec's
   * shape: a payload that is not text, bytes or a list of them, a transfer that is not
   * {handle, rights?, move?} with a name, rights and a boolean, a name transferred twice
   * (SEND-5), or a move where `allowMove` is false (MCAST-1).
   */
  read(input: unknown, allowMove: boolean): boolean {
    this.clear();
    if (input === undefined) return true;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return false;
    try {
      const { payload, handles } = input as MessageInput;
      return this.readPayload(payload) && this.readTransfers(handles, allowMove);
    } catch {
      return false;
    }
  }

  private readPayload(payload: unknown): boolean {
    if (payload === undefined) return true;
    if (!Array.isArray(payload)) return this.readSegment(payload);
    const n = payload.length;
    if (!isCount(n)) return false;
    for (let i = 0; i < n; i++) if (!this.readSegment(payload[i])) return false;
    return true;
  }

  private readSegment(part: unknown): boolean {
    if (typeof part === 'string') {
      const bytes = Buffer.from(part, 'utf8');
      this.addSegment(bytes, bytes.length);
      return true;
    }
    const steady = steadyBytes(part);
    if (steady === null) return false;
    this.addSegment(steady, typedArrayLength.call(steady));
    return true;
  }

  private readTransfers(handles: unknown, allowMove: boolean): boolean {
    if (handles === undefined) return true;
    if (!Array.isArray(handles)) return false;
    const n = handles.length;
    if (!isCount(n)) return false;
    for (let i = 0; i < n; i++) {
      const t = handles[i] as unknown;
      if (typeof t !== 'object' || t === null) return false;
      const { handle, rights, move } = t as Transfer;
      if (!isName(handle)) return false;
      const bits = rights === undefined ? -1 : readRightsBits(rights);
      if (bits === MALFORMED) return false;
      if (move !== undefined && typeof move !== 'boolean') return false;
      if (move === true && !allowMove) return false; // MCAST-1
      this.addTransfer(handle, bits, move === true);
    }
    return !this.transfersRepeat(); // SEND-5
  }

  private transfersRepeat(): boolean {
    const n = this.transferCount,
      hs = this.transferHandles;
    if (n <= PAIRWISE_DUPLICATES_UP_TO) {
      for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) if (hs[j] === hs[i]) return true;
      return false;
    }
    return new Set(hs.slice(0, n)).size !== n;
  }

  /** The message in the spec's shape (base64 segments), for a backend that runs the model. */
  toMessage(): Message {
    const segments: string[] = [];
    for (let i = 0; i < this.segmentCount; i++)
      segments.push(Buffer.from(bytesView(this.segments[i], 0, this.segmentLengths[i])).toString('base64'));
    if (this.transferCount === 0) return { segments };
    const transfers: Transfer[] = [];
    for (let i = 0; i < this.transferCount; i++) {
      const bits = this.transferRights[i];
      transfers.push({
        handle: this.transferHandles[i],
        ...(bits >= 0 ? { rights: rightsOfBits(bits) } : {}),
        ...(this.transferMoves[i] ? { move: true } : {}),
      });
    }
    return { segments, transfers };
  }
}

/** A MessageInput in the spec's shape; throws INVALID_ARGUMENT when malformed. */
export function toMessage(input: MessageInput = {}): Message {
  const read = new MessageRead();
  if (!read.read(input, true)) throw new TesseraError('INVALID_ARGUMENT', 'message');
  return read.toMessage();
}

/** The payload of a delivery as bytes / as UTF-8 text. */
export function payloadBytes(d: { payload: string }): Uint8Array {
  return new Uint8Array(Buffer.from(d.payload, 'base64'));
}
export function payloadText(d: { payload: string }): string {
  return Buffer.from(d.payload, 'base64').toString('utf8');
}

// ------------------------------------------------------------------ names, counts, options

/** A list of handle names read once into `into` (reused); its length, or MALFORMED unless every element is a name. */
export function readNames(x: unknown, into: number[]): number | Malformed {
  if (!Array.isArray(x)) return MALFORMED;
  try {
    const n = x.length;
    if (!isCount(n)) return MALFORMED;
    for (let i = 0; i < n; i++) {
      const name = x[i] as unknown;
      if (!isName(name)) return MALFORMED;
      into[i] = name;
    }
    return n;
  } catch {
    return MALFORMED;
  }
}

/**
 * The first `count` elements (default: all) of a list of names given as an array or a typed
 * array, read once into `into`; an element that is not a name is read as NaN (an operation on
 * it fails alone). MALFORMED unless `count` is a safe integer of at most the list's length and `max`.
 */
export function readNameList(x: unknown, count: unknown, max: number, into: Float64Array): number | Malformed {
  try {
    const length = Array.isArray(x)
      ? x.length
      : typedArrayName.call(x) !== undefined
        ? typedArrayLength.call(x as Uint8Array)
        : -1;
    if (!isCount(length)) return MALFORMED;
    const n = count === undefined ? length : count;
    if (!isCount(n) || n > length || n > max) return MALFORMED;
    const list = x as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) {
      const v = list[i];
      into[i] = isName(v) ? v : NaN;
    }
    return n;
  } catch {
    return MALFORMED;
  }
}

/** Whether names[0..count-1] has a name twice. */
export function namesRepeat(names: readonly number[], count: number): boolean {
  if (count <= PAIRWISE_DUPLICATES_UP_TO) {
    for (let i = 1; i < count; i++) for (let j = 0; j < i; j++) if (names[j] === names[i]) return true;
    return false;
  }
  return new Set(names.slice(0, count)).size !== count;
}

/**
 * The named fields of an options argument, each read once: undefined (no options) gives
 * undefined for every field; anything but a non-null, non-array object is MALFORMED.
 */
function readFields<K extends string>(options: unknown, keys: readonly K[]): Partial<Record<K, unknown>> | Malformed {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return MALFORMED;
  const out: Partial<Record<K, unknown>> = {};
  try {
    for (const k of keys) out[k] = (options as Record<K, unknown>)[k];
  } catch {
    return MALFORMED;
  }
  return out;
}

/** A timeout when given (TIME-1): undefined, or a safe non-negative integer of milliseconds. */
function timeoutValue(t: unknown): number | undefined | Malformed {
  return t === undefined ? undefined : isCount(t) ? t : MALFORMED;
}

/**
 * One field of an options argument, read once (no allocation: waiting sends read this per
 * message): undefined when there are no options; MALFORMED unless they are a non-null,
 * non-array object whose field can be read.
 */
function readField(options: unknown, key: string): unknown {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return MALFORMED;
  try {
    return (options as Record<string, unknown>)[key];
  } catch {
    return MALFORMED;
  }
}

/** `{ timeoutMs? }` (call, send): the timeout when given. */
export function readTimeoutOption(options: unknown): number | undefined | Malformed {
  const t = readField(options, 'timeoutMs');
  return t === MALFORMED ? MALFORMED : timeoutValue(t);
}

/** A boolean option `key`, when given. */
export function readBooleanOption(options: unknown, key: string): boolean | undefined | Malformed {
  const v = readField(options, key);
  return v === undefined || typeof v === 'boolean' ? v : MALFORMED;
}

/** A count option `key` (a safe non-negative integer), when given. */
export function readCountOption(options: unknown, key: string): number | undefined | Malformed {
  const v = readField(options, key);
  return v === undefined || isCount(v) ? v : MALFORMED;
}

/** `{ credentials? }` of createNode (CRED-1): whether the node stamps credentials, when given. */
export function readCreateNodeOptions(options: unknown): boolean | undefined | Malformed {
  return readBooleanOption(options, 'credentials');
}

/** A badge when given (MINT-3): undefined, or 1..2^53-1. */
function badgeValue(b: unknown): number | undefined | Malformed {
  return b === undefined ? undefined : isCount(b) && b >= 1 ? b : MALFORMED;
}

/** `{ rights, badge? }` of mint (MINT-1, MINT-3). */
export function readMintOptions(options: unknown): { rights: number; badge: number | undefined } | Malformed {
  // Field by field, not through readFields: a mint reads these on every call, and readFields'
  // keyed reads into a fresh object cost more than the mint itself (~65 ns).
  const rights = readRightsBits(readField(options, 'rights'));
  const badge = badgeValue(readField(options, 'badge'));
  return rights === MALFORMED || badge === MALFORMED ? MALFORMED : { rights, badge };
}

/** `{ max?, timeoutMs? }` of receive (RECV-1, RECV-2): max a safe integer of at least 1 when given. */
export function readReceiveOptions(
  options: unknown,
): { max: number | undefined; timeoutMs: number | undefined } | Malformed {
  const max = readField(options, 'max'),
    timeoutMs = timeoutValue(readField(options, 'timeoutMs'));
  if (timeoutMs === MALFORMED || (max !== undefined && !(isCount(max) && max >= 1))) return MALFORMED;
  return { max: max as number | undefined, timeoutMs };
}

/** Credentials (BUS-2): three safe non-negative integers. */
export function readCredentials(x: unknown): Credentials | Malformed {
  const o = readFields(x, ['uid', 'gid', 'pid'] as const);
  if (o === MALFORMED || x === undefined) return MALFORMED;
  const { uid, gid, pid } = o;
  return isCount(uid) && isCount(gid) && isCount(pid) ? { uid, gid, pid } : MALFORMED;
}

/**
 * Bootstrap grants (BUS-3) in the spec's shape, each field read once: `from` a peer or its id,
 * a name, rights and a badge in range when given. Whether `from` is an open peer of the bus is
 * the backend's check.
 */
export function readBootstrap(x: unknown): BootstrapGrant[] | Malformed {
  if (x === undefined) return [];
  if (!Array.isArray(x)) return MALFORMED;
  try {
    const n = x.length;
    if (!isCount(n)) return MALFORMED;
    const grants: BootstrapGrant[] = [];
    for (let i = 0; i < n; i++) {
      const g = readFields(x[i], ['from', 'handle', 'rights', 'badge'] as const);
      if (g === MALFORMED || x[i] === undefined) return MALFORMED;
      const from = g.from;
      const fromPeer = typeof from === 'object' && from !== null ? (from as { id: unknown }).id : from;
      const rights = g.rights === undefined ? -1 : readRightsBits(g.rights);
      const badge = badgeValue(g.badge);
      if (!isName(fromPeer) || !isName(g.handle) || rights === MALFORMED || badge === MALFORMED) return MALFORMED;
      grants.push({
        fromPeer,
        handle: g.handle,
        ...(rights >= 0 ? { rights: rightsOfBits(rights) } : {}),
        ...(badge !== undefined ? { badge } : {}),
      });
    }
    return grants;
  } catch {
    return MALFORMED;
  }
}

// ------------------------------------------------------------------ whole operations

/** Deeper than any operation nests: anything deeper (a cycle included) is MALFORMED. */
const MAX_DEPTH = 16;

/**
 * A plain deep copy of a JSON-like value (an operation given to a backend's run), each property
 * read once: own enumerable string keys of objects, every element of arrays, numbers, strings,
 * booleans and null as they are. What is not JSON (a function, a symbol, a bigint, undefined in
 * an array), a hole in an array, nesting deeper than any operation has, and a value whose
 * reading throws all become an empty object: a value of no field's shape, which the shape
 * checks reject where a field is read, and which the model can still copy where it is not.
 */
export function readPlain(value: unknown): unknown {
  try {
    return plainCopy(value, 0);
  } catch {
    return {};
  }
}

function plainCopy(v: unknown, depth: number): unknown {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
    return v;
  if (typeof v !== 'object' || depth > MAX_DEPTH) return {};
  if (Array.isArray(v)) {
    const n = v.length;
    if (!isCount(n)) return {};
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = i in v && v[i] !== undefined ? plainCopy(v[i], depth + 1) : {};
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const c = plainCopy((v as Record<string, unknown>)[k], depth + 1);
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}
