// The parent's side of a chaos episode with a history (chaos-history.ts runs in the
// workers or processes): read the clients' logs into one history, check one outcome per
// call and no response missing from a survivor, and check the history linearizable against
// the model, together with a tampered copy that must not be.
import * as assert from 'assert';
import type { Invocation, Limits, Operation, Result } from '../../spec/types';
import {
  checkLinearizable,
  finalStateProblems,
  formatHistory,
  type HistoryOp,
} from '../../conformance/linearizability';

interface LogRecord {
  i: number;
  op?: Operation;
  call?: number;
  invocation?: Invocation;
  return?: number;
  outcome?: Result;
  completed?: number;
}

export interface ChaosReport {
  calls: number;
  outcomes: number;
  pendingCalls: number;
}

/**
 * Add the clients' logged operations to `history` (ids from `nextId`): a victim's operations
 * without a response are optional (they may or may not have taken effect); every survivor's call
 * has exactly one outcome and its report agrees. Returns the counts the episode reports.
 */
export function readChaosLogs(
  logs: SharedArrayBuffer[],
  reports: (ChaosReport | null)[],
  victims: number[],
  history: HistoryOp[],
  nextId: () => number,
): { inFlight: number; callsStarted: number } {
  let inFlight = 0,
    callsStarted = 0;
  for (const [k, log] of logs.entries()) {
    const length = new Int32Array(log)[0];
    const lines = Buffer.from(log, 4, length)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogRecord);
    const ops = new Map<number, HistoryOp>();
    for (const r of lines) {
      if (r.op) {
        ops.set(r.i, { id: nextId(), client: k, op: r.op, call: r.call!, return: null });
        continue;
      }
      const o = ops.get(r.i)!;
      if (r.invocation) {
        o.invocation = r.invocation;
        o.return = r.return!;
        if ('pending' in r.invocation) callsStarted++;
      }
      if (r.outcome) {
        assert.strictEqual(o.outcome, undefined, `client ${k}: a second outcome for ${JSON.stringify(o.op)}`);
        o.outcome = r.outcome;
        o.completed = r.completed;
      }
    }
    for (const o of ops.values()) {
      if (o.return === null) {
        assert.ok(victims.includes(k), `client ${k} survived but left ${JSON.stringify(o.op)} without a response`);
        o.optional = true;
        inFlight++;
      }
      history.push(o);
    }
    const report = reports[k];
    if (report) {
      assert.strictEqual(
        report.outcomes,
        report.calls,
        `client ${k}: ${report.calls} calls started, ${report.outcomes} outcomes`,
      );
      assert.strictEqual(report.pendingCalls, 0);
      const pendings = [...ops.values()].filter((o) => o.invocation && 'pending' in o.invocation);
      assert.ok(
        pendings.every((o) => o.outcome !== undefined),
        `client ${k}: a call without an outcome`,
      );
    }
  }
  return { inFlight, callsStarted };
}

/** Pairs of operations of different clients whose real-time intervals overlap. */
export function overlappingPairs(history: HistoryOp[]): number {
  const timed = history.filter((o) => o.return !== null && o.op.op !== 'attach');
  let overlapping = 0;
  for (let i = 0; i < timed.length; i++)
    for (let j = i + 1; j < timed.length; j++) {
      const a = timed[i],
        b = timed[j];
      if (a.client !== b.client && a.call < b.return! && b.call < a.return!) overlapping++;
    }
  return overlapping;
}

/**
 * Check a chaos history against the model: fails at once if it is not linearizable; returns
 * whether the search was conclusive and the lines to print. A conclusive pass also checks that
 * the same history with two messages of one sender swapped in one receive (ORDER-2) fails.
 */
export function checkChaosHistory(
  history: HistoryOp[],
  limits: Limits,
  budget: number,
): { conclusive: boolean; lines: string[]; explored: number } {
  const lines: string[] = [];
  const check = checkLinearizable(history, { limits, maxStates: budget, minimize: false });
  assert.notStrictEqual(
    check.ok,
    false,
    `the chaos history is not linearizable: ${check.deepest?.reason}\n${formatHistory(history).slice(0, 400).join('\n')}`,
  );
  if (check.ok !== true) return { conclusive: false, lines, explored: check.explored };
  assert.deepStrictEqual(finalStateProblems(check.finalState!), []);
  const tampered = structuredClone(history);
  const sender = (d: { payload?: string }) =>
    Buffer.from(d.payload ?? '', 'base64')
      .toString()
      .split('.')[0];
  for (const o of tampered) {
    const ds =
      o.op.op === 'receive' && o.invocation && !('pending' in o.invocation) && o.invocation.ok
        ? (o.invocation.value as { deliveries: { kind: string; payload?: string }[] }).deliveries
        : [];
    // Two different deliveries: a multicast through two handles to one node leaves two equal copies, whose swap changes nothing.
    const swappable = (d: { kind: string; payload?: string }, e: { kind: string; payload?: string }) =>
      e.kind === 'message' && sender(e) === sender(d) && JSON.stringify(e) !== JSON.stringify(d);
    const i = ds.findIndex((d, j) => d.kind === 'message' && ds.some((e, k) => k > j && swappable(d, e)));
    if (i < 0) continue;
    const j = ds.findIndex((e, k) => k > i && swappable(ds[i], e));
    [ds[i], ds[j]] = [ds[j], ds[i]];
    const bad = checkLinearizable(tampered, { limits, maxStates: 3000, minimize: false });
    assert.notStrictEqual(bad.ok, true, "a history with one sender's messages swapped passed");
    lines.push(
      `  the same history with two messages of one sender swapped: ${bad.ok === false ? 'not linearizable' : 'search gave up'} after ${bad.explored} states`,
    );
    break;
  }
  return { conclusive: true, lines, explored: check.explored };
}
