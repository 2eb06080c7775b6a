// A short exchange run through the model (the oracle), so the examples in
// the docs are computed, never typed by hand: whatever the model answers is
// what the page shows. Two peers: a server that owns a node and hands a
// badged send-only handle to a client, which sends, calls, and is revoked.
import type { Completion, Invocation, Operation } from '../../spec/types';
import { initialState } from '../../model/state';
import { step } from '../../model/step';

export interface ExampleStep {
  /** What this step shows, one line. */
  note: string;
  op: Operation;
  result: Invocation;
  completions: Completion[];
}

const hello = Buffer.from('hello').toString('base64');
const ping = Buffer.from('ping').toString('base64');
const pong = Buffer.from('pong').toString('base64');

const SCRIPT: { note: string; op: Operation }[] = [
  { note: 'The bus owner attaches the server, peer 1.', op: { op: 'attach', credentials: { uid: 1000, gid: 1000, pid: 4100 } } },
  { note: 'The server creates a node; its root handle has every right.', op: { op: 'createNode', peer: 1 } },
  { note: 'It mints a send-only handle with badge 7 for its client.', op: { op: 'mint', peer: 1, handle: 1, rights: ['send'], badge: 7 } },
  { note: 'The owner attaches the client with that handle as bootstrap.', op: { op: 'attach', credentials: { uid: 1001, gid: 1001, pid: 4200 }, bootstrap: [{ fromPeer: 1, handle: 2 }] } },
  { note: 'The client sends a message through it.', op: { op: 'send', peer: 2, handle: 1, message: { segments: [hello] } } },
  { note: 'The server receives it, with the badge of the handle used.', op: { op: 'receive', peer: 1, max: 8 } },
  { note: 'A handle the client never got fails BAD_HANDLE and changes nothing.', op: { op: 'send', peer: 2, handle: 9, message: { segments: [hello] } } },
  { note: 'The client calls: the call is pending until its one outcome.', op: { op: 'call', peer: 2, handle: 1, message: { segments: [ping] }, timeoutMs: 1000 } },
  { note: 'The server receives the call and its reply handle.', op: { op: 'receive', peer: 1, max: 8 } },
  { note: 'The server replies: the call completes with the reply.', op: { op: 'reply', peer: 1, handle: 3, message: { segments: [pong] } } },
  { note: 'The server revokes what it derived from its root handle.', op: { op: 'revoke', peer: 1, handle: 1 } },
  { note: 'The client learns of it by a notice.', op: { op: 'receive', peer: 2, max: 8 } },
  { note: 'A send through the revoked handle fails REVOKED.', op: { op: 'send', peer: 2, handle: 1, message: { segments: [hello] } } },
  { note: 'The server creates a second node.', op: { op: 'createNode', peer: 1 } },
  { note: 'One multicast reaches both its nodes, in the order given.', op: { op: 'multicast', peer: 1, handles: [1, 4], message: { segments: [hello] } } },
  { note: 'It destroys the second node; the copy queued to it is discarded.', op: { op: 'destroyNode', peer: 1, handle: 4 } },
  { note: 'It releases the revoked handle, which frees the slot.', op: { op: 'release', peer: 1, handle: 2 } },
  { note: 'The bus clock advances.', op: { op: 'tick', ms: 5 } },
  { note: 'The client closes.', op: { op: 'close', peer: 2 } },
];

export function runExample(): ExampleStep[] {
  let state = initialState();
  return SCRIPT.map(({ note, op }) => {
    const out = step(state, op);
    state = out.state;
    return { note, op, result: out.result, completions: out.completions };
  });
}
