// The two byte rings of a segment (layout.ts): records of [length, tag | flags, id, aux] and a
// body, in 8-byte slots that never wrap (a pad record fills a ring's end). Positions are byte
// counts wrapping at 2^32; a ring's size is a power of two, so a position's slot is `pos & (size-1)`.
//
// Both sides keep their own position in private memory and only publish it. The reader copies
// every record out of the ring into private memory before anything reads its fields, so a
// writer changing the bytes afterwards changes nothing (no double fetch), and it trusts no word
// the other side wrote: a length, a tag or a published position that cannot be right makes the
// reader discard everything published so far (a frame error) instead of reading outside the
// record, the ring or the segment. The writer likewise computes its room from its own position,
// and treats a consumer position that cannot be right as a full ring.
import { align8, MORE, PAD_HEADER_BYTES, RECORD_HEADER_BYTES, TAG } from './layout';

/**
 * A record copied out of a ring: its header fields and its body in
 * `body[bodyStart .. bodyStart + bodyBytes)` (the reader's private copy; the reader reuses this
 * object and its buffer for the next record, so nothing is allocated per record).
 */
export interface RecordRef {
  tag: number;
  flags: number;
  id: number;
  aux: number;
  body: Buffer;
  bodyStart: number;
  bodyBytes: number;
}

/** What the reader found that cannot be a record: it discarded `bytes` bytes (everything published). */
export interface FrameError {
  frameError: string;
  bytes: number;
}

/** Records up to this many bytes are copied by a loop (a native copy's set-up costs more for them). */
const LOOP_COPY_BYTES = 256;

/** A fragment smaller than this is not written at a ring's end: the writer pads and starts over. */
const SMALLEST_FRAGMENT_BYTES = 64;

export class RingWriter {
  /** The next byte to write, as a wrapping count (this side's own copy; only published). */
  private tail: number;
  private readonly mask: number;
  /** The segment as a Buffer (a view, no copy). */
  private readonly shared: Buffer;
  private lastSrc: Uint8Array | null = null;
  private lastSrc32: Int32Array = new Int32Array(0);

  constructor(
    private readonly i32: Int32Array,
    private readonly u8: Uint8Array,
    private readonly offsetBytes: number,
    private readonly capacityBytes: number,
    private readonly tailIndex: number,
    private readonly headIndex: number,
  ) {
    this.tail = i32[tailIndex] >>> 0;
    this.mask = capacityBytes - 1;
    this.shared = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  }

  /** Bytes free, by the consumer's published head; 0 when that head cannot be right. */
  free(): number {
    const used = (this.tail - Atomics.load(this.i32, this.headIndex)) >>> 0;
    return used > this.capacityBytes ? 0 : this.capacityBytes - used;
  }

  /** Whether the consumer has taken everything published. */
  drained(): boolean {
    return Atomics.load(this.i32, this.headIndex) >>> 0 === this.tail;
  }

  /**
   * Writes one record of `bodyBytes` body bytes taken from src[start ..]: whole if it fits (a pad
   * first if the ring's end is too close), else, with `split`, as much as fits with MORE set.
   * Returns the body bytes written, -1 when the record could not be written; publish() makes
   * them visible.
   */
  write(
    tag: number,
    id: number,
    aux: number,
    src: Uint8Array,
    start: number,
    bodyBytes: number,
    split: boolean,
  ): number {
    let free = this.free();
    let pos = this.tail & this.mask;
    let toEnd = this.capacityBytes - pos;
    const whole = align8(RECORD_HEADER_BYTES + bodyBytes);
    // Start over at the ring's beginning when the record fits there and not before the end (or,
    // when splitting, when the end is too short to be worth a fragment).
    if (
      whole > toEnd &&
      free > toEnd &&
      (whole <= free - toEnd || (split && toEnd < RECORD_HEADER_BYTES + SMALLEST_FRAGMENT_BYTES))
    ) {
      this.pad(pos, toEnd);
      free -= toEnd;
      pos = 0;
      toEnd = this.capacityBytes;
    }
    const space = Math.min(free, toEnd);
    let n = bodyBytes;
    if (align8(RECORD_HEADER_BYTES + n) > space) {
      if (!split) return -1;
      n = (space - RECORD_HEADER_BYTES) & ~7;
      if (n < 8) return -1;
    }
    const at = this.offsetBytes + pos;
    const w = at >> 2;
    this.i32[w] = RECORD_HEADER_BYTES + n;
    this.i32[w + 1] = tag | (n < bodyBytes ? MORE : 0);
    this.i32[w + 2] = id;
    this.i32[w + 3] = aux;
    if (n > 0) {
      // Small aligned bodies word by word; larger ones by a native copy (from a Buffer without a view object).
      const to = at + RECORD_HEADER_BYTES;
      if (n <= LOOP_COPY_BYTES && (src.byteOffset & 3) === 0 && (start & 3) === 0) {
        // Word by word (the slot is 8-byte aligned and holds the body rounded up to 8 bytes).
        const src32 = this.words(src),
          from = start >> 2,
          dst = to >> 2,
          words = (n + 3) >> 2,
          i32 = this.i32;
        for (let i = 0; i < words; i++) i32[dst + i] = src32[from + i] | 0;
      } else if (Buffer.isBuffer(src)) src.copy(this.shared, to, start, start + n);
      else this.u8.set(src.subarray(start, start + n), to);
    }
    this.tail = (this.tail + align8(RECORD_HEADER_BYTES + n)) >>> 0;
    return n;
  }

  /** An Int32Array over src's bytes (cached: a writer encodes into one buffer over and over). */
  private words(src: Uint8Array): Int32Array {
    if (src !== this.lastSrc) {
      this.lastSrc = src;
      this.lastSrc32 = new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
    }
    return this.lastSrc32;
  }

  private pad(pos: number, bytes: number): void {
    const w = (this.offsetBytes + pos) >> 2;
    this.i32[w] = bytes;
    this.i32[w + 1] = TAG.PAD;
    this.tail = (this.tail + bytes) >>> 0;
  }

  /** Makes the records written so far visible to the consumer (one store, sequentially consistent). */
  publish(): void {
    Atomics.store(this.i32, this.tailIndex, this.tail | 0);
  }

  /** The largest body one record can carry in this ring. */
  get maxBodyBytes(): number {
    return this.capacityBytes - RECORD_HEADER_BYTES;
  }
}

export class RingReader {
  /** The next byte to read, as a wrapping count (this side's own copy; only published). */
  private head: number;
  private readonly mask: number;
  private scratch: Buffer;
  /** The scratch buffer as words (it starts on its own ArrayBuffer: aligned). */
  private scratch32: Int32Array;
  /** The ring's segment as a Buffer (a view, no copy), to copy records out without allocating. */
  private readonly shared: Buffer;
  private readonly record: RecordRef;
  /** The published tail as last read. */
  private tail = 0;

  constructor(
    private readonly i32: Int32Array,
    private readonly u8: Uint8Array,
    private readonly offsetBytes: number,
    private readonly capacityBytes: number,
    private readonly tailIndex: number,
    private readonly headIndex: number,
    /** The longest record accepted (a longer one is a frame error). */
    private readonly maxRecordBytes: number,
    /** The tags a record may carry (anything else is a frame error). */
    private readonly tags: readonly number[],
    /** Whether MORE may be set. */
    private readonly fragments: boolean,
  ) {
    this.head = i32[headIndex] >>> 0;
    this.mask = capacityBytes - 1;
    this.scratch = Buffer.from(new ArrayBuffer(Math.min(maxRecordBytes, 64 * 1024)));
    this.scratch32 = new Int32Array(this.scratch.buffer);
    this.shared = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    this.record = { tag: 0, flags: 0, id: 0, aux: 0, body: this.scratch, bodyStart: RECORD_HEADER_BYTES, bodyBytes: 0 };
  }

  /** Loads the producer's tail (once); whether anything is published beyond what was read. */
  poll(): boolean {
    this.tail = Atomics.load(this.i32, this.tailIndex) >>> 0;
    return this.tail !== this.head;
  }

  /** Whether the last poll() saw more than has been read since. */
  get pending(): boolean {
    return this.tail !== this.head;
  }

  /**
   * The next record published as of the last poll(), copied into private memory (valid until
   * the next call); null when there is none; a FrameError when the published bytes cannot be
   * records, after discarding them all.
   */
  next(): RecordRef | FrameError | null {
    for (;;) {
      const avail = (this.tail - this.head) >>> 0;
      if (avail === 0) return null;
      if (avail > this.capacityBytes || avail % 8 !== 0)
        return this.discard(
          `${avail} bytes published, which no sequence of records in a ${this.capacityBytes}-byte ring can be`,
        );
      const pos = this.head & this.mask;
      const at = this.offsetBytes + pos;
      // Each header word is read once, into a local; nothing below reads the ring's header again.
      const length = this.i32[at >> 2] >>> 0;
      const tagWord = this.i32[(at >> 2) + 1] >>> 0;
      const tag = tagWord & 0xff;
      const flags = tagWord & ~0xff;
      if (tag === TAG.PAD) {
        if (length !== this.capacityBytes - pos || length > avail || flags !== 0)
          return this.discard(`a pad record of ${length} bytes at ${pos}, which is not the rest of the ring`);
        this.head = (this.head + length) >>> 0;
        continue;
      }
      const slot = align8(length);
      if (
        !this.tags.includes(tag) ||
        (flags !== 0 && !(this.fragments && flags === MORE)) ||
        length < RECORD_HEADER_BYTES ||
        length > this.maxRecordBytes ||
        slot > avail ||
        pos + slot > this.capacityBytes
      )
        return this.discard(
          `a record at ${pos} with length ${length} and tag word 0x${tagWord.toString(16)} (${avail} bytes published)`,
        );
      // One copy out of shared memory; the header's id and aux are read from the copy.
      if (this.scratch.length < slot) {
        this.scratch = Buffer.from(new ArrayBuffer(Math.max(slot, 2 * this.scratch.length)));
        this.scratch32 = new Int32Array(this.scratch.buffer);
      }
      if (slot <= LOOP_COPY_BYTES) {
        // Word by word: a record's slot is 8-byte aligned in the ring and in the scratch buffer.
        const from = at >> 2,
          words = slot >> 2,
          src = this.i32,
          dst = this.scratch32;
        for (let i = 0; i < words; i++) dst[i] = src[from + i];
      } else this.shared.copy(this.scratch, 0, at, at + length);
      this.head = (this.head + slot) >>> 0;
      const r = this.record;
      r.tag = tag;
      r.flags = flags;
      r.id = this.scratch.readUInt32LE(8);
      r.aux = this.scratch.readUInt32LE(12);
      r.body = this.scratch;
      r.bodyBytes = length - RECORD_HEADER_BYTES;
      return r;
    }
  }

  private discard(why: string): FrameError {
    // What was published, as far as it can be bytes of this ring (a tail that lies says more).
    const bytes = Math.min((this.tail - this.head) >>> 0, this.capacityBytes);
    this.head = this.tail;
    return { frameError: why, bytes };
  }

  /** Publishes how far this side has read (the producer's room). */
  release(): void {
    Atomics.store(this.i32, this.headIndex, this.head | 0);
  }
}

export function isFrameError(r: RecordRef | FrameError | null): r is FrameError {
  return r !== null && 'frameError' in r;
}

/** The smallest record, a pad's header: what a ring's end may leave. */
export const MIN_RECORD_BYTES = PAD_HEADER_BYTES;
