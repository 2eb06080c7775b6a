// The driver protocol page's transcript is a real session with a real driver.
import * as assert from 'assert';
import { repositoryRoot } from '../../cli/docs';
import { captureTranscript } from '../../cli/docs/transcript';
import { wire } from '../../protocol/validate';

describe('docs: the driver protocol transcript', function () {
  this.timeout(180_000);

  it('is a session with `tessera driver`: every line valid on the wire, a call completed before the reply is answered [CALL-6, TIME-2, HANDLE-3]', async () => {
    const exchanges = await captureTranscript(repositoryRoot());
    for (const e of exchanges) {
      assert.ok(wire.request.check(JSON.parse(e.request)).ok, e.request);
      for (const line of e.responses) assert.ok(wire.response.check(JSON.parse(line)).ok, line);
    }
    const types = exchanges.map((e) => e.responses.map((r) => (JSON.parse(r) as { type: string }).type).join(','));
    assert.strictEqual(types[0], 'init_ok');
    assert.strictEqual(types[types.length - 1], 'shutdown_ok');
    const reply = exchanges.find((e) => (JSON.parse(e.request) as { op?: { op: string } }).op?.op === 'reply')!;
    assert.deepStrictEqual(
      reply.responses.map((r) => (JSON.parse(r) as { type: string }).type),
      ['completion', 'invoke_ok'],
    );
    assert.ok(exchanges.some((e) => e.responses.some((r) => r.includes('"error":"BAD_HANDLE"'))));
  });
});
