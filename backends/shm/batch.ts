// The receive batch of the fast receive path: preallocated parallel arrays, one
// element per delivery, and the handles that arrived, flattened. A batch is made
// only by createReceiveBatch, which fixes its capacities; the bus writes at most
// that many deliveries, handles and bytes into it, and its arrays cannot be
// swapped for others afterwards (a receive that wrote past an array would lose
// deliveries silently).
import { TesseraError } from '../common';
import * as rules from '../../model/rules';

// The model's shape checks as this module's own constants (the JIT inlines them, where it would load a property of the model's exports on every call).
const { isCount } = rules;

const ARRAY_FIELDS = [
  'kind',
  'node',
  'badge',
  'noticeType',
  'buf',
  'offset',
  'length',
  'replyHandle',
  'credentials',
  'uid',
  'gid',
  'pid',
  'peerKey',
  'handleCount',
  'handleStart',
  'handleName',
  'handleKind',
  'handleRights',
  'handleState',
  'data',
  'dataWords',
  'views',
  'capacity',
  'handleCapacity',
  'dataCapacity',
] as const;

export class ReceiveBatch {
  /** Deliveries in the batch after the last receive. */
  count = 0;
  /** Bytes of `data` used by the last receive. */
  dataUsed = 0;
  /** Deliveries it holds at most. */
  readonly capacity: number;
  /** Handles it holds at most (all its deliveries together). */
  readonly handleCapacity: number;
  /** Bytes of copied payloads it holds at most (a multiple of 4). */
  readonly dataCapacity: number;
  readonly kind: Int32Array; // 1 message, 2 call, 3 notice
  readonly node: Float64Array; // node name, or the notice's handle / node name
  readonly badge: Float64Array; // badge, or derivedCount of a no-senders notice
  readonly noticeType: Int32Array; // 1 node-destroyed, 2 revoked, 3 no-senders
  /** The payload of delivery i is buf[i].subarray(offset[i], offset[i] + length[i]). */
  readonly buf: Uint8Array[];
  readonly offset: Int32Array;
  readonly length: Int32Array;
  readonly replyHandle: Float64Array;
  /** CRED-1: 1 when delivery i carries the sender's credentials (then uid/gid/pid[i]). */
  readonly credentials: Int32Array;
  readonly uid: Float64Array;
  readonly gid: Float64Array;
  readonly pid: Float64Array;
  /** CRED-2: the sender's key, with its credentials. */
  readonly peerKey: Float64Array;
  readonly handleCount: Int32Array;
  /** The handles of delivery i are at handleStart[i] .. handleStart[i] + handleCount[i] - 1. */
  readonly handleStart: Int32Array;
  readonly handleName: Float64Array; // -1 for a handle that arrived dead or revoked (RECV-3)
  readonly handleKind: Int32Array; // 1 node, 2 reply
  readonly handleRights: Int32Array; // bit 1 send, bit 2 grant
  readonly handleState: Int32Array; // 0 live, 1 revoked, 2 dead
  /** Payloads copied out of the queue land here (copy mode, or a payload wrapped around the ring). */
  readonly data: Uint8Array;
  /** The same bytes as 32-bit words (copies of small payloads go word by word). */
  readonly dataWords: Int32Array;
  /**
   * Zero-copy mode: payloads are views into the bus's own queue memory, valid until this peer's
   * next receive (the bytes stay reserved until then, and count against nothing the spec limits).
   */
  readonly views: boolean;
  readonly #madeByCreateReceiveBatch = true;

  constructor(capacity: number, dataBytes: number, handleCapacity: number, views: boolean) {
    const data = new Uint8Array((dataBytes + 3) & ~3);
    this.capacity = capacity;
    this.handleCapacity = handleCapacity;
    this.dataCapacity = data.length;
    this.kind = new Int32Array(capacity);
    this.node = new Float64Array(capacity);
    this.badge = new Float64Array(capacity);
    this.noticeType = new Int32Array(capacity);
    this.buf = new Array<Uint8Array>(capacity).fill(data);
    this.offset = new Int32Array(capacity);
    this.length = new Int32Array(capacity);
    this.replyHandle = new Float64Array(capacity);
    this.credentials = new Int32Array(capacity);
    this.uid = new Float64Array(capacity);
    this.gid = new Float64Array(capacity);
    this.pid = new Float64Array(capacity);
    this.peerKey = new Float64Array(capacity);
    this.handleCount = new Int32Array(capacity);
    this.handleStart = new Int32Array(capacity);
    this.handleName = new Float64Array(handleCapacity);
    this.handleKind = new Int32Array(handleCapacity);
    this.handleRights = new Int32Array(handleCapacity);
    this.handleState = new Int32Array(handleCapacity);
    this.data = data;
    this.dataWords = new Int32Array(data.buffer);
    this.views = views;
    for (const field of ARRAY_FIELDS) Object.defineProperty(this, field, { writable: false, configurable: false });
  }

  /** Whether x is a batch made by createReceiveBatch (not an object shaped like one). */
  static is(x: unknown): x is ReceiveBatch {
    return typeof x === 'object' && x !== null && #madeByCreateReceiveBatch in x;
  }
}

/** Largest batch (deliveries or handles): far beyond any queue, and small enough to allocate. */
const MAX_BATCH = 1 << 20;
/** Largest data buffer of a batch. */
const MAX_BATCH_DATA_BYTES = 1 << 30;

/**
 * A batch for receiveBatchSync / replyBytesAndReceiveSync: `max` deliveries, `dataBytes` of copied
 * payloads, `handles` handles (default 8 per delivery); `views: true` hands out payloads as views into
 * the queue instead of copies. Throws INVALID_ARGUMENT for counts out of range.
 */
export function createReceiveBatch(
  max: number,
  dataBytes: number,
  options: { views?: boolean; handles?: number } = {},
): ReceiveBatch {
  const valid = typeof options === 'object' && options !== null;
  const views = valid ? options.views : undefined;
  const handles = valid ? options.handles : undefined;
  if (
    !valid ||
    !isCount(max) ||
    max < 1 ||
    max > MAX_BATCH ||
    !isCount(dataBytes) ||
    dataBytes > MAX_BATCH_DATA_BYTES ||
    (views !== undefined && typeof views !== 'boolean') ||
    (handles !== undefined && (!isCount(handles) || handles > MAX_BATCH))
  )
    throw new TesseraError('INVALID_ARGUMENT', 'createReceiveBatch');
  return new ReceiveBatch(max, dataBytes, handles ?? Math.min(8 * max, MAX_BATCH), views === true);
}
