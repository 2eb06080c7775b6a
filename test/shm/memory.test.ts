// A bus's memory must not stop its process from starting children: the buffer of a bus at the
// default limits is some hundreds of MiB (reserved, mostly never touched), and private
// anonymous memory of that size is charged whole to every fork() by Linux's overcommit check.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as os from 'os';
import { ShmBus } from '../../backends/shm';
import { requireNative } from '../native/support';

describe('shm bus memory', function () {
  this.timeout(120_000);
  before(function () {
    requireNative(this);
  });

  it('a process holding more default-sized buses than the machine has memory can still start a child process [BUS-1]', () => {
    const first = ShmBus.create();
    const busBytes = first.sab.byteLength;
    // Enough buses that their buffers, if charged at fork, exceed the machine's memory (capped).
    const count = Math.min(Math.ceil((1.25 * os.totalmem()) / busBytes), 2000);
    const buses = [first];
    for (let i = 1; i < count; i++) buses.push(ShmBus.create());
    const child = spawnSync(process.execPath, ['-e', 'process.exit(7)']);
    assert.equal(child.error, undefined, `spawn with ${String(count)} buses of ${String(busBytes)} bytes alive`);
    assert.equal(child.status, 7);
    assert.equal(buses.length, count);
  });
});
