// What the native tests share: the skip rule (skip only when a build tool is genuinely missing
// now, fail on any other reason the addon cannot load), and child processes to talk to.
import { fork, type ChildProcess, type StdioOptions } from 'child_process';
import * as path from 'path';
import { nativeAvailability } from '../../native';
import { nativeDir } from '../../native/loader';

export const CHILD_JS = path.join(__dirname, 'child.js');

type Probe = { missing: { tool: string; tried: string; hint: string }[] };
export const probeTools = (env?: NodeJS.ProcessEnv): Probe =>
  (require(path.join(nativeDir(), 'tools.js')) as { probeTools: (env?: NodeJS.ProcessEnv) => Probe }).probeTools(env);

let warned = false;

/**
 * In a before() hook: returns when the addon loads. When it does not, skips the suite only if
 * the build recorded a missing tool and that tool is still missing (saying which); any other
 * reason (a failed compile, a stale binary) fails the suite with the loader's error.
 */
export function requireNative(ctx: Mocha.Context): void {
  const a = nativeAvailability();
  if (a.available) return;
  const stillMissing = probeTools().missing;
  if (a.error.missingTools.length > 0 && stillMissing.length > 0) {
    if (!warned) console.warn(`\n  native tests skipped: ${a.error.message}\n`);
    warned = true;
    ctx.skip();
  }
  throw a.error;
}

/** A forked child of child.js with extra fds from index 4 on (3 is its IPC channel). */
export interface Child {
  proc: ChildProcess;
  /** The next IPC message (queued if it came early). */
  next<T>(): Promise<T>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function forkChild(args: string[], extraFds: number[] = [], env?: NodeJS.ProcessEnv): Child {
  const stdio: StdioOptions = ['ignore', 'inherit', 'inherit', 'ipc', ...extraFds];
  const proc = fork(CHILD_JS, args, { stdio, execArgv: [], env });
  const queue: unknown[] = [];
  const waiters: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`child ${args.join(' ')} exited (${code ?? signal})`));
      resolve({ code, signal });
    }),
  );
  proc.on('message', (m) => {
    const w = waiters.shift();
    if (w) w.resolve(m);
    else queue.push(m);
  });
  const next = <T>() =>
    queue.length > 0
      ? Promise.resolve(queue.shift() as T)
      : new Promise<T>((resolve, reject) => waiters.push({ resolve: resolve as (m: unknown) => void, reject }));
  return { proc, next, exited };
}
