import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  trainAll,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

describe('TrainPipelineSparseDist smoke', () => {
  it('trains every batch of a 1-rank sim run exactly once', async () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config);
    const data = syntheticFor(config);
    const batches = localBatches(data, 16, 5, 0, 1);
    const losses = await trainAll(ranks, [batches]);
    expect(losses[0]).toHaveLength(5);
    for (const l of losses[0]) expect(Number.isFinite(l)).toBe(true);
  });
});
