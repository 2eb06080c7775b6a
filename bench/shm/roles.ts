// Roles of the shm benchmarks' peers, run by a worker thread (worker.ts) or an OS process
// (process-child.ts). Hot loops are plain named functions without await or allocation
// (2.5x slower otherwise, as measured).
import { createReceiveBatch, TesseraError, type ShmPeer, type ReceiveBatch } from '../../backends/shm';

/** The role's parameters, and how it reports to the orchestrating thread (set once by runRole). */
let data: Record<string, number | string> = {};
let report: (message: unknown) => void = () => undefined;

/** What every role reports besides its own figures: how its waits ended, and lock contention. */
function waitStats(p: ShmPeer): { sleeps: number; spinsWon: number; spinsLost: number; lockContended: number } {
  const s = p.stats();
  return { sleeps: s.sleeps, spinsWon: s.spinsWon, spinsLost: s.spinsLost, lockContended: s.lockContended };
}

/** Answer calls until a message arrives: the last call of each batch is answered with ReplyRecv (hand-off). */
function serve(p: ShmPeer, batch: ReceiveBatch, reply: Uint8Array): void {
  let n = p.fast.receiveBatchSync(batch, 64, 60_000);
  for (;;) {
    let last = -1;
    for (let i = 0; i < n; i++) {
      if (batch.kind[i] === 1) return;
      if (batch.kind[i] === 2) {
        if (i === n - 1) last = i;
        else p.fast.replyBytes(batch.replyHandle[i], reply);
      }
    }
    if (last >= 0 && data.handoff === 0) {
      p.fast.replyBytes(batch.replyHandle[last], reply);
      last = -1;
    }
    n =
      last >= 0
        ? p.fast.replyBytesAndReceiveSync(batch.replyHandle[last], reply, batch, 64, 60_000)
        : p.fast.receiveBatchSync(batch, 64, 60_000);
  }
}

function server(p: ShmPeer): void {
  const node = p.createNode();
  report({ node });
  serve(p, createReceiveBatch(64, 64 * 1024), new Uint8Array(data.size as number));
  report(waitStats(p));
  p.close();
}

function callLoop(
  p: ShmPeer,
  h: number,
  msg: Uint8Array,
  out: Uint8Array,
  iterations: number,
  samples: Float64Array,
): number {
  let ns = 0;
  for (let i = 0; i < iterations; i++) {
    if ((i & 3) === 0) {
      const a = process.hrtime.bigint();
      p.fast.callBytesSync(h, msg, out);
      samples[ns++] = Number(process.hrtime.bigint() - a);
    } else p.fast.callBytesSync(h, msg, out);
  }
  return ns;
}

function client(p: ShmPeer): void {
  const iterations = data.iterations as number,
    warmup = data.warmup as number;
  const msg = new Uint8Array(data.size as number),
    out = new Uint8Array(data.size as number);
  const h = p.bootstrap[0];
  const scratch = new Float64Array(Math.ceil(warmup / 4) + 1);
  callLoop(p, h, msg, out, warmup, scratch);
  const before = waitStats(p);
  const samples = new Float64Array(Math.ceil(iterations / 4));
  const t0 = process.hrtime.bigint();
  const ns = callLoop(p, h, msg, out, iterations, samples);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const after = waitStats(p);
  report({
    samples: samples.subarray(0, ns),
    elapsedNs,
    sleeps: after.sleeps - before.sleeps,
    spinsWon: after.spinsWon - before.spinsWon,
    spinsLost: after.spinsLost - before.spinsLost,
    lockContended: after.lockContended - before.lockContended,
  });
  p.close();
}

// Both sinks count from 0 across the warm-up and measured phases (a batch may straddle them).
let got = 0;

function sinkBatch(p: ShmPeer, batch: ReceiveBatch, expect: number, local: Uint8Array): void {
  while (got < expect) {
    const n = p.fast.receiveBatchSync(batch, 256, 60_000);
    if (batch.views) {
      // Use each payload as the bare ring's consumer does: copy it out (here, outside the lock).
      for (let i = 0; i < n; i++) {
        const len = batch.length[i];
        if (len > 0) local.set(batch.buf[i].subarray(batch.offset[i], batch.offset[i] + len));
      }
    }
    got += n;
  }
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

/** As sinkObjects, but the handles of each receive batch are released with one releaseEach (one lock hold per batch). */
const releaseNames: number[] = [];
function sinkObjectsEach(p: ShmPeer, expect: number): void {
  while (got < expect) {
    const ds = p.receiveSync({ max: 256, timeoutMs: 60_000 });
    let k = 0;
    for (const d of ds) {
      if (d.kind !== 'message') continue;
      got++;
      for (const h of d.handles) if (h.name !== null) releaseNames[k++] = h.name;
    }
    if (k > 0) p.fast.releaseEach(releaseNames, k);
  }
}

function sink(p: ShmPeer): void {
  const nodes: number[] = [];
  for (let i = 0; i < ((data.nodes as number) ?? 1); i++) nodes.push(p.createNode());
  report({ nodes });
  const expect = data.expect as number,
    warm = data.warmupExpect as number;
  const size = data.size as number;
  const batch = createReceiveBatch(256, Math.max(256 * 64, 8 * size), { views: data.mode === 'views' });
  const local = new Uint8Array(size);
  const run = (n: number) =>
    data.mode === 'objects'
      ? sinkObjects(p, n)
      : data.mode === 'objectsEach'
        ? sinkObjectsEach(p, n)
        : sinkBatch(p, batch, n, local);
  run(warm);
  const before = waitStats(p);
  run(warm + expect);
  const t = process.hrtime.bigint().toString();
  const after = waitStats(p);
  report({
    t,
    sleeps: after.sleeps - before.sleeps,
    spinsWon: after.spinsWon - before.spinsWon,
    spinsLost: after.spinsLost - before.spinsLost,
    lockContended: after.lockContended - before.lockContended,
  });
  p.close();
}

function sourceBytes(p: ShmPeer, h: number, msg: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) p.fast.sendBytesSync(h, msg);
}

function sourceObjects(p: ShmPeer, h: number, msg: Uint8Array, n: number, withHandle: number): void {
  const message =
    withHandle >= 0 ? { payload: msg, handles: [{ handle: withHandle, rights: ['send' as const] }] } : { payload: msg };
  const wait = { timeoutMs: 60_000 };
  for (let i = 0; i < n; i++) p.sendSync(h, message, wait);
}

function sourceMulticast(p: ShmPeer, hs: number[], msg: Uint8Array, n: number): void {
  const message = { payload: msg };
  for (let i = 0; i < n;) {
    try {
      p.multicast(hs, message);
      i++;
    } catch (e) {
      if (!(e instanceof TesseraError && e.code === 'QUEUE_FULL')) throw e;
      p.fast.awaitRoom(hs[0], 50);
    }
  }
}

function source(p: ShmPeer): void {
  const count = data.count as number,
    warmup = data.warmup as number;
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
  const before = waitStats(p);
  const t0 = process.hrtime.bigint().toString();
  run(count);
  const after = waitStats(p);
  report({
    t0,
    sleeps: after.sleeps - before.sleeps,
    spinsWon: after.spinsWon - before.spinsWon,
    spinsLost: after.spinsLost - before.spinsLost,
    lockContended: after.lockContended - before.lockContended,
  });
  p.close(); // handles still in flight to the sink now arrive flagged dead: it releases nothing then
}

const roles: Record<string, (p: ShmPeer) => void> = { server, client, sink, source };

/** Run the role `role.role` on `peer`, reporting through `post`. */
export function runRole(peer: ShmPeer, role: Record<string, number | string>, post: (message: unknown) => void): void {
  data = role;
  report = post;
  roles[data.role as string](peer);
}
