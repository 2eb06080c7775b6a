/**
 * Child process for the `net` baseline (started with child_process.fork on the compiled .js).
 * argv: <socketPath> echo | sink
 * echo: writes every frame straight back. sink: counts non-empty frames; an empty frame marks the
 * end of a phase and is answered with a 4-byte frame holding the count of that phase.
 */
import * as net from 'net';
import { FrameReader } from './frames';

const [socketPath, mode] = process.argv.slice(2);

function runEcho(sock: net.Socket): void {
  const reader = new FrameReader(function echoFrame(buf: Buffer, start: number, len: number) {
    sock.write(buf.subarray(start - 4, start + len));
  });
  sock.on('data', function onEchoData(chunk: Buffer) {
    reader.push(chunk);
  });
}

function runSink(sock: net.Socket): void {
  let frames = 0;
  let bad = 0;
  const reader = new FrameReader(function sinkFrame(buf: Buffer, start: number, len: number) {
    if (len > 0) {
      frames++;
      if (buf[start] !== 5) bad++;
      return;
    }
    if (bad > 0) {
      console.error(`net-child: ${bad} bad frames`);
      process.exit(2);
    }
    const ack = Buffer.alloc(8);
    ack.writeUInt32LE(4, 0);
    ack.writeUInt32LE(frames, 4);
    sock.write(ack);
    frames = 0;
  });
  sock.on('data', function onSinkData(chunk: Buffer) {
    reader.push(chunk);
  });
}

const sock = net.createConnection(socketPath, () => {
  if (mode === 'echo') runEcho(sock);
  else if (mode === 'sink') runSink(sock);
  else {
    console.error(`net-child: unknown mode ${mode}`);
    process.exit(2);
  }
});
sock.on('error', (e) => {
  console.error('net-child:', e.message);
  process.exit(1);
});
sock.on('close', () => process.exit(0));
