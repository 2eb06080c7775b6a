// A process of bench/shm/call-phases: joins the bus it was spawned for, times the phases of
// its own peer's lock holds (hold-phases.ts) and runs its role (roles.ts). Its last report
// carries, per phase, the median and the 90th percentile in ns.
import { joinSpawnedBus } from '../../backends/shm';
import { instrument } from './hold-phases';
import { runRole } from './roles';

process.channel?.unref();
joinSpawnedBus().then(
  ({ peer, data }) => {
    const figures = instrument(peer);
    runRole(peer, data as Record<string, number | string>, (m) => {
      // The role's last report (its wait statistics) also carries the phases.
      const last = typeof m === 'object' && m !== null && 'spinsWon' in m;
      process.send!(last ? { ...m, phases: figures() } : m);
    });
  },
  (e: Error) => {
    console.error(e);
    process.exitCode = 1;
  },
);
