// Helpers of the command-line and stdio tests: the tessera command in this
// process or in its own, the processes still alive that carry a marker, and an
// in-memory channel a fake stdio driver answers on.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { main } from '../../cli/tessera';
import type { DriverChannel } from '../../conformance/stdio';

/** The repository root, from dist/test/cli. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BIN = path.join(ROOT, 'bin', 'tessera.js');

/** Run the tessera command in this process; what it printed, and its exit code. */
export async function tesseraHere(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

export interface ProcessRun {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Run `node bin/tessera.js ...argv` in its own process. It is killed after
 * `timeoutMs` (a hang then shows as signal SIGKILL); `onStart` sees the child.
 */
export function tesseraProcess(
  argv: string[],
  o: { timeoutMs?: number; onStdout?: (chunk: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      o.onStdout?.(d.toString(), child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

export const HAS_PROC = fs.existsSync('/proc/self/stat');

/** Processes alive (not zombies) whose command line (arguments joined by spaces) contains or matches `marker`, as "pid: command". */
export function liveProcesses(marker: string | RegExp): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      const matches = typeof marker === 'string' ? cmdline.includes(marker) : marker.test(cmdline);
      if (matches && state !== 'Z' && state !== 'X') found.push(`${entry}: ${cmdline}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** Waits (polling, at most `timeoutMs`) until no live process carries `marker`; returns those left. */
export async function processesLeft(marker: string, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = liveProcesses(marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fake driver on in-memory streams: `requests` are the lines the suite wrote; `say` writes a line back. */
export function memoryChannel(): {
  channel: DriverChannel;
  requests: string[];
  onRequest: (f: (line: string) => void) => void;
  say: (line: string | Buffer) => void;
  terminated: () => boolean;
} {
  const output = new PassThrough();
  const input = new PassThrough();
  const requests: string[] = [];
  let handler: (line: string) => void = () => {};
  let buffered = '';
  input.on('data', (d: Buffer) => {
    buffered += d.toString();
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      requests.push(line);
      handler(line);
    }
  });
  let ended = false;
  return {
    channel: {
      output,
      input,
      onExit: () => {},
      waitExit: async () => true,
      async terminate() {
        ended = true;
        output.end();
      },
    },
    requests,
    onRequest: (f) => (handler = f),
    say: (line) => {
      if (!ended) output.write(typeof line === 'string' ? line + '\n' : line);
    },
    terminated: () => ended,
  };
}
