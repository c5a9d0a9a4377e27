/**
 * Configuration of a cached embedding table: the whole table lives in a slow tier, a
 * bounded row cache lives in the fast one (see docs/cached-embeddings.md).
 *
 * Capacity is per table block a process holds (the whole table unsharded or table-wise; a
 * row or column block otherwise): `rows` slots, or `fraction` of the block's rows rounded up.
 *
 * @example
 * const table: EmbeddingBagConfig = { name: 't', rows: 1e6, dim: 16, pooling: 'sum', features: ['f'],
 *   cache: { fraction: 0.01, policy: 'lfu', slowTier: { kind: 'file', dir: '/tmp' } } };
 * cacheCapacity(table.cache!, 1e6); // 10000
 */

/** Which resident row to evict when a slot is needed. */
export type CachePolicy = 'lru' | 'lfu';

/** Where the full table lives. `file`: one file per table block in `dir`, read and written by offset. */
export type SlowTierConfig = { kind: 'memory' } | { kind: 'file'; dir: string };

export interface EmbeddingCacheConfig {
  /** Fast-tier slots (rows) per table block. Give this or `fraction`. */
  rows?: number;
  /** Fast-tier slots as a fraction in (0, 1] of the block's rows (rounded up). */
  fraction?: number;
  /** Eviction policy (default `lru`). */
  policy?: CachePolicy;
  /** Slow tier (default `{ kind: 'memory' }`). */
  slowTier?: SlowTierConfig;
}

/**
 * Check a cache configuration; throws an error naming the table and the field.
 *
 * @example
 * validateCacheConfig('t', { rows: 0 }); // throws: rows must be a positive integer
 */
export function validateCacheConfig(table: string, cache: EmbeddingCacheConfig): void {
  const where = `table '${table}' cache`;
  if ((cache.rows === undefined) === (cache.fraction === undefined))
    throw new Error(`${where}: give exactly one of rows or fraction`);
  if (cache.rows !== undefined && (!Number.isInteger(cache.rows) || cache.rows <= 0))
    throw new Error(`${where}: rows must be a positive integer, got ${cache.rows}`);
  if (
    cache.fraction !== undefined &&
    !(Number.isFinite(cache.fraction) && cache.fraction > 0 && cache.fraction <= 1)
  )
    throw new Error(`${where}: fraction must be in (0, 1], got ${cache.fraction}`);
  if (cache.policy !== undefined && cache.policy !== 'lru' && cache.policy !== 'lfu')
    throw new Error(`${where}: policy must be 'lru' or 'lfu', got '${String(cache.policy)}'`);
  const tier = cache.slowTier;
  if (tier !== undefined) {
    if (tier.kind === 'file') {
      if (typeof tier.dir !== 'string' || tier.dir.length === 0)
        throw new Error(`${where}: slowTier.dir must be a directory path`);
    } else if (tier.kind !== 'memory') {
      throw new Error(
        `${where}: slowTier.kind must be 'memory' or 'file', got '${String((tier as { kind: unknown }).kind)}'`,
      );
    }
  }
}

/**
 * Slots of the fast tier for a block of `blockRows` rows (never more than the block).
 *
 * @example
 * cacheCapacity({ fraction: 0.1 }, 95); // 10
 * cacheCapacity({ rows: 500 }, 95); // 95
 */
export function cacheCapacity(cache: EmbeddingCacheConfig, blockRows: number): number {
  const want = cache.rows ?? Math.ceil((cache.fraction ?? 1) * blockRows);
  return Math.max(1, Math.min(blockRows, want));
}
