/**
 * Binary cross-entropy on logits, numerically stable (PyTorch's `BCEWithLogitsLoss`):
 * `mean(max(x, 0) − x·y + log(1 + e^{−|x|}))`, finite for any finite logit.
 *
 * @example
 * const loss = bceWithLogits(logits, labels); // logits, labels: [B, 1] → scalar
 */
import * as tf from '@tensorflow/tfjs';

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
  return tf.tidy(() => {
    const perExample = tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, labels)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    );
    return tf.mean(perExample);
  });
}
