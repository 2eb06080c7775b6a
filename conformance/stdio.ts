// The suite's side of the stdio driver protocol: a Driver that talks JSON lines
// to a child process (conformance/README.md). Every line from the child is
// read with a bound on its length and validated; any fault of the child (a line
// that is not JSON, not an object, too long or against the schema, an unknown or
// duplicate id, silence past a deadline, exit) becomes a DriverError naming the
// offending line, never a crash or a hang of the suite. Every wait has a stated
// bound, and ending the driver ends its whole process group (driver-process.ts).
import type { Readable, Writable } from 'stream';
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { DriverError, PROTOCOL_VERSION, protocolMismatch, type Driver, type DriverInfo } from '../protocol/driver';
import type { DriverRequest, DriverResponse } from '../protocol/wire';
import { readResponseLine } from '../protocol/validate';
import { MAX_LINE_BYTES, readLines } from '../protocol/lines';
import { startDriverProcess } from './driver-process';
import { stderrExcerpt } from './stderr';
import type { WireListener, WireTap } from './transcript';

/** The defaults of the stated waits (milliseconds). */
export const STDIO_DEFAULTS = {
  requestTimeoutMs: 10_000,
  /** init includes starting the process, which can take many seconds on a loaded machine. */
  startupTimeoutMs: 60_000,
  shutdownTimeoutMs: 2000,
  killGraceMs: 1000,
} as const;

/** The longest wait setTimeout keeps (a longer one fires at once). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export interface StdioDriverOptions {
  /** A shell command line that starts the implementation's driver. */
  command: string;
  /** How long any request but init may wait for its response (default 10 s). */
  requestTimeoutMs?: number;
  /** How long init may wait: it includes starting the process (default: max(60 s, requestTimeoutMs)). */
  startupTimeoutMs?: number;
  /** How long close waits for shutdown_ok, and then for the driver to exit, before ending it (default 2 s). */
  shutdownTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when the driver's process group is ended (default 1 s). */
  killGraceMs?: number;
  /** The longest line read from the driver (bytes; default 16 MiB). */
  maxLineBytes?: number;
  cwd?: string;
  /** Each stderr line of the child, as it comes (default: kept, shown on failure). */
  onStderr?: (line: string) => void;
}

/** Where the driver's lines go and come from: a child process, or streams in a test. */
export interface DriverChannel {
  /** What the driver writes (its stdout). */
  output: Readable;
  /** What the driver reads (its stdin). */
  input: Writable;
  /** Its log (stderr), when there is one. */
  log?: Readable;
  /** Called once when the driver exits (or could not start), with how. */
  onExit(listener: (how: string) => void): void;
  /** Resolves when the driver has exited or after `timeoutMs`; true when it exited. */
  waitExit(timeoutMs: number): Promise<boolean>;
  /** Ends the driver whatever it does; idempotent; resolves within a stated bound. */
  terminate(): Promise<void>;
}

type Waiting = {
  request: DriverRequest;
  resolve: (r: DriverResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};
const EXPECTED: Record<DriverRequest['type'], DriverResponse['type']> = {
  init: 'init_ok',
  reset: 'reset_ok',
  invoke: 'invoke_ok',
  shutdown: 'shutdown_ok',
};

export interface StdioDriver extends Driver, WireTap {
  /** The last lines the child wrote on stderr. */
  stderrTail(): string;
}

/** The longest stderr line kept (characters). */
const STDERR_LINE_CHARS = 2000;
/** The first stderr lines kept (the exception of a driver that crashed at once is there). */
const STDERR_HEAD_LINES = 40;
/** A driver's exit can come before its last stdout lines are read: they get this long. */
const EXIT_SETTLE_MS = 50;

/** The version mismatch an init_ok of another protocol version shows, or null. */
function otherProtocol(line: string): string | null {
  let init: { type?: unknown; info?: { protocolVersion?: unknown } } | null;
  try {
    init = JSON.parse(line);
  } catch {
    return null;
  }
  if (init?.type !== 'init_ok' || init.info?.protocolVersion === PROTOCOL_VERSION) return null;
  return protocolMismatch(init.info?.protocolVersion);
}

/** A child process's stdio as a DriverChannel. */
function processChannel(options: StdioDriverOptions): DriverChannel {
  const p = startDriverProcess({ command: options.command, cwd: options.cwd, killGraceMs: options.killGraceMs });
  return {
    output: p.child.stdout,
    input: p.child.stdin,
    log: p.child.stderr,
    onExit(listener) {
      p.child.once('exit', (code, signal) => listener(signal ?? `code ${code}`));
      p.child.once('error', (err) =>
        listener(`could not start the driver "${options.command}": ${(err as Error).message}`),
      );
    },
    waitExit: p.waitExit,
    terminate: p.terminate,
  };
}

export function createStdioDriver(options: StdioDriverOptions): StdioDriver {
  return createChannelDriver(() => processChannel(options), options);
}

/** The protocol over any channel (createStdioDriver's core; tests drive it over in-memory streams). */
export function createChannelDriver(
  open: () => DriverChannel,
  options: Omit<StdioDriverOptions, 'command' | 'cwd'> = {},
): StdioDriver {
  return new ChannelDriver(open, options);
}

type Body = DriverRequest extends infer R ? (R extends DriverRequest ? Omit<R, 'id'> : never) : never;

class ChannelDriver implements StdioDriver {
  private readonly timeoutMs: number;
  private readonly startupMs: number;
  private readonly shutdownMs: number;
  private channel: DriverChannel | null = null;
  private broken: DriverError | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly answered = new Set<number>();
  private readonly stderr: string[] = [];
  private readonly stderrHead: string[] = [];
  private stderrLines = 0;
  private wire: WireListener | null = null;
  private readonly stops: (() => void)[] = [];
  private listener: (c: Completion) => void = () => {};

  constructor(
    private readonly open: () => DriverChannel,
    private readonly options: Omit<StdioDriverOptions, 'command' | 'cwd'>,
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? STDIO_DEFAULTS.requestTimeoutMs;
    this.startupMs = options.startupTimeoutMs ?? Math.max(STDIO_DEFAULTS.startupTimeoutMs, this.timeoutMs);
    this.shutdownMs = options.shutdownTimeoutMs ?? STDIO_DEFAULTS.shutdownTimeoutMs;
  }

  private tail(): string {
    return stderrExcerpt(this.stderrHead, this.stderr, this.stderrLines);
  }

  tapWire(listener: WireListener): void {
    this.wire = listener;
  }

  /** The driver is unusable: every waiting request fails with `err`, and the driver is ended. */
  private fail(err: DriverError): void {
    if (this.broken) return;
    this.broken = err;
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
    void this.channel?.terminate();
  }

  private onLine(line: string): void {
    if (this.broken || line.trim() === '') return;
    this.wire?.('<', line);
    const read = readResponseLine(line);
    if (!read.ok) {
      // A driver of another protocol version gets that said, not the schema violations its messages then make.
      const mismatch = otherProtocol(line);
      if (mismatch !== null) return this.fail(new DriverError(`${mismatch}${this.tail()}`, line));
      this.fail(
        new DriverError(`protocol error: the driver wrote a line it should not: ${read.message}${this.tail()}`, line),
      );
      return;
    }
    const msg = read.value;
    if (msg.type === 'completion') {
      this.listener(msg.completion);
      return;
    }
    if (msg.id === null) {
      const text = (msg as { message: string }).message;
      this.fail(new DriverError(`the driver reported an error without a request id: ${text}${this.tail()}`, line));
      return;
    }
    const w = this.waiting.get(msg.id);
    if (!w) {
      this.fail(
        new DriverError(
          this.answered.has(msg.id)
            ? `protocol error: a second response to request #${msg.id}`
            : `protocol error: a response to request #${msg.id}, which was never sent`,
          line,
        ),
      );
      return;
    }
    this.waiting.delete(msg.id);
    this.answered.add(msg.id);
    clearTimeout(w.timer);
    const problem =
      msg.type === 'error'
        ? new DriverError(
            `the driver could not handle request #${msg.id} (${w.request.type}): ${msg.message}${this.tail()}`,
            line,
          )
        : msg.type !== EXPECTED[w.request.type]
          ? new DriverError(`protocol error: request #${msg.id} (${w.request.type}) answered with ${msg.type}`, line)
          : null;
    if (problem) {
      // This request is no longer waiting: fail() rejects the others, this one is rejected here.
      this.fail(problem);
      w.reject(this.broken ?? problem);
      return;
    }
    w.resolve(msg);
  }

  private onStderr(l: string): void {
    const kept = l.length > STDERR_LINE_CHARS ? l.slice(0, STDERR_LINE_CHARS) + '...' : l;
    if (this.stderrHead.length < STDERR_HEAD_LINES) this.stderrHead.push(kept);
    this.stderrLines++;
    this.stderr.push(kept);
    if (this.stderr.length > 200) this.stderr.shift();
    this.options.onStderr?.(l);
  }

  private onExit(c: DriverChannel, how: string): void {
    if (!this.broken && this.waiting.size > 0) {
      // Give stdout a moment to deliver lines written just before exit.
      setTimeout(() => {
        const unanswered = this.waiting.size;
        this.fail(new DriverError(`the driver exited (${how}) with ${unanswered} request(s) unanswered${this.tail()}`));
      }, EXIT_SETTLE_MS);
    } else if (!this.broken) {
      this.broken = new DriverError(`the driver exited (${how})${this.tail()}`);
      void c.terminate();
    }
  }

  private connect(): DriverChannel {
    const c = this.open();
    const maxLineBytes = this.options.maxLineBytes ?? MAX_LINE_BYTES;
    const overlong = (head: string, max: number) =>
      this.fail(
        new DriverError(
          `protocol error: the driver wrote a line longer than ${max} bytes, the longest a line may be${this.tail()}`,
          head + '...',
        ),
      );
    this.stops.push(readLines(c.output, { line: (l) => this.onLine(l), overlong }, maxLineBytes));
    if (c.log) {
      const cut = (head: string) => this.stderr.push(head + '... (a line longer than the bound, cut)');
      this.stops.push(readLines(c.log, { line: (l) => this.onStderr(l), overlong: cut }, maxLineBytes));
    }
    c.input.on('error', () => {
      /* the driver stopped reading: reported by its exit or a deadline */
    });
    c.onExit((how) => this.onExit(c, how));
    return c;
  }

  private request<T extends DriverResponse>(body: Body, deadlineMs = this.timeoutMs): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    this.channel ??= this.connect();
    const c = this.channel;
    const id = this.nextId++;
    const req = { ...body, id } as DriverRequest;
    const what = `${req.type}${req.type === 'invoke' ? ` ${req.op.op}` : ''}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new DriverError(`the driver did not answer request #${id} (${what}) within ${deadlineMs} ms${this.tail()}`),
          ),
        deadlineMs,
      );
      this.waiting.set(id, { request: req, resolve: resolve as (r: DriverResponse) => void, reject, timer });
      const line = JSON.stringify(req);
      this.wire?.('>', line);
      c.input.write(line + '\n');
    });
  }

  async init(): Promise<DriverInfo> {
    const r = await this.request<{ type: 'init_ok'; id: number; info: DriverInfo }>(
      { type: 'init', protocolVersion: PROTOCOL_VERSION },
      this.startupMs,
    );
    if (r.info.protocolVersion !== PROTOCOL_VERSION) {
      this.fail(new DriverError(protocolMismatch(r.info.protocolVersion)));
      throw this.broken;
    }
    return r.info;
  }

  async reset(limits: Limits): Promise<Limits> {
    return (await this.request<{ type: 'reset_ok'; id: number; limits: Limits }>({ type: 'reset', limits })).limits;
  }

  async invoke(op: Operation): Promise<Invocation> {
    const r = await this.request<{ type: 'invoke_ok'; id: number; invocation: Invocation }>({
      type: 'invoke',
      op: op as never,
    });
    return r.invocation;
  }

  onCompletion(l: (c: Completion) => void): void {
    this.listener = l;
  }

  async close(): Promise<void> {
    if (!this.channel) return;
    const c = this.channel;
    if (!this.broken) {
      try {
        await this.request({ type: 'shutdown' }, this.shutdownMs);
      } catch {
        /* reported already, or the driver is ended below */
      }
    }
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    c.input.end();
    // A driver exits after shutdown_ok; then its group is ended anyway, for any helper it left.
    await c.waitExit(this.shutdownMs);
    await c.terminate();
    this.stops.splice(0).forEach((stop) => stop());
    this.broken = this.broken ?? new DriverError('the driver was closed');
  }

  stderrTail(): string {
    return this.stderr.slice(-8).join('\n');
  }
}
