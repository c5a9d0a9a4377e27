/**
 * Binary cross-entropy on logits as one kernel of the wasm backend (and one for its
 * gradient), registered with the OpenBLAS kernels: the loss of a batch is a few hundred
 * values, so the nine tfjs kernels of the formula (and the fifteen of its gradient) cost
 * far more in dispatch and tape bookkeeping than in arithmetic.
 *
 * | kernel                  | inputs                         | output |
 * |-------------------------|--------------------------------|--------|
 * | {@link BCE_KERNEL}      | `logits`, `labels` (same shape) | `mean(max(x, 0) − x·y + log(1 + e^{−|x|}))`, a scalar |
 * | {@link BCE_GRAD_KERNEL} | `dy` (scalar), `logits`, `labels` | `dy · (σ(x) − y) / N`, the logits' shape |
 *
 * Numerics: each term and the mean are computed in float64 and rounded to float32 once;
 * `σ(x)` as `1/(1 + e^{−x})` for `x ≥ 0` and `e^{x}/(1 + e^{x})` below, finite for any finite
 * logit. The labels' gradient, `−dy·x/N`, is rarely asked for and runs as tfjs ops.
 *
 * @example
 * installBceKernels();
 * const loss = tf.engine().runKernel(BCE_KERNEL, { logits, labels }, {}) as tf.Scalar;
 */
import * as tf from '@tensorflow/tfjs';
import { wasmHeapOf } from './wasm-heap.ts';

/** Forward kernel: the mean loss. */
export const BCE_KERNEL = 'SparsepipeBceWithLogits';
/** Gradient kernel: the logits' gradient. */
export const BCE_GRAD_KERNEL = 'SparsepipeBceWithLogitsGrad';

let calls = 0;

/**
 * Forward and gradient kernel calls since load (for tests: proof that the fast path ran).
 *
 * @example
 * const before = bceKernelCalls();
 */
export function bceKernelCalls(): number {
  return calls;
}

/**
 * True when the loss kernels are registered for the active backend (`--dense-math blas`).
 *
 * @example
 * if (bceKernelsActive()) tf.engine().runKernel(BCE_KERNEL, { logits, labels }, {});
 */
export function bceKernelsActive(): boolean {
  return tf.getKernel(BCE_KERNEL, tf.getBackend()) !== undefined;
}

function checkInputs(logits: tf.TensorInfo, labels: tf.TensorInfo): void {
  const same =
    logits.shape.length === labels.shape.length &&
    logits.shape.every((d, i) => d === labels.shape[i]);
  if (!same || logits.dtype !== 'float32' || labels.dtype !== 'float32') {
    throw new Error(
      `${BCE_KERNEL}: logits and labels must be float32 of one shape, got [${logits.shape}] ${logits.dtype} and [${labels.shape}] ${labels.dtype}`,
    );
  }
}

const forward: tf.KernelFunc = ({ inputs, backend }) => {
  const { logits, labels } = inputs as { logits: tf.TensorInfo; labels: tf.TensorInfo };
  checkInputs(logits, labels);
  calls++;
  const heap = wasmHeapOf(backend);
  const out = heap.allocate([]);
  const x = heap.floats(logits);
  const y = heap.floats(labels);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    sum += (xi > 0 ? xi : 0) - xi * y[i] + Math.log1p(Math.exp(-Math.abs(xi)));
  }
  heap.floats(out)[0] = sum / x.length;
  return out;
};

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const backward: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, logits, labels } = inputs as {
    dy: tf.TensorInfo;
    logits: tf.TensorInfo;
    labels: tf.TensorInfo;
  };
  checkInputs(logits, labels);
  calls++;
  const heap = wasmHeapOf(backend);
  const out = heap.allocate([...logits.shape]);
  const g = heap.floats(out);
  const x = heap.floats(logits);
  const y = heap.floats(labels);
  const scale = heap.floats(dy)[0] / x.length;
  for (let i = 0; i < x.length; i++) g[i] = (sigmoid(x[i]) - y[i]) * scale;
  return out;
};

const bceGrad: tf.GradConfig = {
  kernelName: BCE_KERNEL,
  inputsToSave: ['logits', 'labels'],
  gradFunc: (dy, saved) => {
    if (Array.isArray(dy)) throw new Error(`${BCE_KERNEL} gradient: expected one output gradient`);
    const [logits, labels] = saved;
    return {
      logits: () => tf.engine().runKernel(BCE_GRAD_KERNEL, { dy, logits, labels }, {}) as tf.Tensor,
      labels: () => tf.div(tf.mul(tf.neg(logits), dy), logits.size),
    };
  },
};

/**
 * Register both kernels for the wasm backend, and the forward kernel's gradient (idempotent).
 *
 * @example
 * installBceKernels();
 */
export function installBceKernels(): void {
  uninstallBceKernels();
  tf.registerKernel({ kernelName: BCE_KERNEL, backendName: 'wasm', kernelFunc: forward });
  tf.registerKernel({ kernelName: BCE_GRAD_KERNEL, backendName: 'wasm', kernelFunc: backward });
  if (tf.getGradient(BCE_KERNEL) !== bceGrad) tf.registerGradient(bceGrad);
}

/**
 * Unregister both kernels (`bceWithLogits` runs as tfjs ops again).
 *
 * @example
 * uninstallBceKernels();
 */
export function uninstallBceKernels(): void {
  for (const name of [BCE_KERNEL, BCE_GRAD_KERNEL]) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  }
}
