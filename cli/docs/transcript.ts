// A real exchange of the stdio driver protocol, captured when the docs are
// generated: `tessera driver --impl reference` runs as a child process, a
// short session is written to its stdin (handshake, a fresh bus, two peers,
// a message, a call answered by a reply, a bad handle, shutdown), and every
// line that crosses either pipe is recorded as it crossed. The session reads
// the names the driver hands out (they are the implementation's own,
// HANDLE-2), so it shows what any driver must do, not a typed-up example.
import { type ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { PROTOCOL_VERSION } from '../../protocol/driver';
import type { DriverRequest, DriverResponse } from '../../protocol/wire';
import type { Limits } from '../../spec/types';

/** The command the transcript was captured from, as a reader would type it. */
export const TRANSCRIPT_COMMAND = 'npx tessera driver --impl reference';

export interface WireExchange {
  /** What this request does, one line. */
  note: string;
  request: string;
  /** Every line the driver wrote in answer: completions first, then the response (the protocol's order). */
  responses: string[];
}

type Body = DriverRequest extends infer R ? (R extends DriverRequest ? Omit<R, 'id'> : never) : never;
type Answer = { type: string; info?: { limits: Limits }; invocation?: { ok?: boolean; value?: unknown; ticket?: number } };

const base64 = (s: string) => Buffer.from(s).toString('base64');

/** Talks to one child driver, one request at a time, recording every line. */
class Session {
  readonly exchanges: WireExchange[] = [];
  private nextId = 1;
  private pending: { id: number; resolve: (a: Answer) => void; lines: string[] } | null = null;
  private readonly stderr: string[] = [];

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly fail: (err: Error) => void,
  ) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.line(line));
    readline.createInterface({ input: child.stderr }).on('line', (line) => this.stderr.push(line));
  }

  private line(text: string): void {
    const p = this.pending;
    if (!p) return this.fail(new Error(`the driver wrote a line nobody asked for: ${text}`));
    p.lines.push(text);
    let msg: DriverResponse;
    try {
      msg = JSON.parse(text) as DriverResponse;
    } catch {
      return this.fail(new Error(`the driver wrote a line that is not JSON: ${text}`));
    }
    if (msg.type === 'completion') return;
    if (msg.type === 'error' || msg.id !== p.id)
      return this.fail(new Error(`the driver answered request ${p.id} with ${text}\n${this.stderr.join('\n')}`));
    this.pending = null;
    p.resolve(msg as unknown as Answer);
  }

  request(note: string, body: Body): Promise<Answer> {
    const id = this.nextId++;
    const { type, ...fields } = body;
    const request = JSON.stringify({ type, id, ...fields }); // the id second, as a person writes it
    const lines: string[] = [];
    this.exchanges.push({ note, request, responses: lines });
    return new Promise<Answer>((resolve) => {
      this.pending = { id, resolve, lines };
      this.child.stdin.write(request + '\n');
    });
  }

  /** Invoke an operation; returns the result's value (or the pending ticket). */
  async invoke(note: string, op: Record<string, unknown>): Promise<Record<string, any>> {
    const a = await this.request(note, { type: 'invoke', op: op as { op: string } });
    const inv = a.invocation ?? {};
    return (inv.ticket !== undefined ? { ticket: inv.ticket } : (inv.value ?? {})) as Record<string, any>;
  }
}

/** The session the transcript shows. */
async function converse(s: Session): Promise<void> {
  const init = await s.request('The handshake: the driver says what it implements.', {
    type: 'init',
    protocolVersion: PROTOCOL_VERSION,
  });
  await s.request('A fresh bus, here with the limits the driver reported.', {
    type: 'reset',
    limits: init.info!.limits,
  });
  const server = await s.invoke('The bus owner attaches a server.', {
    op: 'attach',
    credentials: { uid: 1000, gid: 1000, pid: 4100 },
  });
  const node = await s.invoke('The server creates a node.', { op: 'createNode', peer: server.peer });
  const minted = await s.invoke('It mints a send-only handle badged 7.', {
    op: 'mint',
    peer: server.peer,
    handle: node.handle,
    rights: ['send'],
    badge: 7,
  });
  const client = await s.invoke('The owner attaches a client with that handle.', {
    op: 'attach',
    credentials: { uid: 1001, gid: 1001, pid: 4200 },
    bootstrap: [{ fromPeer: server.peer, handle: minted.handle }],
  });
  const [toServer] = client.handles as number[];
  const hello = { segments: [base64('hello')] };
  await s.invoke('The client sends.', { op: 'send', peer: client.peer, handle: toServer, message: hello });
  await s.invoke('The server receives, with the badge.', { op: 'receive', peer: server.peer, max: 8 });
  const ping = { segments: [base64('ping')] };
  await s.invoke('The client calls: pending, with the driver’s own ticket.', {
    op: 'call',
    peer: client.peer,
    handle: toServer,
    message: ping,
    timeoutMs: 1000,
  });
  const got = await s.invoke('The server receives the call and its reply handle.', {
    op: 'receive',
    peer: server.peer,
    max: 8,
  });
  const replyHandle = (got.deliveries as { replyHandle: number }[])[0].replyHandle;
  await s.invoke('The server replies: the completion comes first, then the response.', {
    op: 'reply',
    peer: server.peer,
    handle: replyHandle,
    message: { segments: [base64('pong')] },
  });
  await s.invoke('A handle the client never got fails, and changes nothing.', {
    op: 'send',
    peer: client.peer,
    handle: 999,
    message: hello,
  });
  await s.request('The last request: answer, then exit.', { type: 'shutdown' });
}

/** Capture the transcript from a child `tessera driver --impl reference` (root: the repository). */
export function captureTranscript(root: string, timeoutMs = 120_000): Promise<WireExchange[]> {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'tessera.js'), 'driver', '--impl', 'reference'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise<WireExchange[]>((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`the driver did not finish the session in ${timeoutMs} ms`)), timeoutMs);
    child.on('error', (err) => fail(new Error(`could not start ${TRANSCRIPT_COMMAND}: ${err.message}`)));
    const session = new Session(child, fail);
    converse(session)
      .then(() => exited)
      .then(() => {
        clearTimeout(timer);
        resolve(session.exchanges);
      }, fail);
  });
}

let memo: { root: string; transcript: Promise<WireExchange[]> } | null = null;

/** The transcript, captured once per process (the docs tests generate the site several times). */
export function wireTranscript(root: string): Promise<WireExchange[]> {
  if (memo?.root !== root) memo = { root, transcript: captureTranscript(root) };
  return memo.transcript;
}
