/**
 * Choosing the TensorFlow.js backend for real runs: `wasm` (default, the fast one on CPU
 * hosts), `cpu` (plain JS, always available) or `gpu` (`@tensorflow/tfjs-node-gpu`, an
 * optional peer dependency, loaded only when asked for).
 *
 * @example
 * await initBackend();        // wasm
 * await initBackend('cpu');
 * await initBackend('gpu');   // throws BackendUnavailableError if tfjs-node-gpu is not installed
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import type { DenseMathChoice } from '../protocol/index.ts';
import { initDenseMath, type DenseMathOptions } from './dense-math/dense-math.ts';

/** Backends sparsepipe can run on. */
export type BackendChoice = 'wasm' | 'cpu' | 'gpu';

/** The tfjs backend name each choice registers. */
export const TFJS_BACKEND_NAME: Readonly<Record<BackendChoice, string>> = {
  wasm: 'wasm',
  cpu: 'cpu',
  gpu: 'tensorflow',
};

/** The requested backend cannot be loaded; the message says what to install or check. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    readonly backend: BackendChoice,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

async function load(choice: BackendChoice): Promise<void> {
  if (choice === 'cpu') return; // bundled with @tensorflow/tfjs
  if (choice === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    return;
  }
  if (!isInstalled(GPU_PACKAGE)) {
    throw new BackendUnavailableError(
      'gpu',
      `backend "gpu" needs ${GPU_PACKAGE}, which is not installed: run \`npm install ${GPU_PACKAGE}\` ` +
        `(CUDA and cuDNN must be present), or choose --device wasm or cpu`,
    );
  }
  const specifier: string = GPU_PACKAGE; // not a literal: the package is optional
  try {
    await import(specifier);
  } catch (error) {
    throw new BackendUnavailableError(
      'gpu',
      `backend "gpu": loading ${GPU_PACKAGE} failed: ${String(error)}`,
      { cause: error },
    );
  }
}

/** Marks the aliasing `Identity` kernel config (idempotent installation). */
const ALIASING = 'sparsepipe.aliasingIdentity';

/** The slice of a backend an aliasing `Identity` needs (the wasm backend has it). */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * On wasm, make `Identity` (what `tf.clone` and the gradient tape's saved tensors run) share
 * its input's buffer by reference count, as wasm's own `Reshape` does, instead of copying it.
 * tfjs tensors are immutable, so a shared buffer is indistinguishable from a copy; the tape
 * clones every tensor a gradient saves (inputs and outputs of each dense layer), which was
 * ~2–3 ms of memcpy per reference-DLRM iteration. String tensors keep the copying kernel.
 * Idempotent.
 *
 * @example
 * await initBackend('wasm'); // installs it
 * tf.clone(x);               // same values, no copy
 */
export function installAliasingIdentity(backendName = 'wasm'): void {
  const current = tf.getKernel('Identity', backendName) as
    | (tf.KernelConfig & { [ALIASING]?: true })
    | undefined;
  if (!current || current[ALIASING]) return;
  const copying = current.kernelFunc;
  const config: tf.KernelConfig & { [ALIASING]: true } = {
    kernelName: 'Identity',
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const backend = args.backend as unknown as Partial<RefCountingBackend>;
      if (x.dtype === 'string' || typeof backend.incRef !== 'function') return copying(args);
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
    [ALIASING]: true,
  };
  tf.unregisterKernel('Identity', backendName);
  tf.registerKernel(config);
}

/**
 * Whether `backendName`'s `Identity` is the aliasing one ({@link installAliasingIdentity}):
 * then `tf.clone`, and the tensors a gradient saves, cost no copy.
 *
 * @example
 * await initBackend('wasm');
 * identityAliases(); // true
 */
export function identityAliases(backendName = 'wasm'): boolean {
  const current = tf.getKernel('Identity', backendName) as
    | (tf.KernelConfig & { [ALIASING]?: true })
    | undefined;
  return current?.[ALIASING] === true;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions extends DenseMathOptions {
  /**
   * The wasm backend's matMul engine (default `auto`: OpenBLAS when it loads, else stock
   * wasm kernels); see `initDenseMath` and docs/dense-math.md. Ignored by cpu and gpu unless `blas`,
   * which they refuse.
   */
  denseMath?: DenseMathChoice;
}

/**
 * Load and activate a tfjs backend and choose its dense-math engine; resolves with the
 * active tfjs backend name. Idempotent; switching backends later is allowed (tensors of
 * the old backend stay there). `denseMathInfo()` tells which engine runs.
 *
 * @example
 * const name = await initBackend('wasm'); // 'wasm', matMuls on OpenBLAS where installed
 * await initBackend('wasm', { denseMath: 'wasm' }); // tfjs's own kernels
 */
export async function initBackend(
  choice: BackendChoice = 'wasm',
  options: InitBackendOptions = {},
): Promise<string> {
  if (!(choice in TFJS_BACKEND_NAME)) {
    throw new BackendUnavailableError(
      choice,
      `unknown backend "${String(choice)}" (choose wasm, cpu or gpu)`,
    );
  }
  const name = TFJS_BACKEND_NAME[choice];
  const { denseMath = 'auto', ...denseMathOptions } = options;
  if (tf.getBackend() === name) {
    if (choice === 'wasm') installAliasingIdentity();
    initDenseMath(denseMath, denseMathOptions);
    return name;
  }
  await load(choice);
  const ok = await tf.setBackend(name);
  if (!ok)
    throw new BackendUnavailableError(
      choice,
      `tfjs could not initialise backend "${name}" (for --device ${choice})`,
    );
  await tf.ready();
  if (choice === 'wasm') installAliasingIdentity();
  initDenseMath(denseMath, denseMathOptions);
  return tf.getBackend();
}

/**
 * The backend to compute on when the caller chose none: `wasm` (the documented default),
 * initialised here unless some tfjs backend is already active (set with
 * {@link initBackend} or `tf.setBackend`, or picked by tfjs at a first tensor). Library
 * entry points that are async (e.g. `simulateCluster`) call it so a run never falls back
 * silently to tfjs's slow `cpu` backend and its "install the node backend" banner.
 *
 * @example
 * await ensureBackend(); // 'wasm' in a fresh process; the active backend otherwise
 */
export async function ensureBackend(): Promise<string> {
  return tf.engine().backendName ? tf.getBackend() : initBackend('wasm');
}
