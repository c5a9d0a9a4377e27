/**
 * Embedding-table configuration (TorchRec's `EmbeddingBagConfig`) and the pooled-output
 * layout it implies.
 *
 * Each table serves one or more features; every feature produces a pooled vector of the
 * table's `dim`. The pooled output of a collection has one key per feature, in table order
 * then feature order.
 *
 * @example
 * const tables: EmbeddingBagConfig[] = [
 *   { name: 't_user', rows: 1000, dim: 8, pooling: 'sum', features: ['user'] },
 *   { name: 't_item', rows: 5000, dim: 8, pooling: 'mean', features: ['item', 'item_hist'] },
 * ];
 * pooledLayout(tables).keys; // ['user', 'item', 'item_hist']
 */

/** How the rows of one bag are combined. `mean` divides the (weighted) sum by the number of ids. */
export type PoolingMode = 'sum' | 'mean';

/**
 * Initial values of a table. Default: `{ kind: 'uniform', low: -sqrt(1/rows), high: sqrt(1/rows) }`
 * (TorchRec's default for `EmbeddingBagConfig`).
 */
export type EmbeddingInit =
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'constant'; value: number };

import { type EmbeddingCacheConfig, validateCacheConfig } from '../embedding-cache/cache-config.ts';

export interface EmbeddingBagConfig {
  /** Unique table name; parameters are addressed by it. */
  name: string;
  /** Number of embedding rows (valid ids are `0 ≤ id < rows`). */
  rows: number;
  /** Embedding width. */
  dim: number;
  pooling: PoolingMode;
  /** Features looked up in this table (each yields one pooled key of width `dim`). */
  features: readonly string[];
  init?: EmbeddingInit;
  /** Keep the table in a slow tier behind a bounded row cache (docs/cached-embeddings.md). */
  cache?: EmbeddingCacheConfig;
}

/** Key layout of a pooled output: one key per feature in table order. */
export interface PooledLayout {
  readonly keys: readonly string[];
  readonly lengthPerKey: readonly number[];
  /** Column where each key's slice starts (length `keys.length + 1`; last = total width). */
  readonly offsetPerKey: readonly number[];
  /** Table index of each key. */
  readonly tableOfKey: readonly number[];
  readonly totalWidth: number;
}

/**
 * Check a table list: unique names, positive integer sizes, a feature in at most one table.
 * Throws an error naming the table and the field.
 *
 * @example
 * validateTableConfigs([{ name: 't', rows: 10, dim: 4, pooling: 'sum', features: ['f'] }]);
 */
export function validateTableConfigs(tables: readonly EmbeddingBagConfig[]): void {
  const names = new Set<string>();
  const features = new Map<string, string>();
  tables.forEach((t, i) => {
    const where = `embedding table #${i} ('${t.name}')`;
    if (typeof t.name !== 'string' || t.name.length === 0)
      throw new Error(`${where}: name must be a non-empty string`);
    if (names.has(t.name)) throw new Error(`${where}: duplicate table name '${t.name}'`);
    names.add(t.name);
    if (!Number.isInteger(t.rows) || t.rows <= 0)
      throw new Error(`${where}: rows must be a positive integer, got ${t.rows}`);
    if (!Number.isInteger(t.dim) || t.dim <= 0)
      throw new Error(`${where}: dim must be a positive integer, got ${t.dim}`);
    if (t.pooling !== 'sum' && t.pooling !== 'mean')
      throw new Error(`${where}: pooling must be 'sum' or 'mean', got '${String(t.pooling)}'`);
    if (!Array.isArray(t.features) || t.features.length === 0)
      throw new Error(`${where}: features must list at least one feature`);
    for (const f of t.features) {
      const other = features.get(f);
      if (other !== undefined)
        throw new Error(`${where}: feature '${f}' is already served by table '${other}'`);
      features.set(f, t.name);
    }
    if (t.cache !== undefined) validateCacheConfig(t.name, t.cache);
  });
}

/**
 * The pooled-output layout of a table list (keys = features in table order).
 *
 * @example
 * pooledLayout([{ name: 't', rows: 10, dim: 4, pooling: 'sum', features: ['a', 'b'] }]).offsetPerKey; // [0, 4, 8]
 */
export function pooledLayout(tables: readonly EmbeddingBagConfig[]): PooledLayout {
  const keys: string[] = [];
  const lengthPerKey: number[] = [];
  const offsetPerKey: number[] = [0];
  const tableOfKey: number[] = [];
  tables.forEach((t, ti) => {
    for (const f of t.features) {
      keys.push(f);
      lengthPerKey.push(t.dim);
      tableOfKey.push(ti);
      offsetPerKey.push(offsetPerKey[offsetPerKey.length - 1] + t.dim);
    }
  });
  return {
    keys,
    lengthPerKey,
    offsetPerKey,
    tableOfKey,
    totalWidth: offsetPerKey[offsetPerKey.length - 1],
  };
}

/** The init a table uses when `init` is not given: uniform ±sqrt(1/rows). */
export function defaultInit(rows: number): EmbeddingInit {
  const b = Math.sqrt(1 / rows);
  return { kind: 'uniform', low: -b, high: b };
}
