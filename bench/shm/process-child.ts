// A process of the shm benchmarks across processes (ShmBus.spawnProcess): joins the bus it was
// spawned for and runs its role (roles.ts), reporting over its IPC channel (advanced
// serialization: the samples are a Float64Array).
import { joinSpawnedBus } from '../../backends/shm';
import { runRole } from './roles';

// The channel does not keep this process alive: it ends when its role has run and its reports are written.
process.channel?.unref();
joinSpawnedBus().then(
  ({ peer, data }) => runRole(peer, data as Record<string, number | string>, (m) => process.send!(m)),
  (e: Error) => {
    console.error(e);
    process.exitCode = 1;
  },
);
