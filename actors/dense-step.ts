/**
 * The dense part of one iteration, run as the body of the `forward` op on the default
 * stream: the pooled outputs of the sharded modules become tfjs leaf tensors, the model's
 * synchronous forward runs under tfjs's tape, and (training) the gradients w.r.t. every
 * dense parameter and every pooled leaf come out of one `gradients` call.
 *
 * On tfjs the dense backward is computed by the tape together with the forward; the
 * pipeline's `backward` span then covers the sparse backward (reverse all-to-all and
 * row-gradient scatter) and the gradient accumulation.
 *
 * @example
 * const r = runDenseStep({ model, batch, calls, training: true, lossScale: 1 / 4, amp: false });
 * // inf/NaN gradients are found later, by the optimizer after the all-reduce (GradScaler)
 * r.loss; r.denseGrads; // leaf gradients are written to the module calls
 */
import * as tf from '@tensorflow/tfjs';
import type { PooledOutput, ShardedModuleContract } from '../src/protocol/index.ts';
import { withForwardScope } from '../src/modules/forward-scope.ts';
import type { Model } from '../src/modules/module.ts';
import { roundToBfloat16 } from '../src/modules/amp.ts';
import { tensorFloats } from '../src/modules/dense/tensor-floats.ts';
import { Batch } from '../src/tensors/index.ts';
import type { DenseResult } from './batch-context.ts';

export interface ResolvedCall {
  module: ShardedModuleContract;
  /** 0 for pipelined modules; the k-th call for resolved non-pipelined ones. */
  callIndex: number;
  output: PooledOutput;
  /** Receives the gradient w.r.t. the pooled output. */
  setGrad(grad: Float32Array): void;
}

export interface DenseStepInput {
  model: Model<Batch>;
  batch: Batch;
  calls: readonly ResolvedCall[];
  training: boolean;
  /** Multiplies the loss before differentiation (1/A × loss-scaler scale). */
  lossScale: number;
  amp: boolean;
}

/**
 * A model whose dense part is shapes-only (docs/design.md "Architecture" `compute: 'shapes'`): no tfjs math at
 * all. The step reports loss 0, a zero output of one value per example and zero gradients
 * w.r.t. the pooled outputs (correctly sized), and no dense gradients. Every sharded module
 * of such a model must be pipelined (there is no forward to find the others).
 *
 * @example
 * const timingOnly = { shapesOnlyDense: true as const }; // a model whose dense step is timed, not computed
 */
export interface ShapesOnlyDenseModel {
  readonly shapesOnlyDense: true;
}

export function isShapesOnlyDense(model: unknown): model is ShapesOnlyDenseModel {
  return (model as Partial<ShapesOnlyDenseModel> | null)?.shapesOnlyDense === true;
}

export function runDenseStep(input: DenseStepInput): DenseResult {
  if (isShapesOnlyDense(input.model)) return shapesOnlyDenseStep(input);
  const { model, training } = input;
  const batch = input.amp ? withBfloat16Dense(input.batch) : input.batch;
  const byModule = new Map<
    ShardedModuleContract,
    Map<number, { call: ResolvedCall; leaf: tf.Tensor2D }>
  >();
  const leaves: tf.Tensor2D[] = [];
  for (const call of input.calls) {
    const values = input.amp ? roundToBfloat16(call.output.values) : call.output.values;
    const width = call.module.outputWidth;
    const leaf = tf.tensor2d(values, [call.output.batchSize, width]);
    leaves.push(leaf);
    const m = byModule.get(call.module) ?? new Map();
    m.set(call.callIndex, { call, leaf });
    byModule.set(call.module, m);
  }
  const missing: DenseResult['missing'] = [];
  const counters = new Map<ShardedModuleContract, number>();
  const scope = {
    resolve(module: ShardedModuleContract, moduleInput: unknown): tf.Tensor2D {
      const k = counters.get(module) ?? 0;
      counters.set(module, k + 1);
      const hit = byModule.get(module)?.get(k);
      if (hit) return hit.leaf;
      missing.push({ module, input: moduleInput, callIndex: k });
      return tf.zeros([batch.batchSize, module.outputWidth]) as tf.Tensor2D;
    },
  };

  let completed = false;
  let lossT: tf.Tensor | undefined;
  let outputT: tf.Tensor | undefined;
  const forward = (): tf.Scalar => {
    counters.clear();
    const out = withForwardScope(scope, () => model.forward(batch));
    const l = (out.losses.rank === 0 ? out.losses : tf.sum(out.losses)) as tf.Scalar;
    lossT = tf.keep(l);
    outputT = tf.keep(out.output);
    return training ? (tf.mul(l, input.lossScale) as tf.Scalar) : l;
  };

  try {
    if (!training) {
      tf.tidy(forward);
      return finish(null);
    }
    const params = model.namedParameters();
    const xs: tf.Tensor[] = [...params.map(([, v]) => v), ...leaves];
    const { value, grads } = tf.engine().gradients(forward, xs, undefined, true);
    value.dispose();
    if (missing.length > 0) {
      for (const g of grads) g?.dispose();
      return finish(null);
    }
    const denseGrads = new Map<string, tf.Tensor>();
    params.forEach(([name, v], i) => denseGrads.set(name, grads[i] ?? tf.zerosLike(v)));
    leaves.forEach((leaf, j) => {
      const g = grads[params.length + j];
      // One copy the module owns (dataSync on wasm copies out of the heap, then a slice would copy again).
      const data = g ? tensorFloats.owned(g) : new Float32Array(leaf.size);
      g?.dispose();
      input.calls[j].setGrad(data);
    });
    return finish(denseGrads);
  } finally {
    for (const leaf of leaves) leaf.dispose();
    // The leaves held the only copies the step needed: the modules may reuse their outputs,
    // unless the step did not complete or must run again with the missing calls resolved.
    if (completed && missing.length === 0)
      for (const call of input.calls) call.module.releaseOutput?.(call.output);
  }

  function finish(denseGrads: Map<string, tf.Tensor> | null): DenseResult {
    completed = true;
    const loss = lossT ? (lossT.dataSync()[0] ?? NaN) : NaN;
    const output = outputT ? tensorFloats.owned(outputT) : new Float32Array(0);
    lossT?.dispose();
    outputT?.dispose();
    return { loss, output, missing, denseGrads };
  }
}

function shapesOnlyDenseStep(input: DenseStepInput): DenseResult {
  if (input.training)
    for (const call of input.calls) call.setGrad(zeroGradient(call.output.values.length));
  return {
    loss: 0,
    output: new Float32Array(input.batch.batchSize),
    missing: [],
    denseGrads: input.training ? new Map() : null,
  };
}

/**
 * Shapes-only gradients are all zero: one read-only buffer per size is shared by every call
 * (a module's backward reads its gradient and never writes it).
 */
const zeroGradients = new Map<number, Float32Array>();
function zeroGradient(length: number): Float32Array {
  let g = zeroGradients.get(length);
  if (!g) {
    g = new Float32Array(length);
    zeroGradients.set(length, g);
  }
  return g;
}

function withBfloat16Dense(batch: Batch): Batch {
  return new Batch({
    dense: roundToBfloat16(batch.dense),
    denseDim: batch.denseDim,
    sparse: batch.sparse,
    labels: batch.labels,
    batchSize: batch.batchSize,
  });
}
