/**
 * Gradient accumulation through the pipeline: the exact schedule makes A micro-batches of B
 * train like one batch of A·B (dense and embedding parameters); the seed's schedule
 * reproduces its zero_grad / step order (docs/design.md "The seed pipeline and what sparsepipe fixes").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  maxRelDiff,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

async function train(opts: {
  batch: number;
  count: number;
  gradAccum: number;
  optimizer: 'sgd' | 'adagrad';
  worldSize?: number;
}) {
  const config = tinyConfig({
    optimizer: opts.optimizer,
    lr: opts.optimizer === 'adagrad' ? 0.05 : 0.1,
  });
  const worldSize = opts.worldSize ?? 1;
  const { ranks } = buildCluster('sparseDist', worldSize, config, { gradAccum: opts.gradAccum });
  const data = syntheticFor(config);
  await Promise.all(
    ranks.map(async (r, rank) => {
      for await (const _ of r.pipeline.run(
        localBatches(data, opts.batch, opts.count, rank, worldSize),
      ))
        void _;
    }),
  );
  return ranks.map(allParams);
}

describe('exact accumulation', () => {
  for (const optimizer of ['sgd', 'adagrad'] as const) {
    it(`${optimizer}: 4 micro-batches of 8 == 1 batch of 32 (3 steps, dense and embeddings)`, async () => {
      const micro = await train({ batch: 8, count: 12, gradAccum: 4, optimizer });
      const big = await train({ batch: 32, count: 3, gradAccum: 1, optimizer });
      expect(maxRelDiff(micro[0], big[0])).toBeLessThan(1e-5);
    });
  }

  it('world 2: A=2 micro-batches of 16 == 1 batch of 32 at world 1', async () => {
    const micro = await train({
      batch: 16,
      count: 6,
      gradAccum: 2,
      optimizer: 'sgd',
      worldSize: 2,
    });
    const big = await train({ batch: 32, count: 3, gradAccum: 1, optimizer: 'sgd', worldSize: 1 });
    // dense replicas equal the single rank's dense parameters
    const dense = (p: Record<string, Float32Array>) =>
      Object.fromEntries(Object.entries(p).filter(([n]) => !n.startsWith('sparse.')));
    expect(maxRelDiff(dense(micro[0]), dense(big[0]))).toBeLessThan(1e-5);
    expect(maxRelDiff(dense(micro[1]), dense(big[0]))).toBeLessThan(1e-5);
  });

  it('a final partial window is stepped, rescaled to the micro-batches it holds', async () => {
    // 6 micro-batches of 8 with A=4: steps after 4 and after the last 2 (scale 4/2)
    const micro = await train({ batch: 8, count: 6, gradAccum: 4, optimizer: 'sgd' });
    const configBig = { batch: 32, count: 1, gradAccum: 1, optimizer: 'sgd' as const };
    const first = await train(configBig);
    expect(maxRelDiff(micro[0], first[0])).toBeGreaterThan(1e-4); // the flush step happened
  });
});

describe('schedules: optimizer events per call', () => {
  async function events(schedule: 'exact' | 'torchrec-0.3.2', gradAccum: number, n = 12) {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config, {
      gradAccum,
      gradAccumSchedule: schedule,
    });
    const rec = new EventRecorder().attach(ranks[0].pipeline.events$);
    for await (const _ of ranks[0].pipeline.run(localBatches(syntheticFor(config), 8, n, 0, 1)))
      void _;
    return {
      zeroGrad: rec.ofType('optimizer.zeroGrad').map((e) => e.batch),
      step: rec.ofType('optimizer.step').map((e) => [e.batch, e.microBatches]),
    };
  }

  it('torchrec-0.3.2 reproduces the seed: A=3 steps after calls 2,5,8,11 with resets at 1,4,7,10', async () => {
    const e = await events('torchrec-0.3.2', 3);
    expect(e.zeroGrad).toEqual([1, 4, 7, 10]);
    expect(e.step.map(([b]) => b)).toEqual([2, 5, 8, 11]);
  });

  it('torchrec-0.3.2 A=1: batch 0 is never stepped alone (reset at every call from 1)', async () => {
    const e = await events('torchrec-0.3.2', 1, 4);
    expect(e.zeroGrad).toEqual([1, 2, 3]);
    expect(e.step.map(([b]) => b)).toEqual([1, 2, 3]);
  });

  it('torchrec-0.3.2 A=4: steps after 3, 7, 11 with resets at 2, 6, 10', async () => {
    const e = await events('torchrec-0.3.2', 4);
    expect(e.zeroGrad).toEqual([2, 6, 10]);
    expect(e.step.map(([b]) => b)).toEqual([3, 7, 11]);
  });

  it('exact A=3 over 10 calls: windows {0,1,2} {3,4,5} {6,7,8} {9}', async () => {
    const e = await events('exact', 3, 10);
    expect(e.zeroGrad).toEqual([0, 3, 6, 9]);
    expect(e.step).toEqual([
      [2, 3],
      [5, 3],
      [8, 3],
      [9, 1],
    ]);
  });
});
