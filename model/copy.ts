// A plain copy of an operation (ATOMIC-1: arguments are read once), for step and for
// the copy a blocked send keeps of its operation (SEND-7).
/**
 * What structuredClone(op) gives, for an operation made of plain objects, dense arrays and
 * primitives (every operation a program builds), without its serialisation round trip.
 * Anything else (a class instance, a sparse array, a function, nesting deeper than any
 * operation has, such as a cycle) is left to structuredClone. Two differences the model
 * never sees (it reads only an operation's fields, and JSON drops named keys on arrays):
 * an object reached twice is copied twice, and named keys on an array are not copied.
 */
export function copyOp<T>(op: T): T {
  try {
    const copy = copyPlain(op, 0);
    return copy === NOT_PLAIN ? structuredClone(op) : (copy as T);
  } catch {
    // A function inside, a getter that throws: no operation of the spec, so INVALID_ARGUMENT (ERR-1).
    return UNREADABLE as T;
  }
}

const UNREADABLE = Object.freeze({ op: 'unreadable operation' });

const NOT_PLAIN = Symbol('not plain');
const MAX_DEPTH = 16;

function copyPlain(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return typeof v === 'function' || typeof v === 'symbol' ? NOT_PLAIN : v;
  if (depth > MAX_DEPTH) return NOT_PLAIN;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return NOT_PLAIN;
    const n = v.length;
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      if (!(i in v)) return NOT_PLAIN; // a hole
      const c = copyPlain(v[i], depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c;
    }
    return out;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k) || k === '__proto__') return NOT_PLAIN; // a key on Object.prototype; a key that assignment would not create
    const c = copyPlain((v as Record<string, unknown>)[k], depth + 1);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    out[k] = c;
  }
  return out;
}
