/**
 * Worker entry for the postMessage baselines. Event-driven: the per-message work lives in named
 * handler functions (no await anywhere).
 */
import { MessagePort, parentPort, workerData } from 'worker_threads';

export type PmWorkerData =
  | { role: 'echo-parent' }
  | { role: 'echo-port'; port: MessagePort }
  | { role: 'ping-port'; port: MessagePort; msgSize: number; warmup: number; iterations: number; maxMs: number }
  | {
      role: 'producer';
      port: MessagePort;
      msgSize: number;
      warmup: number;
      count: number;
      window: number;
      maxMs: number;
    }
  | { role: 'consumer'; port: MessagePort; msgSize: number; warmup: number; ackEvery: number };

export interface PmPingResult {
  done: number;
  samples: Float64Array;
  elapsedNs: number;
}

const d = workerData as PmWorkerData;

function fail(e: unknown): void {
  parentPort!.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
}

/** Echo every message back to the main thread until told to stop (a null message). */
function runEchoParent(): void {
  const port = parentPort!;
  let echoed = 0;
  port.on('message', function echoParent(m: unknown) {
    if (m === null) {
      port.postMessage({ result: { echoed } });
      port.removeListener('message', echoParent); // unrefs parentPort: the worker can exit
      return;
    }
    echoed++;
    port.postMessage(m);
  });
}

/** Echo on a MessageChannel port until the peer closes it. */
function runEchoPort(port: MessagePort): void {
  let echoed = 0;
  port.on('message', function echoPort(m: unknown) {
    echoed++;
    port.postMessage(m);
  });
  port.on('close', () => parentPort!.postMessage({ result: { echoed } }));
}

/** Ping over a port: one message in flight, every round trip timed with hrtime.bigint(). */
function runPingPort(x: Extract<PmWorkerData, { role: 'ping-port' }>): void {
  const { port, warmup, iterations } = x;
  const payload = new Uint8Array(x.msgSize).fill(7);
  const samples = new Float64Array(iterations);
  const total = warmup + iterations;
  let i = 0;
  let measured = 0;
  let t0 = process.hrtime.bigint();
  let tStart = t0;
  let deadline = t0 + 3600n * 1_000_000_000n;
  port.on('message', function onPong(m: Uint8Array) {
    const t1 = process.hrtime.bigint();
    if (m.length !== payload.length) return fail(new Error('bad echo'));
    if (i >= warmup) samples[measured++] = Number(t1 - t0);
    i++;
    if (i === warmup) {
      tStart = process.hrtime.bigint();
      deadline = tStart + BigInt(Math.round(x.maxMs * 1e6));
    }
    if (i < total && !((measured & 1023) === 1023 && t1 > deadline)) {
      t0 = process.hrtime.bigint();
      port.postMessage(payload);
      return;
    }
    const elapsedNs = Number(process.hrtime.bigint() - tStart);
    const result: PmPingResult = { done: measured, samples, elapsedNs };
    parentPort!.postMessage({ result }, [samples.buffer]);
    port.close();
  });
  t0 = process.hrtime.bigint();
  port.postMessage(payload);
}

/**
 * One-way stream with credit-based flow control (postMessage has none: an unthrottled producer
 * would queue the whole run in memory). At most `window` messages are unacknowledged. After the
 * measured messages (or at the deadline) the producer posts { end: measuredSent }; the consumer
 * answers with its final count.
 */
function runProducer(x: Extract<PmWorkerData, { role: 'producer' }>): void {
  const { port, warmup, count, window } = x;
  const payload = new Uint8Array(x.msgSize).fill(3);
  let total = warmup + count;
  let sent = 0;
  let acked = 0;
  let t0 = 0n;
  let deadline = 0n;
  let measuring = false;
  let ended = false;
  function startMeasuring(): void {
    measuring = true;
    t0 = process.hrtime.bigint();
    deadline = t0 + BigInt(Math.round(x.maxMs * 1e6));
  }
  function pump(): void {
    const limit = Math.min(acked + window, measuring ? total : warmup);
    while (sent < limit) {
      port.postMessage(payload);
      sent++;
    }
    if (measuring && !ended && sent < total && process.hrtime.bigint() > deadline) total = sent;
    if (measuring && !ended && sent === total) {
      ended = true;
      port.postMessage({ end: sent - warmup });
    }
  }
  port.on('message', function onAck(m: number | { final: number }) {
    if (typeof m !== 'number') {
      parentPort!.postMessage({ result: { t: t0.toString(), sent: sent - warmup, consumerCount: m.final } });
      port.close();
      return;
    }
    acked = m;
    if (!measuring && acked === warmup) startMeasuring(); // warm-up fully consumed
    pump();
  });
  if (warmup === 0) startMeasuring();
  pump();
}

function runConsumer(x: Extract<PmWorkerData, { role: 'consumer' }>): void {
  const { port, warmup, ackEvery, msgSize } = x;
  let received = 0;
  let bytes = 0;
  let bad = 0;
  port.on('message', function onData(m: Uint8Array | { end: number }) {
    if (!(m instanceof Uint8Array)) {
      const t1 = process.hrtime.bigint();
      const measured = received - warmup;
      parentPort!.postMessage({ result: { t: t1.toString(), received: measured, bytes, bad } });
      port.postMessage({ final: measured });
      return;
    }
    received++;
    bytes += m.length;
    if (m.length !== msgSize || m[0] !== 3) bad++;
    if (received % ackEvery === 0 || received === warmup) port.postMessage(received);
  });
}

try {
  switch (d.role) {
    case 'echo-parent':
      runEchoParent();
      break;
    case 'echo-port':
      runEchoPort(d.port);
      break;
    case 'ping-port':
      runPingPort(d);
      break;
    case 'producer':
      runProducer(d);
      break;
    case 'consumer':
      runConsumer(d);
      break;
  }
} catch (e) {
  fail(e);
}
