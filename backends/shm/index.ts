// The shared-memory backend: the Tessera bus in one SharedArrayBuffer shared by
// worker threads, or in a memfd segment shared by OS processes (DESIGN.md). ShmBus
// is the owner's side; ShmPeer has the reference backend's shape (plus synchronous
// flavours for worker threads and processes), and its allocation-free fast paths are
// in `peer.fast`. Waiting and waking go through one small interface (waiting.ts):
// Atomics between threads, futex calls between processes.
export { TesseraError, type MessageInput, type BootstrapInput, type PayloadInput } from '../common';
export { ShmBus, type ShmBusOptions, type PeerDescriptor } from './bus';
export { joinBus } from './join';
export { ShmPeer } from './peer';
export { ShmFastPaths } from './fast';
export { createReceiveBatch, ReceiveBatch } from './batch';
export type { WaitStats } from './seat';
export type { ShmOptions } from './layout';
export { processWaiting, threadWaiting, type Waiting, type WaitOutcome } from './waiting';
export {
  joinSpawnedBus,
  offerSeat,
  PEER_V8_FLAGS,
  acceptsPeerV8Flags,
  takeSeat,
  seatOf,
  SEAT_ENV,
  type ProcessPeer,
  type Seat,
  type SpawnProcessOptions,
} from './processes';
