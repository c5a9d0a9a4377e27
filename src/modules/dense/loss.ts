/**
 * Binary cross-entropy on logits, numerically stable (PyTorch's `BCEWithLogitsLoss`):
 * `mean(max(x, 0) − x·y + log(1 + e^{−|x|}))`, finite for any finite logit. With
 * `--dense-math blas` it runs as one kernel (terms and mean in float64, rounded once; see
 * `src/runtime/dense-math/bce-kernels.ts`), elsewhere as tfjs ops in float32.
 *
 * @example
 * const loss = bceWithLogits(logits, labels); // logits, labels: [B, 1] → scalar
 */
import * as tf from '@tensorflow/tfjs';
import { BCE_KERNEL, bceKernelsActive } from '../../runtime/dense-math/bce-kernels.ts';

/**
 * Mean binary cross-entropy of `logits` against `labels` (same shape, labels in [0, 1]).
 *
 * @example
 * bceWithLogits(tf.tensor2d([[0]]), tf.tensor2d([[1]])).dataSync()[0]; // ≈ 0.6931 (log 2)
 */
export function bceWithLogits(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  if (
    logits.shape.length !== labels.shape.length ||
    logits.shape.some((d, i) => d !== labels.shape[i])
  ) {
    throw new Error(
      `bceWithLogits: logits [${logits.shape}] and labels [${labels.shape}] must have the same shape`,
    );
  }
  if (bceKernelsActive() && logits.dtype === 'float32' && labels.dtype === 'float32') {
    // --dense-math blas: one kernel and one tape node (src/runtime/dense-math/bce-kernels.ts)
    return tf.engine().runKernel(BCE_KERNEL, { logits, labels }, {}) as tf.Scalar;
  }
  return tf.tidy(() => {
    const perExample = tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, labels)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    );
    return tf.mean(perExample);
  });
}
