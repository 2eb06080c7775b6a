// The tour's step between OS processes: a bus in a memfd segment, two forked Node
// processes as its peers (tour-peer.ts), one passing the other a capability to its
// service and answering a call through it; credentials stamped from the kernel, futex
// sleep and wake between the processes. Skipped, saying why, where the native addon
// could not be built.
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { ShmBus } from '../backends/shm';
import { nativeAvailability } from '../native';

const PEER_FILE = path.join(__dirname, 'tour-peer.js');

/** A tour process's messages: its lines go to `log`, the others are queued for `next`. */
function listen(child: ChildProcess, log: (line: string) => void): { next<T>(): Promise<T> } {
  const queue: unknown[] = [];
  const waiters: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (m: { line?: string }) => {
    if (typeof m.line === 'string') return log(m.line);
    const w = waiters.shift();
    if (w) w.resolve(m);
    else queue.push(m);
  });
  child.once('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`a tour process exited (${code ?? signal}) early`));
  });
  return {
    next: <T>() =>
      queue.length > 0
        ? Promise.resolve(queue.shift() as T)
        : new Promise<T>((resolve, reject) => waiters.push({ resolve: resolve as (m: unknown) => void, reject })),
  };
}

/** Runs the step; returns what it left on the bus (null: the addon is missing, and it said so). */
export async function processTour(
  options: { log?: (line: string) => void } = {},
): Promise<ReturnType<ShmBus['audit']> | null> {
  const log = options.log ?? ((line: string) => console.log(line));
  const native = nativeAvailability();
  if (!native.available) {
    log(`skipped: ${native.error.message}`);
    return null;
  }
  const bus = ShmBus.create({ span: 'processes', limits: { maxPeers: 4 } });
  try {
    log(`The tour's process ${process.pid} created a bus in a memfd segment (fd ${bus.segment!.fd}).`);
    const inbox = await bus.spawnProcess(PEER_FILE, { data: { part: 'inbox' } });
    const fromInbox = listen(inbox.child, log);
    const { node } = await fromInbox.next<{ node: number }>();
    const service = await bus.spawnProcess(PEER_FILE, {
      data: { part: 'service' },
      bootstrap: [{ from: inbox.peer, handle: node, rights: ['send'] }],
    });
    const fromService = listen(service.child, log);
    log(
      `It forked process ${inbox.child.pid} (peer ${inbox.peer}) and process ${service.child.pid} (peer ${service.peer}), ` +
        `attached with the credentials the kernel gave for each (SO_PEERCRED), and granted the second a handle to the first's inbox.`,
    );
    const done = await Promise.all([fromInbox.next(), fromService.next()]);
    if (!done.every((m) => (m as { done?: boolean }).done === true)) throw new Error('a tour process failed');
    for (let i = 0; i < 200 && bus.audit().peersOpen > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const audit = bus.audit();
    log(
      `Both processes closed their peers: ${audit.peersOpen} peers open, ${audit.handles} handles, ${audit.nodes} nodes, ${audit.calls} calls, ${audit.queued} queued messages left on the bus.`,
    );
    return audit;
  } finally {
    bus.dispose();
  }
}
