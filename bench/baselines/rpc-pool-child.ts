/**
 * A client process of the Node RPC-pool baseline (forked from rpc-pool.ts, compiled .js).
 * argv: <socketPath> <warmup> <iterations> <msgSize> <maxMs>
 * Connects, makes <warmup> calls, tells the parent "ready", waits for "go", then makes up to
 * <iterations> closed-loop calls (stopping after <maxMs>), timing each one, and sends the report.
 */
import * as net from 'net';
import { FrameReader, makeFrame } from './frames';
import type { PoolChildReport } from './rpc-pool';

const [socketPath, warmupArg, iterationsArg, sizeArg, maxMsArg] = process.argv.slice(2);
const warmup = Number(warmupArg);
const iterations = Number(iterationsArg);
const msgSize = Number(sizeArg);
const maxNs = Number(maxMsArg) * 1e6;

function send(m: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send!(m, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

const sock = net.createConnection(socketPath, () => {
  const frame = makeFrame(msgSize, 7);
  const rtt: number[] = [];
  const doneAt: number[] = [];
  let i = 0;
  let measuring = false;
  let t0 = 0n;
  let startNs = 0;
  let cpu0 = process.cpuUsage();
  const reader = new FrameReader(function onReply(buf: Buffer, start: number, len: number) {
    const t1 = process.hrtime.bigint();
    if (len !== msgSize || buf[start] !== 7) {
      console.error('rpc-pool-child: bad reply');
      process.exit(2);
    }
    if (!measuring) {
      if (++i < warmup) return call();
      void send({ type: 'ready' });
      return;
    }
    const now = Number(t1);
    rtt.push(Number(t1 - t0));
    doneAt.push(now);
    if (rtt.length < iterations && !((rtt.length & 1023) === 0 && now - startNs > maxNs)) return call();
    const used = process.cpuUsage(cpu0);
    const report: PoolChildReport = { rtt, doneAt, startNs, endNs: now, cpuUs: used.user + used.system };
    sock.end();
    void send({ type: 'report', report }).then(() => process.exit(0));
  });
  function call(): void {
    t0 = process.hrtime.bigint();
    sock.write(frame);
  }
  sock.on('data', function onReplyData(chunk: Buffer) {
    reader.push(chunk);
  });
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'go' || measuring) return;
    measuring = true;
    cpu0 = process.cpuUsage();
    startNs = Number(process.hrtime.bigint());
    call();
  });
  if (warmup > 0) call();
  else void send({ type: 'ready' });
});
sock.setNoDelay?.(true);
sock.on('error', (e) => {
  console.error('rpc-pool-child:', e.message);
  process.exit(1);
});
