/**
 * Steady-state iteration time of a sim run (virtual ms): the median time between consecutive
 * iterations over the second half of the run, measured from `metrics$`. Shared by the
 * overlap bench and the schedule sweeps.
 *
 * @example
 * const ms = await steadyIterationMs({ kind: 'sparseDist', worldSize: 2, costs: 'copy=2,dist=5,fwd=3,bwd=4,opt=1' });
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { PipelineKind } from '../machines/coordinator-types.ts';
import { CostModel, parseCostOverrides } from '../src/runtime/index.ts';
import { createSimCluster } from '../src/runtime/sim/sim-cluster.ts';
import { batchSpecFor, buildDlrmRank, smallDlrmConfig } from '../src/models/dlrm-rank.ts';
import { SyntheticClickLog } from '../src/data/synthetic.ts';
import {
  NonPipelinedTrainer,
  TrainPipelineBase,
  TrainPipelineSparseDist,
} from '../src/pipeline/train-pipeline.ts';

export interface SimRunOptions {
  kind: PipelineKind;
  worldSize: number;
  costs: string;
  batches?: number;
  globalBatch?: number;
}

export async function steadyIterationMs(o: SimRunOptions): Promise<number> {
  if (tf.getBackend() !== 'wasm') {
    await tf.setBackend('wasm');
    await tf.ready();
  }
  const config = smallDlrmConfig({ bottom: [8, 4], top: [8, 1], embeddingDim: 4 });
  const cluster = createSimCluster({
    worldSize: o.worldSize,
    costModel: new CostModel({ overrides: parseCostOverrides(o.costs) }),
  });
  const data = new SyntheticClickLog({
    seed: 3,
    features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
  });
  const batches = o.batches ?? 24;
  const global = o.globalBatch ?? 32;
  const local = global / o.worldSize;
  const all = [...data.batches(global, { count: batches })];
  const times = await Promise.all(
    cluster.pgs.map(async (pg, rank) => {
      const r = buildDlrmRank({
        pg,
        distPg: cluster.distPgs[rank],
        device: cluster.devices[rank],
        config,
      });
      const P =
        o.kind === 'sparseDist'
          ? TrainPipelineSparseDist
          : o.kind === 'base'
            ? TrainPipelineBase
            : NonPipelinedTrainer;
      const p = new P({
        model: r.model,
        optimizer: r.optimizer,
        device: cluster.devices[rank],
        pg,
        batchSpec: batchSpecFor(config),
      });
      const ends: number[] = [];
      for await (const _ of p.run(all.map((b) => b.sliceSamples(rank * local, (rank + 1) * local))))
        ends.push(cluster.scheduler.now());
      p.dispose();
      return ends;
    }),
  );
  const ends = times[0];
  const gaps = ends.slice(1).map((t, i) => t - ends[i]);
  const second = gaps.slice(Math.floor(gaps.length / 2)).sort((a, b) => a - b);
  return second[Math.floor(second.length / 2)];
}

/** The bound max(copy, dist, fwd + bwd + opt) of a cost string. */
export function iterationBound(costs: string): number {
  const o = parseCostOverrides(costs);
  return Math.max(
    o.copy ?? 0,
    o.dist ?? (o.distSplits ?? 0) + (o.distData ?? 0),
    (o.forward ?? 0) + (o.backward ?? 0) + (o.optimizer ?? 0),
  );
}
