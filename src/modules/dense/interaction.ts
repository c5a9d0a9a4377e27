/**
 * DLRM's pairwise dot interaction (TorchRec `InteractionArch`): stack the dense embedding
 * and the F sparse embeddings as F+1 vectors of width D, take every dot product `⟨vᵢ, vⱼ⟩`
 * with `i < j` (row-major upper triangle), and output `concat(dense, dots)`:
 * `[B, D + (F+1)F/2]`.
 *
 * Implemented as one custom-gradient op over typed arrays (`pairwise-dots.ts`): on wasm,
 * tfjs's batched `V Vᵀ` matMul and its gradient take a slow non-XNNPACK path, and
 * `tf.gather` has no gradient there. Dots accumulate in float64 and round once.
 *
 * On the wasm backend the loops read their inputs and write their outputs in place in the
 * wasm heap (`tensor-floats.ts`): no `dataSync` copy out, no copy of a new array back in.
 * Elsewhere (the cpu backend, or wasm internals that no longer match) they run on copies.
 * In the heap, the forward of width 16 and the backward of widths that are multiples of 8
 * run as WebAssembly SIMD loops (`pairwise-dots-wasm.ts`) with the same bits as the
 * JavaScript ones.
 *
 * @example
 * const inter = new DotInteraction({ numSparse: 8, dim: 16 });
 * inter.outFeatures;                                   // 16 + 36 = 52
 * inter.forward(dense, pooled).shape;                  // dense [B,16], pooled [B,128] → [B, 52]
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../module.ts';
import { pairCount, pairwiseDotsBackward, pairwiseDotsForward } from './pairwise-dots.ts';
import { wasmDotsBackward, wasmDotsForward } from './pairwise-dots-wasm.ts';
import { identityAliases } from '../../runtime/tfjs-backend.ts';
import { tensorFloats } from './tensor-floats.ts';

export interface DotInteractionOptions {
  /** Number of sparse features F. */
  numSparse: number;
  /** Embedding width D (the dense embedding has the same width). */
  dim: number;
}

/**
 * Pairwise dot interaction of one dense and F sparse embeddings.
 *
 * @example
 * const inter = new DotInteraction({ numSparse: 2, dim: 4 });
 * inter.forward(tf.ones([3, 4]), tf.ones([3, 8])).shape; // [3, 4 + 3]
 */
export class DotInteraction extends Module {
  readonly numSparse: number;
  readonly dim: number;
  /** `D + (F+1)F/2`. */
  readonly outFeatures: number;
  /** The custom-gradient op: `(dense, sparse) → [B, outFeatures]`. */
  private readonly op: (dense: tf.Tensor2D, sparse: tf.Tensor2D) => tf.Tensor2D;

  constructor(options: DotInteractionOptions) {
    super();
    const { numSparse, dim } = options;
    if (!Number.isInteger(numSparse) || numSparse < 0)
      throw new Error(`DotInteraction: numSparse must be an integer >= 0, got ${numSparse}`);
    if (!Number.isInteger(dim) || dim <= 0)
      throw new Error(`DotInteraction: dim must be a positive integer, got ${dim}`);
    this.numSparse = numSparse;
    this.dim = dim;
    this.outFeatures = dim + pairCount(numSparse);
    const width = this.outFeatures;
    this.op = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [dense, sparse, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
      const batch = dense.shape[0];
      // The backward pass reads both inputs again. In place, the tape keeps them (its clones
      // share their buffers when Identity aliases); else the copies taken now are kept.
      const inPlace = tensorFloats.inPlace([dense, sparse]) && identityAliases();
      const kept = inPlace ? null : [tensorFloats.copy(dense), tensorFloats.copy(sparse)];
      if (inPlace) save([dense, sparse]);
      const [value] = tensorFloats.compute(
        kept ?? [dense, sparse],
        [[batch, width]],
        ([d, s], [out], memory) => {
          // In the wasm heap, width 16 runs the SIMD loop (same bits).
          const simd = memory ? wasmDotsForward(memory) : null;
          if (!simd?.(d, s, batch, numSparse, dim, out))
            pairwiseDotsForward(d, s, batch, numSparse, dim, out);
        },
      );
      return {
        value: value as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tensorFloats.compute(
            [...(kept ?? saved), dy],
            [
              [batch, dim],
              [batch, numSparse * dim],
            ],
            ([d, s, g], [dDense, dSparse], memory) => {
              // In the wasm heap, widths that are multiples of 8 run the SIMD loop (same bits).
              const simd = memory ? wasmDotsBackward(memory) : null;
              if (!simd?.(d, s, g, batch, numSparse, dim, dDense, dSparse))
                pairwiseDotsBackward(d, s, g, batch, numSparse, dim, dDense, dSparse);
            },
          ),
      };
    }) as (dense: tf.Tensor2D, sparse: tf.Tensor2D) => tf.Tensor2D;
  }

  /** `dense: [B, D]`, `sparse: [B, F·D]` (F blocks of width D) → `[B, D + (F+1)F/2]`. */
  forward(dense: tf.Tensor2D, sparse: tf.Tensor2D): tf.Tensor2D {
    const { dim, numSparse } = this;
    if (dense.rank !== 2 || dense.shape[1] !== dim) {
      throw new Error(
        `DotInteraction: dense embedding must be [batch, ${dim}], got [${dense.shape}]`,
      );
    }
    const batch = dense.shape[0];
    if (sparse.rank !== 2 || sparse.shape[0] !== batch || sparse.shape[1] !== numSparse * dim) {
      throw new Error(
        `DotInteraction: sparse embeddings must be [${batch}, ${numSparse}·${dim}=${numSparse * dim}], got [${sparse.shape}]`,
      );
    }
    if (numSparse === 0) return dense;
    return this.op(dense, sparse);
  }

  /** Nothing to free (kept for symmetry with the other dense modules). */
  dispose(): void {}
}
