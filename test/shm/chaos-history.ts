// A chaos client with a history, run by a worker thread (worker.ts) or a process
// (process-child.ts): random operations through the public API (calls by the promise
// flavour, no timeouts, so the model explains every outcome), each one logged before it
// starts and after it returns into shared memory with stamps from one shared counter, so
// the log survives the end of its writer (terminate(), SIGKILL) and the test checks the
// whole history: one outcome per call, and linearizable against the model.
import { TesseraError, type ShmPeer } from '../../backends/shm';
import type { Delivery, Invocation, Operation, Result } from '../../spec/types';

export interface ChaosHistoryOptions {
  seed: number;
  /** Operations to run before closing. */
  ops: number;
  /** The log: JSON lines after a length word (shared memory, so it survives the end of its writer). */
  log: SharedArrayBuffer;
  /** Int32 words: [0] the shared clock, [1] the start signal, [2] a word nobody changes (pauses). */
  clock: SharedArrayBuffer;
  post(message: unknown): void;
  /** Atomics.wait between threads; the addon's futex wait between processes. */
  wait(words: Int32Array, index: number, value: number, timeoutMs: number): unknown;
}

export function runChaosHistory(peer: ShmPeer, o: ChaosHistoryOptions): void {
  const { post, wait } = o;
  const data = { seed: o.seed, ops: o.ops };
  const log = new Int32Array(o.log);
  const bytes = new Uint8Array(o.log);
  const clock = new Int32Array(o.clock);
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
  while (Atomics.load(clock, 1) === 0) wait(clock, 1, 0, 1000);
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
      if (rnd(8) === 0) wait(clock, 2, 0, 0.3);
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
