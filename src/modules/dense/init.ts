/**
 * Deterministic parameter initialisation: a small seeded PRNG (no `Math.random`) and the
 * PyTorch `nn.Linear` default init, so the same seed always gives the same parameters on
 * every backend, rank and run.
 *
 * @example
 * const rng = new SeededRandom(deriveSeed(42, 'bottom.layers.0.weight'));
 * const w = uniformArray(13 * 512, 1 / Math.sqrt(13), rng); // U(-b, b), Float32Array
 */
import { fmix32 } from '../../tensors/counter-prng.ts';

/**
 * Mulberry32: a tiny 32-bit PRNG with a full 2^32 period; good enough for initialisation
 * and synthetic data, and bit-identical everywhere (integer arithmetic only).
 *
 * @example
 * const rng = new SeededRandom(7);
 * rng.next();          // a number in [0, 1)
 * rng.uniform(-1, 1);  // a number in [-1, 1)
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed))
      throw new Error(`SeededRandom: seed must be a finite number, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/**
 * A seed for a named sub-stream of `seed` (FNV-1a of the label, mixed with the seed), so
 * each parameter's init does not depend on how many numbers other parameters drew.
 *
 * @example
 * deriveSeed(42, 'top') !== deriveSeed(42, 'bottom'); // true
 */
export function deriveSeed(seed: number, label: string | number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const text = String(label);
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h); // final avalanche
}

/**
 * `size` numbers drawn from U(-bound, bound) as float32.
 *
 * @example
 * uniformArray(4, 0.5, new SeededRandom(1)); // Float32Array(4) in [-0.5, 0.5)
 */
export function uniformArray(size: number, bound: number, rng: SeededRandom): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}
