// The suite's side of the stdio driver protocol: a Driver that talks JSON lines
// to a child process (conformance/README.md). Every line from the child is
// validated; any fault of the child (bad JSON, a schema violation, an unknown
// or duplicate id, silence past a deadline, exit) becomes a DriverError naming
// the offending line, never a crash or a hang of the suite.
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as readline from 'readline';
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import { DriverError, PROTOCOL_VERSION, protocolMismatch, type Driver, type DriverInfo } from '../protocol/driver';
import type { DriverRequest, DriverResponse } from '../protocol/wire';
import { wire } from '../protocol/validate';

export interface StdioDriverOptions {
  /** A shell command line that starts the implementation's driver. */
  command: string;
  /** How long any request may wait for its response. */
  requestTimeoutMs?: number;
  /** How long the init request may wait: it includes starting the process (default 60 s, at least requestTimeoutMs). */
  startupTimeoutMs?: number;
  cwd?: string;
  /** Each stderr line of the child, as it comes (default: kept, shown on failure). */
  onStderr?: (line: string) => void;
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

export interface StdioDriver extends Driver {
  /** The last lines the child wrote on stderr. */
  stderrTail(): string;
}

/** A driver of another protocol version gets that said, not the schema violations its messages then make. */
function otherProtocol(parsed: unknown): string | null {
  const init = parsed as { type?: unknown; info?: { protocolVersion?: unknown } } | null;
  if (init?.type !== 'init_ok' || init.info?.protocolVersion === PROTOCOL_VERSION) return null;
  return protocolMismatch(init.info?.protocolVersion);
}

export function createStdioDriver(options: StdioDriverOptions): StdioDriver {
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  // A loaded machine can take many seconds to start a Node process: init gets its own deadline.
  const startupMs = Math.max(options.startupTimeoutMs ?? 60_000, timeoutMs);
  let child: ChildProcessWithoutNullStreams | null = null;
  let broken: DriverError | null = null;
  let nextId = 1;
  const waiting = new Map<number, Waiting>();
  const answered = new Set<number>();
  const stderr: string[] = [];
  let listener: (c: Completion) => void = () => {};

  const tail = () => (stderr.length ? `\n  driver stderr (last lines):\n    ${stderr.slice(-8).join('\n    ')}` : '');

  function fail(err: DriverError): void {
    if (broken) return;
    broken = err;
    for (const w of waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    waiting.clear();
    if (child && child.exitCode === null) child.kill('SIGKILL');
  }

  function onLine(line: string): void {
    if (broken) return;
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      fail(new DriverError(`protocol error: the driver wrote a line that is not JSON${tail()}`, line));
      return;
    }
    const mismatch = otherProtocol(parsed);
    if (mismatch !== null) return fail(new DriverError(`${mismatch}${tail()}`, line));
    const checked = wire.response.check(parsed);
    if (!checked.ok) {
      fail(
        new DriverError(
          `protocol error: the driver wrote a message that violates DriverResponse.json at "${checked.path}": ${checked.message}${tail()}`,
          line,
        ),
      );
      return;
    }
    const msg = checked.value;
    if (msg.type === 'completion') {
      listener(msg.completion);
      return;
    }
    if (msg.id === null) {
      fail(
        new DriverError(
          `the driver reported an error without a request id: ${(msg as { message: string }).message}${tail()}`,
          line,
        ),
      );
      return;
    }
    const w = waiting.get(msg.id);
    if (!w) {
      fail(
        new DriverError(
          answered.has(msg.id)
            ? `protocol error: a second response to request #${msg.id}`
            : `protocol error: a response to request #${msg.id}, which was never sent`,
          line,
        ),
      );
      return;
    }
    waiting.delete(msg.id);
    answered.add(msg.id);
    clearTimeout(w.timer);
    if (msg.type === 'error') {
      fail(
        new DriverError(
          `the driver could not handle request #${msg.id} (${w.request.type}): ${msg.message}${tail()}`,
          line,
        ),
      );
      return;
    }
    if (msg.type !== EXPECTED[w.request.type]) {
      fail(new DriverError(`protocol error: request #${msg.id} (${w.request.type}) answered with ${msg.type}`, line));
      return;
    }
    w.resolve(msg);
  }

  function start(): ChildProcessWithoutNullStreams {
    const c = spawn(options.command, { shell: true, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: c.stdout }).on('line', onLine);
    readline.createInterface({ input: c.stderr }).on('line', (l) => {
      stderr.push(l);
      if (stderr.length > 200) stderr.shift();
      options.onStderr?.(l);
    });
    c.stdin.on('error', () => {
      /* reported by exit */
    });
    c.on('error', (err) => fail(new DriverError(`could not start the driver "${options.command}": ${err.message}`)));
    c.on('exit', (code, signal) => {
      if (!broken && waiting.size > 0) {
        // Give stdout a moment to deliver lines written just before exit.
        setImmediate(() =>
          fail(
            new DriverError(
              `the driver exited (${signal ?? `code ${code}`}) with ${waiting.size} request(s) unanswered${tail()}`,
            ),
          ),
        );
      } else if (!broken) {
        broken = new DriverError(`the driver exited (${signal ?? `code ${code}`})${tail()}`);
      }
    });
    return c;
  }

  type Body = DriverRequest extends infer R ? (R extends DriverRequest ? Omit<R, 'id'> : never) : never;
  function request<T extends DriverResponse>(body: Body, deadlineMs = timeoutMs): Promise<T> {
    if (broken) return Promise.reject(broken);
    if (!child) child = start();
    const id = nextId++;
    const req = { ...body, id } as DriverRequest;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          fail(
            new DriverError(
              `the driver did not answer request #${id} (${req.type}${req.type === 'invoke' ? ` ${req.op.op}` : ''}) within ${deadlineMs} ms${tail()}`,
            ),
          ),
        deadlineMs,
      );
      waiting.set(id, { request: req, resolve: resolve as (r: DriverResponse) => void, reject, timer });
      child!.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  return {
    async init(): Promise<DriverInfo> {
      const r = await request<{ type: 'init_ok'; id: number; info: DriverInfo }>(
        { type: 'init', protocolVersion: PROTOCOL_VERSION },
        startupMs,
      );
      if (r.info.protocolVersion !== PROTOCOL_VERSION) {
        fail(new DriverError(protocolMismatch(r.info.protocolVersion)));
        throw broken;
      }
      return r.info;
    },
    async reset(limits: Limits): Promise<Limits> {
      return (await request<{ type: 'reset_ok'; id: number; limits: Limits }>({ type: 'reset', limits })).limits;
    },
    async invoke(op: Operation): Promise<Invocation> {
      return (
        await request<{ type: 'invoke_ok'; id: number; invocation: Invocation }>({ type: 'invoke', op: op as never })
      ).invocation;
    },
    onCompletion(l) {
      listener = l;
    },
    async close() {
      if (!child) return;
      const c = child;
      if (!broken) {
        try {
          await Promise.race([
            request({ type: 'shutdown' }),
            new Promise((resolve) => setTimeout(resolve, 1000).unref()),
          ]);
        } catch {
          /* already reported */
        }
      }
      for (const w of waiting.values()) clearTimeout(w.timer);
      waiting.clear();
      if (c.exitCode === null && c.signalCode === null) {
        c.stdin.end();
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            c.kill('SIGKILL');
            resolve();
          }, 1000);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      broken = broken ?? new DriverError('the driver was closed');
    },
    stderrTail: () => stderr.slice(-8).join('\n'),
  };
}
