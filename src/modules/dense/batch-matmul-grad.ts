/**
 * A `BatchMatMul` gradient that uses only plain (non-transposed) matMuls plus explicit
 * `tf.transpose`s. The result is exact (the same products and sums), but on the `wasm`
 * backend a transposed-operand matMul is 15–30× slower than a plain one (docs/design.md "Numerics"), and
 * tfjs's own gradient uses transposed matMuls for every case, so registering this one made
 * an MLP train step ~9× faster.
 *
 * When the registered `BatchMatMul` kernel reads transposed operands in place (the OpenBLAS
 * kernels of src/runtime/dense-math, see docs/dense-math.md), the gradient passes transpose
 * flags instead: no explicit transpose at all.
 *
 * Unlike tfjs's default gradient, this one also handles broadcast batch dimensions (the
 * gradient is summed over the dimensions an input was broadcast along).
 *
 * @example
 * import * as tf from '@tensorflow/tfjs';
 * installFastBatchMatMulGrad();          // once, anywhere; repeated calls are no-ops
 * const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b).sum())([a, b]);
 */
import * as tf from '@tensorflow/tfjs';
import { matMulTransposesAreFree } from './fused-linear.ts';
import { markedGradient } from './marked-gradient.ts';

const KERNEL = 'BatchMatMul';

/** Swap the last two axes (a plain matrix transpose for rank 2). */
function transposeLastTwo(x: tf.Tensor): tf.Tensor {
  const rank = x.rank;
  if (rank < 2) throw new Error(`BatchMatMul gradient: expected rank >= 2, got shape [${x.shape}]`);
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return tf.transpose(x, perm);
}

/**
 * Sum `grad` down to `shape`: over extra leading axes and over axes where `shape` has 1
 * but `grad` does not (batch broadcasting).
 */
function reduceToShape(grad: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  const summed = axes.length > 0 ? tf.sum(grad, axes) : grad;
  return tf.reshape(summed, [...shape]);
}

/** `dA`, `dB` of `C = op(A) op(B)` as matMuls with transpose flags (no explicit transposes). */
function transposeFlagGrads(
  a: tf.Tensor,
  b: tf.Tensor,
  dy: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): [() => tf.Tensor, () => tf.Tensor] {
  const mm = tf.matMul;
  if (!transposeA && !transposeB) return [() => mm(dy, b, false, true), () => mm(a, dy, true)];
  if (!transposeA && transposeB) return [() => mm(dy, b), () => mm(dy, a, true)];
  if (transposeA && !transposeB) return [() => mm(b, dy, false, true), () => mm(a, dy)];
  return [() => mm(b, dy, true, true), () => mm(dy, a, true, true)];
}

const explicitTransposeGrad: tf.GradConfig = {
  kernelName: KERNEL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    if (Array.isArray(dy)) throw new Error('BatchMatMul gradient: expected one output gradient');
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
    if (matMulTransposesAreFree()) {
      // transposes are free in the kernel: the textbook gradient with transpose flags
      const [da, db] = transposeFlagGrads(a, b, dy, transposeA === true, transposeB === true);
      return { a: () => reduceToShape(da(), a.shape), b: () => reduceToShape(db(), b.shape) };
    }
    const T = transposeLastTwo;
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      // C = A B
      da = () => tf.matMul(dy, T(b));
      db = () => tf.matMul(T(a), dy);
    } else if (!transposeA && transposeB) {
      // C = A Bᵀ
      da = () => tf.matMul(dy, b);
      db = () => tf.matMul(T(dy), a);
    } else if (transposeA && !transposeB) {
      // C = Aᵀ B
      da = () => tf.matMul(b, T(dy));
      db = () => tf.matMul(a, dy);
    } else {
      // C = Aᵀ Bᵀ: dA = Bᵀ dyᵀ = (dy B)ᵀ, dB = dyᵀ Aᵀ = (A dy)ᵀ
      da = () => T(tf.matMul(dy, b));
      db = () => T(tf.matMul(a, dy));
    }
    return {
      a: () => reduceToShape(da(), a.shape),
      b: () => reduceToShape(db(), b.shape),
    };
  },
};

const registration = markedGradient(
  'sparsepipe.explicitTransposeBatchMatMulGrad',
  explicitTransposeGrad,
);

/** True when the explicit-transpose gradient is the one tfjs will use for `BatchMatMul`. */
export function isFastBatchMatMulGradInstalled(): boolean {
  return registration.isInstalled();
}

/**
 * Register the explicit-transpose `BatchMatMul` gradient (idempotent; affects every tfjs
 * gradient computed in this process afterwards).
 *
 * @example
 * installFastBatchMatMulGrad();
 * isFastBatchMatMulGradInstalled(); // true
 */
export function installFastBatchMatMulGrad(): void {
  registration.install();
}

/**
 * Put back the gradient that was registered before {@link installFastBatchMatMulGrad}
 * (tfjs's default). For comparisons in tests and benchmarks.
 *
 * @example
 * restoreDefaultBatchMatMulGrad();
 * isFastBatchMatMulGradInstalled(); // false
 */
export function restoreDefaultBatchMatMulGrad(): void {
  registration.restore();
}
