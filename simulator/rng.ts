// One seeded PRNG for a whole simulation (no Math.random in simulator/):
// splitmix64 expands the seed, xoshiro128** produces the stream. 32-bit state
// words keep it on plain numbers (no BigInt on the hot path).

/** Parse a seed given as decimal or 0x-hex text (or a number) into a 64-bit BigInt. */
export function parseSeed(seed: string | number | bigint): bigint {
  if (typeof seed === 'bigint') return BigInt.asUintN(64, seed);
  if (typeof seed === 'number') return BigInt.asUintN(64, BigInt(Math.trunc(seed)));
  const text = seed.trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text))
    throw new RangeError(`seed must be decimal or 0x-hex, got ${JSON.stringify(seed)}`);
  return BigInt.asUintN(64, BigInt(text));
}

/** The seed as the replay command prints it. */
export function formatSeed(seed: bigint): string {
  return `0x${seed.toString(16)}`;
}

function splitmix64(state: { x: bigint }): bigint {
  state.x = BigInt.asUintN(64, state.x + 0x9e3779b97f4a7c15n);
  let z = state.x;
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return z ^ (z >> 31n);
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string | number | bigint) {
    const st = { x: parseSeed(seed) };
    const w1 = splitmix64(st);
    const w2 = splitmix64(st);
    this.a = Number(w1 & 0xffffffffn) | 0;
    this.b = Number(w1 >> 32n) | 0;
    this.c = Number(w2 & 0xffffffffn) | 0;
    this.d = Number(w2 >> 32n) | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // xoshiro's one forbidden state
  }

  /** The next 32 random bits as an unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * A positive jitter factor around 1 (log-normal-ish, clipped): real costs are never
   * constant, and a small spread keeps simultaneous events from lining up forever.
   */
  jitter(spread: number): number {
    if (spread <= 0) return 1;
    // Sum of two uniforms: a cheap bell shape in [-1, 1). (next() twice, inlined: the hot path.)
    let a = this.a,
      b = this.b,
      c = this.c,
      d = this.d;
    const r1 = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    let t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    const r2 = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    const u = r1 / 4294967296 + r2 / 4294967296 - 1;
    return Math.exp(u * spread);
  }

  /** A new generator for a sub-stream (e.g. one per sweep point), derived deterministically. */
  fork(): Rng {
    const hi = BigInt(this.nextUint32());
    const lo = BigInt(this.nextUint32());
    return new Rng((hi << 32n) | lo);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
