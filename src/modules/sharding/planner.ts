/**
 * `planSharding`: a greedy planner (TorchRec's planner, much reduced) that balances table
 * bytes over ranks.
 *
 * 1. Every table gets a sharding type: the per-table `prefer` override, else `row_wise` when
 *    its bytes (`rows · dim · 4`) exceed `rowWiseThresholdBytes`, else `table_wise`.
 * 2. Row-wise and column-wise tables are spread over all ranks (their bytes are added to
 *    each rank's load by block size).
 * 3. Table-wise tables, largest first (ties by name), go to the least-loaded rank (ties: the
 *    lowest rank).
 *
 * The result is plain JSON and depends only on the inputs.
 *
 * @example
 * const plan = planSharding(tables, 4, { prefer: { t_big: 'column_wise' }, rowWiseThresholdBytes: 64 << 20 });
 */
import { validateTableConfigs, type EmbeddingBagConfig } from '../embedding/config.ts';
import {
  columnWiseShards,
  rowWiseShards,
  tableWiseShard,
  validatePlan,
  type ShardingPlan,
  type ShardingType,
  type ShardSpec,
} from './plan.ts';

export interface PlannerOptions {
  /** Sharding type per table name (overrides the default choice). */
  prefer?: Readonly<Record<string, ShardingType>>;
  /** Tables bigger than this many bytes are row-wise (default 256 MiB). */
  rowWiseThresholdBytes?: number;
}

const BYTES_PER_ELEMENT = 4;

function shardBytes(s: ShardSpec): number {
  return (s.rowEnd - s.rowStart) * (s.colEnd - s.colStart) * BYTES_PER_ELEMENT;
}

/**
 * Plan the sharding of `tables` over `worldSize` ranks.
 *
 * @example
 * planSharding([{ name: 'a', rows: 100, dim: 8, pooling: 'sum', features: ['fa'] }], 2);
 * // { worldSize: 2, tables: { a: { type: 'table_wise', shards: [{ rank: 0, … }] } } }
 */
export function planSharding(
  tables: readonly EmbeddingBagConfig[],
  worldSize: number,
  options: PlannerOptions = {},
): ShardingPlan {
  validateTableConfigs(tables);
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new Error(`planSharding: worldSize must be a positive integer, got ${worldSize}`);
  const prefer = options.prefer ?? {};
  for (const name of Object.keys(prefer)) {
    if (!tables.some((t) => t.name === name))
      throw new Error(`planSharding: prefer names unknown table '${name}'`);
  }
  const threshold = options.rowWiseThresholdBytes ?? 256 * 1024 * 1024;
  const allRanks = Array.from({ length: worldSize }, (_, r) => r);
  const load = new Array<number>(worldSize).fill(0);
  const plan: ShardingPlan = { worldSize, tables: {} };

  const typeOf = (t: EmbeddingBagConfig): ShardingType =>
    prefer[t.name] ?? (t.rows * t.dim * BYTES_PER_ELEMENT > threshold ? 'row_wise' : 'table_wise');

  for (const t of tables) {
    const type = typeOf(t);
    if (type === 'table_wise') continue;
    const shards =
      type === 'row_wise'
        ? rowWiseShards(t, allRanks)
        : columnWiseShards(
            t,
            [...allRanks]
              .sort((a, b) => load[a] - load[b] || a - b)
              .slice(0, Math.min(worldSize, t.dim))
              .sort((a, b) => a - b),
          );
    for (const s of shards) load[s.rank] += shardBytes(s);
    plan.tables[t.name] = { type, shards };
  }

  const tw = tables
    .filter((t) => typeOf(t) === 'table_wise')
    .sort(
      (a, b) => b.rows * b.dim - a.rows * a.dim || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
  for (const t of tw) {
    let best = 0;
    for (let r = 1; r < worldSize; r++) if (load[r] < load[best]) best = r;
    const shards = tableWiseShard(t, best);
    load[best] += shardBytes(shards[0]);
    plan.tables[t.name] = { type: 'table_wise', shards };
  }

  // keep table order in the JSON
  const ordered: ShardingPlan = { worldSize, tables: {} };
  for (const t of tables) ordered.tables[t.name] = plan.tables[t.name];
  validatePlan(tables, ordered);
  return ordered;
}

/**
 * Bytes of table weights each rank holds under `plan`.
 *
 * @example
 * planLoads(tables, plan); // e.g. [4096, 4096]
 */
export function planLoads(plan: ShardingPlan): number[] {
  const load = new Array<number>(plan.worldSize).fill(0);
  for (const tp of Object.values(plan.tables))
    for (const s of tp.shards) load[s.rank] += shardBytes(s);
  return load;
}
