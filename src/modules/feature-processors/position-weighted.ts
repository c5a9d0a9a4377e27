/**
 * `PositionWeightedModule` (TorchRec's): one learned weight per position of an id inside its
 * bag, up to `maxLength` positions. The i-th id of every bag gets weight `param[i]`;
 * `param` starts at 1 (so an untrained module is the unweighted lookup).
 *
 * Gradient: `dLoss/dparam[p] = Σ over ids at position p of dLoss/dWeight(id)`, where the
 * embedding backward supplies `dLoss/dWeight(id) = ⟨gradPooled[bag], row(id)⟩` (÷ bag size
 * for mean pooling).
 *
 * A bag longer than `maxLength` is an error naming the feature, the bag and its length
 * (TorchRec would fail on the out-of-range gather too).
 *
 * @example
 * const pw = new PositionWeightedModule({ maxLength: 4 });
 * const ebc = new EmbeddingBagCollection({ tables, seed: 1, featureProcessors: { hist: pw } });
 */
import { Module } from '../module.ts';
import type { FeatureProcessor } from './feature-processor.ts';

export interface PositionWeightedOptions {
  /** Number of positions with a weight (longest bag allowed). */
  maxLength: number;
  /** Initial weights (default: all 1), length `maxLength`. */
  initial?: Float32Array;
}

export class PositionWeightedModule extends Module implements FeatureProcessor {
  readonly maxLength: number;
  readonly param: Float32Array;
  readonly grad: Float64Array;

  constructor(opts: PositionWeightedOptions) {
    super();
    if (!Number.isInteger(opts.maxLength) || opts.maxLength <= 0)
      throw new Error(
        `PositionWeightedModule: maxLength must be a positive integer, got ${opts.maxLength}`,
      );
    if (opts.initial && opts.initial.length !== opts.maxLength) {
      throw new Error(
        `PositionWeightedModule: initial has ${opts.initial.length} weights, expected maxLength = ${opts.maxLength}`,
      );
    }
    this.maxLength = opts.maxLength;
    this.param = opts.initial ? opts.initial.slice() : new Float32Array(opts.maxLength).fill(1);
    this.grad = new Float64Array(opts.maxLength);
  }

  computeWeights(
    lengths: Int32Array,
    lengthsStart: number,
    nBags: number,
    out: Float32Array,
    outOffset: number,
    feature: string,
  ): void {
    let o = outOffset;
    for (let b = 0; b < nBags; b++) {
      const n = lengths[lengthsStart + b];
      if (n > this.maxLength) {
        throw new RangeError(
          `PositionWeightedModule for feature '${feature}': bag ${b} has ${n} ids, more than maxLength ${this.maxLength}`,
        );
      }
      for (let i = 0; i < n; i++) out[o++] = this.param[i];
    }
  }

  accumulateGrad(
    lengths: Int32Array,
    lengthsStart: number,
    nBags: number,
    weightGrad: Float32Array,
    gradOffset: number,
  ): void {
    let o = gradOffset;
    for (let b = 0; b < nBags; b++) {
      const n = Math.min(lengths[lengthsStart + b], this.maxLength);
      for (let i = 0; i < n; i++) this.grad[i] += weightGrad[o++];
    }
  }

  zeroGrad(): void {
    this.grad.fill(0);
  }

  weightAt(position: number): number {
    return this.param[position];
  }

  accumulateAt(position: number, grad: number): void {
    this.grad[position] += grad;
  }
}
