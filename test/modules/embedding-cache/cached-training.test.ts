/**
 * A cached table trains exactly like the uncached table: with a fast tier of 1 %, 10 % and
 * 100 % of the rows (LRU and LFU, SGD and row-wise Adagrad, gradient accumulation, one and
 * two ranks), every batch's loss and output and every final parameter are bitwise equal.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingCacheConfig } from '../../../src/modules/embedding-cache/cache-config.ts';
import type { DlrmConfig } from '../../../src/models/dlrm-config.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from '../../pipeline/fixtures.ts';

beforeAll(useWasm);

function configWith(
  cache: EmbeddingCacheConfig | undefined,
  optimizer: DlrmConfig['optimizer'],
): DlrmConfig {
  const base = tinyConfig({ optimizer });
  return {
    ...base,
    tables: base.tables.map((t) => ({ ...t, rows: 400, ...(cache ? { cache } : {}) })),
  };
}

async function train(config: DlrmConfig, worldSize: number, gradAccum: number, batches = 6) {
  const { ranks } = buildCluster('sparseDist', worldSize, config, { gradAccum });
  const data = syntheticFor(config);
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Array<{ loss: number; output: number[] }> = [];
      for await (const o of r.pipeline.run(localBatches(data, 32, batches, rank, worldSize)))
        outs.push({ loss: o.loss, output: [...o.output] });
      return outs;
    }),
  );
  const params = ranks.map(allParams);
  const stats = ranks.map((r) => r.ebc.cacheStats());
  for (const r of ranks) r.ebc.close();
  return { outputs, params, stats };
}

function expectBitwiseEqual(
  a: Awaited<ReturnType<typeof train>>,
  b: Awaited<ReturnType<typeof train>>,
  what: string,
): void {
  expect(a.outputs, what).toEqual(b.outputs);
  a.params.forEach((p, r) => {
    expect(Object.keys(p)).toEqual(Object.keys(b.params[r]));
    for (const [name, v] of Object.entries(p))
      expect(
        Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(
          Buffer.from(
            b.params[r][name].buffer,
            b.params[r][name].byteOffset,
            b.params[r][name].byteLength,
          ),
        ),
        `${what} rank ${r} ${name}`,
      ).toBe(true);
  });
}

describe('cached table == uncached table, bitwise', () => {
  for (const optimizer of ['sgd', 'adagrad'] as const) {
    for (const [worldSize, gradAccum] of [
      [1, 1],
      [2, 2],
    ] as const) {
      it(`${optimizer}, world ${worldSize}, grad accum ${gradAccum}: 1 %, 10 %, 100 % of rows, LRU and LFU`, async () => {
        const reference = await train(configWith(undefined, optimizer), worldSize, gradAccum);
        for (const fraction of [0.01, 0.1, 1]) {
          for (const policy of ['lru', 'lfu'] as const) {
            const run = await train(
              configWith({ fraction, policy }, optimizer),
              worldSize,
              gradAccum,
            );
            expectBitwiseEqual(run, reference, `${policy} ${fraction}`);
            const all = run.stats.flatMap((s) => Object.values(s));
            expect(all.length).toBeGreaterThan(0);
            const misses = all.reduce((a, s) => a + s.misses, 0);
            const evictions = all.reduce((a, s) => a + s.evictions, 0);
            const writeBacks = all.reduce((a, s) => a + s.writeBacks, 0);
            expect(misses).toBeGreaterThan(0);
            // a small cache really evicts and writes updated rows back; a full one never evicts
            if (fraction < 1) {
              expect(evictions, `${policy} ${fraction} evictions`).toBeGreaterThan(0);
              expect(writeBacks, `${policy} ${fraction} write-backs`).toBeGreaterThan(0);
            } else {
              expect(evictions).toBe(0);
            }
          }
        }
      });
    }
  }

  it('the comparison is not vacuous: training changes every table; cache.fill events on the bus', async () => {
    const config = configWith({ fraction: 0.01 }, 'sgd');
    const { ranks } = buildCluster('sparseDist', 1, config);
    const before = allParams(ranks[0]);
    const data = syntheticFor(config);
    const fills: Array<{ batch: number; hits: number; misses: number }> = [];
    ranks[0].pipeline.events$.subscribe((e) => {
      if (e.type === 'cache.fill') fills.push({ batch: e.batch, hits: e.hits, misses: e.misses });
    });
    for await (const _ of ranks[0].pipeline.run(localBatches(data, 32, 3, 0, 1))) void _;
    // one cache.fill event per batch on the bus, with the counters of that batch
    expect(fills.map((f) => f.batch)).toEqual([0, 1, 2]);
    const stats = Object.values(ranks[0].ebc.cacheStats());
    expect(fills.reduce((a, f) => a + f.misses, 0)).toBe(stats.reduce((a, s) => a + s.misses, 0));
    expect(fills.reduce((a, f) => a + f.hits, 0)).toBe(stats.reduce((a, s) => a + s.hits, 0));
    const after = allParams(ranks[0]);
    for (const name of Object.keys(before).filter((n) => n.startsWith('sparse.')))
      expect(
        Array.from(after[name]).some((v, i) => v !== before[name][i]),
        name,
      ).toBe(true);
  });

  it('a file slow tier trains the same and deletes its file on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-cache-'));
    try {
      const reference = await train(configWith(undefined, 'adagrad'), 1, 1);
      const run = await train(
        configWith({ fraction: 0.05, policy: 'lfu', slowTier: { kind: 'file', dir } }, 'adagrad'),
        1,
        1,
      );
      expectBitwiseEqual(run, reference, 'file tier');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
