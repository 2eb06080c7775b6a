// The native addon between real processes: shared segments, futex sleep and wake, liveness
// through pidfds, peer credentials, fd passing, and precise errors for bad arguments.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import * as os from 'os';
import {
  capabilities,
  createSegment,
  currentCpu,
  mapSegment,
  notify,
  openSegment,
  pageSizeBytes,
  peerCredentials,
  ProcessWatch,
  processAlive,
  receiveFds,
  segmentSeals,
  sendFds,
  socketPair,
  PREFETCH_MAX,
  prefetchWrite,
  spinWait,
  wait,
  waitAsync,
} from '../../native';
import { tempDirs } from '../helpers';
import { CHILD_JS, forkChild, requireNative } from './support';
import { WORDS } from './words';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('native: shared segments between processes', function () {
  this.timeout(60_000);
  const temp = tempDirs('native');
  before(function () {
    requireNative(this);
  });

  it("a child mapping the inherited memfd sees the parent's bytes, and the parent sees the child's", async () => {
    const seg = createSegment(64 * 1024, { name: 'inherit-test' });
    try {
      const i32 = new Int32Array(seg.buffer);
      Atomics.store(i32, WORDS.magic, 4242);
      const child = forkChild(['read-segment'], [seg.fd]);
      const m = await child.next<{ seen: number; bytes: number }>();
      assert.deepEqual(m, { seen: 4242, bytes: 64 * 1024 });
      assert.equal((await child.exited).code, 0);
      assert.equal(Atomics.load(i32, WORDS.echo), 4243);
    } finally {
      seg.close();
    }
  });

  it('a memfd sent over a Unix socket with SCM_RIGHTS maps the same memory in the receiver, still sealed against shrinking', async () => {
    const seg = createSegment(8192);
    const [mine, theirs] = socketPair();
    try {
      const i32 = new Int32Array(seg.buffer);
      Atomics.store(i32, WORDS.magic, 21);
      const child = forkChild(['receive-fd'], [theirs]);
      fs.closeSync(theirs);
      sendFds(mine, 'segment', [seg.fd], 10_000);
      const m = await child.next<{ text: string; fds: number; seen: number; seals: Record<string, boolean> }>();
      assert.deepEqual(m, {
        text: 'segment',
        fds: 1,
        seen: 21,
        seals: { shrink: true, grow: true, write: false, seal: true },
      });
      assert.equal((await child.exited).code, 0);
      assert.equal(Atomics.load(i32, WORDS.echo), 42);
    } finally {
      fs.closeSync(mine);
      seg.close();
    }
  });

  it('a segment in a file is mapped again by path and by fd, and creating the path a second time fails EEXIST', () => {
    const file = path.join(temp(), 'segment');
    const a = openSegment(file, { create: true, sizeBytes: 3 * pageSizeBytes() });
    try {
      assert.throws(() => openSegment(file, { create: true, sizeBytes: 4096 }), { code: 'EEXIST' });
      const b = openSegment(file, {});
      const tail = mapSegment(a.fd, { offsetBytes: pageSizeBytes(), sizeBytes: pageSizeBytes() });
      new Int32Array(a.buffer)[pageSizeBytes() / 4] = 77;
      assert.equal(new Int32Array(b.buffer)[pageSizeBytes() / 4], 77);
      assert.equal(new Int32Array(tail)[0], 77);
      assert.equal(b.sizeBytes, 3 * pageSizeBytes());
      assert.deepEqual(segmentSeals(a.fd), { shrink: false, grow: false, write: false, seal: false });
      b.close();
    } finally {
      a.close();
      a.close(); // idempotent
    }
  });
});

describe('native: futex wait and notify across processes', function () {
  this.timeout(60_000);
  before(function () {
    requireNative(this);
  });

  it("two processes ping-pong through Atomics on shared words, each sleeping in a futex wait until the other's notify", async () => {
    const rounds = 300;
    const seg = createSegment(4096);
    try {
      const i32 = new Int32Array(seg.buffer);
      const child = forkChild(['pong', String(rounds)], [seg.fd]);
      await child.next();
      let asyncSleeps = 0;
      for (let seq = 1; seq <= rounds; seq++) {
        Atomics.store(i32, WORDS.ping, seq);
        notify(i32, WORDS.ping, 1);
        let v = Atomics.load(i32, WORDS.pong);
        while (v !== seq) {
          const r = waitAsync(i32, WORDS.pong, v, 30_000);
          if (r.async) {
            asyncSleeps++;
            assert.notEqual(await r.value, 'timed-out', `no pong ${seq} within 30 s`);
          }
          v = Atomics.load(i32, WORDS.pong);
        }
      }
      const report = await child.next<{ rounds: number; slept: number; notEqual: number }>();
      assert.equal((await child.exited).code, 0);
      assert.equal(report.rounds, rounds);
      // The interesting state: a sleep in the kernel ended by the other process's notify.
      console.log(
        `      ${rounds} round trips: the child slept ${report.slept} times (woken by notify), saw a moved word ${report.notEqual} times; the parent waited asynchronously ${asyncSleeps} times`,
      );
      assert.ok(report.slept > 0, 'the child never slept in the futex');
      assert.ok(asyncSleeps > 0, 'the parent never waited asynchronously');
    } finally {
      seg.close();
    }
  });

  it('a wait times out no earlier than its timeout, blocking or async, and leaves the word as it was', async () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    let t0 = process.hrtime.bigint();
    assert.equal(wait(i32, 3, 0, 40), 'timed-out');
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 >= 39.9);
    assert.equal(wait(i32, 3, 0, 0), 'timed-out');
    t0 = process.hrtime.bigint();
    const r = waitAsync(i32, 3, 0, 40);
    assert.equal(r.async, true);
    assert.equal(await r.value, 'timed-out');
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 >= 39.9);
    assert.deepEqual(waitAsync(i32, 3, 0, 0), { async: false, value: 'timed-out' });
    assert.equal(i32[3], 0);
  });

  it('a wait on a word that already differs returns not-equal at once, and waitAsync answers synchronously', () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    i32[5] = 9;
    assert.equal(wait(i32, 5, 8), 'not-equal');
    assert.deepEqual(waitAsync(i32, 5, 8), { async: false, value: 'not-equal' });
    assert.equal(notify(i32, 5), 0);
    assert.equal(notify(i32, 5, 0), 0);
  });

  it('notify wakes at most count waiters and reports how many woke', async () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    const a = waitAsync(i32, 7, 0, 30_000);
    const b = waitAsync(i32, 7, 0, 30_000);
    assert.ok(a.async && b.async);
    let woken = 0;
    let tries = 0;
    while (woken < 2) {
      const n = notify(i32, 7, 1);
      assert.ok(n === 0 || n === 1, `notify(count 1) woke ${n}`);
      woken += n;
      if (n === 0) await sleep(2); // a pool thread not yet asleep in the kernel
      assert.ok(++tries < 10_000, 'the waiters never went to sleep');
    }
    assert.deepEqual(await Promise.all([a.value, b.value]), ['ok', 'ok']);
    assert.equal(notify(i32, 7), 0);
  });

  it('a worker thread terminated with a waitAsync pending ends cleanly, with futex_waitv and with the fallback, and waiting works afterwards', async () => {
    for (const fallback of [false, true]) {
      const env = { ...process.env, TESSERA_NATIVE_NO_FUTEX_WAITV: fallback ? '1' : '0' };
      const child = forkChild(['worker-teardown'], [], env);
      const m = await child.next<{ futexWaitv: boolean; waiting: boolean; code: number; after: string }>();
      assert.deepEqual(m, {
        futexWaitv: fallback ? false : capabilities().futexWaitv,
        waiting: true,
        code: 1,
        after: 'timed-out',
      });
      assert.deepEqual(await child.exited, { code: 0, signal: null });
    }
  });

  it('fifty pending waitAsync on one word all wake on one notify, and the pool keeps at most four idle threads after', async () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    const tasks = () => fs.readdirSync('/proc/self/task').length;
    const before = tasks();
    const waits = Array.from({ length: 50 }, () => waitAsync(i32, 9, 0, 30_000));
    assert.ok(waits.every((w) => w.async));
    let woken = 0;
    for (let tries = 0; woken < 50; tries++) {
      woken += notify(i32, 9);
      if (woken < 50) await sleep(2);
      assert.ok(tries < 10_000, `only ${woken} of 50 waiters ever slept`);
    }
    assert.equal(woken, 50);
    const results = await Promise.all(waits.map((w) => w.value));
    assert.ok(results.every((r) => r === 'ok'));
    // Threads beyond the four kept parked leave once their wait is done.
    for (let tries = 0; tasks() > before + 4; tries++) {
      assert.ok(tries < 2_500, `${tasks() - before} threads more than before the waits`);
      await sleep(2);
    }
  });

  it('a process exits cleanly with a waitAsync pending, and a pending waitAsync alone keeps a process alive until it settles', async () => {
    const seg = createSegment(4096);
    try {
      const child = forkChild(['exit-while-waiting'], [seg.fd]);
      assert.deepEqual(await child.next(), { waiting: true });
      assert.deepEqual(await child.exited, { code: 0, signal: null });
    } finally {
      seg.close();
    }
    const alone = spawn(process.execPath, [CHILD_JS, 'wait-async-alone', '150'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    alone.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => alone.once('exit', resolve));
    assert.equal(code, 0);
    assert.equal(out, 'settled timed-out\n');
  });
});

describe('native: the CPU a thread runs on', function () {
  before(function () {
    requireNative(this);
  });

  it('currentCpu names a CPU of this machine, and the one a process is pinned to', function () {
    const cpu = currentCpu();
    assert.ok(Number.isInteger(cpu) && cpu >= 0 && cpu < os.cpus().length, `currentCpu() = ${cpu}`);
    if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) return; // no taskset: the range is all
    const native = path.join(__dirname, '..', '..', 'native');
    for (const pin of os.cpus().length > 1 ? [0, 1] : [0]) {
      const r = spawnSync(
        'taskset',
        ['-c', String(pin), process.execPath, '-e', `console.log(require(${JSON.stringify(native)}).currentCpu())`],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(Number(r.stdout.trim()), pin);
    }
  });
});

describe('native: spinning on a shared word', function () {
  this.timeout(60_000);
  before(function () {
    requireNative(this);
  });

  it('spinWait answers at once for a word already there, in the order want then changed, and leaves the words as they were', () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    i32[WORDS.ping] = 7;
    i32[WORDS.pong] = 3;
    assert.equal(spinWait(i32, WORDS.ping, 7, -1, 0, 1000), 1);
    assert.equal(spinWait(i32, -1, 0, WORDS.pong, 2, 1000), 2);
    assert.equal(spinWait(i32, WORDS.ping, 7, WORDS.pong, 2, 1000), 1, 'both hold: want is reported');
    assert.equal(spinWait(i32, WORDS.ping, 8, WORDS.pong, 2, 1000), 2);
    assert.deepEqual([i32[WORDS.ping], i32[WORDS.pong]], [7, 3]);
  });

  it('prefetchWrite takes 0 to 8 words (-1 leaves a place empty) and reads or writes none of them', () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    for (let i = 0; i < i32.length; i++) i32[i] = i * 7 - 3;
    const before = i32.slice();
    assert.equal(prefetchWrite(i32), undefined);
    prefetchWrite(i32, WORDS.ping);
    prefetchWrite(i32, -1, WORDS.pong, -1);
    prefetchWrite(i32, ...Array.from({ length: PREFETCH_MAX }, (_, k) => k * 16));
    prefetchWrite(i32, 0, i32.length - 1, 0, 0, 0, 0, 0, 0);
    // A view at an offset: its indices count from the view's start.
    const view = new Int32Array(i32.buffer, 64, 16);
    prefetchWrite(view, 0, 15);
    assert.deepEqual(i32, before);
  });

  it('spinWait gives up once its budget has passed, and not before', () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    for (const budgetMs of [0, 5, 30]) {
      const t0 = process.hrtime.bigint();
      assert.equal(spinWait(i32, WORDS.ping, 1, WORDS.pong, 0, budgetMs), 0);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.ok(ms >= budgetMs, `budget ${budgetMs} ms, returned after ${ms.toFixed(3)} ms`);
      assert.ok(ms < budgetMs + 5_000, `budget ${budgetMs} ms, returned after ${ms.toFixed(0)} ms`);
    }
  });

  it("spinWait sees another process's store while it spins: the wanted value, and a change", async () => {
    for (const [wantIndex, code] of [
      [WORDS.ping, 1],
      [-1, 2],
    ] as const) {
      const seg = createSegment(4096);
      try {
        const i32 = new Int32Array(seg.buffer);
        const child = forkChild(['store-later', '42'], [seg.fd]);
        assert.deepEqual(await child.next(), { ready: true });
        const t0 = process.hrtime.bigint();
        const r = spinWait(i32, wantIndex, 42, WORDS.ping, 0, 20_000);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        assert.equal(r, code, `ended with ${r} after ${ms.toFixed(1)} ms`);
        assert.equal(Atomics.load(i32, WORDS.ping), 42);
        assert.ok(ms < 15_000, `saw the store only after ${ms.toFixed(0)} ms`);
        assert.deepEqual(await child.next(), { stored: true });
        assert.deepEqual(await child.exited, { code: 0, signal: null });
      } finally {
        seg.close();
      }
    }
  });
});

describe('native: process liveness', function () {
  this.timeout(60_000);
  before(function () {
    requireNative(this);
  });

  it('a SIGKILLed process is seen dead: alive() turns false, waitExit returns true and exited() resolves', async () => {
    const child = forkChild(['sleep']);
    await child.next();
    const watch = ProcessWatch.open(child.proc.pid!);
    try {
      assert.equal(watch.alive(), true);
      assert.equal(watch.waitExit(20), false);
      assert.equal(processAlive(child.proc.pid!), true);
      const exited = watch.exited();
      child.proc.kill('SIGKILL');
      await exited;
      assert.equal(watch.alive(), false);
      assert.equal(watch.waitExit(0), true);
      assert.equal(watch.waitExit(), true);
      await watch.exited(); // already dead: resolves at once
      assert.equal((await child.exited).signal, 'SIGKILL');
    } finally {
      watch.close();
    }
  });

  it('a closed watch rejects its pending exited() and refuses further use; a pid that no longer exists fails ESRCH', async () => {
    const child = forkChild(['sleep']);
    await child.next();
    const pid = child.proc.pid!;
    const watch = ProcessWatch.open(pid);
    const pending = watch.exited();
    watch.close();
    await assert.rejects(pending, /closed/);
    assert.throws(() => watch.alive(), /ProcessWatch\.alive: the watch of pid \d+ is closed/);
    child.proc.kill('SIGKILL');
    await child.exited; // reaped by Node: the pid is gone
    assert.throws(() => ProcessWatch.open(pid), { code: 'ESRCH' });
    assert.equal(processAlive(pid), false);
  });
});

describe('native: Unix socket peers', function () {
  this.timeout(60_000);
  const temp = tempDirs('native-sock');
  before(function () {
    requireNative(this);
  });

  it('SO_PEERCRED reports the pid, uid and gid of the process that connected, and its pidfd follows that process to its death', async () => {
    const socketPath = path.join(temp(), 'peer.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      const child = forkChild(['connect', socketPath]);
      const sock = await accepted;
      assert.deepEqual(await child.next(), { connected: true, pid: child.proc.pid });
      assert.deepEqual(peerCredentials(sock), { pid: child.proc.pid, uid: process.getuid!(), gid: process.getgid!() });
      const watch = ProcessWatch.ofPeer(sock);
      try {
        assert.equal(watch.pid, child.proc.pid);
        assert.equal(watch.alive(), true);
        child.proc.kill('SIGKILL');
        await watch.exited();
        assert.equal(watch.alive(), false);
      } finally {
        watch.close();
        sock.destroy();
      }
    } finally {
      server.close();
    }
  });

  it('both ends of a socket pair report the process that made it', () => {
    const [a, b] = socketPair({ seqpacket: false });
    try {
      const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
      assert.deepEqual(peerCredentials(a), me);
      assert.deepEqual(peerCredentials(b), me);
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
    }
  });
});

describe('native: bad arguments', function () {
  before(function () {
    requireNative(this);
  });

  const expectThrow = (fn: () => unknown, type: ErrorConstructor, message: RegExp) =>
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof type, `${e.constructor.name}: ${e.message} (expected a ${type.name})`);
      assert.match(e.message, message);
      return true;
    });

  it('wrong types, non-integer or out-of-range indices, values, timeouts and counts get a TypeError or RangeError naming the argument, and the word is unchanged', () => {
    const i32 = new Int32Array(createSegment(4096).buffer);
    i32[1] = 5;
    const before = Int32Array.from(i32);
    const cases: [() => unknown, ErrorConstructor, RegExp][] = [
      [
        () => wait(new Float64Array(4) as never, 0, 0, 0),
        TypeError,
        /^wait: the first argument must be an Int32Array .*got a Float64Array/,
      ],
      [() => wait(new Int32Array(4), 0, 0, 0), TypeError, /^wait: the Int32Array must view a SharedArrayBuffer/],
      [() => wait(i32, 1.5, 5, 0), RangeError, /^wait: index must be an integer .*got 1\.5/],
      [() => wait(i32, '1' as never, 5, 0), TypeError, /^wait: index must be an integer, got "1"/],
      [() => wait(i32, 1024, 5, 0), RangeError, /^wait: index 1024 is out of range: the Int32Array has 1024 elements/],
      [() => wait(i32, -1, 5, 0), RangeError, /^wait: index -1 is out of range/],
      [
        () => wait(i32, 1, 2 ** 31, 0),
        RangeError,
        /^wait: value must be between -2147483648 and 2147483647, got 2147483648/,
      ],
      [() => wait(i32, 1, 5, NaN), RangeError, /^wait: timeoutMs must be >= 0 or Infinity, got NaN/],
      [() => wait(i32, 1, 5, -1), RangeError, /^wait: timeoutMs must be >= 0 or Infinity, got -1/],
      [() => waitAsync(i32, 1, 5, '10' as never), TypeError, /^waitAsync: timeoutMs must be a number/],
      [() => waitAsync(i32, 4096, 5), RangeError, /^waitAsync: index 4096 is out of range/],
      [() => notify(i32, 1, -1), RangeError, /^notify: count must be between 0 and/],
      [() => notify(i32, 1, 0.5), RangeError, /^notify: count must be an integer, got 0\.5/],
      [() => notify(null as never, 1), TypeError, /^notify: the first argument must be an Int32Array .*got null/],
      [() => spinWait(i32, -1, 0, -1, 0, 1), RangeError, /^spinWait: wantIndex and seenIndex are both -1/],
      [() => spinWait(i32, 1024, 0, -1, 0, 1), RangeError, /^spinWait: wantIndex: index 1024 is out of range/],
      [() => spinWait(i32, -1, 0, 2.5, 0, 1), RangeError, /^spinWait: seenIndex: index must be an integer/],
      [
        () => spinWait(new Int32Array(4), 0, 0, -1, 0, 1),
        TypeError,
        /^spinWait: wantIndex: the Int32Array must view a SharedArrayBuffer/,
      ],
      [() => spinWait(i32, 1, 2 ** 31, -1, 0, 1), RangeError, /^spinWait: want must be between/],
      [() => spinWait(i32, 1, 5, -1, 0, NaN), RangeError, /^spinWait: budgetMs must be between 0 and 1e6, got NaN/],
      [() => spinWait(i32, 1, 5, -1, 0, '1' as never), TypeError, /^spinWait: budgetMs must be a number/],
      [() => prefetchWrite(i32, 0, 1, 2, 3, 4, 5, 6, 7, 8), RangeError, /^prefetchWrite: at most 8 indices, got 9$/],
      [
        () => prefetchWrite(i32, 0, 1024),
        RangeError,
        /^prefetchWrite: indices\[1\] must be -1 or a word of the Int32Array \(0 to 1024 exclusive\), got 1024/,
      ],
      [() => prefetchWrite(i32, -2), RangeError, /^prefetchWrite: indices\[0\] must be -1 or a word .*got -2/],
      [() => prefetchWrite(i32, 0.5), RangeError, /^prefetchWrite: indices\[0\] must be -1 or a word .*got 0\.5/],
      [() => prefetchWrite(i32, NaN), RangeError, /^prefetchWrite: indices\[0\] must be -1 or a word .*got NaN/],
      [() => prefetchWrite(i32, '3' as never), TypeError, /^prefetchWrite: indices\[0\] must be an integer, got "3"/],
      [
        () => prefetchWrite(new Int32Array(4), 0),
        TypeError,
        /^prefetchWrite: the Int32Array must view a SharedArrayBuffer, got one over an ArrayBuffer$/,
      ],
      [
        () => prefetchWrite({} as never, 0),
        TypeError,
        /^prefetchWrite: the first argument must be an Int32Array over a SharedArrayBuffer, got an Object$/,
      ],
      [() => ProcessWatch.open(0), RangeError, /^pidfdOpen: pid must be between 1 and 2147483647, got 0/],
    ];
    for (const [fn, type, message] of cases) expectThrow(fn, type, message);
    assert.deepEqual(i32, before);
  });

  it('sizes and offsets out of range or not page-aligned get a RangeError naming the extent', () => {
    const seg = createSegment(2 * pageSizeBytes());
    try {
      const page = pageSizeBytes();
      const cases: [() => unknown, ErrorConstructor, RegExp][] = [
        [() => createSegment(0), RangeError, /^createSegment: sizeBytes must be between 1 and 4294967296, got 0/],
        [() => createSegment(2 ** 33), RangeError, /^createSegment: sizeBytes must be between 1 and 4294967296/],
        [() => createSegment(1.5), RangeError, /^createSegment: sizeBytes must be an integer, got 1\.5/],
        [() => createSegment(64, { name: 7 as never }), TypeError, /^createSegment: name must be a string, got 7/],
        [
          () => mapSegment(seg.fd, { offsetBytes: 100 }),
          RangeError,
          /^mapSegment: offsetBytes must be a multiple of the page size \(\d+\), got 100/,
        ],
        [
          () => mapSegment(seg.fd, { offsetBytes: 2 * page }),
          RangeError,
          /^mapSegment: offsetBytes \d+ is not inside the file/,
        ],
        [
          () => mapSegment(seg.fd, { offsetBytes: page, sizeBytes: page + 1 }),
          RangeError,
          /^mapSegment: offsetBytes \+ sizeBytes = \d+ runs past the end of the file/,
        ],
        [() => mapSegment(seg.fd, { sizeBytes: 0 }), RangeError, /^mapSegment: sizeBytes must be between 1 and/],
        [() => openSegment(7 as never, {}), TypeError, /^openSegment: path must be a string, got 7/],
        [
          () => openSegment('/tmp/x', { create: true } as never),
          TypeError,
          /^openSegment: sizeBytes must be an integer, got undefined/,
        ],
      ];
      for (const [fn, type, message] of cases) expectThrow(fn, type, message);
      assert.equal(mapSegment(seg.fd).byteLength, 2 * page);
    } finally {
      seg.close();
    }
  });

  it('closed fds and fds of the wrong kind fail EBADF, ENOTSOCK or a TypeError saying what the fd is', () => {
    const seg = createSegment(4096);
    const [a, b] = socketPair();
    // Closed last, and used before anything else opens: its number designates no open file.
    const closed = createSegment(4096);
    closed.close();
    try {
      const errno = (fn: () => unknown, code: string, message: RegExp) =>
        assert.throws(fn, (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, code, e.message);
          assert.match(e.message, message);
          return true;
        });
      errno(
        () => mapSegment(closed.fd),
        'EBADF',
        /^mapSegment: fd \d+ is not an open file descriptor: fstat failed: EBADF/,
      );
      errno(() => peerCredentials(closed.fd), 'EBADF', /^peerCredentials: fd \d+ is not an open file descriptor/);
      errno(() => peerCredentials(seg.fd), 'ENOTSOCK', /^peerCredentials: fd \d+ is not a socket/);
      errno(() => sendFds(a, 'x', [closed.fd]), 'EBADF', /^sendFds: fds\[0\] = \d+ is not an open file descriptor/);
      errno(() => receiveFds(closed.fd), 'EBADF', /^receiveFds: fd \d+ is not an open file descriptor/);
      expectThrow(() => mapSegment(a), TypeError, /^mapSegment: fd \d+ is not a memfd or regular file/);
      expectThrow(() => ProcessWatch.fromPidfd(seg.fd).alive(), TypeError, /^pidfdAlive: fd \d+ is not a pidfd/);
      expectThrow(() => sendFds(a, '', [seg.fd]), RangeError, /^sendFds: data must hold at least one byte/);
      expectThrow(() => sendFds(a, 'x', [1.5]), TypeError, /^sendFds: fds\[0\] must be a file descriptor .*got 1\.5/);
      expectThrow(
        () => sendFds(a, 'x', 'nope' as never),
        TypeError,
        /^sendFds: fds must be an array of file descriptors/,
      );
      expectThrow(
        () => receiveFds(b, { maxFds: 300 }),
        RangeError,
        /^receiveFds: maxFds must be between 0 and 253, got 300/,
      );
      // None of these sent anything: the other end has nothing to read.
      assert.throws(() => receiveFds(b, { timeoutMs: 0 }), { code: 'ETIMEDOUT' });
    } finally {
      for (const fd of [a, b]) fs.closeSync(fd);
      seg.close();
    }
  });

  it('a message carrying more fds than maxFds is refused with every fd closed, and an empty socket times out ETIMEDOUT', () => {
    const [a, b] = socketPair();
    const segs = [createSegment(4096), createSegment(4096), createSegment(4096)];
    try {
      const fdsBefore = openFds();
      sendFds(
        a,
        'three',
        segs.map((s) => s.fd),
      );
      assert.throws(() => receiveFds(b, { maxFds: 2, timeoutMs: 1000 }), {
        name: 'RangeError',
        message: 'receiveFds: the message carried more than maxFds = 2 fds; all were closed',
      });
      assert.equal(openFds(), fdsBefore);
      const t0 = process.hrtime.bigint();
      assert.throws(() => receiveFds(b, { timeoutMs: 30 }), {
        code: 'ETIMEDOUT',
        message: 'receiveFds: nothing arrived within timeoutMs (ETIMEDOUT)',
      });
      assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 >= 29.9);
      fs.closeSync(a);
      assert.equal(receiveFds(b, { timeoutMs: 1000 }), null);
    } finally {
      fs.closeSync(b);
      for (const s of segs) s.close();
    }
  });
});
