// Processes of the shm backend's process tests (forked by ShmBus.spawnProcess from the
// compiled dist/test/shm/process-child.js): each joins the bus it was spawned for, runs its
// role, and reports over the IPC channel.
import { joinSpawnedBus, TesseraError, type ShmPeer } from '../../backends/shm';
import { mapSegment, wait } from '../../native';
import { runChaosHistory } from './chaos-history';

const post = (m: unknown) => process.send!(m);
const text = (d: { payload: string }) => Buffer.from(d.payload, 'base64').toString();

/** Answers calls (echo) until a message "stop" (or "exit": it ends the process without closing its peer); counts what it got. */
function echo(peer: ShmPeer): void {
  const node = peer.createNode();
  post({ node });
  let calls = 0;
  for (;;) {
    for (const d of peer.receiveSync({ max: 32, timeoutMs: 30_000 })) {
      if (d.kind === 'call') {
        calls++;
        peer.reply(d.replyHandle, { payload: Buffer.from(d.payload, 'base64') });
      }
      if (d.kind === 'message' && text(d) === 'exit') process.exit(0);
      if (d.kind === 'message' && text(d) === 'stop') {
        peer.close();
        post({ done: true, calls });
        return;
      }
    }
  }
}

/** Calls the first bootstrap handle `calls` times (blocking flavour) and checks every reply. */
function client(peer: ShmPeer, data: { calls: number }): void {
  let bad = 0;
  for (let i = 0; i < data.calls; i++) {
    const msg = `${peer.id}:${i}`;
    const r = peer.callSync(peer.bootstrap[0], { payload: msg }, { timeoutMs: 30_000 });
    if (text(r) !== msg) bad++;
  }
  peer.close();
  post({ done: true, bad });
}

/** Sends one message carrying a handle to a node of its own on the first bootstrap handle, then waits for a call on it. */
function introduce(peer: ShmPeer): void {
  const own = peer.createNode();
  peer.send(peer.bootstrap[0], { payload: 'hello', handles: [{ handle: own, rights: ['send'] }] });
  for (;;)
    for (const d of peer.receiveSync({ max: 4, timeoutMs: 30_000 }))
      if (d.kind === 'call') {
        peer.reply(d.replyHandle, { payload: `answered ${text(d)}` });
        peer.close();
        post({ done: true });
        return;
      }
}

/**
 * Starts an operation and stops in the middle of it, holding the bus lock: journaled changes of
 * its table use and of the node free list's head (as createNode makes them: a node record taken
 * off the list), then it reports and spins until it is killed.
 */
function holdLock(peer: ShmPeer): void {
  const seat = (peer as unknown as { seat: { core: LockedCore; slot: number } }).seat;
  const core = seat.core;
  core.lock();
  const used = core.peerAt(seat.slot) + 2; // layout P_USED
  core.journal.set(used, core.int32[used] + 1000);
  const nodeFree = 33; // layout HDR_NODE_FREE
  core.journal.set(nodeFree, core.int32[core.nodeAt(core.int32[nodeFree]) + 5]); // layout N_NEXTFREE
  post({ holding: true });
  for (;;);
}
interface LockedCore {
  lock(): void;
  peerAt(slot: number): number;
  nodeAt(node: number): number;
  int32: Int32Array;
  journal: { set(index: number, value: number): void };
}

/** The chaos client with a history (chaos-history.ts): its clock is the segment inherited as fd 5, its log fd 6. */
function chaosHistory(peer: ShmPeer, data: { seed: number; ops: number }): void {
  runChaosHistory(peer, {
    seed: data.seed,
    ops: data.ops,
    clock: mapSegment(5),
    log: mapSegment(6),
    post,
    wait: (words, index, value, timeoutMs) => wait(words, index, value, timeoutMs),
  });
}

/** Reports the V8 flags this process was started with, then closes its peer. */
function flags(peer: ShmPeer): void {
  peer.close();
  post({ execArgv: process.execArgv });
}

const roles: Record<string, (peer: ShmPeer, data: never) => void> = {
  echo,
  client,
  introduce,
  holdLock,
  chaosHistory,
  flags,
};

joinSpawnedBus().then(
  ({ peer, data }) => {
    const role = (data as { role: string }).role;
    try {
      roles[role](peer, data as never);
    } catch (e) {
      if (!(e instanceof TesseraError)) throw e;
      post({ error: `${e.code}: ${e.message}` });
    }
  },
  (e: Error) => {
    post({ error: e.stack ?? e.message });
    process.exitCode = 1;
  },
);
