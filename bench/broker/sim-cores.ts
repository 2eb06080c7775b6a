/**
 * The simulator's comparison of the broker with an in-kernel Tessera and AF_UNIX at 2, 8 and 64
 * CPUs: the rpc-pool scenario (clients calling one server peer served by a pool of threads),
 * scaled with the CPUs (2 clients per CPU up to 48, the bus limit being 64 peers, and half a server thread per CPU), on the tessera_broker,
 * tessera_kernel and af_unix profiles. Prints a table and writes two charts (throughput and
 * median latency against CPUs) into a directory. The simulator has no third party: it charges
 * the broker's work to each operation as if it ran on the caller's CPU, so it does not see that
 * one broker thread runs every operation in turn. The table states that bound beside the
 * simulated figures (BROKER_SERIAL_NS per request, three requests per call: call, the server's
 * receive, reply); the broker's throughput at 8 and 64 CPUs is the smaller of the two.
 *   node dist/bench/broker/sim-cores.js [DIR]      (default backends/broker)
 */
import * as fs from 'fs';
import * as path from 'path';
import { runScenario } from '../../simulator/run';
import { loadProfile, loadScenario, repoRoot } from '../../simulator/load';
import { sweepSvg } from '../../simulator/svg';
import type { SweepPoint } from '../../simulator/result-types';
import type { Scenario } from '../../simulator/types';

export const SIM_CPUS = [2, 8, 64];
/** The broker thread's time per request (the tessera_broker profile's per-request broker share). */
export const BROKER_SERIAL_NS = 3200;
export const SIM_TRANSPORTS = ['tessera_broker', 'tessera_kernel', 'af_unix'];

export function simulateCores(): SweepPoint[] {
  const base = loadScenario('rpc-pool');
  const points: SweepPoint[] = [];
  for (const transport of SIM_TRANSPORTS)
    for (const cpus of SIM_CPUS) {
      const scenario = {
        ...base,
        cpus,
        workload: {
          ...base.workload,
          clients: Math.min(48, 2 * cpus),
          serverThreads: Math.max(3, cpus / 2),
          callsPerClient: 200,
        },
      } as Scenario;
      const out = runScenario({ scenario, profile: loadProfile(transport), seed: '0xb0c3' });
      if (out.failure) throw new Error(`${transport} at ${cpus} CPUs: ${out.failure.message}`);
      points.push({ transport, params: { cpus }, results: out.results });
    }
  return points;
}

if (require.main === module) {
  const dir = process.argv[2] ?? path.join(repoRoot(), 'backends', 'broker');
  const points = simulateCores();
  console.log('transport        cpus  calls/s      p50');
  for (const p of points)
    console.log(
      `${p.transport.padEnd(16)} ${String(p.params.cpus).padStart(4)}  ${Math.round(p.results.messagesPerSec).toString().padStart(9)}  ${(p.results.latency.p50Ns / 1000).toFixed(2)} us`,
    );
  console.log(
    `one broker thread runs every request in turn: at most ${Math.round(1e9 / (3 * BROKER_SERIAL_NS))} calls/s at any number of CPUs`,
  );
  fs.writeFileSync(
    path.join(dir, 'sim-cores-throughput.svg'),
    sweepSvg(
      points,
      'cpus',
      'messagesPerSec',
      'rpc-pool calls per second against CPUs (2 clients per CPU, at most 48)',
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'sim-cores-latency.svg'),
    sweepSvg(
      points,
      'cpus',
      'latencyP50Ns',
      'rpc-pool median call latency against CPUs (2 clients per CPU, at most 48)',
    ),
  );
  console.log(`wrote ${dir}/sim-cores-throughput.svg and sim-cores-latency.svg`);
}
