// The values that cross a peer's rings: spec operations one way, invocations and completions
// the other, in a small tagged binary form (null, booleans, numbers, strings, bytes, arrays,
// objects). One codec serves every operation, result and delivery of the spec, including
// those a later protocol adds, so the transport never has to learn a new operation.
//
// The decoder is the broker's first line of defence: it reads bytes the broker has already
// copied out of the shared ring into private memory, and trusts no length or count in them.
// Every length is checked against the bytes that remain, every count is bounded by them (each
// item takes at least one byte), nesting is bounded, and a key never reaches an object's
// prototype. A malformed value is reported, never thrown past the decoder.
//
// The hot values cost no per-character work: the spec's own words (operation names, error codes,
// kinds, rights, notice types) travel as one-byte atoms and decode to the table's own strings,
// and the broker's reader turns bytes straight into the base64 the bus keeps (one native pass,
// no intermediate copy).
import { ERROR_CODES } from '../../spec/registry/errors';
import { NOTICES } from '../../spec/registry/notices';
import { OPERATIONS } from '../../spec/registry/operations';

/** Value tags. */
const T_NULL = 0,
  T_FALSE = 1,
  T_TRUE = 2,
  T_I32 = 3,
  T_F64 = 4,
  T_STRING = 5,
  T_BYTES = 6,
  T_ARRAY = 7,
  T_OBJECT = 8,
  T_ATOM = 9;

/** A key given by its bytes rather than its number in KEYS. */
const KEY_TEXT = 0xff;

/** Deepest nesting a value may have (a spec operation needs 4: op, message, transfers, a transfer). */
export const MAX_DEPTH = 8;

/** Strings up to this many bytes are encoded and decoded in JavaScript when they are ASCII. */
const SHORT_STRING_BYTES = 32;

/** Longest key given by its bytes. */
const MAX_KEY_BYTES = 64;

/**
 * The field names of the spec's operations, results, deliveries and notices, each sent as one
 * byte. A key not listed travels as its bytes, so a field a later protocol adds still crosses.
 */
const KEYS: readonly string[] = [
  'op',
  'peer',
  'handle',
  'handles',
  'rights',
  'badge',
  'message',
  'segments',
  'transfers',
  'move',
  'timeoutMs',
  'max',
  'credentials',
  'acceptsHandles',
  'derivedCount',
  'other',
  'ok',
  'value',
  'error',
  'pending',
  'ticket',
  'result',
  'deliveries',
  'kind',
  'node',
  'payload',
  'replyHandle',
  'name',
  'state',
  'notice',
  'reply',
  'skipped',
  'revoked',
  'same',
  'uid',
  'gid',
  'pid',
  'bootstrap',
  'fromPeer',
  'nowMs',
  'ms',
  'type',
];
const KEY_IDS = new Map<string, number>(KEYS.map((k, i) => [k, i]));
if (KEYS.length > 64) throw new Error("codec: the key table outgrew the decoder's 64-bit record of keys seen");

/**
 * String values sent as one byte (T_ATOM, then the index): the spec's words, from its registries,
 * so both sides of a ring built from one spec agree on them. Any other string travels as text.
 */
const ATOMS: readonly string[] = [
  ...new Set([
    ...OPERATIONS.map((o) => o.name),
    ...ERROR_CODES,
    ...NOTICES.map((n) => n.type),
    'message',
    'call',
    'reply',
    'notice',
    'node',
    'send',
    'grant',
  ]),
].slice(0, 256);
const ATOM_IDS = new Map<string, number>(ATOMS.map((a, i) => [a, i]));
const LONGEST_ATOM = Math.max(...ATOMS.map((a) => a.length));

/** Stores a 32-bit word little-endian at buf[at] (byte stores: cheaper than Buffer's checked writers here). */
function put32(buf: Buffer, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

/** The little-endian 32-bit word at buf[at], as a signed int32 (the caller checked the bytes are there). */
function get32(buf: Buffer, at: number): number {
  return buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24);
}

/** Why a value could not be decoded. */
export class Malformed {
  constructor(readonly reason: string) {}
}

/**
 * Encodes values into a growable buffer. Numbers that are int32 take 5 bytes, others 9;
 * strings are UTF-8; a Uint8Array is sent as bytes. Undefined fields are left out, as JSON does.
 */
export class ValueWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private u32(v: number): void {
    put32(this.buf, this.pos, v);
    this.pos += 4;
  }

  write(v: unknown, depth = 0): void {
    if (depth > MAX_DEPTH) throw new RangeError('ValueWriter: the value nests too deeply');
    this.room(9);
    const buf = this.buf;
    switch (typeof v) {
      case 'number':
        if ((v | 0) === v && !(v === 0 && 1 / v < 0)) {
          buf[this.pos++] = T_I32;
          put32(buf, this.pos, v);
          this.pos += 4;
        } else {
          buf[this.pos++] = T_F64;
          buf.writeDoubleLE(v, this.pos);
          this.pos += 8;
        }
        return;
      case 'string':
        this.string(v);
        return;
      case 'boolean':
        buf[this.pos++] = v ? T_TRUE : T_FALSE;
        return;
      case 'object':
        break;
      default:
        buf[this.pos++] = T_NULL; // undefined inside an array, as JSON writes it
        return;
    }
    if (v === null) {
      buf[this.pos++] = T_NULL;
      return;
    }
    if (v instanceof Uint8Array) {
      buf[this.pos++] = T_BYTES;
      this.u32(v.length);
      this.room(v.length);
      this.buf.set(v, this.pos);
      this.pos += v.length;
      return;
    }
    if (Array.isArray(v)) {
      buf[this.pos++] = T_ARRAY;
      this.u32(v.length);
      for (let i = 0; i < v.length; i++) this.write(v[i], depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    buf[this.pos++] = T_OBJECT;
    const countAt = this.pos;
    this.u32(0);
    let count = 0;
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
      const field = o[k];
      if (field === undefined) continue;
      this.key(k);
      this.write(field, depth + 1);
      count++;
    }
    put32(this.buf, countAt, count);
  }

  private key(k: string): void {
    const id = KEY_IDS.get(k);
    this.room(3 + 3 * k.length);
    if (id !== undefined) {
      this.buf[this.pos++] = id;
      return;
    }
    this.buf[this.pos++] = KEY_TEXT;
    const n = this.buf.write(k, this.pos + 1, 'utf8');
    if (n > MAX_KEY_BYTES) throw new RangeError(`ValueWriter: a key longer than ${MAX_KEY_BYTES} bytes`);
    this.buf[this.pos] = n;
    this.pos += 1 + n;
  }

  /** Writes s (length, then bytes) when it is ASCII; false, writing nothing, when it is not. */
  private ascii(s: string): boolean {
    const buf = this.buf;
    const at = this.pos + 4;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    put32(buf, this.pos, s.length);
    this.pos = at + s.length;
    return true;
  }

  private string(s: string): void {
    this.room(5 + 3 * s.length);
    if (s.length <= LONGEST_ATOM) {
      const atom = ATOM_IDS.get(s);
      if (atom !== undefined) {
        this.buf[this.pos++] = T_ATOM;
        this.buf[this.pos++] = atom;
        return;
      }
    }
    this.buf[this.pos++] = T_STRING;
    if (s.length <= SHORT_STRING_BYTES && this.ascii(s)) return;
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    put32(this.buf, this.pos, n);
    this.pos += 4 + n;
  }
}

/**
 * Decodes one value from bytes [start, end) of a private buffer. Never throws on any input:
 * `read` returns the value or a Malformed saying why.
 */
export class ValueReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  private failure: string | null = null;

  /**
   * With `bytesAsBase64`, bytes decode to their base64 text (what the bus keeps for a payload
   * segment, SEND-2) instead of a Uint8Array copy.
   */
  constructor(private readonly options: { bytesAsBase64?: boolean } = {}) {}

  read(buf: Buffer, start: number, end: number): unknown {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.failure = null;
    const v = this.value(0);
    if (this.failure === null && this.pos !== this.end) this.fail('bytes after the value');
    return this.failure === null ? v : new Malformed(this.failure);
  }

  private fail(reason: string): null {
    this.failure ??= reason;
    return null;
  }

  private left(): number {
    return this.end - this.pos;
  }

  private u32(): number {
    if (this.left() < 4) return this.fail('truncated') ?? 0;
    const v = get32(this.buf, this.pos) >>> 0;
    this.pos += 4;
    return v;
  }

  private value(depth: number): unknown {
    if (this.left() < 1) return this.fail('truncated');
    const tag = this.buf[this.pos++];
    switch (tag) {
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_I32: {
        if (this.left() < 4) return this.fail('truncated');
        const v = get32(this.buf, this.pos);
        this.pos += 4;
        return v;
      }
      case T_F64: {
        if (this.left() < 8) return this.fail('truncated');
        const v = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
      }
      case T_STRING:
      case T_BYTES: {
        const n = this.u32();
        if (this.failure !== null) return null;
        if (n > this.left()) return this.fail(`a length of ${n} bytes with ${this.left()} left`);
        const at = this.pos;
        this.pos += n;
        if (tag === T_STRING)
          return n <= SHORT_STRING_BYTES ? this.shortString(at, n) : this.buf.toString('utf8', at, at + n);
        if (this.options.bytesAsBase64) return this.buf.toString('base64', at, at + n);
        // Bytes are copied out of the decode buffer, which is reused for the next request.
        const bytes = new Uint8Array(n);
        bytes.set(this.buf.subarray(at, at + n));
        return bytes;
      }
      case T_ATOM: {
        if (this.left() < 1) return this.fail('truncated');
        const id = this.buf[this.pos++];
        return id < ATOMS.length ? ATOMS[id] : this.fail(`unknown atom number ${id}`);
      }
      case T_ARRAY:
        return this.array(depth);
      case T_OBJECT:
        return this.object(depth);
      default:
        return this.fail(`unknown tag ${tag}`);
    }
  }

  /** A short string: ASCII decoded here (a call into Buffer costs more than the loop), anything else as UTF-8. */
  private shortString(at: number, n: number): string {
    const buf = this.buf;
    let out = '';
    for (let i = at; i < at + n; i++) {
      const c = buf[i];
      if (c >= 0x80) return buf.toString('utf8', at, at + n);
      out += String.fromCharCode(c);
    }
    return out;
  }

  private array(depth: number): unknown {
    if (depth >= MAX_DEPTH) return this.fail('nested too deeply');
    const n = this.u32();
    if (this.failure !== null) return null;
    if (n > this.left()) return this.fail(`a count of ${n} items with ${this.left()} bytes left`);
    const out: unknown[] = [];
    for (let i = 0; i < n && this.failure === null; i++) out.push(this.value(depth + 1));
    return out;
  }

  private object(depth: number): unknown {
    if (depth >= MAX_DEPTH) return this.fail('nested too deeply');
    const n = this.u32();
    if (this.failure !== null) return null;
    if (n > this.left() / 2) return this.fail(`a count of ${n} fields with ${this.left()} bytes left`);
    const out: Record<string, unknown> = {};
    // Keys seen, by number (KEYS has fewer than 64): a duplicate is found without a property
    // lookup, unless a key given as text (which may spell a numbered one) came before.
    let seenLow = 0,
      seenHigh = 0,
      anyText = false;
    for (let i = 0; i < n && this.failure === null; i++) {
      const keyId = this.left() > 0 ? this.buf[this.pos] : -1;
      const k = this.key();
      if (k === null) break;
      const v = this.value(depth + 1);
      let twice: boolean;
      if (keyId === KEY_TEXT) {
        anyText = true;
        twice = Object.prototype.hasOwnProperty.call(out, k);
      } else {
        if (keyId < 32) {
          twice = (seenLow & (1 << keyId)) !== 0;
          seenLow |= 1 << keyId;
        } else {
          twice = (seenHigh & (1 << (keyId - 32))) !== 0;
          seenHigh |= 1 << (keyId - 32);
        }
        if (!twice && anyText) twice = Object.prototype.hasOwnProperty.call(out, k);
      }
      if (twice) return this.fail(`the field ${JSON.stringify(k)} twice`);
      // An own property whatever the key, so "__proto__" never reaches the prototype.
      if (k === '__proto__')
        Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  }

  private key(): string | null {
    if (this.left() < 1) return this.fail('truncated');
    const id = this.buf[this.pos++];
    if (id !== KEY_TEXT) return id < KEYS.length ? KEYS[id] : this.fail(`unknown key number ${id}`);
    if (this.left() < 1) return this.fail('truncated');
    const n = this.buf[this.pos++];
    if (n > MAX_KEY_BYTES || n > this.left()) return this.fail(`a key of ${n} bytes`);
    const k = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return k;
  }
}
