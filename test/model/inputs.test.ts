// What only the model's own API and state can show, so these stay model tests while every
// other scenario lives in the conformance case corpus (conformance/cases/, run on the model by
// cases.test.ts and on every backend and driver by the suite): JavaScript values the JSON of
// the driver protocol cannot carry (sparse arrays, getters, values that are no operation
// object), and the ends of counters no run reaches in reasonable time, set in the state directly.
import { strict as assert } from 'assert';
import type { Operation } from '../../spec/types';
import { initialState, step } from '../../model';
import { World, expectError, expectPending, expectUnchanged, text } from '../helpers';

/** p1 owns node `node`; p2 holds `to` (send, grant) to it. */
function pair(limits = {}) {
  const w = new World(limits);
  const owner = w.peer(100);
  const node = w.node(owner);
  const {
    peer: other,
    handles: [to],
  } = w.attach([{ from: owner, handle: node }], 200);
  return { w, owner, node, other, to };
}

describe('inputs JSON cannot carry: read once, whatever a caller passes', () => {
  const base = pair();
  const attempt = (op: Operation) => step(base.w.state, op);

  it('a rights list must hold only send and grant: a hole in a sparse array is invalid, not a right [MINT-1, SEND-4]', () => {
    const sparse = ['send'] as ('send' | 'grant')[];
    sparse[2] = 'send'; // index 1 is a hole
    base.w.fails({ op: 'mint', peer: base.other, handle: base.to, rights: sparse }, 'INVALID_ARGUMENT');
    base.w.fails(
      {
        op: 'send',
        peer: base.other,
        handle: base.to,
        message: { segments: [], transfers: [{ handle: base.to, rights: sparse }] },
      },
      'INVALID_ARGUMENT',
    );
  });

  it('lists with holes fail INVALID_ARGUMENT and change nothing: segments, transfers, multicast destinations, bootstrap grants [ERR-1, SEND-2, MCAST-1, BUS-3]', () => {
    const holey = <T>(...xs: T[]): T[] => {
      const a = [...xs, xs[0]];
      delete a[0];
      return a;
    };
    const ops: Operation[] = [
      { op: 'send', peer: base.other, handle: base.to, message: { segments: holey('QQ==') } },
      {
        op: 'send',
        peer: base.other,
        handle: base.to,
        message: { segments: [], transfers: holey({ handle: base.to }) },
      },
      { op: 'multicast', peer: base.other, handles: holey(base.to), message: { segments: [] } },
      {
        op: 'attach',
        credentials: { uid: 1, gid: 1, pid: 1 },
        bootstrap: holey({ fromPeer: base.owner, handle: base.node }),
      },
      { op: 'mint', peer: base.other, handle: base.to, rights: holey<'send'>('send') },
    ];
    for (const op of ops) {
      const out = attempt(op);
      expectError(out.result, 'INVALID_ARGUMENT', op.op);
      expectUnchanged(base.w.state, out.state);
    }
  });

  it('a getter is read once: a transfer list that changes between reads cannot pass the duplicate check and then act twice [ATOMIC-1, SEND-5]', () => {
    let reads = 0;
    const message = {
      segments: [],
      get transfers() {
        reads++;
        return reads === 1 ? [{ handle: base.to }, { handle: base.to }] : [{ handle: base.to }];
      },
    };
    const out = attempt({ op: 'send', peer: base.other, handle: base.to, message } as never);
    expectError(out.result, 'INVALID_ARGUMENT');
    assert.equal(reads, 1);
  });

  it('anything that is no operation at all fails INVALID_ARGUMENT, never an exception [ERR-1]', () => {
    const s = initialState();
    for (const op of [null, undefined, 7, 'send', [], {}, { op: 'toString' }, { op: 'send', peer: 1 }])
      expectError(step(s, op as never).result, 'INVALID_ARGUMENT', JSON.stringify(op));
  });
});

describe('the ends of counters, set in the state directly', () => {
  it('a table out of names fails TABLE_FULL, counting the handles in flight to it, instead of wrapping [BOUND-3, HANDLE-2]', () => {
    const { w, owner, node, other, to } = pair();
    w.state.peers[owner].nextName = 2 ** 53 - 2; // two names left: 2^53-2 and 2^53-1
    const own = w.node(other);
    w.ok({ op: 'send', peer: other, handle: to, message: { segments: [], transfers: [{ handle: own }] } });
    w.ok({ op: 'mint', peer: owner, handle: node, rights: [] });
    w.fails({ op: 'mint', peer: owner, handle: node, rights: [] }, 'TABLE_FULL'); // the last name is the one in flight's
    w.fails({ op: 'call', peer: other, handle: to, message: text('q') }, 'TABLE_FULL');
    const got = w.receive(owner);
    assert.equal(got[0].kind === 'message' && got[0].handles[0].name, Number.MAX_SAFE_INTEGER);
    w.fails({ op: 'createNode', peer: owner }, 'TABLE_FULL');
  });

  it('peer ids and tickets do not wrap either: attach fails TABLE_FULL, a call TOO_MANY_PENDING [BOUND-3, PEER-1, TIME-2]', () => {
    const { w, other, to } = pair();
    w.state.nextPeer = 2 ** 53;
    w.fails({ op: 'attach', credentials: { uid: 1, gid: 1, pid: 1 } }, 'TABLE_FULL');
    // Straight through step: the invariant monitor keeps its tickets in a table sized for real runs.
    const s = { ...w.state, nextTicket: Number.MAX_SAFE_INTEGER };
    const last = step(s, { op: 'call', peer: other, handle: to, message: text('last') });
    assert.equal(expectPending(last.result), 2 ** 53 - 1);
    const none = step(last.state, { op: 'call', peer: other, handle: to, message: text('none left') });
    expectError(none.result, 'TOO_MANY_PENDING');
    expectUnchanged(last.state, none.state);
  });
});
