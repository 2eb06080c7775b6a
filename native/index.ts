// The native addon's API: shared segments as SharedArrayBuffers, futex waiting with the shapes
// of Atomics.wait / waitAsync / notify (so one waiting primitive serves threads and processes),
// process liveness through pidfds, and Unix socket peer credentials and fd passing.
// Linux only; built from native/src by `npm ci`. Every function throws NativeUnavailableError
// (saying what is missing and how to get it) when the addon could not be built. See README.md.
import * as fs from 'fs';
import type * as net from 'net';
import { loadAddon, type PrefetchWrite, type RawAddon, type SpinWait } from './loader';

export {
  NativeUnavailableError,
  nativeAvailability,
  readBuildStatus,
  type BuildStatus,
  type PrefetchWrite,
  type SpinWait,
} from './loader';

let loaded: RawAddon | undefined;
/** The addon, loaded at the first call (which throws NativeUnavailableError when it cannot be). */
const addon = (): RawAddon => loaded ?? (loaded = loadAddon());

/** What the kernel offers here (futex_waitv: 5.16, pidfd_open: 5.3, SO_PEERPIDFD: 6.5). */
export function capabilities(): { futexWaitv: boolean; pidfd: boolean; peerPidfd: boolean } {
  return { ...addon().capabilities };
}

// ---------------------------------------------------------------------------------------------
// Shared segments

/** A mapped segment: its fd (close-on-exec) and the SharedArrayBuffer over its bytes. */
export interface Segment {
  /** The memfd or file descriptor: give it to a child in its stdio array, or send it with sendFds. */
  readonly fd: number;
  readonly buffer: SharedArrayBuffer;
  readonly sizeBytes: number;
  /** Closes the fd (idempotent). The mapping lives on until the buffer is garbage collected. */
  close(): void;
}

function segment(fd: number, buffer: SharedArrayBuffer): Segment {
  let open = true;
  return {
    fd,
    buffer,
    sizeBytes: buffer.byteLength,
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/**
 * A new zero-filled segment of `sizeBytes` (1 .. 4 GiB) in a memfd, sealed against shrinking
 * and growing: no process holding the fd can truncate it under another's mapping (SIGBUS).
 */
export function createSegment(sizeBytes: number, options: { name?: string } = {}): Segment {
  const s = addon().createSegment(sizeBytes, options.name ?? 'tessera');
  return segment(s.fd, s.buffer);
}

/**
 * A segment in a file (e.g. under /dev/shm): `create` makes a new one (failing EEXIST if the path
 * exists) of `sizeBytes`; otherwise the existing file is mapped (whole, or its first `sizeBytes`).
 * Files cannot be sealed: prefer a memfd unless processes must find the segment by name.
 */
export function openSegment(
  path: string,
  options: { create: true; sizeBytes: number } | { create?: false; sizeBytes?: number },
): Segment {
  const s = addon().openSegment(path, options.create === true, options.sizeBytes);
  return segment(s.fd, s.buffer);
}

/** Maps an existing memfd or file (inherited, or received with receiveFds): the whole of it by default. */
export function mapSegment(fd: number, options: { offsetBytes?: number; sizeBytes?: number } = {}): SharedArrayBuffer {
  return addon().mapSegment(fd, options.offsetBytes ?? 0, options.sizeBytes);
}

/** The seals of a memfd (all false on a file): check `shrink` before trusting a segment you received. */
export function segmentSeals(fd: number): { shrink: boolean; grow: boolean; write: boolean; seal: boolean } {
  return addon().segmentSeals(fd);
}

export function pageSizeBytes(): number {
  return addon().pageSizeBytes;
}

// ---------------------------------------------------------------------------------------------
// Futex waiting, cross-process, with the shapes of Atomics.wait / waitAsync / notify

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
export type WaitAsyncResult =
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<WaitResult> };

/**
 * The waiting trio, as a value: `threadWaiting` (V8's Atomics: threads of one process) and
 * `processWaiting` (futex: any process mapping the segment) have this shape, so code that sleeps
 * and wakes on shared words takes one of them and works in both settings.
 */
export interface Waiting {
  wait(i32: Int32Array, index: number, value: number, timeoutMs?: number): WaitResult;
  waitAsync(i32: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult;
  notify(i32: Int32Array, index: number, count?: number): number;
}

/**
 * Blocks this thread while i32[index] === value, up to timeoutMs (default: forever). "ok": woken
 * by a notify from any process (or, rarely, spuriously: re-check the word); "not-equal": the word
 * differed; "timed-out". A signal does not end the wait early.
 */
export function wait(i32: Int32Array, index: number, value: number, timeoutMs?: number): WaitResult {
  return addon().wait(i32, index, value, timeoutMs);
}

/**
 * As Atomics.waitAsync: {async: false} when the word differs already or timeoutMs is 0, else a
 * promise that settles on the event loop. Each pending wait holds one thread of a small pool
 * (the event loop cannot sleep on a futex) and keeps the process alive until it settles; the
 * promise may also resolve "not-equal" (the word changed before the pool thread slept).
 */
export function waitAsync(i32: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult {
  return addon().waitAsync(i32, index, value, timeoutMs);
}

/** Wakes up to `count` (default all) waiters on i32[index], in every process; returns how many woke. */
export function notify(i32: Int32Array, index: number, count?: number): number {
  return addon().notify(i32, index, count);
}

/** One word of a shared segment and the value a waiter expects it to hold (waitAny). */
export interface WaitWord {
  i32: Int32Array;
  index: number;
  value: number;
}

/**
 * Blocks this thread while every word holds its value, up to timeoutMs (default forever): one
 * futex_waitv (Linux 5.16) over 1 to 128 words, possibly in different segments. "ok": a notify on
 * one of them (from any process) woke it, or a spurious wake: re-check the words; "not-equal": a
 * word differed already. A server waiting for any of its clients sleeps once, on one word in each
 * client's own segment, so no client can write (or hold still) another's word. Throws ENOSYS
 * where the kernel lacks futex_waitv (capabilities().futexWaitv).
 */
export function waitAny(words: readonly WaitWord[], timeoutMs?: number): WaitResult {
  return addon().waitAny(words, timeoutMs);
}

/**
 * Gives this thread's CPU to another runnable thread, if any (sched_yield). A thread spinning for
 * a word that another process will write calls it when spinning threads may outnumber CPUs, so
 * that the writer gets the CPU instead of waiting for the end of the spinner's time slice.
 */
export function yieldCpu(): void {
  addon().yieldCpu();
}

/** The CPU the calling thread runs on now (sched_getcpu), or -1 when the kernel cannot say. */
export function currentCpu(): number {
  return addon().currentCpu();
}

/** What ended a spinWait. */
export const SPIN_TIMED_OUT = 0;
export const SPIN_EQUALS = 1;
export const SPIN_CHANGED = 2;

/**
 * Spins until `i32[wantIndex] === want` (1), or else `i32[seenIndex] !== seen` (2), or until
 * `budgetMs` passed (0); an index of -1 leaves its word out. The loop polls with the CPU's
 * spin-wait hint (x86 PAUSE, arm64 YIELD), which JavaScript cannot issue: without it a polling
 * core keeps requesting the line its peer is about to write and pays a pipeline flush when the
 * value changes. Between two processes on a 2-vCPU AMD EPYC VM a bare ping-pong spinning here took
 * 0.99-1.16 us per round trip against 1.26-1.34 us spinning on `Atomics.load` in JavaScript.
 */
export function spinWait(...args: Parameters<SpinWait>): 0 | 1 | 2 {
  return addon().spinWait(...args);
}

/** The most indices one prefetchWrite takes. */
export const PREFETCH_MAX = 8;

/**
 * Asks the core for the line of each word `i32[index]` in a state it may write (x86 PREFETCHW,
 * arm64 PRFM PSTL1KEEP) and returns without waiting for any (at most 8 indices; -1 leaves a place
 * empty). A hint: nothing is read or written, and a line another core writes meanwhile just moves
 * back. Code about to write several lines that another process wrote last starts all the transfers
 * at once, where its loads and stores would meet each miss in turn; JavaScript has no way to ask
 * for a line without waiting for it.
 */
export function prefetchWrite(...args: Parameters<PrefetchWrite>): void {
  addon().prefetchWrite(...args);
}

/** Futex waiting: reaches every process that maps the segment (and threads of this one). */
export const processWaiting: Waiting = { wait, waitAsync, notify };

/** V8's Atomics: threads of one process only (a futex notify does not reach them, nor they it). */
export const threadWaiting: Waiting = {
  wait: (i32, index, value, timeoutMs) => Atomics.wait(i32, index, value, timeoutMs),
  waitAsync: (i32, index, value, timeoutMs) => Atomics.waitAsync(i32, index, value, timeoutMs) as WaitAsyncResult,
  notify: (i32, index, count) => Atomics.notify(i32, index, count),
};

// ---------------------------------------------------------------------------------------------
// Process liveness

/**
 * One process, through a pidfd: unlike a pid, it can never come to mean another process. Dead
 * means terminated (exited or killed), whether or not its parent has reaped it yet.
 */
export class ProcessWatch {
  private fdOpen = true;
  private watchId: number | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  private constructor(
    /** The pid the watch was opened for (null when the kernel gave the pidfd without it). */
    readonly pid: number | null,
    readonly fd: number,
  ) {}

  /** Watches `pid`; ESRCH (an error with code "ESRCH") when no such process exists any more. */
  static open(pid: number): ProcessWatch {
    return new ProcessWatch(pid, addon().pidfdOpen(pid));
  }

  /** Adopts a pidfd obtained elsewhere (e.g. received with receiveFds); close() closes it. */
  static fromPidfd(fd: number, pid: number | null = null): ProcessWatch {
    return new ProcessWatch(pid, fd);
  }

  /**
   * Watches the process at the other end of a connected Unix socket: with SO_PEERPIDFD (Linux 6.5)
   * exactly that process; before, the pid SO_PEERCRED reports (a pid the peer may have left).
   */
  static ofPeer(socket: net.Socket | number): ProcessWatch {
    const fd = socketFd(socket);
    const a = addon();
    const { pid } = a.peerCredentials(fd);
    if (a.capabilities.peerPidfd) return new ProcessWatch(pid, a.peerPidfd(fd));
    return new ProcessWatch(pid, a.pidfdOpen(pid));
  }

  /** Whether the process is still running (a poll of the pidfd; never blocks). */
  alive(): boolean {
    this.checkOpen('alive');
    return addon().pidfdAlive(this.fd);
  }

  /** Blocks up to timeoutMs (default forever); true when the process has terminated. */
  waitExit(timeoutMs?: number): boolean {
    this.checkOpen('waitExit');
    return addon().pidfdWaitExit(this.fd, timeoutMs);
  }

  /**
   * Resolves once the process has terminated (at once if it has), on the event loop, without a
   * thread. The watch keeps the process alive while pending unless keepAlive is false (the calls
   * pending together share one watch: the first one's keepAlive applies). Rejects if the watch is
   * closed first.
   */
  exited(options: { keepAlive?: boolean } = {}): Promise<void> {
    this.checkOpen('exited');
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.watchId !== null) return;
      this.watchId = addon().pidfdWatch(
        this.fd,
        (error) => {
          this.watchId = null;
          const ws = this.waiters.splice(0);
          for (const w of ws)
            if (error) w.reject(error);
            else w.resolve();
        },
        options.keepAlive !== false,
      );
    });
  }

  /** Stops watching and closes the pidfd (idempotent); pending exited() promises reject. */
  close(): void {
    if (!this.fdOpen) return;
    if (this.watchId !== null) addon().pidfdUnwatch(this.watchId);
    this.watchId = null;
    fs.closeSync(this.fd);
    this.fdOpen = false;
    for (const w of this.waiters.splice(0)) w.reject(new Error(`ProcessWatch of pid ${this.pid} closed`));
  }

  private checkOpen(what: string): void {
    if (!this.fdOpen) throw new Error(`ProcessWatch.${what}: the watch of pid ${this.pid} is closed`);
  }
}

/** Whether `pid` names a running process now (a one-off check; hold a ProcessWatch to follow one process). */
export function processAlive(pid: number): boolean {
  let watch: ProcessWatch;
  try {
    watch = ProcessWatch.open(pid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
  try {
    return watch.alive();
  } finally {
    watch.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Unix sockets

/** The fd of a connected net.Socket (a Unix socket Node opened), or an fd given as a number. */
export function socketFd(socket: net.Socket | number): number {
  if (typeof socket === 'number') return socket;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new TypeError('socketFd: the socket has no file descriptor (not connected yet, or destroyed)');
  return fd;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * SO_PEERCRED: the pid, uid and gid of the process that connected the socket (for a socketPair,
 * the process that created it), as the kernel recorded them, never as the peer claims.
 */
export function peerCredentials(socket: net.Socket | number): PeerCredentials {
  return addon().peerCredentials(socketFd(socket));
}

/** A connected pair of Unix sockets (close-on-exec): seqpacket keeps message boundaries (default). */
export function socketPair(options: { seqpacket?: boolean } = {}): [number, number] {
  return addon().socketPair(options.seqpacket !== false);
}

/**
 * Sends `data` (at least one byte) with `fds` attached (SCM_RIGHTS; at most 253), waiting up to
 * timeoutMs (default forever) for room. The receiver gets new descriptors for the same files.
 */
export function sendFds(
  socket: net.Socket | number,
  data: Uint8Array | string,
  fds: number[],
  timeoutMs?: number,
): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  addon().sendFds(socketFd(socket), bytes, fds, timeoutMs);
}

/**
 * Receives one message (at most maxBytes, default 4096) and the fds it carries (at most maxFds,
 * default 16; more is an error, and all are closed), waiting up to timeoutMs (default forever:
 * ETIMEDOUT after). null at end of stream. Use it on a socket no net.Socket reads: Node's reads
 * would drop the fds. The received fds are close-on-exec; close them when done.
 */
export function receiveFds(
  socket: net.Socket | number,
  options: { maxBytes?: number; maxFds?: number; timeoutMs?: number } = {},
): { data: Uint8Array; fds: number[] } | null {
  return addon().receiveFds(socketFd(socket), options.maxBytes ?? 4096, options.maxFds ?? 16, options.timeoutMs);
}
