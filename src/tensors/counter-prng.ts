/**
 * Counter-based randomness: a 32-bit hash of a tuple of integers seeds a tiny sequential
 * generator, so the n-th item of a stream depends only on `(seed, stream, n)` and can be
 * produced in any order, on any rank, for any batch size.
 *
 * @example
 * const rng = new ExampleRng(hashInts([seed, 0, n]));
 * const u = rng.uniform();   // [0, 1)
 * const g = rng.gaussian();  // N(0, 1)
 */

/**
 * A well-mixed 32-bit hash of integers (each may be any safe integer, negative or ≥ 2^32).
 *
 * @example
 * hashInts([42, 7]) === hashInts([42, 7]); // true
 */
export function hashInts(parts: readonly number[]): number {
  let h = 0x9e3779b9 ^ parts.length;
  for (const x of parts) {
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    h = mixInto(h, lo);
    h = mixInto(h, hi);
  }
  return fmix32(h);
}

/**
 * A 32-bit hash of a string's UTF-16 code units.
 *
 * @example
 * hashString('68fd1e64') % rows; // a row id
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  for (let i = 0; i < s.length; i++) h = mixInto(h, s.charCodeAt(i));
  return fmix32(h);
}

/**
 * A fast hash of two 32-bit integers (for hot loops; `hashInts` for general tuples).
 *
 * @example
 * const state = hashPair(featureSeed, row);
 */
export function hashPair(a: number, b: number): number {
  return fmix32(mixInto(mixInto(0x2545f491, a | 0), b | 0));
}

/**
 * One step of the generator behind {@link ExampleRng}, as a pure function of a 32-bit
 * counter: `uniformAt(state + i·0x6d2b79f5)` is the i-th uniform in [0, 1) of a stream
 * seeded with `state`. Lets hot loops draw without allocating a generator.
 *
 * @example
 * for (let c = 0; c < dim; c++) e[c] = uniformAt((seed + Math.imul(c + 1, 0x6d2b79f5)) | 0);
 */
export function uniformAt(counter: number): number {
  let t = counter | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function mixInto(h: number, x: number): number {
  let k = Math.imul(x, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * murmur3's 32-bit finaliser: a cheap, well-mixed bijection on uint32 (also the embedding
 * and dense initialisers' hash).
 *
 * @example
 * fmix32(1); // a well-mixed uint32
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A small sequential generator (a Weyl sequence passed through an avalanche mix), seeded by
 * a 32-bit state from {@link hashInts}. Not cryptographic; plenty for synthetic data.
 *
 * @example
 * const rng = new ExampleRng(123);
 * rng.uniform();
 */
export class ExampleRng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    return uniformAt(this.state) * 4294967296;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in (0, 1): never 0, safe for logarithms. */
  uniformOpen(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** Integer uniform in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.uniform() * (max - min + 1));
  }

  /** Standard normal (Box–Muller, the second value of each pair is kept for the next call). */
  gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniformOpen()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}
