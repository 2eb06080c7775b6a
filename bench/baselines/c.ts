/**
 * Baseline 5: C AF_UNIX SOCK_STREAM socketpair between two processes (fork): ping-pong, one-way
 * stream, and SCM_RIGHTS ping-pong. bench/c/ipc_bench.c is compiled at run time with -O2 into
 * bench/c/build/ (git-ignored). Without a C compiler every function returns a record with
 * `skipped` set.
 */
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BenchRecord, emptyRecord, Log, noLog, skippedRecord } from './common';
import { cBenchPinEnv } from './pin';
import { sizeLabel } from './sab';

const SOURCE_REL = path.join('bench', 'c', 'ipc_bench.c');

/** Repository root: the nearest ancestor of this module holding bench/c/ipc_bench.c. */
export function findRepoRoot(start: string = __dirname): string | null {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, SOURCE_REL))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** First working compiler among the candidates (default: $CC, cc, gcc, clang). */
export function findCompiler(candidates?: string[]): string | null {
  const list = candidates ?? [process.env.CC, 'cc', 'gcc', 'clang'].filter((x): x is string => !!x);
  for (const cc of list) {
    const r = spawnSync(cc, ['--version'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return cc;
  }
  return null;
}

const built = new Map<string, string>();

/**
 * Compile (if missing or older than the source) and return the binary path, or the reason it
 * cannot be built.
 */
export function buildCBench(compilers?: string[], log: Log = noLog): { binary: string } | { skipped: string } {
  const root = findRepoRoot();
  if (!root) return { skipped: `C source ${SOURCE_REL} not found above ${__dirname}` };
  const src = path.join(root, SOURCE_REL);
  const outDir = path.join(root, 'bench', 'c', 'build');
  const binary = path.join(outDir, 'ipc_bench');
  const key = `${(compilers ?? []).join(',')}|${binary}`;
  const cached = built.get(key);
  if (cached) return { binary: cached };
  const cc = findCompiler(compilers);
  if (!cc) return { skipped: `no C compiler found (tried ${(compilers ?? ['$CC', 'cc', 'gcc', 'clang']).join(', ')})` };
  const fresh = fs.existsSync(binary) && fs.statSync(binary).mtimeMs >= fs.statSync(src).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(outDir, { recursive: true });
    const tmp = `${binary}.${process.pid}.tmp`;
    const r = spawnSync(cc, ['-O2', '-Wall', '-o', tmp, src], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      fs.rmSync(tmp, { force: true });
      return {
        skipped: `compile failed with ${cc}: ${(r.stderr || String(r.error)).trim().split('\n').slice(0, 3).join(' | ')}`,
      };
    }
    fs.renameSync(tmp, binary);
    log(`  compiled ${path.relative(root, src)} with ${cc} -O2 -> ${path.relative(root, binary)}`);
  }
  built.set(key, binary);
  return { binary };
}

interface CResult {
  median_us: number | null;
  p99_us: number | null;
  msgs_per_sec: number | null;
  bytes_per_sec: number | null;
  samples: number;
}

/** Run the C bench binary once; its last stdout line is one JSON result. */
export function runC<T = CResult>(
  binary: string,
  args: string[],
  maxMs: number,
  extraEnv: Record<string, string> = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      {
        env: {
          ...process.env,
          IPC_BENCH_MAX_MS: String(Math.max(1, Math.round(maxMs))),
          ...cBenchPinEnv(),
          ...extraEnv,
        },
        timeout: maxMs * 2 + 60_000,
        maxBuffer: 1 << 20,
      },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`ipc_bench ${args.join(' ')}: ${err.message} ${stderr}`.trim()));
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as T);
        } catch {
          reject(new Error(`ipc_bench ${args.join(' ')}: unparsable output ${JSON.stringify(stdout)}`));
        }
      },
    );
  });
}

function toRecord(name: string, variant: string, r: CResult): BenchRecord {
  const rec = emptyRecord(name, variant);
  rec.medianRttUs = r.median_us;
  rec.p99RttUs = r.p99_us;
  rec.msgsPerSec = r.msgs_per_sec;
  rec.bytesPerSec = r.bytes_per_sec;
  rec.samples = r.samples;
  return rec;
}

export interface CCommonOptions {
  msgSize?: number;
  /** Cap on the measured phase in ms (default 7000). */
  maxMs?: number;
  /** Compiler candidates to try instead of $CC, cc, gcc, clang. */
  compilers?: string[];
  log?: Log;
}

export interface CPingPongOptions extends CCommonOptions {
  /** Measured round trips (default 200k). */
  iterations?: number;
  /** Warm-up round trips (default 20k). */
  warmup?: number;
}

const RTT_METHOD = 'rtt: clock_gettime every RT';

export async function cPingPong(opts: CPingPongOptions = {}): Promise<BenchRecord> {
  const msgSize = opts.msgSize ?? 64;
  const variant = `${sizeLabel(msgSize)} AF_UNIX SOCK_STREAM socketpair, 2 processes (fork); ${RTT_METHOD}`;
  const b = buildCBench(opts.compilers, opts.log);
  if ('skipped' in b) return skip('c.pingpong', variant, b.skipped, opts.log);
  const r = await runC(
    b.binary,
    ['pingpong', String(opts.warmup ?? 20_000), String(opts.iterations ?? 200_000), String(msgSize)],
    opts.maxMs ?? 7000,
  );
  return toRecord('c.pingpong', variant, r);
}

export interface CStreamOptions extends CCommonOptions {
  /** Measured messages (default 1M; ~16k for 64 KiB). */
  count?: number;
  /** Warm-up messages (default count/10). */
  warmup?: number;
}

export async function cStream(opts: CStreamOptions = {}): Promise<BenchRecord> {
  const msgSize = opts.msgSize ?? 64;
  const count = opts.count ?? 1_000_000;
  const variant = `${sizeLabel(msgSize)} one-way socketpair, 2 processes, one write() per message`;
  const b = buildCBench(opts.compilers, opts.log);
  if ('skipped' in b) return skip('c.stream', variant, b.skipped, opts.log);
  const warmup = opts.warmup ?? Math.max(1, Math.floor(count / 10));
  const r = await runC(b.binary, ['stream', String(warmup), String(count), String(msgSize)], opts.maxMs ?? 7000);
  return toRecord('c.stream', variant, r);
}

export type FdMode = 'none' | 'same' | 'new';

export interface CScmOptions extends CPingPongOptions {
  /** none: sendmsg without fds; same: one fd (the same /dev/null) attached to every message; new: a fresh eventfd per message. */
  fdMode?: FdMode;
}

export async function cScmPingPong(opts: CScmOptions = {}): Promise<BenchRecord> {
  const msgSize = opts.msgSize ?? 64;
  const fdMode = opts.fdMode ?? 'same';
  const what =
    fdMode === 'none' ? 'no fd' : fdMode === 'same' ? '1 fd per message (same fd)' : '1 new fd per message (eventfd)';
  const variant = `${sizeLabel(msgSize)} sendmsg/recvmsg socketpair, ${what}, both directions; ${RTT_METHOD}`;
  const b = buildCBench(opts.compilers, opts.log);
  if ('skipped' in b) return skip('c.scm.pingpong', variant, b.skipped, opts.log);
  const mode = fdMode === 'none' ? '0' : fdMode === 'same' ? '1' : '2';
  const r = await runC(
    b.binary,
    ['scm', String(opts.warmup ?? 10_000), String(opts.iterations ?? 100_000), String(msgSize), mode],
    opts.maxMs ?? 7000,
  );
  return toRecord('c.scm.pingpong', variant, r);
}

function skip(name: string, variant: string, reason: string, log: Log | undefined): BenchRecord {
  (log ?? noLog)(`  ${name}: skipped (${reason})`);
  return skippedRecord(name, variant, reason);
}
