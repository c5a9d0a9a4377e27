/**
 * DLRM's pairwise dot interaction (TorchRec `InteractionArch`): stack the dense embedding
 * and the F sparse embeddings as F+1 vectors of width D, take every dot product `⟨vᵢ, vⱼ⟩`
 * with `i < j` (row-major upper triangle), and output `concat(dense, dots)`:
 * `[B, D + (F+1)F/2]`.
 *
 * Implemented as one batched matMul `V Vᵀ` followed by a constant 0/1 selection matMul that
 * picks the upper triangle. The selection is exact (each output is one product times 1 plus
 * zeros) and, unlike `tf.gather`, has a gradient that runs on wasm.
 *
 * @example
 * const inter = new DotInteraction({ numSparse: 8, dim: 16 });
 * inter.outFeatures;                                   // 16 + 36 = 52
 * inter.forward(dense, pooled).shape;                  // dense [B,16], pooled [B,128] → [B, 52]
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../module.ts';
import { installFastBatchMatMulGrad } from './batch-matmul-grad.ts';

export interface DotInteractionOptions {
  /** Number of sparse features F. */
  numSparse: number;
  /** Embedding width D (the dense embedding has the same width). */
  dim: number;
}

/** Pairs `(i, j)`, `i < j < n`, in row-major order (TorchRec's `triu_indices(n, n, 1)`). */
export function upperTrianglePairs(n: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  return pairs;
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
  /** Constant `[(F+1)², P]` 0/1 matrix selecting the upper triangle of `V Vᵀ` (not a parameter). */
  private readonly selection: tf.Tensor2D;

  constructor(options: DotInteractionOptions) {
    super();
    const { numSparse, dim } = options;
    if (!Number.isInteger(numSparse) || numSparse < 0) throw new Error(`DotInteraction: numSparse must be an integer >= 0, got ${numSparse}`);
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`DotInteraction: dim must be a positive integer, got ${dim}`);
    installFastBatchMatMulGrad();
    this.numSparse = numSparse;
    this.dim = dim;
    const n = numSparse + 1;
    const pairs = upperTrianglePairs(n);
    this.outFeatures = dim + pairs.length;
    const sel = new Float32Array(n * n * pairs.length);
    pairs.forEach(([i, j], p) => {
      sel[(i * n + j) * pairs.length + p] = 1;
    });
    this.selection = tf.keep(tf.tensor2d(sel, [n * n, pairs.length]));
  }

  /** `dense: [B, D]`, `sparse: [B, F·D]` (F blocks of width D) → `[B, D + (F+1)F/2]`. */
  forward(dense: tf.Tensor2D, sparse: tf.Tensor2D): tf.Tensor2D {
    const { dim, numSparse } = this;
    if (dense.rank !== 2 || dense.shape[1] !== dim) {
      throw new Error(`DotInteraction: dense embedding must be [batch, ${dim}], got [${dense.shape}]`);
    }
    const batch = dense.shape[0];
    if (sparse.rank !== 2 || sparse.shape[0] !== batch || sparse.shape[1] !== numSparse * dim) {
      throw new Error(
        `DotInteraction: sparse embeddings must be [${batch}, ${numSparse}·${dim}=${numSparse * dim}], got [${sparse.shape}]`,
      );
    }
    if (numSparse === 0) return dense;
    const n = numSparse + 1;
    const stacked = tf.reshape(tf.concat([dense, sparse], 1), [batch, n, dim]);
    // explicit transpose: wasm's transposed matMul is much slower than a transpose + plain matMul
    const gram = tf.matMul(stacked, tf.transpose(stacked, [0, 2, 1]));
    const dots = tf.matMul(tf.reshape(gram, [batch, n * n]) as tf.Tensor2D, this.selection);
    return tf.concat([dense, dots], 1) as tf.Tensor2D;
  }

  /** Free the constant selection matrix. */
  dispose(): void {
    this.selection.dispose();
  }
}
