/**
 * How a sharded module's synchronous `forward` gets its distributed result.
 *
 * The pipeline runs each sharded module's input dist, compute and output dist for a batch
 * *before* the dense forward, turns the pooled output into a tfjs tensor (a gradient leaf),
 * and installs a `ForwardScope` while `model.forward(batch)` runs. A sharded module's
 * `forward(input)` calls `resolveShardedForward(this, input)`, which returns that tensor.
 *
 * When a sharded module is called with an input the pipeline did not precompute (its input
 * is transformed by the model, so it could not be pipelined), the scope throws
 * {@link NeedsShardedResult}; the pipeline then runs that module's dist / compute on that
 * input and calls `forward` again (results of earlier calls are kept), so every module still
 * runs correctly.
 *
 * @example
 * class MyEbc extends Module implements ShardedModuleContract<KeyedJaggedTensor, Ctx> {
 *   forward(features: KeyedJaggedTensor): tf.Tensor2D { return resolveShardedForward(this, features); }
 *   …
 * }
 */
import type * as tf from '@tensorflow/tfjs';
import type { ShardedModuleContract } from '../protocol/index.ts';

export interface ForwardScope {
  /** The tensor standing for `module`'s output on `input`, or throws NeedsShardedResult. */
  resolve(module: ShardedModuleContract, input: unknown): tf.Tensor2D;
}

/** Thrown inside `model.forward` when a sharded module's result is not yet computed. */
export class NeedsShardedResult extends Error {
  override readonly name = 'NeedsShardedResult';
  constructor(
    readonly module: ShardedModuleContract,
    readonly input: unknown,
  ) {
    super('sharded module result not computed yet (the pipeline resolves this)');
  }
}

let current: ForwardScope | undefined;

/** Run `fn` with `scope` installed (synchronously; scopes do not cross awaits). */
export function withForwardScope<T>(scope: ForwardScope, fn: () => T): T {
  const previous = current;
  current = scope;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** Called by a sharded module's `forward`. */
export function resolveShardedForward(module: ShardedModuleContract, input: unknown): tf.Tensor2D {
  if (!current) {
    throw new Error(
      'a sharded module was called outside a pipeline: run the model through TrainPipelineSparseDist, TrainPipelineBase or runUnpipelined()',
    );
  }
  return current.resolve(module, input);
}
