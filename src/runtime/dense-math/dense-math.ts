/**
 * Choosing the dense-math engine of the `wasm` backend: `auto` (default) registers the
 * OpenBLAS kernels of `blas-kernels.ts` when OpenBLAS loads and the pinned tfjs internals
 * check out, and otherwise keeps tfjs's stock wasm kernels, saying why once per process with
 * the install hint; `blas` requires OpenBLAS (a clear error otherwise); `wasm` keeps (or puts
 * back) the stock kernels. See docs/dense-math.md.
 *
 * Threads: OpenBLAS runs `threads` threads per call (default 1: one core per rank, so ranks
 * do not oversubscribe the machine), set through `openblas_set_num_threads`. The setting is
 * per process: under `--backend threads` every rank thread shares it (and each calls OpenBLAS
 * on its own thread, concurrently); under `mpi` each process sets its own.
 *
 * @example
 * await initBackend('wasm');
 * const info = initDenseMath('auto');   // { requested: 'auto', engine: 'blas', threads: 1, library: 'OpenBLAS 0.3.21 (…)' }
 * initDenseMath('wasm');                // the stock kernels again
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseMathChoice, DenseMathInfo } from '../../protocol/index.ts';
import {
  BLAS_KERNEL_NAMES,
  STOCK_KERNEL,
  blasKernels,
  type BlasKernelConfig,
  type BlasKernelName,
} from './blas-kernels.ts';
import { installBceKernels, uninstallBceKernels } from './bce-kernels.ts';
import { installLinearKernels, uninstallLinearKernels } from './linear-kernels.ts';
import { loadOpenBlas, type OpenBlas } from './openblas.ts';
import { checkWasmInternals } from './wasm-heap.ts';

/** The choices, for flag parsing and validation. */
export const DENSE_MATH_CHOICES: readonly DenseMathChoice[] = ['auto', 'blas', 'wasm'];

/** `--dense-math blas` was asked for and cannot be honoured; the message says why and what to do. */
export class DenseMathUnavailableError extends Error {
  override readonly name = 'DenseMathUnavailableError';
}

export interface DenseMathOptions {
  /** OpenBLAS threads per call, process-wide (default 1). */
  threads?: number;
  /** The OpenBLAS shared object to load (default `libopenblas.so.0` on the loader path). */
  library?: string;
  /**
   * Where the one-time `auto` fallback notice goes (default `console.warn`); `false` to stay
   * silent (e.g. every rank but rank 0).
   */
  warn?: ((message: string) => void) | false;
}

let fallbackNoticeGiven = false;
let current: DenseMathInfo | undefined;

function registered(name: BlasKernelName): tf.KernelConfig | undefined {
  return tf.getKernel(name, 'wasm');
}

function isOurs(config: tf.KernelConfig | undefined): config is BlasKernelConfig {
  return config !== undefined && STOCK_KERNEL in config;
}

/** The stock wasm config of `name` (what was registered before ours). */
function stockKernel(name: BlasKernelName): tf.KernelConfig {
  const config = registered(name);
  if (!config)
    throw new DenseMathUnavailableError(`the wasm backend has no ${name} kernel registered`);
  return isOurs(config) ? config[STOCK_KERNEL] : config;
}

function replaceKernel(config: tf.KernelConfig): void {
  tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
}

function installBlas(blas: OpenBlas): void {
  const stock = {
    BatchMatMul: stockKernel('BatchMatMul'),
    _FusedMatMul: stockKernel('_FusedMatMul'),
  };
  const kernels = blasKernels(blas, stock);
  for (const name of BLAS_KERNEL_NAMES) replaceKernel(kernels[name]);
  installLinearKernels(blas);
  installBceKernels();
}

function restoreStock(): void {
  for (const name of BLAS_KERNEL_NAMES) {
    const config = registered(name);
    if (isOurs(config)) replaceKernel(config[STOCK_KERNEL]);
  }
  uninstallLinearKernels();
  uninstallBceKernels();
}

/** True when the OpenBLAS kernels are the registered wasm matMul kernels. */
export function isBlasInstalled(): boolean {
  return BLAS_KERNEL_NAMES.every((name) => isOurs(registered(name)));
}

/**
 * The engine chosen by the last {@link initDenseMath} in this process (undefined before).
 *
 * @example
 * denseMathInfo()?.engine; // 'blas'
 */
export function denseMathInfo(): DenseMathInfo | undefined {
  return current;
}

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 256)
    throw new DenseMathUnavailableError(
      `BLAS threads must be an integer from 1 to 256, got ${threads}`,
    );
}

/**
 * Choose the engine for the active tfjs backend (call after `initBackend`). Idempotent;
 * may be called again to switch. Throws {@link DenseMathUnavailableError} only for an
 * explicit `blas` that cannot run (OpenBLAS missing, tfjs internals changed, a backend
 * other than wasm).
 *
 * @example
 * initDenseMath('blas', { threads: 2 }).threads; // 2
 */
export function initDenseMath(
  choice: DenseMathChoice = 'auto',
  options: DenseMathOptions = {},
): DenseMathInfo {
  if (!DENSE_MATH_CHOICES.includes(choice))
    throw new DenseMathUnavailableError(
      `unknown dense math "${String(choice)}" (choose ${DENSE_MATH_CHOICES.join(', ')})`,
    );
  const threads = options.threads ?? 1;
  checkThreads(threads);
  const backend = tf.getBackend();
  if (backend !== 'wasm') {
    if (choice === 'blas')
      throw new DenseMathUnavailableError(
        `--dense-math blas runs on the wasm backend, but the active backend is "${backend}" (use --device wasm)`,
      );
    current = {
      requested: choice,
      engine: 'stock',
      fallbackReason: `the ${backend} backend runs its own kernels`,
    };
    return current;
  }
  if (choice === 'wasm') {
    restoreStock();
    current = { requested: choice, engine: 'wasm' };
    return current;
  }
  let blas: OpenBlas;
  try {
    blas = loadOpenBlas(options.library);
    checkWasmInternals(tf.backend());
  } catch (e) {
    const reason = (e as Error).message;
    if (choice === 'blas') throw new DenseMathUnavailableError(reason, { cause: e });
    restoreStock();
    const warn = options.warn ?? ((message: string) => console.warn(message));
    if (warn && !fallbackNoticeGiven) {
      fallbackNoticeGiven = true;
      warn(`sparsepipe: dense math falls back to stock wasm kernels: ${reason}`);
    }
    current = { requested: choice, engine: 'wasm', fallbackReason: reason };
    return current;
  }
  blas.setThreads(threads);
  installBlas(blas);
  current = {
    requested: choice,
    engine: 'blas',
    threads: blas.threads(),
    library: blas.description,
  };
  return current;
}
