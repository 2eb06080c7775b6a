// Worker roles for the shm backend's thread tests (started compiled, from dist/).
import { parentPort, workerData } from 'worker_threads';
import { createReceiveBatch, joinBus, TesseraError, type PeerDescriptor } from '../../backends/shm';
import type { Delivery, Invocation, Operation, Result } from '../../spec/types';

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

// Chaos with a history: random operations through the public API (calls by the promise flavour, no
// timeouts, so the model explains every outcome), each one logged before it starts and after it
// returns into a SharedArrayBuffer with stamps from one shared counter, so the log survives
// terminate() and the main thread checks the whole history linearizable against the model.
function chaosHistory(): void {
  const log = new Int32Array(data.log as SharedArrayBuffer);
  const bytes = new Uint8Array(data.log as SharedArrayBuffer);
  const clock = new Int32Array(data.clock as SharedArrayBuffer);
  const stamp = () => Atomics.add(clock, 0, 1) + 1;
  const encoder = new TextEncoder();
  // Records are JSON lines after the length word; the length moves only after a whole record is written.
  const write = (record: unknown) => {
    const at = 4 + Atomics.load(log, 0);
    const { written } = encoder.encodeInto(JSON.stringify(record) + '\n', bytes.subarray(at));
    Atomics.store(log, 0, at - 4 + written!);
  };
  let seed = (data.seed as number) >>> 0;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  let id = 0;
  const calls: Promise<void>[] = [];
  let pendingCalls = 0,
    outcomes = 0,
    started = 0;
  /** Run one logged operation: `act` performs it through the API and returns its spec result. */
  const logged = (op: Operation, act: () => Invocation): Invocation => {
    const i = ++id;
    write({ i, op, call: stamp() });
    let r: Invocation;
    try {
      r = act();
    } catch (e) {
      if (!(e instanceof TesseraError)) throw e;
      r = { ok: false, error: e.code as never };
    }
    write({ i, invocation: r, return: stamp() });
    return r;
  };
  const me = peer.id;
  const targets = [...peer.bootstrap];
  const own = (
    logged({ op: 'createNode', peer: me }, () => ({ ok: true, value: { handle: peer.createNode() } })) as {
      value: { handle: number };
    }
  ).value.handle;
  targets.push(own);
  post({ node: own });
  while (Atomics.load(clock, 1) === 0) Atomics.wait(clock, 1, 0, 1000);
  const held: number[] = [];
  const minted: number[] = [];
  const replies: number[] = [];
  const ops = data.ops as number;
  const step = (n: number): void => {
    const r = rnd(100);
    const target = targets[rnd(targets.length)];
    const text = `w${me}.${n}`;
    if (r < 28) {
      const transfer = rnd(4) === 0 ? [{ handle: own, rights: ['send'] as 'send'[] }] : undefined;
      logged(
        {
          op: 'send',
          peer: me,
          handle: target,
          message: { segments: [b64(text)], ...(transfer ? { transfers: transfer } : {}) },
          timeoutMs: 0, // send never waits (TIME-4)
        },
        () => {
          peer.send(target, { payload: text, ...(transfer ? { handles: transfer } : {}) });
          return { ok: true, value: {} };
        },
      );
    } else if (r < 42 && pendingCalls < 6) {
      const i = ++id;
      const op: Operation = { op: 'call', peer: me, handle: target, message: { segments: [b64(text)] } };
      write({ i, op, call: stamp() });
      const before = peer.lastCallTicket;
      const p = peer.call(target, { payload: text });
      if (peer.lastCallTicket === before) {
        // It failed at once: the promise is rejected already (its error is the invocation's).
        calls.push(
          p.then(
            () => {
              throw new Error('a call that never started succeeded');
            },
            (e) => {
              if (!(e instanceof TesseraError)) throw e;
              write({ i, invocation: { ok: false, error: e.code }, return: stamp() });
            },
          ),
        );
        return;
      }
      write({ i, invocation: { pending: true, ticket: peer.lastCallTicket }, return: stamp() });
      pendingCalls++;
      started++;
      const settle = (result: Result) => {
        pendingCalls--;
        outcomes++;
        write({ i, outcome: result, completed: stamp() });
      };
      calls.push(
        p.then(
          (reply) => settle({ ok: true, value: { reply } }),
          (e) => {
            if (!(e instanceof TesseraError)) throw e;
            settle({ ok: false, error: e.code as never });
          },
        ),
      );
    } else if (r < 66) {
      const max = 1 + rnd(4);
      const got = logged({ op: 'receive', peer: me, max, timeoutMs: 0 }, () => ({
        ok: true,
        value: { deliveries: peer.tryReceive(max) },
      }));
      if ('pending' in got || !got.ok) return;
      for (const d of (got.value as { deliveries: Delivery[] }).deliveries) {
        if (d.kind === 'call') replies.push(d.replyHandle);
        if (d.kind !== 'notice')
          for (const h of d.handles) if (h.name !== null) (h.kind === 'reply' ? replies : held).push(h.name);
      }
      for (const h of held.splice(0)) targets.push(h);
    } else if (r < 80 && replies.length > 0) {
      const h = replies.splice(rnd(replies.length), 1)[0];
      if (rnd(6) > 0)
        logged({ op: 'reply', peer: me, handle: h, message: { segments: [b64(`re ${text}`)] } }, () => {
          peer.reply(h, { payload: `re ${text}` });
          return { ok: true, value: {} };
        });
      else
        logged({ op: 'release', peer: me, handle: h }, () => {
          peer.release(h);
          return { ok: true, value: {} };
        });
    } else if (r < 86) {
      const m = logged({ op: 'mint', peer: me, handle: target, rights: ['send'] }, () => ({
        ok: true,
        value: { handle: peer.mint(target, { rights: ['send'] }) },
      }));
      if (!('pending' in m) && m.ok) minted.push((m.value as { handle: number }).handle);
    } else if (r < 90 && minted.length > 0) {
      const h = minted[rnd(minted.length)];
      logged({ op: 'revoke', peer: me, handle: h }, () => ({ ok: true, value: { revoked: peer.revoke(h) } }));
    } else if (r < 95 && targets.length > 2) {
      const h = targets.splice(1 + rnd(targets.length - 1), 1)[0];
      if (h !== own)
        logged({ op: 'release', peer: me, handle: h }, () => {
          peer.release(h);
          return { ok: true, value: {} };
        });
      else targets.push(h);
    } else if (targets.length > 1) {
      const hs = [...new Set([targets[rnd(targets.length)], targets[rnd(targets.length)]])];
      logged({ op: 'multicast', peer: me, handles: hs, message: { segments: [b64(text)] } }, () => ({
        ok: true,
        value: { skipped: peer.multicast(hs, { payload: text }), full: [] }, // all or nothing: full is empty (MCAST-6)
      }));
    }
  };
  const loop = async () => {
    for (let n = 0; n < ops; n++) {
      step(n);
      // Now and then let call outcomes in, or pause a little (so the main thread's terminations land mid-run).
      if (rnd(3) === 0) await new Promise((r) => setImmediate(r));
      if (rnd(8) === 0) Atomics.wait(clock, 2, 0, 0.3);
    }
    logged({ op: 'close', peer: me }, () => {
      peer.close();
      return { ok: true, value: {} };
    });
    await Promise.all(calls);
    post({ done: true, calls: started, outcomes, pendingCalls });
  };
  loop().catch((e) => {
    throw e;
  });
}

// A server on the fast path: batch receive, and ReplyRecv (reply + hand-off) for the last call of a batch.
function handoffServer(): void {
  const node = peer.createNode();
  const node2 = peer.createNode();
  post({ node, node2 });
  const batch = createReceiveBatch(16, 4096, { views: data.views === true });
  const stats = { calls: 0, messages: 0, notices: 0, noSenders: 0, handlesLive: 0, handlesFlagged: 0 };
  let n = peer.fast.receiveBatchSync(batch, 16, 10_000);
  for (;;) {
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
  post({ done: true, bad });
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
