// Deliveries in the spec's shape (DELIVER-1), built from a receive batch after the
// lock was released: the object API's receive and the in-process runner's.
import type { Delivery, ReceivedHandle } from '../../spec/types';
import { rightsOfBits } from '../common';
import { createReceiveBatch, type ReceiveBatch } from './batch';
import * as layout from './layout';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { ENTRY_CALL, ENTRY_NOTICE, KIND_REPLY, NOTICE_ABANDONED, NOTICE_DESTROYED, NOTICE_NO_SENDERS, NOTICE_ROOM } =
  layout;

/** RECV-3: the delivered state of a handle, by its number (ST_LIVE .. ST_ABANDONED). */
const HANDLE_STATES = ['live', 'revoked', 'dead', 'abandoned'] as const;

/** NOTICE-1: the type of a notice about a handle, by its number (NOTICE_DESTROYED ..). */
function handleNoticeType(type: number): 'node-destroyed' | 'revoked' | 'call-abandoned' | 'room' {
  return type === NOTICE_DESTROYED
    ? 'node-destroyed'
    : type === NOTICE_ABANDONED
      ? 'call-abandoned'
      : type === NOTICE_ROOM
        ? 'room'
        : 'revoked';
}

/** Spec deliveries from the first n of a copy-mode batch whose data is `data`, in the model's shape and key order. */
export function deliveriesOf(batch: ReceiveBatch, n: number, data: Buffer): Delivery[] {
  const out: Delivery[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = batch.kind[i];
    if (kind === ENTRY_NOTICE) {
      const type = batch.noticeType[i];
      out[i] =
        type === NOTICE_NO_SENDERS
          ? { kind: 'notice', notice: { type: 'no-senders', node: batch.node[i], derivedCount: batch.badge[i] } }
          : {
              kind: 'notice',
              notice: { type: handleNoticeType(type), handle: batch.node[i] },
            };
      continue;
    }
    const handles: ReceivedHandle[] = new Array(batch.handleCount[i]);
    for (let j = 0, h = batch.handleStart[i]; j < handles.length; j++, h++) {
      const state = batch.handleState[h];
      handles[j] = {
        name: state === 0 ? batch.handleName[h] : null,
        kind: batch.handleKind[h] === KIND_REPLY ? 'reply' : 'node',
        rights: rightsOfBits(batch.handleRights[h]),
        state: HANDLE_STATES[state],
      };
    }
    const length = batch.length[i];
    const payload = length === 0 ? '' : data.toString('base64', batch.offset[i], batch.offset[i] + length);
    const call = kind === ENTRY_CALL;
    const d: Record<string, unknown> =
      batch.credentials[i] === 1
        ? {
            kind: call ? 'call' : 'message',
            node: batch.node[i],
            badge: batch.badge[i],
            credentials: { uid: batch.uid[i], gid: batch.gid[i], pid: batch.pid[i], peerKey: batch.peerKey[i] },
            payload,
            handles,
          }
        : { kind: call ? 'call' : 'message', node: batch.node[i], badge: batch.badge[i], payload, handles };
    if (call) d.replyHandle = batch.replyHandle[i];
    out[i] = d as unknown as Delivery;
  }
  return out;
}

/** A copy-mode batch for deliveries as objects, grown (rarely) to what the next receive needs. */
export class DeliveryBuffer {
  private batch: ReceiveBatch | null = null;
  private data: Buffer | null = null;

  /** A batch of at least `max` deliveries, `bytes` of payloads and `handles` handles. */
  batchFor(max: number, bytes: number, handles: number): ReceiveBatch {
    const b = this.batch;
    if (b !== null && b.capacity >= max && b.dataCapacity >= bytes && b.handleCapacity >= handles) return b;
    const size = (want: number, have: number) => Math.max(want, 2 * have);
    this.batch = createReceiveBatch(size(max, b?.capacity ?? 32), size(bytes, b?.dataCapacity ?? 4096), {
      handles: size(handles, b?.handleCapacity ?? 64),
    });
    this.data = Buffer.from(this.batch.data.buffer, this.batch.data.byteOffset, this.batch.data.length);
    return this.batch;
  }

  /** The first n deliveries of the last batch. */
  deliveries(n: number): Delivery[] {
    return n === 0 ? [] : deliveriesOf(this.batch!, n, this.data!);
  }
}
