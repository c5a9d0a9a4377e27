/**
 * The SGD update `p ← p − lr·g` written into the parameter's own heap memory with one SIMD
 * pass, instead of two tfjs kernels (`mul`, `sub`), a new tensor and an `assign`. Each
 * element sees the same two f32 operations as `tf.sub(p, tf.mul(g, lr))` (with `lr` rounded
 * to f32, as tfjs does when it makes the scalar), so the result is bit for bit the same.
 *
 * It runs only where it is safe and fast: the BLAS engine's kernels are installed on the
 * active (wasm) backend, both tensors are float32 of the same size, and no other tensor
 * shares the parameter's data (a clone kept for a backward pass, a reshape a caller holds
 * would otherwise see the write). Everything else returns `false` and the caller runs the
 * tfjs ops.
 *
 * @example
 * if (!sgdInPlace(param, grad, lr)) param.assign(tf.sub(param, tf.mul(grad, lr)));
 */
import * as tf from '@tensorflow/tfjs';
import { linearKernelsActive } from './linear-kernels.ts';
import { wasmHeapOf } from './wasm-heap.ts';

let calls = 0;

/**
 * Updates applied in place since load (for tests: proof that the fast path ran).
 *
 * @example
 * const before = sgdInPlaceCalls();
 */
export function sgdInPlaceCalls(): number {
  return calls;
}

/**
 * `param ← param − lr·grad` in place when possible (see the module comment); true when done.
 *
 * @example
 * sgdInPlace(weight, gradient, 0.05); // true on --dense-math blas
 */
export function sgdInPlace(param: tf.Variable, grad: tf.Tensor, lr: number): boolean {
  if (
    param.dtype !== 'float32' ||
    grad.dtype !== 'float32' ||
    param.size !== grad.size ||
    param.size === 0 ||
    !linearKernelsActive()
  )
    return false;
  const heap = wasmHeapOf(tf.backend());
  if (heap.refCount(param) !== 1) return false;
  heap.simd.sgd(heap.offset(param), heap.offset(grad), param.size, Math.fround(lr));
  calls++;
  return true;
}

let adagradCalls = 0;

/**
 * Adagrad updates applied in place since load (for tests).
 *
 * @example
 * const before = adagradInPlaceCalls();
 */
export function adagradInPlaceCalls(): number {
  return adagradCalls;
}

/**
 * Adagrad in place, `sum ← sum + g²; param ← param − lr·g / (√sum + eps)`, with the f32
 * operations of tfjs's `add`, `square`, `mul`, `sqrt`, `div`, `sub` (same bits), under the
 * same conditions as {@link sgdInPlace} (for `param` and `sum` both); true when done.
 *
 * @example
 * if (!adagradInPlace(param, grad, sum, lr, eps)) { sum.assign(…); param.assign(…); }
 */
export function adagradInPlace(
  param: tf.Variable,
  grad: tf.Tensor,
  sum: tf.Variable,
  lr: number,
  eps: number,
): boolean {
  if (
    param.dtype !== 'float32' ||
    grad.dtype !== 'float32' ||
    sum.dtype !== 'float32' ||
    param.size !== grad.size ||
    param.size !== sum.size ||
    param.size === 0 ||
    !linearKernelsActive()
  )
    return false;
  const heap = wasmHeapOf(tf.backend());
  if (heap.refCount(param) !== 1 || heap.refCount(sum) !== 1) return false;
  heap.simd.adagrad(
    heap.offset(param),
    heap.offset(grad),
    heap.offset(sum),
    param.size,
    Math.fround(lr),
    Math.fround(eps),
  );
  adagradCalls++;
  return true;
}
