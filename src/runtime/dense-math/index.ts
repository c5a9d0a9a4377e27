/**
 * The dense-math accelerator: OpenBLAS kernels for the wasm backend's matMuls, chosen with
 * {@link initDenseMath} (`auto` | `blas` | `wasm`). See docs/dense-math.md.
 *
 * @example
 * import { initDenseMath } from './runtime/dense-math/index.ts';
 * initDenseMath('auto', { threads: 1 });
 */
export * from './dense-math.ts';
export * from './bce-kernels.ts';
export * from './blas-kernels.ts';
export * from './linear-kernels.ts';
export * from './sgd-in-place.ts';
export * from './simd-kernels.ts';
export * from './openblas.ts';
export * from './wasm-heap.ts';
