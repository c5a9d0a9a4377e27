/**
 * Sync between pipelines sharing one model: a train pipeline and an eval pipeline used in
 * turns give the same results as running the same batches unpipelined in the same order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  NonPipelinedTrainer,
  TrainPipelineSparseDist,
  type TrainPipeline,
} from '../../src/pipeline/train-pipeline.ts';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { batchSpecFor, buildDlrmRank } from '../../src/models/dlrm-rank.ts';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import { allParams, localBatches, syntheticFor, tinyConfig, useWasm } from './fixtures.ts';

beforeAll(useWasm);

async function alternate(pipelined: boolean, worldSize: number) {
  const config = tinyConfig();
  const cluster = createSimCluster({ worldSize });
  const data = syntheticFor(config);
  const heldOut = data.heldOut();
  const results = await Promise.all(
    cluster.pgs.map(async (pg, rank) => {
      const r = buildDlrmRank({
        pg,
        distPg: cluster.distPgs[rank],
        device: cluster.devices[rank],
        config,
      });
      const P = pipelined ? TrainPipelineSparseDist : NonPipelinedTrainer;
      const opts = {
        model: r.model,
        optimizer: r.optimizer,
        device: cluster.devices[rank],
        pg,
        batchSpec: batchSpecFor(config),
      };
      const train: TrainPipeline = new P({ ...opts, name: 'train' });
      const evaluate: TrainPipeline = new P({ ...opts, name: 'eval' });
      const rec = new EventRecorder().attach(train.events$).attach(evaluate.events$);
      const trainIter = localBatches(data, 16, 8, rank, worldSize).values();
      const evalIter = localBatches(heldOut, 16, 4, rank, worldSize).values();
      const log: Array<[string, number, number]> = [];
      for (let round = 0; round < 4; round++) {
        r.model.train();
        for (let k = 0; k < 2; k++) {
          const o = await train.progress(trainIter);
          if (!o.done) log.push(['train', o.value.batch, o.value.loss]);
        }
        r.model.eval();
        const e = await evaluate.progress(evalIter);
        if (!e.done) log.push(['eval', e.value.batch, e.value.loss]);
      }
      return { log, params: allParams(r), syncs: rec.ofType('pipeline.sync').length };
    }),
  );
  return results;
}

describe('train and eval pipelines on one model, in turns', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: equals the unpipelined run in the same order`, async () => {
      const piped = await alternate(true, worldSize);
      const plain = await alternate(false, worldSize);
      for (let r = 0; r < worldSize; r++) {
        expect(piped[r].log).toEqual(plain[r].log);
        for (const [name, v] of Object.entries(plain[r].params))
          expect(Array.from(piped[r].params[name]), name).toEqual(Array.from(v));
        // every hand-over between two connected pipelines is a sync (the eval pipeline's
        // first call connects instead): rounds 1..3 × (train, eval)
        expect(piped[r].syncs).toBe(6);
      }
      expect(piped[0].log.filter(([k]) => k === 'eval')).toHaveLength(4);
    });
  }
});
