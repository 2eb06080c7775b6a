import { strict as assert } from 'assert';
import * as path from 'path';
import { runSuite } from '../../conformance/suite';
import { createStdioDriver } from '../../conformance/stdio';
import { ROOT, expectReportPass } from './support';

describe('the Python example driver (conformance/examples/driver.py)', () => {
  it('passes every case it declares, reports the others UNSUPPORTED, and passes the property restricted to its operations [NODE-1, MINT-1, RELEASE-1, CRED-1, NOTICE-2]', async function () {
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
  });
});
