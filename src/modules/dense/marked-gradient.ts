/**
 * A gradient of our own registered for a tfjs kernel, marked in tfjs's (global) gradient
 * registry so that installing it is idempotent across module copies, and remembering the
 * gradient it replaced so that it can be put back.
 *
 * @example
 * const grad = markedGradient('sparsepipe.myGrad', { kernelName: 'BatchMatMul', gradFunc });
 * grad.install();      // repeated calls are no-ops
 * grad.isInstalled();  // true
 * grad.restore();      // tfjs's own gradient again
 */
import * as tf from '@tensorflow/tfjs';

export interface MarkedGradient {
  /** True when this gradient is the one tfjs uses for the kernel. */
  isInstalled(): boolean;
  /** Register it (a no-op when it is already the registered one). */
  install(): void;
  /** Put back the gradient registered before {@link MarkedGradient.install} (none: unregister). */
  restore(): void;
}

type Marked = tf.GradConfig & { previous?: tf.GradConfig } & Record<string, unknown>;

export function markedGradient(mark: string, config: tf.GradConfig): MarkedGradient {
  const kernel = config.kernelName;
  const current = () => tf.getGradient(kernel) as Marked | undefined;
  const isInstalled = () => current()?.[mark] === true;
  return {
    isInstalled,
    install() {
      if (isInstalled()) return;
      const marked: Marked = { ...config, [mark]: true, previous: current() };
      tf.registerGradient(marked);
    },
    restore() {
      const installed = current();
      if (installed?.[mark] !== true) return;
      if (installed.previous) tf.registerGradient(installed.previous);
      else tf.unregisterGradient(kernel);
    },
  };
}
