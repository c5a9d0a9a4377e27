/**
 * What a pipeline needs of its optimizer: the `StepOptimizer` contract of `src/optim`
 * (zeroGrad / step(scale) / synchronize / hasNonFiniteGrads) plus a way to add one
 * micro-batch's dense gradients. A `CombinedOptimizer` whose `dense` part is a
 * `DenseOptimizer` qualifies, and so does a bare `DenseOptimizer`.
 *
 * @example
 * accumulateDense(optimizer, grads);
 */
import type * as tf from '@tensorflow/tfjs';
import type { StepOptimizer } from '../src/optim/combined-optimizer.ts';

export interface Accumulating {
  accumulate(grads: ReadonlyMap<string, tf.Tensor | undefined>): void;
}

export type PipelineOptimizer = StepOptimizer &
  Partial<Accumulating> & { get?(name: string): StepOptimizer | undefined };

function isAccumulating(x: unknown): x is Accumulating {
  return typeof (x as Accumulating | undefined)?.accumulate === 'function';
}

/** Add dense gradients to the optimizer's accumulation buffers. */
export function accumulateDense(
  optimizer: PipelineOptimizer,
  grads: ReadonlyMap<string, tf.Tensor | undefined>,
): void {
  if (isAccumulating(optimizer)) {
    optimizer.accumulate(grads);
    return;
  }
  const dense = optimizer.get?.('dense');
  if (isAccumulating(dense)) {
    dense.accumulate(grads);
    return;
  }
  if (grads.size === 0) return;
  throw new TypeError(
    'the optimizer cannot accumulate dense gradients: pass a DenseOptimizer (SGD, Adagrad) or a CombinedOptimizer with a dense part',
  );
}
