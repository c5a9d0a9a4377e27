import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import {
  columnWiseShards,
  rowWiseShards,
  validatePlan,
} from '../../../src/modules/sharding/plan.ts';
import { planLoads, planSharding } from '../../../src/modules/sharding/planner.ts';

const t = (name: string, rows: number, dim: number): EmbeddingBagConfig => ({
  name,
  rows,
  dim,
  pooling: 'sum',
  features: [`f_${name}`],
});

describe('planSharding', () => {
  it('puts tables largest-first on the least-loaded rank (table-wise by default)', () => {
    const tables = [t('a', 100, 4), t('b', 400, 4), t('c', 300, 4), t('d', 200, 4)];
    const plan = planSharding(tables, 2);
    expect(Object.keys(plan.tables)).toEqual(['a', 'b', 'c', 'd']);
    expect(plan.tables.b.shards[0].rank).toBe(0);
    expect(plan.tables.c.shards[0].rank).toBe(1);
    expect(plan.tables.d.shards[0].rank).toBe(1);
    expect(plan.tables.a.shards[0].rank).toBe(0);
    expect(planLoads(plan)).toEqual([500 * 16, 500 * 16]);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan); // plain JSON
  });

  it('shards big tables row-wise, honours per-table preferences', () => {
    const tables = [t('small', 10, 4), t('big', 1000, 8), t('wide', 10, 6)];
    const plan = planSharding(tables, 3, {
      rowWiseThresholdBytes: 1000,
      prefer: { wide: 'column_wise' },
    });
    expect(plan.tables.big.type).toBe('row_wise');
    expect(plan.tables.big.shards.map((s) => [s.rank, s.rowStart, s.rowEnd])).toEqual([
      [0, 0, 334],
      [1, 334, 668],
      [2, 668, 1000],
    ]);
    expect(plan.tables.wide.type).toBe('column_wise');
    expect(plan.tables.wide.shards.map((s) => [s.colStart, s.colEnd])).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
    ]);
    expect(plan.tables.small.type).toBe('table_wise');
    expect(() => planSharding(tables, 2, { prefer: { nope: 'row_wise' } })).toThrow(
      /unknown table 'nope'/,
    );
  });

  it('always yields a valid plan (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            rows: fc.integer({ min: 1, max: 50 }),
            dim: fc.integer({ min: 1, max: 9 }),
            type: fc.constantFrom('table_wise', 'row_wise', 'column_wise'),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 8 }),
        (specs, W) => {
          const tables = specs.map((s, i) => t(`t${i}`, s.rows, s.dim));
          const prefer = Object.fromEntries(specs.map((s, i) => [`t${i}`, s.type]));
          const plan = planSharding(tables, W, { prefer });
          validatePlan(tables, plan);
          const bytes = tables.reduce((a, x) => a + x.rows * x.dim * 4, 0);
          expect(planLoads(plan).reduce((a, b) => a + b, 0)).toBe(bytes);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('validatePlan', () => {
  const tables = [t('a', 10, 4)];
  it('names the table and the problem', () => {
    expect(() => validatePlan(tables, { worldSize: 2, tables: {} })).toThrow(/table 'a': missing/);
    expect(() =>
      validatePlan(tables, {
        worldSize: 2,
        tables: { a: { type: 'row_wise', shards: rowWiseShards(tables[0], [0, 1]).slice(0, 1) } },
      }),
    ).toThrow(/end at row 5, expected 10/);
    expect(() =>
      validatePlan(tables, {
        worldSize: 2,
        tables: { a: { type: 'column_wise', shards: columnWiseShards(tables[0], [0, 0]) } },
      }),
    ).toThrow(/rank 0 holds two shards/);
    expect(() =>
      validatePlan(tables, {
        worldSize: 1,
        tables: {
          a: {
            type: 'table_wise',
            shards: [{ rank: 1, rowStart: 0, rowEnd: 10, colStart: 0, colEnd: 4 }],
          },
        },
      }),
    ).toThrow(/rank 1 outside \[0, 1\)/);
  });
});
