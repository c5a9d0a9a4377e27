/**
 * OpenBLAS kernels for the tfjs `wasm` backend's matMul family: `BatchMatMul` and
 * `_FusedMatMul` (bias and activation fused). Each call is planned first; what a plan does
 * not cover goes to the stock wasm kernel, per call:
 *
 * | case                                          | runs on |
 * |-----------------------------------------------|---------|
 * | float32, rank ≥ 2, any transposes             | OpenBLAS `sgemm`, one call per batch matrix |
 * | batch dims equal, or one side's all 1 (broadcast) | OpenBLAS (the broadcast side is reused) |
 * | other batch broadcasts (e.g. [3,1]·[1,3])     | stock |
 * | bias of size 1 or of the last dim's width      | OpenBLAS: `C` pre-filled with it, then `beta = 1` |
 * | other bias shapes, `prelu`                    | stock |
 * | m·n·k < {@link MIN_BLAS_VOLUME}, empty shapes, non-float32, mismatched inner dims | stock |
 *
 * The output is allocated by the backend first (the wasm heap may grow and replace its
 * buffer), then every operand is viewed in the heap; OpenBLAS reads and writes in place.
 *
 * @example
 * const kernels = blasKernels(loadOpenBlas(), { BatchMatMul: stockBmm, _FusedMatMul: stockFused });
 * tf.registerKernel(kernels.BatchMatMul);
 */
import type * as tf from '@tensorflow/tfjs';
import { FREE_TRANSPOSES } from '../../protocol/index.ts';
import type { OpenBlas } from './openblas.ts';
import { wasmHeapOf, type WasmHeap } from './wasm-heap.ts';

/** Below this many multiply-adds per matrix the stock kernel is used (its call overhead is lower). */
export const MIN_BLAS_VOLUME = 4096;

/** The kernels this module overrides. */
export const BLAS_KERNEL_NAMES = ['BatchMatMul', '_FusedMatMul'] as const;
export type BlasKernelName = (typeof BLAS_KERNEL_NAMES)[number];

/** Property of our kernel configs holding the stock config they fall back to. */
export const STOCK_KERNEL = 'sparsepipe.stockKernel';

/** Calls of each overridden kernel since load, by the path they took (for tests and reports). */
export type BlasKernelCalls = Record<BlasKernelName, { blas: number; stock: number }>;

const calls: BlasKernelCalls = {
  BatchMatMul: { blas: 0, stock: 0 },
  _FusedMatMul: { blas: 0, stock: 0 },
};

/**
 * A copy of the call counters: how many calls ran on OpenBLAS and how many fell back.
 *
 * @example
 * const before = blasKernelCalls().BatchMatMul.blas;
 * tf.matMul(a, b);
 * blasKernelCalls().BatchMatMul.blas - before; // 1 when the shape is covered
 */
export function blasKernelCalls(): BlasKernelCalls {
  return {
    BatchMatMul: { ...calls.BatchMatMul },
    _FusedMatMul: { ...calls._FusedMatMul },
  };
}

/** A registered config of ours: marked transpose-free, carrying its stock fallback. */
export type BlasKernelConfig = tf.KernelConfig & {
  [FREE_TRANSPOSES]: true;
  [STOCK_KERNEL]: tf.KernelConfig;
};

/** Activations applied in place after the product (prelu is left to the stock kernel). */
const ACTIVATIONS: Record<
  string,
  ((c: Float32Array, alpha: number, heap: WasmHeap, out: tf.TensorInfo) => void) | undefined
> = {
  linear: () => {},
  relu: (c, _alpha, heap, out) => heap.simd.relu(heap.offset(out), c.length),
  relu6: (c) => {
    for (let i = 0; i < c.length; i++) {
      const v = c[i];
      c[i] = v < 0 ? 0 : v > 6 ? 6 : v;
    }
  },
  leakyrelu: (c, alpha) => {
    for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] = alpha * c[i];
  },
  elu: (c) => {
    for (let i = 0; i < c.length; i++) if (!(c[i] >= 0)) c[i] = Math.exp(c[i]) - 1;
  },
  sigmoid: (c) => {
    for (let i = 0; i < c.length; i++) c[i] = 1 / (1 + Math.exp(-c[i]));
  },
};

/** How one matMul call maps onto sgemm calls. */
export interface MatMulPlan {
  m: number;
  n: number;
  k: number;
  /** Number of output matrices. */
  batch: number;
  /** Whether a / b has one matrix per output matrix (else one, broadcast). */
  batchedA: boolean;
  batchedB: boolean;
  outShape: number[];
}

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/**
 * The plan for `op(a) · op(b)`, or null when the stock kernel should run it.
 *
 * @example
 * planMatMul([2, 64, 32], [32, 16], false, false); // { m: 64, n: 16, k: 32, batch: 2, batchedA: true, batchedB: false, outShape: [2, 64, 16] }
 */
export function planMatMul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan | null {
  const ar = aShape.length;
  const br = bShape.length;
  if (ar < 2 || br < 2) return null;
  const m = transposeA ? aShape[ar - 1] : aShape[ar - 2];
  const kA = transposeA ? aShape[ar - 2] : aShape[ar - 1];
  const kB = transposeB ? bShape[br - 1] : bShape[br - 2];
  const n = transposeB ? bShape[br - 2] : bShape[br - 1];
  if (kA !== kB) return null; // the stock kernel throws tfjs's own error
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const rank = Math.max(outerA.length, outerB.length);
  const outer: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = outerA[outerA.length - rank + i] ?? 1;
    const db = outerB[outerB.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    outer.push(Math.max(da, db));
  }
  const batch = product(outer);
  const batchA = product(outerA);
  const batchB = product(outerB);
  // a side's flat matrix index matches the output's only when its outer dims are the
  // output's (then the products are equal) or it has a single matrix
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  if (m * n * kA < MIN_BLAS_VOLUME || batch === 0) return null;
  return {
    m,
    n,
    k: kA,
    batch,
    batchedA: batchA === batch && batch > 1,
    batchedB: batchB === batch && batch > 1,
    outShape: [...outer, m, n],
  };
}

/**
 * Fill `c` (rows of width `n`) with `bias` (1 value or `n` values) repeated.
 *
 * @example
 * fillWithBias(c, bias, n); // then sgemm with beta = 1 adds the product
 */
export function fillWithBias(c: Float32Array, bias: Float32Array, n: number): void {
  if (bias.length === 1) {
    c.fill(bias[0]);
    return;
  }
  c.set(bias, 0);
  for (let filled = n; filled < c.length; filled *= 2)
    c.copyWithin(filled, 0, Math.min(filled, c.length - filled));
}

function runPlan(
  blas: OpenBlas,
  heap: WasmHeap,
  plan: MatMulPlan,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
): tf.TensorInfo {
  const { m, n, k, batch, batchedA, batchedB } = plan;
  const out = heap.allocate(plan.outShape); // first: it may grow the heap
  const av = heap.floats(a);
  const bv = heap.floats(b);
  const cv = heap.floats(out);
  if (bias) fillWithBias(cv, heap.floats(bias), n);
  const beta = bias ? 1 : 0;
  const lda = transposeA ? m : k;
  const ldb = transposeB ? k : n;
  if (batch === 1) {
    blas.sgemm(transposeA, transposeB, m, n, k, 1, av, lda, bv, ldb, beta, cv, n);
    return out;
  }
  const sa = m * k;
  const sb = k * n;
  const sc = m * n;
  for (let i = 0; i < batch; i++) {
    blas.sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      1,
      batchedA ? av.subarray(i * sa, (i + 1) * sa) : av,
      lda,
      batchedB ? bv.subarray(i * sb, (i + 1) * sb) : bv,
      ldb,
      beta,
      cv.subarray(i * sc, (i + 1) * sc),
      n,
    );
  }
  return out;
}

/** True when `bias` broadcasts to `[…, n]` as one value or as one row of `n` values. */
function rowBias(bias: tf.TensorInfo, n: number, outRank: number): boolean {
  if (bias.dtype !== 'float32' || bias.shape.length > outRank) return false;
  const size = product(bias.shape);
  if (size === 1) return true;
  return size === n && bias.shape[bias.shape.length - 1] === n;
}

interface MatMulAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * The two kernel configs, each falling back to `stock[name]` for what it does not cover.
 *
 * @example
 * const { BatchMatMul } = blasKernels(blas, stock);
 */
export function blasKernels(
  blas: OpenBlas,
  stock: Readonly<Record<BlasKernelName, tf.KernelConfig>>,
): Record<BlasKernelName, BlasKernelConfig> {
  const heapFor = wasmHeapOf;

  const batchMatMul: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA = false, transposeB = false } = args.attrs as MatMulAttrs;
    const plan =
      a.dtype === 'float32' && b.dtype === 'float32'
        ? planMatMul(a.shape, b.shape, transposeA, transposeB)
        : null;
    if (!plan) {
      calls.BatchMatMul.stock++;
      return stock.BatchMatMul.kernelFunc(args);
    }
    calls.BatchMatMul.blas++;
    return runPlan(blas, heapFor(args.backend), plan, a, b, transposeA, transposeB, undefined);
  };

  const fusedMatMul: tf.KernelFunc = (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: tf.TensorInfo;
      b: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const {
      transposeA = false,
      transposeB = false,
      activation = 'linear',
      leakyreluAlpha = 0.2,
    } = args.attrs as MatMulAttrs;
    const apply = ACTIVATIONS[activation];
    const plan =
      a.dtype === 'float32' && b.dtype === 'float32' && !preluActivationWeights && apply
        ? planMatMul(a.shape, b.shape, transposeA, transposeB)
        : null;
    if (!plan || !apply || (bias && !rowBias(bias, plan.n, plan.outShape.length))) {
      calls._FusedMatMul.stock++;
      return stock._FusedMatMul.kernelFunc(args);
    }
    calls._FusedMatMul.blas++;
    const heap = heapFor(args.backend);
    const out = runPlan(blas, heap, plan, a, b, transposeA, transposeB, bias);
    apply(heap.floats(out), leakyreluAlpha, heap, out);
    return out;
  };

  const config = (name: BlasKernelName, kernelFunc: tf.KernelFunc): BlasKernelConfig => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc,
    [FREE_TRANSPOSES]: true,
    [STOCK_KERNEL]: stock[name],
  });
  return {
    BatchMatMul: config('BatchMatMul', batchMatMul),
    _FusedMatMul: config('_FusedMatMul', fusedMatMul),
  };
}
