/**
 * The cached tier of a sharded collection (docs/cached-embeddings.md): the fill op that
 * makes a batch's rows resident before its lookup (`prefetch`), the counts it reports to
 * listeners, the unpinning of a batch's rows, and the cache counters of this rank's
 * cached table blocks.
 *
 * @example
 * if (hasCachedShard(held)) await prefetchRows(held, device, listeners, ctx, 'prefetch');
 * releaseCachedRows(held, ctx); // after the batch's backward (or its eval lookup)
 */
import type { CacheFillReport, Device, StreamName } from '../../../protocol/index.ts';
import type { CacheStats } from '../../embedding-cache/row-cache.ts';
import type { RankShards, ShardedEbcContext } from './types.ts';

/** Whether a local table block of `held` is cached. */
export function hasCachedShard(held: RankShards): boolean {
  for (const shard of held.shards.values()) if (shard.cache) return true;
  return false;
}

/** Cache counters of `held`'s cached table blocks, by table name. */
export function cacheStatsOf(held: RankShards): Record<string, CacheStats> {
  const out: Record<string, CacheStats> = {};
  for (const shard of held.shards.values()) {
    const st = shard.cacheStats();
    if (st) out[shard.table.name] = st;
  }
  return out;
}

/** Evictions and write-backs of `held`'s cached table blocks, summed. */
function cacheTotals(held: RankShards): { evictions: number; writeBacks: number } {
  let evictions = 0;
  let writeBacks = 0;
  for (const st of Object.values(cacheStatsOf(held))) {
    evictions += st.evictions;
    writeBacks += st.writeBacks;
  }
  return { evictions, writeBacks };
}

/** Unpin the cached rows batch `ctx` acquired. */
export function releaseCachedRows(held: RankShards, ctx: ShardedEbcContext): void {
  for (const shard of held.shards.values()) shard.releaseRows(ctx);
}

/**
 * Make the rows batch `ctx` will look up resident, as one `cacheFill` op on `device`'s
 * `stream` costing the missed rows' bytes at the slow tier's bandwidth (estimated when the
 * op is issued), and tell each of `listeners` the fill's counts. The batch's input dist
 * must have completed. Resolves immediately when no table is cached; a second call for
 * the batch returns the first fill.
 */
export function prefetchRows(
  held: RankShards,
  device: Device,
  listeners: ReadonlySet<(fill: CacheFillReport) => void>,
  ctx: ShardedEbcContext,
  stream: StreamName,
): Promise<void> {
  const ready = ctx.state;
  if (ready.stage !== 'ready')
    throw new Error(
      `${held.name}: prefetch for batch ${ctx.batch} before its input dist completed (stage '${ready.stage}')`,
    );
  if (ready.prefetched) return ready.prefetched;
  const recv = ready.received;
  if (!hasCachedShard(held)) return Promise.resolve();
  const N = recv.kjt.stride;
  const offsets = recv.kjt.offsets();
  let bytes = 0;
  held.mySlots.forEach((slot, s) => {
    const shard = held.shards.get(slot.table.name)!;
    if (!shard.cache) return;
    const missing = shard.missingRows(recv.kjt.values, offsets[s * N], offsets[(s + 1) * N]);
    bytes += missing * shard.cache.tier.rowBytes;
  });
  const done = device.run(
    stream,
    { kind: 'cacheFill', bytes, label: `${held.name} b${ctx.batch} cache fill` },
    () => {
      let hits = 0;
      let misses = 0;
      const before = cacheTotals(held);
      held.mySlots.forEach((slot, s) => {
        const shard = held.shards.get(slot.table.name)!;
        const got = shard.acquireRows(ctx, recv.kjt.values, offsets[s * N], offsets[(s + 1) * N]);
        hits += got.hits;
        misses += got.misses;
      });
      const after = cacheTotals(held);
      const report = {
        batch: ctx.batch,
        hits,
        misses,
        evictions: after.evictions - before.evictions,
        writeBacks: after.writeBacks - before.writeBacks,
      };
      for (const listener of listeners) listener(report);
    },
    { after: [ready.dataDone] },
  );
  done.catch(() => undefined);
  ctx.state = { ...ready, prefetched: done };
  return done;
}
