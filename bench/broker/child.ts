/**
 * A peer process of the broker benchmark (forked from the compiled child.js): it connects to the
 * broker's socket, takes the seat made for its pid, and plays one role through its own
 * segment's rings (backends/broker BrokerPeer), then sends one { result } (or { error }).
 *   server: owns a node, serves calls (a receive that waits, then a reply posted without waiting
 *           for its answer, then the next receive);
 *   client: calls through the handle it was granted, one at a time, timing each round trip;
 *   source: sends one-way through the handle, blocking sends (SEND-7) pipelined up to a window;
 *   sink:   receives in batches until it has every message.
 */
import { connectBroker, type BrokerPeer, type PeerWaits } from '../../backends/broker';
import type { Delivery, HandleName, Invocation } from '../../spec/types';

export type BrokerChildTask =
  | { role: 'server' | 'sink'; socketPath: string; spinUs: number; count: number; batch?: number }
  | {
      role: 'client';
      socketPath: string;
      spinUs: number;
      msgSize: number;
      warmup: number;
      iterations: number;
      maxMs: number;
    }
  | { role: 'source'; socketPath: string; spinUs: number; msgSize: number; count: number; window: number };

export type FromBrokerChild =
  { ready: { peer: number; handle?: HandleName } } | { result: BrokerChildResult } | { error: string };

export interface BrokerChildResult {
  /** Round-trip samples, ns (client). */
  samples?: number[];
  /** process.hrtime.bigint() at the first send (source) or the last receive (sink), as a string. */
  t?: string;
  messages?: number;
  /** How the peer waited during its task. */
  waits?: PeerWaits;
}

const send = (m: FromBrokerChild): void => void process.send!(m);

function expectOk<V>(r: Invocation, what: string): V {
  if ('pending' in r || !r.ok) throw new Error(`${what}: ${JSON.stringify(r)}`);
  return r.value as V;
}

/** Deliveries of one receive that waits (RECV-2). */
function receive(p: BrokerPeer, max: number): Delivery[] {
  const result = p.invokeUntilDoneSync({ op: 'receive', max, timeoutMs: 3_600_000 });
  return expectOk<{ deliveries: Delivery[] }>(result, 'receive').deliveries;
}

function serve(p: BrokerPeer, count: number): BrokerChildResult {
  let served = 0;
  while (served < count) {
    for (const d of receive(p, 16)) {
      if (d.kind !== 'call') continue;
      p.post({ op: 'reply', handle: d.replyHandle, message: { segments: [Buffer.from(d.payload, 'base64')] } });
      served++;
    }
  }
  return { messages: served };
}

function client(p: BrokerPeer, handle: HandleName, t: Extract<BrokerChildTask, { role: 'client' }>): BrokerChildResult {
  const payload = new Uint8Array(t.msgSize);
  const samples: number[] = [];
  const deadline = performance.now() + t.maxMs;
  for (let i = 0; i < t.warmup + t.iterations; i++) {
    const t0 = process.hrtime.bigint();
    p.callSync(handle, payload);
    const t1 = process.hrtime.bigint();
    if (i >= t.warmup) samples.push(Number(t1 - t0));
    if (i >= t.warmup && performance.now() > deadline) break;
  }
  return { samples };
}

function source(p: BrokerPeer, handle: HandleName, t: Extract<BrokerChildTask, { role: 'source' }>): BrokerChildResult {
  const payload = new Uint8Array(t.msgSize);
  const start = process.hrtime.bigint();
  const inFlight: number[] = [];
  const tickets: number[] = [];
  const settle = (id: number) => {
    const r = p.resultSync(id);
    if ('pending' in r) tickets.push(r.ticket);
    else expectOk(r, 'send');
  };
  for (let i = 0; i < t.count; i++) {
    inFlight.push(p.post({ op: 'send', handle, message: { segments: [payload] }, timeoutMs: 3_600_000 }));
    if (inFlight.length >= t.window) settle(inFlight.shift()!);
    while (tickets.length > 0) expectOk(p.waitCompletionSync(tickets.shift()!)!.result, 'blocked send');
  }
  while (inFlight.length > 0) settle(inFlight.shift()!);
  for (const k of tickets) expectOk(p.waitCompletionSync(k)!.result, 'blocked send');
  return { t: String(start), messages: t.count };
}

function sink(p: BrokerPeer, count: number, batch: number): BrokerChildResult {
  let got = 0;
  while (got < count) got += receive(p, batch).length;
  return { t: String(process.hrtime.bigint()), messages: got };
}

let peer: BrokerPeer | null = null;
let handle: HandleName | undefined;

process.on('message', (m: { connect?: { socketPath: string; spinUs: number; owner: boolean } } | BrokerChildTask) => {
  void (async () => {
    try {
      if ('connect' in m && m.connect) {
        peer = await connectBroker(m.connect.socketPath, { spinUs: m.connect.spinUs });
        if (m.connect.owner) {
          const node = expectOk<{ handle: HandleName }>(peer.invokeSync({ op: 'createNode' }), 'createNode').handle;
          handle = expectOk<{ handle: HandleName }>(
            peer.invokeSync({ op: 'mint', handle: node, rights: ['send'] }),
            'mint',
          ).handle;
        } else handle = peer.bootstrap[0];
        return send({ ready: { peer: peer.peer, handle } });
      }
      const t = m as BrokerChildTask;
      const p = peer!;
      Object.assign(p.waits, { spinsWon: 0, spinsLost: 0, sleeps: 0, wakes: 0 });
      const result: BrokerChildResult =
        t.role === 'server'
          ? serve(p, t.count)
          : t.role === 'sink'
            ? sink(p, t.count, t.batch ?? 64)
            : t.role === 'client'
              ? client(p, handle!, t)
              : source(p, handle!, t as Extract<BrokerChildTask, { role: 'source' }>);
      result.waits = { ...p.waits };
      send({ result });
    } catch (e) {
      send({ error: (e as Error)?.stack ?? String(e) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
