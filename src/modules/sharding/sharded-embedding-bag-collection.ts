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
import {
  accumulateIdWeightGrad,
  accumulatePooledGrad,
  pooledLookup,
} from '../embedding/kernels.ts';
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
import { bucketizeInput, type BucketizedInput } from './bucketize.ts';
import { validatePlan, type ShardingPlan } from './plan.ts';
import { assembleReceivedInput, type ReceivedInput } from './received-input.ts';
import { buildShardLayout, type ShardLayout, type Slot } from './shard-layout.ts';
import { SendBufferPool } from './send-buffer-pool.ts';
import { usesWorldOneLayout, worldOneLayout } from './world-one-layout.ts';
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

/** Where a sharded module runs. `rank` / `worldSize` must match `pg`'s. */
export interface ShardedEnv {
  rank: number;
  worldSize: number;
  pg: ProcessGroup;
  /**
   * The group (channel) for the input dist, which runs on the `dataDist` stream while the
   * output dist, backward and optimizer collectives run on `default`. Collectives of one
   * group must be called in the same order on every rank; two streams issuing into one
   * group interleave differently per rank, so pipelines give each stream its own channel.
   * Default: `pg`.
   */
  distPg?: ProcessGroup;
  device: Device;
}

export interface ShardedEmbeddingBagCollectionOptions {
  tables: readonly EmbeddingBagConfig[];
  plan: ShardingPlan;
  env: ShardedEnv;
  optimizer: FusedOptimizerConfig;
  seed: number;
  /** Applied to the local batch before input dist; identical on every rank. */
  featureProcessors?: FeatureProcessorMap;
  /** How gradients from the ranks' losses combine (default `'mean'`: ÷ worldSize at `step`). */
  gradReduction?: 'mean' | 'sum';
  /** Name used in op labels and errors (default `'ebc'`). */
  name?: string;
}

/**
 * Where one batch is in the module, with what that stage has (and nothing it has not):
 *
 * ```
 * created ─inputDist→ splitsInFlight ─(splits arrived)→ dataInFlight ─(data arrived)→ ready
 * ready ─computeAndOutputDist→ computed ─backward→ done
 * ```
 */
export type ShardedEbcStage =
  | { readonly stage: 'created' }
  | {
      readonly stage: 'splitsInFlight';
      /** Local batch after feature processors (positions for processed features). */
      readonly local: KeyedJaggedTensor;
      readonly bucket: BucketizedInput;
    }
  | {
      readonly stage: 'dataInFlight';
      readonly local: KeyedJaggedTensor;
      readonly bucket: BucketizedInput;
      /** Local batch size of every rank (from the splits exchange). */
      readonly batchSizes: Int32Array;
      readonly dataDone: Promise<void>;
    }
  | {
      readonly stage: 'ready';
      readonly local: KeyedJaggedTensor;
      readonly batchSizes: Int32Array;
      readonly received: ReceivedInput;
      readonly dataDone: Promise<void>;
      /** Cached tables: the fill op that made this batch's rows resident (see `prefetch`). */
      readonly prefetched: Promise<void> | null;
    }
  | {
      readonly stage: 'computed';
      readonly local: KeyedJaggedTensor;
      readonly batchSizes: Int32Array;
      readonly received: ReceivedInput;
      /** Per-id weights the lookup used (feature processors applied at compute time). */
      readonly weights: Float32Array | undefined;
    }
  | { readonly stage: 'done' };

/** Per-batch context of the module (one per in-flight batch): its index and its stage. */
export interface ShardedEbcContext {
  readonly batch: BatchIndex;
  state: ShardedEbcStage;
}

interface SlotGradCols {
  /** First logical column of the gradient sent for the slot. */
  start: number;
  width: number;
}

function sumInts(a: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

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
  private readonly shardLayout: ShardLayout;
  private readonly shards = new Map<string, EmbeddingTableShard>();
  private readonly mySlots: readonly Slot[];
  private readonly needsFullRowGrad: boolean;
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
    this.shardLayout = buildShardLayout(this.tables, this.plan);
    const fps =
      opts.featureProcessors && Object.keys(opts.featureProcessors).length > 0
        ? opts.featureProcessors
        : undefined;
    for (const f of Object.keys(fps ?? {})) {
      if (!this.shardLayout.pooled.keys.includes(f))
        throw new Error(
          `ShardedEmbeddingBagCollection: feature processor for unknown feature '${f}'`,
        );
    }
    this.featureProcessors = fps;
    for (const t of this.tables) {
      const spec = this.plan.tables[t.name].shards.find((s) => s.rank === this.rank);
      if (spec) {
        const { rowStart, rowEnd, colStart, colEnd } = spec;
        this.shards.set(
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
    this.mySlots = this.shardLayout.slotsByRank[this.rank];
    this.needsFullRowGrad = createFusedOptimizer(opts.optimizer, 0).needsFullRowGrad;
  }

  /** Pooled layout of the output (keys = features in table order). */
  get layout(): PooledLayout {
    return this.shardLayout.pooled;
  }

  get outputWidth(): number {
    return this.shardLayout.pooled.totalWidth;
  }

  /** The table blocks this rank holds. */
  localShards(): readonly EmbeddingTableShard[] {
    return [...this.shards.values()];
  }

  /** The block of table `name` this rank holds (`weights` row-major `[rowEnd-rowStart, colEnd-colStart]`), or undefined. */
  localShard(name: string): EmbeddingTableShard | undefined {
    if (!this.tables.some((t) => t.name === name))
      throw new Error(
        `${this.name}: no table '${name}' (tables: ${this.tables.map((t) => t.name).join(', ')})`,
      );
    return this.shards.get(name);
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
    const bucket = bucketizeInput(local, this.shardLayout, {
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
    const recvLengthCounts = batchSizes.map((b) => b * this.mySlots.length);
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
        const received = assembleReceivedInput(this.mySlots, batchSizes, lengths, values, weights);
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
      2 * nnz * Math.max(1, ...this.mySlots.map((s) => s.shard.colEnd - s.shard.colStart));
    // The fused and semi-sync pipelines run the lookup and output dist on their own stream.
    const stream = hooks?.stream ?? 'default';
    // Cached tables: rows not prefetched ahead are filled here, on the lookup's stream (exposed).
    const filled = this.hasCache ? (ready.prefetched ?? this.prefetch(ctx, stream)) : undefined;
    const sendCounts = batchSizes.map((b) => b * this.slotWidthSum(this.mySlots));
    const dense = this.denseWireLayout();
    const send = await this.device.run(
      stream,
      { kind: 'lookup', flops, label: `${label} lookup` },
      () => {
        weights = this.effectiveWeights(recv);
        return this.localLookup(recv, weights, sumInts(sendCounts), dense);
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
          this.shardLayout.slotsByRank,
          (slots) => B * this.slotWidthSum(slots),
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
          const combined = this.combineOutputs(local, got);
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
  async backward(ctx: ShardedEbcContext, gradOutput: Float32Array): Promise<void> {
    const computed = ctx.state;
    if (computed.stage !== 'computed') {
      throw new Error(
        `${this.name}: backward for batch ${ctx.batch} before computeAndOutputDist (stage '${computed.stage}')`,
      );
    }
    const { local, received: recv, batchSizes, weights } = computed;
    const B = local.stride;
    const { offsetPerKey, totalWidth } = this.layout;
    if (gradOutput.length !== B * totalWidth) {
      throw new Error(
        `${this.name}: backward for batch ${ctx.batch} got ${gradOutput.length} gradient values, expected ${B} samples × ${totalWidth}`,
      );
    }
    const label = `${this.name} b${ctx.batch}`;
    // 1. pooled gradients to the shard owners
    const sendCounts = Int32Array.from(
      this.shardLayout.slotsByRank,
      (slots) => B * this.gradWidthSum(slots),
    );
    const recvCounts = batchSizes.map((b) => b * this.gradWidthSum(this.mySlots));
    const dense = this.denseWireLayout();
    // one rank, dense layout: the output gradient goes as it is (donated below: neither this
    // backward nor its caller writes it while the backward is pending)
    const send = dense ? gradOutput : this.sendPool.take(sumInts(sendCounts));
    let p = 0;
    const localLengths = local.lengths;
    for (const slots of dense ? [] : this.shardLayout.slotsByRank) {
      for (const slot of slots) {
        const { start, width } = this.gradCols(slot);
        const col = offsetPerKey[slot.key] + start;
        const meanRw = slot.type === 'row_wise' && slot.table.pooling === 'mean';
        const k = local.keys.indexOf(slot.feature);
        for (let b = 0; b < B; b++) {
          const n = meanRw ? localLengths[k * B + b] : 1;
          const f = n > 0 ? 1 / n : 0;
          const g = b * totalWidth + col;
          if (meanRw) for (let c = 0; c < width; c++) send[p++] = gradOutput[g + c] * f;
          else for (let c = 0; c < width; c++) send[p++] = gradOutput[g + c];
        }
      }
    }
    const got = await this.device.run(
      'default',
      { kind: 'collective', bytes: 4 * send.length, label: `${label} grad dist` },
      () =>
        this.pg.allToAllV(send, sendCounts, recvCounts, {
          label: `${label} grad dist`,
          donate: true,
        }),
    );
    // 2. scatter-add into the local shards' accumulators (and per-id weight gradients),
    //    straight from the received buffer: slot by slot, each source's samples in rank
    //    order (the order of the concatenated batch)
    const N = recv.kjt.stride;
    const at = this.sourceSlotOffsets(recv, (slot) => this.gradCols(slot).width);
    if (dense) worldOneLayout.backwards++;
    const fps = this.featureProcessors;
    const weightGrad = fps ? new Float32Array(recv.kjt.values.length) : undefined;
    await this.device.run(
      'default',
      {
        kind: 'other',
        flops: 2 * recv.kjt.values.length * Math.max(1, this.gradWidthSum(this.mySlots)),
        label: `${label} scatter`,
      },
      () => {
        const offsets = recv.kjt.offsets();
        this.mySlots.forEach((slot, s) => {
          const shard = this.shards.get(slot.table.name)!;
          const cols = this.gradCols(slot);
          const pooling = slot.type === 'row_wise' ? 'sum' : slot.table.pooling;
          const processed = weightGrad !== undefined && fps![slot.feature] !== undefined;
          const view = processed
            ? shard.lookupSlice(recv.kjt.values, offsets[s * N], offsets[(s + 1) * N])
            : undefined;
          for (let j = 0; j < this.worldSize; j++) {
            const b0 = recv.sourceBagStart[j];
            const n = recv.sourceBagStart[j + 1] - b0;
            if (n === 0) continue;
            const bags = {
              values: recv.kjt.values,
              offsets,
              bagStart: s * N + b0,
              nBags: n,
              weights,
              feature: slot.feature,
            };
            // the slot's gradient columns: a [samples, cols.width] block of the received
            // buffer, or (dense layout) columns of the [sample][pooled column] rows
            const grad = dense ? got : got.subarray(at[j][s], at[j][s] + n * cols.width);
            const gradStride = dense ? totalWidth : cols.width;
            const col0 = (dense ? offsetPerKey[slot.key] + cols.start : 0) - cols.start;
            const gradRowOffset = dense ? b0 : 0;
            accumulatePooledGrad(
              {
                table: shard.gradSlice,
                bags,
                pooling,
                grad,
                gradStride,
                gradColOffset: col0 + shard.gradColStart,
                gradRowOffset,
              },
              shard.grad,
            );
            if (view)
              accumulateIdWeightGrad({
                table: view.table,
                bags: { ...bags, values: view.values },
                pooling,
                grad,
                gradStride,
                gradColOffset: col0 + slot.shard.colStart,
                gradRowOffset,
                out: weightGrad!,
              });
          }
        });
      },
    );
    // 3. per-id weight gradients → processor gradients, at the positions that travelled with the ids
    if (weightGrad) {
      const positions = recv.kjt.weights!;
      const offsets = recv.kjt.offsets();
      this.mySlots.forEach((slot, s) => {
        const fp = fps![slot.feature];
        if (!fp) return;
        for (let i = offsets[s * N]; i < offsets[(s + 1) * N]; i++)
          fp.accumulateAt(positions[i], weightGrad[i]);
      });
    }
    // our own send (not the caller's gradient): scattered, nothing refers to it any more
    if (!dense) this.sendPool.giveBack(send);
    ctx.state = { stage: 'done' };
    // Cached tables: the rows now hold gradients, which keeps them resident until the step.
    this.releaseCachedRows(ctx);
  }

  /** Whether a local table block is cached (docs/cached-embeddings.md). */
  get hasCache(): boolean {
    for (const shard of this.shards.values()) if (shard.cache) return true;
    return false;
  }

  /**
   * Cached tables: make the rows batch `ctx` will look up resident, as one `cacheFill` op on
   * `stream` costing the missed rows' bytes at the slow tier's bandwidth (estimated when the
   * op is issued). The batch's input dist must have completed. The prefetch pipeline calls
   * this a batch ahead on its own stream; otherwise `computeAndOutputDist` does, on demand.
   * Resolves immediately when no table is cached.
   */
  prefetch(ctx: ShardedEbcContext, stream: StreamName = 'default'): Promise<void> {
    const ready = ctx.state;
    if (ready.stage !== 'ready')
      throw new Error(
        `${this.name}: prefetch for batch ${ctx.batch} before its input dist completed (stage '${ready.stage}')`,
      );
    if (ready.prefetched) return ready.prefetched;
    const recv = ready.received;
    if (!this.hasCache) return Promise.resolve();
    const N = recv.kjt.stride;
    const offsets = recv.kjt.offsets();
    let bytes = 0;
    this.mySlots.forEach((slot, s) => {
      const shard = this.shards.get(slot.table.name)!;
      if (!shard.cache) return;
      const missing = shard.missingRows(recv.kjt.values, offsets[s * N], offsets[(s + 1) * N]);
      bytes += missing * shard.cache.tier.rowBytes;
    });
    const done = this.device.run(
      stream,
      { kind: 'cacheFill', bytes, label: `${this.name} b${ctx.batch} cache fill` },
      () => {
        let hits = 0;
        let misses = 0;
        const before = this.cacheTotals();
        this.mySlots.forEach((slot, s) => {
          const shard = this.shards.get(slot.table.name)!;
          const got = shard.acquireRows(ctx, recv.kjt.values, offsets[s * N], offsets[(s + 1) * N]);
          hits += got.hits;
          misses += got.misses;
        });
        const after = this.cacheTotals();
        const report = {
          batch: ctx.batch,
          hits,
          misses,
          evictions: after.evictions - before.evictions,
          writeBacks: after.writeBacks - before.writeBacks,
        };
        for (const listener of this.cacheFillListeners) listener(report);
      },
      { after: [ready.dataDone] },
    );
    done.catch(() => undefined);
    ctx.state = { ...ready, prefetched: done };
    return done;
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
    for (const shard of this.shards.values()) shard.releaseRows(ctx);
  }

  /** Cache counters of this rank's cached table blocks, by table name. */
  cacheStats(): Record<string, CacheStats> {
    const out: Record<string, CacheStats> = {};
    for (const shard of this.shards.values()) {
      const st = shard.cacheStats();
      if (st) out[shard.table.name] = st;
    }
    return out;
  }

  /** Release the slow tiers' files of cached tables. */
  close(): void {
    for (const shard of this.shards.values()) shard.close();
  }

  private cacheTotals(): { evictions: number; writeBacks: number } {
    let evictions = 0;
    let writeBacks = 0;
    for (const st of Object.values(this.cacheStats())) {
      evictions += st.evictions;
      writeBacks += st.writeBacks;
    }
    return { evictions, writeBacks };
  }

  /** Apply the fused optimizer to the local shards and train feature processors; clears gradients. */
  async step(scale = 1): Promise<void> {
    const s = this.gradReduction === 'mean' ? scale / this.worldSize : scale;
    for (const shard of this.shards.values()) shard.step(s);
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
    for (const shard of this.shards.values()) shard.zeroGrad();
    for (const f of Object.values(this.featureProcessors ?? {})) f.zeroGrad();
  }

  /** True when a *local* accumulated gradient holds NaN or ±Infinity (all-reduce the flag across ranks). */
  hasNonFiniteGrads(): boolean {
    for (const shard of this.shards.values()) if (shard.grad.hasNonFinite()) return true;
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
      [...this.shards.values()],
      this.featureProcessors,
    );
  }

  /** Load this rank's shards from a sharded state (same plan) or slice them from a logical one (any plan). */
  loadStateDict(sd: ShardedEbcStateDict | EbcStateDict): void {
    loadShardedState([...this.shards.values()], this.featureProcessors, sd);
  }

  /** Local partial sums per logical parameter (tables by name, processors as `fp.<feature>`, counted on rank 0 only). */
  paramsSummaryPartial(): Record<string, EmbeddingParamsPartial> {
    return paramsSummaryPartial(
      this.tables,
      [...this.shards.values()],
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

  // ---- internals ----

  /**
   * Per-id weights of the received ids: for slots with a feature processor the received
   * weights are positions, turned into weights with the processor's current parameters.
   */
  private effectiveWeights(recv: ReceivedInput): Float32Array | undefined {
    const fps = this.featureProcessors;
    const received = recv.kjt.weights;
    if (!fps || !received) return received;
    const out = received.slice();
    const N = recv.kjt.stride;
    const offsets = recv.kjt.offsets();
    this.mySlots.forEach((slot, s) => {
      const fp = fps[slot.feature];
      if (!fp) return;
      for (let i = offsets[s * N]; i < offsets[(s + 1) * N]; i++) out[i] = fp.weightAt(received[i]);
    });
    return out;
  }

  /**
   * Pooled lookups of my slots, written straight into the output dist's send buffer of
   * `size` floats: for each source rank (rank order), each slot's pooled rows of that
   * rank's samples; or, with `dense` (see world-one-layout.ts), in `[sample][pooled column]`.
   */
  private localLookup(
    recv: ReceivedInput,
    weights: Float32Array | undefined,
    size: number,
    dense: boolean,
  ): Float32Array {
    const N = recv.kjt.stride;
    const offsets = recv.kjt.offsets();
    const send = this.sendPool.take(size);
    const { offsetPerKey, totalWidth } = this.layout;
    if (dense) worldOneLayout.lookups++;
    const at = this.sourceSlotOffsets(recv, (slot) => slot.shard.colEnd - slot.shard.colStart);
    this.mySlots.forEach((slot, s) => {
      const shard = this.shards.get(slot.table.name)!;
      const w = shard.block.colEnd - shard.block.colStart;
      // cached tables: the rows were acquired by this batch's fill op (prefetch)
      const view = shard.lookupSlice(recv.kjt.values, offsets[s * N], offsets[(s + 1) * N]);
      for (let j = 0; j < this.worldSize; j++) {
        const b0 = recv.sourceBagStart[j];
        const n = recv.sourceBagStart[j + 1] - b0;
        if (n === 0) continue;
        pooledLookup({
          table: view.table,
          bags: {
            values: view.values,
            offsets,
            bagStart: s * N + b0,
            nBags: n,
            weights,
            feature: slot.feature,
          },
          pooling: slot.type === 'row_wise' ? 'sum' : slot.table.pooling,
          ...(dense
            ? // [sample][pooled column]: the feature's columns of each sample's row
              {
                out: send,
                outStride: totalWidth,
                outColOffset: offsetPerKey[slot.key] + slot.shard.colStart,
                outRowOffset: b0,
              }
            : { out: send.subarray(at[j][s], at[j][s] + n * w), outStride: w, outColOffset: 0 }),
        });
      }
    });
    return send;
  }

  /**
   * `at[j][s]`: where slot `s`'s block for source rank `j` starts in a buffer laid out as
   * the output dist sends it (and the gradient dist receives it): source-major, then slot,
   * then the source's samples × `widthOf(slot)`.
   */
  private sourceSlotOffsets(recv: ReceivedInput, widthOf: (slot: Slot) => number): number[][] {
    const at: number[][] = [];
    let p = 0;
    for (let j = 0; j < this.worldSize; j++) {
      const n = recv.sourceBagStart[j + 1] - recv.sourceBagStart[j];
      at.push(
        this.mySlots.map((slot) => {
          const start = p;
          p += n * widthOf(slot);
          return start;
        }),
      );
    }
    return at;
  }

  private combineOutputs(local: KeyedJaggedTensor, got: Float32Array): PooledOutput {
    const B = local.stride;
    const { keys, lengthPerKey, offsetPerKey, totalWidth } = this.layout;
    const values = new Float32Array(B * totalWidth);
    let p = 0;
    for (const slots of this.shardLayout.slotsByRank) {
      for (const slot of slots) {
        const w = slot.shard.colEnd - slot.shard.colStart;
        const col = offsetPerKey[slot.key] + slot.shard.colStart;
        if (slot.type === 'row_wise') {
          for (let b = 0; b < B; b++)
            for (let c = 0; c < w; c++) values[b * totalWidth + col + c] += got[p++];
        } else {
          // a plain copy: a subarray view per sample (B × tables of them) cost more than the copy
          for (let b = 0; b < B; b++) {
            const o = b * totalWidth + col;
            for (let c = 0; c < w; c++) values[o + c] = got[p + c];
            p += w;
          }
        }
      }
    }
    // row-wise mean: divide the reduced sums by the whole bag's length
    this.layout.keys.forEach((f, key) => {
      const table = this.tables[this.layout.tableOfKey[key]];
      if (this.shardLayout.typeOfKey[key] !== 'row_wise' || table.pooling !== 'mean') return;
      const k = local.keys.indexOf(f);
      for (let b = 0; b < B; b++) {
        const n = local.lengths[k * B + b];
        if (n === 0) continue;
        const o = b * totalWidth + offsetPerKey[key];
        for (let c = 0; c < table.dim; c++) values[o + c] = values[o + c] / n;
      }
    });
    return { keys, lengthPerKey, batchSize: B, values };
  }

  /** Whether this batch's pooled rows and gradients cross the all-to-all in the dense layout (world-one-layout.ts). */
  private denseWireLayout(): boolean {
    return usesWorldOneLayout(
      this.worldSize,
      this.mySlots,
      this.gradWidthSum(this.mySlots),
      this.layout.totalWidth,
    );
  }

  /** Columns of the pooled gradient a slot's owner needs: its own, or the whole row for row-wise statistics. */
  private gradCols(slot: Slot): SlotGradCols {
    const shard = slot.shard;
    if (this.optimizerNeedsFullRow()) return { start: 0, width: slot.table.dim };
    return { start: shard.colStart, width: shard.colEnd - shard.colStart };
  }

  private optimizerNeedsFullRow(): boolean {
    return this.needsFullRowGrad;
  }

  private slotWidthSum(slots: readonly Slot[]): number {
    let w = 0;
    for (const s of slots) w += s.shard.colEnd - s.shard.colStart;
    return w;
  }

  private gradWidthSum(slots: readonly Slot[]): number {
    let w = 0;
    for (const s of slots) w += this.gradCols(s).width;
    return w;
  }
}
