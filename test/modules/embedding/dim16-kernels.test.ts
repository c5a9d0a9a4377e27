/**
 * The 16-wide loops (dim16-kernels.ts) against the general loops on the same random inputs:
 * bitwise equal results — pooled outputs, accumulated gradients (and their slot order),
 * updated weights — with duplicates, empty bags, per-id weights, mean pooling, column and
 * row offsets, row blocks; then whole sharded collections (table-, row-, column-wise, one
 * and two ranks, a cached table) trained with and without them. A counter proves the
 * 16-wide loops ran.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { dim16Loops } from '../../../src/modules/embedding/dim16-kernels.ts';
import {
  createFusedOptimizer,
  type FusedOptimizerConfig,
} from '../../../src/modules/embedding/fused-optimizers.ts';
import {
  accumulatePooledGrad,
  pooledLookup,
  type Bags,
  type TableSlice,
} from '../../../src/modules/embedding/kernels.ts';
import { SparseGradAccumulator } from '../../../src/modules/embedding/sparse-grad-accumulator.ts';
import type { ShardingType } from '../../../src/modules/sharding/plan.ts';
import { planSharding } from '../../../src/modules/sharding/planner.ts';
import { ShardedEmbeddingBagCollection } from '../../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import { assembleStateDict } from '../../../src/modules/sharding/sharded-state.ts';
import {
  forwardBackward,
  quadraticGrad,
  randomBatch,
  rng,
  simCluster,
  splitBatch,
} from '../sharding/sim-cluster.ts';

afterEach(() => {
  dim16Loops.enabled = true;
});

/** How many 16-wide loops ran since `before` (a copy of `dim16Loops.calls`). */
function callsSince(before: typeof dim16Loops.calls): number {
  const c = dim16Loops.calls;
  return (
    c.lookup +
    c.backward +
    c.sgd +
    c.adagrad -
    before.lookup -
    before.backward -
    before.sgd -
    before.adagrad
  );
}

/** Run `fn` with the 16-wide loops on and off; returns both results and how often they ran. */
function bothWays<T>(fn: () => T): { fast: T; general: T; fastCalls: number } {
  const before = { ...dim16Loops.calls };
  dim16Loops.enabled = true;
  const fast = fn();
  const fastCalls = callsSince(before);
  const c = { ...dim16Loops.calls };
  dim16Loops.enabled = false;
  const general = fn();
  dim16Loops.enabled = true;
  expect(dim16Loops.calls).toEqual(c); // the general run used none
  return { fast, general, fastCalls };
}

function bits(a: ArrayLike<number>): string {
  return Buffer.from(Float64Array.from(a).buffer).toString('hex');
}

const W = 16;

const caseArb = fc
  .record({
    rows: fc.integer({ min: 1, max: 30 }),
    rowStart: fc.integer({ min: 0, max: 7 }),
    bags: fc.array(
      fc.array(fc.tuple(fc.nat(1000), fc.float({ min: -2, max: 2, noNaN: true })), {
        maxLength: 6,
      }),
      { minLength: 1, maxLength: 8 },
    ),
    weighted: fc.boolean(),
    pooling: fc.constantFrom('sum' as const, 'mean' as const),
    colOffset: fc.integer({ min: 0, max: 5 }),
    rowOffset: fc.integer({ min: 0, max: 2 }),
    scale: fc.constantFrom(1, 0.5, 1 / 3),
    seed: fc.integer(),
  })
  .map((c) => {
    const values = new Float32Array(c.rows * W);
    let s = c.seed | 0;
    const next = () => {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      return ((s >>> 8) / 2 ** 24) * 2 - 1;
    };
    for (let i = 0; i < values.length; i++) values[i] = next();
    const ids: number[] = [];
    const idW: number[] = [];
    const offsets = [0];
    for (const bag of c.bags) {
      // ids modulo a small row count: many duplicates, within and across bags
      for (const [id, wt] of bag) {
        ids.push(c.rowStart + (id % c.rows));
        idW.push(wt);
      }
      offsets.push(ids.length);
    }
    const table: TableSlice = { weights: values, rowStart: c.rowStart, nRows: c.rows, width: W };
    const bags: Bags = {
      values: Int32Array.from(ids),
      offsets: Int32Array.from(offsets),
      nBags: c.bags.length,
      weights: c.weighted ? Float32Array.from(idW) : undefined,
    };
    const stride = W + c.colOffset + 3;
    const grad = new Float32Array((c.bags.length + c.rowOffset) * stride);
    for (let i = 0; i < grad.length; i++) grad[i] = next();
    return { ...c, table, bags, stride, grad };
  });

describe('16-wide loops equal the general loops bitwise', () => {
  it('pooled lookup (sum / mean, weighted or not, empty bags, column and row offsets)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { fast, general, fastCalls } = bothWays(() => {
          const out = new Float32Array((c.bags.nBags + c.rowOffset) * c.stride).fill(99);
          pooledLookup({
            table: c.table,
            bags: c.bags,
            pooling: c.pooling,
            out,
            outStride: c.stride,
            outColOffset: c.colOffset,
            outRowOffset: c.rowOffset,
          });
          return out;
        });
        expect(fastCalls).toBe(1);
        expect(bits(fast)).toBe(bits(general));
      }),
      { numRuns: 300 },
    );
  });

  it('pooled backward into an accumulator: same sums, same slot order, across two calls', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { fast, general, fastCalls } = bothWays(() => {
          const acc = new SparseGradAccumulator(W, c.rowStart + c.rows);
          const args = {
            table: c.table,
            bags: c.bags,
            pooling: c.pooling,
            grad: c.grad,
            gradStride: c.stride,
            gradColOffset: c.colOffset,
            gradRowOffset: c.rowOffset,
            scale: c.scale,
          };
          accumulatePooledGrad(args, acc);
          accumulatePooledGrad(args, acc); // the second call adds onto existing rows
          const order: number[] = [];
          acc.forEachRow((r) => order.push(r));
          return { order, data: acc.data.slice(0, acc.size * W), sparse: acc.toSparse() };
        });
        expect(fastCalls).toBe(2);
        expect(fast.order).toEqual(general.order);
        expect(bits(fast.data)).toBe(bits(general.data));
        expect(Array.from(fast.sparse.rows)).toEqual(Array.from(general.sparse.rows));
      }),
      { numRuns: 300 },
    );
  });

  it('fused SGD update (scale, gradient rows wider than the block)', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom(1, 0.25),
        (c, c0, scale) => {
          // gradient rows of width 16 + c0 + 1; the block's columns start at c0
          const gw = W + c0 + 1;
          const acc = new SparseGradAccumulator(gw, c.rows);
          c.bags.values.forEach((id, i) =>
            acc.addRow(id - c.rowStart, c.grad, (i * 7) % (c.grad.length - gw + 1)),
          );
          const { fast, general, fastCalls } = bothWays(() => {
            const weights = c.table.weights.slice();
            createFusedOptimizer({ kind: 'sgd', lr: 0.05 }, c.rows).apply(
              { weights, nRows: c.rows, width: W },
              acc,
              { scale, gradColStart: c0 },
            );
            return weights;
          });
          expect(fastCalls).toBe(1);
          expect(bits(fast)).toBe(bits(general));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fused row-wise Adagrad update (momentum carried over two steps, scale)', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(1, 0.25), (c, scale) => {
        const acc = new SparseGradAccumulator(W, c.rows);
        c.bags.values.forEach((id, i) =>
          acc.addRow(id - c.rowStart, c.grad, (i * 5) % (c.grad.length - W + 1)),
        );
        const { fast, general, fastCalls } = bothWays(() => {
          const weights = c.table.weights.slice();
          const opt = createFusedOptimizer(
            { kind: 'adagrad', lr: 0.1, initialAccumulatorValue: 0.01 },
            c.rows,
          );
          const block = { weights, nRows: c.rows, width: W };
          opt.apply(block, acc, { scale, gradColStart: 0 });
          opt.apply(block, acc, { scale, gradColStart: 0 });
          return { weights: bits(weights), momentum: bits(opt.exportState().momentum!) };
        });
        expect(fastCalls).toBe(2);
        expect(fast).toEqual(general);
      }),
      { numRuns: 200 },
    );
  });

  it('name the same id, bag and table when an id is outside the rows held', () => {
    const table: TableSlice = {
      weights: new Float32Array(4 * W),
      rowStart: 10,
      nRows: 4,
      width: W,
      name: 't_user',
    };
    const bags: Bags = {
      values: Int32Array.from([10, 11, 13, 14, 12]),
      offsets: Int32Array.from([0, 2, 4, 5]),
      nBags: 3,
      feature: 'user',
    };
    const message = /feature 'user' \(table 't_user'\): id 14 in bag 1 is outside rows \[10, 14\)/;
    for (const enabled of [true, false]) {
      dim16Loops.enabled = enabled;
      const out = new Float32Array(3 * W);
      expect(() =>
        pooledLookup({ table, bags, pooling: 'sum', out, outStride: W, outColOffset: 0 }),
      ).toThrow(message);
      const acc = new SparseGradAccumulator(W, 14);
      expect(() =>
        accumulatePooledGrad(
          { table, bags, pooling: 'sum', grad: out, gradStride: W, gradColOffset: 0 },
          acc,
        ),
      ).toThrow(message);
      const rows = new SparseGradAccumulator(W);
      rows.addRow(2, out, 0);
      rows.addRow(9, out, 0);
      expect(() =>
        createFusedOptimizer({ kind: 'sgd', lr: 1 }, 4).apply(
          { weights: new Float32Array(4 * W), nRows: 4, width: W },
          rows,
          { gradColStart: 0 },
        ),
      ).toThrow(/fused sgd: gradient row 9 outside block of 4 rows/);
    }
  });
});

describe('sharded collections train bitwise the same with the 16-wide loops', () => {
  const OPTIMIZERS: FusedOptimizerConfig[] = [
    { kind: 'sgd', lr: 0.2 },
    { kind: 'adagrad', lr: 0.1 },
  ];
  const tables = (cached: boolean): EmbeddingBagConfig[] => [
    { name: 'u', rows: 90, dim: 16, pooling: 'sum', features: ['a', 'b'] },
    { name: 'v', rows: 40, dim: 16, pooling: 'mean', features: ['c'] },
    {
      name: 'w',
      rows: 60,
      dim: 32, // column-wise over two ranks: two 16-wide blocks
      pooling: 'sum',
      features: ['d'],
      ...(cached ? { cache: { fraction: 0.25 } } : {}),
    },
  ];

  async function train(
    worldSize: number,
    type: ShardingType | 'auto',
    weighted: boolean,
    cached: boolean,
    optimizer: FusedOptimizerConfig,
  ) {
    const T = tables(cached);
    const prefer =
      type === 'auto' ? undefined : Object.fromEntries(T.map((t) => [t.name, type] as const));
    const plan = planSharding(T, worldSize, { prefer });
    const { groups, devices } = simCluster(worldSize);
    const modules = groups.map(
      (pg, r) =>
        new ShardedEmbeddingBagCollection({
          tables: T,
          plan,
          seed: 5,
          optimizer,
          env: { rank: r, worldSize, pg, device: devices[r] },
        }),
    );
    const next = rng(3);
    const outputs: number[] = [];
    const B = 8;
    for (let s = 0; s < 6; s++) {
      const batch = randomBatch(next, T, B, 5, weighted);
      const width = modules[0].outputWidth;
      const target = Float32Array.from({ length: B * width }, () => next() - 0.5);
      const Bl = B / worldSize;
      const pooled = await forwardBackward(modules, splitBatch(batch, worldSize), s, (p, r) =>
        quadraticGrad(p, target.subarray(r * Bl * width, (r + 1) * Bl * width)),
      );
      for (const p of pooled) outputs.push(...p.values);
      await Promise.all(modules.map((m) => m.step()));
    }
    const state = assembleStateDict(modules.map((m) => m.stateDict()));
    for (const m of modules) m.close();
    return {
      outputs: bits(outputs),
      weights: Object.fromEntries(Object.entries(state.tables).map(([n, t]) => [n, bits(t)])),
    };
  }

  for (const [worldSize, type] of [
    [1, 'auto'],
    [2, 'table_wise'],
    [2, 'row_wise'],
    [2, 'column_wise'],
  ] as const) {
    for (const cached of [false, true]) {
      it(`world ${worldSize}, ${type}${cached ? ', a cached table' : ''}: SGD and Adagrad, weighted and not`, async () => {
        for (const optimizer of OPTIMIZERS)
          for (const weighted of [false, true]) {
            const before = { ...dim16Loops.calls };
            const fast = await train(worldSize, type, weighted, cached, optimizer);
            const fastCalls = callsSince(before);
            dim16Loops.enabled = false;
            const general = await train(worldSize, type, weighted, cached, optimizer);
            dim16Loops.enabled = true;
            expect(fastCalls).toBeGreaterThan(0);
            expect(fast).toEqual(general);
          }
      });
    }
  }
});
