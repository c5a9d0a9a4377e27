/**
 * The semi-synchronous pipeline is defined by its staleness: it equals the non-pipelined
 * stale reference (src/testing/stale-reference.ts) bit for bit — losses, outputs and
 * final parameters, with and without stashed gradients, world 1 and 2; before `startBatch`
 * it equals sparse-dist, and the first stale batch differs (so the comparison bites).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { staleReferenceTrain } from '../../src/testing/stale-reference.ts';
import { TrainPipelineSemiSync } from '../../src/pipeline/look-ahead-pipelines.ts';
import type { SemiSyncOptions } from '../../src/pipeline/options.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

const config = tinyConfig();

async function piped(
  kind: PipelineKind,
  worldSize: number,
  batches: number,
  o: Partial<SemiSyncOptions> = {},
) {
  const { ranks } = buildCluster(kind, worldSize, config, o);
  const data = syntheticFor(config);
  const runs = await Promise.all(
    ranks.map(async (r, rank) => {
      const losses: number[] = [];
      const outputs: number[][] = [];
      for await (const out of r.pipeline.run(localBatches(data, 16, batches, rank, worldSize))) {
        losses.push(out.loss);
        outputs.push([...out.output]);
      }
      return { losses, outputs };
    }),
  );
  return { runs, params: ranks.map(allParams) };
}

async function reference(worldSize: number, batches: number, o: Partial<SemiSyncOptions>) {
  const { ranks } = buildCluster('none', worldSize, config);
  const data = syntheticFor(config);
  const runs = await Promise.all(
    ranks.map(async (r, rank) => {
      const res = await staleReferenceTrain({
        model: r.model,
        optimizer: r.optimizer,
        batches: localBatches(data, 16, batches, rank, worldSize),
        startBatch: o.startBatch,
        stashGradients: o.stashGradients,
      });
      return { losses: res.losses, outputs: res.outputs.map((x) => [...x]) };
    }),
  );
  return { runs, params: ranks.map(allParams) };
}

function expectEqualParams(a: Record<string, Float32Array>[], b: Record<string, Float32Array>[]) {
  for (let r = 0; r < b.length; r++)
    for (const [name, values] of Object.entries(b[r]))
      expect(Array.from(a[r][name]), `rank ${r} ${name}`).toEqual(Array.from(values));
}

describe('semi-sync == its stale reference, bit for bit', () => {
  for (const worldSize of [1, 2])
    for (const o of [
      { startBatch: 0, stashGradients: false },
      { startBatch: 2, stashGradients: false },
      { startBatch: 2, stashGradients: true },
    ])
      it(`world ${worldSize}, startBatch ${o.startBatch}${o.stashGradients ? ', stashed gradients' : ''}`, async () => {
        const semi = await piped('semiSync', worldSize, 7, o);
        const ref = await reference(worldSize, 7, o);
        expect(semi.runs).toEqual(ref.runs);
        expect(semi.runs[0].losses).toHaveLength(7);
        expectEqualParams(semi.params, ref.params);
      });
});

describe('semi-sync against sparse-dist', () => {
  it('equals sparse-dist up to startBatch; the first stale batch differs', async () => {
    const semi = await piped('semiSync', 2, 7, { startBatch: 3 });
    const sync = await piped('sparseDist', 2, 7);
    for (let r = 0; r < 2; r++) {
      // batches 0..3 are looked up after the previous step (batch 3's lookup follows step 2)
      expect(semi.runs[r].outputs.slice(0, 4)).toEqual(sync.runs[r].outputs.slice(0, 4));
      // batch 4 was looked up before step 3: it sees older tables
      expect(semi.runs[r].outputs[4]).not.toEqual(sync.runs[r].outputs[4]);
    }
  });

  it('with startBatch past the data it is sparse-dist, parameters included', async () => {
    const semi = await piped('semiSync', 2, 5, { startBatch: 5 });
    const sync = await piped('sparseDist', 2, 5);
    expect(semi.runs).toEqual(sync.runs);
    expectEqualParams(semi.params, sync.params);
  });

  it('refuses gradient accumulation and loss scaling, saying why', () => {
    const { ranks, cluster } = buildCluster('none', 1, config);
    const base = {
      model: ranks[0].model,
      optimizer: ranks[0].optimizer,
      device: cluster.devices[0],
    };
    expect(() => new TrainPipelineSemiSync({ ...base, gradAccum: 2 })).toThrow(
      /steps after every batch.*gradAccum must be 1/,
    );
    expect(() => new TrainPipelineSemiSync({ ...base, gradScaling: true })).toThrow(
      /does not support gradScaling/,
    );
  });
});
