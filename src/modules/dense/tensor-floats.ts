/**
 * Run a typed-array kernel on tensors' floats, and get its outputs as tensors, without
 * copies where the backend allows it.
 *
 * On tfjs-backend-wasm (whose internals `runtime/dense-math/wasm-heap.ts` reads and checks
 * once per backend) the outputs are allocated by the backend first (an allocation may grow
 * the heap and so move every view), then the kernel gets views of the inputs and outputs
 * in the heap: no `dataSync` copy out, no array copied back in by `tf.tensor`. On any other
 * backend, or wasm internals that fail the check, or inputs that are not float32, it runs
 * on `dataSync` arrays (copies on wasm; the cpu backend's own arrays) and new arrays made
 * into tensors.
 *
 * @example
 * const [sum] = tensorFloats.compute([a, b], [[n]], ([x, y], [out]) => {
 *   for (let i = 0; i < n; i++) out[i] = x[i] + y[i];
 * });
 */
import * as tf from '@tensorflow/tfjs';
import {
  checkWasmInternals,
  wasmHeapOf,
  type WasmHeap,
} from '../../runtime/dense-math/wasm-heap.ts';

/**
 * `kernel(inputs, outputs, memory)`: read the inputs' floats, overwrite every output
 * entirely. `memory` is the wasm heap's memory when the views are in it (else null), for
 * kernels that run WebAssembly on them.
 */
export type FloatKernel = (
  inputs: Float32Array[],
  outputs: Float32Array[],
  memory: WebAssembly.Memory | null,
) => void;

/** The heap of each backend that passed the internals check (null: it did not). */
const heaps = new WeakMap<object, WasmHeap | null>();

function heapOf(backend: tf.KernelBackend): WasmHeap | null {
  let heap = heaps.get(backend);
  if (heap === undefined) {
    try {
      checkWasmInternals(backend);
      heap = wasmHeapOf(backend);
    } catch {
      heap = null;
    }
    heaps.set(backend, heap);
  }
  return heap;
}

/** The heap `compute` would read `tensors` from, or null when it would copy them. */
function heapFor(tensors: readonly tf.Tensor[]): WasmHeap | null {
  if (tf.getBackend() !== 'wasm' || !tensors.every((t) => t.dtype === 'float32')) return null;
  return heapOf(tf.backend());
}

/** A tensor's floats as a copy (`dataSync`; float32 whatever its dtype). */
function copyOf(t: tf.Tensor): Float32Array {
  tensorFloatsCalls.copies++;
  const data = t.dataSync();
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/** Tensors read: as views of the wasm heap, or as `dataSync` arrays. Tests read it. */
export const tensorFloatsCalls = { views: 0, copies: 0 };

export const tensorFloats = {
  /** Whether {@link tensorFloats.compute} would read `tensors` in place (no copies). */
  inPlace(tensors: readonly tf.Tensor[]): boolean {
    return heapFor(tensors) !== null;
  },

  /**
   * The floats of `t` as a copy the caller owns (on the cpu backend, its own array): for
   * a kernel that needs them after `t` may have been disposed.
   */
  copy: copyOf,

  /**
   * A new array of `t`'s floats that nothing else holds (one copy: from the wasm heap
   * directly; elsewhere of `dataSync`'s array, which may be the backend's own).
   */
  owned(t: tf.Tensor): Float32Array {
    const heap = heapFor([t]);
    if (heap) {
      tensorFloatsCalls.views++;
      return heap.floats(t).slice();
    }
    return copyOf(t).slice();
  },

  /**
   * `kernel` over the floats of `inputs` (tensors, or arrays passed as they are), writing
   * new float32 tensors of `outShapes`, returned in order. The kernel must write every
   * entry of each output and must not keep the views it is given.
   */
  compute(
    inputs: ReadonlyArray<tf.Tensor | Float32Array>,
    outShapes: readonly number[][],
    kernel: FloatKernel,
  ): tf.Tensor[] {
    const tensors = inputs.filter((x): x is tf.Tensor => x instanceof tf.Tensor);
    const heap = heapFor(tensors);
    if (heap) {
      tensorFloatsCalls.views += tensors.length;
      const infos = outShapes.map((shape) => heap.allocate(shape));
      // Views only after the last allocation: an allocation may have replaced the heap's buffer.
      kernel(
        inputs.map((x) => (x instanceof tf.Tensor ? heap.floats(x) : x)),
        infos.map((info) => heap.floats(info)),
        heap.memory,
      );
      const engine = tf.engine();
      return infos.map((info) => engine.makeTensorFromTensorInfo(info));
    }
    const outs = outShapes.map((shape) => new Float32Array(tf.util.sizeFromShape(shape)));
    kernel(
      inputs.map((x) => (x instanceof tf.Tensor ? copyOf(x) : x)),
      outs,
      null,
    );
    return outs.map((values, i) => tf.tensor(values, outShapes[i], 'float32'));
  },
};
