import { strict as assert } from 'assert';
import * as path from 'path';
import { runSuite } from '../../conformance/suite';
import { createStdioDriver } from '../../conformance/stdio';
import { ROOT, expectReportPass } from './support';

describe('the Python example driver (conformance/examples/driver.py)', () => {
  it('speaks protocol 2: passes every case it declares, reports the others UNSUPPORTED, and passes the property restricted to its operations [NODE-1, NODE-4, NODE-6, MINT-1, RELEASE-1, CRED-1, NOTICE-2, NOTICE-6, SEND-2]', async function () {
    this.timeout(60_000);
    const command = `python3 ${JSON.stringify(path.join(ROOT, 'conformance', 'examples', 'driver.py'))}`;
    const report = await runSuite({
      createDriver: () => createStdioDriver({ command }),
      driverLabel: command,
      replayBase: '',
      runs: 100,
      seed: 3,
    });
    expectReportPass(report);
    const passed = report.cases.filter((c) => c.status === 'pass');
    const unsupported = report.cases.filter((c) => c.status === 'unsupported');
    assert.ok(passed.length >= 10, `only ${passed.length} cases ran`);
    assert.ok(unsupported.length > 0);
    assert.ok(unsupported.every((c) => (c.missing ?? []).length > 0));
    assert.equal(report.implementation?.name, 'python-example');
    assert.equal(report.implementation?.protocolVersion, '2');
    for (const id of ['no-senders-withdrawn', 'canonical-base64'])
      assert.equal(report.cases.find((c) => c.id === id)?.status, 'pass', `case ${id}`);
  });
});
