// The broker: a bus owned by one process that serves mutually distrusting peer processes, each of
// which maps only its own segment (DESIGN.md). Broker is the owner's side (a thread that owns the
// bus and serves every peer's rings, a Unix socket that seats processes by their kernel identity);
// connectBroker / BrokerPeer is a peer process's side.
export { Broker, type BrokerOptions, type Admission, type KernelIdentity, type Handshake, type Seat } from './server';
export { connectBroker, BrokerPeer, type BrokerPeerOptions, type PeerRequest, type PeerWaits } from './peer';
export { zeroTimes, type BrokerBusOptions, type BrokerTimes } from './core';
export type { SessionCounters } from './session';
export { BROKER_SPIN_POLICY, type SpinOptions } from './spin';
export { segmentLayout, maxRequestBytes, type SegmentLayout } from './layout';
