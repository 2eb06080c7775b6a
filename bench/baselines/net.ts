/**
 * Baseline 4: Node `net` over a Unix domain socket between two processes (the child is forked
 * from the compiled net-child.js). 4-byte length-prefixed frames.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { BenchRecord, emptyRecord, Log, noLog, PingPongClock, rttStats, siblingEntry } from './common';
import { FrameReader, makeFrame } from './frames';
import { pinStarted } from './pin';
import { sizeLabel } from './sab';

interface Conn {
  server: net.Server;
  sock: net.Socket;
  child: ChildProcess;
  socketPath: string;
}

let connSeq = 0;

/** Listen on a fresh socket path, fork the child with args, and wait for it to connect. */
function connectChild(args: string[], timeoutMs: number): Promise<Conn> {
  const socketPath = path.join(os.tmpdir(), `tessera-bench-${process.pid}-${++connSeq}.sock`);
  fs.rmSync(socketPath, { force: true });
  return new Promise<Conn>((resolve, reject) => {
    const server = net.createServer();
    let child: ChildProcess | undefined;
    const timer = setTimeout(() => {
      child?.kill();
      server.close();
      reject(new Error('net child did not connect'));
    }, timeoutMs);
    server.once('error', reject);
    server.once('connection', (sock) => {
      clearTimeout(timer);
      resolve({ server, sock, child: child!, socketPath });
    });
    server.listen(socketPath, () => {
      const { file, execArgv } = siblingEntry(__dirname, 'net-child');
      child = fork(file, [socketPath, ...args], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      pinStarted(child.pid);
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`net child exited with ${code}`));
      });
    });
  });
}

async function closeConn(c: Conn): Promise<void> {
  const exited = new Promise<void>((res) => {
    if (c.child.exitCode !== null || c.child.signalCode !== null) res();
    else c.child.once('exit', () => res());
  });
  c.sock.end();
  c.child.disconnect?.();
  await exited;
  await new Promise<void>((res) => c.server.close(() => res()));
  fs.rmSync(c.socketPath, { force: true });
}

export interface NetPingPongOptions {
  /** Measured round trips (default 100k). */
  iterations?: number;
  /** Warm-up round trips (default 10k). */
  warmup?: number;
  msgSize?: number;
  /** Stop the measured phase early after this many ms (default 7000). */
  maxMs?: number;
  log?: Log;
}

export async function netPingPong(opts: NetPingPongOptions = {}): Promise<BenchRecord> {
  const iterations = opts.iterations ?? 100_000;
  const warmup = opts.warmup ?? 10_000;
  const msgSize = opts.msgSize ?? 64;
  const maxMs = opts.maxMs ?? 7000;
  const log = opts.log ?? noLog;
  const c = await connectChild(['echo'], 30_000);
  let r: { done: number; samples: Float64Array; elapsedNs: number };
  try {
    r = await pingOverSocket(c.sock, msgSize, warmup, iterations, maxMs);
  } finally {
    await closeConn(c);
  }
  const { medianUs, p99Us } = rttStats(r.samples, r.done);
  const rec = emptyRecord(
    'net.pingpong',
    `${sizeLabel(msgSize)} Unix socket, 2 processes (fork), length-prefixed; rtt: hrtime every RT`,
  );
  rec.medianRttUs = medianUs;
  rec.p99RttUs = p99Us;
  rec.samples = r.done;
  log(
    `  net.pingpong: ${r.done} RTs in ${(r.elapsedNs / 1e6).toFixed(0)} ms${r.done < iterations ? ` [stopped early at ${maxMs} ms]` : ''}`,
  );
  return rec;
}

function pingOverSocket(
  sock: net.Socket,
  msgSize: number,
  warmup: number,
  iterations: number,
  maxMs: number,
): Promise<{ done: number; samples: Float64Array; elapsedNs: number }> {
  return new Promise((resolve, reject) => {
    const frame = makeFrame(msgSize, 9);
    const clock = new PingPongClock(warmup, iterations, maxMs);
    const reader = new FrameReader(function onPongFrame(buf: Buffer, start: number, len: number) {
      if (len !== msgSize || buf[start] !== 9) return reject(new Error('net: bad echo'));
      if (clock.pong()) {
        clock.ping();
        sock.write(frame);
        return;
      }
      sock.removeListener('data', onPingData);
      resolve(clock.result());
    });
    function onPingData(chunk: Buffer): void {
      reader.push(chunk);
    }
    sock.on('data', onPingData);
    sock.once('error', reject);
    clock.ping();
    sock.write(frame);
  });
}

export interface NetStreamOptions {
  /** Measured messages (default 1M; ~16k for 64 KiB). */
  count?: number;
  /** Warm-up messages (default count/10). */
  warmup?: number;
  msgSize?: number;
  /** The sender stops early after this many ms of the measured phase (default 7000). */
  maxMs?: number;
  log?: Log;
}

export async function netStream(opts: NetStreamOptions = {}): Promise<BenchRecord> {
  const msgSize = opts.msgSize ?? 64;
  const count = opts.count ?? 1_000_000;
  const warmup = opts.warmup ?? Math.max(1, Math.floor(count / 10));
  const maxMs = opts.maxMs ?? 7000;
  const log = opts.log ?? noLog;
  const c = await connectChild(['sink'], 30_000);
  let elapsedNs: number;
  let sent: number;
  try {
    const frame = makeFrame(msgSize, 5);
    await sendFrames(c.sock, frame, warmup, 0n);
    const t0 = process.hrtime.bigint();
    sent = await sendFrames(c.sock, frame, count, t0 + BigInt(Math.round(maxMs * 1e6)));
    elapsedNs = Number(process.hrtime.bigint() - t0);
  } finally {
    await closeConn(c);
  }
  const rec = emptyRecord(
    'net.stream',
    `${sizeLabel(msgSize)} one-way Unix socket, 2 processes, one write() per message, until acked`,
  );
  rec.msgsPerSec = (sent * 1e9) / elapsedNs;
  rec.bytesPerSec = (sent * msgSize * 1e9) / elapsedNs;
  rec.samples = sent;
  log(
    `  net.stream ${sizeLabel(msgSize)}: ${sent} msgs in ${(elapsedNs / 1e6).toFixed(1)} ms${sent < count ? ` [stopped early at ${maxMs} ms]` : ''}`,
  );
  return rec;
}

const END_FRAME = Buffer.alloc(4); // empty frame: end of phase

/**
 * Write up to n frames (one socket.write each, honouring back-pressure; stopping early once
 * `deadlineNs` has passed, 0n = no deadline), then an end frame, and wait for the sink's count.
 * Resolves with the number of frames sent (checked against the sink's count).
 */
function sendFrames(sock: net.Socket, frame: Buffer, n: number, deadlineNs: bigint): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let sent = 0;
    const reader = new FrameReader(function onAckFrame(buf: Buffer, start: number, len: number) {
      if (len !== 4) return reject(new Error('net: unexpected frame from sink'));
      const got = buf.readUInt32LE(start);
      sock.removeListener('data', onAckData);
      sock.removeListener('error', reject);
      if (got !== sent) return reject(new Error(`net: sink counted ${got} frames, sent ${sent}`));
      resolve(sent);
    });
    function onAckData(chunk: Buffer): void {
      reader.push(chunk);
    }
    function pump(): void {
      while (sent < n) {
        sent++;
        const more = sock.write(frame);
        if ((sent & 1023) === 0 && deadlineNs > 0n && process.hrtime.bigint() > deadlineNs) break;
        if (!more) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.write(END_FRAME);
    }
    sock.on('data', onAckData);
    sock.on('error', reject);
    pump();
  });
}
