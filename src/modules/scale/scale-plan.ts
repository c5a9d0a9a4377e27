/**
 * A sharding plan at cluster scale: for every table of a {@link ScaleModelSpec}, its
 * sharding kind and the ranks holding its shards, in TorchRec's terms.
 *
 * - `TW` (table-wise): one rank holds the whole table.
 * - `CW` (column-wise): k ranks each hold a block of columns (dims split as evenly as possible, the first blocks one wider).
 * - `RW` (row-wise): every rank of the world holds `rows / W` rows; partial pooled sums are reduce-scattered.
 * - `TWRW` (table-row-wise): the ranks of one host hold `rows / L` rows each — row-wise inside
 *   the host, table-wise across hosts; reduce-scatter on the intra-host links, then one
 *   inter-host all-to-all of the pooled result.
 *
 * @example
 * const plan: ScalePlan = { worldSize: 16, ranksPerHost: 8, tables: [{ table: 't0', sharding: 'TWRW', ranks: [8, 9, 10, 11, 12, 13, 14, 15] }] };
 * checkScalePlan(spec, plan);
 */
import type { ShardingKind } from '../../runtime/sim/shard-estimates.ts';
import type { ScaleModelSpec, ScaleTable } from './model-spec.ts';

export interface TablePlacement {
  table: string;
  sharding: ShardingKind;
  /** Ranks holding the shards: TW one; CW one per column block; RW every rank; TWRW one host's ranks. */
  ranks: readonly number[];
}

export interface ScalePlan {
  worldSize: number;
  ranksPerHost: number;
  tables: readonly TablePlacement[];
}

/** One shard of a placement: its rank, rows and columns. */
export interface ShardShape {
  rank: number;
  rows: number;
  dim: number;
}

/**
 * The shards of a placement.
 *
 * @example
 * shardShapes({ name: 't', rows: 100, dim: 10, poolingFactor: 1 }, { table: 't', sharding: 'CW', ranks: [0, 3] });
 * // [{ rank: 0, rows: 100, dim: 5 }, { rank: 3, rows: 100, dim: 5 }]
 */
export function shardShapes(table: ScaleTable, p: TablePlacement): ShardShape[] {
  const k = p.ranks.length;
  switch (p.sharding) {
    case 'TW':
      return [{ rank: p.ranks[0], rows: table.rows, dim: table.dim }];
    case 'CW':
      return p.ranks.map((rank, i) => ({
        rank,
        rows: table.rows,
        dim: Math.floor(table.dim / k) + (i < table.dim % k ? 1 : 0),
      }));
    case 'RW':
    case 'TWRW':
      return p.ranks.map((rank) => ({ rank, rows: table.rows / k, dim: table.dim }));
  }
}

/** A plan does not fit its model or world; the message names the table and what is wrong. */
export class ScalePlanError extends Error {
  override readonly name = 'ScalePlanError';
}

/**
 * Check that `plan` places every table of `spec` once, as its kind requires.
 *
 * @example
 * checkScalePlan(spec, plan); // throws ScalePlanError: table 't3': TWRW ranks must be the 8 ranks of one host, got [0, 9]
 */
export function checkScalePlan(spec: ScaleModelSpec, plan: ScalePlan): void {
  const W = plan.worldSize;
  const L = plan.ranksPerHost;
  if (!Number.isInteger(W) || W < 1 || !Number.isInteger(L) || L < 1 || W % L !== 0)
    throw new ScalePlanError(
      `plan: worldSize ${W} must be a whole number of hosts of ranksPerHost ${L}`,
    );
  const byName = new Map(spec.tables.map((t) => [t.name, t]));
  const seen = new Set<string>();
  for (const p of plan.tables) {
    const t = byName.get(p.table);
    const where = `plan: table '${p.table}'`;
    if (!t) throw new ScalePlanError(`${where} is not in model ${spec.name}`);
    if (seen.has(p.table)) throw new ScalePlanError(`${where} is placed twice`);
    seen.add(p.table);
    if (p.ranks.length === 0) throw new ScalePlanError(`${where}: no ranks`);
    for (const r of p.ranks)
      if (!Number.isInteger(r) || r < 0 || r >= W)
        throw new ScalePlanError(`${where}: rank ${r} outside [0, ${W})`);
    if (new Set(p.ranks).size !== p.ranks.length)
      throw new ScalePlanError(`${where}: a rank is listed twice`);
    switch (p.sharding) {
      case 'TW':
        if (p.ranks.length !== 1)
          throw new ScalePlanError(`${where}: TW needs exactly one rank, got ${p.ranks.length}`);
        break;
      case 'CW':
        if (p.ranks.length > t.dim)
          throw new ScalePlanError(
            `${where}: CW over ${p.ranks.length} ranks exceeds its ${t.dim} columns`,
          );
        break;
      case 'RW':
        if (p.ranks.length !== W)
          throw new ScalePlanError(
            `${where}: RW needs every rank of the world (${W}), got ${p.ranks.length}`,
          );
        break;
      case 'TWRW': {
        const host = Math.floor(p.ranks[0] / L);
        if (p.ranks.length !== L || p.ranks.some((r) => Math.floor(r / L) !== host))
          throw new ScalePlanError(
            `${where}: TWRW ranks must be the ${L} ranks of one host, got ${formatRanks(p.ranks)}`,
          );
        break;
      }
      default:
        throw new ScalePlanError(
          `${where}: unknown sharding ${JSON.stringify(p.sharding)} (TW, RW, CW, TWRW)`,
        );
    }
  }
  for (const t of spec.tables)
    if (!seen.has(t.name)) throw new ScalePlanError(`plan: table '${t.name}' is not placed`);
}

/**
 * Ranks as compact ranges.
 *
 * @example
 * formatRanks([0, 1, 2, 3, 8, 10, 11]); // '0-3,8,10-11'
 */
export function formatRanks(ranks: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ranks.length) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j] + 1) j++;
    parts.push(j === i ? `${ranks[i]}` : `${ranks[i]}-${ranks[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The inverse of {@link formatRanks}.
 *
 * @example
 * parseRanks('0-3,8'); // [0, 1, 2, 3, 8]
 */
export function parseRanks(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m)
      throw new ScalePlanError(`ranks: "${part}" is not a rank or a range a-b (in "${text}")`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new ScalePlanError(`ranks: range "${part}" runs backwards`);
    for (let r = a; r <= b; r++) out.push(r);
  }
  return out;
}

/** The ranks of host `h`. */
export function hostRanks(h: number, ranksPerHost: number): number[] {
  return Array.from({ length: ranksPerHost }, (_, i) => h * ranksPerHost + i);
}
