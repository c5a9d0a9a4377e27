/**
 * The direct port of the seed's progress() (bench/direct-port) trains exactly what
 * TrainPipelineSparseDist trains: same seed and data → the same losses, outputs and final
 * parameters, bitwise, at world 1 and 2, with and without gradient accumulation (a final
 * partial window included).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DirectSparseDistPipeline } from '../../bench/direct-port/direct-sparse-dist.ts';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { batchSpecFor, buildDlrmRank } from '../../src/models/dlrm-rank.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from '../pipeline/fixtures.ts';

beforeAll(useWasm);

interface Run {
  outputs: Array<Array<{ batch: number; loss: number; output: number[] }>>;
  params: Array<Record<string, Float32Array>>;
}

async function runActor(worldSize: number, batches: number, gradAccum: number): Promise<Run> {
  const config = tinyConfig();
  const { ranks } = buildCluster('sparseDist', worldSize, config, { gradAccum });
  const data = syntheticFor(config);
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Run['outputs'][number] = [];
      for await (const o of r.pipeline.run(localBatches(data, 16, batches, rank, worldSize)))
        outs.push({ batch: o.batch, loss: o.loss, output: [...o.output] });
      r.pipeline.dispose();
      return outs;
    }),
  );
  return { outputs, params: ranks.map(allParams) };
}

async function runDirect(worldSize: number, batches: number, gradAccum: number): Promise<Run> {
  const config = tinyConfig();
  const cluster = createSimCluster({ worldSize });
  const data = syntheticFor(config);
  const ranks = cluster.pgs.map((pg, rank) =>
    buildDlrmRank({ pg, distPg: cluster.distPgs[rank], device: cluster.devices[rank], config }),
  );
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const port = new DirectSparseDistPipeline({
        model: r.model,
        optimizer: r.optimizer,
        device: cluster.devices[rank],
        gradAccum,
        batchSpec: batchSpecFor(config),
      });
      const it = localBatches(data, 16, batches, rank, worldSize)[Symbol.iterator]();
      const outs: Run['outputs'][number] = [];
      for (;;) {
        const o = await port.progress(it);
        if (o.done) break;
        outs.push({ batch: o.value.batch, loss: o.value.loss, output: [...o.value.output] });
      }
      return outs;
    }),
  );
  return { outputs, params: ranks.map(allParams) };
}

describe('direct port == TrainPipelineSparseDist', () => {
  for (const [worldSize, gradAccum] of [
    [1, 1],
    [2, 1],
    [2, 3],
  ] as const) {
    it(`world ${worldSize}, gradAccum ${gradAccum}: same outputs and parameters, bitwise`, async () => {
      const batches = 7;
      const actor = await runActor(worldSize, batches, gradAccum);
      const direct = await runDirect(worldSize, batches, gradAccum);
      expect(direct.outputs[0].map((o) => o.batch)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(direct.outputs).toEqual(actor.outputs);
      for (let r = 0; r < worldSize; r++) {
        expect(Object.keys(direct.params[r])).toEqual(Object.keys(actor.params[r]));
        for (const [name, values] of Object.entries(actor.params[r])) {
          expect(Array.from(direct.params[r][name]), `rank ${r} ${name}`).toEqual(
            Array.from(values),
          );
        }
      }
    });
  }
});
