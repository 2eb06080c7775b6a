// A stdio driver's process, in a process group of its own. The suite starts a
// driver through a shell (`sh -c "<command>"`); a shell that does not exec, a
// wrapper script or a driver that starts helpers leaves processes that a kill of
// the shell alone would orphan, holding the pipes open. So the driver runs in its
// own group (a new session), and ending it signals the whole group: SIGTERM,
// then SIGKILL after a grace. Every wait here has a bound. A group still alive
// when this process exits (an abrupt exit, a signal the CLI turned into one) is
// killed by an exit hook. A process that leaves the group on purpose (setsid)
// escapes this, as it would escape any supervisor short of a cgroup.
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';

export interface DriverProcessOptions {
  /** A shell command line. */
  command: string;
  cwd?: string;
  /** Between SIGTERM and SIGKILL of the group (default 1000 ms). */
  killGraceMs?: number;
}

export interface DriverProcess {
  child: ChildProcessWithoutNullStreams;
  /** Whether the process the shell started as has exited. */
  exited(): boolean;
  /** Resolves when the process has exited, or after `timeoutMs`; true when it exited. */
  waitExit(timeoutMs: number): Promise<boolean>;
  /**
   * Ends every process of the group (SIGTERM, SIGKILL after the grace) and closes
   * our ends of its pipes. Idempotent; resolves within killGraceMs + SIGKILL_WAIT_MS.
   */
  terminate(): Promise<void>;
}

/** How long the group may take to vanish after SIGKILL before we stop waiting for it. */
export const SIGKILL_WAIT_MS = 1000;
const POLL_MS = 20;

/** Process groups this process started and has not yet seen gone. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

/** Signal a whole process group; false when no process of it is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    // EPERM: a member we may not signal (it changed its credentials) still exists.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * How many processes of the group are alive (not zombies), from /proc; null where
 * there is no /proc. A killed grandchild stays a zombie until init reaps it, which
 * may take a while: it holds nothing, so it does not count.
 */
function liveMembers(pgid: number): number | null {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return null;
  }
  let live = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After "pid (comm) ": state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') live++;
  }
  return live;
}

/** Whether any process of the group is still alive. */
function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  return liveMembers(pgid) !== 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the group is gone or `timeoutMs` passed; true when gone. */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

export function startDriverProcess(options: DriverProcessOptions): DriverProcess {
  const grouped = process.platform !== 'win32';
  const child = spawn(options.command, {
    shell: true,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    // A new session: the shell and everything it starts share one process group, ours to end.
    detached: grouped,
  });
  const pgid = grouped && child.pid !== undefined ? child.pid : null;
  if (pgid !== null) {
    installExitHook();
    liveGroups.add(pgid);
  }
  let exited = false;
  // Once the group is seen empty it is never signalled again: its id may be reused.
  let groupEnded = pgid === null;
  const exitWaiters: (() => void)[] = [];
  child.once('exit', () => {
    exited = true;
    if (pgid !== null && !groupAlive(pgid)) {
      groupEnded = true;
      liveGroups.delete(pgid);
    }
    exitWaiters.splice(0).forEach((f) => f());
  });
  child.once('error', () => {
    // Could not start at all (the caller reports it): nothing to wait for.
    exited = true;
    groupEnded = true;
    if (pgid !== null) liveGroups.delete(pgid);
    exitWaiters.splice(0).forEach((f) => f());
  });

  const waitExit = (timeoutMs: number): Promise<boolean> =>
    exited
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), timeoutMs);
          exitWaiters.push(() => {
            clearTimeout(timer);
            resolve(true);
          });
        });

  let terminating: Promise<void> | null = null;
  async function endGroup(): Promise<void> {
    const graceMs = options.killGraceMs ?? 1000;
    if (pgid === null) {
      if (!exited) child.kill('SIGTERM');
      if (!(await waitExit(graceMs))) child.kill('SIGKILL');
      await waitExit(SIGKILL_WAIT_MS);
    } else if (!groupEnded) {
      if (signalGroup(pgid, 'SIGTERM') && !(await groupGone(pgid, graceMs))) {
        signalGroup(pgid, 'SIGKILL');
        await groupGone(pgid, SIGKILL_WAIT_MS);
      }
      groupEnded = true;
      liveGroups.delete(pgid);
      await waitExit(SIGKILL_WAIT_MS);
    }
    // Our ends of the pipes: a process that escaped the group must not keep this one alive.
    child.stdin.destroy();
    child.stdout.destroy();
    child.stderr.destroy();
  }

  return {
    child,
    exited: () => exited,
    waitExit,
    terminate() {
      terminating ??= endGroup();
      return terminating;
    },
  };
}
