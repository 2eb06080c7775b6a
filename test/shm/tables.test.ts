// recordNamed, the read-ahead's way from a name to its table record without reading the record:
// for every name a table issues it must give the record lookup finds (else the read-ahead asks
// for the wrong line), in tables whose size is a power of 2 (a mask) and not (a remainder).
import { strict as assert } from 'assert';
import { ShmBus } from '../../backends/shm';
import { NONE } from '../../backends/shm/layout';
import { lookup, recordNamed } from '../../backends/shm/tables';
import { peerSeat } from '../../bench/shm';

describe('shm tables: recordNamed', () => {
  for (const maxHandlesPerPeer of [64, 48]) {
    it(`gives the record lookup finds for every issued name, and NONE for what is not a name (a table of ${maxHandlesPerPeer})`, () => {
      const bus = ShmBus.create({ limits: { maxPeers: 4, maxHandlesPerPeer } });
      const p = bus.attach({ uid: 0, gid: 0, pid: 1 });
      const seat = peerSeat(p);
      const names: number[] = [];
      // Names of several generations: created, some released, created again.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 20; i++) names.push(p.createNode());
        for (const n of names.splice(0, 15)) p.release(n);
      }
      assert.ok(names.length > 0);
      for (const n of names) {
        const r = lookup(seat.core, seat.slot, n);
        assert.notEqual(r, NONE, `name ${n} is issued`);
        assert.equal(recordNamed(seat.core, seat.slot, n), r, `name ${n}`);
      }
      for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 53])
        assert.equal(recordNamed(seat.core, seat.slot, bad), NONE, `${bad}`);
      p.close();
      bus.dispose();
    });
  }
});
