// The peer side of the shm worker and process drivers (shm-workers.ts,
// shm-processes.ts): one peer of the bus at a time, run by this worker thread or
// forked process through the backend's public peer API (joinBus with the
// descriptor the bus owner attached for it; a process takes its seat and the
// bus's segment from a socket, takeSeat). The driver keeps these threads or
// processes in a pool: a fresh bus gets the same ones, which join again.
// It performs the spec operations the driver posts one at a time, and runs a
// concurrent client's whole script on request (runClients), stamping every
// invocation and response on the driver's shared clock (a SharedArrayBuffer
// counter: Atomics.add is a total order that agrees with real time, so
// "a responded before b was invoked" is read off the stamps exactly).
import { parentPort, workerData } from 'worker_threads';
import { mapSegment, wait as futexWait } from '../native';
import { DRIVER_PROCESS_ENV, type DriverProcessEnv } from './shm-processes';
import type { Invocation, Message, Operation, Result } from '../spec/types';
import { isBase64 } from '../model/payload';
import { performance } from 'perf_hooks';
import { ClientScript, prng, type ClientFault, type ClientPlan, type RecordedOp } from '../protocol/clients';
import { joinBus, takeSeat, TesseraError, type MessageInput, type PeerDescriptor, type ShmPeer } from '../backends/shm';

export interface DriverWorkerData {
  /**
   * Int32 words: [0] the clock, [1] the start signal of runClients (the run number). A process
   * maps it from the fd it inherited instead (DriverProcessEnv).
   */
  clock?: SharedArrayBuffer;
  /** The module of a deliberately wrong variant (the suite's self-test; protocol/clients.ts ClientFault). */
  faultModule?: string;
}

/** Messages from the driver (a process's join has no descriptor: its seat comes on the seat socket). */
export type ToWorker =
  | { type: 'join'; descriptor?: PeerDescriptor; epoch: number }
  | { type: 'leave' }
  | { type: 'op'; id: number; op: Operation }
  | { type: 'run'; plan: ClientPlan; run: number };

/** Messages to the driver. */
export type FromWorker =
  | { type: 'result'; id: number; invocation: Invocation }
  | { type: 'error'; id: number; message: string }
  | { type: 'armed' }
  | { type: 'ran'; ops: RecordedOp[] }
  | { type: 'completion'; ticket: number; peer: number; result: Result; epoch: number };

// A worker thread talks to the driver through parentPort; a forked process through its IPC channel.
const inProcess = parentPort === null;
const processEnv: DriverProcessEnv | null = inProcess
  ? (JSON.parse(process.env[DRIVER_PROCESS_ENV] ?? 'null') as DriverProcessEnv)
  : null;
const data: DriverWorkerData = processEnv ?? (workerData as { data: DriverWorkerData }).data;
let peer: ShmPeer;
/** Which bus (reset) of the driver this thread's peer belongs to: completions carry it. */
let epoch = 0;
const clock = new Int32Array(processEnv ? mapSegment(processEnv.clockFd) : data.clock!);
const stamp = (): number => Atomics.add(clock, 0, 1) + 1;
/** The start signal is notified with Atomics between threads, with a futex wake between processes. */
const waitClock = processEnv
  ? (value: number) => futexWait(clock, 1, value, 1000)
  : (value: number) => Atomics.wait(clock, 1, value, 1000);
const post = (m: FromWorker) => (inProcess ? process.send!(m) : parentPort!.postMessage(m));
const open = () => peer.isOpen;

const INVALID = { handles: 'not an array' } as unknown as MessageInput; // makes the peer API say INVALID_ARGUMENT (after CLOSED)

/** A spec Message (base64 segments, transfers) as the peer API's MessageInput. */
function input(m: unknown): MessageInput {
  if (typeof m !== 'object' || m === null) return INVALID;
  const msg = m as Message;
  if (!Array.isArray(msg.segments) || !msg.segments.every(isBase64)) return INVALID;
  if (msg.transfers !== undefined && !Array.isArray(msg.transfers)) return INVALID;
  return {
    payload: msg.segments.map((s) => Buffer.from(s, 'base64')),
    ...(msg.transfers !== undefined ? { handles: msg.transfers } : {}),
  };
}

const errorOf = (e: unknown): Result => {
  if (e instanceof TesseraError) return { ok: false, error: e.code as never };
  throw e;
};

/** Completions of calls: where the outcome goes (a record of a running script, or a message). */
type Sink = (result: Result) => void;

const fault: ClientFault | null = data.faultModule
  ? (require(data.faultModule) as { createClientFault(): ClientFault }).createClientFault()
  : null;

/** Perform one spec operation through the peer API, synchronously; a call completes later through `sink`. */
function execute(op: Operation, sink: (ticket: number) => Sink): Invocation | Promise<Invocation> {
  const o = op as unknown as Record<string, any>;
  if (typeof o !== 'object' || o === null) return { ok: false, error: 'INVALID_ARGUMENT' };
  try {
    switch (o.op) {
      case 'createNode':
        return {
          ok: true,
          value: {
            handle: peer.createNode({
              ...(o.credentials !== undefined ? { credentials: o.credentials } : {}),
              ...(o.acceptsHandles !== undefined ? { acceptsHandles: o.acceptsHandles } : {}),
            }),
          },
        };
      case 'mint':
        return {
          ok: true,
          value: {
            handle: peer.mint(o.handle, { rights: o.rights, ...(o.badge !== undefined ? { badge: o.badge } : {}) }),
          },
        };
      case 'release':
        peer.release(o.handle);
        return { ok: true, value: {} };
      case 'revoke':
        return { ok: true, value: { revoked: peer.revoke(o.handle) } };
      case 'destroyNode':
        peer.destroyNode(o.handle, o.derivedCount !== undefined ? { derivedCount: o.derivedCount } : {});
        return { ok: true, value: {} };
      case 'sameNode':
        return { ok: true, value: { same: peer.sameNode(o.handle, o.other) } };
      case 'send': {
        if (o.timeoutMs !== 0)
          throw new Error('a send that may wait is not supported by this driver (no blocking-send): timeoutMs 0 only');
        peer.send(o.handle, input(o.message));
        return { ok: true, value: {} };
      }
      case 'call': {
        const before = peer.lastCallTicket;
        const p = peer.call(o.handle, input(o.message), {
          ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
          ...(o.replierCredentials !== undefined ? { replierCredentials: o.replierCredentials } : {}),
        });
        // The call's first part runs synchronously: a new ticket means it started (CALL-1).
        // The promise is then already rejected with the immediate error.
        if (peer.lastCallTicket === before)
          return p.then(() => ({ ok: false, error: 'INVALID_ARGUMENT' }) as Result, errorOf);
        const ticket = peer.lastCallTicket;
        const done = sink(ticket);
        p.then(
          (reply) => done({ ok: true, value: { reply } }),
          (e) => done(errorOf(e)),
        );
        return { pending: true, ticket };
      }
      case 'reply':
        peer.reply(o.handle, input(o.message));
        return { ok: true, value: {} };
      case 'multicast':
        if (o.skipFull !== undefined && typeof o.skipFull !== 'boolean')
          return { ok: false, error: open() ? 'INVALID_ARGUMENT' : 'CLOSED' };
        return { ok: true, value: peer.publish(o.handles, input(o.message), { skipFull: o.skipFull === true }) };
      case 'receive':
        if (o.timeoutMs !== 0)
          throw new Error(
            'a receive that may wait is not supported by this driver (no blocking-receive): timeoutMs 0 only',
          );
        return { ok: true, value: { deliveries: peer.tryReceive(o.max) } };
      case 'replyReceive':
        if (o.timeoutMs !== 0)
          throw new Error('a replyReceive that may wait is not supported by this driver: timeoutMs 0 only');
        return { ok: true, value: { deliveries: peer.replyTryReceive(o.handle, input(o.message), o.max) } };
      case 'cancel':
        return { ok: true, value: { cancelled: peer.cancel(o.ticket) } };
      case 'close':
        peer.close();
        return { ok: true, value: {} };
      default:
        return { ok: false, error: 'INVALID_ARGUMENT' };
    }
  } catch (e) {
    return errorOf(e);
  }
}

/** execute(), resolving a call that failed at once to its error (its rejection is only seen asynchronously). */
async function perform(op: Operation, sink: (ticket: number) => Sink): Promise<Invocation> {
  const real = async (o: Operation): Promise<Invocation> => {
    const r = execute(o, sink);
    return r instanceof Promise ? await r : r;
  };
  return fault ? fault.perform(op, real) : real(op);
}

/** Completions of calls started by `op` requests, reported as messages. */
const toDriver = (ticket: number): Sink => {
  const e = epoch,
    id = peer.id;
  return (result) => post({ type: 'completion', ticket, peer: id, result, epoch: e });
};

async function runScript(plan: ClientPlan, run: number): Promise<void> {
  const script = new ClientScript(plan);
  const jitter = prng(plan.seed * 31 + plan.client * 7 + 1);
  const ops: RecordedOp[] = [];
  let reported = false;
  post({ type: 'armed' });
  // Start together: every client waits for the driver's signal (so their operations overlap).
  while (Atomics.load(clock, 1) < run) waitClock(Atomics.load(clock, 1));
  while (!script.done) {
    const step = script.next();
    const rec: RecordedOp = {
      client: plan.client,
      op: step.op,
      targets: step.targets,
      call: stamp(),
      return: 0,
      invocation: { ok: true, value: {} },
    };
    const sink = (ticket: number): Sink => {
      const late = toDriver(ticket);
      return (result) => {
        if (reported) {
          late(result);
          return;
        }
        rec.completed = stamp();
        rec.outcome = result;
      };
    };
    rec.invocation = await perform(step.op, sink);
    rec.return = stamp();
    ops.push(rec);
    script.learn(step, rec.invocation);
    // Sometimes let this thread's event loop run (call completions are observed there).
    if (script.yieldNow()) await new Promise<void>((resolve) => setImmediate(resolve));
    // A warm thread runs its whole script in microseconds, before the others even wake up: a
    // random pause (busy, up to ~0.2 ms) after most operations spreads the scripts over the
    // same stretch of time, so their operations interleave and overlap.
    if (jitter() < 0.7) {
      const until = performance.now() + jitter() * 0.2;
      while (performance.now() < until);
    }
  }
  reported = true;
  post({ type: 'ran', ops });
}

const onMessage = (m: ToWorker) => {
  if (m.type === 'join') {
    peer = m.descriptor ? joinBus(m.descriptor) : takeSeat(processEnv!.seatFd);
    epoch = m.epoch;
    fault?.reset();
    return;
  }
  if (m.type === 'leave') {
    // Closing resolves this peer's pending calls (their completions carry the old epoch and are dropped).
    try {
      peer.close();
    } catch {
      /* closed already */
    }
    return;
  }
  if (m.type === 'run') {
    runScript(m.plan, m.run).catch((e) => post({ type: 'error', id: -1, message: (e as Error)?.stack ?? String(e) }));
    return;
  }
  perform(m.op, toDriver).then(
    (invocation) => post({ type: 'result', id: m.id, invocation }),
    (e) => post({ type: 'error', id: m.id, message: (e as Error)?.stack ?? String(e) }),
  );
};
if (inProcess) {
  process.on('message', onMessage);
  process.on('disconnect', () => process.exit(0)); // the driver is gone
} else parentPort!.on('message', onMessage);
