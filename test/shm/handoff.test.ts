// The ReplyRecv hand-off when the server sleeps: a filled mailbox bumps the server's wake word
// only when the server announced itself as a sleeper (DESIGN.md "Hand-off"), so with spin 0
// (every wait sleeps) each hand-off must still wake it. Uses the roles of worker.ts.
import * as assert from 'assert';
import * as path from 'path';
import { once } from 'events';
import type { Worker } from 'worker_threads';
import { ShmBus } from '../../backends/shm';
import { MB_STATE } from '../../backends/shm/layout';
import { PREFETCH_ENV } from '../../backends/shm/prefetch';
import { nativeAvailability } from '../../native';

const WORKER = path.join(__dirname, 'worker.js');
const cred = (pid: number) => ({ uid: 1000, gid: 1000, pid });

function collector(w: Worker) {
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  w.on('message', (m) => {
    const f = waiters.shift();
    if (f) f(m);
    else queue.push(m);
  });
  const exited = once(w, 'exit');
  const next = <T>() =>
    queue.length > 0
      ? Promise.resolve(queue.shift() as T)
      : new Promise<T>((res) => waiters.push(res as (m: unknown) => void));
  return { next, exited };
}

type Grant = { from: number; handle: number; rights: 'send'[] }[];

/** A bus whose server worker answers calls by ReplyRecv (worker.ts handoffServer), and a grant to call it. */
async function handOffServer(spin: number) {
  const bus = ShmBus.create({ limits: { maxPeers: 8, maxHandlesPerPeer: 64 }, spin });
  const server = bus.spawnPeer(WORKER, { credentials: cred(1), workerData: { role: 'handoffServer', views: false } });
  const s = collector(server.worker);
  const { node } = await s.next<{ node: number }>();
  const grant: Grant = [{ from: server.peer, handle: node, rights: ['send'] }];
  return { bus, server, s, grant };
}

/** Stops handOffServer's server (a 'stop' message from a peer of its own, closed after) and returns its account. */
async function stopServer(bus: ShmBus, s: ReturnType<typeof collector>, grant: Grant) {
  const me = bus.attach(cred(99), grant);
  const stopped = s.next<{ calls: number; handedOff: number }>();
  me.send(me.bootstrap[0], { payload: 'stop' });
  const st = await stopped;
  me.close();
  return st;
}

describe('shm hand-off to a sleeping server', function () {
  this.timeout(60_000);

  it('with spin 0 every call handed off to a server asleep in ReplyRecv wakes it and gets its own reply [CALL-1, CALL-3, CALL-6, RECV-1]', async () => {
    const { bus, s, grant } = await handOffServer(0);
    const clients = [0, 1].map((i) =>
      bus.spawnPeer(WORKER, {
        credentials: cred(10 + i),
        bootstrap: grant,
        workerData: { role: 'fastClient', calls: 1500 },
      }),
    );
    const cs = clients.map((c) => collector(c.worker));
    assert.deepStrictEqual(
      (await Promise.all(cs.map((c) => c.next<{ bad: number }>()))).map((r) => r.bad),
      [0, 0],
    );
    const st = await stopServer(bus, s, grant);
    assert.strictEqual(st.calls, 3000);
    assert.ok(st.handedOff > 0, 'no delivery was handed off');
    await Promise.all([s, ...cs].map((c) => c.exited));
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it("spinning callers get their own replies whether they prefetch the next call's lines for writing or only read them ahead, alone or contending [CALL-1, CALL-3, CALL-6]", async () => {
    // Three clients of one server: one prefetching (where the addon loads), one with the
    // prefetches turned off, then both at once, so that contended acquisitions send the
    // prefetching one down the read-ahead path as well.
    const { bus, s, grant } = await handOffServer(50);
    const client = (pid: number, prefetch: boolean, calls: number) => {
      const c = bus.spawnPeer(WORKER, {
        credentials: cred(pid),
        bootstrap: grant,
        worker: { env: { ...process.env, [PREFETCH_ENV]: prefetch ? '' : 'off' } },
        workerData: { role: 'fastClient', calls },
      });
      return collector(c.worker);
    };
    type Done = { bad: number; prefetches: boolean };
    const native = nativeAvailability().available;
    const alone = [client(10, true, 3000)];
    const a = await alone[0].next<Done>();
    const off = [client(11, false, 3000)];
    const b = await off[0].next<Done>();
    assert.deepStrictEqual(
      [a, b],
      [
        { done: true, bad: 0, prefetches: native },
        { done: true, bad: 0, prefetches: false },
      ],
    );
    const both = [client(12, true, 3000), client(13, true, 3000)];
    const results = await Promise.all(both.map((c) => c.next<Done>()));
    assert.deepStrictEqual(
      results.map((r) => r.bad),
      [0, 0],
    );
    assert.strictEqual((await stopServer(bus, s, grant)).calls, 12_000);
    await Promise.all([s, ...alone, ...off, ...both].map((c) => c.exited));
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it('a message too large for the mailbox, sent while the server sleeps in ReplyRecv, is queued and wakes it [RECV-1, SEND-1]', async () => {
    const { bus, server, s, grant } = await handOffServer(0);
    const me = bus.attach(cred(99), grant);
    // One call answered with ReplyRecv: the server then waits with its mailbox registered (and
    // nothing else happens on the bus: a close, say, would wake it and end the registration).
    const out = new Uint8Array(64);
    assert.strictEqual(me.fast.callBytesSync(me.bootstrap[0], Buffer.from('ping'), out, 10_000), 4);
    const mailbox = bus.core.mailboxAt(bus.slotOf(server.peer)!);
    while (Atomics.load(bus.core.int32, mailbox + MB_STATE) !== 1) await new Promise((r) => setTimeout(r, 1));
    // Over the mailbox's payload size: it cannot be handed off, so only the wake word can end the wait.
    me.send(me.bootstrap[0], { payload: new Uint8Array(4 * 1024) });
    const stopped = s.next<{ messages: number; emptyWaits: number; calls: number }>();
    me.send(me.bootstrap[0], { payload: 'stop' });
    const st = await stopped;
    assert.deepStrictEqual([st.calls, st.messages, st.emptyWaits], [1, 1, 0]);
    me.close();
    await s.exited;
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });
});
