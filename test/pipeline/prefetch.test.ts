/**
 * The prefetch pipeline trains exactly like sparse-dist — with uncached tables and with
 * cached ones (1 % and 10 % of the rows, LRU and LFU), with gradient accumulation and
 * feature processors, on one and two ranks: every batch's loss and output and every final
 * parameter, bit for bit. And the prefetch really happens ahead: batch i+1's cache fill
 * runs on the prefetch stream before batch i's forward has ended, and batch i+1's lookup
 * then misses nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import type { EmbeddingCacheConfig } from '../../src/modules/embedding-cache/cache-config.ts';
import type { DlrmConfig } from '../../src/models/dlrm-config.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { CostModel, parseCostOverrides } from '../../src/runtime/sim/cost-model.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

function configWith(cache?: EmbeddingCacheConfig): DlrmConfig {
  const base = tinyConfig({ optimizer: 'adagrad' });
  return {
    ...base,
    tables: base.tables.map((t) => ({ ...t, rows: 400, ...(cache ? { cache } : {}) })),
  };
}

async function runKind(
  kind: PipelineKind,
  config: DlrmConfig,
  worldSize: number,
  o: { gradAccum?: number; processors?: boolean; costModel?: CostModel; batches?: number } = {},
) {
  const { ranks } = buildCluster(
    kind,
    worldSize,
    config,
    { gradAccum: o.gradAccum ?? 1, costModel: o.costModel },
    o.processors,
  );
  const data = syntheticFor(config);
  const events: PipelineEvent[] = [];
  ranks[0].pipeline.events$.subscribe((e) => events.push(e));
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Array<{ batch: number; loss: number; output: number[] }> = [];
      for await (const x of r.pipeline.run(localBatches(data, 32, o.batches ?? 7, rank, worldSize)))
        outs.push({ batch: x.batch, loss: x.loss, output: [...x.output] });
      return outs;
    }),
  );
  const params = ranks.map(allParams);
  for (const r of ranks) r.ebc.close();
  return { outputs, params, events };
}

function expectSameTraining(
  a: Awaited<ReturnType<typeof runKind>>,
  b: Awaited<ReturnType<typeof runKind>>,
  what: string,
) {
  expect(a.outputs, what).toEqual(b.outputs);
  expect(a.outputs[0].length).toBe(7);
  for (let r = 0; r < a.params.length; r++) {
    expect(Object.keys(a.params[r])).toEqual(Object.keys(b.params[r]));
    for (const [name, values] of Object.entries(b.params[r]))
      expect(Array.from(a.params[r][name]), `${what} rank ${r} ${name}`).toEqual(
        Array.from(values),
      );
  }
}

describe('prefetch pipeline == sparse-dist', () => {
  for (const [worldSize, gradAccum, processors] of [
    [1, 1, false],
    [2, 2, true],
  ] as const) {
    it(`world ${worldSize}, grad accum ${gradAccum}${processors ? ', feature processors' : ''}: uncached, 1 % and 10 % cached (LRU, LFU)`, async () => {
      const o = { gradAccum, processors };
      const reference = await runKind('sparseDist', configWith(), worldSize, o);
      expectSameTraining(
        await runKind('prefetchSparseDist', configWith(), worldSize, o),
        reference,
        'uncached',
      );
      for (const [fraction, policy] of [
        [0.01, 'lru'],
        [0.1, 'lfu'],
      ] as const) {
        const run = await runKind(
          'prefetchSparseDist',
          configWith({ fraction, policy }),
          worldSize,
          o,
        );
        expectSameTraining(run, reference, `${policy} ${fraction}`);
        expect(run.events.filter((e) => e.type === 'prefetch.end').length).toBe(7);
      }
    });
  }

  it('prefetches batch i+1 on its own stream while batch i computes; its lookup then misses nothing', async () => {
    const costModel = new CostModel({
      ...CostModel.zero().options(),
      slowTierBytesPerMs: 400,
    }).withOverrides(parseCostOverrides('copy=1,dist=1,fwd=4,bwd=4,opt=1'));
    const run = await runKind('prefetchSparseDist', configWith({ fraction: 0.5 }), 1, {
      costModel,
    });
    const at = (type: string, batch: number) =>
      run.events.find((e) => e.type === type && e.batch === batch)!.t;
    if (process.env.DUMP)
      for (const e of run.events)
        if (/start|end/.test(e.type)) console.log(`${e.t.toFixed(2)} ${e.type} ${e.batch}`);
    for (let i = 1; i < 6; i++) {
      // the fill of i+1 starts before forward(i) ends: it overlaps the compute of batch i
      expect(at('prefetch.start', i + 1)).toBeLessThan(at('forward.end', i));
      expect(at('prefetch.end', i + 1)).toBeLessThanOrEqual(at('forward.start', i + 1));
    }
    const fills = run.events.filter((e) => e.type === 'cache.fill');
    // one fill per batch, every one issued by the prefetch stage (no fill on demand)
    expect(fills.map((e) => e.batch)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(fills.reduce((a, e) => a + (e.type === 'cache.fill' ? e.misses : 0), 0)).toBeGreaterThan(
      0,
    );
  });
});
