// A worker thread of the shm benchmarks: joins the bus with the descriptor it was spawned with
// and runs its role (roles.ts).
import { parentPort, workerData } from 'worker_threads';
import { joinBus, type PeerDescriptor } from '../../backends/shm';
import { runRole } from './roles';

const { tessera, data } = workerData as { tessera: PeerDescriptor; data: Record<string, number | string> };
runRole(joinBus(tessera), data, (m) => parentPort!.postMessage(m));
