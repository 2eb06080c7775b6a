import { strict as assert } from 'assert';
import { CASES, requirementsOf } from '../../conformance/cases';
import { runCase } from '../../conformance/run-cases';
import { ClauseCounter, loadClauseIds } from '../../conformance/coverage';
import { Harness } from '../../conformance/session';
import { createReferenceDriver } from '../../drivers/reference';

describe('conformance cases on the reference backend', () => {
  let harness: Harness;
  const counter = new ClauseCounter();
  before(async () => {
    harness = await Harness.open(createReferenceDriver());
  });

  for (const c of CASES) {
    it(`${c.title} [${c.clauses.join(', ')}]`, async () => {
      const r = await runCase(harness, c, { counter });
      assert.equal(r.status, 'pass', r.message);
    });
  }

  it('every clause of the spec is named by at least one case and exercised by a case step [ERR-2, INV-1]', () => {
    const ids = loadClauseIds();
    assert.ok(ids.length > 50, `read only ${ids.length} clause ids`);
    const named = new Set(CASES.flatMap((c) => c.clauses));
    assert.deepEqual(
      ids.filter((id) => !named.has(id)),
      [],
      'clauses no case names',
    );
    assert.deepEqual(
      ids.filter((id) => !counter.counts.has(id)),
      [],
      'clauses no case step exercised',
    );
    for (const c of CASES)
      for (const id of c.clauses) assert.ok(ids.includes(id), `case ${c.id} cites unknown clause ${id}`);
  });

  it('case ids are unique and requirements are read from the operations [TIME-2, CRED-1]', () => {
    assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length);
    const blocking = CASES.find((c) => c.id === 'blocking-send')!;
    assert.ok(requirementsOf(blocking).features.includes('blocking-send'));
    assert.ok(requirementsOf(blocking).features.includes('virtual-clock'));
    assert.ok(requirementsOf(CASES.find((c) => c.id === 'credentials-opt-in')!).features.includes('credentials'));
  });
});
