/**
 * Sharding plans: which rank holds which block of which table. A plan is plain JSON (it can
 * be written to a checkpoint or a `--json` summary and read back).
 *
 * - `table_wise`: one shard, the whole table, on one rank.
 * - `row_wise`: contiguous row blocks, at most one per rank, covering `[0, rows)` in order;
 *   ids are bucketized by block and each block's partial pooled sums are reduced at the
 *   batch owner.
 * - `column_wise`: contiguous column blocks, at most one per rank, covering `[0, dim)` in
 *   order; every block sees every id and the outputs are concatenated.
 *
 * @example
 * const plan: ShardingPlan = {
 *   worldSize: 2,
 *   tables: {
 *     t_user: { type: 'table_wise', shards: [{ rank: 1, rowStart: 0, rowEnd: 1000, colStart: 0, colEnd: 8 }] },
 *   },
 * };
 * validatePlan(tables, plan);
 */
import type { EmbeddingBagConfig } from '../embedding/config.ts';
import type { TableBlock } from '../embedding/init.ts';

export type ShardingType = 'table_wise' | 'row_wise' | 'column_wise';

/** One block of a table and the rank holding it. */
export interface ShardSpec extends TableBlock {
  rank: number;
}

export interface TableShardingPlan {
  type: ShardingType;
  /** Row-wise: in row order; column-wise: in column order. */
  shards: ShardSpec[];
}

export interface ShardingPlan {
  worldSize: number;
  tables: Record<string, TableShardingPlan>;
}

/**
 * Check that `plan` covers every table exactly as its type requires; throws naming the table
 * and what is wrong.
 *
 * @example
 * validatePlan(tables, planSharding(tables, 4));
 */
export function validatePlan(tables: readonly EmbeddingBagConfig[], plan: ShardingPlan): void {
  const W = plan.worldSize;
  if (!Number.isInteger(W) || W < 1)
    throw new Error(`sharding plan: worldSize must be a positive integer, got ${W}`);
  for (const name of Object.keys(plan.tables)) {
    if (!tables.some((t) => t.name === name))
      throw new Error(`sharding plan: table '${name}' is not configured`);
  }
  for (const t of tables) {
    const tp = plan.tables[t.name];
    const where = `sharding plan for table '${t.name}'`;
    if (!tp) throw new Error(`${where}: missing`);
    if (!Array.isArray(tp.shards) || tp.shards.length === 0) throw new Error(`${where}: no shards`);
    const ranks = new Set<number>();
    for (const s of tp.shards) {
      if (!Number.isInteger(s.rank) || s.rank < 0 || s.rank >= W)
        throw new Error(`${where}: shard rank ${s.rank} outside [0, ${W})`);
      if (ranks.has(s.rank)) throw new Error(`${where}: rank ${s.rank} holds two shards`);
      ranks.add(s.rank);
    }
    const full = (s: ShardSpec, what: 'rows' | 'cols'): boolean =>
      what === 'rows'
        ? s.rowStart === 0 && s.rowEnd === t.rows
        : s.colStart === 0 && s.colEnd === t.dim;
    switch (tp.type) {
      case 'table_wise':
        if (tp.shards.length !== 1 || !full(tp.shards[0], 'rows') || !full(tp.shards[0], 'cols')) {
          throw new Error(
            `${where}: table_wise needs exactly one shard covering rows [0, ${t.rows}) and columns [0, ${t.dim})`,
          );
        }
        break;
      case 'row_wise': {
        let next = 0;
        for (const s of tp.shards) {
          if (!full(s, 'cols'))
            throw new Error(
              `${where}: row_wise shard on rank ${s.rank} must cover columns [0, ${t.dim})`,
            );
          if (s.rowStart !== next || s.rowEnd < s.rowStart)
            throw new Error(
              `${where}: row_wise shard on rank ${s.rank} starts at row ${s.rowStart}, expected ${next}`,
            );
          next = s.rowEnd;
        }
        if (next !== t.rows)
          throw new Error(`${where}: row_wise shards end at row ${next}, expected ${t.rows}`);
        break;
      }
      case 'column_wise': {
        let next = 0;
        for (const s of tp.shards) {
          if (!full(s, 'rows'))
            throw new Error(
              `${where}: column_wise shard on rank ${s.rank} must cover rows [0, ${t.rows})`,
            );
          if (s.colStart !== next || s.colEnd <= s.colStart)
            throw new Error(
              `${where}: column_wise shard on rank ${s.rank} starts at column ${s.colStart}, expected ${next} (and must be non-empty)`,
            );
          next = s.colEnd;
        }
        if (next !== t.dim)
          throw new Error(`${where}: column_wise shards end at column ${next}, expected ${t.dim}`);
        break;
      }
      default:
        throw new Error(
          `${where}: unknown sharding type '${String((tp as { type: unknown }).type)}'`,
        );
    }
  }
}

/**
 * Contiguous row blocks of `rows` over `ranks` (block size `ceil(rows / n)`, TorchRec's;
 * trailing blocks may be short or empty).
 *
 * @example
 * rowWiseShards({ name: 't', rows: 10, dim: 4, pooling: 'sum', features: ['f'] }, [0, 1, 2]);
 * // rows [0,4) [4,8) [8,10)
 */
export function rowWiseShards(table: EmbeddingBagConfig, ranks: readonly number[]): ShardSpec[] {
  const block = Math.ceil(table.rows / ranks.length);
  return ranks.map((rank, i) => ({
    rank,
    rowStart: Math.min(table.rows, i * block),
    rowEnd: Math.min(table.rows, (i + 1) * block),
    colStart: 0,
    colEnd: table.dim,
  }));
}

/**
 * Table-row-wise (TWRW): row-wise inside one host, table-wise across hosts — the row blocks
 * of `table` over the `ranksPerHost` ranks of `host` (ranks `host·ranksPerHost …`). It is a
 * `row_wise` layout whose shards all live on one host, so ids and partial sums stay on the
 * fast intra-host links (docs/simulation.md prices it).
 *
 * @example
 * tableRowWiseShards({ name: 't', rows: 10, dim: 4, pooling: 'sum', features: ['f'] }, 1, 2);
 * // rows [0,5) on rank 2, [5,10) on rank 3
 */
export function tableRowWiseShards(
  table: EmbeddingBagConfig,
  host: number,
  ranksPerHost: number,
): ShardSpec[] {
  return rowWiseShards(
    table,
    Array.from({ length: ranksPerHost }, (_, i) => host * ranksPerHost + i),
  );
}

/**
 * Contiguous column blocks of `dim` over at most `dim` of `ranks` (sizes differ by ≤ 1, larger first).
 *
 * @example
 * columnWiseShards({ name: 't', rows: 10, dim: 5, pooling: 'sum', features: ['f'] }, [0, 1]);
 * // columns [0,3) on rank 0, [3,5) on rank 1
 */
export function columnWiseShards(table: EmbeddingBagConfig, ranks: readonly number[]): ShardSpec[] {
  const n = Math.min(ranks.length, table.dim);
  const base = Math.floor(table.dim / n);
  const rem = table.dim % n;
  const out: ShardSpec[] = [];
  let c = 0;
  for (let i = 0; i < n; i++) {
    const w = base + (i < rem ? 1 : 0);
    out.push({ rank: ranks[i], rowStart: 0, rowEnd: table.rows, colStart: c, colEnd: c + w });
    c += w;
  }
  return out;
}

/**
 * The whole table on `rank`.
 *
 * @example
 * tableWiseShard(table, 3); // [{ rank: 3, rowStart: 0, rowEnd: rows, colStart: 0, colEnd: dim }]
 */
export function tableWiseShard(table: EmbeddingBagConfig, rank: number): ShardSpec[] {
  return [{ rank, rowStart: 0, rowEnd: table.rows, colStart: 0, colEnd: table.dim }];
}
