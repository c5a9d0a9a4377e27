/**
 * A whole dense layer as two kernels of the wasm backend, registered with the OpenBLAS
 * kernels, so that the tape records one node per layer instead of a chain of reshapes,
 * a product, a step, a multiply and a ones-vector product:
 *
 * | kernel                     | inputs                         | outputs                              |
 * |----------------------------|--------------------------------|--------------------------------------|
 * | {@link LINEAR_KERNEL}      | `x [B, in]`, `weight [in, out]`, `bias [out]`? | `y = act(x·weight + bias)` |
 * | {@link LINEAR_GRAD_KERNEL} | `dy [B, out]`, `y`? (relu)     | relu: `dz = dy·step(y)`, `dbias`; linear: `dbias` |
 *
 * The forward writes the product with `sgemm` (`beta = 0`), then adds the bias and applies
 * the ReLU in one SIMD pass while the product is still in cache (`(x·w) + b`, in that
 * order); the gradient masks `dy` and sums its
 * columns in one SIMD pass (rows added in order, row 0 first). The registered gradient of
 * {@link LINEAR_KERNEL} then needs two products, both with transpose flags:
 * `dx = dz·weightᵀ`, `dweight = xᵀ·dz`, each computed only when the tape asks for it.
 *
 * @example
 * installLinearKernels(blas);                         // with the OpenBLAS matMul kernels
 * const y = tf.engine().runKernel(LINEAR_KERNEL, { x, weight, bias }, { activation: 'relu' });
 */
import * as tf from '@tensorflow/tfjs';
import type { OpenBlas } from './openblas.ts';
import { wasmHeapOf } from './wasm-heap.ts';

/** Forward kernel: `act(x·weight + bias)`. */
export const LINEAR_KERNEL = 'SparsepipeLinear';
/** Gradient kernel: the masked output gradient and the bias gradient. */
export const LINEAR_GRAD_KERNEL = 'SparsepipeLinearGrad';

/** Activations the layer kernels fuse. */
export type LinearActivation = 'relu' | 'linear';

/** Calls of the layer kernels since load (for tests: proof that the fast path ran). */
export interface LinearKernelCalls {
  forward: number;
  backward: number;
}

const calls: LinearKernelCalls = { forward: 0, backward: 0 };

/**
 * A copy of the call counters.
 *
 * @example
 * const before = linearKernelCalls().forward;
 */
export function linearKernelCalls(): LinearKernelCalls {
  return { ...calls };
}

/**
 * True when the layer kernels are registered for the active backend (`--dense-math blas`).
 *
 * @example
 * if (linearKernelsActive()) tf.engine().runKernel(LINEAR_KERNEL, inputs, attrs);
 */
export function linearKernelsActive(): boolean {
  return tf.getKernel(LINEAR_KERNEL, tf.getBackend()) !== undefined;
}

function checkActivation(activation: unknown): LinearActivation {
  if (activation === 'relu' || activation === 'linear') return activation;
  throw new Error(
    `${LINEAR_KERNEL}: activation must be 'relu' or 'linear', got ${String(activation)}`,
  );
}

function checkShapes(
  x: tf.TensorInfo,
  weight: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
): void {
  const ok =
    x.shape.length === 2 &&
    weight.shape.length === 2 &&
    x.shape[1] === weight.shape[0] &&
    (!bias || (bias.shape.length === 1 && bias.shape[0] === weight.shape[1])) &&
    [x, weight, bias].every((t) => !t || t.dtype === 'float32');
  if (!ok) {
    throw new Error(
      `${LINEAR_KERNEL}: expected float32 x [B, in], weight [in, out], bias [out]; got x [${x.shape}] ${x.dtype}, ` +
        `weight [${weight.shape}] ${weight.dtype}` +
        (bias ? `, bias [${bias.shape}] ${bias.dtype}` : ''),
    );
  }
}

function forwardKernel(blas: OpenBlas): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { x, weight, bias } = inputs as {
      x: tf.TensorInfo;
      weight: tf.TensorInfo;
      bias?: tf.TensorInfo;
    };
    const activation = checkActivation((attrs as { activation?: unknown }).activation);
    checkShapes(x, weight, bias);
    calls.forward++;
    const heap = wasmHeapOf(backend);
    const [m, k] = x.shape as [number, number];
    const n = weight.shape[1];
    const out = heap.allocate([m, n]); // first: it may grow the heap
    if (m * n === 0) return out;
    const c = heap.floats(out);
    if (k > 0)
      blas.sgemm(false, false, m, n, k, 1, heap.floats(x), k, heap.floats(weight), n, 0, c, n);
    else c.fill(0);
    // one pass over the product while it is in cache: + bias, then the activation
    const { simd } = heap;
    if (bias) {
      const apply = activation === 'relu' ? simd.biasRelu : simd.biasAdd;
      apply(heap.offset(out), heap.offset(bias), m, n);
    } else if (activation === 'relu') {
      simd.relu(heap.offset(out), m * n);
    }
    return out;
  };
}

const gradKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, y } = inputs as { dy: tf.TensorInfo; y?: tf.TensorInfo };
  const activation = checkActivation((attrs as { activation?: unknown }).activation);
  if (dy.shape.length !== 2 || dy.dtype !== 'float32' || (activation === 'relu' && !y)) {
    throw new Error(
      `${LINEAR_GRAD_KERNEL}: expected float32 dy [B, out]${activation === 'relu' ? ' and y' : ''}, got dy [${dy.shape}] ${dy.dtype}`,
    );
  }
  calls.backward++;
  const heap = wasmHeapOf(backend);
  const [rows, cols] = dy.shape as [number, number];
  const db = heap.allocate([cols]);
  if (activation === 'linear') {
    heap.simd.columnSums(heap.offset(dy), heap.offset(db), rows, cols);
    return [db];
  }
  const dz = heap.allocate([rows, cols]);
  heap.simd.reluGradColumnSums(
    heap.offset(dy),
    heap.offset(y!),
    heap.offset(dz),
    heap.offset(db),
    rows,
    cols,
  );
  return [dz, db];
};

const linearGrad: tf.GradConfig = {
  kernelName: LINEAR_KERNEL,
  inputsToSave: ['x', 'weight'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    if (Array.isArray(dy))
      throw new Error(`${LINEAR_KERNEL} gradient: expected one output gradient`);
    const [x, weight, y] = saved;
    const activation = checkActivation((attrs as { activation?: unknown }).activation);
    const engine = tf.engine();
    let dz: tf.Tensor;
    let db: tf.Tensor;
    if (activation === 'relu') {
      [dz, db] = engine.runKernel(LINEAR_GRAD_KERNEL, { dy, y }, { activation }) as tf.Tensor[];
    } else {
      dz = dy;
      [db] = engine.runKernel(LINEAR_GRAD_KERNEL, { dy }, { activation }) as tf.Tensor[];
    }
    return {
      x: () => tf.matMul(dz, weight, false, true),
      weight: () => tf.matMul(x, dz, true, false),
      bias: () => db,
    };
  },
};

/**
 * Register both kernels for the wasm backend, and the forward kernel's gradient (idempotent).
 *
 * @example
 * installLinearKernels(loadOpenBlas());
 */
export function installLinearKernels(blas: OpenBlas): void {
  uninstallLinearKernels();
  tf.registerKernel({
    kernelName: LINEAR_KERNEL,
    backendName: 'wasm',
    kernelFunc: forwardKernel(blas),
  });
  tf.registerKernel({
    kernelName: LINEAR_GRAD_KERNEL,
    backendName: 'wasm',
    kernelFunc: gradKernel,
  });
  if (tf.getGradient(LINEAR_KERNEL) !== linearGrad) tf.registerGradient(linearGrad);
}

/**
 * Unregister both kernels (the stock path of `fusedLinear` runs again).
 *
 * @example
 * uninstallLinearKernels();
 * linearKernelsActive(); // false
 */
export function uninstallLinearKernels(): void {
  for (const name of [LINEAR_KERNEL, LINEAR_GRAD_KERNEL]) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  }
}
