/**
 * `Module`: the base of every model part (TorchRec / PyTorch `nn.Module` in spirit).
 *
 * A model is a `Module` whose **synchronous** `forward(batch)` returns `{ losses, output }`.
 * Forward is synchronous because dense gradients come from tfjs's tape, which only records
 * synchronous code. Sharded modules are ordinary properties of the model; their collectives
 * (input dist, output dist) run *before* the dense forward, driven by the pipeline, and their
 * `forward` returns the already-distributed result (see `forward-scope.ts`).
 *
 * Parameters are `tf.Variable`s held in properties; children are `Module` properties (or
 * arrays of them). `namedParameters()` walks both, in property order, so names are stable.
 *
 * @example
 * class Tiny extends Module {
 *   w = tf.variable(tf.zeros([4, 1]), true, 'w');
 *   forward(batch: Batch) {
 *     const logits = tf.matMul(tf.tensor2d(batch.dense, [batch.batchSize, 4]), this.w);
 *     return { losses: tf.losses.sigmoidCrossEntropy(tf.tensor2d(batch.labels, [batch.batchSize, 1]), logits), output: logits };
 *   }
 * }
 */
import * as tf from '@tensorflow/tfjs';

export interface ModelOutput {
  /** Scalar loss (mean over the local batch). */
  losses: tf.Scalar | tf.Tensor;
  /** Anything the user wants back from `progress` (e.g. logits). */
  output: tf.Tensor;
}

export abstract class Module {
  /** Training mode: pipelines run backward and optimizer only when true. */
  training = true;

  /** Put this module and every child in training (`true`) or eval (`false`) mode. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** This module and every descendant, with dotted paths ('' for this one). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [key, value] of Object.entries(this)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (value instanceof Module) out.push(...value.namedModules(path));
      else if (Array.isArray(value)) {
        value.forEach((v, i) => {
          if (v instanceof Module) out.push(...v.namedModules(`${path}.${i}`));
        });
      }
    }
    return out;
  }

  /** Dense trainable parameters (tf.Variable) of this module and its children, by dotted name. */
  namedParameters(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [key, value] of Object.entries(this)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (value instanceof tf.Variable) {
        if (value.trainable) out.push([path, value]);
      } else if (value instanceof Module) out.push(...value.namedParameters(path));
      else if (Array.isArray(value)) {
        value.forEach((v, i) => {
          if (v instanceof tf.Variable && v.trainable) out.push([`${path}.${i}`, v]);
          else if (v instanceof Module) out.push(...v.namedParameters(`${path}.${i}`));
        });
      }
    }
    return out;
  }
}

/** A model: a module whose forward takes a batch and returns losses and output. */
export abstract class Model<B = unknown> extends Module {
  abstract forward(batch: B): ModelOutput;

  /**
   * What the pipeline's dense ops cost on a simulated device (flops, or a duration priced
   * from shapes); `undefined` (the default): only the device's fixed overrides count.
   * Shapes-only models of large clusters answer it (docs/simulation.md).
   *
   * @example
   * override denseOpCost(op: DenseOp) { return { flops: op === 'backward' ? 2 * this.fwdFlops : this.fwdFlops }; }
   */
  denseOpCost(_op: DenseOp): DenseOpCost | undefined {
    return undefined;
  }
}

/** The pipeline's dense ops on the default stream. */
export type DenseOp = 'forward' | 'backward' | 'optimizer';

/** Cost fields a model may give its dense ops (see `OpCost`). */
export interface DenseOpCost {
  flops?: number;
  bytes?: number;
  ms?: number;
}
