// One assertion vocabulary for the project's tests (CONTRIBUTING.md).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Completion, Delivery, ErrorCode, Invocation, Limits, Operation, Result } from '../spec/types';
import { type BusState, Monitor, type StepOutcome, initialState, step, toBase64 } from '../model';

export function expectOk<V = any>(r: Invocation | Result, what = 'operation'): V {
  if ('pending' in r) assert.fail(`${what}: expected a result, got pending ticket ${r.ticket}`);
  if (!r.ok) assert.fail(`${what}: expected ok, got ${r.error}`);
  return r.value as V;
}

export function expectError(r: Invocation | Result, code: ErrorCode, what = 'operation'): void {
  if ('pending' in r) assert.fail(`${what}: expected ${code}, got pending ticket ${r.ticket}`);
  assert.equal(r.ok ? 'ok' : r.error, code, `${what}: expected ${code}`);
}

export function expectPending(r: Invocation, what = 'operation'): number {
  if (!('pending' in r)) assert.fail(`${what}: expected pending, got ${JSON.stringify(r)}`);
  return r.ticket;
}

export function expectUnchanged(before: BusState, after: BusState, what = 'state'): void {
  assert.deepStrictEqual(after, before, `${what} changed`);
}

export const text = (s: string) => ({ segments: [toBase64(s)] });

/**
 * A bus driven through the model, one step at a time, with the invariant
 * monitor checking every step: a scenario test fails on any violation.
 */
export class World {
  state: BusState;
  readonly monitor = new Monitor();
  readonly completions: Completion[] = [];
  last!: StepOutcome;

  constructor(limits: Partial<Limits> = {}) {
    this.state = initialState(limits);
  }

  do(op: Operation): Invocation {
    const before = this.state;
    this.last = step(before, op);
    const violations = this.monitor.observe(before, op, this.last.result, this.last, this.last.state);
    assert.deepEqual(violations, [], `invariant violated by ${JSON.stringify(op)}`);
    this.state = this.last.state;
    this.completions.push(...this.last.completions);
    return this.last.result;
  }

  ok<V = any>(op: Operation): V {
    return expectOk<V>(this.do(op), op.op);
  }

  /**
   * Expect `code` and that the state did not change (ATOMIC-1), but for the reply handle a late
   * reply consumes (CALL-4) and the room watch a refusal for room arms (QUOTA-5).
   */
  fails(op: Operation, code: ErrorCode): void {
    const before = this.state;
    expectError(this.do(op), code, op.op);
    const watchless = (s: BusState) => (code === 'QUEUE_FULL' ? { ...s, roomWatches: [] } : s);
    if (code !== 'CALLER_GONE')
      expectUnchanged(watchless(before), watchless(this.state), `state after failed ${op.op}`);
  }

  peer(uid = 1000): number {
    return this.ok<{ peer: number }>({ op: 'attach', credentials: { uid, gid: uid, pid: uid * 10 } }).peer;
  }

  node(peer: number, credentials = false): number {
    return this.ok<{ handle: number }>({ op: 'createNode', peer, credentials }).handle;
  }

  /** Attach a peer with bootstrap grants (BUS-3); returns its id and handle names. */
  attach(
    grants: { from: number; handle: number; rights?: ('send' | 'grant')[]; badge?: number }[],
    uid = 2000,
  ): { peer: number; handles: number[] } {
    return this.ok({
      op: 'attach',
      credentials: { uid, gid: uid, pid: uid * 10 },
      bootstrap: grants.map((g) => ({
        fromPeer: g.from,
        handle: g.handle,
        ...(g.rights ? { rights: g.rights } : {}),
        ...(g.badge !== undefined ? { badge: g.badge } : {}),
      })),
    });
  }

  /**
   * `from` passes `handle` to `to` in a message through `via` (a handle `from`
   * holds to a node `to` owns); `to` receives it. Returns `to`'s new name.
   */
  give(
    from: number,
    handle: number,
    via: number,
    to: number,
    transfer: { rights?: ('send' | 'grant')[]; move?: boolean } = {},
  ): number {
    this.ok({ op: 'send', peer: from, handle: via, message: { segments: [], transfers: [{ handle, ...transfer }] } });
    const got = this.receive(to);
    const d = got[got.length - 1];
    assert.ok(d.kind === 'message', `expected a message, got ${d.kind}`);
    return d.handles[0].name!;
  }

  receive(peer: number, max = 64): Delivery[] {
    return this.ok<{ deliveries: Delivery[] }>({ op: 'receive', peer, max, timeoutMs: 0 }).deliveries;
  }

  completion(ticket: number): Completion | undefined {
    return this.completions.find((c) => c.ticket === ticket);
  }
}

/**
 * Temporary directories for one describe block: call it inside `describe`; each call of the
 * returned function makes a fresh directory, and all of them are removed after the block.
 */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-${prefix}-`));
    dirs.push(d);
    return d;
  };
}
