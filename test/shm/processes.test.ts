// The shm backend across OS processes: a bus in a memfd segment, peers in forked Node
// processes (ShmBus.spawnProcess, joinSpawnedBus), futex waiting, credentials from the
// kernel, and processes killed with SIGKILL anywhere, holding the bus lock or not.
import * as assert from 'assert';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { acceptsPeerV8Flags, PEER_V8_FLAGS, ShmBus, TesseraError, type ProcessPeer } from '../../backends/shm';
import { createSegment, notify, type Segment } from '../../native';
import type { HistoryOp } from '../../conformance/linearizability';
import { requireNative } from '../native/support';
import { SHM_SPEAKS_SUITE_PROTOCOL } from './protocol';
import { checkChaosHistory, overlappingPairs, readChaosLogs, type ChaosReport } from './chaos-check';

const CHILD = path.join(__dirname, 'process-child.js');
const EMPTY = { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 };

// Messages and exits are recorded from spawn time on, so none is missed.
interface Tracked {
  queue: unknown[];
  waiters: ((m: unknown) => void)[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}
const tracked = new WeakMap<ChildProcess, Tracked>();
/** Every process spawned by a test: a failed test kills what it left running. */
const children = new Set<ChildProcess>();
function track(c: ChildProcess): Tracked {
  const t: Tracked = {
    queue: [],
    waiters: [],
    exited: new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  c.on('message', (m) => {
    const w = t.waiters.shift();
    if (w) w(m);
    else t.queue.push(m);
  });
  tracked.set(c, t);
  children.add(c);
  c.once('exit', () => children.delete(c));
  return t;
}
function nextMessage<T>(c: ChildProcess): Promise<T> {
  const t = tracked.get(c) ?? track(c);
  if (t.queue.length > 0) return Promise.resolve(t.queue.shift() as T);
  return new Promise<T>((resolve) => t.waiters.push(resolve as (m: unknown) => void));
}
const exited = (c: ChildProcess) => (tracked.get(c) ?? track(c)).exited;
async function spawn(bus: ShmBus, ...args: Parameters<ShmBus['spawnProcess']>): Promise<ProcessPeer> {
  const r = await bus.spawnProcess(...args);
  track(r.child);
  return r;
}
const text = (d: { payload: string }) => Buffer.from(d.payload, 'base64').toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The recoveries the bus runs when a process dies are on the event loop: wait for them. */
async function settled(bus: ShmBus, open: number): Promise<void> {
  for (let i = 0; i < 500 && bus.audit().peersOpen > open; i++) await sleep(10);
}

describe('shm backend across OS processes', function () {
  this.timeout(120_000);
  before(function () {
    requireNative(this);
  });
  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('two processes exchange a capability and a call; the bus stamps the credentials the kernel gave, not any the process could claim [CRED-1, SEND-4, CALL-1, CALL-6, BUS-2]', async () => {
    const bus = ShmBus.create({ span: 'processes', limits: { maxPeers: 8 }, spin: 20 });
    try {
      const me = bus.attach({ uid: 7, gid: 7, pid: 7 });
      const inbox = me.createNode({ credentials: true });
      const a = await spawn(bus, CHILD, {
        bootstrap: [{ from: me, handle: inbox, rights: ['send'] }],
        data: { role: 'introduce' },
      });
      const b = await spawn(bus, CHILD, { data: { role: 'echo' } });
      assert.deepStrictEqual(a.credentials, { uid: process.getuid!(), gid: process.getgid!(), pid: a.child.pid });
      const [hello] = await me.receive({ max: 1, timeoutMs: 30_000 });
      assert.ok(hello.kind === 'message');
      assert.strictEqual(text(hello), 'hello');
      assert.deepStrictEqual(hello.credentials, { ...a.credentials, peerKey: a.peer }); // CRED-2: and its key
      // The capability came from process a; process b gets a copy and calls a through it.
      const toA = hello.handles[0].name!;
      const { node: echoNode } = await nextMessage<{ node: number }>(b.child);
      const meToB = bus.attach({ uid: 8, gid: 8, pid: 8 }, [{ from: b.peer, handle: echoNode, rights: ['send'] }]);
      assert.strictEqual(
        text(await meToB.call(meToB.bootstrap[0], { payload: 'ping' }, { timeoutMs: 30_000 })),
        'ping',
      );
      const answer = await me.call(toA, { payload: 'question' }, { timeoutMs: 30_000 });
      assert.strictEqual(text(answer), 'answered question');
      await nextMessage(a.child);
      meToB.send(meToB.bootstrap[0], { payload: 'stop' });
      assert.deepStrictEqual(await nextMessage(b.child), { done: true, calls: 1 });
      await Promise.all([exited(a.child), exited(b.child)]);
      me.tryReceive(16);
      me.close();
      meToB.close();
      await settled(bus, 0);
      assert.deepStrictEqual(bus.audit(), EMPTY);
    } finally {
      bus.dispose();
    }
  });

  it('a process killed while it holds the bus lock mid-operation is rolled back and closed; the owner, blocked on the lock, takes it over [ATOMIC-1, CLOSE-1, INV-5]', async () => {
    const bus = ShmBus.create({ span: 'processes', limits: { maxPeers: 8 }, spin: 20 });
    try {
      const server = await spawn(bus, CHILD, { data: { role: 'echo' } });
      const { node } = await nextMessage<{ node: number }>(server.child);
      const holder = await spawn(bus, CHILD, { data: { role: 'holdLock' } });
      const I = bus.core.int32,
        nodeFree = 33; // layout HDR_NODE_FREE
      const freeHead = I[nodeFree];
      assert.deepStrictEqual(await nextMessage(holder.child), { holding: true });
      assert.notStrictEqual(Atomics.load(I, nodeFree), freeHead, 'the holder took a node record off the free list');
      holder.child.kill('SIGKILL');
      // Synchronously, before this event loop can hear of the death: the owner's attach blocks on
      // the dead holder's lock until its pidfd says it is dead, then steals the lock and rolls back.
      const me = bus.attach({ uid: 1, gid: 1, pid: 1 }, [{ from: server.peer, handle: node, rights: ['send'] }]);
      assert.strictEqual(I[nodeFree], freeHead, 'the node record is back on the free list');
      assert.ok(bus.core.busLock.contended > 0);
      assert.deepStrictEqual((await exited(holder.child)).signal, 'SIGKILL');
      await settled(bus, 2);
      assert.strictEqual(bus.core.peerOpen(bus.slotOf(holder.peer)!, holder.peer), false, 'the dead peer is closed');
      // The bus goes on: a call through the surviving process.
      assert.strictEqual(text(await me.call(me.bootstrap[0], { payload: 'after' }, { timeoutMs: 30_000 })), 'after');
      me.send(me.bootstrap[0], { payload: 'stop' });
      await nextMessage(server.child);
      me.close();
      await settled(bus, 0);
      assert.deepStrictEqual(bus.audit(), EMPTY);
      assert.strictEqual(
        Atomics.load(bus.core.int32, 16),
        0,
        'no lock waiter is left counted (layout HDR_LOCK_WAITERS)',
      );
    } finally {
      bus.dispose();
    }
  });

  it('spawnProcess runs a peer with the V8 flags the hot paths need (PEER_V8_FLAGS, when this Node accepts them) unless told not to, keeping the execArgv it was given [BUS-2]', async () => {
    const bus = ShmBus.create({ span: 'processes' });
    try {
      const tuned = await spawn(bus, CHILD, { data: { role: 'flags' }, fork: { execArgv: ['--stack-size=2000'] } });
      const plain = await spawn(bus, CHILD, { data: { role: 'flags' }, tuneV8: false });
      const [a, b] = await Promise.all([tuned, plain].map((p) => nextMessage<{ execArgv: string[] }>(p.child)));
      // A Node whose V8 no longer knows the flags starts its peers without them (it would refuse to start).
      const given = acceptsPeerV8Flags() ? PEER_V8_FLAGS : [];
      assert.deepStrictEqual(a.execArgv, ['--stack-size=2000', ...given]);
      assert.ok(!b.execArgv.some((f) => PEER_V8_FLAGS.includes(f)), `flags given with tuneV8 false: ${b.execArgv}`);
      await Promise.all([tuned, plain].map((p) => exited(p.child)));
    } finally {
      bus.dispose();
    }
  });

  it('spawnProcess needs a bus made for processes, and a seat goes only to the process that was forked for it [BUS-2, PEER-2]', async () => {
    const threads = ShmBus.create({ limits: { maxPeers: 4 } });
    await assert.rejects(
      threads.spawnProcess(CHILD, { data: { role: 'echo' } }),
      (e) => e instanceof TesseraError && e.code === 'INVALID_ARGUMENT',
    );
    const bus = ShmBus.create({ span: 'processes', limits: { maxPeers: 2 } });
    try {
      bus.attach({ uid: 1, gid: 1, pid: 1 });
      bus.attach({ uid: 1, gid: 1, pid: 1 });
      // The bus is full: the spawn fails with the attach's error, and the child is killed.
      await assert.rejects(
        bus.spawnProcess(CHILD, { data: { role: 'echo' } }),
        (e) => e instanceof TesseraError && e.code === 'TABLE_FULL',
      );
    } finally {
      bus.dispose();
    }
  });

  /**
   * One chaos episode across processes: n processes run random operations (chaos-history.ts),
   * logging each before it starts and after it returns into a segment of their own with stamps
   * from a shared clock segment (the logs survive SIGKILL); two are killed with SIGKILL at random
   * moments. Checks one outcome per call and no leaks; returns the history.
   */
  async function chaosEpisode(seed: number, n: number, opsPerProcess: number) {
    const bus = ShmBus.create({
      span: 'processes',
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
    const segments: Segment[] = [];
    try {
      // [0] the shared clock (every invocation, response and completion is stamped from it), [1] the start signal.
      const clockSegment = createSegment(4096, { name: 'chaos-clock' });
      segments.push(clockSegment);
      const clock = new Int32Array(clockSegment.buffer);
      const stamp = () => Atomics.add(clock, 0, 1) + 1;
      const history: HistoryOp[] = [];
      let nextId = 1;
      const logs: SharedArrayBuffer[] = [];
      const spawned: ProcessPeer[] = [];
      const roots: { peer: number; node: number }[] = [];
      for (let k = 0; k < n; k++) {
        const log = createSegment(1 << 20, { name: 'chaos-log' });
        segments.push(log);
        logs.push(log.buffer);
        const bootstrap = roots.map((r) => ({ from: r.peer, handle: r.node }));
        const call = stamp();
        const p = await spawn(bus, CHILD, {
          bootstrap,
          data: { role: 'chaosHistory', seed: seed + k, ops: opsPerProcess },
          fds: [clockSegment.fd, log.fd],
        });
        history.push({
          id: nextId++,
          client: k,
          call,
          return: stamp(),
          invocation: { ok: true, value: { peer: p.peer, handles: p.bootstrap } },
          op: {
            op: 'attach',
            credentials: p.credentials,
            ...(roots.length ? { bootstrap: roots.map((r) => ({ fromPeer: r.peer, handle: r.node })) } : {}),
          },
        });
        roots.push({ peer: p.peer, node: (await nextMessage<{ node: number }>(p.child)).node });
        spawned.push(p);
      }
      const reports = spawned.map((p) =>
        Promise.race([nextMessage<ChaosReport>(p.child), exited(p.child).then(() => null)]),
      );
      // The bus closes a dead process's peer in recover(): that close is an operation of the history too.
      const closedAt = new Map<number, number>();
      const recover = bus.recover.bind(bus);
      bus.recover = (peer) => {
        const r = recover(peer);
        closedAt.set(peer, stamp());
        return r;
      };
      Atomics.store(clock, 1, 1);
      notify(clock, 1);
      const victims = [1, n - 1];
      for (const [j, k] of victims.entries()) {
        await sleep(3 + ((seed * 7 + j * 5) % 9));
        const call = stamp();
        spawned[k].child.kill('SIGKILL');
        await exited(spawned[k].child);
        for (let i = 0; i < 1000 && !closedAt.has(spawned[k].peer); i++) await sleep(5);
        // No invocation: if the process closed its peer itself first, this close fails CLOSED.
        const ret = closedAt.get(spawned[k].peer);
        assert.ok(ret !== undefined, `the peer of killed process ${k} was not recovered`);
        history.push({ id: nextId++, client: k, op: { op: 'close', peer: spawned[k].peer }, call, return: ret });
      }
      const results = await Promise.all(reports);
      await Promise.all(spawned.map((p) => exited(p.child)));
      const { inFlight, callsStarted } = readChaosLogs(logs, results, victims, history, () => nextId++);
      const survivors = results.filter((r) => r !== null).length;
      assert.ok(survivors >= n - victims.length, `only ${survivors} processes reported`);
      await settled(bus, 0);
      assert.deepStrictEqual(bus.audit(), EMPTY);
      assert.strictEqual(
        Atomics.load(bus.core.int32, 16),
        0,
        'no lock waiter is left counted (layout HDR_LOCK_WAITERS)',
      );
      return { history, limits: bus.limits, inFlight, callsStarted, overlapping: overlappingPairs(history), survivors };
    } finally {
      bus.dispose();
      for (const s of segments) s.close();
    }
  }

  it("chaos across processes: processes doing random operations while two are killed with SIGKILL at random moments; every call gets one outcome, nothing leaks, and the history (real-time intervals, the dead processes' operations in flight optional) is linearizable [CLOSE-1, CLOSE-2, CLOSE-3, CALL-2, INV-5, INV-6, ATOMIC-1]", async function () {
    // A few episodes here (each forks four processes); TESSERA_LONG=1 runs twenty in a row. The
    // linearizability search gave up on 8 histories in 20 within its budget (a TESSERA_LONG run):
    // more episodes run, up to six, until one is checked (all six giving up: ~0.4% at that rate).
    const episodes = process.env.TESSERA_LONG ? 20 : 2,
      maxEpisodes = process.env.TESSERA_LONG ? 20 : 6;
    this.timeout(maxEpisodes * 120_000);
    const n = 4,
      opsPerProcess = 80,
      budget = 15_000;
    const lines: string[] = [];
    let conclusive = 0;
    for (let e = 0; e < maxEpisodes && (e < episodes || (SHM_SPEAKS_SUITE_PROTOCOL && conclusive === 0)); e++) {
      const started = Date.now();
      const ep = await chaosEpisode(101 + 10 * e, n, opsPerProcess);
      if (process.env.TESSERA_CHAOS_DUMP)
        require('fs').writeFileSync(`${process.env.TESSERA_CHAOS_DUMP}.${e}.json`, JSON.stringify(ep));
      let verdict = 'history not checked: the shm backend and the model speak different protocols';
      if (SHM_SPEAKS_SUITE_PROTOCOL) {
        const checkStarted = Date.now();
        const check = checkChaosHistory(ep.history, ep.limits, budget);
        if (check.conclusive) conclusive++;
        verdict = `${check.conclusive ? 'linearizable' : 'search gave up'} after ${check.explored} states in ${Date.now() - checkStarted} ms`;
        lines.push(...check.lines);
      }
      lines.push(
        `chaos episode ${e + 1}: ${ep.history.length} operations (${ep.callsStarted} calls started, ${ep.inFlight} in flight at a SIGKILL), ` +
          `${ep.overlapping} overlapping pairs of different processes, ${ep.survivors}/${n} processes survived; ${verdict}; ${Date.now() - started} ms in all`,
      );
    }
    console.log(lines.map((l) => `      ${l}`).join('\n'));
    if (SHM_SPEAKS_SUITE_PROTOCOL)
      assert.ok(conclusive > 0, `no episode's history could be checked within ${budget} states`);
  });

  it('the peer of a process that exits in the middle of its receive loop without closing it is closed by the bus [CLOSE-1, INV-5]', async () => {
    const bus = ShmBus.create({ span: 'processes', limits: { maxPeers: 4 } });
    try {
      const p = await spawn(bus, CHILD, { data: { role: 'echo' } });
      const { node } = await nextMessage<{ node: number }>(p.child);
      const me = bus.attach({ uid: 1, gid: 1, pid: 1 }, [{ from: p.peer, handle: node, rights: ['send'] }]);
      assert.strictEqual(bus.audit().peersOpen, 2);
      me.send(me.bootstrap[0], { payload: 'exit' });
      assert.strictEqual((await exited(p.child)).code, 0);
      await settled(bus, 1);
      // The dead peer's node died with it: a send through the handle to it fails DEAD.
      assert.throws(
        () => me.send(me.bootstrap[0], { payload: 'after' }),
        (e) => e instanceof TesseraError && e.code === 'DEAD',
      );
      me.close();
      assert.deepStrictEqual(bus.audit(), EMPTY);
    } finally {
      bus.dispose();
    }
  });
});
