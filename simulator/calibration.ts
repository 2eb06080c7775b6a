// Calibration: fit a transport profile to measurements of this machine, and
// check how well the simulator then predicts them. Measurements come in as data
// (the simulator does not import the benches: `tessera calibrate` runs them).
//
// What is fitted, in rounds: (1) the per-message costs, scaled together so the
// simulated one-way stream matches the measured one; (2) when the CPU time of a
// round trip was measured, the CPU of the wake-up path (context switch, the
// waker's share, going to sleep) so the simulated round trip burns as much CPU;
// (3) the wake-up latency (or, for a spinning transport, its call and reply costs)
// so the simulated round trip takes as long; (4) for a spinning transport whose
// round trip was also measured with no spinning (a futex wait and wake each way),
// the wake-up latency so the simulated round trip without spinning takes as long. (2) is what splits a round trip
// into CPU work and off-CPU waiting, which a pool of clients shares very
// differently. What is not fitted: the RPC-pool throughput, which is then an
// out-of-sample check of the model (when a measurement exists). Between
// processes also: (5) the copy cost per KiB, so the simulated 64 KiB round trip
// matches (or, where none was measured, the 64 KiB one-way stream); out of sample
// there: the other 64 KiB figure, and where one thread runs every operation (the
// broker), how long it holds the bus per operation.
import type { Profile, Scenario } from './types';
import { runScenario } from './run';
import { textTable } from './report';

/** What was measured for one transport, on this machine. */
export interface Measurement {
  transport: string;
  /** Median call/reply (or ping-pong) round trip, 64-byte messages. */
  rttNs: number | null;
  /** One-way stream of 64-byte messages, one receiver. */
  oneWayMsgsPerSec: number | null;
  /**
   * A spinning transport's round trip with spinning off (each side sleeps in the kernel at once,
   * the sleeping regime): what fits its wake-up latency.
   */
  sleepingRttNs?: number | null;
  /** One-way stream of 64 KiB messages: what fits the copy cost per KiB. */
  largeOneWayMsgsPerSec?: number | null;
  /** Call/reply round trip of 64 KiB messages (spinning): predicted, never fitted. */
  largeRttNs?: number | null;
  /**
   * How long the bus lock is held per operation, measured where one thread runs every operation
   * (the broker's own account of its request path): predicted, never fitted.
   */
  lockHoldNsPerOp?: number | null;
  /** Messages a stream's sender keeps in flight, when the bench bounds it (else the stream scenario's 1024). */
  streamWindowMessages?: number;
  /** CPU time (user + system, both sides) one call/reply round trip costs, when measured. */
  cpuNsPerRoundTrip?: number | null;
  /** RPC pool: calls per second with `rpcPool` clients and server threads. */
  rpcPoolCallsPerSec?: number | null;
  rpcPool?: { clients: number; serverThreads: number; batch?: number };
  /**
   * Load of other processes during each measurement, in CPU-equivalents: the machine's busy CPU
   * time (/proc/stat) minus this process tree's, over the run's wall time. The simulated
   * scenarios run with the same background (Scenario.background): an input, not a fit.
   */
  backgroundCpus?: {
    rtt?: number | null;
    stream?: number | null;
    pool?: number | null;
    /** During the round trip without spinning, and the 64 KiB stream and round trip (else rtt, stream). */
    sleepingRtt?: number | null;
    largeStream?: number | null;
    largeRtt?: number | null;
  };
  /** Where each number comes from (bench record names and variants). */
  sources: string[];
}

export interface Prediction {
  rttNs: number;
  oneWayMsgsPerSec: number;
  rpcPoolCallsPerSec: number;
  /** CPU busy time of the simulated ping-pong per round trip (both sides). */
  cpuNsPerRoundTrip: number;
  /** The round trip with spinning off (when it was measured). */
  sleepingRttNs?: number;
  /** The 64 KiB one-way stream (when it was measured). */
  largeOneWayMsgsPerSec?: number;
  /** The 64 KiB round trip (when it was measured). */
  largeRttNs?: number;
  /** The bus lock's busy time per acquisition in the simulated ping-pong (when measured, and the profile has a lock). */
  lockHoldNsPerOp?: number;
}

/** Which of the optional figures to predict, and the stream's shape: read from a Measurement. */
export interface PredictionShape {
  sleeping?: boolean;
  large?: boolean;
  largeRtt?: boolean;
  lockHold?: boolean;
  streamWindowMessages?: number;
}

export function shapeOf(m: Measurement): PredictionShape {
  return {
    sleeping: !!m.sleepingRttNs,
    large: !!m.largeOneWayMsgsPerSec,
    largeRtt: !!m.largeRttNs,
    lockHold: !!m.lockHoldNsPerOp,
    ...(m.streamWindowMessages ? { streamWindowMessages: m.streamWindowMessages } : {}),
  };
}

const SEED = '0xca1';

/** Background load (CPU-equivalents) as a scenario field; none below 0.02 CPUs (the probe's resolution). */
function bgOf(cpus: number | null | undefined, what: string): Partial<Scenario> {
  return cpus && cpus >= 0.02
    ? { background: { cpus: Math.round(cpus * 100) / 100, source: `measured during the ${what} run` } }
    : {};
}

export function pingpongScenario(rounds = 3000, background?: number | null, payloadBytes = 64): Scenario {
  return {
    name: 'calibration-pingpong',
    description: `calibration: ${payloadBytes === 64 ? '64 B' : `${payloadBytes / 1024} KiB`} call/reply round trips`,
    cpus: 2,
    ...bgOf(background, 'round-trip'),
    ...(payloadBytes > 64 ? { limits: { maxPayloadBytes: payloadBytes } } : {}),
    workload: { kind: 'pingpong', mode: 'call', rounds, payloadBytes },
  };
}

export function streamScenario(
  messages = 20000,
  background?: number | null,
  payloadBytes = 64,
  windowMessages = 1024,
): Scenario {
  return {
    name: 'calibration-stream',
    description: `calibration: one-way stream of ${payloadBytes === 64 ? '64 B' : `${payloadBytes / 1024} KiB`} messages`,
    cpus: 2,
    ...bgOf(background, 'stream'),
    limits: {
      queueCapacityMessages: 1024,
      senderQuotaMessages: windowMessages,
      ...(payloadBytes > 64
        ? { maxPayloadBytes: payloadBytes, queueCapacityBytes: 4 * 1024 * 1024, senderQuotaBytes: 4 * 1024 * 1024 }
        : {}),
    },
    workload: {
      kind: 'backpressure',
      producers: 1,
      messagesPerProducer: messages,
      payloadBytes,
      consumerServiceNs: 0,
      sendTimeoutMs: 1000,
    },
  };
}

/**
 * The RPC pool as the benches run it: `clients` client peers in closed-loop 64 B calls to one
 * server peer with `serverThreads` threads, each receiving up to `batch` calls at a time (the shm
 * bench's receiveBatchSync(64); the C server reads one socket per read, so 1 for af_unix).
 */
export function rpcPoolScenario(
  clients = 4,
  serverThreads = 1,
  calls = 1000,
  batch = 1,
  background?: number | null,
): Scenario {
  return {
    name: 'calibration-rpc-pool',
    description: 'calibration: RPC pool',
    cpus: 2,
    ...bgOf(background, 'RPC-pool'),
    workload: { kind: 'rpc-pool', clients, serverThreads, callsPerClient: calls, payloadBytes: 64, batch },
  };
}

/** The pool shape of both RPC-pool benches (C epoll server, Node event loop, shm bench): one server thread. */
export const DEFAULT_POOL: { clients: number; serverThreads: number; batch?: number } = {
  clients: 4,
  serverThreads: 1,
};

/** The profile with spinning off: every wait (for a completion or for the bus lock) sleeps at once. */
export function sleepingProfile(p: Profile): Profile {
  const q = structuredClone(p);
  q.spin.budget.ns = 0;
  if (q.lock?.spin) q.lock.spin.ns = 0;
  return q;
}

/**
 * The simulator's predictions for the three calibration workloads, each with the background load
 * measured during its run. The pool runs 25000 calls per client, as the shm bench does (many scheduler slices).
 * With `shape`, also the round trip with spinning off and the 64 KiB stream, and the stream's window.
 */
export function predict(
  profile: Profile,
  pool = DEFAULT_POOL,
  quick = false,
  background: Measurement['backgroundCpus'] = {},
  shape: PredictionShape = {},
): Prediction {
  const run = (s: Scenario) => {
    const out = runScenario({ scenario: s, profile, seed: SEED });
    if (out.failure) throw new Error(`calibration run ${s.name} on ${profile.name} failed: ${out.failure.message}`);
    return out.results;
  };
  const window = shape.streamWindowMessages ?? 1024;
  const pp = run(pingpongScenario(quick ? 1000 : 3000, background.rtt));
  const st = run(streamScenario(quick ? 5000 : 20000, background.stream, 64, window));
  const rp = run(
    rpcPoolScenario(pool.clients, pool.serverThreads, quick ? 300 : 25000, pool.batch ?? 1, background.pool),
  );
  const out: Prediction = {
    rttNs: pp.latency.p50Ns,
    oneWayMsgsPerSec: st.messagesPerSec,
    rpcPoolCallsPerSec: rp.callsPerSec,
    cpuNsPerRoundTrip: Math.round(pp.totals.cpuBusyNs / Math.max(1, pp.totals.calls)),
  };
  if (shape.sleeping) {
    const sleeping = runScenario({
      scenario: pingpongScenario(quick ? 1000 : 3000, background.sleepingRtt ?? background.rtt),
      profile: sleepingProfile(profile),
      seed: SEED,
    });
    if (sleeping.failure) throw new Error(`calibration run without spinning failed: ${sleeping.failure.message}`);
    out.sleepingRttNs = sleeping.results.latency.p50Ns;
  }
  // One size for the fit and the check: a long 64 KiB stream can change regime midway (its sender's
  // spins lose and the back-off has it sleep), so a shorter one would fit another regime.
  if (shape.large)
    out.largeOneWayMsgsPerSec = run(
      streamScenario(4000, background.largeStream ?? background.stream, 65536, window),
    ).messagesPerSec;
  if (shape.largeRtt)
    out.largeRttNs = run(
      pingpongScenario(quick ? 500 : 2000, background.largeRtt ?? background.rtt, 65536),
    ).latency.p50Ns;
  if (shape.lockHold && pp.lock && pp.lock.acquisitions > 0)
    out.lockHoldNsPerOp = Math.round(pp.lock.busyNs / pp.lock.acquisitions);
  return out;
}

/** The costs paid once per message (scaled together by the stream fit). */
function perMessageCosts(p: Profile) {
  const spinning = p.spin.budget.ns > 0;
  return spinning
    ? [p.ops.send.cpu, p.ops.receive.cpu, p.ops.receivePerMessage]
    : [p.ops.send.cpu, p.ops.call.cpu, p.ops.reply.cpu, p.ops.receive.cpu, p.ops.receivePerMessage];
}

/**
 * Fit step 1: scale the per-message costs so the simulated one-way stream moves to the measured
 * one. Damped (exponent 0.8): the stream and the round trip share costs. Returns the factor.
 * Costs are whole nanoseconds with floors (10 ns per op, 5 ns per delivery). A spinning
 * transport's call and reply are left to the round trip (fit step 3): its stream is bound by
 * the sender's cache-line transfers and lock contention with the receiver, which a round trip,
 * one side at a time, does not pay.
 */
export function scaleToStream(
  p: Profile,
  measuredMsgsPerSec: number,
  predictedMsgsPerSec: number,
  withCallReply = p.spin.budget.ns <= 0,
): number {
  const f = Math.pow(predictedMsgsPerSec / measuredMsgsPerSec, 0.8);
  for (const o of withCallReply ? [p.ops.send, p.ops.call, p.ops.reply, p.ops.receive] : [p.ops.send, p.ops.receive])
    o.cpu.ns = Math.max(10, Math.round(o.cpu.ns * f));
  p.ops.receivePerMessage.ns = Math.max(5, Math.round(p.ops.receivePerMessage.ns * f));
  return f;
}

/**
 * The kernel's wake-up path as fitted for another transport on the same machine (the af_unix
 * fit, which measures it: round trip time and CPU): context switch, the waker's share, going to
 * sleep, wake-up latency, migration. A futex wait/wake pays the same scheduler path. Copied with
 * their sources; the syscall flags of `p` stay.
 */
export function adoptKernelCosts(p: Profile, from: Profile, note: string): void {
  const copy = (c: { ns: number; source: string }, f: { ns: number; source: string }) => {
    c.ns = f.ns;
    c.source = `${note}: ${f.source}`;
  };
  copy(p.scheduler.contextSwitch, from.scheduler.contextSwitch);
  copy(p.scheduler.migration, from.scheduler.migration);
  copy(p.wake.waker, from.wake.waker);
  copy(p.wake.sleep, from.wake.sleep);
  copy(p.wake.latency, from.wake.latency);
}

/** The CPU costs of the wake-up path: a round trip pays each about twice (two wakes, two sleeps, two switches in). */
function wakePathCosts(p: Profile) {
  return [p.scheduler.contextSwitch, p.wake.waker, p.wake.sleep];
}

/**
 * Fit step 2: spread half the gap between the measured and the simulated CPU time of a round
 * trip over the wake-up path's CPU costs, in proportion to them (floor 50 ns each). Returns the
 * new context switch cost.
 */
export function matchRoundTripCpu(p: Profile, measuredCpuNs: number, predictedCpuNs: number): number {
  const costs = wakePathCosts(p);
  const total = costs.reduce((a, c) => a + c.ns, 0);
  const gap = (measuredCpuNs - predictedCpuNs) / 2;
  for (const c of costs)
    c.ns = Math.max(50, Math.round(c.ns + (total > 0 ? (gap * c.ns) / total : gap / costs.length)));
  return p.scheduler.contextSwitch.ns;
}

/**
 * Fit step 3: move the wake-up latency of a sleeping transport by half the round-trip gap (a
 * round trip has two one-way trips; floor 200 ns); returns it. A spinning transport's round
 * trip is its call and reply on the CPU (plus two spin observe delays, kept): scale call and
 * reply together by the gap (factor within 1/4..4 per round, floor 10 ns); returns the call cost.
 */
export function moveToRoundTrip(p: Profile, measuredRttNs: number, predictedRttNs: number): number {
  const gap = (measuredRttNs - predictedRttNs) / 2;
  if (p.spin.budget.ns > 0) {
    const sum = p.ops.call.cpu.ns + p.ops.reply.cpu.ns;
    const f = Math.min(4, Math.max(0.25, 1 + (2 * gap) / sum));
    p.ops.reply.cpu.ns = Math.max(10, Math.round(p.ops.reply.cpu.ns * f));
    return (p.ops.call.cpu.ns = Math.max(10, Math.round(p.ops.call.cpu.ns * f)));
  }
  return (p.wake.latency.ns = Math.max(200, Math.round(p.wake.latency.ns + gap)));
}

/**
 * Fit step 4 (a spinning transport whose round trip was measured with spinning off too): move
 * the wake-up latency by half the gap of that round trip (two wake-ups in it; floor 200 ns).
 */
export function moveSleepingToRoundTrip(p: Profile, measuredRttNs: number, predictedRttNs: number): number {
  return (p.wake.latency.ns = Math.max(200, Math.round(p.wake.latency.ns + (measuredRttNs - predictedRttNs) / 2)));
}

/**
 * Fit step 5 (when the 64 KiB stream was measured): move the copy cost per KiB by the gap in time
 * per message over the 64 KiB a message copies (the slower side of the stream pays one copy of
 * it), by a factor within 1/2..2 per round (the simulated stream can change regime at a copy
 * cost: its sender's spins start losing); floor 1 ns. Returns it.
 */
export function moveCopyToLargeStream(p: Profile, measuredMsgsPerSec: number, predictedMsgsPerSec: number): number {
  const gapNs = 1e9 / measuredMsgsPerSec - 1e9 / predictedMsgsPerSec;
  const c = p.copyPerKiB.ns;
  return (p.copyPerKiB.ns = Math.max(1, Math.round(Math.min(2 * c, Math.max(c / 2, c + gapNs / 64)))));
}

/**
 * Fit step 5 with the 64 KiB round trip measured: move the copy cost per KiB by the round trip's
 * gap over the 2 x 64 KiB it copies, by a factor within 1/2..2 per round; floor 1 ns. Returns it.
 */
export function moveCopyToLargeRoundTrip(p: Profile, measuredRttNs: number, predictedRttNs: number): number {
  const c = p.copyPerKiB.ns;
  const moved = c + (measuredRttNs - predictedRttNs) / 128;
  return (p.copyPerKiB.ns = Math.max(1, Math.round(Math.min(2 * c, Math.max(c / 2, moved)))));
}

/** A calibrated profile's description without the note of an earlier calibration. */
function baseDescription(d: string): string {
  return d.replace(/ \[calibrated \(.*\]$/s, '');
}

/**
 * Fit a profile to measurements: a few rounds of (1) scaling the per-message costs to the
 * one-way stream, (2) matching the round trip's CPU time with the wake-up path's CPU costs (when
 * measured), (3) moving the wake-up latency (or a spinning transport's call and reply) to the
 * round trip, (4) moving a spinning transport's wake-up latency to its round trip without spinning.
 * The RPC pool is not fitted: its prediction is the out-of-sample check. Deterministic (one seed).
 * `predictor` is for tests (a stand-in for the simulator with known answers).
 */
export function fitProfile(
  base: Profile,
  m: Measurement,
  label: string,
  rounds = 5,
  predictor: (
    p: Profile,
    pool: { clients: number; serverThreads: number; batch?: number },
    quick: boolean,
    background?: Measurement['backgroundCpus'],
    shape?: PredictionShape,
  ) => Prediction = predict,
): { profile: Profile; prediction: Prediction } {
  const p: Profile = structuredClone(base);
  const pool = m.rpcPool ?? DEFAULT_POOL;
  const spinning = p.spin.budget.ns > 0;
  const bg = m.backgroundCpus ?? {};
  const shape = shapeOf(m);
  const fitSleeping = spinning && !!m.sleepingRttNs;
  // The fitting rounds predict only what they fit (at the quick sizes).
  // The 64 KiB figure the copy cost is fitted to: the round trip when measured, else the stream.
  const fitShape = { ...shape, large: shape.large && !shape.largeRtt, lockHold: false };
  // A spinning transport's call and reply as the last round found them, with the round trip simulated then.
  let last: { predicted: number; sum: number; call: number; reply: number } | null = null;
  let stuck = false;
  // The copy cost that came closest to the 64 KiB stream in the rounds (the last move is untried).
  let bestCopy: { gap: number; ns: number } | null = null;
  for (let i = 0; i < rounds; i++) {
    if (m.oneWayMsgsPerSec) {
      const pred = predictor(p, pool, true, bg, fitShape);
      if (pred.oneWayMsgsPerSec > 0) scaleToStream(p, m.oneWayMsgsPerSec, pred.oneWayMsgsPerSec);
    }
    if (m.cpuNsPerRoundTrip)
      matchRoundTripCpu(p, m.cpuNsPerRoundTrip, predictor(p, pool, true, bg, fitShape).cpuNsPerRoundTrip);
    if (m.rttNs && !stuck) {
      const pred = predictor(p, pool, true, bg, fitShape);
      const predicted = pred.rttNs;
      // The simulated spinning round trip is the sleeping one (within 10%): its spins lose to the
      // background load, and call and reply are not what it is made of; leave them this round.
      const spinsLose =
        spinning &&
        pred.sleepingRttNs !== undefined &&
        Math.abs(predicted - pred.sleepingRttNs) < 0.1 * pred.sleepingRttNs;
      const sum = p.ops.call.cpu.ns + p.ops.reply.cpu.ns;
      // A spinning transport's simulated round trip is bimodal (its spins win, or lose to the
      // background load and it sleeps, as the measured one may): when it moved by less than half
      // what the last scaling moved call and reply by, it is not following them (it sleeps), and
      // they go back to what they were and stay.
      if (spinsLose) stuck = stuck || i === rounds - 1;
      else if (spinning && last && Math.abs(predicted - last.predicted) < 0.5 * Math.abs(sum - last.sum)) {
        p.ops.call.cpu.ns = last.call;
        p.ops.reply.cpu.ns = last.reply;
        stuck = true;
      } else {
        last = { predicted, sum, call: p.ops.call.cpu.ns, reply: p.ops.reply.cpu.ns };
        moveToRoundTrip(p, m.rttNs, predicted);
      }
    }
    if (fitSleeping) {
      const pred = predictor(p, pool, true, bg, fitShape).sleepingRttNs;
      if (pred !== undefined) moveSleepingToRoundTrip(p, m.sleepingRttNs!, pred);
    }
    if (m.largeRttNs) {
      // A 64 KiB round trip copies its payload twice (call and reply), as the protocol does.
      const pred = predictor(p, pool, true, bg, fitShape).largeRttNs;
      if (pred) {
        const gap = Math.abs(pred / m.largeRttNs - 1);
        if (!bestCopy || gap < bestCopy.gap) bestCopy = { gap, ns: p.copyPerKiB.ns };
        moveCopyToLargeRoundTrip(p, m.largeRttNs, pred);
      }
    } else if (m.largeOneWayMsgsPerSec) {
      const pred = predictor(p, pool, true, bg, fitShape).largeOneWayMsgsPerSec;
      if (pred) {
        const gap = Math.abs(pred / m.largeOneWayMsgsPerSec - 1);
        if (!bestCopy || gap < bestCopy.gap) bestCopy = { gap, ns: p.copyPerKiB.ns };
        moveCopyToLargeStream(p, m.largeOneWayMsgsPerSec, pred);
      }
    }
  }
  if (bestCopy) p.copyPerKiB.ns = bestCopy.ns;
  const note = `calibrated (${label}): fitted to ${m.sources.join('; ')}`;
  if (m.oneWayMsgsPerSec)
    for (const c of perMessageCosts(p)) c.source = `${note}; per-message costs scaled together to the one-way stream`;
  if (m.cpuNsPerRoundTrip)
    for (const c of wakePathCosts(p))
      c.source = `${note}; the wake-up path's CPU costs scaled together to the round trip's CPU time`;
  if (m.rttNs) {
    if (spinning)
      for (const c of [p.ops.call.cpu, p.ops.reply.cpu])
        c.source = stuck
          ? `${note}; call and reply scaled together to the round trip, kept where the simulated round trip stopped following them (it is bimodal: its spins win, or lose to the background load and it sleeps)`
          : `${note}; call and reply scaled together so the round trip matches`;
    else p.wake.latency.source = `${note}; set so the round trip matches`;
  }
  if (fitSleeping) p.wake.latency.source = `${note}; set so the round trip without spinning (futex only) matches`;
  if (m.largeRttNs || m.largeOneWayMsgsPerSec)
    p.copyPerKiB.source = `${note}; the value of the fitting rounds that came closest to the 64 KiB ${m.largeRttNs ? 'call/reply round trip' : 'one-way stream'}`;
  p.description = `${baseDescription(base.description)} [${note}]`;
  return { profile: p, prediction: predictor(p, pool, false, bg, shape) };
}

export interface CheckRow {
  transport: string;
  metric: string;
  measured: number | null;
  predicted: number;
  /** (predicted - measured) / measured; null when not measured. */
  error: number | null;
  ok: boolean | null;
}

/** Predicted vs measured, within `tolerance` (25% by default). */
export function checkPredictions(m: Measurement, pred: Prediction, tolerance = 0.25): CheckRow[] {
  const row = (metric: string, measured: number | null | undefined, predicted: number): CheckRow => {
    const err = measured ? (predicted - measured) / measured : null;
    return {
      transport: m.transport,
      metric,
      measured: measured ?? null,
      predicted,
      error: err,
      ok: err === null ? null : Math.abs(err) <= tolerance,
    };
  };
  return [
    row('call/reply round trip (ns)', m.rttNs, pred.rttNs),
    ...(m.sleepingRttNs && pred.sleepingRttNs !== undefined
      ? [row('call/reply round trip, no spinning (ns)', m.sleepingRttNs, pred.sleepingRttNs)]
      : []),
    ...(m.cpuNsPerRoundTrip ? [row('CPU per round trip (ns)', m.cpuNsPerRoundTrip, pred.cpuNsPerRoundTrip)] : []),
    row('one-way msgs/s', m.oneWayMsgsPerSec, pred.oneWayMsgsPerSec),
    ...(m.largeOneWayMsgsPerSec && pred.largeOneWayMsgsPerSec !== undefined
      ? [row('one-way 64 KiB msgs/s', m.largeOneWayMsgsPerSec, pred.largeOneWayMsgsPerSec)]
      : []),
    ...(m.largeRttNs && pred.largeRttNs !== undefined
      ? [row('64 KiB call/reply round trip (ns)', m.largeRttNs, pred.largeRttNs)]
      : []),
    ...(m.lockHoldNsPerOp && pred.lockHoldNsPerOp !== undefined
      ? [row('bus lock held per operation (ns)', m.lockHoldNsPerOp, pred.lockHoldNsPerOp)]
      : []),
    row(
      `RPC pool calls/s (${(m.rpcPool ?? DEFAULT_POOL).clients} clients, ${(m.rpcPool ?? DEFAULT_POOL).serverThreads} server thread${(m.rpcPool ?? DEFAULT_POOL).serverThreads > 1 ? 's' : ''})`,
      m.rpcPoolCallsPerSec,
      pred.rpcPoolCallsPerSec,
    ),
  ];
}

export function checkTable(rows: CheckRow[]): string {
  return textTable(
    ['transport', 'metric', 'measured', 'predicted', 'error', 'within 25%'],
    rows.map((r) => [
      r.transport,
      r.metric,
      r.measured === null ? 'not measured' : r.measured.toFixed(0),
      r.predicted.toFixed(0),
      r.error === null ? '-' : `${(r.error * 100).toFixed(1)}%`,
      r.ok === null ? '-' : r.ok ? 'yes' : 'NO',
    ]),
    2,
  );
}

/** Median and range of each (transport, metric) over repetitions. */
export function summarize(reps: CheckRow[][]): SummaryRow[] {
  const keys = new Map<string, CheckRow[]>();
  for (const rows of reps)
    for (const r of rows) {
      const k = `${r.transport}\u0000${r.metric}`;
      if (!keys.has(k)) keys.set(k, []);
      keys.get(k)!.push(r);
    }
  const med = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const n = s.length;
    return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  };
  return [...keys.values()].map((rs) => {
    const errs = rs.map((r) => r.error).filter((e): e is number => e !== null);
    const measured = rs.map((r) => r.measured).filter((e): e is number => e !== null);
    return {
      transport: rs[0].transport,
      metric: rs[0].metric,
      runs: rs.length,
      measuredMedian: med(measured),
      measuredMin: measured.length ? Math.min(...measured) : null,
      measuredMax: measured.length ? Math.max(...measured) : null,
      predictedMedian: med(rs.map((r) => r.predicted))!,
      errorMedian: med(errs),
      errorMin: errs.length ? Math.min(...errs) : null,
      errorMax: errs.length ? Math.max(...errs) : null,
      within: errs.filter((e) => Math.abs(e) <= 0.25).length,
    };
  });
}

export interface SummaryRow {
  transport: string;
  metric: string;
  runs: number;
  measuredMedian: number | null;
  measuredMin: number | null;
  measuredMax: number | null;
  predictedMedian: number;
  errorMedian: number | null;
  errorMin: number | null;
  errorMax: number | null;
  /** Runs whose error was within 25%. */
  within: number;
}

export function summaryTable(rows: SummaryRow[]): string {
  const pct = (e: number | null) => (e === null ? '-' : `${(e * 100).toFixed(1)}%`);
  const n = (x: number | null) => (x === null ? '-' : x.toFixed(0));
  return textTable(
    [
      'transport',
      'metric',
      'measured median [min..max]',
      'predicted median',
      'error median [min..max]',
      'runs within 25%',
    ],
    rows.map((r) => [
      r.transport,
      r.metric,
      `${n(r.measuredMedian)} [${n(r.measuredMin)}..${n(r.measuredMax)}]`,
      n(r.predictedMedian),
      `${pct(r.errorMedian)} [${pct(r.errorMin)}..${pct(r.errorMax)}]`,
      `${r.within}/${r.runs}`,
    ]),
    2,
  );
}
