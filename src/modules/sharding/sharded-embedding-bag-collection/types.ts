/**
 * The types of `ShardedEmbeddingBagCollection`: where it runs (`ShardedEnv`), how it is
 * built (`ShardedEmbeddingBagCollectionOptions`), where one batch is in it
 * (`ShardedEbcStage`, `ShardedEbcContext`), and what one rank holds (`RankShards`, read by
 * the module's helpers in this folder).
 *
 * @example
 * const ctx: ShardedEbcContext = { batch: 0, state: { stage: 'created' } };
 */
import type { BatchIndex, Device, ProcessGroup } from '../../../protocol/index.ts';
import type { KeyedJaggedTensor } from '../../../tensors/keyed-jagged-tensor.ts';
import type { EmbeddingBagConfig } from '../../embedding/config.ts';
import type { FusedOptimizerConfig } from '../../embedding/fused-optimizers.ts';
import type { EmbeddingTableShard } from '../../embedding/table-shard.ts';
import type { FeatureProcessorMap } from '../../feature-processors/feature-processor.ts';
import type { BucketizedInput } from '../bucketize.ts';
import type { ShardingPlan } from '../plan.ts';
import type { ReceivedInput } from '../received-input.ts';
import type { ShardLayout, Slot } from '../shard-layout.ts';

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

/**
 * What one rank of the collection holds, fixed at construction: the helpers of the lookup,
 * the backward and the cache read it (and nothing else of the module).
 */
export interface RankShards {
  /** Name used in op labels and errors. */
  readonly name: string;
  readonly worldSize: number;
  /** Tables in the collection's order (all of them, held here or not). */
  readonly tables: readonly EmbeddingBagConfig[];
  readonly shardLayout: ShardLayout;
  /** This rank's table blocks, by table name. */
  readonly shards: ReadonlyMap<string, EmbeddingTableShard>;
  /** This rank's slots (the received input's keys, in order). */
  readonly mySlots: readonly Slot[];
  /** The fused optimizer keeps per-row statistics: shard owners need whole-row gradients. */
  readonly needsFullRowGrad: boolean;
  readonly featureProcessors: FeatureProcessorMap | undefined;
}
