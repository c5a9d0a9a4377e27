import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accumulateIdWeightGrad,
  accumulatePooledGrad,
  pooledBackward,
  pooledLookup,
  type Bags,
  type TableSlice,
} from '../../../src/modules/embedding/kernels.ts';
import { SparseGradAccumulator } from '../../../src/modules/embedding/sparse-grad-accumulator.ts';

/** A random table block and jagged batch. */
const caseArb = fc
  .record({
    rows: fc.integer({ min: 1, max: 12 }),
    rowStart: fc.integer({ min: 0, max: 5 }),
    width: fc.integer({ min: 1, max: 5 }),
    bags: fc.array(
      fc.array(fc.tuple(fc.nat(1000), fc.float({ min: -2, max: 2, noNaN: true })), {
        maxLength: 5,
      }),
      { minLength: 1, maxLength: 6 },
    ),
    weighted: fc.boolean(),
    pooling: fc.constantFrom('sum' as const, 'mean' as const),
    colOffset: fc.integer({ min: 0, max: 3 }),
    seed: fc.integer(),
  })
  .map((c) => {
    const weights = new Float32Array(c.rows * c.width);
    let s = c.seed | 0;
    for (let i = 0; i < weights.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      weights[i] = ((s >>> 8) / 2 ** 24) * 2 - 1;
    }
    const ids: number[] = [];
    const w: number[] = [];
    const offsets = [0];
    for (const bag of c.bags) {
      for (const [id, wt] of bag) {
        ids.push(c.rowStart + (id % c.rows));
        w.push(wt);
      }
      offsets.push(ids.length);
    }
    const table: TableSlice = { weights, rowStart: c.rowStart, nRows: c.rows, width: c.width };
    const bags: Bags = {
      values: Int32Array.from(ids),
      offsets: Int32Array.from(offsets),
      nBags: c.bags.length,
      weights: c.weighted ? Float32Array.from(w) : undefined,
    };
    return {
      table,
      bags,
      pooling: c.pooling,
      colOffset: c.colOffset,
      stride: c.width + c.colOffset + 2,
      seed: c.seed,
    };
  });

function naivePooled(table: TableSlice, bags: Bags, pooling: 'sum' | 'mean'): number[][] {
  const out: number[][] = [];
  for (let b = 0; b < bags.nBags; b++) {
    const row = new Array<number>(table.width).fill(0);
    const s = bags.offsets[b];
    const e = bags.offsets[b + 1];
    for (let i = s; i < e; i++) {
      const r = bags.values[i] - table.rowStart;
      const w = bags.weights ? bags.weights[i] : 1;
      for (let j = 0; j < table.width; j++) row[j] += w * table.weights[r * table.width + j];
    }
    if (pooling === 'mean' && e > s) for (let j = 0; j < table.width; j++) row[j] /= e - s;
    out.push(row);
  }
  return out;
}

function randomGrad(n: number, seed: number): Float32Array {
  const g = new Float32Array(n);
  let s = seed ^ 0x5bd1e995;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    g[i] = ((s >>> 8) / 2 ** 24) * 2 - 1;
  }
  return g;
}

describe('pooledLookup', () => {
  it('equals a naive loop (sum / mean, weighted or not) and writes only its column slice', () => {
    fc.assert(
      fc.property(caseArb, ({ table, bags, pooling, colOffset, stride }) => {
        const out = new Float32Array(bags.nBags * stride).fill(99);
        pooledLookup({ table, bags, pooling, out, outStride: stride, outColOffset: colOffset });
        const want = naivePooled(table, bags, pooling);
        for (let b = 0; b < bags.nBags; b++) {
          for (let j = 0; j < stride; j++) {
            const v = out[b * stride + j];
            if (j < colOffset || j >= colOffset + table.width) expect(v).toBe(99);
            else expect(v).toBeCloseTo(want[b][j - colOffset], 5);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('pools an empty bag to zeros', () => {
    const table: TableSlice = {
      weights: Float32Array.from([1, 2, 3, 4]),
      rowStart: 0,
      nRows: 2,
      width: 2,
    };
    const out = new Float32Array(4).fill(7);
    pooledLookup({
      table,
      bags: { values: Int32Array.from([1]), offsets: Int32Array.from([0, 0, 1]), nBags: 2 },
      pooling: 'mean',
      out,
      outStride: 2,
      outColOffset: 0,
    });
    expect(Array.from(out)).toEqual([0, 0, 3, 4]);
  });

  it('reads bags from the middle of a jagged batch (bagStart)', () => {
    const table: TableSlice = {
      weights: Float32Array.from([1, 10, 100]),
      rowStart: 0,
      nRows: 3,
      width: 1,
    };
    const out = new Float32Array(2);
    // bags: [0] | [1,2] | [2]  — look up the last two
    pooledLookup({
      table,
      bags: {
        values: Int32Array.from([0, 1, 2, 2]),
        offsets: Int32Array.from([0, 1, 3, 4]),
        bagStart: 1,
        nBags: 2,
      },
      pooling: 'sum',
      out,
      outStride: 1,
      outColOffset: 0,
    });
    expect(Array.from(out)).toEqual([110, 100]);
  });

  it('names the feature, table, bag and id when an id is outside the rows held', () => {
    const table: TableSlice = {
      weights: new Float32Array(4),
      rowStart: 10,
      nRows: 2,
      width: 2,
      name: 't_user',
    };
    const out = new Float32Array(2);
    expect(() =>
      pooledLookup({
        table,
        bags: {
          values: Int32Array.from([12]),
          offsets: Int32Array.from([0, 1]),
          nBags: 1,
          feature: 'user',
        },
        pooling: 'sum',
        out,
        outStride: 2,
        outColOffset: 0,
      }),
    ).toThrow(/feature 'user' \(table 't_user'\): id 12 in bag 0 is outside rows \[10, 12\)/);
  });
});

describe('pooled backward', () => {
  it('equals the numerical gradient of a linear loss ⟨G, pooled⟩ w.r.t. every table entry', () => {
    fc.assert(
      fc.property(caseArb, ({ table, bags, pooling, colOffset, stride, seed }) => {
        const G = randomGrad(bags.nBags * stride, seed);
        const loss = (w: Float32Array): number => {
          const out = new Float32Array(bags.nBags * stride);
          pooledLookup({
            table: { ...table, weights: w },
            bags,
            pooling,
            out,
            outStride: stride,
            outColOffset: colOffset,
          });
          let l = 0;
          for (let i = 0; i < out.length; i++) l += G[i] * out[i];
          return l;
        };
        const sparse = pooledBackward({
          table,
          bags,
          pooling,
          grad: G,
          gradStride: stride,
          gradColOffset: colOffset,
        });
        // rows unique and ascending
        for (let i = 1; i < sparse.rows.length; i++)
          expect(sparse.rows[i]).toBeGreaterThan(sparse.rows[i - 1]);
        const h = 1e-2; // loss is linear in the weights: central differences are exact up to rounding
        for (let r = 0; r < table.nRows; r++) {
          const k = sparse.rows.indexOf(r);
          for (let j = 0; j < table.width; j++) {
            const wp = table.weights.slice();
            const wm = table.weights.slice();
            wp[r * table.width + j] += h;
            wm[r * table.width + j] -= h;
            const num = (loss(wp) - loss(wm)) / (2 * h);
            const got = k < 0 ? 0 : sparse.grads[k * table.width + j];
            expect(Math.abs(got - num)).toBeLessThan(2e-3 * (1 + Math.abs(num)));
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('accumulates across calls (two halves == whole batch)', () => {
    fc.assert(
      fc.property(caseArb, ({ table, bags, pooling, seed }) => {
        const G = randomGrad(bags.nBags * table.width, seed);
        const whole = pooledBackward({
          table,
          bags,
          pooling,
          grad: G,
          gradStride: table.width,
          gradColOffset: 0,
        });
        const acc = new SparseGradAccumulator(table.width);
        const half = Math.floor(bags.nBags / 2);
        accumulatePooledGrad(
          {
            table,
            bags: { ...bags, nBags: half },
            pooling,
            grad: G,
            gradStride: table.width,
            gradColOffset: 0,
          },
          acc,
        );
        accumulatePooledGrad(
          {
            table,
            bags: { ...bags, bagStart: half, nBags: bags.nBags - half },
            pooling,
            grad: G,
            gradStride: table.width,
            gradColOffset: 0,
            gradRowOffset: half,
          },
          acc,
        );
        const parts = acc.toSparse();
        expect(Array.from(parts.rows)).toEqual(Array.from(whole.rows));
        for (let i = 0; i < whole.grads.length; i++)
          expect(parts.grads[i]).toBeCloseTo(whole.grads[i], 5);
      }),
      { numRuns: 100 },
    );
  });

  it('gives the numerical gradient w.r.t. per-id weights', () => {
    fc.assert(
      fc.property(caseArb, ({ table, bags, pooling, colOffset, stride, seed }) => {
        const idW = bags.weights ?? new Float32Array(bags.values.length).fill(1);
        const G = randomGrad(bags.nBags * stride, seed);
        const loss = (w: Float32Array): number => {
          const out = new Float32Array(bags.nBags * stride);
          pooledLookup({
            table,
            bags: { ...bags, weights: w },
            pooling,
            out,
            outStride: stride,
            outColOffset: colOffset,
          });
          let l = 0;
          for (let i = 0; i < out.length; i++) l += G[i] * out[i];
          return l;
        };
        const dw = new Float32Array(idW.length);
        accumulateIdWeightGrad({
          table,
          bags: { ...bags, weights: idW },
          pooling,
          grad: G,
          gradStride: stride,
          gradColOffset: colOffset,
          out: dw,
        });
        const h = 1e-2;
        for (let i = 0; i < idW.length; i++) {
          const wp = idW.slice();
          const wm = idW.slice();
          wp[i] += h;
          wm[i] -= h;
          const num = (loss(wp) - loss(wm)) / (2 * h);
          expect(Math.abs(dw[i] - num)).toBeLessThan(2e-3 * (1 + Math.abs(num)));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('SparseGradAccumulator', () => {
  it.each([
    ['a map index', undefined],
    ['a dense index', 101],
  ])('sums rows, exports ascending, clears, and flags non-finite values (%s)', (_, rows) => {
    const acc = new SparseGradAccumulator(2, rows, 1);
    for (const r of [9, 3, 7, 3, 100, 0]) acc.addRow(r, Float32Array.from([r, 1]), 0);
    const s = acc.toSparse();
    expect(Array.from(s.rows)).toEqual([0, 3, 7, 9, 100]);
    expect(Array.from(s.grads)).toEqual([0, 1, 6, 2, 7, 1, 9, 1, 100, 1]);
    expect(acc.hasNonFinite()).toBe(false);
    acc.addRow(5, Float32Array.from([NaN, 0]), 0);
    expect(acc.hasNonFinite()).toBe(true);
    const visited: number[] = [];
    acc.forEachRow((r) => visited.push(r));
    expect(visited).toEqual([9, 3, 7, 100, 0, 5]); // first-touch order
    acc.clear();
    expect(acc.size).toBe(0);
    expect(acc.has(9)).toBe(false);
    acc.addRow(1, Float32Array.from([1, 1]), 0);
    expect(Array.from(acc.toSparse().grads)).toEqual([1, 1]);
    if (rows !== undefined)
      expect(() => acc.addRow(rows, [0, 0], 0)).toThrow(/row 101 outside \[0, 101\)/);
  });
});
