/**
 * `sparsepipe train --cache-rows / --cache-fraction`: every table in a slow tier behind a
 * row cache. The run trains exactly like the uncached one (same parameter digest), reports
 * the cache counters, writes the cached rows back into a checkpoint and resumes from it —
 * with the same cache, another cache, or none.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, trainSummary, withTmp } from './run-cli.ts';

const RUN = [
  '--ranks',
  '2',
  '--batch-size',
  '32',
  '--held-out-examples',
  '0',
  '--grad-accum',
  '2',
  '--optimizer',
  'adagrad',
];

describe('train with a cached embedding tier', () => {
  it('1 % cache == uncached; checkpoint writes cached rows back; resume (any cache) == straight', async () => {
    await withTmp(async (dir) => {
      const ck = join(dir, 'ck');
      const plain = await trainSummary(dir, 'plain', [...RUN, '--batches', '12']);
      expect(plain.cache).toBeNull();
      const cached = await trainSummary(dir, 'cached', [
        ...RUN,
        '--batches',
        '12',
        '--cache-fraction',
        '0.01',
        '--cache-policy',
        'lfu',
        '--cache-dir',
        join(dir, 'tier'),
      ]);
      expect(cached.paramsDigest).toBe(plain.paramsDigest);
      expect(cached.losses).toEqual(plain.losses);
      expect(cached.cache!.misses).toBeGreaterThan(0);
      expect(cached.cache!.evictions).toBeGreaterThan(0);
      expect(cached.cache!.writeBacks).toBeGreaterThan(0);

      // stop at 5 (mid accumulation window): the checkpoint holds the rows still cached
      const first = await trainSummary(dir, 'first', [
        ...RUN,
        '--batches',
        '5',
        '--cache-rows',
        '8',
        '--checkpoint-out',
        ck,
      ]);
      expect(first.checkpoint.pendingMicroBatches).toBe(1);
      const resumedCached = await trainSummary(dir, 'resumed-cached', [
        ...RUN,
        '--batches',
        '12',
        '--cache-rows',
        '8',
        '--resume',
        ck,
      ]);
      expect(resumedCached.paramsDigest).toBe(plain.paramsDigest);
      const resumedOther = await trainSummary(dir, 'resumed-other', [
        ...RUN,
        '--batches',
        '12',
        '--cache-fraction',
        '0.5',
        '--resume',
        ck,
      ]);
      expect(resumedOther.paramsDigest).toBe(plain.paramsDigest);
      const resumedPlain = await trainSummary(dir, 'resumed-plain', [
        ...RUN,
        '--batches',
        '12',
        '--resume',
        ck,
      ]);
      expect(resumedPlain.paramsDigest).toBe(plain.paramsDigest);
    });
  });

  it('refuses contradictory cache flags with one line naming them', async () => {
    const both = await runCli(['train', '--cache-rows', '4', '--cache-fraction', '0.1']);
    expect(both.code).not.toBe(0);
    expect(both.err.join('\n')).toContain('--cache-rows and --cache-fraction both size the cache');
    const policyOnly = await runCli(['train', '--cache-policy', 'lfu']);
    expect(policyOnly.code).not.toBe(0);
    expect(policyOnly.err.join('\n')).toContain('--cache-policy needs a cache');
    const tooBig = await runCli(['train', '--cache-fraction', '1.5']);
    expect(tooBig.err.join('\n')).toContain('--cache-fraction must be in (0, 1]');
  });
});

describe('train --pipeline prefetch', () => {
  it('trains like sparse-dist (same digest) with a cache and reports the fills', async () => {
    await withTmp(async (dir) => {
      const args = [...RUN, '--batches', '8', '--cache-fraction', '0.05'];
      const sparse = await trainSummary(dir, 'sparse', args);
      const prefetch = await trainSummary(dir, 'prefetch', [...args, '--pipeline', 'prefetch']);
      expect(prefetch.paramsDigest).toBe(sparse.paramsDigest);
      expect(prefetch.losses).toEqual(sparse.losses);
      expect(prefetch.batchesTrained).toBe(8);
      expect(prefetch.cache!.misses).toBeGreaterThan(0);
      expect(prefetch.streamBusy.prefetch).toBeGreaterThan(0);
    });
  });
});
