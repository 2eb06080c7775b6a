/**
 * The broker between processes: three processes (the broker's owner, with the broker's thread;
 * a server peer; a client peer), each peer mapping only its own segment. Rows:
 *   xproc.broker.call:   CALL-1 round trips of 64 B (call, the server's waiting receive completes,
 *                        reply, the call completes), spinning and sleeping;
 *   xproc.broker.stream: one-way blocking sends of 64 B and 64 KiB, received in batches of 64.
 * With `account`, the broker times its request path (reading a request out of the ring and
 * decoding it, running it on the bus, encoding and writing the answers) over the call rows.
 * Every row runs with each engine of the broker's bus (its variant names it), in the same run.
 */
import { fork, type ChildProcess } from 'child_process';
import { Broker, DEFAULT_ENGINE, type EngineName } from '../../backends/broker';
import { nativeAvailability } from '../../native';
import { emptyRecord, rttStats, siblingEntry, skippedRecord } from '../baselines/common';
import { BENCH_LIMITS } from '../shm';
import type { BenchRecord } from '../baselines/common';
import type { BrokerChildResult, BrokerChildTask, FromBrokerChild } from './child';

/** The engines of the broker's bus the rows run with, the default first. */
export const BROKER_ENGINES: readonly EngineName[] = [
  DEFAULT_ENGINE,
  ...(['model', 'shm'] as const).filter((e) => e !== DEFAULT_ENGINE),
];

interface Child {
  proc: ChildProcess;
  next(): Promise<FromBrokerChild>;
}

function forkChild(): Child {
  const { file, execArgv } = siblingEntry(__dirname, 'child');
  const proc = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: FromBrokerChild[] = [];
  const waiters: { resolve: (m: FromBrokerChild) => void; reject: (e: Error) => void }[] = [];
  proc.on('message', (m: FromBrokerChild) => {
    const w = waiters.shift();
    if (w) w.resolve(m);
    else queue.push(m);
  });
  proc.once('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`a broker bench peer exited (${code ?? signal})`));
  });
  return {
    proc,
    next: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise<FromBrokerChild>((resolve, reject) => waiters.push({ resolve, reject })),
  };
}

async function expectResult(c: Child): Promise<BrokerChildResult> {
  const m = await c.next();
  if ('error' in m) throw new Error(`broker bench peer: ${m.error}`);
  if (!('result' in m)) throw new Error(`broker bench peer: unexpected ${JSON.stringify(m)}`);
  return m.result;
}

/**
 * The bus limits of the broker's rows: the shm backend's rows' own (queues of 1024 messages and
 * 4 MiB, a sender's quota as large), so that a stream measures the transport rather
 * than the spec's default sender quota (16 messages, fewer than the 32 sends the source keeps in
 * flight: every send beyond it would block until the sink's next receive).
 */
export const BROKER_BENCH_LIMITS = BENCH_LIMITS;

/** A broker and two seated peer processes: the owner of a node, and a peer granted a send handle to it. */
async function setup(
  spinUs: number,
  engine: EngineName,
  completionRingBytes?: number,
): Promise<{ broker: Broker; owner: Child; other: Child; stop: () => Promise<void> }> {
  const broker = await Broker.start({ spinUs, limits: BROKER_BENCH_LIMITS, completionRingBytes, engine });
  const owner = forkChild();
  const other = forkChild();
  const stop = async () => {
    owner.proc.kill('SIGKILL');
    other.proc.kill('SIGKILL');
    await broker.stop();
  };
  try {
    const credentials = (pid: number) => ({ uid: 0, gid: 0, pid });
    const o = await broker.expect(owner.proc.pid!, { credentials: credentials(owner.proc.pid!) });
    owner.proc.send({ connect: { socketPath: broker.socketPath, spinUs, owner: true } });
    const ready = await owner.next();
    if (!('ready' in ready)) throw new Error(`broker bench owner: ${JSON.stringify(ready)}`);
    await o.connected;
    const x = await broker.expect(other.proc.pid!, {
      credentials: credentials(other.proc.pid!),
      bootstrap: [{ fromPeer: ready.ready.peer, handle: ready.ready.handle! }],
    });
    other.proc.send({ connect: { socketPath: broker.socketPath, spinUs, owner: false } });
    const r2 = await other.next();
    if (!('ready' in r2)) throw new Error(`broker bench peer: ${JSON.stringify(r2)}`);
    await x.connected;
    return { broker, owner, other, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The request-path accounts of every call row run, by regime and engine (the bench prints their medians). */
export const brokerAccounts: { regime: string; account: BrokerAccount }[] = [];

export function recordAccount(regime: string, account: BrokerAccount | null): void {
  if (account) brokerAccounts.push({ regime, account });
}

/** The median account of each regime (and engine), one line each, the request path's figures with their [min..max] over the runs. */
export function formatAccounts(): string[] {
  const out: string[] = [];
  for (const regime of [...new Set(brokerAccounts.map((a) => a.regime))]) {
    const runs = brokerAccounts.filter((a) => a.regime === regime).map((a) => a.account);
    const sorted = (f: (a: BrokerAccount) => number) => runs.map(f).sort((x, y) => x - y);
    const med = (f: (a: BrokerAccount) => number) => sorted(f)[Math.floor((runs.length - 1) / 2)];
    const us = (f: (a: BrokerAccount) => number) => {
      const v = sorted(f);
      return `${med(f).toFixed(2)} [${v[0].toFixed(2)}..${v[v.length - 1].toFixed(2)}] us`;
    };
    const w = med((a) => a.wakesPerCall),
      q = med((a) => a.requestsPerCall),
      z = med((a) => a.brokerSleepsPerCall);
    const all = (a: BrokerAccount) => a.decodeUsPerRequest + a.runUsPerRequest + a.encodeUsPerRequest;
    out.push(
      `  ${regime}: per request ${us((a) => a.decodeUsPerRequest)} reading it out of the ring and decoding it, ${us((a) => a.runUsPerRequest)} running it on the bus, ` +
        `${us((a) => a.encodeUsPerRequest)} encoding and writing the answers (${us(all)} in all); per call ${q.toFixed(2)} requests ` +
        `(call, reply, the server's next receive), ${w.toFixed(2)} futex wakes by the broker and the caller, ${z.toFixed(2)} broker sleeps; median of ${runs.length} runs`,
    );
  }
  return out;
}

/** What the broker and its peers did per message in each stream row run. */
export interface StreamAccount {
  size: number;
  engine: EngineName;
  /** Requests the broker took per message sent (a send each, plus the sink's receives). */
  requestsPerMsg: number;
  /** Requests taken per round that found work: how much the broker batches. */
  requestsPerBusyRound: number;
  brokerSleepsPerMsg: number;
  peerSleepsPerMsg: number;
}

export const streamAccounts: StreamAccount[] = [];

/** The median stream account of each message size, one line each. */
export function formatStreamAccounts(): string[] {
  const out: string[] = [];
  const kinds = new Map(streamAccounts.map((a) => [`${a.size} ${a.engine}`, a]));
  for (const { size, engine } of kinds.values()) {
    const runs = streamAccounts.filter((a) => a.size === size && a.engine === engine);
    const med = (f: (a: StreamAccount) => number) => {
      const v = runs.map(f).sort((x, y) => x - y);
      return v[Math.floor((v.length - 1) / 2)];
    };
    out.push(
      `  stream of ${size} B, ${engine} engine: ${med((a) => a.requestsPerMsg).toFixed(3)} requests per message, ${med((a) => a.requestsPerBusyRound).toFixed(1)} per busy round; ` +
        `sleeps per message: broker ${med((a) => a.brokerSleepsPerMsg).toFixed(4)}, peers ${med((a) => a.peerSleepsPerMsg).toFixed(4)} (median of ${runs.length} runs)`,
    );
  }
  return out;
}

export interface BrokerAccount {
  requests: number;
  requestsPerCall: number;
  wakesPerCall: number;
  brokerSleepsPerCall: number;
  decodeUsPerRequest: number;
  runUsPerRequest: number;
  encodeUsPerRequest: number;
}

/** Call round trips between two peer processes through the broker. */
export async function brokerCall(
  name: string,
  variant: string,
  o: {
    spinUs: number;
    /** Default: the broker's default engine. */
    engine?: EngineName;
    msgSize: number;
    warmup: number;
    iterations: number;
    maxMs: number;
    account?: boolean;
  },
): Promise<{ record: BenchRecord; account: BrokerAccount | null }> {
  const a = nativeAvailability();
  if (!a.available) return { record: skippedRecord(name, variant, a.error.message), account: null };
  const { broker, owner, other, stop } = await setup(o.spinUs, o.engine ?? DEFAULT_ENGINE);
  try {
    const base = { socketPath: broker.socketPath, spinUs: o.spinUs };
    owner.proc.send({ role: 'server', ...base, count: Number.MAX_SAFE_INTEGER } satisfies BrokerChildTask);
    if (o.account) await broker.times(true);
    other.proc.send({
      role: 'client',
      ...base,
      msgSize: o.msgSize,
      warmup: o.warmup,
      iterations: o.iterations,
      maxMs: o.maxMs,
    } satisfies BrokerChildTask);
    const r = await expectResult(other);
    const t = o.account ? await broker.times(false) : null;
    const samples = r.samples ?? [];
    const calls = samples.length + o.warmup;
    const { medianUs, p99Us } = rttStats(samples, samples.length);
    const record = emptyRecord(name, variant);
    record.medianRttUs = medianUs;
    record.p99RttUs = p99Us;
    record.samples = samples.length;
    const account =
      t && t.requests > 0
        ? {
            requests: t.requests,
            decodeUsPerRequest: t.decodeNs / t.requests / 1000,
            runUsPerRequest: t.runNs / t.requests / 1000,
            encodeUsPerRequest: t.encodeNs / t.requests / 1000,
            requestsPerCall: t.requests / calls,
            wakesPerCall: (t.wakes + (r.waits?.wakes ?? 0)) / calls,
            brokerSleepsPerCall: t.sleeps / calls,
          }
        : null;
    // Futex wakes that woke a thread, by the broker and the client (the server's own bells are not
    // counted: it never ends), per call timed or warmed up.
    record.wakesPerMsg = t ? (t.wakes + (r.waits?.wakes ?? 0)) / calls : null;
    return { record, account };
  } finally {
    await stop();
  }
}

/** One-way blocking sends from one peer process to another through the broker. */
export async function brokerStream(
  name: string,
  variant: string,
  o: {
    spinUs: number;
    /** Default: the broker's default engine. */
    engine?: EngineName;
    msgSize: number;
    count: number;
    window: number;
    warmup?: number;
    /** Deliveries per receive at most (default 64). */
    batch?: number;
    /** Each peer's completion ring, bytes (default: the broker's). */
    completionRingBytes?: number;
  },
): Promise<BenchRecord> {
  const a = nativeAvailability();
  if (!a.available) return skippedRecord(name, variant, a.error.message);
  const { broker, owner, other, stop } = await setup(o.spinUs, o.engine ?? DEFAULT_ENGINE, o.completionRingBytes);
  try {
    const base = { socketPath: broker.socketPath, spinUs: o.spinUs };
    const batch = o.batch ?? 64;
    // A warm-up stream first, in the same processes (their code compiled, as the C rows' warm-up).
    if ((o.warmup ?? 0) > 0) {
      const w = { count: o.warmup!, msgSize: o.msgSize, window: o.window };
      owner.proc.send({ role: 'sink', ...base, count: w.count, batch } satisfies BrokerChildTask);
      other.proc.send({ role: 'source', ...base, ...w } satisfies BrokerChildTask);
      await Promise.all([expectResult(owner), expectResult(other)]);
    }
    await broker.times(false);
    owner.proc.send({ role: 'sink', ...base, count: o.count, batch } satisfies BrokerChildTask);
    other.proc.send({
      role: 'source',
      ...base,
      msgSize: o.msgSize,
      count: o.count,
      window: o.window,
    } satisfies BrokerChildTask);
    const [sink, src] = await Promise.all([expectResult(owner), expectResult(other)]);
    const t = await broker.times(false);
    const elapsedNs = Number(BigInt(sink.t!) - BigInt(src.t!));
    const record = emptyRecord(name, variant);
    record.msgsPerSec = (o.count * 1e9) / elapsedNs;
    record.bytesPerSec = (o.count * o.msgSize * 1e9) / elapsedNs;
    record.samples = o.count;
    // Futex wakes that woke a thread, by the broker and both peers, per message sent.
    record.wakesPerMsg = (t.wakes + (sink.waits?.wakes ?? 0) + (src.waits?.wakes ?? 0)) / o.count;
    streamAccounts.push({
      size: o.msgSize,
      engine: o.engine ?? DEFAULT_ENGINE,
      requestsPerMsg: t.taken / o.count,
      requestsPerBusyRound: t.busyRounds > 0 ? t.taken / t.busyRounds : 0,
      brokerSleepsPerMsg: t.sleeps / o.count,
      peerSleepsPerMsg: ((sink.waits?.sleeps ?? 0) + (src.waits?.sleeps ?? 0)) / o.count,
    });
    return record;
  } finally {
    await stop();
  }
}
