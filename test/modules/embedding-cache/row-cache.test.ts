/**
 * `RowCache` under adversarial id streams (fast-check): rows of in-flight batches are never
 * evicted or moved, rows holding gradients stay resident, every resident row holds its
 * latest value (weights and optimizer state), dirty rows reach the slow tier, and the cache
 * returns to its capacity once batches release their rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFusedOptimizer } from '../../../src/modules/embedding/fused-optimizers.ts';
import { cacheCapacity } from '../../../src/modules/embedding-cache/cache-config.ts';
import { EvictionOrder } from '../../../src/modules/embedding-cache/eviction-order.ts';
import { RowCache } from '../../../src/modules/embedding-cache/row-cache.ts';
import { MemorySlowTier } from '../../../src/modules/embedding-cache/slow-tier.ts';

const ROWS = 64;
const WIDTH = 2;

type Op =
  | { op: 'acquire'; owner: number; rows: number[] }
  | { op: 'update'; owner: number }
  | { op: 'release'; owner: number }
  | { op: 'protect'; row: number }
  | { op: 'unprotectAll' };

const rowArb = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: ROWS - 1 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('acquire' as const),
      owner: fc.integer({ min: 0, max: 3 }),
      rows: fc.array(rowArb, { maxLength: 12 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      owner: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('release' as const),
      owner: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('protect' as const), row: rowArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'unprotectAll' as const }) },
);

function setup(capacity: number, policy: 'lru' | 'lfu') {
  const tier = new MemorySlowTier({
    rows: ROWS,
    width: WIDTH,
    stateWidth: 1,
    initRows: (from, to) => {
      const weights = new Float32Array((to - from) * WIDTH);
      const state = new Float32Array(to - from);
      for (let r = from; r < to; r++) {
        weights[(r - from) * WIDTH] = r;
        weights[(r - from) * WIDTH + 1] = -r;
        state[r - from] = 1000 + r;
      }
      return { weights, state };
    },
  });
  const optimizer = createFusedOptimizer({ kind: 'adagrad', lr: 0.1 }, capacity);
  const protectedRows = new Set<number>();
  const cache = new RowCache({
    tier,
    capacity,
    policy,
    optimizer,
    isProtected: (row) => protectedRows.has(row),
  });
  return { tier, optimizer, cache, protectedRows };
}

describe('RowCache', () => {
  it('never evicts or moves a row pinned by an in-flight batch, under adversarial id streams', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom('lru' as const, 'lfu' as const),
        fc.array(opArb, { maxLength: 60 }),
        (capacity, policy, ops) => {
          const { tier, optimizer, cache, protectedRows } = setup(capacity, policy);
          const owners = [{}, {}, {}, {}];
          /** rows each live owner acquired → the slot they were in */
          const held = new Map<number, Map<number, number>>();
          /** expected (weight0, state) of every row */
          const expected = Array.from({ length: ROWS }, (_, r) => ({ w: r, s: 1000 + r }));
          const st = new Float32Array(1);
          const check = () => {
            for (const [, rows] of held)
              for (const [row, slot] of rows) expect(cache.lookup(row)).toBe(slot);
            for (let row = 0; row < ROWS; row++) {
              const slot = cache.lookup(row);
              if (slot < 0) continue;
              expect(cache.weights[slot * WIDTH]).toBe(expected[row].w);
              optimizer.readRowState(slot, st, 0);
              expect(st[0]).toBe(expected[row].s);
            }
          };
          for (const o of ops) {
            if (o.op === 'acquire') {
              // protected rows resident before the call stay resident through it
              const protectedResident = [...protectedRows].filter((r) => cache.lookup(r) >= 0);
              cache.acquire(owners[o.owner], o.rows);
              const rows = held.get(o.owner) ?? new Map<number, number>();
              for (const r of o.rows) rows.set(r, cache.lookup(r));
              held.set(o.owner, rows);
              for (const r of protectedResident) expect(cache.lookup(r)).toBeGreaterThanOrEqual(0);
            } else if (o.op === 'update') {
              for (const [row, slot] of held.get(o.owner) ?? []) {
                cache.weights[slot * WIDTH] += 1;
                optimizer.readRowState(slot, st, 0);
                st[0] += 1;
                optimizer.writeRowState(slot, st, 0);
                cache.markDirty(slot);
                expected[row].w += 1;
                expected[row].s += 1;
              }
            } else if (o.op === 'release') {
              cache.release(owners[o.owner]);
              held.delete(o.owner);
            } else if (o.op === 'protect') {
              if (cache.lookup(o.row) >= 0) protectedRows.add(o.row);
            } else {
              protectedRows.clear();
            }
            check();
          }
          for (const o of [...held.keys()]) cache.release(owners[o]);
          protectedRows.clear();
          cache.release({});
          // everything released and unprotected: back within capacity
          expect(cache.residentRows).toBeLessThanOrEqual(capacity);
          cache.flush();
          const w = new Float32Array(WIDTH);
          for (let row = 0; row < ROWS; row++) {
            tier.readRow(row, w, 0, st, 0);
            expect([w[0], st[0]]).toEqual([expected[row].w, expected[row].s]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('grows past capacity only while pinned rows need it, then shrinks back on release', () => {
    const { cache } = setup(4, 'lru');
    const batch = {};
    cache.acquire(batch, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(cache.residentRows).toBe(10);
    expect(cache.stats.overflowSlots).toBe(6);
    cache.release(batch);
    expect(cache.residentRows).toBe(4);
    expect(cache.stats.evictions).toBe(6);
  });

  it('counts hits, misses, evictions and write-backs', () => {
    const { cache } = setup(2, 'lru');
    const a = {};
    expect(cache.acquire(a, [1, 2, 1])).toEqual({ hits: 0, misses: 2 });
    cache.markDirty(cache.slotOf(1));
    cache.release(a);
    expect(cache.acquire(a, [2, 3])).toEqual({ hits: 1, misses: 1 }); // evicts 1 (least recent), dirty
    expect(cache.stats).toMatchObject({ hits: 1, misses: 3, evictions: 1, writeBacks: 1 });
  });

  it('LRU evicts the least recently used row, LFU the least frequently used', () => {
    for (const [policy, evicted] of [
      ['lru', 1],
      ['lfu', 2],
    ] as const) {
      const { cache } = setup(2, policy);
      const b = {};
      cache.acquire(b, [1]);
      cache.release(b);
      cache.acquire(b, [1]);
      cache.release(b);
      cache.acquire(b, [2]); // 1 used twice, 2 once and last
      cache.release(b);
      cache.acquire(b, [3]);
      cache.release(b);
      expect(cache.lookup(evicted), `${policy} evicts ${evicted}`).toBe(-1);
    }
  });

  it('EvictionOrder skips slots the caller protects', () => {
    const order = new EvictionOrder('lru');
    order.load(0);
    order.load(1);
    order.use(0);
    expect(order.victim(() => true)).toBe(1);
    expect(order.victim((s) => s !== 1)).toBe(0);
    expect(order.victim(() => false)).toBe(-1);
  });

  it('capacity: rows or a fraction of the block, at most the block', () => {
    expect(cacheCapacity({ fraction: 0.01 }, 400)).toBe(4);
    expect(cacheCapacity({ fraction: 0.1 }, 95)).toBe(10);
    expect(cacheCapacity({ rows: 500 }, 95)).toBe(95);
  });
});
