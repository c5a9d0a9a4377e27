/**
 * One simulated run for the schedule benches: a sim cluster (optionally with the coalescing
 * scheduler, op logs off), one model per rank (the shapes-only model or a small real DLRM),
 * and either the actor pipeline (`TrainPipelineSparseDist`) or the direct port of the
 * seed's `progress()`. Returns the steady-state iteration time (virtual ms: the median gap
 * between consecutive `progress` returns of rank 0 over the second half of the run) and the
 * wall time.
 *
 * @example
 * const r = await runSim({ runner: 'actor', model: 'shapes', worldSize: 2, costs: 'copy=2,dist=5,fwd=3,bwd=4,opt=1' });
 * r.iterationMs; // 8
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { CostModel, parseCostOverrides } from '../../src/runtime/sim/cost-model.ts';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';
import { SimDevice } from '../../src/runtime/sim/sim-device.ts';
import { createSimProcessGroups } from '../../src/runtime/collectives/sim-process-group.ts';
import type { HazardMode } from '../../src/runtime/stream-engine.ts';
import { collectiveModelFor } from '../../src/runtime/sim/sim-cluster.ts';
import { batchSpecFor, buildDlrmRank, smallDlrmConfig } from '../../src/models/dlrm-rank.ts';
import { buildShapesOnlyRank, shapesOnlyBatches } from '../../src/testing/shapes-only.ts';
import { SyntheticClickLog } from '../../src/data/synthetic.ts';
import type { Batch } from '../../src/tensors/index.ts';
import type { Model } from '../../src/modules/module.ts';
import type { PipelineOptimizer } from '../../actors/pipeline-optimizer.ts';
import { TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import type { Interpreter } from '../../src/pipeline/options.ts';
import { DirectSparseDistPipeline } from '../direct-port/direct-sparse-dist.ts';

export type Runner = 'actor' | 'direct';

export interface SimScenario {
  runner: Runner;
  /** `shapes`: shapes-only (8 features × dim 16); `dlrm`: a small real DLRM (4 tables, dims 4). */
  model: 'shapes' | 'dlrm';
  worldSize: number;
  /** Cost overrides, e.g. `copy=2,distSplits=3,distData=1,fwd=3,bwd=4,opt=1`. */
  costs: string;
  /** Batches per run (default 24). */
  batches?: number;
  /** Global batch (default 64 · worldSize for shapes, 32 for dlrm). */
  globalBatch?: number;
  /** Coalescing scheduler (default false). */
  coalesce?: boolean;
  hazards?: HazardMode;
  /** Dense part of the shapes-only model (default 'tiny'). */
  dense?: 'tiny' | 'constant' | 'none';
  /** The actors' statechart interpreter (default: the pipeline's, XState's own). */
  interpreter?: Interpreter;
  /** Called on rank 0 after every iteration (e.g. heap samples). */
  onIteration?: (i: number) => void;
}

export interface SimRunResult {
  iterationMs: number;
  simulatedMs: number;
  wallMs: number;
  /** CPU time of this process during the run (user + system), ms: robust to other load on the machine. */
  cpuMs: number;
  /** Iterations completed, summed over ranks. */
  rankIterations: number;
}

/** Put tfjs on a backend once (the benches use wasm unless told otherwise). */
export async function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  if (tf.getBackend() !== name) {
    await tf.setBackend(name);
    await tf.ready();
  }
}

interface RankModel {
  model: Model<Batch>;
  optimizer: PipelineOptimizer;
  batches: Iterable<Batch>;
  dispose(): void;
}

export async function runSim(s: SimScenario): Promise<SimRunResult> {
  const scheduler = new SimScheduler({ coalesce: s.coalesce ?? false });
  const costModel = new CostModel({ overrides: parseCostOverrides(s.costs) });
  const pgModel = collectiveModelFor(costModel);
  const pgs = createSimProcessGroups({ worldSize: s.worldSize, scheduler, costModel: pgModel });
  const distPgs = createSimProcessGroups({ worldSize: s.worldSize, scheduler, costModel: pgModel });
  const devices = pgs.map(
    (_, rank) =>
      new SimDevice({ rank, scheduler, costModel, opLog: false, hazards: s.hazards ?? 'off' }),
  );
  const batches = s.batches ?? 24;
  const ranks: RankModel[] =
    s.model === 'shapes'
      ? shapesRanks(s, pgs, distPgs, devices, batches)
      : dlrmRanks(s, pgs, distPgs, devices, batches);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const ends = await Promise.all(
    ranks.map(async (r, rank) => {
      const times: number[] = [];
      const note = (): void => {
        times.push(scheduler.now());
        if (rank === 0) s.onIteration?.(times.length);
      };
      if (s.runner === 'actor') {
        const p = new TrainPipelineSparseDist({
          model: r.model,
          optimizer: r.optimizer,
          device: devices[rank],
          pg: pgs[rank],
          interpreter: s.interpreter,
        });
        for await (const _ of p.run(r.batches)) note();
        p.dispose();
      } else {
        const p = new DirectSparseDistPipeline({
          model: r.model,
          optimizer: r.optimizer,
          device: devices[rank],
        });
        const it = r.batches[Symbol.iterator]();
        while (!(await p.progress(it)).done) note();
      }
      return times;
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  for (const r of ranks) r.dispose();
  const t = ends[0];
  return {
    iterationMs: steadyGap(t),
    simulatedMs: scheduler.now(),
    wallMs,
    cpuMs,
    rankIterations: ends.reduce((a, e) => a + e.length, 0),
  };
}

/** Median gap between consecutive times over the second half. */
export function steadyGap(times: readonly number[]): number {
  const gaps = times.slice(1).map((x, i) => x - times[i]);
  const second = gaps.slice(Math.floor(gaps.length / 2)).sort((a, b) => a - b);
  return second[Math.floor(second.length / 2)] ?? NaN;
}

function shapesRanks(
  s: SimScenario,
  pgs: ReturnType<typeof createSimProcessGroups>,
  distPgs: ReturnType<typeof createSimProcessGroups>,
  devices: SimDevice[],
  count: number,
): RankModel[] {
  const local = (s.globalBatch ?? 64 * s.worldSize) / s.worldSize;
  return pgs.map((pg, rank) => {
    const r = buildShapesOnlyRank({
      pg,
      distPg: distPgs[rank],
      device: devices[rank],
      features: 8,
      dim: 16,
      dense: s.dense,
    });
    return {
      model: r.model,
      optimizer: r.optimizer,
      batches: {
        [Symbol.iterator]: () =>
          shapesOnlyBatches({ features: 8, batchSize: local, idsPerFeature: 4, count }),
      },
      dispose: () => r.model.dispose(),
    };
  });
}

function dlrmRanks(
  s: SimScenario,
  pgs: ReturnType<typeof createSimProcessGroups>,
  distPgs: ReturnType<typeof createSimProcessGroups>,
  devices: SimDevice[],
  count: number,
): RankModel[] {
  const config = smallDlrmConfig({ bottom: [8, 4], top: [8, 1], embeddingDim: 4 });
  const global = s.globalBatch ?? 32;
  const local = global / s.worldSize;
  const data = new SyntheticClickLog({
    seed: 3,
    features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
  });
  const all = [...data.batches(global, { count })];
  void batchSpecFor;
  return pgs.map((pg, rank) => {
    const r = buildDlrmRank({ pg, distPg: distPgs[rank], device: devices[rank], config });
    return {
      model: r.model,
      optimizer: r.optimizer,
      batches: all.map((b) => b.sliceSamples(rank * local, (rank + 1) * local)),
      dispose: () => r.model.dispose(),
    };
  });
}
