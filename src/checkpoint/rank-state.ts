/**
 * What a checkpoint holds of one rank, and how it is taken from and put back into the
 * rank's model, optimizers and embedding shards.
 *
 * Everything needed to resume *mid accumulation window* is here: dense parameters, the
 * dense optimizer's state including its accumulated (not yet applied) gradients, every
 * local table shard with its fused-optimizer state, and each shard's sparse gradient
 * accumulator (float64 sums, rows in first-touch order). The shards' `stateDict()` does not
 * include the accumulators, so they are read and written here through the accumulator's
 * public `forEachRow` / `offsetOf` / `data`.
 *
 * The pipeline's counters and the loss-scaler state travel alongside and are given back to
 * the new pipeline as its `resumeState`.
 *
 * @example
 * const state = captureRankState(0, { model, dense, ebc }, pipeline.exportState());
 * restoreRankState({ model: model2, dense: dense2, ebc: ebc2 }, state);
 * new TrainPipelineSparseDist({ model: model2, optimizer, device, resumeState: resumeStateOf(state) });
 */
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../modules/module.ts';
import type { DenseOptimizer, DenseOptimizerState } from '../optim/dense-optimizer.ts';
import type { GradScalerState } from '../optim/grad-scaler.ts';
import type { ShardedEmbeddingBagCollection } from '../modules/sharding/sharded-embedding-bag-collection.ts';
import type { ShardedEbcStateDict } from '../modules/sharding/sharded-state.ts';
import type { PipelineState } from '../protocol/index.ts';

/** The accumulated, not yet applied gradient of one table shard. */
export interface ShardGradState {
  table: string;
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
  /** Width of each gradient row. */
  width: number;
  /** Local rows holding a gradient, in first-touch order. */
  rows: Int32Array;
  /** `[rows.length, width]` float64 sums. */
  values: Float64Array;
}

/** The pipeline's counters as stored (the scaler is stored beside them). */
export type PipelineCountersState = Omit<PipelineState, 'gradScaler'>;

/** Everything a checkpoint holds of one rank. */
export interface RankCheckpointState {
  rank: number;
  pipeline: PipelineCountersState;
  gradScaler: GradScalerState | null;
  dense: {
    /** This rank's replica of the dense parameters, by the model's parameter name. */
    params: Record<string, Float32Array>;
    optimizer: DenseOptimizerState;
  };
  sparse: {
    state: ShardedEbcStateDict;
    grads: ShardGradState[];
  };
}

/** The parts of a rank a checkpoint reads and writes. */
export interface CheckpointableRank {
  model: Module;
  dense: DenseOptimizer;
  ebc: ShardedEmbeddingBagCollection;
}

/**
 * Copy a rank's state (take it between `progress` calls).
 *
 * @example
 * const state = captureRankState(pg.rank, { model, dense, ebc }, pipeline.exportState());
 */
export function captureRankState(
  rank: number,
  parts: CheckpointableRank,
  pipeline: PipelineState,
): RankCheckpointState {
  const params: Record<string, Float32Array> = {};
  for (const [name, v] of parts.model.namedParameters())
    params[name] = Float32Array.from(v.dataSync() as Float32Array);
  const grads = parts.ebc.localShards().map((shard): ShardGradState => {
    const width = shard.grad.width;
    const rows: number[] = [];
    const values = new Float64Array(shard.grad.size * width);
    shard.grad.forEachRow((row, data, offset) => {
      values.set(data.subarray(offset, offset + width), rows.length * width);
      rows.push(row);
    });
    return { table: shard.table.name, ...shard.block, width, rows: Int32Array.from(rows), values };
  });
  const { gradScaler, ...counters } = pipeline;
  return {
    rank,
    pipeline: counters,
    gradScaler: gradScaler ?? null,
    dense: { params, optimizer: parts.dense.exportState() },
    sparse: { state: parts.ebc.stateDict(), grads },
  };
}

/**
 * Load a captured state into a freshly built rank with the same configuration and plan.
 * Everything is checked before anything changes; throws naming the parameter, table or
 * field that does not fit.
 *
 * @example
 * restoreRankState({ model, dense, ebc }, checkpoint.ranks[pg.rank]);
 */
export function restoreRankState(parts: CheckpointableRank, state: RankCheckpointState): void {
  const variables = new Map(parts.model.namedParameters());
  for (const name of Object.keys(state.dense.params)) {
    if (!variables.has(name))
      throw new Error(`dense parameter '${name}' is not a parameter of this model`);
  }
  for (const [name, v] of variables) {
    const values = state.dense.params[name];
    if (!values) throw new Error(`dense parameter '${name}' is missing`);
    if (values.length !== v.size)
      throw new Error(
        `dense parameter '${name}' has ${values.length} values, the model's has ${v.size} (shape [${v.shape.join(', ')}])`,
      );
  }
  const shards = parts.ebc.localShards();
  const gradOf = new Map(state.sparse.grads.map((g) => [shardKey(g), g]));
  for (const shard of shards) {
    const key = shardKey({ table: shard.table.name, ...shard.block });
    const g = gradOf.get(key);
    if (!g) throw new Error(`no gradient accumulator for shard ${key}`);
    if (g.width !== shard.grad.width)
      throw new Error(
        `gradient accumulator of shard ${key} has width ${g.width}, expected ${shard.grad.width}`,
      );
    if (g.values.length !== g.rows.length * g.width)
      throw new Error(
        `gradient accumulator of shard ${key} has ${g.values.length} values for ${g.rows.length} rows × ${g.width}`,
      );
    const nRows = shard.block.rowEnd - shard.block.rowStart;
    for (const r of g.rows)
      if (!(r >= 0 && r < nRows))
        throw new Error(
          `gradient accumulator of shard ${key} holds row ${r}, outside [0, ${nRows})`,
        );
  }
  if (gradOf.size !== shards.length)
    throw new Error(
      `the state has ${gradOf.size} shard accumulators, this rank holds ${shards.length} shards`,
    );

  parts.dense.importState(state.dense.optimizer);
  parts.ebc.loadStateDict(state.sparse.state);
  for (const [name, v] of variables) {
    const t = tf.tensor(state.dense.params[name], v.shape, 'float32');
    v.assign(t);
    t.dispose();
  }
  for (const shard of shards) {
    const key = shardKey({ table: shard.table.name, ...shard.block });
    const g = gradOf.get(key);
    if (!g) throw new Error(`restoreRankState: no gradient accumulator for shard ${key}`);
    shard.grad.clear();
    g.rows.forEach((row, i) => {
      const offset = shard.grad.offsetOf(row);
      shard.grad.data.set(g.values.subarray(i * g.width, (i + 1) * g.width), offset);
    });
  }
}

/**
 * The `resumeState` option of a pipeline continuing from `state`.
 *
 * @example
 * new TrainPipelineSparseDist({ model, optimizer, device, resumeState: resumeStateOf(state) });
 */
export function resumeStateOf(state: RankCheckpointState): PipelineState {
  return { ...state.pipeline, gradScaler: state.gradScaler ?? undefined };
}

function shardKey(s: {
  table: string;
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}): string {
  return `'${s.table}' rows [${s.rowStart}, ${s.rowEnd}) cols [${s.colStart}, ${s.colEnd})`;
}
