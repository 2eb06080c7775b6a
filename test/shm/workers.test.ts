// The shm backend across worker threads: sync API, real parallelism, one bus
// order for multicast, and peers that die mid-operation.
import * as assert from 'assert';
import * as path from 'path';
import { once } from 'events';
import type { Worker } from 'worker_threads';
import { ShmBus, TesseraError } from '../../backends/shm';
import { skipUnlessShmSpeaksSuiteProtocol } from './protocol';
import type { HistoryOp } from '../../conformance/linearizability';
import { checkChaosHistory, overlappingPairs, readChaosLogs, type ChaosReport } from './chaos-check';

const WORKER = path.join(__dirname, 'worker.js');
const cred = (pid: number) => ({ uid: 1000, gid: 1000, pid });
/** Longer runs with TESSERA_LONG=1; npm test keeps each run to a few seconds. */
const LONG = process.env.TESSERA_LONG === '1';
const FAST_CALLS = LONG ? 4000 : 1600;
const HANDLE_CALLS = LONG ? 1500 : 600;
const MULTICASTS = LONG ? 2000 : 800;

// Messages and exits are recorded from spawn time on, so none is missed.
const inbox = new WeakMap<Worker, { queue: unknown[]; waiters: ((m: unknown) => void)[]; exited: Promise<unknown> }>();
function track(w: Worker) {
  const box = { queue: [] as unknown[], waiters: [] as ((m: unknown) => void)[], exited: once(w, 'exit') };
  w.on('message', (m) => {
    const waiter = box.waiters.shift();
    if (waiter) waiter(m);
    else box.queue.push(m);
  });
  inbox.set(w, box);
  return box;
}
function nextMessage<T>(w: Worker): Promise<T> {
  const box = inbox.get(w) ?? track(w);
  if (box.queue.length > 0) return Promise.resolve(box.queue.shift() as T);
  return new Promise<T>((resolve) => box.waiters.push(resolve as (m: unknown) => void));
}
function exited(w: Worker): Promise<unknown> {
  return (inbox.get(w) ?? track(w)).exited;
}
function spawn(bus: ShmBus, ...args: Parameters<ShmBus['spawnPeer']>) {
  const r = bus.spawnPeer(...args);
  track(r.worker);
  return r;
}

describe('shm backend across worker threads', function () {
  this.timeout(60_000);

  it('two worker clients and the main thread call one worker server; every reply answers its own call [CALL-1, CALL-6]', async () => {
    const bus = ShmBus.create({ limits: { maxPeers: 8 }, spin: 20 });
    const server = spawn(bus, WORKER, { credentials: cred(1), workerData: { role: 'echo' } });
    const { node } = await nextMessage<{ node: number }>(server.worker);
    const clients = [0, 1].map((i) =>
      spawn(bus, WORKER, {
        credentials: cred(10 + i),
        bootstrap: [{ from: server.peer, handle: node, rights: ['send'] }],
        workerData: { role: 'client', calls: 3000 },
      }),
    );
    const clientResults = clients.map((c) => nextMessage<{ bad: number }>(c.worker));
    const me = bus.attach(cred(99), [{ from: server.peer, handle: node, rights: ['send'] }]);
    let bad = 0;
    for (let i = 0; i < 300; i++) {
      const r = await me.call(me.bootstrap[0], { payload: `main:${i}` }, { timeoutMs: 10_000 });
      if (Buffer.from(r.payload, 'base64').toString() !== `main:${i}`) bad++;
    }
    const results = await Promise.all(clientResults);
    assert.deepStrictEqual(
      results.map((r) => r.bad),
      [0, 0],
    );
    assert.strictEqual(bad, 0);
    const stopped = nextMessage(server.worker);
    me.send(me.bootstrap[0], { payload: 'stop' });
    await stopped;
    me.close();
    await Promise.all([server, ...clients].map((c) => exited(c.worker)));
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  for (const views of [false, true]) {
    it(`a call hands off straight into a server waiting in ReplyRecv; handles arrive named, messages and notices still queue and are taken in order${views ? ' (zero-copy views)' : ''} [CALL-1, CALL-3, CALL-6, RECV-1, RECV-3, NOTICE-1]`, async () => {
      const bus = ShmBus.create({ limits: { maxPeers: 8, maxHandlesPerPeer: 64 }, spin: 20 });
      const server = spawn(bus, WORKER, { credentials: cred(1), workerData: { role: 'handoffServer', views } });
      const { node, node2 } = await nextMessage<{ node: number; node2: number }>(server.worker);
      const grant = [{ from: server.peer, handle: node, rights: ['send'] as 'send'[] }];
      const clients = [
        spawn(bus, WORKER, {
          credentials: cred(10),
          bootstrap: grant,
          workerData: { role: 'fastClient', calls: FAST_CALLS },
        }),
        spawn(bus, WORKER, {
          credentials: cred(11),
          bootstrap: grant,
          workerData: { role: 'handleClient', calls: HANDLE_CALLS },
        }),
      ];
      const results = clients.map((c) => nextMessage<{ bad: number }>(c.worker));
      // Meanwhile the main thread sends messages carrying a handle (revoking them now and then, so
      // some arrive flagged), and releases the only sender of the server's second node: the
      // no-senders notice reaches the server's queue while it is registered for a hand-off.
      const me = bus.attach(cred(99), [...grant, { from: server.peer, handle: node2, rights: ['send'] }]);
      const mine = me.createNode();
      let sent = 0;
      for (let i = 0; i < 200; i++) {
        try {
          me.send(me.bootstrap[0], { payload: `m${i}`, handles: [{ handle: mine, rights: ['send'] }] });
          sent++;
        } catch (e) {
          if (!(e instanceof TesseraError && e.code === 'QUEUE_FULL')) throw e;
        }
        if (i % 50 === 0) me.revoke(mine);
        if (i === 100) me.release(me.bootstrap[1]);
        await new Promise((r) => setImmediate(r));
      }
      assert.deepStrictEqual(
        (await Promise.all(results)).map((r) => r.bad),
        [0, 0],
      );
      const stopped = nextMessage<{
        calls: number;
        messages: number;
        notices: number;
        noSenders: number;
        handlesLive: number;
        handlesFlagged: number;
        handedOff: number;
      }>(server.worker);
      me.send(me.bootstrap[0], { payload: 'stop' });
      const st = await stopped;
      assert.strictEqual(st.calls, FAST_CALLS + HANDLE_CALLS);
      assert.strictEqual(st.messages, sent);
      assert.strictEqual(st.handlesLive + st.handlesFlagged, HANDLE_CALLS + sent);
      assert.ok(st.handlesLive >= HANDLE_CALLS, `only ${st.handlesLive} handles arrived live`);
      assert.ok(st.handedOff > 100, `only ${st.handedOff} deliveries were handed off`);
      assert.strictEqual(st.noSenders, 1);
      me.tryReceive(1024);
      me.close();
      await Promise.all([server, ...clients].map((c) => exited(c.worker)));
      assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
    });
  }

  it('concurrent multicasts are seen in one order by every receiver [ORDER-1, ORDER-3, MCAST-3]', async () => {
    const bus = ShmBus.create({
      limits: { maxPeers: 8, queueCapacityMessages: 256, senderQuotaMessages: 128 },
      spin: 20,
    });
    const count = MULTICASTS;
    const receivers = [0, 1, 2].map((i) =>
      spawn(bus, WORKER, { credentials: cred(i), workerData: { role: 'mcastReceive', expect: 2 * count } }),
    );
    const nodes = await Promise.all(receivers.map((r) => nextMessage<{ node: number }>(r.worker)));
    const results = receivers.map((r) => nextMessage<{ seen: string[] }>(r.worker));
    const senders = [0, 1].map((i) =>
      spawn(bus, WORKER, {
        credentials: cred(20 + i),
        bootstrap: receivers.map(
          (r, j) => ({ from: r.peer, handle: nodes[j].node, rights: ['send'] as const }) as never,
        ),
        workerData: { role: 'mcastSend', count },
      }),
    );
    const sent = senders.map((s) => nextMessage(s.worker));
    const seen = (await Promise.all(results)).map((r) => r.seen);
    await Promise.all(sent);
    assert.strictEqual(seen[0].length, 2 * count);
    assert.deepStrictEqual(seen[1], seen[0]);
    assert.deepStrictEqual(seen[2], seen[0]);
    // the two senders really interleaved (else the test shows nothing)
    const switches = seen[0].filter((s, i) => i > 0 && s.split(':')[0] !== seen[0][i - 1].split(':')[0]).length;
    assert.ok(switches > 0, 'the senders never interleaved');
    await Promise.all([...receivers, ...senders].map((c) => exited(c.worker)));
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  it('chaos: workers doing random operations while some are terminated; every call gets one outcome and nothing leaks [CLOSE-1, CLOSE-2, CLOSE-3, CLOSE-4, CALL-2, INV-5, INV-6]', async () => {
    const bus = ShmBus.create({
      limits: { maxPeers: 12, maxHandlesPerPeer: 64, queueCapacityMessages: 32, senderQuotaMessages: 8 },
      spin: 5,
    });
    const registry = bus.attach(cred(0));
    const reg = registry.createNode();
    const n = 6;
    const workers = Array.from({ length: n }, (_, i) =>
      spawn(bus, WORKER, {
        credentials: cred(100 + i),
        bootstrap: [{ from: registry, handle: reg, rights: ['send', 'grant'] }],
        workerData: { role: 'chaos', seed: 1 + i, durationMs: 1500 },
      }),
    );
    const allExited = workers.map((w) => exited(w.worker));
    // collect every worker's node handle, then hand every worker all of them
    const handles: number[] = [];
    while (handles.length < n) {
      for (const d of await registry.receive({ max: 8, timeoutMs: 5000 }))
        if (d.kind === 'message') handles.push(d.handles[0].name!);
    }
    const ready = workers.map((w) => nextMessage(w.worker));
    for (const w of workers)
      registry.multicast([handles[workers.indexOf(w)]], {
        handles: handles.map((handle) => ({ handle, rights: ['send'] })),
      });
    await Promise.all(ready);
    const reports = workers.map((w) =>
      Promise.race([
        nextMessage<{ calls: number; outcomes: Record<string, number> }>(w.worker),
        exited(w.worker).then(() => null),
      ]),
    );
    // terminate two of them in the middle of their work
    await new Promise((r) => setTimeout(r, 400));
    await workers[1].worker.terminate();
    await new Promise((r) => setTimeout(r, 300));
    await workers[4].worker.terminate();
    const results = await Promise.all(reports);
    await Promise.all(allExited);
    const survivors = results.filter(
      (r): r is { calls: number; outcomes: Record<string, number> } => r !== null && 'calls' in r,
    );
    assert.ok(survivors.length >= n - 2, `only ${survivors.length} survivors reported`);
    for (const s of survivors) {
      const outcomes = Object.entries(s.outcomes)
        .filter(([k]) => !k.startsWith('op '))
        .reduce((a, [, v]) => a + v, 0);
      assert.strictEqual(outcomes, s.calls, `calls ${s.calls} vs outcomes ${JSON.stringify(s.outcomes)}`);
    }
    const total = survivors.reduce((a, s) => a + s.calls, 0);
    assert.ok(total > 50, `only ${total} calls were made`);
    registry.tryReceive(1024);
    registry.close();
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
  });

  /**
   * One chaos episode: n workers run random operations (calls by the promise flavour, no timeouts,
   * so the model explains every outcome), each logged before it starts and after it returns into a
   * SharedArrayBuffer with stamps from one shared counter (the log survives terminate()); two
   * workers are terminated mid-run. Checks one outcome per call and no leaks; returns the history.
   */
  async function chaosEpisode(seed: number, n: number, opsPerWorker: number) {
    const bus = ShmBus.create({
      limits: {
        maxPeers: 12,
        maxHandlesPerPeer: 64,
        queueCapacityMessages: 16,
        senderQuotaMessages: 6,
        maxPendingPerPeer: 16,
        maxNodesPerPeer: 32,
      },
      spin: 5,
    });
    // [0] the shared clock (every invocation, response and completion is stamped from it), [1] the start signal.
    const clockSab = new SharedArrayBuffer(12);
    const clock = new Int32Array(clockSab);
    const stamp = () => Atomics.add(clock, 0, 1) + 1;
    const history: HistoryOp[] = [];
    let nextId = 1;
    const logs: SharedArrayBuffer[] = [];
    const spawned: ReturnType<typeof spawn>[] = [];
    const roots: { peer: number; node: number }[] = [];
    // Setup, one worker at a time: each is granted the nodes of the ones before it (and learns the others' from messages).
    for (let k = 0; k < n; k++) {
      const log = new SharedArrayBuffer(1 << 20);
      logs.push(log);
      const credentials = cred(200 + k);
      const call = stamp();
      const w = spawn(bus, WORKER, {
        credentials,
        bootstrap: roots.map((r) => ({ from: r.peer, handle: r.node })),
        workerData: { role: 'chaosHistory', seed: seed + k, ops: opsPerWorker, log, clock: clockSab },
      });
      history.push({
        id: nextId++,
        client: k,
        call,
        return: stamp(),
        invocation: { ok: true, value: { peer: w.peer, handles: w.bootstrap } },
        op: {
          op: 'attach',
          credentials,
          ...(roots.length ? { bootstrap: roots.map((r) => ({ fromPeer: r.peer, handle: r.node })) } : {}),
        },
      });
      roots.push({ peer: w.peer, node: (await nextMessage<{ node: number }>(w.worker)).node });
      spawned.push(w);
    }
    const reports = spawned.map((w) =>
      Promise.race([nextMessage<ChaosReport>(w.worker), exited(w.worker).then(() => null)]),
    );
    Atomics.store(clock, 1, 1);
    Atomics.notify(clock, 1);
    // Two of them die mid-run; the bus closes their peers (spawnPeer): that close is an operation of the history too.
    const victims = [1, n - 1];
    for (const [j, k] of victims.entries()) {
      await new Promise((r) => setTimeout(r, 3 + ((seed * 7 + j * 5) % 9)));
      // spawnPeer closes the peer in its 'exit' listener: stamp just before it (a prepended listener)
      // and just after it (exited() listens later), so the close's interval is tight.
      let call = 0;
      spawned[k].worker.prependListener('exit', () => {
        call = stamp();
      });
      await spawned[k].worker.terminate();
      await exited(spawned[k].worker);
      // No invocation: if the worker closed its peer itself first, this close fails CLOSED.
      history.push({ id: nextId++, client: k, op: { op: 'close', peer: spawned[k].peer }, call, return: stamp() });
    }
    const results = await Promise.all(reports);
    await Promise.all(spawned.map((w) => exited(w.worker)));
    // The workers' logs: JSON lines after a length word, written before and after every operation.
    const { inFlight, callsStarted } = readChaosLogs(logs, results, victims, history, () => nextId++);
    const survivors = results.filter((r) => r !== null).length;
    assert.ok(survivors >= n - victims.length, `only ${survivors} workers reported`);
    assert.deepStrictEqual(bus.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
    const overlapping = overlappingPairs(history);
    return { history, limits: bus.limits, inFlight, callsStarted, overlapping, survivors };
  }

  it("chaos against the model: workers doing random operations while two are terminated at random; every call gets one outcome, nothing leaks, and the recorded history (real-time intervals, the dead peers' operations in flight optional) is linearizable [CLOSE-1, CLOSE-2, CLOSE-3, CALL-2, INV-5, INV-6, ATOMIC-1]", async function () {
    this.timeout(180_000); // a few seconds usually; under coverage instrumentation and a loaded machine, up to six episodes
    skipUnlessShmSpeaksSuiteProtocol(this); // the history is checked against the model, which speaks protocol 2
    // The search is exponential in the worst case: an episode whose search runs out of budget proves
    // nothing either way and another episode runs; a history found not linearizable fails at once.
    // Up to six: the search gave up on 2 of the 7 episodes of five npm test runs, and three episodes
    // all giving up would fail about one run in forty at that rate (six: about 1 in 1800).
    const n = 4,
      opsPerWorker = 80,
      budget = 15_000,
      episodes = 6;
    const lines: string[] = [];
    let conclusive = false;
    for (let e = 0; e < episodes && !conclusive; e++) {
      const started = Date.now();
      const ep = await chaosEpisode(11 + 10 * e, n, opsPerWorker);
      if (process.env.TESSERA_CHAOS_DUMP)
        require('fs').writeFileSync(`${process.env.TESSERA_CHAOS_DUMP}.${e}.json`, JSON.stringify(ep));
      const checkStarted = Date.now();
      const check = checkChaosHistory(ep.history, ep.limits, budget);
      lines.push(
        `chaos episode ${e + 1}: ${ep.history.length} operations (${ep.callsStarted} calls started, ${ep.inFlight} in flight at a termination), ${ep.overlapping} overlapping pairs of different workers, ` +
          `${ep.survivors}/${n} workers survived; ${check.conclusive ? 'linearizable' : 'search gave up'} after ${check.explored} states in ${Date.now() - checkStarted} ms; ${Date.now() - started} ms in all`,
        ...check.lines,
      );
      conclusive = check.conclusive;
    }
    console.log(lines.map((l) => `      ${l}`).join('\n'));
    assert.ok(conclusive, `no chaos episode's history could be checked within ${budget} states:\n${lines.join('\n')}`);
  });
});
