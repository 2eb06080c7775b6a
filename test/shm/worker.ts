// Worker roles for the shm backend's thread tests (started compiled, from dist/).
import { parentPort, workerData } from 'worker_threads';
import { createReceiveBatch, joinBus, TesseraError, type PeerDescriptor } from '../../backends/shm';
import type { Delivery } from '../../spec/types';
import { runChaosHistory } from './chaos-history';
import { prefetchesNatively } from '../../backends/shm/prefetch';

const { tessera, data } = workerData as { tessera: PeerDescriptor; data: Record<string, unknown> };
const peer = joinBus(tessera);
const post = (m: unknown) => parentPort!.postMessage(m);

function text(d: { payload: string }): string {
  return Buffer.from(d.payload, 'base64').toString();
}

function echo(): void {
  const node = peer.createNode();
  post({ node });
  for (;;) {
    let ds: Delivery[];
    try {
      ds = peer.receiveSync({ max: 32, timeoutMs: 10_000 });
    } catch {
      return;
    }
    for (const d of ds) {
      if (d.kind === 'call') peer.reply(d.replyHandle, { payload: Buffer.from(d.payload, 'base64') });
      if (d.kind === 'message' && text(d) === 'stop') {
        peer.close();
        post({ done: true });
        return;
      }
    }
  }
}

function client(): void {
  const n = data.calls as number;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const msg = `${tessera.id}:${i}`;
    const r = peer.callSync(peer.bootstrap[0], { payload: msg }, { timeoutMs: 10_000 });
    if (text(r) !== msg) bad++;
  }
  peer.close();
  post({ done: true, bad });
}

function mcastReceive(): void {
  const node = peer.createNode();
  post({ node });
  const seen: string[] = [];
  const want = data.expect as number;
  while (seen.length < want) {
    for (const d of peer.receiveSync({ max: 64, timeoutMs: 10_000 })) if (d.kind === 'message') seen.push(text(d));
  }
  peer.close();
  post({ seen });
}

function mcastSend(): void {
  const n = data.count as number;
  let i = 0;
  while (i < n) {
    try {
      peer.multicast(peer.bootstrap, { payload: `${tessera.id}:${i}` });
      i++;
    } catch (e) {
      if (!(e instanceof TesseraError && e.code === 'QUEUE_FULL')) throw e;
    }
  }
  peer.close();
  post({ done: true });
}

// Chaos: random operations against the other workers' nodes for a while.
function chaos(): void {
  let seed = (data.seed as number) >>> 0;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const registry = peer.bootstrap[0];
  const own = peer.createNode();
  peer.send(registry, { handles: [{ handle: own, rights: ['send', 'grant'] }] });
  // the registry answers with handles to every chaos node
  let targets: number[] = [];
  while (targets.length === 0) {
    for (const d of peer.receiveSync({ max: 8, timeoutMs: 5000 }))
      if (d.kind === 'message' && d.handles.length > 0)
        targets = d.handles.map((h) => h.name!).filter((h) => h !== null);
  }
  post({ ready: true });
  const outcomes: Record<string, number> = {};
  let calls = 0;
  const until = Date.now() + (data.durationMs as number);
  const held: number[] = [];
  const count = (k: string) => {
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  };
  while (Date.now() < until) {
    const r = rnd(10);
    try {
      if (r < 3) {
        calls++;
        try {
          peer.callSync(targets[rnd(targets.length)], { payload: 'c' }, { timeoutMs: 20 });
          count('ok');
        } catch (e) {
          if (e instanceof TesseraError) count(e.code);
          else throw e;
        }
      } else if (r < 5) {
        peer.send(targets[rnd(targets.length)], {
          payload: 'm',
          handles: rnd(3) === 0 ? [{ handle: own, rights: ['send'] }] : [],
        });
      } else if (r < 6 && held.length > 0) {
        peer.release(held.splice(rnd(held.length), 1)[0]);
      } else {
        for (const d of peer.receiveSync({ max: 8, timeoutMs: 1 })) {
          if (d.kind === 'call') {
            if (rnd(5) > 0) peer.reply(d.replyHandle, { payload: 'r' });
            else peer.release(d.replyHandle);
          }
          if (d.kind === 'message') for (const h of d.handles) if (h.name !== null) held.push(h.name);
        }
      }
    } catch (e) {
      if (!(e instanceof TesseraError)) throw e;
      count(`op ${e.code}`);
    }
  }
  peer.close();
  post({ done: true, calls, outcomes });
}

function chaosHistory(): void {
  runChaosHistory(peer, {
    seed: data.seed as number,
    ops: data.ops as number,
    log: data.log as SharedArrayBuffer,
    clock: data.clock as SharedArrayBuffer,
    post,
    wait: (words, index, value, timeoutMs) => Atomics.wait(words, index, value, timeoutMs),
  });
}

// A server on the fast path: batch receive, and ReplyRecv (reply + hand-off) for the last call of a batch.
function handoffServer(): void {
  const node = peer.createNode();
  const node2 = peer.createNode();
  post({ node, node2 });
  const batch = createReceiveBatch(16, 4096, { views: data.views === true });
  const stats = { calls: 0, messages: 0, notices: 0, noSenders: 0, handlesLive: 0, handlesFlagged: 0, emptyWaits: 0 };
  let n = peer.fast.receiveBatchSync(batch, 16, 10_000);
  for (;;) {
    if (n === 0) stats.emptyWaits++; // a wait that ended at its deadline with nothing
    let last = -1;
    let lastReply = new Uint8Array(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < batch.handleCount[i]; j++) {
        const name = batch.handleName[batch.handleStart[i] + j];
        if (name >= 0) {
          stats.handlesLive++;
          peer.release(name);
        } else stats.handlesFlagged++;
      }
      if (batch.kind[i] === 3) {
        if (batch.noticeType[i] === 3) stats.noSenders++;
        else stats.notices++;
        continue;
      }
      const payload = Uint8Array.from(batch.buf[i].subarray(batch.offset[i], batch.offset[i] + batch.length[i]));
      if (batch.kind[i] === 1) {
        if (Buffer.from(payload).toString() === 'stop') {
          peer.close();
          post({ done: true, ...stats, handedOff: peer.stats().handedOff });
          return;
        }
        stats.messages++;
        continue;
      }
      stats.calls++;
      if (i === n - 1) {
        last = i;
        lastReply = payload;
      } else peer.fast.replyBytes(batch.replyHandle[i], payload);
    }
    n =
      last >= 0
        ? peer.fast.replyBytesAndReceiveSync(batch.replyHandle[last], lastReply, batch, 16, 10_000)
        : peer.fast.receiveBatchSync(batch, 16, 10_000);
  }
}

function fastClient(): void {
  const n = data.calls as number;
  const out = new Uint8Array(64);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const msg = Buffer.from(`${tessera.id}:${i}`);
    const len = peer.fast.callBytesSync(peer.bootstrap[0], msg, out, 10_000);
    if (Buffer.from(out.subarray(0, len)).toString() !== msg.toString()) bad++;
  }
  peer.close();
  post({ done: true, bad, prefetches: prefetchesNatively() });
}

function handleClient(): void {
  const n = data.calls as number;
  const own = peer.createNode();
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const msg = `${tessera.id}:${i}`;
    const r = peer.callSync(
      peer.bootstrap[0],
      { payload: msg, handles: [{ handle: own, rights: ['send'] }] },
      { timeoutMs: 10_000 },
    );
    if (text(r) !== msg) bad++;
  }
  peer.close();
  post({ done: true, bad });
}

const roles: Record<string, () => void> = {
  echo,
  client,
  mcastReceive,
  mcastSend,
  chaos,
  chaosHistory,
  handoffServer,
  fastClient,
  handleClient,
};
roles[data.role as string]();
