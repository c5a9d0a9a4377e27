/**
 * Zipf-like id sampling over a table of `rows` rows: popularity rank `k` (1 = most popular)
 * has probability ≈ ∝ k^-s. Ranks are drawn by inverting the CDF of a bounded continuous
 * power law on [1, rows + 1) and flooring (O(1) per draw, no table of size `rows`), then
 * mapped to row ids by a seeded bijection `row = (rank·a + c) mod rows`, so popular rows are
 * spread over the table (row-wise sharding sees a realistic, not a pathological, skew).
 *
 * @example
 * const zipf = new ZipfSampler(100_000, 1.05, 7);
 * const row = zipf.sample(rng.uniform()); // in [0, 100000)
 */
import { hashInts } from '../tensors/counter-prng.ts';

export class ZipfSampler {
  private readonly a: number;
  private readonly c: number;
  private readonly top: number;

  /**
   * @param rows table size (≥ 1)
   * @param exponent `s ≥ 0`; 0 is uniform, ~1 is classic Zipf, larger is more skewed
   * @param scrambleSeed seeds the rank → row bijection
   */
  constructor(
    readonly rows: number,
    readonly exponent: number,
    scrambleSeed: number,
  ) {
    if (!Number.isInteger(rows) || rows < 1 || rows > 2 ** 31)
      throw new RangeError(`ZipfSampler: rows must be an integer in [1, 2^31]; got ${rows}`);
    if (!(exponent >= 0) || !Number.isFinite(exponent))
      throw new RangeError(`ZipfSampler: exponent must be a finite number ≥ 0; got ${exponent}`);
    this.top = exponent === 1 ? Math.log(rows + 1) : (rows + 1) ** (1 - exponent) - 1;
    let a = rows === 1 ? 1 : 1 + (hashInts([scrambleSeed, rows, 1]) % (rows - 1));
    while (gcd(a, rows) !== 1) a = (a % (rows - 1)) + 1;
    this.a = a;
    this.c = hashInts([scrambleSeed, rows, 2]) % rows;
  }

  /** Row id for a uniform `u` in [0, 1). */
  sample(u: number): number {
    const s = this.exponent;
    const x = s === 1 ? Math.exp(u * this.top) : (1 + u * this.top) ** (1 / (1 - s));
    const rank0 = Math.min(this.rows - 1, Math.max(0, Math.floor(x) - 1));
    return (mulMod(rank0, this.a, this.rows) + this.c) % this.rows;
  }

  /** Row id of popularity rank `rank0` (0 = most popular). */
  rowOfRank(rank0: number): number {
    return (mulMod(rank0, this.a, this.rows) + this.c) % this.rows;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** `(x · y) mod m` exactly for x, y < m ≤ 2^31 (splits y to stay below 2^53). */
function mulMod(x: number, y: number, m: number): number {
  const hi = Math.floor(y / 65536);
  const lo = y % 65536;
  return (((x * hi) % m) * 65536 + x * lo) % m;
}
