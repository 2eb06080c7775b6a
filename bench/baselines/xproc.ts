/**
 * Cross-process baselines: what Tessera between processes is compared with, every figure from
 * two OS processes, 64 B and 64 KiB, round trip and one-way throughput, each row labelled with
 * its regime (spinning: a waiter spins ~30 us before sleeping; sleeping: it goes straight to the
 * kernel, a futex or a blocking socket call).
 *
 *   bare SAB through the native addon (a memfd mapped in both, futex sleep/wake), spinning and
 *   sleeping, plus a pong that waits on its event loop (waitAsync); C futex over a shared
 *   mapping; C AF_UNIX socketpair; C SCM_RIGHTS with 1 fd per message; Node net over a Unix socket;
 *   and Tessera itself between two processes (bench/shm tesseraAcrossProcesses: call/reply,
 *   one-way streams, messages with and without a handle), so its ratios come from the same run.
 *
 * Every configuration runs `reps` times, interleaved (rep 1 of every row, then rep 2, ...), so
 * that a change of the host's vCPU placement during the run hits every row alike; a row reports
 * the median over its runs and the spread (min..max) of the runs.
 */
import { fork, type ChildProcess } from 'child_process';
import { createSegment, nativeAvailability } from '../../native';
import { buildCBench, runC } from './c';
import { emptyRecord, fmtNum, fmtSi, rttStats, siblingEntry, skippedRecord } from './common';
import type { BenchRecord, Log, Regime } from './common';
import { netPingPong, netStream } from './net';
import { PlacementSampler } from './placement';
import { beginRun, pinningEnabled, pinStarted, runWasPinned, setPinning, withOrchestratorPinned } from './pin';
import { BROKER_ENGINES, brokerCall, brokerStream, recordAccount } from '../broker';
import { getSpinItersPerUs, sizeLabel } from './sab';
import { pingPongBytes, ringBytes } from './sab-core';
import type { XChildTask, XPingResult, XStreamResult } from './xproc-child';
import type { XCounters } from './xproc-core';
import { tesseraAcrossProcesses } from '../shm';

export const XPROC_GROUP_IDS: readonly string[] = [
  'xproc.tessera.call',
  'xproc.tessera.stream',
  'xproc.tessera.send',
  'xproc.sab.pingpong',
  'xproc.sab.stream',
  'xproc.c.futex.pingpong',
  'xproc.c.futex.stream',
  'xproc.c.unix.pingpong',
  'xproc.c.unix.stream',
  'xproc.c.scm.pingpong',
  'xproc.c.scm.stream',
  'xproc.net.pingpong',
  'xproc.net.stream',
  'xproc.broker.call',
  'xproc.broker.stream',
];

interface XSizes {
  rtt: { iterations: number; warmup: number };
  small: { count: number; warmup: number };
  large: { count: number; warmup: number };
  maxMs: number;
  reps: number;
}

const FULL: XSizes = {
  rtt: { iterations: 20_000, warmup: 2_000 },
  small: { count: 300_000, warmup: 30_000 },
  large: { count: 8_192, warmup: 800 },
  maxMs: 3000,
  reps: 5,
};

const QUICK: XSizes = {
  rtt: { iterations: 1_000, warmup: 100 },
  small: { count: 10_000, warmup: 1_000 },
  large: { count: 100, warmup: 10 },
  maxMs: 1000,
  reps: 2,
};

const KIB64 = 65_536;
const SPIN_US = 30;
/** The variant words of the bare ping-pong row whose waits spin in the addon, as Tessera's do. */
export const ADDON_SPIN = 'spinning in the addon (PAUSE between probes)';
/** Tessera's spin budget in the spinning regime (its adaptive policy's, as the threads' shm.call row). */
const TESSERA_SPIN_US = 50;
const RING_BYTES = 2 * 1024 * 1024;
/** The busy work per side of the sleeping ping-pong that works (about a Tessera call's CPU per side). */
const WORK_NS = 1000;
const TWO_PROCESSES = '2 processes';

interface Config {
  group: string;
  name: string;
  variant: string;
  regime: Regime;
  run: () => Promise<BenchRecord>;
}

// ------------------------------------------------------------------------------ Node children

function forkXChild(fd: number): ChildProcess {
  const { file, execArgv } = siblingEntry(__dirname, 'xproc-child');
  const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd] });
  pinStarted(child.pid);
  return child;
}

/** Gives each child its task and collects one result from each; kills all on error or timeout. */
function runChildren<T>(children: ChildProcess[], tasks: XChildTask[], timeoutMs: number): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const results: (T | undefined)[] = children.map(() => undefined);
    let left = children.length;
    let settled = false;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const c of children)
        if (e) c.kill('SIGKILL');
        else if (c.connected) c.disconnect();
      if (e) reject(e);
      else resolve(results as T[]);
    };
    const timer = setTimeout(
      () => finish(new Error(`cross-process children timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    children.forEach((c, i) => {
      c.once('message', (m: { result?: T; error?: string }) => {
        if (m.error !== undefined) return finish(new Error(`xproc-child ${tasks[i].role}: ${m.error}`));
        results[i] = m.result;
        if (--left === 0) finish();
      });
      c.once('exit', (code, signal) => {
        if (results[i] === undefined) finish(new Error(`xproc-child ${tasks[i].role} exited (${code ?? signal})`));
      });
      c.send(tasks[i]);
    });
  });
}

function addonSkip(name: string, variant: string): BenchRecord | null {
  const a = nativeAvailability();
  return a.available ? null : skippedRecord(name, variant, a.error.message);
}

interface SabPingPongRun {
  msgSize: number;
  spinUs: number;
  asyncPong: boolean;
  iterations: number;
  warmup: number;
  maxMs: number;
  /** Busy work per side between taking a message and answering it, ns. */
  workNs?: number;
  /** Spin in the addon's loop (the CPU's spin-wait hint between probes) rather than JavaScript loads. */
  nativeSpin?: boolean;
}

async function xsabPingPong(name: string, variant: string, o: SabPingPongRun): Promise<BenchRecord> {
  const skip = addonSkip(name, variant);
  if (skip) return skip;
  const spinIters = o.spinUs > 0 ? Math.round(o.spinUs * (await getSpinItersPerUs())) : 0;
  const seg = createSegment(pingPongBytes(o.msgSize), { name: 'bench-pingpong' });
  try {
    const children = [forkXChild(seg.fd), forkXChild(seg.fd)];
    const nativeSpinMs = o.nativeSpin === true && o.spinUs > 0 ? o.spinUs / 1000 : 0;
    const common = { msgSize: o.msgSize, spinIters, warmup: o.warmup, workNs: o.workNs ?? 0, nativeSpinMs };
    const [pong, ping] = await runChildren<(XCounters & { echoed: number }) | XPingResult>(
      children,
      [
        { role: o.asyncPong ? 'pong-async' : 'pong', ...common },
        { role: 'ping', ...common, iterations: o.iterations, sampleEvery: 4, maxMs: o.maxMs },
      ],
      o.maxMs * 4 + 60_000,
    );
    const p = ping as XPingResult;
    const { medianUs, p99Us } = rttStats(p.samples, p.samples.length);
    const rec = emptyRecord(name, variant);
    rec.medianRttUs = medianUs;
    rec.p99RttUs = p99Us;
    rec.wakesPerMsg = p.done > 0 ? (p.wakes + pong.wakes) / (2 * p.done) : null;
    rec.samples = p.samples.length;
    return rec;
  } finally {
    seg.close();
  }
}

async function xsabStream(
  name: string,
  variant: string,
  o: { msgSize: number; spinUs: number; count: number; warmup: number; maxMs: number },
): Promise<BenchRecord> {
  const skip = addonSkip(name, variant);
  if (skip) return skip;
  const spinIters = o.spinUs > 0 ? Math.round(o.spinUs * (await getSpinItersPerUs())) : 0;
  const slots = ringSlots(o.msgSize);
  const seg = createSegment(ringBytes(o.msgSize, slots), { name: 'bench-ring' });
  try {
    const children = [forkXChild(seg.fd), forkXChild(seg.fd)];
    const common = { msgSize: o.msgSize, slots, spinIters, warmup: o.warmup, count: o.count, maxMs: o.maxMs };
    const [cons, prod] = await runChildren<XStreamResult>(
      children,
      [
        { role: 'consumer', ...common },
        { role: 'producer', ...common },
      ],
      180_000,
    );
    if (cons.errors > 0) throw new Error(`${name}: ${cons.errors} messages out of sequence`);
    if (cons.messages !== prod.messages)
      throw new Error(`${name}: the consumer took ${cons.messages} messages, the producer sent ${prod.messages}`);
    const elapsedNs = Number(BigInt(cons.t) - BigInt(prod.t));
    const rec = emptyRecord(name, variant);
    rec.msgsPerSec = (prod.messages * 1e9) / elapsedNs;
    rec.bytesPerSec = (prod.messages * o.msgSize * 1e9) / elapsedNs;
    rec.wakesPerMsg = (prod.wakes + cons.wakes) / prod.messages;
    rec.samples = prod.messages;
    return rec;
  } finally {
    seg.close();
  }
}

/** Slots of a 2 MiB ring (a power of two, at least 8), as bench/c/ipc_bench.c sizes its ring. */
function ringSlots(msgSize: number): number {
  return Math.max(8, 2 ** Math.floor(Math.log2(RING_BYTES / msgSize)));
}

// ------------------------------------------------------------------------------ C and net

interface CFigures {
  median_us: number | null;
  p99_us: number | null;
  msgs_per_sec: number | null;
  bytes_per_sec: number | null;
  samples: number;
  wakes_per_msg?: number;
}

async function cRow(name: string, variant: string, args: string[], maxMs: number, log: Log): Promise<BenchRecord> {
  const b = buildCBench(undefined, log);
  if ('skipped' in b) return skippedRecord(name, variant, b.skipped);
  const r = await runC<CFigures>(b.binary, args, maxMs);
  const rec = emptyRecord(name, variant);
  rec.medianRttUs = r.median_us;
  rec.p99RttUs = r.p99_us;
  rec.msgsPerSec = r.msgs_per_sec;
  rec.bytesPerSec = r.bytes_per_sec;
  rec.wakesPerMsg = r.wakes_per_msg ?? null;
  rec.samples = r.samples;
  return rec;
}

const renamed = (r: BenchRecord, name: string, variant: string): BenchRecord => ({ ...r, name, variant });

type Add = (group: string, name: string, variant: string, regime: Regime, run: () => Promise<BenchRecord>) => void;

/** Tessera between two processes (bench/shm): call/reply spinning and sleeping, a stream, sends with and without a handle. */
function tesseraRows(
  add: Add,
  size: number,
  rtt: { iterations: number; warmup: number },
  flow: { count: number; warmup: number },
  log: Log,
): void {
  const s = sizeLabel(size);
  const tessera = tesseraAcrossProcesses;
  const skipT = (name: string) => addonSkip(name, `${s} Tessera between ${TWO_PROCESSES}`);
  for (const [spinUs, regime] of [
    [TESSERA_SPIN_US, 'spinning'],
    [0, 'sleeping'],
  ] as const)
    add('xproc.tessera.call', 'xproc.tessera.call', `${s} spin ${spinUs}`, regime, async () => {
      return skipT('xproc.tessera.call') ?? tessera.call(size, spinUs, rtt.iterations, rtt.warmup, log);
    });
  // The same processes with V8's default inlining budget (spawnProcess's PEER_V8_FLAGS left out): what the flag buys.
  if (size === 64)
    add(
      'xproc.tessera.call',
      'xproc.tessera.call',
      `${s} spin ${TESSERA_SPIN_US} V8 defaults`,
      'spinning',
      async () => {
        return (
          skipT('xproc.tessera.call') ?? tessera.call(size, TESSERA_SPIN_US, rtt.iterations, rtt.warmup, log, false)
        );
      },
    );
  add('xproc.tessera.stream', 'xproc.tessera.stream', s, 'spinning', async () => {
    return skipT('xproc.tessera.stream') ?? tessera.stream(size, flow.count, flow.warmup, log);
  });
  if (size === 64)
    for (const withHandle of [false, true])
      add('xproc.tessera.send', 'xproc.tessera.send', withHandle ? '1 handle' : 'no handle', 'spinning', async () => {
        const objects = { count: Math.ceil(flow.count / 3), warmup: Math.ceil(flow.warmup / 3) };
        return skipT('xproc.tessera.send') ?? tessera.send(withHandle, objects.count, objects.warmup, log);
      });
}

// ------------------------------------------------------------------------------ the rows

/** The bare SharedArrayBuffer rows through the addon: ping-pong and ring, spinning and sleeping. */
function sabRows(
  add: Add,
  size: number,
  rtt: { iterations: number; warmup: number },
  flow: { count: number; warmup: number },
  z: XSizes,
): void {
  const s = sizeLabel(size);
  const spin = `spin ${SPIN_US}us then futex`;
  const memfd = `${s} ${TWO_PROCESSES}, one memfd mapped by the addon`;
  for (const [spinUs, regime, how] of [
    [SPIN_US, 'spinning', spin],
    [0, 'sleeping', 'futex only'],
  ] as const) {
    const variant = `${memfd}; ${how}`;
    const pp = { msgSize: size, spinUs, asyncPong: false, ...rtt, maxMs: z.maxMs };
    add('xproc.sab.pingpong', 'xproc.sab.pingpong', variant, regime, () =>
      xsabPingPong('xproc.sab.pingpong', variant, pp),
    );
    const sv = `${memfd}, ${ringSlots(size)} slots; ${how}`;
    add('xproc.sab.stream', 'xproc.sab.stream', sv, regime, () =>
      xsabStream('xproc.sab.stream', sv, { msgSize: size, spinUs, ...flow, maxMs: z.maxMs }),
    );
  }
  if (size === 64) {
    // The same spin run by the addon, as Tessera's own spins are where the addon loads: a
    // polling loop with the CPU's spin-wait hint, which JavaScript cannot issue.
    const nativeVariant = `${memfd}; ${spin}, ${ADDON_SPIN}`;
    const np = { msgSize: size, spinUs: SPIN_US, asyncPong: false, ...rtt, maxMs: z.maxMs, nativeSpin: true };
    add('xproc.sab.pingpong', 'xproc.sab.pingpong', nativeVariant, 'spinning', () =>
      xsabPingPong('xproc.sab.pingpong', nativeVariant, np),
    );
    // A round trip that does some work on each side, as every real exchange (Tessera's call among
    // them) does: on some virtual machines this alone decides whether a sleeping vCPU wakes fast.
    const worked = `${memfd}; futex only, ${WORK_NS / 1000} us of busy work per side before each answer`;
    const wp = { msgSize: size, spinUs: 0, asyncPong: false, ...rtt, maxMs: z.maxMs, workNs: WORK_NS };
    add('xproc.sab.pingpong', 'xproc.sab.pingpong', worked, 'sleeping', () =>
      xsabPingPong('xproc.sab.pingpong', worked, wp),
    );
    const variant = `${memfd}; futex only, the pong waits on its event loop (waitAsync: a pool thread wakes the loop)`;
    const pp = { msgSize: size, spinUs: 0, asyncPong: true, ...rtt, maxMs: z.maxMs };
    add('xproc.sab.pingpong', 'xproc.sab.pingpong', variant, 'sleeping', () =>
      xsabPingPong('xproc.sab.pingpong', variant, pp),
    );
  }
}

function configs(z: XSizes, log: Log): Config[] {
  const out: Config[] = [];
  const add = (group: string, name: string, variant: string, regime: Regime, run: () => Promise<BenchRecord>) =>
    out.push({ group, name, variant, regime, run });
  const spin = `spin ${SPIN_US}us then futex`;
  const n = (v: number) => String(v);
  for (const size of [64, KIB64]) {
    const rtt = size === 64 ? z.rtt : { iterations: Math.ceil(z.rtt.iterations / 4), warmup: z.rtt.warmup };
    const flow = size === 64 ? z.small : z.large;
    const s = sizeLabel(size);
    tesseraRows(add, size, rtt, flow, log);
    sabRows(add, size, rtt, flow, z);
    const shared = `${s} ${TWO_PROCESSES} (fork), shared anonymous mapping`;
    const cFutex: [number, Regime, string][] =
      size === 64
        ? [
            [0, 'sleeping', 'futex only'],
            [SPIN_US, 'spinning', spin],
          ]
        : [[0, 'sleeping', 'futex only']];
    for (const [spinUs, regime, how] of cFutex) {
      const pv = `${shared}; ${how}`;
      add('xproc.c.futex.pingpong', 'xproc.c.futex.pingpong', pv, regime, () =>
        cRow(
          'xproc.c.futex.pingpong',
          pv,
          ['futex', n(rtt.warmup), n(rtt.iterations), n(size), n(spinUs)],
          z.maxMs,
          log,
        ),
      );
      const sv = `${shared}, 2 MiB ring; ${how}`;
      add('xproc.c.futex.stream', 'xproc.c.futex.stream', sv, regime, () =>
        cRow(
          'xproc.c.futex.stream',
          sv,
          ['futexstream', n(flow.warmup), n(flow.count), n(size), n(spinUs)],
          z.maxMs,
          log,
        ),
      );
    }
    const pair = `${s} AF_UNIX SOCK_STREAM socketpair, ${TWO_PROCESSES} (fork); blocking read/write`;
    add('xproc.c.unix.pingpong', 'xproc.c.unix.pingpong', pair, 'sleeping', () =>
      cRow('xproc.c.unix.pingpong', pair, ['pingpong', n(rtt.warmup), n(rtt.iterations), n(size)], z.maxMs, log),
    );
    add('xproc.c.unix.stream', 'xproc.c.unix.stream', pair, 'sleeping', () =>
      cRow('xproc.c.unix.stream', pair, ['stream', n(flow.warmup), n(flow.count), n(size)], z.maxMs, log),
    );
    const scm = `${s} sendmsg/recvmsg socketpair, 1 fd per message (SCM_RIGHTS, the same fd; the receiver closes it), ${TWO_PROCESSES}`;
    add('xproc.c.scm.pingpong', 'xproc.c.scm.pingpong', scm, 'sleeping', () =>
      cRow('xproc.c.scm.pingpong', scm, ['scm', n(rtt.warmup), n(rtt.iterations), n(size), '1'], z.maxMs, log),
    );
    add('xproc.c.scm.stream', 'xproc.c.scm.stream', scm, 'sleeping', () =>
      cRow('xproc.c.scm.stream', scm, ['scmstream', n(flow.warmup), n(flow.count), n(size)], z.maxMs, log),
    );
    const netv = `${s} Node net over a Unix socket, ${TWO_PROCESSES} (fork), length-prefixed frames`;
    add('xproc.net.pingpong', 'xproc.net.pingpong', netv, 'sleeping', async () =>
      renamed(
        await withOrchestratorPinned(() => netPingPong({ ...rtt, msgSize: size, maxMs: z.maxMs })),
        'xproc.net.pingpong',
        netv,
      ),
    );
    add('xproc.net.stream', 'xproc.net.stream', netv, 'sleeping', async () =>
      renamed(
        await withOrchestratorPinned(() => netStream({ ...flow, msgSize: size, maxMs: z.maxMs })),
        'xproc.net.stream',
        netv,
      ),
    );
    brokerConfigs(size, rtt, flow, z, add);
  }
  return out;
}

/** The broker's rows (bench/broker): call round trips spinning and sleeping at 64 B, streams at both sizes. */
function brokerConfigs(
  size: number,
  rtt: { iterations: number; warmup: number },
  flow: { count: number; warmup: number },
  z: XSizes,
  add: (group: string, name: string, variant: string, regime: Regime, run: () => Promise<BenchRecord>) => void,
): void {
  const s = sizeLabel(size);
  const spin = `spin ${SPIN_US}us then futex`;
  // Each row with each engine of the broker's bus (backends/broker/engine.ts), the default first.
  for (const engine of BROKER_ENGINES) {
    const brokered = `${s} through the broker, ${engine} engine: 3 processes (the broker's owner with its thread, two peers, each mapping only its own segment)`;
    if (size === 64)
      for (const [spinUs, regime, how] of [
        [SPIN_US, 'spinning', spin],
        [0, 'sleeping', 'futex only'],
      ] as const) {
        const cv = `${brokered}; call, the server's waiting receive, reply; ${how}`;
        add('xproc.broker.call', 'xproc.broker.call', cv, regime, async () => {
          const r = await brokerCall('xproc.broker.call', cv, {
            spinUs,
            engine,
            msgSize: size,
            ...rtt,
            maxMs: z.maxMs,
            account: true,
          });
          recordAccount(`${regime}, ${engine} engine`, r.account);
          return r.record;
        });
      }
    // 64 KiB messages are received 16 at a time through a 4 MiB completion ring (a batch of 64 is
    // 5.6 MB of base64, which would cross the default 256 KiB ring in many fragments, a hand-off each).
    const batch = size === 64 ? 64 : 16;
    const completionRingBytes = size === 64 ? undefined : 4 * 1024 * 1024;
    const bv = `${brokered}; blocking sends, 32 in flight, received in batches of ${batch}${completionRingBytes ? ' (4 MiB completion ring)' : ''}; ${spin}`;
    const count = Math.max(100, Math.floor(flow.count / (size === 64 ? 10 : 4)));
    const warmup = Math.floor(flow.warmup / (size === 64 ? 10 : 4));
    add('xproc.broker.stream', 'xproc.broker.stream', bv, 'spinning', () =>
      brokerStream('xproc.broker.stream', bv, {
        spinUs: SPIN_US,
        engine,
        msgSize: size,
        count,
        window: 32,
        warmup,
        batch,
        completionRingBytes,
      }),
    );
  }
}

// ------------------------------------------------------------------------------ runs and spread

type Figure = 'medianRttUs' | 'p99RttUs' | 'msgsPerSec' | 'bytesPerSec' | 'wakesPerMsg' | 'sameVcpu';
const FIGURES: Figure[] = ['medianRttUs', 'p99RttUs', 'msgsPerSec', 'bytesPerSec', 'wakesPerMsg', 'sameVcpu'];

/** One record per configuration: each figure's median over the runs, its min..max in `spread`. */
export function aggregateRuns(runs: BenchRecord[], regime: Regime): BenchRecord {
  const skipped = runs.find((r) => r.skipped !== undefined);
  if (skipped) return { ...skipped, regime };
  const out: BenchRecord = { ...runs[0], regime, runs: runs.length, spread: {}, samples: 0 };
  for (const f of FIGURES) {
    const v = runs
      .map((r) => r[f])
      .filter((x): x is number => typeof x === 'number')
      .sort((a, b) => a - b);
    out[f] = v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    if (v.length > 0 && f !== 'wakesPerMsg') out.spread![f] = [v[0], v[v.length - 1]];
  }
  out.samples = runs.reduce((a, r) => a + r.samples, 0);
  return out;
}

export interface CrossProcessOptions {
  quick?: boolean;
  log?: Log;
  /** XPROC_GROUP_IDS to run (default all). */
  groups?: readonly string[];
  /** Runs per configuration (default 5; 2 with quick). */
  reps?: number;
  /** Pin each side of a two-process run to a vCPU of its own (pin.ts). */
  pin?: boolean;
}

/** A row's run, with where its two busiest processes ran (PlacementSampler) in `sameVcpu`. */
async function sampledRun(row: Config): Promise<BenchRecord> {
  beginRun();
  const sampler = new PlacementSampler();
  try {
    const rec = await row.run();
    const pinned = pinningEnabled() ? { pinned: runWasPinned() } : {};
    return rec.skipped === undefined ? { ...rec, sameVcpu: sampler.stop()?.sameVcpu ?? null, ...pinned } : rec;
  } finally {
    sampler.stop(); // a run that threw stops the sampling too (stop is idempotent)
  }
}

export async function runCrossProcess(opts: CrossProcessOptions = {}): Promise<BenchRecord[]> {
  const z = opts.quick ? QUICK : FULL;
  const log = opts.log ?? (() => undefined);
  const reps = opts.reps ?? z.reps;
  const wanted = new Set(opts.groups ?? XPROC_GROUP_IDS);
  const rows = configs(z, log).filter((c) => wanted.has(c.group));
  const pin = opts.pin === true;
  log(
    `cross-process baselines: ${rows.length} configurations x ${reps} runs, interleaved${pin ? '; each side of a run pinned to a vCPU of its own' : ''}`,
  );
  const runs: BenchRecord[][] = rows.map(() => []);
  setPinning(pin);
  try {
    for (let rep = 0; rep < reps; rep++) {
      const t0 = Date.now();
      for (let i = 0; i < rows.length; i++) runs[i].push(await sampledRun(rows[i]));
      log(`  run ${rep + 1}/${reps} of every configuration in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    setPinning(false);
  }
  return rows.map((row, i) => aggregateRuns(runs[i], row.regime));
}

// ------------------------------------------------------------------------------ the table

function withSpread(r: BenchRecord, f: Figure, show: (v: number | null) => string): string {
  const s = r.spread?.[f as Exclude<Figure, 'wakesPerMsg'>];
  const v = show(r[f] ?? null);
  return s && r.runs !== undefined && r.runs > 1 ? `${v} [${show(s[0])}..${show(s[1])}]` : v;
}

/** Aligned text table of cross-process records: median over runs, [min..max] of the runs, regime. */
export function formatSpreadTable(records: BenchRecord[]): string {
  const mb = (v: number | null) => (v === null ? '-' : (v / 1e6).toFixed(0));
  const header = [
    'name',
    'regime',
    'RTT median us [runs]',
    'p99 us',
    'msgs/s [runs]',
    'MB/s [runs]',
    'wakes/msg',
    'same vCPU [runs]',
    'runs',
    'variant',
  ];
  const rows = records.map((r) =>
    r.skipped !== undefined
      ? [r.name, r.regime ?? '', `skipped: ${r.skipped}`, '', '', '', '', '', '0', r.variant]
      : [
          r.name,
          r.regime ?? '',
          withSpread(r, 'medianRttUs', (v) => fmtNum(v, 2)),
          fmtNum(r.p99RttUs, 1),
          withSpread(r, 'msgsPerSec', fmtSi),
          withSpread(r, 'bytesPerSec', mb),
          r.wakesPerMsg === null ? '-' : r.wakesPerMsg.toFixed(3),
          withSpread(r, 'sameVcpu', (v) => fmtNum(v, 2)),
          String(r.runs ?? 1),
          r.pinned === false ? `${r.variant}; not pinned (more than two processes)` : r.variant,
        ],
  );
  const widths = header.map((h, c) =>
    c === header.length - 1
      ? 0
      : Math.max(h.length, ...rows.filter((row) => !row[2].startsWith('skipped')).map((row) => row[c].length)),
  );
  const line = (row: string[]) =>
    row[2].startsWith('skipped')
      ? `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`
      : row
          .map((cell, c) => (c >= 2 && c <= 8 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
          .join('  ')
          .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
