// The conformance case corpus (conformance/cases/) run on the model itself: the suite runs the
// same cases against every backend and any driver, comparing each step with the model; here
// the model answers alone, and what the cases say is checked against it: each step's result
// (`expect`, `match`), each step's completions where a case states them (`completes`), the
// invariant monitor on every step (a failed step changes nothing, INV-3), and, once every
// peer is closed, nothing left and every pending operation completed (INV-4..6).
import { strict as assert } from 'assert';
import type { Completion, Invocation, Operation } from '../../spec/types';
import { CASES, type Case } from '../../conformance/cases';
import type { CompletingStep, Completes } from '../../conformance/cases/completes';
import { matches } from '../../conformance/run-cases';
import { formatInvocation, formatOp } from '../../conformance/format';
import { Monitor, initialState, step, type BusState } from '../../model';

function holds(expect: string | undefined, match: unknown, r: Invocation): boolean {
  if (expect === undefined) return true;
  if (expect === 'pending') return 'pending' in r;
  if ('pending' in r) return false;
  if (expect === 'ok') return r.ok && (match === undefined || matches(r.value, match));
  return !r.ok && r.error === expect;
}

const completionHolds = (want: Completes, got: Completion) =>
  got.ticket === want.ticket &&
  (want.op === undefined || got.op === want.op) &&
  (want.result === 'ok'
    ? got.result.ok && (want.match === undefined || matches(got.result.value, want.match))
    : !got.result.ok && got.result.error === want.result);

/** Run a case on the model, then close every peer still open; a failure shows the steps run so far. */
function runOnModel(c: Case): void {
  let state: BusState = initialState(c.limits ?? {});
  const monitor = new Monitor(c.limits ?? {});
  const ran: string[] = [];
  const advance = (op: Operation) => {
    const out = step(state, op);
    const violations = monitor.observe(state, op, out.result, out, out.state);
    ran.push(`${ran.length + 1}. ${formatOp(op)} -> ${formatInvocation(out.result)}`);
    assert.deepEqual(violations, [], `invariant violated at step ${ran.length}:\n${ran.join('\n')}`);
    state = out.state;
    return out;
  };
  for (const s of c.steps as CompletingStep[]) {
    const out = advance(s.op);
    const where = `step ${ran.length} of case ${c.id}:\n${ran.join('\n')}`;
    assert.ok(
      holds(s.expect, s.match, out.result),
      `expected ${s.expect} ${JSON.stringify(s.match ?? '')} at ${where}`,
    );
    if (s.completes) {
      const ok =
        s.completes.length === out.completions.length &&
        s.completes.every((w, i) => completionHolds(w, out.completions[i]));
      assert.ok(
        ok,
        `expected completions ${JSON.stringify(s.completes)}, got ${JSON.stringify(out.completions)} at ${where}`,
      );
    }
  }
  for (const peer of Object.values(state.peers)) if (peer.status === 'open') advance({ op: 'close', peer: peer.id });
  assert.deepEqual(monitor.finish(state), [], `after every peer closed, case ${c.id}:\n${ran.join('\n')}`);
}

describe('the conformance cases on the model itself, every step under the invariant monitor', () => {
  for (const c of CASES) {
    it(`${c.title} [${c.clauses.join(', ')}]`, () => runOnModel(c));
  }
});
