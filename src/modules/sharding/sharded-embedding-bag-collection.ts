/**
 * `ShardedEmbeddingBagCollection`: the embedding collection the pipeline drives
 * (TorchRec's `ShardedEmbeddingBagCollection`). Each rank holds only the table blocks its
 * plan gives it; ranks exchange ids and pooled vectors through the `ProcessGroup`.
 *
 * ```
 * local batch (B_local samples)
 *   └─ feature processors: positions of ids in bags  host
 *   └─ bucketize per destination rank               host
 *   └─ allToAllSplits: id counts, batch sizes       dataDist stream   ← inputDist() → outer awaitable
 *   └─ allToAllV: lengths, ids, weights             dataDist stream   ← outer.wait() → inner awaitable
 *   └─ reorder to [slot][source rank][sample]
 * computeAndOutputDist()
 *   └─ pooled lookup on local shards                default stream (kind 'lookup', by flops)
 *   └─ allToAllV pooled rows back to batch owners   default stream (kind 'outputDist')
 *      (both on `hooks.stream` when given: the fused / semi-sync lookup stream)
 *      table-/column-wise: placed; row-wise: partial sums added in rank order
 *      (a reduce-scatter), mean pooling divided by the whole bag's length
 * backward(gradOutput)
 *   └─ allToAllV pooled gradients to shard owners   default stream (kind 'collective')
 *   └─ scatter-add row gradients (accumulate)       default stream (kind 'other', by flops)
 *   └─ with feature processors: d loss / d weight → processor gradient at the id's position
 * step(scale) / zeroGrad()                          fused optimizer on local shards
 * ```
 *
 * The module's own compute ops are of kind `other` (timed by flops): fixed stage costs
 * (`--cost fwd=3,bwd=4`) describe the pipeline's forward / backward spans once, not again
 * for every module op inside them.
 *
 * **Equivalence.** Initial weights equal the unsharded `EmbeddingBagCollection`'s for the
 * same seed (init is a function of table, row and column). With the default
 * `gradReduction: 'mean'`, `step` divides the summed gradients by `worldSize`, so W ranks
 * each training on a local batch with a per-rank *mean* loss equal one rank training on the
 * concatenated batch — the same averaging data-parallel dense replicas use. Pass
 * `gradReduction: 'sum'` for TorchRec's behaviour (gradients of all ranks summed).
 *
 * Row-wise Adagrad on a column-wise table receives full-row gradients so its per-row
 * statistic is the logical row's (TorchRec would compute it per column shard).
 *
 * Feature processors must be configured identically on every rank; their parameters are
 * replicated. They are positional: the input dist carries each id's position in its bag,
 * and the owner of the id's row turns it into a weight with the processor's parameters at
 * compute time (so a batch distributed a step ahead still sees the stepped parameters —
 * pipelined equals unpipelined) and adds d loss / d weight to the processor's gradient at
 * that position. Processor gradients are all-reduced (summed, then reduced like the
 * tables') in `step`, which is therefore a collective when processors exist and
 * `worldSize > 1`.
 *
 * @example
 * const ebc = new ShardedEmbeddingBagCollection({
 *   tables, plan: planSharding(tables, pg.worldSize), seed: 1,
 *   env: { rank: pg.rank, worldSize: pg.worldSize, pg, device },
 *   optimizer: { kind: 'adagrad', lr: 0.05 },
 * });
 * const ctx = ebc.createContext(0);
 * const splits = ebc.inputDist(ctx, batch.sparse);
 * await (await splits.wait()).wait();
 * const pooled = await ebc.computeAndOutputDist(ctx);
 * await ebc.backward(ctx, gradOfPooled);
 * await ebc.step();
 */
import type * as tf from '@tensorflow/tfjs';
import type {
  Awaitable,
  BatchIndex,
  CacheFillReport,
  ComputeHooks,
  Device,
  PooledOutput,
  ProcessGroup,
  ShardedModuleContract,
  StreamName,
} from '../../protocol/index.ts';
import type { CacheStats } from '../embedding-cache/row-cache.ts';
import type { KeyedJaggedTensor } from '../../tensors/keyed-jagged-tensor.ts';
import {
  validateTableConfigs,
  type EmbeddingBagConfig,
  type PooledLayout,
} from '../embedding/config.ts';
import { createFusedOptimizer, type FusedOptimizerConfig } from '../embedding/fused-optimizers.ts';
import { checkJaggedShape } from '../embedding/kjt-bags.ts';
import { EmbeddingTableShard } from '../embedding/table-shard.ts';
import {
  featureProcessorsHaveNonFiniteGrad,
  positionsFor,
  sgdStepFeatureProcessor,
  type FeatureProcessorMap,
} from '../feature-processors/feature-processor.ts';
import { resolveShardedForward } from '../forward-scope.ts';
import { Module } from '../module.ts';
import { bucketizeInput } from './bucketize.ts';
import { validatePlan, type ShardingPlan } from './plan.ts';
import { assembleReceivedInput } from './received-input.ts';
import { buildShardLayout } from './shard-layout.ts';
import { SendBufferPool } from './send-buffer-pool.ts';
import {
  combineParamsSummaries,
  loadShardedState,
  paramsSummaryPartial,
  shardedStateDict,
  type EmbeddingParamsPartial,
  type ShardedEbcStateDict,
} from './sharded-state.ts';
import {
  fusedStepOptimizer,
  type EbcStateDict,
  type EmbeddingStepOptimizer,
  type ParamSummary,
} from '../embedding/embedding-bag-collection.ts';
import { backward } from './sharded-embedding-bag-collection/backward.ts';
import {
  cacheStatsOf,
  hasCachedShard,
  prefetchRows,
  releaseCachedRows,
} from './sharded-embedding-bag-collection/cached-rows.ts';
import {
  combineOutputs,
  denseWireLayout,
  effectiveWeights,
  localLookup,
  slotWidthSum,
  sumInts,
} from './sharded-embedding-bag-collection/lookup-and-combine.ts';
import type {
  RankShards,
  ShardedEbcContext,
  ShardedEmbeddingBagCollectionOptions,
} from './sharded-embedding-bag-collection/types.ts';

export type {
  ShardedEbcContext,
  ShardedEbcStage,
  ShardedEmbeddingBagCollectionOptions,
  ShardedEnv,
} from './sharded-embedding-bag-collection/types.ts';

export class ShardedEmbeddingBagCollection
  extends Module
  implements ShardedModuleContract<KeyedJaggedTensor, ShardedEbcContext>
{
  readonly isShardedModule = true as const;
  readonly tables: readonly EmbeddingBagConfig[];
  readonly plan: ShardingPlan;
  readonly rank: number;
  readonly worldSize: number;
  readonly optimizerConfig: FusedOptimizerConfig;
  readonly gradReduction: 'mean' | 'sum';
  readonly name: string;
  readonly featureProcessors: FeatureProcessorMap | undefined;
  private readonly pg: ProcessGroup;
  /** Channel of the input dist (issued on the dataDist stream); see {@link ShardedEnv.distPg}. */
  private readonly distPg: ProcessGroup;
  private readonly device: Device;
  /** This rank's layout, table blocks and slots: what the helpers in sharded-embedding-bag-collection/ read. */
  private readonly held: RankShards;
  /** Per-batch send buffers (pooled rows, gradients), reused; see send-buffer-pool.ts. */
  private readonly sendPool = new SendBufferPool();

  constructor(opts: ShardedEmbeddingBagCollectionOptions) {
    super();
    validateTableConfigs(opts.tables);
    validatePlan(opts.tables, opts.plan);
    const { env } = opts;
    if (env.worldSize !== opts.plan.worldSize || env.pg.worldSize !== env.worldSize) {
      throw new Error(
        `ShardedEmbeddingBagCollection: env.worldSize ${env.worldSize}, pg.worldSize ${env.pg.worldSize} and plan.worldSize ${opts.plan.worldSize} must agree`,
      );
    }
    if (env.pg.rank !== env.rank)
      throw new Error(
        `ShardedEmbeddingBagCollection: env.rank ${env.rank} differs from pg.rank ${env.pg.rank}`,
      );
    this.tables = opts.tables.map((t) => ({ ...t, features: [...t.features] }));
    this.plan = opts.plan;
    this.rank = env.rank;
    this.worldSize = env.worldSize;
    this.pg = env.pg;
    this.distPg = env.distPg ?? env.pg;
    this.device = env.device;
    this.optimizerConfig = opts.optimizer;
    this.gradReduction = opts.gradReduction ?? 'mean';
    this.name = opts.name ?? 'ebc';
    const shardLayout = buildShardLayout(this.tables, this.plan);
    const fps =
      opts.featureProcessors && Object.keys(opts.featureProcessors).length > 0
        ? opts.featureProcessors
        : undefined;
    for (const f of Object.keys(fps ?? {})) {
      if (!shardLayout.pooled.keys.includes(f))
        throw new Error(
          `ShardedEmbeddingBagCollection: feature processor for unknown feature '${f}'`,
        );
    }
    this.featureProcessors = fps;
    const shards = new Map<string, EmbeddingTableShard>();
    for (const t of this.tables) {
      const spec = this.plan.tables[t.name].shards.find((s) => s.rank === this.rank);
      if (spec) {
        const { rowStart, rowEnd, colStart, colEnd } = spec;
        shards.set(
          t.name,
          new EmbeddingTableShard({
            table: t,
            seed: opts.seed,
            optimizer: opts.optimizer,
            block: { rowStart, rowEnd, colStart, colEnd },
          }),
        );
      }
    }
    this.held = {
      name: this.name,
      worldSize: this.worldSize,
      tables: this.tables,
      shardLayout,
      shards,
      mySlots: shardLayout.slotsByRank[this.rank],
      needsFullRowGrad: createFusedOptimizer(opts.optimizer, 0).needsFullRowGrad,
      featureProcessors: fps,
    };
  }

  /** Pooled layout of the output (keys = features in table order). */
  get layout(): PooledLayout {
    return this.held.shardLayout.pooled;
  }

  get outputWidth(): number {
    return this.held.shardLayout.pooled.totalWidth;
  }

  /** The table blocks this rank holds. */
  localShards(): readonly EmbeddingTableShard[] {
    return [...this.held.shards.values()];
  }

  /** The block of table `name` this rank holds (`weights` row-major `[rowEnd-rowStart, colEnd-colStart]`), or undefined. */
  localShard(name: string): EmbeddingTableShard | undefined {
    if (!this.tables.some((t) => t.name === name))
      throw new Error(
        `${this.name}: no table '${name}' (tables: ${this.tables.map((t) => t.name).join(', ')})`,
      );
    return this.held.shards.get(name);
  }

  /** Inside a model's forward: the pooled output the pipeline computed for `features`, as a `[B_local, outputWidth]` tensor. */
  forward(features: KeyedJaggedTensor): tf.Tensor2D {
    return resolveShardedForward(this, features);
  }

  createContext(batch: BatchIndex): ShardedEbcContext {
    return { batch, state: { stage: 'created' } };
  }

  inputDist(ctx: ShardedEbcContext, input: KeyedJaggedTensor): Awaitable<Awaitable<void>> {
    if (ctx.state.stage !== 'created')
      throw new Error(`${this.name}: inputDist called twice for batch ${ctx.batch}`);
    checkJaggedShape(input, `${this.name} input (batch ${ctx.batch})`);
    // Positions (not weights) travel for processed features; see computeAndOutputDist.
    const local = positionsFor(input, this.featureProcessors);
    // Weights travel when any rank has them; a rank without fills in ones when sending.
    const bucket = bucketizeInput(local, this.held.shardLayout, {
      weighted: local.weights !== undefined,
    });
    ctx.state = { stage: 'splitsInFlight', local, bucket };
    const W = this.worldSize;
    const meta = new Int32Array(W).fill(local.stride * 2 + (local.weights ? 1 : 0));
    const label = `${this.name} b${ctx.batch}`;
    const splits = this.device.run(
      'dataDist',
      { kind: 'distSplits', bytes: 8 * W, label: `${label} splits` },
      async () => {
        const recvValueCounts = await this.distPg.allToAllSplits(bucket.valueCounts, {
          label: `${label} splits`,
        });
        const recvMeta = await this.distPg.allToAllSplits(meta, { label: `${label} batch sizes` });
        return { recvValueCounts, recvMeta };
      },
    );
    splits.catch(() => undefined);
    let inner: Awaitable<void> | undefined;
    return {
      wait: async () => {
        if (inner) return inner;
        const { recvValueCounts, recvMeta } = await splits;
        if (!inner) inner = this.startDataDist(ctx, recvValueCounts, recvMeta, label);
        return inner;
      },
    };
  }

  private startDataDist(
    ctx: ShardedEbcContext,
    recvValueCounts: Int32Array,
    recvMeta: Int32Array,
    label: string,
  ): Awaitable<void> {
    const splitsState = ctx.state;
    if (splitsState.stage !== 'splitsInFlight')
      throw new Error(
        `${this.name}: splits arrived for batch ${ctx.batch} in stage '${splitsState.stage}'`,
      );
    const { local, bucket } = splitsState;
    const W = this.worldSize;
    const batchSizes = recvMeta.map((m) => m >> 1);
    const weighted = recvMeta.some((m) => (m & 1) === 1);
    const recvLengthCounts = batchSizes.map((b) => b * this.held.mySlots.length);
    const sentValues = bucket.values.length;
    const bytes = 4 * (bucket.lengths.length + sentValues * (weighted ? 2 : 1));
    const data = this.device.run(
      'dataDist',
      { kind: 'distData', bytes, label: `${label} data` },
      async () => {
        const lengths = await this.distPg.allToAllV(
          bucket.lengths,
          bucket.lengthCounts,
          recvLengthCounts,
          { label: `${label} lengths`, donate: true },
        );
        const values = await this.distPg.allToAllV(
          bucket.values,
          bucket.valueCounts,
          recvValueCounts,
          { label: `${label} values`, donate: true },
        );
        // Another rank's batch is weighted and this one's is not: its ids weigh 1.
        const weights = weighted
          ? await this.distPg.allToAllV(
              bucket.weights ?? new Float32Array(bucket.values.length).fill(1),
              bucket.valueCounts,
              recvValueCounts,
              { label: `${label} weights`, donate: true },
            )
          : undefined;
        if (W !== batchSizes.length)
          throw new Error(
            `${this.name}: splits exchange returned ${batchSizes.length} ranks, expected ${W}`,
          );
        const received = assembleReceivedInput(
          this.held.mySlots,
          batchSizes,
          lengths,
          values,
          weights,
        );
        ctx.state = {
          stage: 'ready',
          local,
          batchSizes,
          received,
          dataDone: data,
          prefetched: null,
        };
      },
    );
    data.catch(() => undefined);
    ctx.state = { stage: 'dataInFlight', local, bucket, batchSizes, dataDone: data };
    return { wait: () => data };
  }

  async computeAndOutputDist(ctx: ShardedEbcContext, hooks?: ComputeHooks): Promise<PooledOutput> {
    const inFlight = ctx.state;
    if (inFlight.stage === 'dataInFlight') await inFlight.dataDone;
    const ready = ctx.state;
    if (ready.stage !== 'ready') {
      throw new Error(
        `${this.name}: computeAndOutputDist for batch ${ctx.batch} before its input dist completed (stage '${ready.stage}')`,
      );
    }
    const { local, batchSizes, received: recv } = ready;
    let weights: Float32Array | undefined;
    const label = `${this.name} b${ctx.batch}`;
    const nnz = recv.kjt.values.length;
    const flops =
      2 * nnz * Math.max(1, ...this.held.mySlots.map((s) => s.shard.colEnd - s.shard.colStart));
    // The fused and semi-sync pipelines run the lookup and output dist on their own stream.
    const stream = hooks?.stream ?? 'default';
    // Cached tables: rows not prefetched ahead are filled here, on the lookup's stream (exposed).
    const filled = this.hasCache ? (ready.prefetched ?? this.prefetch(ctx, stream)) : undefined;
    const sendCounts = batchSizes.map((b) => b * slotWidthSum(this.held.mySlots));
    const dense = denseWireLayout(this.held);
    const send = await this.device.run(
      stream,
      { kind: 'lookup', flops, label: `${label} lookup` },
      () => {
        weights = effectiveWeights(this.held, recv);
        return localLookup(this.held, this.sendPool, recv, weights, sumInts(sendCounts), dense);
      },
      {
        after: filled ? [ready.dataDone, filled] : [ready.dataDone],
      },
    );
    // In eval mode no backward follows: the batch's cached rows are free to go now.
    if (!this.training) this.releaseCachedRows(ctx);
    hooks?.onOutputDist?.();
    const out = await this.device.run(
      stream,
      { kind: 'outputDist', bytes: 4 * sumInts(sendCounts), label: `${label} output dist` },
      async () => {
        const B = local.stride;
        const recvCounts = Int32Array.from(
          this.held.shardLayout.slotsByRank,
          (slots) => B * slotWidthSum(slots),
        );
        // Off the default stream (a look-ahead lookup) the output dist uses the input-dist
        // channel: ordered with the input dists on every rank, since the lookup waits for its
        // batch's input dist and the next input dist is issued after it completed.
        const channel = stream === 'default' ? this.pg : this.distPg;
        const got = await channel.allToAllV(send, sendCounts, recvCounts, {
          label: `${label} output dist`,
          donate: true,
        });
        if (!dense) {
          const combined = combineOutputs(this.held, local, got);
          this.sendPool.giveBack(send); // sent, and combined into fresh rows
          return combined;
        }
        // already [sample][pooled column]: the received buffer (this rank's own) is the output
        const { keys, lengthPerKey } = this.layout;
        return { keys, lengthPerKey, batchSize: local.stride, values: got };
      },
    );
    ctx.state = { stage: 'computed', local, batchSizes, received: recv, weights };
    return out;
  }

  /**
   * The caller is done with `output` (a {@link computeAndOutputDist} result it has copied):
   * at world 1 its rows are this module's own send buffer, taken back for a later batch.
   * `output.values` is detached then (length 0): a later read finds nothing rather than
   * another batch's rows. Outputs of other shapes are left alone.
   *
   * @example
   * const pooled = await ebc.computeAndOutputDist(ctx);
   * const leaf = tf.tensor2d(pooled.values, [pooled.batchSize, ebc.outputWidth]); // a copy
   * ebc.releaseOutput(pooled); // pooled.values.length === 0 from here on
   */
  releaseOutput(output: PooledOutput): void {
    this.sendPool.reclaim(output.values);
  }

  /**
   * Scatter `gradOutput` (`[sample][pooled column]`, as `computeAndOutputDist` returned the
   * pooled rows) into the shards' gradient accumulators. `gradOutput` is read until the
   * returned promise settles (at world 1 it is sent as it is): do not write it before.
   */
  backward(ctx: ShardedEbcContext, gradOutput: Float32Array): Promise<void> {
    return backward(this.held, this.device, this.pg, this.sendPool, ctx, gradOutput);
  }

  /** Whether a local table block is cached (docs/cached-embeddings.md). */
  get hasCache(): boolean {
    return hasCachedShard(this.held);
  }

  /**
   * Cached tables: make the rows batch `ctx` will look up resident, as one `cacheFill` op on
   * `stream` costing the missed rows' bytes at the slow tier's bandwidth (estimated when the
   * op is issued). The batch's input dist must have completed. The prefetch pipeline calls
   * this a batch ahead on its own stream; otherwise `computeAndOutputDist` does, on demand.
   * Resolves immediately when no table is cached.
   */
  prefetch(ctx: ShardedEbcContext, stream: StreamName = 'default'): Promise<void> {
    return prefetchRows(this.held, this.device, this.cacheFillListeners, ctx, stream);
  }

  /**
   * Call `listener` after each cache fill with that batch's counts (pipelines publish them
   * as `cache.fill` events); returns the unsubscribe function.
   */
  onCacheFill(listener: (fill: CacheFillReport) => void): () => void {
    this.cacheFillListeners.add(listener);
    return () => this.cacheFillListeners.delete(listener);
  }

  private readonly cacheFillListeners = new Set<(fill: CacheFillReport) => void>();

  /** Unpin the cached rows batch `ctx` acquired (done by `backward`; an eval pass calls it itself). */
  releaseCachedRows(ctx: ShardedEbcContext): void {
    releaseCachedRows(this.held, ctx);
  }

  /** Cache counters of this rank's cached table blocks, by table name. */
  cacheStats(): Record<string, CacheStats> {
    return cacheStatsOf(this.held);
  }

  /** Release the slow tiers' files of cached tables. */
  close(): void {
    for (const shard of this.held.shards.values()) shard.close();
  }

  /** Apply the fused optimizer to the local shards and train feature processors; clears gradients. */
  async step(scale = 1): Promise<void> {
    const s = this.gradReduction === 'mean' ? scale / this.worldSize : scale;
    for (const shard of this.held.shards.values()) shard.step(s);
    const fps = this.featureProcessors;
    if (!fps) return;
    const list = Object.values(fps);
    if (this.worldSize > 1) {
      const flat = new Float32Array(list.reduce((a, f) => a + f.grad.length, 0));
      let o = 0;
      for (const f of list) {
        flat.set(f.grad, o);
        o += f.grad.length;
      }
      const sum = await this.pg.allReduce(flat, 'sum', {
        label: `${this.name} feature-processor grads`,
      });
      o = 0;
      for (const f of list) {
        for (let i = 0; i < f.grad.length; i++) f.grad[i] = sum[o + i];
        o += f.grad.length;
      }
    }
    for (const f of list) sgdStepFeatureProcessor(f, this.optimizerConfig.lr, s);
  }

  zeroGrad(): void {
    for (const shard of this.held.shards.values()) shard.zeroGrad();
    for (const f of Object.values(this.featureProcessors ?? {})) f.zeroGrad();
  }

  /** True when a *local* accumulated gradient holds NaN or ±Infinity (all-reduce the flag across ranks). */
  hasNonFiniteGrads(): boolean {
    for (const shard of this.held.shards.values()) if (shard.grad.hasNonFinite()) return true;
    return featureProcessorsHaveNonFiniteGrad(this.featureProcessors);
  }

  /**
   * This module seen as the pipeline's sparse optimizer (`StepOptimizer` of src/optim):
   * `zeroGrad`, `step(scale)`, `hasNonFiniteGrads` (local: all-reduce the flag), and
   * `exportState` / `importState` = `stateDict` / `loadStateDict` (fused: the shards' weights
   * and optimizer state travel together). `step` issues no device op (call it inside the
   * optimizer op); it is a collective only when feature processors exist and worldSize > 1.
   */
  get optimizer(): EmbeddingStepOptimizer<ShardedEbcStateDict> {
    return fusedStepOptimizer<ShardedEbcStateDict>(this);
  }

  /** This rank's shards and the (replicated) feature-processor parameters. */
  stateDict(): ShardedEbcStateDict {
    return shardedStateDict(
      this.rank,
      this.plan,
      [...this.held.shards.values()],
      this.featureProcessors,
    );
  }

  /** Load this rank's shards from a sharded state (same plan) or slice them from a logical one (any plan). */
  loadStateDict(sd: ShardedEbcStateDict | EbcStateDict): void {
    loadShardedState([...this.held.shards.values()], this.featureProcessors, sd);
  }

  /** Local partial sums per logical parameter (tables by name, processors as `fp.<feature>`, counted on rank 0 only). */
  paramsSummaryPartial(): Record<string, EmbeddingParamsPartial> {
    return paramsSummaryPartial(
      this.tables,
      [...this.held.shards.values()],
      this.featureProcessors,
      this.rank === 0,
    );
  }

  /**
   * `{ shape, l2, sum }` per logical parameter, all-reduced over the process group (a
   * collective: every rank must call it). Names and shapes do not depend on the plan.
   */
  async paramsSummary(): Promise<Record<string, ParamSummary>> {
    const partial = this.paramsSummaryPartial();
    const names = Object.keys(partial);
    const flat = new Float32Array(names.length * 2);
    names.forEach((n, i) => {
      flat[2 * i] = partial[n].sumSquares;
      flat[2 * i + 1] = partial[n].sum;
    });
    const all =
      this.worldSize > 1
        ? await this.pg.allReduce(flat, 'sum', { label: `${this.name} params summary` })
        : flat;
    const reduced: Record<string, EmbeddingParamsPartial> = {};
    names.forEach((n, i) => {
      reduced[n] = {
        shape: partial[n].shape,
        sumSquares: this.worldSize > 1 ? all[2 * i] : partial[n].sumSquares,
        sum: this.worldSize > 1 ? all[2 * i + 1] : partial[n].sum,
      };
    });
    return combineParamsSummaries([reduced]);
  }
}
