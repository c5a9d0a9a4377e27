/**
 * Feature processors on pipelined modules (the seed silently dropped them): a pipelined run
 * with position-weighted processors equals the unpipelined run with them, and differs
 * from a run without them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PositionWeightedModule } from '../../src/modules/feature-processors/position-weighted.ts';
import { NonPipelinedTrainer, TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { batchSpecFor, buildDlrmRank, featureNames } from '../../src/models/dlrm-rank.ts';
import { allParams, localBatches, syntheticFor, tinyConfig, useWasm } from './fixtures.ts';

beforeAll(useWasm);

async function run(pipelined: boolean, withProcessors: boolean, worldSize: number) {
  const config = tinyConfig();
  const cluster = createSimCluster({ worldSize });
  const data = syntheticFor(config);
  return Promise.all(
    cluster.pgs.map(async (pg, rank) => {
      const featureProcessors = withProcessors
        ? Object.fromEntries(
            featureNames(config).map((f) => [f, new PositionWeightedModule({ maxLength: 8 })]),
          )
        : undefined;
      const r = buildDlrmRank({
        pg,
        distPg: cluster.distPgs[rank],
        device: cluster.devices[rank],
        config,
        featureProcessors,
      });
      const P = pipelined ? TrainPipelineSparseDist : NonPipelinedTrainer;
      const p = new P({
        model: r.model,
        optimizer: r.optimizer,
        device: cluster.devices[rank],
        pg,
        batchSpec: batchSpecFor(config),
      });
      const losses: number[] = [];
      for await (const o of p.run(localBatches(data, 16, 6, rank, worldSize))) losses.push(o.loss);
      const fp = featureProcessors
        ? Object.values(featureProcessors).map((m) => Array.from(m.param))
        : [];
      return { losses, params: allParams(r), fp };
    }),
  );
}

describe('feature processors in the pipeline', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: pipelined with position-weighted processors == unpipelined with them`, async () => {
      const piped = await run(true, true, worldSize);
      const plain = await run(false, true, worldSize);
      const without = await run(true, false, worldSize);
      for (let r = 0; r < worldSize; r++) {
        expect(piped[r].losses).toEqual(plain[r].losses);
        expect(piped[r].fp).toEqual(plain[r].fp);
        for (const [n, v] of Object.entries(plain[r].params))
          expect(Array.from(piped[r].params[n]), n).toEqual(Array.from(v));
        // the processors were trained and they matter
        expect(piped[r].fp.some((w) => w.some((x) => x !== 1))).toBe(true);
        expect(without[r].losses).not.toEqual(piped[r].losses);
      }
    });
  }
});
