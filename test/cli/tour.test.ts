import { strict as assert } from 'assert';
import { protocolTour } from '../../cli/tour';
import { main } from '../../cli/tessera';
import { processTour } from '../../cli/tour-processes';
import { nativeAvailability } from '../../native';

describe('the tessera command', () => {
  it('the tour tells the whole story and leaves nothing on the bus [CLOSE-4, INV-5, CALL-5, REVOKE-2, DESTROY-2, CALL-10, CANCEL-1, CALL-8, MCAST-6, QUOTA-5]', async () => {
    const lines: string[] = [];
    const steps = await protocolTour({ log: (l) => lines.push(l) });
    const text = lines.join('\n');
    assert.ok(steps > 30);
    assert.match(text, /alice\.send\(h4, "try", handles \{h1\}, timeoutMs 0\) {2}-> {2}NO_RIGHTS/);
    assert.match(text, /service\.replyReceive\(h\d+, "first answer", max 64, timeoutMs 0\)/);
    assert.match(text, /alice\.cancel\(#\d+\) {2}-> {2}ok \{"cancelled":true\}/);
    assert.match(text, /service got notice call-abandoned/);
    assert.match(text, /"full":\[\d+\]/);
    assert.match(text, /alice got notice room/);
    assert.match(text, /alice's call resolved with "42"/);
    assert.match(text, /bob got notice revoked/);
    assert.match(text, /left on the bus: 0 handles, 0 nodes, 0 calls, 0 pending operations/);
  });

  it("the tour's step between processes: two forked processes pass a capability and answer a call over one shm bus, leaving nothing on it [SEND-4, CALL-1, CRED-1, INV-5]", async function () {
    this.timeout(120_000);
    const native = nativeAvailability();
    if (!native.available) {
      console.log(`      (skipped: ${native.error.message})`);
      this.skip();
    }
    const lines: string[] = [];
    const audit = await processTour({ log: (l) => lines.push(l) });
    assert.deepEqual(audit, { peersOpen: 0, handles: 0, nodes: 0, calls: 0, queued: 0 });
    const text = lines.join('\n');
    assert.match(
      text,
      /inbox\] received "my service" carrying handle \d+ \(rights send\); the bus stamped the sender's credentials from the kernel: pid \d+/,
    );
    assert.match(text, /inbox\] called the service through it: the reply is "42"/);
  });

  it('--help lists the commands and an unknown command exits 2 [ERR-2]', async () => {
    const out: string[] = [];
    const original = console.log;
    const originalError = console.error;
    console.log = (s: string) => out.push(s);
    console.error = (s: string) => out.push(s);
    try {
      assert.equal(await main(['--help']), 0);
      assert.equal(await main(['no-such-command']), 2);
      assert.equal(await main(['tour', '--bogus']), 2);
    } finally {
      console.log = original;
      console.error = originalError;
    }
    assert.match(out.join('\n'), /tour/);
    assert.match(out.join('\n'), /unknown command "no-such-command"/);
    assert.match(out.join('\n'), /unknown option --bogus/);
  });
});
