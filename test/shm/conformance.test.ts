// The conformance suite against the shm backend's in-process driver:
// scenario cases and the sequential model-based property.
import * as assert from 'assert';
import { Harness } from '../../conformance/session';
import { runCases } from '../../conformance/run-cases';
import { runSequentialProperty } from '../../conformance/property';
import { createShmDriver } from '../../drivers/shm';
import { skipUnlessShmSpeaksSuiteProtocol } from './protocol';

describe('conformance suite against the shm backend (in-process driver)', function () {
  this.timeout(180_000);
  before(function () {
    skipUnlessShmSpeaksSuiteProtocol(this);
  });

  it('passes every scenario case [ERR-1, ATOMIC-1]', async () => {
    const h = await Harness.open(createShmDriver());
    const results = await runCases(h, { completionGraceMs: 0 });
    const bad = results.filter((r) => r.status === 'fail' || r.status === 'error');
    assert.deepStrictEqual(
      bad.map((r) => `${r.status}: ${JSON.stringify(r).slice(0, 600)}`),
      [],
    );
    assert.ok(results.some((r) => r.status === 'pass'));
  });

  it('passes the sequential model-based property [ERR-1, ATOMIC-1, ORDER-2, TIME-2]', async () => {
    const h = await Harness.open(createShmDriver());
    const out = await runSequentialProperty(h, {
      runs: process.env.TESSERA_LONG ? 2000 : 150,
      seed: 0x5e4d,
      maxCommands: 60,
      completionGraceMs: 0,
    });
    assert.strictEqual(
      out.status,
      'pass',
      `${out.message}\nseed ${out.seed} path ${out.path}\n${(out.counterexample ?? []).join('\n')}`,
    );
  });
});
