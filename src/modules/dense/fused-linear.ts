/**
 * `y = act(x W + b)` as one tfjs `_FusedMatMul` kernel (bias and ReLU inside XNNPACK's GEMM
 * on wasm), with a registered gradient built from plain (non-transposed) matMuls and
 * explicit transposes only.
 *
 * tfjs's own `tf.fused.matMul` does not fuse under a gradient tape when an activation is
 * given, and its custom gradient uses transposed-operand matMuls, which take wasm's slow
 * non-XNNPACK path. Running the kernel directly puts it on the tape with the gradient
 * registered here, which tfjs evaluates lazily per input: the input gradient of a first
 * layer (whose input is data) is never computed.
 *
 * The weight gradient picks the cheaper of `xᵀ·dz` and `(dzᵀ·x)ᵀ`: XNNPACK repacks the
 * right operand of every matMul whose right operand is new (~12 ns per element here), so
 * the orientation whose right operand is smaller wins when `in ≪ out`. Both sum the same
 * products over the batch in the same order.
 *
 * With `--dense-math blas` the layer runs instead as the one kernel of
 * `src/runtime/dense-math/linear-kernels.ts` (no reshapes; its gradient masks `dy` and sums
 * the bias gradient in one SIMD pass, then two transpose-flag products): one tape node per
 * layer.
 *
 * @example
 * installFusedLinearGrad();
 * const y = fusedLinear(x, weight, bias, 'relu'); // x [B, in], weight [in, out], bias [out]
 */
import * as tf from '@tensorflow/tfjs';
import { kernelHasFreeTransposes } from '../../protocol/index.ts';
import { LINEAR_KERNEL, linearKernelsActive } from '../../runtime/dense-math/linear-kernels.ts';
import { markedGradient } from './marked-gradient.ts';

const KERNEL = '_FusedMatMul';

/** Activations the fused kernel applies (others are applied after it). */
export type FusedActivation = 'relu' | 'linear';

/**
 * Relative cost of the two weight-gradient orientations for `x: [B, in]`, `dz: [B, out]`:
 * repacking a new right operand costs ~3× a transpose per element (measured on wasm).
 */
function weightGradViaDzT(batch: number, inF: number, outF: number): boolean {
  const pack = 3;
  const viaXT = batch * inF + pack * batch * outF; // transpose x, pack dz
  const viaDzT = batch * outF + inF * outF + pack * batch * inF; // transpose dz and the result, pack x
  return viaDzT < viaXT;
}

const fusedLinearGrad: tf.GradConfig = {
  kernelName: KERNEL,
  inputsToSave: ['a', 'b'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    if (Array.isArray(dy)) throw new Error('fusedLinear gradient: expected one output gradient');
    const [a3, b3, y3] = saved;
    const { transposeA, transposeB, activation } = attrs as {
      transposeA?: boolean;
      transposeB?: boolean;
      activation?: string;
    };
    if (
      transposeA ||
      transposeB ||
      (activation !== 'relu' && activation !== 'linear') ||
      a3.shape[0] !== 1 ||
      b3.shape[0] !== 1
    ) {
      throw new Error(
        `fusedLinear gradient: only [1, B, in] × [1, in, out] without transposes and with relu/linear is supported, ` +
          `got a [${a3.shape}], b [${b3.shape}], transposeA ${String(transposeA)}, transposeB ${String(transposeB)}, activation ${String(activation)}`,
      );
    }
    const [, batch, inF] = a3.shape as [number, number, number];
    const outF = b3.shape[2] as number;
    const x = tf.reshape(a3, [batch, inF]) as tf.Tensor2D;
    const w = tf.reshape(b3, [inF, outF]) as tf.Tensor2D;
    const dy2 = tf.reshape(dy, [batch, outF]) as tf.Tensor2D;
    const dz: tf.Tensor2D =
      activation === 'relu' ? tf.mul(dy2, tf.step(tf.reshape(y3, [batch, outF]))) : dy2;
    if (matMulTransposesAreFree()) {
      // OpenBLAS reads either orientation in place: no transposes at all, and the bias
      // gradient (column sums of dz) as one more product, 1ᵀ·dz
      return {
        a: () => tf.reshape(tf.matMul(dz, w, false, true), [1, batch, inF]),
        b: () => tf.reshape(tf.matMul(x, dz, true, false), [1, inF, outF]),
        bias: () => tf.reshape(tf.matMul(tf.ones([1, batch]), dz), [outF]),
      };
    }
    // dzᵀ, made once when the weight gradient uses it: the bias gradient then sums its rows
    // (a reduction along the last axis, which wasm does without a transpose of its own)
    const dzT = weightGradViaDzT(batch, inF, outF) ? tf.transpose(dz) : null;
    return {
      a: () => tf.reshape(tf.matMul(dz, tf.transpose(w)), [1, batch, inF]),
      b: () =>
        tf.reshape(dzT ? tf.transpose(tf.matMul(dzT, x)) : tf.matMul(tf.transpose(x), dz), [
          1,
          inF,
          outF,
        ]),
      bias: () => (dzT ? tf.sum(dzT, 1) : tf.sum(dz, 0)),
    };
  },
};

/**
 * True when the active backend's `BatchMatMul` kernel reads transposed operands in place
 * (the OpenBLAS kernels of src/runtime/dense-math mark themselves so): gradients then pass
 * transpose flags instead of transposing explicitly.
 *
 * @example
 * matMulTransposesAreFree(); // true after initDenseMath('blas'), false on stock wasm
 */
export function matMulTransposesAreFree(): boolean {
  return kernelHasFreeTransposes(tf.getKernel('BatchMatMul', tf.getBackend()));
}

const registration = markedGradient('sparsepipe.fusedLinearGrad', fusedLinearGrad);

/** True when the fused-linear gradient is the one tfjs will use for `_FusedMatMul` kernels on the tape. */
export function isFusedLinearGradInstalled(): boolean {
  return registration.isInstalled();
}

/**
 * Register the `_FusedMatMul` gradient {@link fusedLinear} needs (idempotent). tfjs's own
 * `tf.fused.matMul` is unaffected: it wraps the kernel in a custom gradient of its own.
 *
 * @example
 * installFusedLinearGrad();
 * isFusedLinearGradInstalled(); // true
 */
export function installFusedLinearGrad(): void {
  registration.install();
}

/**
 * `act(x · weight + bias)` in one kernel, differentiable once {@link installFusedLinearGrad}
 * ran. `x: [B, in]`, `weight: [in, out]`, `bias: [out]` (optional).
 *
 * @example
 * const h = fusedLinear(x, w, b, 'relu');
 */
export function fusedLinear(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  activation: FusedActivation,
): tf.Tensor2D {
  if (linearKernelsActive()) {
    // one kernel, one tape node (see src/runtime/dense-math/linear-kernels.ts)
    const inputs: tf.NamedTensorMap = bias ? { x, weight, bias } : { x, weight };
    return tf.engine().runKernel(LINEAR_KERNEL, inputs, { activation }) as tf.Tensor2D;
  }
  const [batch, inF] = x.shape;
  const outF = weight.shape[1];
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {
      a: tf.reshape(x, [1, batch, inF]),
      b: tf.reshape(weight, [1, inF, outF]),
    };
    if (bias) inputs.bias = bias;
    const y = tf
      .engine()
      .runKernel(KERNEL, inputs, { transposeA: false, transposeB: false, activation }) as tf.Tensor;
    return tf.reshape(y, [batch, outF]) as tf.Tensor2D;
  });
}
