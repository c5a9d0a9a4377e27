/**
 * Who holds what, derived from a plan: for every rank, its *slots* — one per
 * (feature, shard on that rank) pair, ordered by table then feature. Every rank computes the
 * same layout from the same tables and plan, which is how the all-to-alls agree on what
 * each block of a message means without sending any metadata.
 *
 * @example
 * const layout = buildShardLayout(tables, plan);
 * layout.slotsByRank[1].map((s) => s.feature); // features whose shard lives on rank 1
 */
import { pooledLayout, type EmbeddingBagConfig, type PooledLayout } from '../embedding/config.ts';
import type { ShardingPlan, ShardingType, ShardSpec } from './plan.ts';

/** One feature served by one shard held by one rank. */
export interface Slot {
  feature: string;
  /** Index of the feature in the module's pooled layout. */
  key: number;
  table: EmbeddingBagConfig;
  type: ShardingType;
  shard: ShardSpec;
}

export interface ShardLayout {
  readonly pooled: PooledLayout;
  /** `slotsByRank[r]`: the slots rank r holds, by table then feature. */
  readonly slotsByRank: readonly (readonly Slot[])[];
  /** Sharding type of each key. */
  readonly typeOfKey: readonly ShardingType[];
}

/**
 * Derive the slot layout of `tables` under `plan` (the plan must be valid).
 *
 * @example
 * buildShardLayout(tables, planSharding(tables, 2)).slotsByRank.length; // 2
 */
export function buildShardLayout(
  tables: readonly EmbeddingBagConfig[],
  plan: ShardingPlan,
): ShardLayout {
  const pooled = pooledLayout(tables);
  const slotsByRank: Slot[][] = Array.from({ length: plan.worldSize }, () => []);
  const typeOfKey: ShardingType[] = [];
  let key = 0;
  for (const table of tables) {
    const tp = plan.tables[table.name];
    for (const feature of table.features) {
      typeOfKey.push(tp.type);
      for (const shard of tp.shards)
        slotsByRank[shard.rank].push({ feature, key, table, type: tp.type, shard });
      key++;
    }
  }
  // table order then feature order within a rank: keys are already increasing per rank
  for (const slots of slotsByRank) slots.sort((a, b) => a.key - b.key);
  return { pooled, slotsByRank, typeOfKey };
}

/** Whether `slot` receives the id `id` (row-wise shards take only their rows). */
export function slotTakesId(slot: Slot, id: number): boolean {
  return slot.type !== 'row_wise' || (id >= slot.shard.rowStart && id < slot.shard.rowEnd);
}
