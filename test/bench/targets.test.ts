// The cross-process targets take each ratio from the rows it names: the call against the bare
// ping-pong that spins as Tessera's processes do (in the addon), with the spread over the runs.
import { strict as assert } from 'assert';
import { crossProcessTargets } from '../../bench/run';
import { emptyRecord, type BenchRecord } from '../../bench/baselines/common';
import { ADDON_SPIN } from '../../bench/baselines/xproc';

function row(
  name: string,
  variant: string,
  regime: 'spinning' | 'sleeping',
  rtt: number,
  spread: [number, number],
): BenchRecord {
  return {
    ...emptyRecord(name, variant),
    regime,
    medianRttUs: rtt,
    wakesPerMsg: 0.01,
    spread: { medianRttUs: spread },
  };
}

describe('bench: the cross-process targets', () => {
  const memfd = '64B 2 processes, one memfd mapped by the addon';
  const records = [
    row(
      'xproc.tessera.call',
      '64B call/reply, 1 client process->process server, spin <=50us adaptive',
      'spinning',
      2.4,
      [2.2, 2.6],
    ),
    row('xproc.sab.pingpong', `${memfd}; spin 30us then futex`, 'spinning', 1.35, [1.3, 1.4]),
    row('xproc.sab.pingpong', `${memfd}; spin 30us then futex, ${ADDON_SPIN}`, 'spinning', 1.0, [0.9, 1.1]),
    row('xproc.net.pingpong', '64B Node net over a Unix socket', 'sleeping', 48, [40, 50]),
  ];

  it('the call is compared with the bare ping-pong spinning in the addon, not the one spinning in JavaScript', () => {
    const t = crossProcessTargets(records).find((x) => x.name.includes('bare SAB ping-pong'))!;
    assert.equal(t.ratio, 2.4);
    assert.deepEqual(t.range, [2.2 / 1.1, 2.6 / 0.9]);
    assert.equal(t.caveat, undefined);
  });

  it('without that row the ratio is missing, not taken from another', () => {
    const t = crossProcessTargets(records.filter((r) => !r.variant.includes(ADDON_SPIN))).find((x) =>
      x.name.includes('bare SAB ping-pong'),
    )!;
    assert.equal(t.ratio, null);
  });

  it('a faster transport is a ratio above 1 against the call (Node net / call)', () => {
    const t = crossProcessTargets(records).find((x) => x.name.includes('Node net'))!;
    assert.equal(t.ratio, 20);
    assert.equal(t.kind, 'min');
  });
});
