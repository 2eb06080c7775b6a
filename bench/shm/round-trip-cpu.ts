// The CPU of one call/reply round trip on the hand-off path (backends/shm DESIGN.md, "Where the
// time goes"): one thread drives both sides' lock holds in turn (the caller's call, which hands
// the call off into the server's registered mailbox; the server's read of it; its reply and next
// registration; the caller's read of the reply), so no cache line ever crosses cores. What is
// left is what the two holds cost a CPU. Prints the best and the median of 9 runs, in ns. Each
// run has a bus of its own: the reply handle's record is reused by every round trip, and its
// names stay small integers (the usual case of a name lookup) for a run of 100,000.
//
//   node dist/bench/shm/round-trip-cpu.js [round trips per run, default 100000]
//   node --max-inlined-bytecode-size-cumulative=3000 dist/bench/shm/round-trip-cpu.js   (the peers' V8 flags)
import { ShmBus, createReceiveBatch } from '../../backends/shm';
import { readHandOff, registerHandOff } from '../../backends/shm/handoff';
import { reply } from '../../backends/shm/operations';
import { replyInto } from '../../backends/shm/calls';
import { BENCH_LIMITS, peerSeat } from './index';

/** One run: a fresh bus, a server waiting in ReplyRecv and a caller, n round trips; ns of CPU per round trip. */
function run(n: number): number {
  const bus = ShmBus.create({ limits: BENCH_LIMITS, spin: 0 });
  const server = bus.attach({ uid: 0, gid: 0, pid: 1 });
  const node = server.createNode();
  const client = bus.attach({ uid: 0, gid: 0, pid: 2 }, [{ from: server.id, handle: node, rights: ['send'] }]);
  const handle = client.bootstrap[0];
  const cs = peerSeat(client),
    ss = peerSeat(server),
    core = cs.core;
  const batch = createReceiveBatch(64, BENCH_LIMITS.maxPayloadBytes);
  const request = new Uint8Array(64),
    answer = new Uint8Array(64),
    out = new Uint8Array(64);
  core.lock();
  registerHandOff(core, ss.slot);
  core.unlock();
  const roundTrip = (): void => {
    core.staged.setBytes(request);
    const c = cs.startCall(handle, true);
    if (readHandOff(core, ss.slot, batch) !== 1) throw new Error('the call was not handed off');
    core.staged.setBytes(answer);
    core.lock();
    const status = reply(core, ss.slot, batch.replyHandle[0]);
    const registration = registerHandOff(core, ss.slot);
    core.unlock();
    if (status !== 0 || registration === 0) throw new Error(`reply status ${status}, registration ${registration}`);
    if (replyInto(core, c, out, out.length) !== answer.length) throw new Error('the reply did not arrive whole');
    cs.uncollectedCall = c;
  };
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) roundTrip();
  const t = process.cpuUsage(t0);
  bus.dispose();
  return ((t.user + t.system) * 1000) / n;
}

function main(): void {
  const n = Number(process.argv[2] ?? 100_000);
  if (!Number.isSafeInteger(n) || n < 1000 || n > 500_000)
    throw new Error(`round trips per run: an integer from 1000 to 500000, not ${process.argv[2]}`);
  const runs: number[] = [];
  for (let r = 0; r < 9; r++) runs.push(run(n));
  runs.sort((a, b) => a - b);
  const flags = process.execArgv.length > 0 ? process.execArgv.join(' ') : 'V8 defaults';
  console.log(
    `CPU per call/reply round trip (one thread, both holds, ${n} per run, 9 runs; ${flags}): best ${runs[0].toFixed(0)} ns, median ${runs[4].toFixed(0)} ns`,
  );
}

main();
