// Pinning the two sides of a cross-process run (npm run bench -- --pin): the processes a run
// starts go to vCPU 1, then 0, alternately; the orchestrator, when it is a side, goes to vCPU 0
// for the run and gets its affinity back; the C benchmark pins its parent and its forked child.
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import { buildCBench, runC } from '../../bench/baselines/c';
import {
  beginRun,
  cBenchPinEnv,
  pinningUnavailable,
  pinStarted,
  runWasPinned,
  setPinning,
  startPinned,
  withOrchestratorPinned,
} from '../../bench/baselines/pin';

/** The CPUs a process (or one of its threads) may run on, from /proc. */
const allowed = (pid: number, tid = pid): string =>
  /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1];

describe('bench: pinning the sides of a cross-process run', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  before(function () {
    const why = pinningUnavailable();
    if (why !== null) {
      console.warn(`\n  pinning tests skipped: ${why}\n`);
      this.skip();
    }
  });
  afterEach(() => {
    setPinning(false);
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  const sleeper = () => {
    const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    children.push(c);
    return c;
  };

  it('off, nothing is pinned and the C benchmark gets no pinning environment', () => {
    beginRun();
    const c = sleeper();
    pinStarted(c.pid);
    assert.equal(runWasPinned(), false);
    assert.deepEqual(cBenchPinEnv(), {});
    assert.equal(allowed(c.pid!), allowed(process.pid));
  });

  it('on, the processes a run starts go to vCPU 1, then 0, then 1, every thread of each; a new run starts at 1 again', async () => {
    setPinning(true);
    beginRun();
    const [a, b, c] = [sleeper(), sleeper(), sleeper()];
    for (const p of [a, b, c]) pinStarted(p.pid);
    assert.equal(runWasPinned(), true);
    assert.deepEqual(
      [a, b, c].map((p) => allowed(p.pid!)),
      ['1', '0', '1'],
    );
    await new Promise((r) => setTimeout(r, 300)); // Node has started its threads by now
    for (const tid of fs.readdirSync(`/proc/${a.pid}/task`)) assert.equal(allowed(a.pid!, Number(tid)), '1');
    beginRun();
    assert.equal(runWasPinned(), false);
    const d = sleeper();
    pinStarted(d.pid);
    assert.equal(allowed(d.pid!), '1');
  });

  it('a process started by startPinned is on its vCPU from the fork on, and the orchestrator gets its affinity back', async () => {
    const before = allowed(process.pid);
    setPinning(true);
    beginRun();
    const first = await startPinned(async () => {
      assert.equal(allowed(process.pid), '1', 'the orchestrator, while it forks');
      return sleeper();
    });
    const second = await startPinned(async () => sleeper());
    assert.deepEqual([allowed(first.pid!), allowed(second.pid!)], ['1', '0']);
    assert.equal(allowed(process.pid), before);
    assert.equal(runWasPinned(), true);
  });

  it('the orchestrator is on vCPU 0 while a run of its own goes on, and gets its affinity back after, even when the run throws', async () => {
    const before = allowed(process.pid);
    setPinning(true);
    const during = await withOrchestratorPinned(async () => allowed(process.pid));
    assert.equal(during, '0');
    assert.equal(allowed(process.pid), before);
    await assert.rejects(
      withOrchestratorPinned(async () => {
        throw new Error('the run failed');
      }),
      /the run failed/,
    );
    assert.equal(allowed(process.pid), before);
  });

  it('the C benchmark pins itself to vCPU 0 and its forked child to vCPU 1, and refuses a malformed pinning', async function () {
    const b = buildCBench();
    if ('skipped' in b) return this.skip();
    setPinning(true);
    const env = { ...process.env, ...cBenchPinEnv(), IPC_BENCH_MAX_MS: '1500' };
    const run = spawn(b.binary, ['pingpong', '100', '100000000', '64'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(run);
    let child = 0;
    for (let tries = 0; child === 0 && tries < 500; tries++) {
      await new Promise((r) => setTimeout(r, 5));
      const kids = fs.readFileSync(`/proc/${run.pid}/task/${run.pid}/children`, 'utf8').trim();
      child = kids === '' ? 0 : Number(kids.split(' ')[0]);
    }
    assert.ok(child > 0, 'the benchmark never forked');
    assert.equal(allowed(run.pid!), '0');
    assert.equal(allowed(child), '1');
    await assert.rejects(
      runC(b.binary, ['pingpong', '10', '10', '64'], 1000, { IPC_BENCH_PIN: 'x' }),
      /IPC_BENCH_PIN must be/,
    );
  });
});
