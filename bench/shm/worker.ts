// Worker roles of the shm benchmarks. Hot loops are plain named functions
// without await or allocation (issue: 2.5x slower otherwise).
import { parentPort, workerData } from 'worker_threads';
import { joinBus, createReceiveBatch, type PeerDescriptor, type ShmPeer, type ReceiveBatch } from '../../backends/shm';

const { tessera, data } = workerData as { tessera: PeerDescriptor; data: Record<string, number | string> };
const peer = joinBus(tessera);

function server(p: ShmPeer): void {
  const node = p.createNode();
  parentPort!.postMessage({ node });
  const batch = createReceiveBatch(64, 64 * 1024);
  const reply = new Uint8Array(data.size as number);
  for (;;) {
    const n = p.receiveBatchSync(batch, 64, 60_000);
    for (let i = 0; i < n; i++) {
      if (batch.kind[i] === 2) p.replyBytes(batch.replyHandle[i], reply);
      else if (batch.kind[i] === 1) { parentPort!.postMessage({ sleeps: p.sleeps }); p.close(); return; }
    }
  }
}

function client(p: ShmPeer): void {
  const iterations = data.iterations as number, warmup = data.warmup as number;
  const msg = new Uint8Array(data.size as number), out = new Uint8Array(data.size as number);
  const h = p.bootstrap[0];
  for (let i = 0; i < warmup; i++) p.callBytesSync(h, msg, out);
  const sleeps0 = p.sleeps;
  const samples = new Float64Array(Math.ceil(iterations / 4));
  let ns = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    if ((i & 3) === 0) {
      const a = process.hrtime.bigint();
      p.callBytesSync(h, msg, out);
      samples[ns++] = Number(process.hrtime.bigint() - a);
    } else p.callBytesSync(h, msg, out);
  }
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  parentPort!.postMessage({ samples: samples.subarray(0, ns), elapsedNs, sleeps: p.sleeps - sleeps0 });
  p.close();
}

// Both sinks count from 0 across the warm-up and measured phases (a batch may straddle them).
let got = 0;

function sinkBatch(p: ShmPeer, batch: ReceiveBatch, expect: number): void {
  while (got < expect) got += p.receiveBatchSync(batch, 256, 60_000);
}

function sinkObjects(p: ShmPeer, expect: number): void {
  while (got < expect) {
    const ds = p.receiveSync({ max: 256, timeoutMs: 60_000 });
    for (const d of ds) {
      if (d.kind !== 'message') continue;
      got++;
      for (const h of d.handles) if (h.name !== null) p.release(h.name);
    }
  }
}

function sink(p: ShmPeer): void {
  const nodes: number[] = [];
  for (let i = 0; i < ((data.nodes as number) ?? 1); i++) nodes.push(p.createNode());
  parentPort!.postMessage({ nodes });
  const expect = data.expect as number, warm = data.warmupExpect as number;
  const batch = createReceiveBatch(256, Math.max(256 * 64, 8 * (data.size as number)));
  if (data.mode === 'objects') { sinkObjects(p, warm); } else sinkBatch(p, batch, warm);
  const sleeps0 = p.sleeps;
  if (data.mode === 'objects') sinkObjects(p, warm + expect); else sinkBatch(p, batch, warm + expect);
  const t = process.hrtime.bigint().toString();
  parentPort!.postMessage({ t, sleeps: p.sleeps - sleeps0 });
  p.close();
}

function sourceBytes(p: ShmPeer, h: number, msg: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) p.sendBytesSync(h, msg);
}

function sourceObjects(p: ShmPeer, h: number, msg: Uint8Array, n: number, withHandle: number): void {
  const message = withHandle >= 0 ? { payload: msg, handles: [{ handle: withHandle, rights: ['send' as const] }] } : { payload: msg };
  for (let i = 0; i < n;) {
    try { p.send(h, message); i++; } catch { sleepBriefly(p, h); }
  }
}

function sourceMulticast(p: ShmPeer, hs: number[], msg: Uint8Array, n: number): void {
  const message = { payload: msg };
  for (let i = 0; i < n;) {
    try { p.multicast(hs, message); i++; } catch { sleepBriefly(p, hs[0]); }
  }
}

function sleepBriefly(p: ShmPeer, h: number): void {
  const dest = p.core.destOfHandle(p.slot, h);
  p.sleeps++;
  p.core.sleepForRoom(dest, p.core.roomValue(dest), 1);
}

function source(p: ShmPeer): void {
  const count = data.count as number, warmup = data.warmup as number;
  const msg = new Uint8Array(data.size as number);
  const h = p.bootstrap[0];
  const mode = data.mode as string;
  const own = mode === 'handle' ? p.createNode() : -1;
  const run = (n: number) => {
    if (mode === 'bytes') sourceBytes(p, h, msg, n);
    else if (mode === 'mcast') sourceMulticast(p, p.bootstrap, msg, n);
    else sourceObjects(p, h, msg, n, own);
  };
  run(warmup);
  // wait for the sink to drain the warm-up so both start together
  const sleeps0 = p.sleeps;
  const t0 = process.hrtime.bigint().toString();
  run(count);
  parentPort!.postMessage({ t0, sleeps: p.sleeps - sleeps0 });
  p.close(); // handles still in flight to the sink now arrive flagged dead: it releases nothing then
}

const roles: Record<string, (p: ShmPeer) => void> = { server, client, sink, source };
roles[data.role as string](peer);
