// The broker's isolation, against a real hostile process: it writes garbage anywhere in its own
// segment, lies about lengths and tags, tears writes, sends requests that are not operations or
// name what it does not hold, floods without reading, is stopped mid-write and killed
// mid-request. Meanwhile two honest peers (in this process) keep exchanging messages and calls,
// and every one of their outcomes is checked exactly: nothing the hostile process does reaches
// them, the broker never blocks on it, each bad request gets its error, and nothing leaks.
// TESSERA_LONG=1 runs a longer garbage campaign.
import { strict as assert } from 'assert';
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import { Broker, connectBroker, type BrokerPeer, type EngineName } from '../../backends/broker';
import type { Delivery, HandleName } from '../../spec/types';
import { expectOk, expectPending } from '../helpers';
import { requireNative } from '../native/support';
import type { FromHostile, ToHostile } from './hostile-peer';

const HOSTILE_JS = path.join(__dirname, 'hostile-peer.js');
const GARBAGE_INPUTS = process.env.TESSERA_LONG ? 100_000 : 3000;
const creds = (pid: number) => ({ uid: 1000, gid: 1000, pid });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Hostile {
  proc: ChildProcess;
  next(): Promise<FromHostile>;
  send(m: ToHostile): void;
  exited: Promise<void>;
}

function forkHostile(): Hostile {
  const proc = fork(HOSTILE_JS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const queue: FromHostile[] = [];
  const waiters: ((m: FromHostile) => void)[] = [];
  proc.on('message', (m: FromHostile) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve))),
    send: (m) => void proc.send(m),
    exited,
  };
}

/** The hostile suite runs against the broker with each engine of its bus (the broker's checks are the same; the bus differs). */
const ENGINES: EngineName[] = ['model', 'shm'];

for (const engine of ENGINES)
  describe(`broker: a hostile peer process affects no other peer, its bus run by the ${engine} engine`, function () {
    this.timeout(120_000);
    let broker: Broker;
    let a: BrokerPeer, b: BrokerPeer;
    let node: HandleName, sendHandle: HandleName, bHandle: HandleName;
    let rounds = 0;

    before(async function () {
      requireNative(this);
      broker = await Broker.start({ spinUs: 5, engine });
      const seatA = await broker.expect(process.pid, { credentials: creds(process.pid) });
      a = await connectBroker(broker.socketPath, { spinUs: 5 });
      await seatA.connected;
      node = expectOk<{ handle: HandleName }>(a.invokeSync({ op: 'createNode' })).handle;
      sendHandle = expectOk<{ handle: HandleName }>(
        a.invokeSync({ op: 'mint', handle: node, rights: ['send'], badge: 7 }),
      ).handle;
      const seatB = await broker.expect(process.pid, {
        credentials: creds(process.pid),
        bootstrap: [{ fromPeer: a.peer, handle: sendHandle }],
      });
      b = await connectBroker(broker.socketPath, { spinUs: 5 });
      await seatB.connected;
      bHandle = b.bootstrap[0];
    });

    after(async () => {
      await broker?.stop();
    });

    /** One exchange between the honest peers, every outcome checked exactly. */
    async function honestRound(): Promise<void> {
      const k = rounds++;
      for (let i = 0; i < 8; i++) b.sendSync(bHandle, Buffer.from(`${k}:${i}`));
      const got: Delivery[] = [];
      while (got.length < 8) got.push(...a.receiveSync(8 - got.length, 5000));
      assert.deepEqual(
        got.map((d) => [
          d.kind,
          (d as { badge?: number }).badge,
          Buffer.from((d as { payload: string }).payload, 'base64').toString(),
        ]),
        Array.from({ length: 8 }, (_, i) => ['message', 7, `${k}:${i}`]),
      );
      const ticket = expectPending(
        b.invokeSync({ op: 'call', handle: bHandle, message: { segments: [Buffer.from(`call ${k}`)] } }),
      );
      const [call] = a.receiveSync(1, 5000);
      assert.equal(call.kind, 'call');
      assert.equal(Buffer.from((call as { payload: string }).payload, 'base64').toString(), `call ${k}`);
      a.replySync((call as { replyHandle: HandleName }).replyHandle, Buffer.from(`reply ${k}`));
      const done = b.waitCompletionSync(ticket, 5000);
      assert.ok(done, `the call of round ${k} completed`);
      const reply = expectOk<{ reply: { payload: string } }>(done.result);
      assert.equal(Buffer.from(reply.reply.payload, 'base64').toString(), `reply ${k}`);
    }

    /** Honest rounds until the hostile process reports (the broker serves both at once). */
    async function honestWhile(pending: Promise<FromHostile>): Promise<{ reply: FromHostile; rounds: number }> {
      let settled: FromHostile | null = null;
      void pending.then((m) => (settled = m));
      let n = 0;
      while (settled === null) {
        await honestRound();
        n++;
        await tick();
      }
      await honestRound();
      return { reply: settled, rounds: n + 1 };
    }

    /** The honest sessions saw no frame error, no request that was not an operation, and only the errors they caused. */
    async function honestCountersClean(errorsOfA: Record<string, number> = {}): Promise<void> {
      for (const p of [a, b]) {
        const c = (await broker.counters(p.peer))!;
        assert.equal(c.frameErrors, 0);
        assert.equal(c.notOperations, 0);
        assert.deepEqual(c.errors, p === a ? errorsOfA : {});
      }
    }

    /** A fresh hostile process, seated with a send handle to the honest node. */
    async function seatHostile(): Promise<{ hostile: Hostile; peer: number; handles: HandleName[] }> {
      const hostile = forkHostile();
      const seat = await broker.expect(hostile.proc.pid!, {
        credentials: creds(hostile.proc.pid!),
        bootstrap: [{ fromPeer: a.peer, handle: sendHandle }],
      });
      hostile.send({ type: 'connect', socketPath: broker.socketPath });
      const m = await hostile.next();
      if (m.type !== 'connected') throw new Error(`the hostile process said ${JSON.stringify(m)}`);
      assert.equal(m.peer, seat.seat!.peer);
      assert.equal((await seat.connected!).pid, hostile.proc.pid);
      return { hostile, peer: m.peer, handles: m.handles };
    }

    /** Kills a hostile process and waits until the broker has closed its peer for it (CLOSE-1..4). */
    async function kill(h: Hostile, peer: number): Promise<void> {
      h.proc.kill('SIGKILL');
      await h.exited;
      for (let i = 0; i < 500 && (await broker.counters(peer)) !== null; i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(await broker.counters(peer), null);
      assert.equal((await broker.audit()).peersOpen, 2);
    }

    it('a peer process is seated by the pid the kernel reports for its socket, and gets the grants made for it [BUS-2, BUS-3, INV-1]', async () => {
      const { hostile, peer, handles } = await seatHostile();
      assert.equal(handles.length, 1);
      assert.ok(peer > b.peer);
      await honestRound();
      await kill(hostile, peer);
    });

    it('random words written anywhere in its own segment are discarded as frames it cannot read, while the honest peers exchange exactly what they sent [INV-1, INV-3, INV-4, ERR-1]', async () => {
      const { hostile, peer: hostilePeer } = await seatHostile();
      const before = (await broker.counters(hostilePeer))!;
      hostile.send({ type: 'attack', kind: 'garbage', seed: 0x5eed, count: GARBAGE_INPUTS, victim: a.peer });
      const { reply, rounds: n } = await honestWhile(hostile.next());
      assert.equal(reply.type, 'attacked');
      const after = (await broker.counters(hostilePeer))!;
      console.log(
        `      garbage: ${reply.type === 'attacked' ? reply.tried : 0} inputs; the broker discarded ${after.frameErrors - before.frameErrors} frames, answered ${after.requests} requests (${after.notOperations} not operations); ${n} honest rounds alongside, all exact`,
      );
      assert.ok(after.frameErrors > before.frameErrors, 'the broker saw frames it could not read');
      await honestCountersClean();
      await kill(hostile, hostilePeer);
    });

    it('requests that are not operations, owner operations, values that lie about their counts and names it does not hold each get their error [ERR-1, HANDLE-3, BUS-2, INV-1, INV-3]', async () => {
      const { hostile, peer: hostilePeer } = await seatHostile();
      hostile.send({ type: 'attack', kind: 'lies', seed: 0x11e5, count: 400, victim: a.peer });
      const { reply } = await honestWhile(hostile.next());
      assert.equal(reply.type, 'attacked');
      if (reply.type !== 'attacked') return;
      assert.equal(reply.tried, 400);
      assert.deepEqual(reply.answers, reply.expected);
      const c = (await broker.counters(hostilePeer))!;
      assert.ok(c.notOperations > 0 && c.peerFieldReplaced > 0);
      // The victim's node and handles are untouched: the honest exchange still works through them.
      await honestRound();
      await honestCountersClean();
      await kill(hostile, hostilePeer);
    });

    it('a flood of requests it never reads the answers of stalls only itself: the broker stops taking its requests and owes it a bounded backlog [QUOTA-2, BOUND-1, INV-12]', async () => {
      const { hostile, peer: hostilePeer } = await seatHostile();
      hostile.send({ type: 'attack', kind: 'flood', seed: 1, count: 200_000, victim: a.peer });
      const { reply } = await honestWhile(hostile.next());
      assert.equal(reply.type, 'attacked');
      const c = (await broker.counters(hostilePeer))!;
      console.log(
        `      flood: ${reply.type === 'attacked' ? reply.tried : 0} requests posted; the broker's backlog for it peaked at ${c.maxBacklogBytes} bytes`,
      );
      assert.ok(c.maxBacklogBytes < 64 * 1024, `backlog ${c.maxBacklogBytes} bytes`);
      await honestCountersClean();
      await kill(hostile, hostilePeer);
    });

    it('a process stopped in the middle of a write holds nothing the broker or another peer waits for [BOUND-1, INV-3]', async () => {
      const { hostile, peer: hostilePeer } = await seatHostile();
      hostile.send({ type: 'attack', kind: 'torn', seed: 1, count: 1, victim: a.peer });
      await hostile.next();
      hostile.proc.kill('SIGSTOP');
      for (let i = 0; i < 20; i++) await honestRound();
      // Killed while stopped: its peer is closed on its behalf (the socket's hang-up or the pidfd tells the broker).
      await kill(hostile, hostilePeer);
      await honestRound();
      await honestCountersClean();
    });

    it('a process killed while its call is being served is closed for it: the server is told the call was abandoned, its reply fails CALLER_GONE, and nothing it held survives [CLOSE-1, CLOSE-3, CALL-4, CALL-8, INV-5]', async () => {
      const { hostile: killed, peer: killedPeer, handles } = await seatHostile();
      killed.send({ type: 'call', handle: handles[0] });
      await killed.next();
      const [call] = a.receiveSync(1, 10_000);
      assert.equal(call?.kind, 'call');
      assert.equal(
        Buffer.from((call as { payload: string }).payload, 'base64').toString(),
        'from a process about to die',
      );
      await kill(killed, killedPeer);
      // The call it made is abandoned when its peer closes: the holder of its reply handle is told once.
      const replyHandle = (call as { replyHandle: HandleName }).replyHandle;
      assert.deepEqual(a.receiveSync(1, 5000), [
        { kind: 'notice', notice: { type: 'call-abandoned', handle: replyHandle } },
      ]);
      const r = a.invokeSync({
        op: 'reply',
        handle: (call as { replyHandle: HandleName }).replyHandle,
        message: { segments: [] },
      });
      assert.deepEqual(r, { ok: false, error: 'CALLER_GONE' });
      await honestRound();
      await honestCountersClean({ CALLER_GONE: 1 });
    });

    it('when the honest peers leave too, nothing of any of them is left on the bus [INV-5, CLOSE-2, CLOSE-3, CLOSE-4]', async () => {
      a.disconnect();
      b.disconnect();
      for (let i = 0; i < 200 && (await broker.audit()).peersOpen !== 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await broker.audit(), { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0, pending: 0 });
    });
  });
