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
    throw new BackendUnavailableError('gpu', `backend "gpu": loading ${GPU_PACKAGE} failed: ${String(error)}`, { cause: error });
  }
}

/**
 * Load and activate a tfjs backend; resolves with the active tfjs backend name.
 * Idempotent; switching backends later is allowed (tensors of the old backend stay there).
 *
 * @example
 * const name = await initBackend('wasm'); // 'wasm'
 */
export async function initBackend(choice: BackendChoice = 'wasm'): Promise<string> {
  if (!(choice in TFJS_BACKEND_NAME)) {
    throw new BackendUnavailableError(choice, `unknown backend "${String(choice)}" (choose wasm, cpu or gpu)`);
  }
  const name = TFJS_BACKEND_NAME[choice];
  if (tf.getBackend() === name) return name;
  await load(choice);
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendUnavailableError(choice, `tfjs could not initialise backend "${name}" (for --device ${choice})`);
  await tf.ready();
  return tf.getBackend();
}
