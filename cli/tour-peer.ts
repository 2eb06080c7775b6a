// A process of the tour's step between processes (tour-processes.ts), forked by
// ShmBus.spawnProcess: it joins the bus and plays one part, telling the tour what it does.
//   inbox:   creates a node that stamps senders' credentials, tells the tour its handle, then
//            receives a message carrying a capability, calls the service through it, prints the reply.
//   service: creates a node, sends a capability to it to the inbox it was given, answers one call.
import { joinSpawnedBus, type ShmPeer } from '../backends/shm';

const text = (payload: string) => Buffer.from(payload, 'base64').toString();

function inbox(peer: ShmPeer, say: (line: string) => void): void {
  const node = peer.createNode({ credentials: true });
  process.send!({ node });
  const [m] = peer.receiveSync({ max: 1, timeoutMs: 30_000 });
  if (m?.kind !== 'message') throw new Error('the inbox expected a message');
  const cap = m.handles[0];
  say(
    `received "${text(m.payload)}" carrying handle ${cap.name} (rights ${cap.rights.join('+')}); ` +
      `the bus stamped the sender's credentials from the kernel: pid ${m.credentials?.pid}, uid ${m.credentials?.uid}`,
  );
  const reply = peer.callSync(cap.name!, { payload: 'what is 6 x 7?' }, { timeoutMs: 30_000 });
  say(`called the service through it: the reply is "${text(reply.payload)}"`);
  peer.close();
}

function service(peer: ShmPeer, say: (line: string) => void): void {
  const node = peer.createNode();
  peer.send(peer.bootstrap[0], { payload: 'my service', handles: [{ handle: node, rights: ['send'] }] });
  say(`created a service node and sent a send-only capability to it to the inbox (handle ${peer.bootstrap[0]})`);
  for (;;)
    for (const d of peer.receiveSync({ max: 1, timeoutMs: 30_000 }))
      if (d.kind === 'call') {
        say(`answered the call "${text(d.payload)}" through its one-shot reply handle ${d.replyHandle}`);
        peer.reply(d.replyHandle, { payload: '42' });
        peer.close();
        return;
      }
}

joinSpawnedBus().then(
  ({ peer, data }) => {
    const part = (data as { part: 'inbox' | 'service' }).part;
    const say = (line: string) =>
      process.send!({ line: `  [process ${process.pid}, peer ${peer.id}, ${part}] ${line}` });
    say(`joined the bus (its seat and the bus's memfd came from the tour's process)`);
    (part === 'inbox' ? inbox : service)(peer, say);
    process.send!({ done: true });
    process.disconnect();
  },
  (e: Error) => {
    console.error(e);
    process.exitCode = 1;
  },
);
