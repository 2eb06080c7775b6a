// Where the cross-process benchmark says its processes ran: the /proc stat parser, the
// sampler against processes pinned to one vCPU or to two (taskset), and the column in the
// cross-process table with its spread over runs.
import { strict as assert } from 'assert';
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as os from 'os';
import { parseStat, PlacementSampler } from '../../bench/baselines/placement';
import { aggregateRuns, formatSpreadTable } from '../../bench/baselines/xproc';
import { emptyRecord } from '../../bench/baselines/common';

/** A stat line as Linux writes it: 52 fields, the command in parentheses (which may hold spaces and parentheses). */
function statLine(comm: string, state: string, cpu: number, utime: number, stime: number): string {
  const f: string[] = Array.from({ length: 50 }, () => '0');
  f[0] = state; // field 3
  f[11] = String(utime); // field 14
  f[12] = String(stime); // field 15
  f[36] = String(cpu); // field 39
  return `4242 (${comm}) ${f.join(' ')}\n`;
}

describe('bench: where the processes of a cross-process run ran', () => {
  it('reads state, last CPU and CPU ticks from a stat line, whatever the command name holds', () => {
    assert.deepEqual(parseStat(statLine('node', 'R', 1, 70, 5)), { state: 'R', cpu: 1, ticks: 75 });
    assert.deepEqual(parseStat(statLine('a (b) c', 'S', 0, 3, 4)), { state: 'S', cpu: 0, ticks: 7 });
    assert.equal(parseStat('4242 node R 1'), null, 'no parenthesis');
    assert.equal(parseStat('4242 (node) R 1 2 3'), null, 'too few fields');
  });

  describe('the sampler, on processes pinned with taskset', function () {
    this.timeout(30_000);
    const children: ChildProcess[] = [];
    afterEach(() => {
      for (const c of children.splice(0)) c.kill('SIGKILL');
    });

    before(function () {
      if (process.platform !== 'linux') this.skip();
      if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) this.skip(); // no taskset here
    });

    /**
     * Two processes pinned to the given CPUs, each spinning for `ms` once it runs there: `ready`
     * when both say so (a process runs where it was started until taskset's exec), `done` when
     * both ended.
     */
    function spinners(cpus: [number, number], ms: number): { ready: Promise<unknown>; done: Promise<unknown> } {
      const code = `process.stdout.write('go\\n'); const end = Date.now() + ${ms}; while (Date.now() < end);`;
      const started = cpus.map((cpu) => {
        const c = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', code], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        children.push(c);
        return {
          ready: new Promise((resolve) => c.stdout!.once('data', resolve)),
          done: new Promise((resolve) => c.once('exit', resolve)),
        };
      });
      return { ready: Promise.all(started.map((s) => s.ready)), done: Promise.all(started.map((s) => s.done)) };
    }

    async function sampled(cpus: [number, number]) {
      const s = spinners(cpus, 400);
      await s.ready;
      const sampler = new PlacementSampler(5);
      await s.done;
      const p = sampler.stop();
      assert.ok(p !== null && p.samples >= 3, `sampled: ${JSON.stringify(p)}`);
      return p;
    }

    it('says 1 for two processes held on one vCPU', async () => {
      assert.equal((await sampled([0, 0])).sameVcpu, 1);
    });

    it('says 0 for two processes held on two vCPUs', async function () {
      if (os.cpus().length < 2) this.skip();
      assert.equal((await sampled([0, 1])).sameVcpu, 0);
    });

    it('counts this process as a side when it has a single child', async () => {
      const c = spawn('taskset', ['-c', '0', process.execPath, '-e', 'setTimeout(() => {}, 400)'], { stdio: 'ignore' });
      children.push(c);
      const sampler = new PlacementSampler(5);
      await new Promise((resolve) => c.once('exit', resolve));
      const p = sampler.stop();
      assert.ok(p !== null && p.samples >= 3, `sampled: ${JSON.stringify(p)}`);
      assert.ok(p.sameVcpu >= 0 && p.sameVcpu <= 1);
    });

    it('gives no figure when nothing ran', () => {
      assert.equal(new PlacementSampler(5).stop(), null);
    });

    it('stops once: a second stop gives the first figure again', async () => {
      const sampler = new PlacementSampler(5);
      const s = spinners([0, 0], 200);
      await s.done;
      const first = sampler.stop();
      assert.ok(first !== null);
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(sampler.stop(), first);
    });
  });

  it('reports the median share over the runs with its spread, and "-" when no run had one', () => {
    const run = (rtt: number, same: number | null) => ({
      ...emptyRecord('x.call', 'v'),
      medianRttUs: rtt,
      sameVcpu: same,
    });
    const agg = aggregateRuns([run(2, 1), run(3, 0.5), run(60, 0)], 'sleeping');
    assert.equal(agg.sameVcpu, 0.5);
    assert.deepEqual(agg.spread?.sameVcpu, [0, 1]);
    const none = aggregateRuns([run(2, null), run(3, null)], 'spinning');
    assert.equal(none.sameVcpu, null);
    const table = formatSpreadTable([agg, none]).split('\n');
    assert.match(table[0], /same vCPU \[runs\]/);
    assert.match(table[2], /0\.50 \[0\.00\.\.1\.00\]/);
    assert.match(table[3], /-\s+-\s+2\s+v$/, 'wakes/msg and same vCPU both "-"');
  });
});
