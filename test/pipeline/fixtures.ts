/**
 * Shared set-up of the pipeline tests: a sim cluster with one small DLRM per rank, and the
 * synthetic example stream split into per-rank local batches.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { CostModel } from '../../src/runtime/sim/cost-model.ts';
import { createSimCluster, type SimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { PositionWeightedModule } from '../../src/modules/feature-processors/position-weighted.ts';
import {
  featureNames,
  buildDlrmRank,
  batchSpecFor,
  smallDlrmConfig,
  type DlrmConfig,
  type DlrmRank,
} from '../../src/models/dlrm-rank.ts';
import { SyntheticClickLog } from '../../src/data/synthetic.ts';
import type { Batch } from '../../src/tensors/index.ts';
import type { TrainPipeline } from '../../src/pipeline/train-pipeline.ts';
import { createPipeline } from '../../src/pipeline/look-ahead-pipelines.ts';
import type { SemiSyncOptions } from '../../src/pipeline/options.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';

export async function useWasm(): Promise<void> {
  if (tf.getBackend() !== 'wasm') {
    await tf.setBackend('wasm');
    await tf.ready();
  }
}

export function tinyConfig(overrides: Partial<DlrmConfig> = {}): DlrmConfig {
  return smallDlrmConfig({
    bottom: [8, 4],
    top: [8, 1],
    embeddingDim: 4,
    tables: [0, 1, 2].map((i) => ({
      name: `t${i}`,
      rows: 50,
      dim: 4,
      pooling: 'sum' as const,
      features: [`f${i}`],
    })),
    lr: 0.1,
    ...overrides,
  });
}

export function syntheticFor(config: DlrmConfig, seed = 7): SyntheticClickLog {
  return new SyntheticClickLog({
    seed,
    denseDim: config.denseIn,
    features: config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows }))),
    idsPerFeature: { min: 0, max: 3 },
  });
}

/** Local batches of `rank`: global batches of `globalBatch`, each sliced evenly across ranks. */
export function localBatches(
  data: SyntheticClickLog,
  globalBatch: number,
  count: number,
  rank: number,
  worldSize: number,
): Batch[] {
  const local = globalBatch / worldSize;
  return [...data.batches(globalBatch, { count })].map((b) =>
    b.sliceSamples(rank * local, (rank + 1) * local),
  );
}

export interface RankSetup extends DlrmRank {
  pipeline: TrainPipeline;
}

export function buildCluster(
  kind: PipelineKind,
  worldSize: number,
  config: DlrmConfig,
  extra: Partial<SemiSyncOptions> & { costModel?: CostModel; timeoutMs?: number } = {},
  /** Position-weighted feature processors on every feature (fresh per rank). */
  processors = false,
): { cluster: SimCluster; ranks: RankSetup[] } {
  const { costModel, timeoutMs, ...pipelineExtra } = extra;
  const cluster = createSimCluster({ worldSize, costModel, timeoutMs });
  const ranks = cluster.pgs.map((pg, rank) => {
    const r = buildDlrmRank({
      pg,
      distPg: cluster.distPgs[rank],
      device: cluster.devices[rank],
      config,
      featureProcessors: processors ? processorsFor(config) : undefined,
    });
    const options: SemiSyncOptions = {
      model: r.model,
      optimizer: r.optimizer,
      device: cluster.devices[rank],
      pg,
      batchSpec: batchSpecFor(config),
      ...pipelineExtra,
    };
    return { ...r, pipeline: createPipeline(kind, options) };
  });
  return { cluster, ranks };
}

/** Run every rank's pipeline over its batches to exhaustion; returns per-rank losses. */
export async function trainAll(ranks: RankSetup[], batchesPerRank: Batch[][]): Promise<number[][]> {
  return Promise.all(
    ranks.map(async (r, rank) => {
      const losses: number[] = [];
      for await (const out of r.pipeline.run(batchesPerRank[rank])) losses.push(out.loss);
      return losses;
    }),
  );
}

/** Every parameter of a rank's model (dense variables + local table shards), for equality checks. */
export function denseParams(r: DlrmRank): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of r.model.namedParameters())
    out[name] = (v.dataSync() as Float32Array).slice();
  return out;
}

/** Dense parameters plus the rank's local table shards, by name. */
export function allParams(r: DlrmRank): Record<string, Float32Array> {
  const out = denseParams(r);
  r.ebc.localShards().forEach((s, i) => {
    out[`sparse.${s.table.name}.${i}`] = s.weights.slice();
  });
  return out;
}

/** Largest relative difference between two parameter sets with the same names. */
export function maxRelDiff(
  a: Record<string, Float32Array>,
  b: Record<string, Float32Array>,
): number {
  let worst = 0;
  for (const name of Object.keys(a)) {
    const x = a[name];
    const y = b[name];
    if (!y || y.length !== x.length) return Infinity;
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i] - y[i]) / Math.max(1e-6, Math.abs(x[i]), Math.abs(y[i]));
      if (d > worst) worst = d;
    }
  }
  return worst;
}

/** Position-weighted processors on every feature of `config`. */
export function processorsFor(config: DlrmConfig): Record<string, PositionWeightedModule> {
  return Object.fromEntries(
    featureNames(config).map((f) => [f, new PositionWeightedModule({ maxLength: 8 })]),
  );
}
