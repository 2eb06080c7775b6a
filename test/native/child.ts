// The other process (or worker thread) of the native tests, started from the compiled
// dist/test/native/child.js. argv[2] (or workerData.role) picks what it does; results go back
// over the IPC channel (fork) or stdout (spawn without IPC).
import { once } from 'events';
import { parentPort, Worker, workerData } from 'worker_threads';
import * as net from 'net';
import {
  capabilities,
  createSegment,
  mapSegment,
  notify,
  receiveFds,
  segmentSeals,
  wait,
  waitAsync,
} from '../../native';
import { WORDS } from './words';

const send = (m: unknown) => process.send!(m);

function readSegment(fd: number): void {
  const i32 = new Int32Array(mapSegment(fd));
  const seen = Atomics.load(i32, WORDS.magic);
  Atomics.store(i32, WORDS.echo, seen + 1);
  send({ seen, bytes: i32.byteLength });
}

/** Echoes every ping seq into pong, sleeping in a blocking futex wait whenever ping has not moved. */
function pong(fd: number, rounds: number): void {
  const i32 = new Int32Array(mapSegment(fd));
  let seen = 0;
  let slept = 0;
  let notEqual = 0;
  send({ ready: true });
  while (seen < rounds) {
    let v = Atomics.load(i32, WORDS.ping);
    while (v === seen) {
      const r = wait(i32, WORDS.ping, seen, 30_000);
      if (r === 'ok') slept++;
      else if (r === 'not-equal') notEqual++;
      else throw new Error('pong: no ping within 30 s');
      v = Atomics.load(i32, WORDS.ping);
    }
    if (v !== seen + 1) throw new Error(`pong: ping jumped from ${seen} to ${v}`);
    seen = v;
    Atomics.store(i32, WORDS.pong, seen);
    notify(i32, WORDS.pong);
  }
  send({ rounds: seen, slept, notEqual });
}

function receiveSegment(socketFd: number): void {
  const got = receiveFds(socketFd, { maxBytes: 64, maxFds: 4, timeoutMs: 30_000 });
  if (got === null) throw new Error('receive-fd: end of stream');
  const [fd] = got.fds;
  const i32 = new Int32Array(mapSegment(fd));
  const seen = Atomics.load(i32, WORDS.magic);
  Atomics.store(i32, WORDS.echo, seen * 2);
  send({ text: Buffer.from(got.data).toString(), fds: got.fds.length, seen, seals: segmentSeals(fd) });
}

function connect(socketPath: string): void {
  const sock = net.createConnection(socketPath, () => send({ connected: true, pid: process.pid }));
  sock.on('error', (e) => send({ error: e.message }));
}

async function main(): Promise<void> {
  if (parentPort) {
    // A worker thread: leave a waitAsync pending forever and say so; the test terminates us.
    const i32 = new Int32Array(mapSegment((workerData as { fd: number }).fd));
    const r = waitAsync(i32, WORDS.ping, Atomics.load(i32, WORDS.ping));
    parentPort.postMessage({ waiting: r.async });
    if (r.async) parentPort.postMessage({ settled: await r.value });
    return;
  }
  const [mode, arg] = process.argv.slice(2);
  switch (mode) {
    case 'read-segment':
      return readSegment(4);
    case 'pong':
      return pong(4, Number(arg));
    case 'receive-fd':
      return receiveSegment(4);
    case 'store-later': {
      // Stores arg into the ping word 30 ms after saying it is ready: the parent spins meanwhile.
      const i32 = new Int32Array(mapSegment(4));
      send({ ready: true });
      setTimeout(() => {
        Atomics.store(i32, WORDS.ping, Number(arg));
        send({ stored: true });
      }, 30);
      return;
    }
    case 'sleep':
      setInterval(() => undefined, 1000);
      send({ ready: true });
      return;
    case 'connect':
      return connect(arg);
    case 'worker-teardown': {
      // A worker thread ended with a waitAsync pending: its pool thread is cancelled and joined
      // (futex_waitv's cancel word, or the fallback's wake of the shared word), and this process
      // goes on waiting as before.
      const seg = createSegment(4096);
      const worker = new Worker(__filename, { workerData: { fd: seg.fd } });
      const [first] = (await once(worker, 'message')) as [{ waiting: boolean }];
      await new Promise((r) => setTimeout(r, 20)); // let the pool thread reach the kernel
      const exit = once(worker, 'exit');
      await worker.terminate();
      const [code] = (await exit) as [number];
      const r = waitAsync(new Int32Array(seg.buffer), WORDS.ping, 0, 5);
      const after = r.async ? await r.value : r.value;
      send({ futexWaitv: capabilities().futexWaitv, waiting: first.waiting, code, after });
      return;
    }
    case 'exit-while-waiting': {
      // A pending waitAsync holds a pool thread blocked in the kernel: exit must still be clean.
      const i32 = new Int32Array(mapSegment(4));
      const r = waitAsync(i32, WORDS.ping, Atomics.load(i32, WORDS.ping));
      send({ waiting: r.async });
      setTimeout(() => process.exit(0), 50);
      return;
    }
    case 'wait-async-alone': {
      // No IPC channel, no timer: only the pending waitAsync keeps this process alive until it settles.
      const i32 = new Int32Array(new SharedArrayBuffer(64));
      const r = waitAsync(i32, 0, 0, Number(arg));
      if (r.async) process.stdout.write(`settled ${await r.value}\n`);
      return;
    }
    default:
      throw new Error(`child: unknown mode ${mode}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
