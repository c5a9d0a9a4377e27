/**
 * The fused sparse-dist pipeline trains exactly like sparse-dist: every batch's loss and
 * output, and every rank's final parameters, bit for bit — for each lookup stream, with
 * gradient accumulation and with feature processors (which it keeps exact by ordering:
 * the look-ahead waits for the embedding step, which also steps the processors). And the
 * look-ahead really happens: batch i+1's lookup starts before batch i's dense step ends.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import type { SemiSyncOptions } from '../../src/pipeline/options.ts';
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

async function runKind(
  kind: PipelineKind,
  worldSize: number,
  batches: number,
  extra: Partial<SemiSyncOptions> & { processors?: boolean; costModel?: CostModel } = {},
) {
  const { processors, ...options } = extra;
  const config = tinyConfig();
  const { ranks } = buildCluster(kind, worldSize, config, options, processors);
  const data = syntheticFor(config);
  const events: PipelineEvent[] = [];
  ranks[0].pipeline.events$.subscribe((e) => events.push(e));
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Array<{ batch: number; loss: number; output: number[] }> = [];
      for await (const o of r.pipeline.run(localBatches(data, 16, batches, rank, worldSize)))
        outs.push({ batch: o.batch, loss: o.loss, output: [...o.output] });
      return outs;
    }),
  );
  return { outputs, params: ranks.map(allParams), events };
}

function expectSameTraining(
  a: Awaited<ReturnType<typeof runKind>>,
  b: Awaited<ReturnType<typeof runKind>>,
) {
  expect(a.outputs).toEqual(b.outputs);
  expect(a.outputs[0].length).toBeGreaterThan(0);
  for (let r = 0; r < a.params.length; r++) {
    expect(Object.keys(a.params[r])).toEqual(Object.keys(b.params[r]));
    for (const [name, values] of Object.entries(b.params[r]))
      expect(Array.from(a.params[r][name]), `rank ${r} ${name}`).toEqual(Array.from(values));
  }
}

describe('fused sparse-dist == sparse-dist', () => {
  for (const worldSize of [1, 2, 4]) {
    it(`world ${worldSize}: same losses, outputs and final parameters, bit for bit`, async () => {
      const reference = await runKind('sparseDist', worldSize, 6);
      const fused = await runKind('fusedSparseDist', worldSize, 6);
      expectSameTraining(fused, reference);
    });
  }

  for (const embLookupStream of ['new', 'current'] as const) {
    it(`lookup stream '${embLookupStream}': same training (world 2)`, async () => {
      const reference = await runKind('sparseDist', 2, 5);
      const fused = await runKind('fusedSparseDist', 2, 5, { embLookupStream });
      expectSameTraining(fused, reference);
    });
  }

  it('gradient accumulation 3 (a partial last window): same training (world 2)', async () => {
    const reference = await runKind('sparseDist', 2, 7, { gradAccum: 3 });
    const fused = await runKind('fusedSparseDist', 2, 7, { gradAccum: 3 });
    expectSameTraining(fused, reference);
  });

  it('feature processors stay exact: the look-ahead waits for the step that trains them', async () => {
    const reference = await runKind('sparseDist', 2, 5, { processors: true });
    const fused = await runKind('fusedSparseDist', 2, 5, { processors: true });
    expectSameTraining(fused, reference);
    const without = await runKind('fusedSparseDist', 2, 5);
    expect(without.outputs).not.toEqual(fused.outputs);
  });

  it('batch i+1 is looked up on the lookup stream while batch i runs its dense step', async () => {
    const costModel = new CostModel({
      overrides: parseCostOverrides('fwd=2,bwd=2,opt=4,lookup=3'),
    });
    const { events } = await runKind('fusedSparseDist', 1, 4, {
      embLookupStream: 'new',
      costModel,
    });
    const lookups = events.filter((e) => e.type === 'lookup.start');
    expect(lookups.map((e) => e.batch)).toEqual([1, 2, 3]);
    for (const l of lookups) {
      if (l.type !== 'lookup.start') continue;
      expect(l.stream).toBe('embLookup');
      const at = (type: string, batch: number) =>
        events.find((e) => e.type === type && e.batch === batch)?.t ?? NaN;
      // starts before the previous batch's step ends, and before its own forward
      expect(l.t).toBeLessThan(at('optimizer.end', l.batch - 1));
      expect(l.t).toBeLessThan(at('forward.start', l.batch));
    }
  });
});
