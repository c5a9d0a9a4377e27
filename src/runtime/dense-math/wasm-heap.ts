/**
 * The only place that reads the internals of `@tensorflow/tfjs-backend-wasm`: where a
 * tensor's floats live in the wasm heap, and how a kernel allocates its output there. The
 * BLAS kernels need both to hand OpenBLAS pointers into the heap instead of copying.
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

/** The exact tfjs version whose wasm internals this file reads (package.json pins it too). */
export const PINNED_TFJS_VERSION = '4.22.0';

/** The wasm backend's internals no longer match what the BLAS kernels read. */
export class WasmInternalsChangedError extends Error {
  override readonly name = 'WasmInternalsChangedError';
}

/** Per-tensor record in the wasm backend's `dataIdMap`. */
interface WasmTensorData {
  memoryOffset: number | null;
  dtype: tf.DataType;
  shape: number[];
}

/** The slice of tfjs-backend-wasm's `BackendWasm` the kernels use. */
interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array };
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
}

function looksLikeWasmBackend(backend: unknown): backend is WasmBackendInternals {
  if (typeof backend !== 'object' || backend === null) return false;
  const b = backend as Partial<Record<keyof WasmBackendInternals, unknown>>;
  const wasm = b.wasm as { HEAPU8?: unknown } | undefined;
  const map = b.dataIdMap as { get?: unknown } | undefined;
  return (
    typeof wasm === 'object' &&
    wasm !== null &&
    wasm.HEAPU8 instanceof Uint8Array &&
    typeof map?.get === 'function' &&
    typeof b.makeOutput === 'function'
  );
}

function heapOf(backend: WasmBackendInternals): WasmHeap {
  return {
    allocate: (shape) => backend.makeOutput(shape, 'float32'),
    floats: (info) => {
      const data = backend.dataIdMap.get(info.dataId);
      if (!data || data.memoryOffset === null)
        throw new WasmInternalsChangedError(
          `wasm backend: tensor [${info.shape}] has no heap offset`,
        );
      return new Float32Array(
        backend.wasm.HEAPU8.buffer,
        data.memoryOffset,
        tf.util.sizeFromShape(info.shape),
      );
    },
  };
}

/**
 * Verify on `backend` (the live wasm backend) that the internals read here behave as
 * assumed: the installed versions are the pinned ones, the fields exist, a tensor written
 * through tfjs reads back through a heap view, and a write through a view of an allocated
 * output reads back through tfjs. Throws {@link WasmInternalsChangedError} naming what differs.
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
      `the active tfjs backend lacks wasm.HEAPU8 / dataIdMap.get / makeOutput: ${hint}`,
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
    out = heap.allocate([2]);
    heap.floats(out).set([7, -8]);
    const back = [...(backend as unknown as tf.KernelBackend).readSync(out.dataId)];
    if (back.join(',') !== '7,-8') {
      throw new WasmInternalsChangedError(
        `a write into an allocated output reads back as [${back.join(', ')}], not [7, -8]: ${hint}`,
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
  if (!looksLikeWasmBackend(backend))
    throw new WasmInternalsChangedError('not a tfjs-backend-wasm backend');
  return heapOf(backend);
}
