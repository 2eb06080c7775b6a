// The conformance driver of the shm backend across OS processes (drivers/shm-processes.ts):
// every peer in a forked process, pooled across resets; the suite's cases, sequential
// property and linearizability phases against it (pending while the backend speaks another
// protocol than the suite, as for the other shm drivers).
import * as assert from 'assert';
import type { Invocation, Operation } from '../../spec/types';
import { createShmProcessDriver } from '../../drivers/shm-processes';
import { Harness } from '../../conformance/session';
import { runCases } from '../../conformance/run-cases';
import { runSequentialProperty } from '../../conformance/property';
import { runConcurrent } from '../../conformance/concurrent';
import type { ClientRunningDriver } from '../../protocol/clients';
import type { Completion, Limits } from '../../spec/types';
import { expectOk } from '../helpers';
import { requireNative } from '../native/support';
import { skipUnlessShmSpeaksSuiteProtocol } from './protocol';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const cred = (pid: number) => ({ uid: 1000, gid: 1000, pid });
const valueOf = <T>(r: Invocation): T => expectOk<T>(r);
/**
 * How long the suite waits for a completion the model expects (it stops waiting as soon as it
 * arrives, so a pass costs nothing more): a completion crosses from a peer process through the
 * driver's pipe, which on a loaded machine took longer than 50 ms.
 */
const GRACE_MS = 5000;

describe('conformance driver of the shm backend across OS processes (--impl shm-processes)', function () {
  this.timeout(300_000);
  let driver: ClientRunningDriver;
  before(function () {
    requireNative(this);
    driver = createShmProcessDriver();
  });
  after(async () => {
    await driver?.close();
  });

  it('runs each peer in its own process: a capability passed between two of them, and a call answered across them, on a bus reset twice (the processes pooled) [SEND-4, CALL-1, CALL-6, BUS-2, BUS-3]', async () => {
    const info = await driver.init();
    assert.strictEqual(info.name, 'shm-processes');
    assert.ok(info.features.includes('concurrency'));
    const completions: Completion[] = [];
    driver.onCompletion((c) => completions.push(c));
    for (let round = 0; round < 2; round++) {
      completions.length = 0;
      await driver.reset({ ...info.limits, maxPeers: 4 } as Limits);
      const invoke = (op: Operation) => driver.invoke(op);
      const a = valueOf<{ peer: number }>(await invoke({ op: 'attach', credentials: cred(1) })).peer;
      const node = valueOf<{ handle: number }>(await invoke({ op: 'createNode', peer: a })).handle;
      const b = valueOf<{ peer: number; handles: number[] }>(
        await invoke({ op: 'attach', credentials: cred(2), bootstrap: [{ fromPeer: a, handle: node }] }),
      );
      const bNode = valueOf<{ handle: number }>(await invoke({ op: 'createNode', peer: b.peer })).handle;
      // b sends a a capability to its own node, then a calls b through it.
      valueOf(
        await invoke({
          op: 'send',
          peer: b.peer,
          handle: b.handles[0],
          message: { segments: [b64('hello')], transfers: [{ handle: bNode, rights: ['send'] }] },
          timeoutMs: 0, // TIME-4: a send that never waits
        }),
      );
      const got = valueOf<{ deliveries: { kind: string; payload: string; handles: { name: number }[] }[] }>(
        await invoke({ op: 'receive', peer: a, max: 4, timeoutMs: 0 }),
      ).deliveries;
      assert.strictEqual(got.length, 1);
      assert.strictEqual(got[0].payload, b64('hello'));
      const toB = got[0].handles[0].name;
      const call = await invoke({ op: 'call', peer: a, handle: toB, message: { segments: [b64('question')] } });
      assert.ok('pending' in call, `the call did not start: ${JSON.stringify(call)}`);
      const asked = valueOf<{ deliveries: { kind: string; replyHandle: number }[] }>(
        await invoke({ op: 'receive', peer: b.peer, max: 4, timeoutMs: 0 }),
      ).deliveries;
      assert.strictEqual(asked[0].kind, 'call');
      valueOf(
        await invoke({
          op: 'reply',
          peer: b.peer,
          handle: asked[0].replyHandle,
          message: { segments: [b64('answer')] },
        }),
      );
      for (let i = 0; i < 500 && completions.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.strictEqual(completions.length, 1, 'the call completed once');
      const reply = expectOk<{ reply: { payload: string } }>(completions[0].result).reply;
      assert.strictEqual(reply.payload, b64('answer'));
      valueOf(await invoke({ op: 'close', peer: a }));
      valueOf(await invoke({ op: 'close', peer: b.peer }));
    }
  });

  it('passes every scenario case [ERR-1, ATOMIC-1]', async function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
    const d = createShmProcessDriver();
    try {
      const h = await Harness.open(d);
      const results = await runCases(h, { completionGraceMs: GRACE_MS });
      const bad = results.filter((r) => r.status === 'fail' || r.status === 'error');
      assert.deepStrictEqual(
        bad.map((r) => `${r.status}: ${JSON.stringify(r).slice(0, 600)}`),
        [],
      );
    } finally {
      await d.close();
    }
  });

  it('passes the sequential model-based property [ERR-1, ATOMIC-1, ORDER-2]', async function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
    const d = createShmProcessDriver();
    try {
      const h = await Harness.open(d);
      const out = await runSequentialProperty(h, {
        runs: 40,
        seed: 0x5e4d,
        maxCommands: 40,
        completionGraceMs: GRACE_MS,
      });
      assert.strictEqual(out.status, 'pass', `${out.message}\nseed ${out.seed} path ${out.path}`);
    } finally {
      await d.close();
    }
  });

  it('every concurrent run, one process per client, is linearizable [ATOMIC-1, ORDER-1, INV-5, INV-6]', async function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
    const info = await driver.init();
    let overlapping = 0;
    for (let seed = 100; seed < 104; seed++) {
      const r = await runConcurrent(driver, info, { clients: 3, opsPerClient: 20, seed });
      assert.equal(
        r.ok,
        true,
        `seed ${seed}: ${r.message}\nreplay: npx tessera conformance --impl shm-processes --concurrency 3 --ops-per-client 20 --property linearizability --seed ${seed} --path ${seed}`,
      );
      if (r.races['overlapping operations'] > 0) overlapping++;
    }
    assert.ok(overlapping >= 2, `operations overlapped in only ${overlapping}/4 runs`);
  });
});
