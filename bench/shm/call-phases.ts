// Where the time of a call/reply round trip between two processes goes (backends/shm
// DESIGN.md, "Where the time goes"): the benchmark's 64-byte call (a client process calling a
// server process that answers by ReplyRecv), with each side timing the phases of its own lock
// holds: acquiring the bus lock, the hold (from acquired to unlocked, the two below included),
// the lock's release (it waits for the hold's stores to leave the core), the publication after
// it (the completion or ready word the peer spins on, and a futex wake when the peer sleeps),
// and the time between one hold and the next. Per run it prints the round trip's median, how
// the waits ended, the share of samples with both processes on one vCPU, and per side each
// phase's median / 90th percentile in ns. The timing itself (four clock reads per hold) adds
// to the round trip: compare phases with each other, and round trips with `npm run bench`.
//
// With --pin, the server process (every thread of it) runs on vCPU 1 and the client on vCPU 0,
// so that runs differ by the machine's state only, not by where the scheduler put the two.
//
//   node dist/bench/shm/call-phases.js [spin us, default 50; 0: the sleeping regime] [runs, default 3] [calls per run, default 200000] [--pin]
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ShmBus } from '../../backends/shm';
import { SPIN_POLICY } from '../../backends/shm/spin-policy';
import { PlacementSampler } from '../baselines/placement';
import { rttStats } from '../baselines/common';
import { BENCH_LIMITS, spawn } from './index';
import { PHASES, type PhaseFigures } from './hold-phases';

const CHILD = path.join(__dirname, 'call-phases-child.js');

interface Report {
  sleeps: number;
  spinsWon: number;
  spinsLost: number;
  phases: PhaseFigures;
}

const phases = (p: PhaseFigures) => PHASES.map((k) => `${k} ${p[k][0].toFixed(0)}/${p[k][1].toFixed(0)}`).join(', ');

/** Every thread of a spawned peer process on one vCPU (taskset; the warm-up calls run while it takes effect). */
function pinTo(cpu: number, peer: Awaited<ReturnType<typeof spawn>>): void {
  if (!('child' in peer) || peer.child.pid === undefined) throw new Error('--pin: the peer is not a process');
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(peer.child.pid)], { stdio: 'ignore' });
  } catch (e) {
    throw new Error(`--pin: taskset failed (${(e as Error).message.split('\n')[0]}); it comes with util-linux`);
  }
}

async function run(spinUs: number, calls: number, pin: boolean): Promise<string> {
  const sampler = new PlacementSampler();
  const bus = ShmBus.create({ limits: BENCH_LIMITS, spin: spinUs, span: 'processes' });
  const server = await spawn(bus, { role: 'server', size: 64, handoff: 1 }, [], true, CHILD);
  const { node } = await server.next<{ node: number }>();
  if (pin) pinTo(1, server);
  const client = await spawn(
    bus,
    { role: 'client', size: 64, iterations: calls, warmup: Math.ceil(calls / 10) },
    [{ from: server.peer, handle: node, rights: ['send'] }],
    true,
    CHILD,
  );
  if (pin) pinTo(0, client);
  const c = await client.next<Report & { samples: Float64Array }>();
  const stopper = bus.attach({ uid: 0, gid: 0, pid: 0 }, [{ from: server.peer, handle: node, rights: ['send'] }]);
  stopper.send(stopper.bootstrap[0], { payload: 'stop' });
  const s = await server.next<Report>();
  const placement = sampler.stop();
  stopper.close();
  await Promise.all([server.exited, client.exited]);
  bus.dispose();
  const { medianUs } = rttStats(c.samples, c.samples.length);
  const same = placement === null ? 'not sampled' : placement.sameVcpu.toFixed(2);
  return [
    `round trip median ${medianUs?.toFixed(2)} us (timed); client spins won/lost ${c.spinsWon}/${c.spinsLost}, sleeps ${c.sleeps}; server sleeps ${s.sleeps}; same vCPU ${same}`,
    `  client, ns median/p90: ${phases(c.phases)}`,
    `  server, ns median/p90: ${phases(s.phases)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const pin = args.includes('--pin');
  const positional = args.filter((a) => a !== '--pin');
  const [spinUs, runs, calls] = [
    positional[0] ?? SPIN_POLICY.budgetUs,
    positional[1] ?? 3,
    positional[2] ?? 200_000,
  ].map(Number);
  if (!Number.isInteger(spinUs) || spinUs < 0 || spinUs > 10_000)
    throw new Error(`spin: an integer of us from 0 to 10000, not ${positional[0]}`);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50)
    throw new Error(`runs: an integer from 1 to 50, not ${positional[1]}`);
  if (!Number.isInteger(calls) || calls < 1000 || calls > 2_000_000)
    throw new Error(`calls per run: an integer from 1000 to 2000000, not ${positional[2]}`);
  console.log(
    `64-byte call/reply between two processes, spin ${spinUs === 0 ? '0 (sleeping regime)' : `<= ${spinUs} us adaptive (spinning regime)`}, ${runs} run${runs === 1 ? '' : 's'} of ${calls} calls${pin ? ', client pinned to vCPU 0 and server to vCPU 1' : ''}`,
  );
  for (let r = 0; r < runs; r++) console.log(await run(spinUs, calls, pin));
}

main().catch((e: Error) => {
  console.error(`call-phases: ${e.message}`);
  process.exitCode = 1;
});
