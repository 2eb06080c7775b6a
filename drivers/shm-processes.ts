// The conformance driver of the shm backend across OS processes (`--impl
// shm-processes`): the bus lives in a memfd segment of this process (ShmBus span
// 'processes', futex waiting); every peer the suite attaches runs in its own forked
// Node process (shm-workers-thread.js, the same peer side as the worker driver's),
// which maps the segment and takes its seat from a socket (offerSeat / takeSeat:
// the seat and the segment's fd, SCM_RIGHTS). The processes are pooled as the
// worker driver's threads are (a reset makes them leave the old bus; forking costs
// far more than a run). Each attached process is watched through its pidfd
// (ShmBus.watchProcess): when it dies, its peer is closed and a lock it held is
// taken over and rolled back (CLOSE-1, ATOMIC-1).
//
// Credentials: the suite's attach names the credentials it expects stamped
// (CRED-1), and the driver attaches with those; ShmBus.spawnProcess is the path
// that takes them from the kernel (SO_PEERCRED), and the process tests check it.
import * as fs from 'fs';
import * as path from 'path';
import { fork, type ChildProcess } from 'child_process';
import { createSegment, notify, ProcessWatch, socketPair } from '../native';
import { offerSeat } from '../backends/shm';
import type { ClientRunningDriver } from '../protocol/clients';
import { createShmWorkerDriver, type PeerHost, type PeerHosts, type ShmWorkerDriverOptions } from './shm-workers';
import type { ToWorker } from './shm-workers-thread';

/** What a forked peer process finds in DRIVER_PROCESS_ENV: its inherited fds, and the rest of its data. */
export interface DriverProcessEnv {
  /** The clock's memfd (the driver futex-wakes the start signal). */
  clockFd: number;
  /** A Unix socket on which each join's seat and bus segment come (offerSeat). */
  seatFd: number;
  faultModule?: string;
}
export const DRIVER_PROCESS_ENV = 'TESSERA_DRIVER_PROCESS';

const PEER_FILE = path.join(__dirname, 'shm-workers-thread.js');
/** The fds a peer process inherits: its stdio array is [stdin, stdout, stderr, ipc, clock, seat socket]. */
const CLOCK_FD = 4;
const SEAT_FD = 5;

/** Peers in forked processes: the clock is a memfd all of them map, its start signal a futex word. */
function processHosts(): PeerHosts {
  const clockSegment = createSegment(4096, { name: 'tessera-driver-clock' });
  const clock = new Int32Array(clockSegment.buffer);
  return {
    name: 'shm-processes',
    span: 'processes',
    clock,
    notifyStart: () => {
      notify(clock, 1);
    },
    start(data) {
      const [mine, theirs] = socketPair();
      const env: DriverProcessEnv = {
        clockFd: CLOCK_FD,
        seatFd: SEAT_FD,
        ...(data.faultModule ? { faultModule: data.faultModule } : {}),
      };
      let child: ChildProcess;
      try {
        // The child's stdout is this process's stderr: a stdio driver's stdout carries the protocol.
        child = fork(PEER_FILE, [], {
          env: { ...process.env, [DRIVER_PROCESS_ENV]: JSON.stringify(env) },
          stdio: ['ignore', 2, 2, 'ipc', clockSegment.fd, theirs],
        });
      } finally {
        fs.closeSync(theirs);
      }
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      let open = true;
      const closeSocket = () => {
        if (open) fs.closeSync(mine);
        open = false;
      };
      child.once('exit', closeSocket);
      const host: PeerHost = {
        post: (m: ToWorker) => {
          if (child.connected) child.send(m);
        },
        join: (bus, descriptor, epoch) => {
          bus.watchProcess(descriptor.id, ProcessWatch.open(child.pid!));
          offerSeat(mine, bus, descriptor);
          host.post({ type: 'join', epoch });
        },
        on: (event: string, listener: (x: never) => void) => {
          child.on(event, listener as (...args: unknown[]) => void);
        },
        stop: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      };
      return host;
    },
    close: () => clockSegment.close(),
  };
}

/** The driver: the worker driver's bookkeeping (pool, runClients, completions) over process hosts. */
export function createShmProcessDriver(options: Omit<ShmWorkerDriverOptions, 'hosts'> = {}): ClientRunningDriver {
  return createShmWorkerDriver({ ...options, hosts: processHosts() });
}
