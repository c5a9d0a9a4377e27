/**
 * State of a sharded embedding collection: per-rank shard state, assembly of the logical
 * (whole-table) state when every rank's state is at hand in one process, loading either
 * form back, and plan-independent parameter summaries.
 *
 * Logical state is the unsharded `EmbeddingBagCollection`'s `EbcStateDict`: one
 * `[rows, dim]` table per name, one Adagrad momentum per row, feature-processor parameters.
 * Any plan can load any logical state (re-sharding a checkpoint).
 *
 * @example
 * const logical = assembleStateDict(ranks.map((m) => m.stateDict()));
 * logical.tables.t_user; // Float32Array [rows * dim], same for every plan
 * otherPlanModule.loadStateDict(logical);
 */
import type { EbcStateDict, ParamSummary } from '../embedding/embedding-bag-collection.ts';
import type { EmbeddingBagConfig } from '../embedding/config.ts';
import type { FusedOptimizerState } from '../embedding/fused-optimizers.ts';
import type { EmbeddingShardState, EmbeddingTableShard } from '../embedding/table-shard.ts';
import type { FeatureProcessorMap } from '../feature-processors/feature-processor.ts';
import type { ShardingPlan } from './plan.ts';

/** What one rank's `stateDict()` returns. */
export interface ShardedEbcStateDict {
  kind: 'sharded-ebc';
  rank: number;
  plan: ShardingPlan;
  shards: EmbeddingShardState[];
  /** Replicated on every rank. */
  featureProcessors: Record<string, Float32Array>;
}

/** Partial sums for one logical parameter; all-reduce (sum) `sumSquares` and `sum` over ranks, then `l2 = sqrt(sumSquares)`. */
export interface EmbeddingParamsPartial {
  shape: number[];
  sumSquares: number;
  sum: number;
}

/**
 * One rank's state (copies).
 *
 * @example
 * shardedStateDict(0, plan, shards, undefined).shards.length;
 */
export function shardedStateDict(
  rank: number,
  plan: ShardingPlan,
  shards: readonly EmbeddingTableShard[],
  fps: FeatureProcessorMap | undefined,
): ShardedEbcStateDict {
  const featureProcessors: Record<string, Float32Array> = {};
  for (const [f, p] of Object.entries(fps ?? {})) featureProcessors[f] = p.param.slice();
  return {
    kind: 'sharded-ebc',
    rank,
    plan,
    shards: shards.map((s) => s.stateDict()),
    featureProcessors,
  };
}

function isSharded(sd: ShardedEbcStateDict | EbcStateDict): sd is ShardedEbcStateDict {
  return (sd as ShardedEbcStateDict).kind === 'sharded-ebc';
}

/**
 * Load `shards` (and processors) from a sharded state of the same plan, or slice them out of
 * a logical state. Throws naming the table when something is missing or mis-shaped.
 *
 * @example
 * loadShardedState(localShards, processors, assembleStateDict(allRankStates));
 */
export function loadShardedState(
  shards: readonly EmbeddingTableShard[],
  fps: FeatureProcessorMap | undefined,
  sd: ShardedEbcStateDict | EbcStateDict,
): void {
  for (const shard of shards) {
    const name = shard.table.name;
    if (isSharded(sd)) {
      const b = shard.block;
      const st = sd.shards.find(
        (s) =>
          s.table === name &&
          s.rowStart === b.rowStart &&
          s.rowEnd === b.rowEnd &&
          s.colStart === b.colStart &&
          s.colEnd === b.colEnd,
      );
      if (!st)
        throw new Error(
          `loadStateDict: the sharded state has no shard of table '${name}' rows [${b.rowStart}, ${b.rowEnd}) cols [${b.colStart}, ${b.colEnd}) (load a logical state to re-shard)`,
        );
      shard.loadStateDict(st);
    } else {
      shard.loadStateDict(sliceLogical(shard, sd));
    }
  }
  for (const [f, p] of Object.entries(fps ?? {})) {
    const v = sd.featureProcessors[f];
    if (!v || v.length !== p.param.length)
      throw new Error(`loadStateDict: feature processor '${f}' state missing or of wrong length`);
    p.param.set(v);
  }
}

function sliceLogical(shard: EmbeddingTableShard, sd: EbcStateDict): EmbeddingShardState {
  const { table, block } = shard;
  const full = sd.tables[table.name];
  const opt = sd.optimizer[table.name];
  if (!full || !opt)
    throw new Error(`loadStateDict: the logical state has no table '${table.name}'`);
  if (full.length !== table.rows * table.dim)
    throw new Error(
      `loadStateDict: table '${table.name}' has ${full.length} values, expected ${table.rows} × ${table.dim}`,
    );
  const width = block.colEnd - block.colStart;
  const weights = new Float32Array((block.rowEnd - block.rowStart) * width);
  for (let r = block.rowStart; r < block.rowEnd; r++) {
    weights.set(
      full.subarray(r * table.dim + block.colStart, r * table.dim + block.colEnd),
      (r - block.rowStart) * width,
    );
  }
  const optimizer: FusedOptimizerState = { kind: opt.kind };
  if (opt.momentum) optimizer.momentum = opt.momentum.slice(block.rowStart, block.rowEnd);
  return { table: table.name, ...block, weights, optimizer };
}

/**
 * The logical state from every rank's `stateDict()` (any order; each table must be fully
 * covered). Column shards each keep the whole row's Adagrad momentum; the first is used.
 *
 * @example
 * const { tables } = assembleStateDict(modules.map((m) => m.stateDict()));
 */
export function assembleStateDict(parts: readonly ShardedEbcStateDict[]): EbcStateDict {
  if (parts.length === 0) throw new Error('assembleStateDict: no rank states given');
  const plan = parts[0].plan;
  const out: EbcStateDict = { tables: {}, optimizer: {}, featureProcessors: {} };
  for (const [name, tp] of Object.entries(plan.tables)) {
    const rows = Math.max(...tp.shards.map((s) => s.rowEnd));
    const dim = Math.max(...tp.shards.map((s) => s.colEnd));
    const table = new Float32Array(rows * dim);
    let kind: FusedOptimizerState['kind'] | undefined;
    let momentum: Float32Array | undefined;
    const momentumSet = new Uint8Array(rows);
    for (const spec of tp.shards) {
      const st = parts
        .flatMap((p) => p.shards)
        .find(
          (s) =>
            s.table === name &&
            s.rowStart === spec.rowStart &&
            s.colStart === spec.colStart &&
            s.rowEnd === spec.rowEnd &&
            s.colEnd === spec.colEnd,
        );
      if (!st)
        throw new Error(
          `assembleStateDict: no rank state holds table '${name}' rows [${spec.rowStart}, ${spec.rowEnd}) cols [${spec.colStart}, ${spec.colEnd}) (rank ${spec.rank})`,
        );
      const width = st.colEnd - st.colStart;
      for (let r = st.rowStart; r < st.rowEnd; r++) {
        table.set(
          st.weights.subarray((r - st.rowStart) * width, (r - st.rowStart + 1) * width),
          r * dim + st.colStart,
        );
      }
      kind = st.optimizer.kind;
      if (st.optimizer.momentum) {
        momentum ??= new Float32Array(rows);
        for (let r = st.rowStart; r < st.rowEnd; r++) {
          if (momentumSet[r]) continue;
          momentum[r] = st.optimizer.momentum[r - st.rowStart];
          momentumSet[r] = 1;
        }
      }
    }
    out.tables[name] = table;
    out.optimizer[name] = momentum ? { kind: kind!, momentum } : { kind: kind! };
  }
  for (const [f, v] of Object.entries(parts[0].featureProcessors))
    out.featureProcessors[f] = v.slice();
  return out;
}

/**
 * Whole tables by name from every rank's module (or state) in one process.
 *
 * @example
 * assembleTables(ranks).t_user; // Float32Array [rows * dim]
 */
export function assembleTables(
  modules: readonly { stateDict(): ShardedEbcStateDict }[],
): Record<string, Float32Array> {
  return assembleStateDict(modules.map((m) => m.stateDict())).tables;
}

/**
 * Local partial sums per logical parameter: tables in config order (only local shards
 * contribute), then feature processors as `fp.<feature>` (counted only when
 * `includeReplicated`, i.e. on one rank, since every rank holds a copy).
 *
 * @example
 * const parts = ranks.map((m) => m.paramsSummaryPartial());
 * combineParamsSummaries(parts).t_user; // { shape: [rows, dim], l2, sum }
 */
export function paramsSummaryPartial(
  tables: readonly EmbeddingBagConfig[],
  shards: readonly EmbeddingTableShard[],
  fps: FeatureProcessorMap | undefined,
  includeReplicated: boolean,
): Record<string, EmbeddingParamsPartial> {
  const out: Record<string, EmbeddingParamsPartial> = {};
  for (const t of tables) {
    let sumSquares = 0;
    let sum = 0;
    for (const s of shards) {
      if (s.table.name !== t.name) continue;
      for (let i = 0; i < s.weights.length; i++) {
        sumSquares += s.weights[i] * s.weights[i];
        sum += s.weights[i];
      }
    }
    out[t.name] = { shape: [t.rows, t.dim], sumSquares, sum };
  }
  for (const [f, p] of Object.entries(fps ?? {})) {
    let sumSquares = 0;
    let sum = 0;
    if (includeReplicated) {
      for (let i = 0; i < p.param.length; i++) {
        sumSquares += p.param[i] * p.param[i];
        sum += p.param[i];
      }
    }
    out[`fp.${f}`] = { shape: [p.param.length], sumSquares, sum };
  }
  return out;
}

/**
 * Sum partials (in the given order) into `{ shape, l2, sum }` per name.
 *
 * @example
 * combineParamsSummaries([rank0.paramsSummaryPartial(), rank1.paramsSummaryPartial()]);
 */
export function combineParamsSummaries(
  partials: readonly Record<string, EmbeddingParamsPartial>[],
): Record<string, ParamSummary> {
  const out: Record<string, ParamSummary> = {};
  if (partials.length === 0) return out;
  for (const name of Object.keys(partials[0])) {
    let sq = 0;
    let sum = 0;
    for (const p of partials) {
      const e = p[name];
      if (!e) throw new Error(`combineParamsSummaries: a rank has no entry for '${name}'`);
      sq += e.sumSquares;
      sum += e.sum;
    }
    out[name] = { shape: [...partials[0][name].shape], l2: Math.sqrt(sq), sum };
  }
  return out;
}
