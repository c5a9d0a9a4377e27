/**
 * The dense-math contract: which matrix-multiply engine a rank's tfjs `wasm` backend runs
 * (`blas`: OpenBLAS through an FFI, `wasm`: tfjs's own XNNPACK kernels), what a run reports
 * about it, and the marker a kernel carries when transposed operands cost nothing extra.
 * Types and one marker name only; the accelerator lives in `src/runtime/dense-math/`.
 *
 * @example
 * const info: DenseMathInfo = { requested: 'auto', engine: 'blas', threads: 1, library: 'OpenBLAS 0.3.21' };
 * const fast = kernelHasFreeTransposes(tf.getKernel('BatchMatMul', tf.getBackend()));
 */

/** What a user asks for: `auto` (OpenBLAS when it loads, else wasm), `blas` (required) or `wasm`. */
export type DenseMathChoice = 'auto' | 'blas' | 'wasm';

/** The engine that actually runs the matMuls. `stock` is a backend other than wasm (cpu, gpu). */
export type DenseMathEngine = 'blas' | 'wasm' | 'stock';

/** What a run reports (CLI report, `--json`). */
export interface DenseMathInfo {
  requested: DenseMathChoice;
  engine: DenseMathEngine;
  /** BLAS threads per rank (OpenBLAS's own setting); absent without BLAS. */
  threads?: number;
  /** Library and version, e.g. `OpenBLAS 0.3.21 (Cooperlake)`; absent without BLAS. */
  library?: string;
  /** Why `auto` fell back to wasm (library absent, tfjs internals changed, another backend). */
  fallbackReason?: string;
}

/** Property a registered tfjs kernel config carries when its transposed operands are free. */
export const FREE_TRANSPOSES = 'sparsepipe.freeTransposes';

/**
 * True when `kernel` (a tfjs `KernelConfig`, or undefined) is marked as handling
 * transposed operands at no extra cost, so gradients should pass transpose flags rather
 * than transpose explicitly.
 *
 * @example
 * kernelHasFreeTransposes({ kernelName: 'BatchMatMul', [FREE_TRANSPOSES]: true }); // true
 */
export function kernelHasFreeTransposes(kernel: unknown): boolean {
  return (
    typeof kernel === 'object' &&
    kernel !== null &&
    (kernel as Record<string, unknown>)[FREE_TRANSPOSES] === true
  );
}
