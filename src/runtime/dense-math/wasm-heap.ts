/**
 * The only place that reads the internals of `@tensorflow/tfjs-backend-wasm`: where a
 * tensor's floats live in the wasm heap, how many tensors share them, the heap's
 * `WebAssembly.Memory`, and how a kernel allocates its output there. The BLAS kernels need
 * them to hand OpenBLAS pointers into the heap instead of copying, and to run the SIMD
 * passes of `simd-kernels.ts` on the same memory.
 *
 * These internals are not public API, so the package versions are pinned exactly
 * ({@link PINNED_TFJS_VERSION}) and {@link checkWasmInternals} proves, on a live backend, that
 * they still mean what this file assumes: it throws {@link WasmInternalsChangedError} (never
 * a silently wrong result) when they do not.
 *
 * @example
 * const heap = wasmHeapOf(tf.backend());          // throws if the internals changed
 * const out = heap.allocate([m, n]);              // allocate first: the heap may grow
 * const c = heap.floats(out); const a = heap.floats(aInfo);
 */
import * as tf from '@tensorflow/tfjs';
import { simdKernels, type SimdKernels } from './simd-kernels.ts';

/** The exact tfjs version whose wasm internals this file reads (package.json pins it too). */
export const PINNED_TFJS_VERSION = '4.22.0';

/** The wasm backend's internals no longer match what the BLAS kernels read. */
export class WasmInternalsChangedError extends Error {
  override readonly name = 'WasmInternalsChangedError';
}

/** Per-tensor record in the wasm backend's `dataIdMap`. */
interface WasmTensorData {
  memoryOffset: number | null;
  refCount: number;
  dtype: tf.DataType;
  shape: number[];
}

/** The slice of tfjs-backend-wasm's `BackendWasm` the kernels use. */
interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array; asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** Float32 views of tensors in the wasm heap, and output allocation. */
export interface WasmHeap {
  /** A new float32 output tensor of `shape` in the heap (uninitialised). */
  allocate(shape: number[]): tf.TensorInfo;
  /**
   * A view of `info`'s floats. Take views after every allocation of the same kernel call:
   * an allocation may grow (and so replace) the heap's buffer.
   */
  floats(info: tf.TensorInfo): Float32Array;
  /** Byte offset of `info`'s data in the heap (what the {@link SimdKernels} take). */
  offset(info: tf.TensorInfo): number;
  /** How many tensors share `info`'s data (1: nobody else sees an in-place write). */
  refCount(info: tf.TensorInfo): number;
  /** The SIMD passes, instantiated on this heap's memory. */
  readonly simd: SimdKernels;
  /** The heap's `WebAssembly.Memory`, for other modules to import (its buffer is the heap). */
  readonly memory: WebAssembly.Memory;
}

function looksLikeWasmBackend(backend: unknown): backend is WasmBackendInternals {
  if (typeof backend !== 'object' || backend === null) return false;
  const b = backend as Partial<Record<keyof WasmBackendInternals, unknown>>;
  const wasm = b.wasm as { HEAPU8?: unknown } | undefined;
  const map = b.dataIdMap as { get?: unknown } | undefined;
  const asm = (wasm as { asm?: { memory?: unknown } } | undefined)?.asm;
  return (
    typeof wasm === 'object' &&
    wasm !== null &&
    wasm.HEAPU8 instanceof Uint8Array &&
    asm?.memory instanceof WebAssembly.Memory &&
    typeof map?.get === 'function' &&
    typeof b.makeOutput === 'function'
  );
}

function heapOf(backend: WasmBackendInternals): WasmHeap {
  const dataOf = (info: tf.TensorInfo): WasmTensorData & { memoryOffset: number } => {
    const data = backend.dataIdMap.get(info.dataId);
    if (!data || data.memoryOffset === null)
      throw new WasmInternalsChangedError(
        `wasm backend: tensor [${info.shape}] has no heap offset`,
      );
    return data as WasmTensorData & { memoryOffset: number };
  };
  let simd: SimdKernels | undefined;
  return {
    allocate: (shape) => backend.makeOutput(shape, 'float32'),
    floats: (info) =>
      new Float32Array(
        backend.wasm.HEAPU8.buffer,
        dataOf(info).memoryOffset,
        tf.util.sizeFromShape(info.shape),
      ),
    offset: (info) => dataOf(info).memoryOffset,
    refCount: (info) => dataOf(info).refCount,
    get simd() {
      simd ??= simdKernels(backend.wasm.asm.memory);
      return simd;
    },
    get memory() {
      return backend.wasm.asm.memory;
    },
  };
}

/**
 * Verify on `backend` (the live wasm backend) that the internals read here behave as
 * assumed: the installed versions are the pinned ones, the fields exist, a tensor written
 * through tfjs reads back through a heap view, a write through a view of an allocated
 * output reads back through tfjs, a new tensor's refCount is 1, and a SIMD pass
 * instantiated on `wasm.asm.memory` changes what tfjs reads. Throws {@link WasmInternalsChangedError} naming what differs.
 *
 * @example
 * await initBackend('wasm');
 * checkWasmInternals(tf.backend()); // throws if tfjs was upgraded under the kernels
 */
export function checkWasmInternals(backend: unknown): asserts backend is WasmBackendInternals {
  const hint = `the BLAS kernels read tfjs-backend-wasm ${PINNED_TFJS_VERSION} internals; reinstall the pinned version or run with --dense-math wasm`;
  if (tf.version_core !== PINNED_TFJS_VERSION) {
    throw new WasmInternalsChangedError(
      `@tensorflow/tfjs-core is ${tf.version_core}, not ${PINNED_TFJS_VERSION}: ${hint}`,
    );
  }
  if (!looksLikeWasmBackend(backend)) {
    throw new WasmInternalsChangedError(
      `the active tfjs backend lacks wasm.HEAPU8 / wasm.asm.memory / dataIdMap.get / makeOutput: ${hint}`,
    );
  }
  const heap = heapOf(backend);
  const probe = tf.tensor1d([1.5, -2.25, 3.125]);
  let out: tf.TensorInfo | undefined;
  try {
    const seen = [...heap.floats(probe)];
    if (seen.join(',') !== '1.5,-2.25,3.125') {
      throw new WasmInternalsChangedError(
        `a heap view of a tensor reads [${seen.join(', ')}], not [1.5, -2.25, 3.125]: ${hint}`,
      );
    }
    if (heap.refCount(probe) !== 1) {
      throw new WasmInternalsChangedError(
        `a new tensor's data has refCount ${heap.refCount(probe)}, not 1: ${hint}`,
      );
    }
    out = heap.allocate([2]);
    heap.floats(out).set([7, -8]);
    const back = [...(backend as unknown as tf.KernelBackend).readSync(out.dataId)];
    if (back.join(',') !== '7,-8') {
      throw new WasmInternalsChangedError(
        `a write into an allocated output reads back as [${back.join(', ')}], not [7, -8]: ${hint}`,
      );
    }
    if (backend.wasm.asm.memory.buffer !== backend.wasm.HEAPU8.buffer) {
      throw new WasmInternalsChangedError(
        `wasm.asm.memory is not the memory behind wasm.HEAPU8 (a threaded build?): ${hint}`,
      );
    }
    heap.simd.relu(heap.offset(out), 2);
    const relu = [...(backend as unknown as tf.KernelBackend).readSync(out.dataId)];
    if (relu.join(',') !== '7,0') {
      throw new WasmInternalsChangedError(
        `a SIMD pass on the heap's memory gives [${relu.join(', ')}], not [7, 0]: ${hint}`,
      );
    }
  } catch (e) {
    if (e instanceof WasmInternalsChangedError) throw e;
    throw new WasmInternalsChangedError(`probing the wasm heap failed (${String(e)}): ${hint}`, {
      cause: e,
    });
  } finally {
    probe.dispose();
    if (out) (backend as unknown as tf.KernelBackend).disposeData(out.dataId);
  }
}

/**
 * The heap of the live wasm backend (after {@link checkWasmInternals} passed once on it).
 *
 * @example
 * const heap = wasmHeapOf(args.backend);
 */
export function wasmHeapOf(backend: unknown): WasmHeap {
  const known = typeof backend === 'object' && backend !== null ? heaps.get(backend) : undefined;
  if (known) return known;
  if (!looksLikeWasmBackend(backend))
    throw new WasmInternalsChangedError('not a tfjs-backend-wasm backend');
  const heap = heapOf(backend);
  heaps.set(backend, heap);
  return heap;
}

const heaps = new WeakMap<object, WasmHeap>();
