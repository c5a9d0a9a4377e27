/**
 * The semi-synchronous training rule, without a pipeline: the reference
 * `TrainPipelineSemiSync` is checked against (bit for bit). One batch at a time, calling
 * the sharded modules and the optimizer directly, in the order that *defines* semi-sync:
 *
 * ```
 * pooled(0) = lookup(0)
 * for i = 0, 1, …:
 *   forward(i) with pooled(i)                  dense part, loss, gradients
 *   if i ≥ startBatch: pooled(i+1) = lookup(i+1)   ← before step i: tables as of step i−1
 *   backward(i); step(i)                       embedding step, then the dense step
 *                                              (stashGradients: with batch i−1's gradients;
 *                                               none at startBatch, so no dense step there)
 *   if i < startBatch: pooled(i+1) = lookup(i+1)   ← after step i: synchronous
 * end of data: the last stashed dense gradients are applied
 * ```
 * `lookup` is the module's input dist then compute + output dist. Every rank of a group
 * runs this on its own local batches at the same time (the modules' collectives pair up).
 *
 * @example
 * const { losses } = await staleReferenceTrain({ model, optimizer, batches, startBatch: 2 });
 */
import type { PooledOutput, ShardedModuleContract } from '../protocol/index.ts';
import type { Model } from '../modules/module.ts';
import type { Batch } from '../tensors/batch.ts';
import { planModules } from '../pipeline/module-plan.ts';
import { runDenseStep, type ResolvedCall } from '../../actors/dense-step.ts';
import { accumulateDense, type PipelineOptimizer } from '../../actors/pipeline-optimizer.ts';
import { splitOptimizer } from '../../actors/split-step.ts';

export interface StaleReferenceOptions {
  model: Model<Batch>;
  optimizer: PipelineOptimizer;
  batches: readonly Batch[];
  /** First batch whose successor is looked up before its step (default 0). */
  startBatch?: number;
  /** TorchRec's stash_gradients (default false). */
  stashGradients?: boolean;
}

export interface StaleReferenceResult {
  losses: number[];
  outputs: Float32Array[];
}

interface Looked {
  module: ShardedModuleContract;
  context: unknown;
  output: PooledOutput;
  grad: Float32Array | null;
}

async function lookup(
  plan: ReturnType<typeof planModules>,
  batch: Batch,
  index: number,
): Promise<Looked[]> {
  const out: Looked[] = [];
  for (const p of plan.pipelined) {
    const context = p.module.createContext(index);
    const data = await p.module.inputDist(context, p.extract(batch)).wait();
    await data.wait();
    const output = await p.module.computeAndOutputDist(context);
    out.push({ module: p.module, context, output, grad: null });
  }
  return out;
}

interface FlatGradients {
  flattenGradients(): Float32Array;
  loadFlatGradients(flat: Float32Array): void;
}

function flat(o: unknown): FlatGradients {
  const f = o as Partial<FlatGradients> | undefined;
  if (typeof f?.flattenGradients !== 'function' || typeof f.loadFlatGradients !== 'function')
    throw new TypeError(
      'stashGradients needs a dense optimizer with flat gradients (SGD, Adagrad)',
    );
  return f as FlatGradients;
}

export async function staleReferenceTrain(o: StaleReferenceOptions): Promise<StaleReferenceResult> {
  const startBatch = o.startBatch ?? 0;
  const losses: number[] = [];
  const outputs: Float32Array[] = [];
  if (o.batches.length === 0) return { losses, outputs };
  const plan = planModules(o.model, o.batches[0]);
  if (plan.notPipelined.length > 0)
    throw new Error('staleReferenceTrain: every sharded module must take its input from the batch');
  const { dense, sparse } = splitOptimizer(o.optimizer);
  let stash: Float32Array | null = null;
  let pooled = await lookup(plan, o.batches[0], 0);
  for (let i = 0; i < o.batches.length; i++) {
    const current = pooled;
    const calls: ResolvedCall[] = current.map((c) => ({
      module: c.module,
      callIndex: 0,
      output: c.output,
      setGrad: (g: Float32Array) => {
        c.grad = g;
      },
    }));
    const result = runDenseStep({
      model: o.model,
      batch: o.batches[i],
      calls,
      training: true,
      lossScale: 1,
      amp: false,
    });
    losses.push(result.loss);
    outputs.push(result.output);
    const next = i + 1 < o.batches.length ? i + 1 : null;
    // Semi-sync: the next batch is looked up before this batch's step (stale by one step).
    if (next !== null && i >= startBatch) pooled = await lookup(plan, o.batches[next], next);
    if (result.denseGrads) {
      accumulateDense(o.optimizer, result.denseGrads);
      for (const g of result.denseGrads.values()) g.dispose();
    }
    for (const c of current) {
      if (!c.grad)
        throw new Error(
          `stale reference: batch ${i}: the dense step set no gradient for a sharded module`,
        );
      await c.module.backward(c.context, c.grad);
    }
    await o.optimizer.synchronize?.();
    for (const part of sparse) await part.step(1);
    if (o.stashGradients && i >= startBatch) {
      const mine = flat(dense).flattenGradients();
      const previous = stash;
      stash = mine;
      if (previous) {
        flat(dense).loadFlatGradients(previous);
        await dense?.step(1);
      } else await dense?.zeroGrad();
    } else await dense?.step(1);
    // Synchronous phase: the next batch is looked up after the step.
    if (next !== null && i < startBatch) pooled = await lookup(plan, o.batches[next], next);
  }
  if (stash) {
    flat(dense).loadFlatGradients(stash);
    await dense?.step(1);
  }
  return { losses, outputs };
}
