// Joining a bus from another thread with the descriptor its owner handed out
// (ShmBus.attachDescriptor, spawnPeer). Nothing in a descriptor is trusted but its
// buffer: the layout is read from the buffer's header, the thread token from the
// peer's record, and the seat is taken only with its key (whose SHA-256 the bus
// recorded at attach) and only once. A descriptor made up, or one naming another
// peer's seat, fails INVALID_ARGUMENT and changes nothing.
import type { HandleName } from '../../spec/types';
import * as rules from '../../model/rules';
import { MALFORMED, readNameList, TesseraError } from '../common';
import { BusCore } from './core';
import * as layout from './layout';
import { layoutOf } from './layout';
import { seatKeyHash, type PeerDescriptor } from './bus';
import { PeerSeat } from './seat';
import { ShmPeer } from './peer';
import { waitingOfBus, type Waiting } from './waiting';

// Other modules' constants as this module's own: the JIT folds these, where it would load a
// property of the other module's exports on every use (a hot path reads hundreds).
const { P_ID, P_LOCK_WAITING, P_SEAT, P_SEAT_KEY_HASH, P_TOKEN, P_WORDS, SEAT_KEY_HASH_WORDS } = layout;
const { isName } = rules;

const SEAT_KEY = /^[0-9a-f]{32}$/;

function refuse(): never {
  throw new TesseraError('INVALID_ARGUMENT', 'joinBus');
}

/** The descriptor's fields, each read once; refuses one that is not of its shape. */
function readDescriptor(d: unknown): Omit<PeerDescriptor, 'bootstrap'> & { bootstrap: HandleName[] } {
  if (typeof d !== 'object' || d === null) refuse();
  let fields: Record<string, unknown>;
  try {
    const { sab, slot, id, seatKey, bootstrap, spin } = d as Record<string, unknown>;
    fields = { sab, slot, id, seatKey, bootstrap, spin };
  } catch {
    return refuse();
  }
  const { sab, slot, id, seatKey, spin } = fields;
  if (!(sab instanceof SharedArrayBuffer) || !isName(slot) || !isName(id) || id < 1) refuse();
  if (typeof seatKey !== 'string' || !SEAT_KEY.test(seatKey)) refuse();
  if (typeof spin !== 'number' || !(spin >= 0 && spin <= 1e6)) refuse();
  const names = new Float64Array(Array.isArray(fields.bootstrap) ? fields.bootstrap.length : 0);
  const n = readNameList(fields.bootstrap, undefined, names.length, names);
  if (n === MALFORMED || !names.every(isName)) refuse();
  return { sab, slot, id, seatKey, spin, bootstrap: Array.from(names) };
}

/**
 * Join a bus from a worker thread, or from another process that mapped the bus's segment
 * (processes.ts), with the descriptor its owner attached for it. `waiting`: how this thread
 * sleeps and wakes others; by default what the bus was made for (its header says: Atomics
 * between threads, futex calls between processes).
 */
export function joinBus(descriptor: PeerDescriptor, options: { waiting?: Waiting } = {}): ShmPeer {
  const d = readDescriptor(descriptor);
  const layout = layoutOf(d.sab);
  if (layout === null || d.slot >= layout.peers) refuse();
  const probe = new Int32Array(d.sab);
  const p = layout.peerBase + d.slot * P_WORDS;
  if (Atomics.load(probe, p + P_ID) !== d.id || Atomics.load(probe, p + P_SEAT) !== d.id) refuse();
  const hash = seatKeyHash(d.seatKey);
  for (let w = 0; w < SEAT_KEY_HASH_WORDS; w++) if (Atomics.load(probe, p + P_SEAT_KEY_HASH + w) !== hash[w]) refuse();
  // Take the seat: only while it is still issued to this peer (ids are never reused, PEER-1), and only once.
  if (Atomics.compareExchange(probe, p + P_SEAT, d.id, -d.id) !== d.id) refuse();
  // Journal area 1 + slot: this thread's own undo journal stays in its own cache (DESIGN.md).
  const core = new BusCore(d.sab, layout, probe[p + P_TOKEN], 1 + d.slot, options.waiting ?? waitingOfBus(probe));
  core.busLock.announceAt = p + P_LOCK_WAITING;
  return new ShmPeer(new PeerSeat(core, d.slot, d.id, d.spin), d.bootstrap, null);
}
