/**
 * `PostprocModule`: a module between the batch and a sharded module's input — a feature
 * transform, an id remapping — that the pipelines can run ahead (TorchRec's pipelined
 * postproc). It must be a pure function of its input with no trainable parameters.
 *
 * The model tracer finds a postproc module whose input comes straight from the batch and
 * whose output is a sharded module's input; the pipeline then runs `runAhead` on the
 * data-dist stage a batch early (so the sharded module behind it is pipelined), and the
 * model's own call of `forward` on that batch returns the result computed ahead.
 *
 * @example
 * class RemapIds extends PostprocModule<KeyedJaggedTensor, KeyedJaggedTensor> {
 *   protected transform(kjt: KeyedJaggedTensor) { return remap(kjt); }
 * }
 * // in the model: this.ebc.forward(this.remap.forward(batch.sparse))
 */
import { Module } from './module.ts';

export abstract class PostprocModule<In = unknown, Out = unknown> extends Module {
  readonly isPipelineablePostproc = true as const;
  private readonly ahead = new WeakMap<object, Out>();

  /** The transform itself (pure: same input, same output). */
  protected abstract transform(input: In): Out;

  /** The transform of `input`, or the result already computed ahead for this very input. */
  forward(input: In): Out {
    if (typeof input === 'object' && input !== null) {
      const hit = this.ahead.get(input);
      if (hit !== undefined) return hit;
    }
    return this.transform(input);
  }

  /** Pipelines: compute on the data-dist stage and keep the result for the model's `forward`. */
  runAhead(input: In): Out {
    const out = this.transform(input);
    if (typeof input === 'object' && input !== null) this.ahead.set(input, out);
    return out;
  }
}

/** Type guard used by the tracer. */
export function isPostprocModule(x: unknown): x is PostprocModule {
  return x instanceof PostprocModule;
}
