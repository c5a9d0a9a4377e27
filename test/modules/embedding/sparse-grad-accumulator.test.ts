/**
 * The accumulator's hash index against a `Map` reference on random sequences of adds and
 * clears: same rows, same first-touch order, same float64 sums, across table growth and
 * clears of a grown table holding few rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SparseGradAccumulator } from '../../../src/modules/embedding/sparse-grad-accumulator.ts';

type Op = { kind: 'add'; row: number; value: number } | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      // clustered and spread rows: collisions, long probe chains, large ids
      row: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
      value: fc.double({ min: -4, max: 4, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

describe('SparseGradAccumulator hash index', () => {
  it('matches a Map of rows in first-touch order through growth and clears', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 400 }),
        fc.integer({ min: 1, max: 64 }),
        (ops, initialRows) => {
          const acc = new SparseGradAccumulator(2, undefined, initialRows);
          let ref = new Map<number, [number, number]>();
          for (const op of ops) {
            if (op.kind === 'clear') {
              acc.clear();
              ref = new Map();
              continue;
            }
            acc.addRow(op.row, [op.value, 1], 0);
            const r = ref.get(op.row) ?? [0, 0];
            ref.set(op.row, [r[0] + op.value, r[1] + 1]);
          }
          const seen: Array<[number, number, number]> = [];
          acc.forEachRow((row, d, o) => seen.push([row, d[o], d[o + 1]]));
          expect(seen).toEqual([...ref].map(([row, [a, b]]) => [row, a, b]));
          expect(acc.size).toBe(ref.size);
          for (const row of ref.keys()) expect(acc.has(row)).toBe(true);
          expect(acc.has(41)).toBe(ref.has(41));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('after a large window, a clear leaves no row behind and the next window starts empty', () => {
    const acc = new SparseGradAccumulator(1, 100_000);
    for (let r = 0; r < 5000; r++) acc.addRow((r * 7919) % 100_000, [1], 0);
    acc.clear();
    for (const r of [3, 11, 3]) acc.addRow(r, [1], 0);
    acc.clear(); // few rows in a grown table: emptied bucket by bucket
    expect(acc.size).toBe(0);
    for (let r = 0; r < 5000; r++) expect(acc.has((r * 7919) % 100_000)).toBe(false);
    expect(acc.has(3)).toBe(false);
    acc.addRow(11, [2], 0);
    expect(Array.from(acc.toSparse().grads)).toEqual([2]);
  });

  it('keeps its table size through an empty clear (zeroGrad after a step)', () => {
    const acc = new SparseGradAccumulator(1, 100_000);
    const fill = () => {
      for (let r = 0; r < 3000; r++) acc.addRow((r * 7919) % 100_000, [1], 0);
    };
    fill();
    acc.clear();
    const resizes = acc.resizes;
    acc.clear(); // empty: nothing to do
    fill();
    expect(acc.resizes).toBe(resizes);
    expect(acc.size).toBe(3000);
  });

  it('rejects rows outside the table it was given', () => {
    const acc = new SparseGradAccumulator(1, 10);
    expect(() => acc.addRow(10, [1], 0)).toThrow(/row 10 outside \[0, 10\)/);
    expect(() => acc.addRow(-1, [1], 0)).toThrow(/row -1 outside \[0, 10\)/);
    expect(() => new SparseGradAccumulator(1).addRow(1.5, [1], 0)).toThrow(/row 1.5 outside/);
  });
});
