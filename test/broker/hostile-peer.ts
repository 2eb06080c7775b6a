// A hostile peer process for the broker's isolation tests: it takes its seat like any peer,
// then does to its own segment (the only memory it shares with the broker) whatever the
// parent asks: random words anywhere in it, records that lie about their lengths and tags,
// torn writes, requests that are not operations or name what is not its own, floods, and
// half-written requests left for a SIGSTOP or SIGKILL. It reports how many inputs it tried
// and what the broker answered.
import { connectBroker } from '../../backends/broker';
import { ValueReader, ValueWriter } from '../../backends/broker/codec';
import { TAG, W, type SegmentLayout } from '../../backends/broker/layout';
import { isFrameError, RingReader, RingWriter } from '../../backends/broker/ring';
import { notify } from '../../native';

export type ToHostile =
  | { type: 'connect'; socketPath: string }
  | { type: 'attack'; kind: 'garbage' | 'lies' | 'flood' | 'torn'; seed: number; count: number; victim: number }
  | { type: 'call'; handle: number };

export type FromHostile =
  | { type: 'connected'; peer: number; handles: number[] }
  | { type: 'attacked'; tried: number; answers: Record<string, number>; expected: Record<string, number> }
  | { type: 'posted' };

const send = (m: FromHostile): void => void process.send!(m);

let i32: Int32Array;
let u8: Uint8Array;
let layout: SegmentLayout;

/** xorshift32: the attacks are reproducible from their seed. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const writer = () => new RingWriter(i32, u8, layout.requestOffsetBytes, layout.requestBytes, W.REQ_TAIL, W.REQ_HEAD);
const reader = () =>
  new RingReader(
    i32,
    u8,
    layout.completionOffsetBytes,
    layout.completionBytes,
    W.CPL_TAIL,
    W.CPL_HEAD,
    layout.completionBytes,
    [TAG.RESULT, TAG.COMPLETION, TAG.DISCARDED],
    true,
  );

function ring(): void {
  Atomics.add(i32, W.BELL, 1);
  notify(i32, W.BELL);
}

/** Waits (up to ms) until the broker has consumed everything published, as far as its head says. */
function settle(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until && Atomics.load(i32, W.REQ_HEAD) !== Atomics.load(i32, W.REQ_TAIL)) ring();
}

function randomBody(next: () => number): Buffer {
  const b = Buffer.alloc(1 + (next() % 256));
  for (let i = 0; i < b.length; i++) b[i] = next() & 0xff;
  return b;
}

/**
 * A valid request's encoding with one byte changed: of an operation that acts only on this peer
 * (a send through the handle it holds would legitimately reach the honest node's owner).
 */
function mutatedBody(next: () => number): Buffer {
  const enc = new ValueWriter();
  enc.write(next() % 2 === 0 ? { op: 'receive', max: 1 + (next() % 8) } : { op: 'createNode', acceptsHandles: false });
  const b = Buffer.from(enc.buf.subarray(0, enc.pos));
  b[next() % b.length] = next() & 0xff;
  return b;
}

/** Random words into random places of the segment, its header included, and a random published tail. */
function garbage(seed: number, count: number): number {
  const next = prng(seed);
  const words = i32.length;
  for (let k = 0; k < count; k++) {
    switch (next() % 7) {
      case 6: {
        // a well-framed request whose body is random bytes, or a valid one with a byte changed
        Atomics.store(i32, W.REQ_TAIL, Atomics.load(i32, W.REQ_HEAD));
        const body = next() % 2 === 0 ? randomBody(next) : mutatedBody(next);
        const w = writer();
        if (w.write(TAG.REQUEST, next(), next(), body, 0, body.length, false) >= 0) w.publish();
        break;
      }
      case 0: // random words in the request ring, then a random tail
        for (let j = next() % 64; j >= 0; j--)
          i32[(layout.requestOffsetBytes >> 2) + (next() % (layout.requestBytes >> 2))] = next();
        Atomics.store(i32, W.REQ_TAIL, next() | 0);
        break;
      case 1: {
        // a record header that lies: a huge, tiny or unaligned length, or an unknown tag
        const w = writer();
        const at = (layout.requestOffsetBytes + (Atomics.load(i32, W.REQ_TAIL) & (layout.requestBytes - 1))) >> 2;
        const lies = [0xffffffff, 3, 17, layout.requestBytes * 2, 16 + (next() % 4096)];
        i32[at] = lies[next() % lies.length];
        i32[at + 1] = next() % 3 === 0 ? next() : TAG.REQUEST;
        void w;
        Atomics.store(i32, W.REQ_TAIL, (Atomics.load(i32, W.REQ_TAIL) + 8 * (1 + (next() % 512))) | 0);
        break;
      }
      case 2: // any word of the header: the broker's own, the layout, the bell, the sleepers
        i32[next() % 128] = next();
        break;
      case 3: // the completion ring: only this peer reads it
        i32[(layout.completionOffsetBytes >> 2) + (next() % (layout.completionBytes >> 2))] = next();
        break;
      case 4: // the tail moved backwards
        Atomics.store(i32, W.REQ_TAIL, (Atomics.load(i32, W.REQ_TAIL) - 8 * (1 + (next() % 64))) | 0);
        break;
      default: // anywhere at all
        i32[next() % words] = next();
    }
    ring();
    if (k % 16 === 15) settle(2);
  }
  return count;
}

/**
 * Requests well framed but each a lie of its own: not an operation, an owner's operation, a
 * value the decoder must refuse, a name this peer does not hold, another peer's id. Each must
 * get its answer, and the answer the spec gives.
 */
function lies(
  seed: number,
  count: number,
  victim: number,
): { tried: number; answers: Record<string, number>; expected: Record<string, number> } {
  const r = reader();
  const next = prng(seed);
  const enc = new ValueWriter();
  const decoder = new ValueReader();
  const raw = (bytes: number[]): Buffer => Buffer.from(bytes);
  const encode = (v: unknown): Buffer => {
    enc.reset();
    enc.write(v);
    return Buffer.from(enc.buf.subarray(0, enc.pos));
  };
  const kinds: { expect: string; body: () => Buffer }[] = [
    { expect: 'INVALID_ARGUMENT', body: () => encode({ op: 'attach', credentials: { uid: 0, gid: 0, pid: 1 } }) },
    { expect: 'INVALID_ARGUMENT', body: () => encode({ op: 'tick', ms: 1_000_000 }) },
    { expect: 'INVALID_ARGUMENT', body: () => encode({ op: 'no such operation' }) },
    { expect: 'INVALID_ARGUMENT', body: () => encode([1, 2, 3]) },
    { expect: 'INVALID_ARGUMENT', body: () => raw([7, 0xff, 0xff, 0xff, 0xff]) }, // an array of 2^32-1 items in 5 bytes
    { expect: 'INVALID_ARGUMENT', body: () => raw([5, 0xff, 0xff, 0xff, 0x7f, 65]) }, // a string longer than the record
    {
      expect: 'INVALID_ARGUMENT',
      body: () => raw(Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? 7 : i % 5 === 1 ? 1 : 0))),
    }, // nesting
    { expect: 'INVALID_ARGUMENT', body: () => raw([99]) },
    { expect: 'INVALID_ARGUMENT', body: () => encode({ op: { ['__proto__']: { polluted: true } } }) },
    {
      expect: 'BAD_HANDLE',
      body: () => encode({ op: 'send', handle: 1 + (next() % 1000) + 1000, message: { segments: [] } }),
    },
    { expect: 'BAD_HANDLE', body: () => encode({ op: 'revoke', peer: victim, handle: 1 + (next() % 1000) + 1000 }) },
    { expect: 'BAD_HANDLE', body: () => encode({ op: 'destroyNode', peer: victim, handle: 5000 + (next() % 1000) }) },
    {
      expect: 'BAD_HANDLE',
      body: () => encode({ op: 'reply', handle: 1 + (next() % 1000) + 1000, message: { segments: [] } }),
    },
  ];
  const expected: Record<string, number> = {};
  const byId = new Map<number, string>();
  let tried = 0;
  const w = writer();
  let answered = 0;
  const answers: Record<string, number> = {};
  const take = (): void => {
    if (!r.poll()) return;
    for (let rec = r.next(); rec !== null; rec = r.next()) {
      if (isFrameError(rec)) {
        answers['frame error in the completion ring'] = (answers['frame error in the completion ring'] ?? 0) + 1;
        continue;
      }
      if (rec.tag !== TAG.RESULT) continue;
      const want = byId.get(rec.id);
      byId.delete(rec.id);
      answered++;
      // The answer, decoded as an honest peer decodes it.
      const v = decoder.read(rec.body, rec.bodyStart, rec.bodyStart + rec.bodyBytes) as {
        ok?: boolean;
        error?: string;
      };
      const code: string =
        want !== undefined && v.ok === false && v.error === want ? want : `${JSON.stringify(v)} (expected ${want})`;
      answers[code] = (answers[code] ?? 0) + 1;
    }
    r.release();
  };
  for (let k = 0; k < count; k++) {
    const kind = kinds[next() % kinds.length];
    const body = kind.body();
    const id = k + 1;
    while (w.write(TAG.REQUEST, id, 0, body, 0, body.length, false) < 0) {
      take();
      ring();
    }
    w.publish();
    ring();
    byId.set(id, kind.expect);
    expected[kind.expect] = (expected[kind.expect] ?? 0) + 1;
    tried++;
    take();
  }
  const until = performance.now() + 10_000;
  while (answered < tried && performance.now() < until) {
    take();
    ring();
  }
  return { tried, answers, expected };
}

/** Requests as fast as the ring takes them, never reading an answer: the broker owes, and stops taking. */
function flood(count: number): number {
  const w = writer();
  const enc = new ValueWriter();
  enc.write({ op: 'receive', max: 64 });
  let posted = 0;
  const until = performance.now() + 2000;
  while (posted < count && performance.now() < until) {
    if (w.write(TAG.REQUEST, posted + 1, 0, enc.buf, 0, enc.pos, false) < 0) {
      w.publish();
      ring();
      continue;
    }
    posted++;
    if (posted % 32 === 0) {
      w.publish();
      ring();
    }
  }
  w.publish();
  ring();
  return posted;
}

/** Half a request published: a header saying more than was written, the rest never comes. */
function torn(): number {
  const at = (layout.requestOffsetBytes + (Atomics.load(i32, W.REQ_TAIL) & (layout.requestBytes - 1))) >> 2;
  i32[at] = 16 + 64;
  i32[at + 1] = TAG.REQUEST;
  i32[at + 2] = 1;
  i32[at + 4] = 0x08080808; // an object claiming 0x08080808 fields, and nothing after
  Atomics.store(i32, W.REQ_TAIL, (Atomics.load(i32, W.REQ_TAIL) + 80) | 0);
  ring();
  return 1;
}

process.on('message', (m: ToHostile) => {
  void (async () => {
    switch (m.type) {
      case 'connect': {
        const p = await connectBroker(m.socketPath, { spinUs: 0 });
        i32 = new Int32Array(p.sharedBuffer);
        u8 = new Uint8Array(p.sharedBuffer);
        layout = p.layout;
        send({ type: 'connected', peer: p.peer, handles: p.bootstrap });
        return;
      }
      case 'attack': {
        if (m.kind === 'lies') return send({ type: 'attacked', ...lies(m.seed, m.count, m.victim) });
        const tried = m.kind === 'garbage' ? garbage(m.seed, m.count) : m.kind === 'flood' ? flood(m.count) : torn();
        return send({ type: 'attacked', tried, answers: {}, expected: {} });
      }
      case 'call': {
        // A call through a handle it was given, then nothing: the parent kills it mid-request.
        const w = writer();
        const enc = new ValueWriter();
        enc.write({
          op: 'call',
          handle: m.handle,
          message: { segments: [Buffer.from('from a process about to die')] },
        });
        w.write(TAG.REQUEST, 1, 0, enc.buf, 0, enc.pos, false);
        w.publish();
        ring();
        return send({ type: 'posted' });
      }
    }
  })();
});
process.on('disconnect', () => process.exit(0));
