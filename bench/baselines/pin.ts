/**
 * Pinning for the cross-process rows (`npm run bench -- --pin`): each of a run's two sides gets
 * a vCPU of its own, so that a "spinning" row measures two processes spinning side by side and
 * not wherever the scheduler put them (on two vCPUs it often puts both on one: the placement
 * column of an unpinned table says how often).
 *
 * A run's processes are pinned in the order they are started: the first to vCPU 1, the second to
 * vCPU 0, and so on alternately (a server or pong before its client or ping). Node children are
 * pinned with `taskset -a -p` (every thread) as soon as they are forked, long before their
 * first measured message. A Tessera peer process, which may start calling as soon as it has
 * joined (when its spawn resolves), is forked while this process is on its vCPU and inherits it.
 * The C benchmark pins itself and its forked child (IPC_BENCH_PIN). A row whose other side is
 * this orchestrating process (Node net) pins the orchestrator to vCPU 0 for the run and gives it
 * back its affinity after. Rows that run more than two processes (the
 * broker) are not pinned, and say so in the record (`pinned`).
 */
import { execFileSync } from 'child_process';
import * as os from 'os';

let enabled = false;
let started = 0;
let pinnedThisRun = false;

/** The CPUs a process may run on (taskset -c -p), or throws. */
function affinityOf(pid: number): string {
  const out = execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' });
  const list = out.trim().split(': ').pop();
  if (!list) throw new Error(`taskset -c -p ${pid}: unparsable output ${JSON.stringify(out)}`);
  return list;
}

function setAffinity(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
}

/** Why pinning cannot be done here (fewer than two CPUs, no taskset), or null. */
export function pinningUnavailable(): string | null {
  if (os.platform() !== 'linux') return 'pinning needs Linux (sched_setaffinity through taskset)';
  if (os.cpus().length < 2) return `pinning needs two CPUs; this machine has ${os.cpus().length}`;
  try {
    affinityOf(process.pid);
  } catch (e) {
    return `pinning needs taskset (util-linux): ${(e as Error).message.split('\n')[0]}`;
  }
  return null;
}

/** Turns pinning on or off for the runs that follow; throws when it cannot be done here. */
export function setPinning(on: boolean): void {
  if (on) {
    const why = pinningUnavailable();
    if (why !== null) throw new Error(`--pin: ${why}`);
  }
  enabled = on;
}

export const pinningEnabled = (): boolean => enabled;

/** Called before each run: its first process goes to vCPU 1 again. */
export function beginRun(): void {
  started = 0;
  pinnedThisRun = false;
}

/** Whether the run since beginRun pinned anything. */
export const runWasPinned = (): boolean => pinnedThisRun;

/** The vCPU of the next process this run starts. */
const nextCpu = (): string => String(started++ % 2 === 0 ? 1 : 0);

/** Pins a process just started by this run (and every thread it has or will have) to its vCPU. */
export function pinStarted(pid: number | undefined): void {
  if (!enabled) return;
  if (pid === undefined) throw new Error('--pin: a child process without a pid (it failed to start)');
  setAffinity(pid, nextCpu());
  pinnedThisRun = true;
}

/** Runs fn with this process (every thread) on `cpus`, then gives it back the affinity it had, even when fn throws. */
async function withAffinity<T>(cpus: string, fn: () => Promise<T>): Promise<T> {
  const before = affinityOf(process.pid);
  setAffinity(process.pid, cpus);
  pinnedThisRun = true;
  try {
    return await fn();
  } finally {
    setAffinity(process.pid, before);
  }
}

/**
 * Starts a process of this run on its vCPU from its first instruction: `start` forks it while
 * this process is on that vCPU (a child inherits its parent's affinity), and this process gets
 * its own back once `start` resolved.
 */
export function startPinned<T>(start: () => Promise<T>): Promise<T> {
  return enabled ? withAffinity(nextCpu(), start) : start();
}

/** The environment that makes the C benchmark pin its parent to vCPU 0 and its child to vCPU 1. */
export function cBenchPinEnv(): Record<string, string> {
  if (!enabled) return {};
  pinnedThisRun = true;
  return { IPC_BENCH_PIN: '0,1' };
}

/** Runs fn with this process on vCPU 0 (its child, started first, is on vCPU 1), then restores its affinity. */
export function withOrchestratorPinned<T>(fn: () => Promise<T>): Promise<T> {
  return enabled ? withAffinity('0', fn) : fn();
}
