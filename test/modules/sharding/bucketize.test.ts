import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { bucketizeInput } from '../../../src/modules/sharding/bucketize.ts';
import { planSharding } from '../../../src/modules/sharding/planner.ts';
import { assembleReceivedInput } from '../../../src/modules/sharding/received-input.ts';
import { buildShardLayout } from '../../../src/modules/sharding/shard-layout.ts';
import { KeyedJaggedTensor } from '../../../src/tensors/keyed-jagged-tensor.ts';
import { randomBatch, rng } from './sim-cluster.ts';

const TABLES: EmbeddingBagConfig[] = [
  { name: 't0', rows: 20, dim: 4, pooling: 'sum', features: ['a', 'b'] },
  { name: 't1', rows: 9, dim: 3, pooling: 'mean', features: ['c'] },
];

/** Route every rank's buckets through an in-memory all-to-all. */
function exchange<T extends Int32Array | Float32Array>(sends: T[], counts: Int32Array[]): T[] {
  const W = sends.length;
  return Array.from({ length: W }, (_, dst) => {
    const parts: number[] = [];
    for (let src = 0; src < W; src++) {
      let start = 0;
      for (let d = 0; d < dst; d++) start += counts[src][d];
      for (let i = 0; i < counts[src][dst]; i++) parts.push(sends[src][start + i]);
    }
    return (
      sends[0] instanceof Int32Array ? Int32Array.from(parts) : Float32Array.from(parts)
    ) as T;
  });
}

describe('input dist (bucketize → all-to-all → reorder)', () => {
  it('an unweighted batch sends weights of 1 only when asked, and the same ids either way', () => {
    for (const type of ['table_wise', 'row_wise', 'column_wise'] as const) {
      const layout = buildShardLayout(
        TABLES,
        planSharding(TABLES, 2, { prefer: { t0: type, t1: type } }),
      );
      const batch = randomBatch(rng(5), TABLES, 6, 3, false);
      const bare = bucketizeInput(batch, layout, { weighted: false });
      const ones = bucketizeInput(batch, layout, { weighted: true });
      expect(bare.weights).toBeUndefined();
      expect(Array.from(ones.weights!)).toEqual(Array.from(ones.values, () => 1));
      expect(Array.from(bare.values)).toEqual(Array.from(ones.values));
      expect(Array.from(bare.lengths)).toEqual(Array.from(ones.lengths));
      expect(Array.from(bare.valueCounts)).toEqual(Array.from(ones.valueCounts));
    }
  });

  it('gives each owner exactly the ids of the global batch it must see, in global order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('table_wise', 'row_wise', 'column_wise'),
        fc.integer(),
        (W, Bl, type, seed) => {
          const plan = planSharding(TABLES, W, {
            prefer: { t0: type, t1: type === 'row_wise' ? 'column_wise' : 'row_wise' },
          });
          const layout = buildShardLayout(TABLES, plan);
          const next = rng(seed);
          const global = randomBatch(next, TABLES, W * Bl, 3, true);
          const locals = Array.from({ length: W }, (_, r) =>
            global.sliceSamples(r * Bl, (r + 1) * Bl),
          );
          const buckets = locals.map((l) => bucketizeInput(l, layout, { weighted: true }));
          const lengths = exchange(
            buckets.map((b) => b.lengths),
            buckets.map((b) => b.lengthCounts),
          );
          const values = exchange(
            buckets.map((b) => b.values),
            buckets.map((b) => b.valueCounts),
          );
          const weights = exchange(
            buckets.map((b) => b.weights!),
            buckets.map((b) => b.valueCounts),
          );
          const sizes = Int32Array.from({ length: W }, () => Bl);
          for (let r = 0; r < W; r++) {
            const got = assembleReceivedInput(
              layout.slotsByRank[r],
              sizes,
              lengths[r],
              values[r],
              weights[r],
            ).kjt;
            layout.slotsByRank[r].forEach((slot) => {
              // expected: the global feature, filtered to the shard's rows for row-wise
              const ids = global.valuesForKey(slot.feature);
              const w = global.weightsForKey(slot.feature)!;
              const lens = global.lengthsForKey(slot.feature);
              const keep = (id: number) =>
                slot.type !== 'row_wise' || (id >= slot.shard.rowStart && id < slot.shard.rowEnd);
              const wantLens: number[] = [];
              let p = 0;
              for (const n of lens) {
                let c = 0;
                for (let i = 0; i < n; i++) if (keep(ids[p + i])) c++;
                wantLens.push(c);
                p += n;
              }
              expect(Array.from(got.lengthsForKey(slot.feature))).toEqual(wantLens);
              expect(Array.from(got.valuesForKey(slot.feature))).toEqual(
                Array.from(ids).filter(keep),
              );
              expect(Array.from(got.weightsForKey(slot.feature)!)).toEqual(
                Array.from(w).filter((_, i) => keep(ids[i])),
              );
            });
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects an out-of-range id before anything is sent, naming feature, sample and table', () => {
    const layout = buildShardLayout(TABLES, planSharding(TABLES, 2));
    const kjt = new KeyedJaggedTensor({
      keys: ['a', 'b', 'c'],
      lengths: Int32Array.from([0, 0, 0, 0, 0, 1]),
      values: Int32Array.from([9]),
    });
    expect(() => bucketizeInput(kjt, layout, { weighted: false })).toThrow(
      /feature 'c' sample 1 has id 9 outside table 't1' rows \[0, 9\)/,
    );
    const later = new KeyedJaggedTensor({
      keys: ['a', 'b', 'c'],
      lengths: Int32Array.from([2, 1, 0, 1, 0, 0, 1, 3, 0, 2, 2, 0]),
      values: Int32Array.from([1, 2, 3, 4, 5, 6, 20, 7, 1, 2, 3, 4]),
      stride: 4,
    });
    expect(() => bucketizeInput(later, layout, { weighted: true })).toThrow(
      /feature 'b' sample 3 has id 20 outside table 't0' rows \[0, 20\)/,
    );
  });
});
