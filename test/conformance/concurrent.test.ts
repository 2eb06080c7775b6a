// Concurrent conformance: the shm backend with every peer in its own worker
// thread, checked linearizable against the model; a mutant the concurrent
// phase must catch; dead clients' in-flight operations in the checker.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Operation } from '../../spec/types';
import { checkLinearizable, type HistoryOp } from '../../conformance/linearizability';
import { RACES, runConcurrent, type Race } from '../../conformance/concurrent';
import { runSuite } from '../../conformance/suite';
import type { ConformanceReport } from '../../conformance/report-types';
import { createShmWorkerDriver } from '../../drivers/shm-workers';
import { main } from '../../cli/tessera';
import { LONG } from './support';
import { skipUnlessShmSpeaksSuiteProtocol } from '../shm/protocol';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const delivered = (s: string) => ({ kind: 'message', node: 1, badge: 0, payload: b64(s), handles: [] });
/** The dead peer's handle to node 1 was the last sender: its close leaves a no-senders notice (NOTICE-1). */
const noSenders = { kind: 'notice', notice: { type: 'no-senders', node: 1, derivedCount: 1 } };

async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  const out: string[] = [];
  const original = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  try {
    return { value: await fn(), out: out.join('\n') };
  } finally {
    console.log = original;
  }
}

describe('concurrent conformance (linearizability with peers in worker threads)', function () {
  this.timeout(120_000);
  const table: string[] = [];
  after(() => {
    if (table.length) console.log(table.map((l) => `      ${l}`).join('\n'));
  });

  it('`tessera conformance --impl shm` passes the sequential suite in-process and the concurrent runs with each peer in its own worker thread [ATOMIC-1, ORDER-1, ORDER-2, INV-5, INV-6]', async function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
    const file = path.join(os.tmpdir(), `tessera-concurrent-${process.pid}.json`);
    const { value: code, out } = await quietly(() =>
      main([
        'conformance',
        '--impl',
        'shm',
        '--runs',
        '20',
        '--seed',
        '1',
        '--concurrent-runs',
        '4',
        '--ops-per-client',
        '16',
        '--json',
        file,
      ]),
    );
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as ConformanceReport;
    fs.unlinkSync(file);
    assert.equal(code, 0, out);
    const lin = report.properties.find((p) => p.name === 'linearizability')!;
    assert.equal(lin.status, 'pass', lin.message);
    assert.equal(lin.runs, 4);
    const c = lin.concurrency!;
    assert.equal(c.driver, 'in-process:shm-workers');
    assert.equal(c.inImplementation, true);
    assert.ok(c.runsWithOverlap >= 2, `operations overlapped in only ${c.runsWithOverlap}/4 runs`);
    assert.ok(c.exploredStates > 0);
    assert.match(out, /property linearizability: PASS after 4 runs/);
    assert.match(out, /overlapping pairs: overlapping operations \d+/);
    table.push(
      `tessera conformance --impl shm: ${lin.steps} operations in 4 concurrent runs, overlap in ${c.runsWithOverlap}/4 runs, ${c.exploredStates} states explored; ${c.races.map((r) => `${r.race} ${r.pairs}`).join(', ')}`,
    );
  });

  it('shm with peers in worker threads: every concurrent run is linearizable, leaves nothing behind, and really overlaps operations of different peers [ATOMIC-1, ORDER-1, INV-5, INV-6]', async function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
    const d = createShmWorkerDriver();
    const info = await d.init();
    const seeds = LONG ? 20 : 4;
    const races = new Map<Race, number>(RACES.map((r) => [r, 0]));
    let explored = 0,
      operations = 0,
      overlapping = 0;
    const started = Date.now();
    try {
      for (let seed = 100; seed < 100 + seeds; seed++) {
        const r = await runConcurrent(d, info, { clients: 3, opsPerClient: 20, seed });
        assert.equal(
          r.ok,
          true,
          `seed ${seed}: ${r.message}\n${(r.counterexample ?? []).join('\n')}\nreplay: npx tessera conformance --impl shm-workers --concurrency 3 --ops-per-client 20 --property linearizability --seed ${seed} --path ${seed}`,
        );
        assert.equal(r.inImplementation, true);
        explored += r.explored;
        operations += r.operations;
        if (r.races['overlapping operations'] > 0) overlapping++;
        for (const k of RACES) races.set(k, races.get(k)! + r.races[k]);
      }
    } finally {
      await d.close();
    }
    assert.ok(overlapping >= seeds / 2, `operations overlapped in only ${overlapping}/${seeds} runs`);
    assert.ok(races.get('overlapping sends to one node')! > 0, 'no two sends to one node ever overlapped');
    table.push(
      `shm-workers: ${seeds} runs x 3 clients x 20 ops (${operations} operations with setup and close) in ${Date.now() - started} ms, overlap in ${overlapping}/${seeds} runs, ${explored} states explored; ${[...races].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
  });

  it('the concurrent phase catches a worker implementation whose send answers before it takes effect, with a replay line [ATOMIC-1, ORDER-2, SEND-1]', async function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
    let report: ConformanceReport | null = null;
    let seed = 1;
    for (; seed <= 8; seed++) {
      report = await runSuite({
        createDriver: () =>
          createShmWorkerDriver({
            fault: {
              name: 'shm-deferred-send',
              module: require.resolve('../../conformance/mutants/shm-deferred-send'),
            },
          }),
        driverLabel: 'in-process:mutant:shm-deferred-send',
        replayBase: 'npx tessera conformance --impl mutant:shm-deferred-send',
        runs: 1,
        seed: 1,
        path: String(seed),
        property: 'linearizability',
        concurrency: 3,
      });
      if (report.status === 'fail') break;
    }
    assert.ok(report && report.status === 'fail', 'no concurrent run caught the deferred send in 8 seeds');
    const lin = report.properties.find((p) => p.name === 'linearizability')!;
    assert.match(lin.message ?? '', /not linearizable/);
    assert.ok((lin.counterexample ?? []).length > 0);
    assert.equal(
      lin.replay,
      `npx tessera conformance --impl mutant:shm-deferred-send --concurrency 3 --property linearizability --seed 1 --path ${seed}`,
    );
    table.push(
      `mutant shm-deferred-send caught by the concurrent phase at seed ${seed}: ${(lin.message ?? '').split('\n')[0].slice(0, 160)}`,
    );
  });

  describe("a dead client's operation in flight may or may not have taken effect", () => {
    const setup = (): HistoryOp[] => [
      {
        id: 1,
        client: 1,
        op: { op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } },
        call: 1,
        return: 2,
        invocation: { ok: true, value: { peer: 1, handles: [] } },
      },
      {
        id: 2,
        client: 1,
        op: { op: 'createNode', peer: 1 },
        call: 3,
        return: 4,
        invocation: { ok: true, value: { handle: 1 } },
      },
      {
        id: 3,
        client: 2,
        op: { op: 'attach', credentials: { uid: 2, gid: 2, pid: 2 }, bootstrap: [{ fromPeer: 1, handle: 1 }] },
        call: 5,
        return: 6,
        invocation: { ok: true, value: { peer: 2, handles: [1] } },
      },
    ];
    const inFlight = (s: string): HistoryOp => ({
      id: 4,
      client: 2,
      op: { op: 'send', peer: 2, handle: 1, message: { segments: [b64(s)] } } as Operation,
      call: 7,
      return: null,
      optional: true,
    });
    const died: HistoryOp = {
      id: 5,
      client: -1,
      op: { op: 'close', peer: 2 },
      call: 8,
      return: 9,
      invocation: { ok: true, value: {} },
    };
    const receive = (...seen: string[]): HistoryOp => ({
      id: 6,
      client: 1,
      op: { op: 'receive', peer: 1, max: 4 },
      call: 10,
      return: 11,
      invocation: { ok: true, value: { deliveries: [...seen.map(delivered), noSenders] } as never },
    });

    it('it may be linearized (its message arrives) or left out (nothing arrives) [CLOSE-1, ATOMIC-1]', () => {
      assert.equal(checkLinearizable([...setup(), inFlight('a'), died, receive('a')]).ok, true);
      assert.equal(checkLinearizable([...setup(), inFlight('a'), died, receive()]).ok, true);
    });

    it('but what nobody sent still cannot arrive, nor can it arrive before it was sent [ATOMIC-1, INV-7]', () => {
      assert.equal(checkLinearizable([...setup(), inFlight('a'), died, receive('b')], { minimize: false }).ok, false);
      const early: HistoryOp = {
        id: 7,
        client: 1,
        op: { op: 'receive', peer: 1, max: 4 },
        call: 6.2,
        return: 6.4,
        invocation: { ok: true, value: { deliveries: [delivered('a')] } as never },
      };
      assert.equal(checkLinearizable([...setup(), early, inFlight('a'), died], { minimize: false }).ok, false);
    });
  });
});
