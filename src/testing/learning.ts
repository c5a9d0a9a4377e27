/**
 * Train a DLRM with the sparse-dist pipeline on the synthetic click log and evaluate it on
 * the held-out stream against the planted model (what "training that learns" means here).
 *
 * @example
 * const r = await trainAndEvaluate({ steps: 400, batchSize: 128 });
 * r.heldOutLoss / r.bayesOptimalLoss; // ≈ 1.0x
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { SyntheticClickLog } from '../data/synthetic.ts';
import { logLossOfLogits, rocAuc } from '../data/metrics.ts';
import { TrainPipelineSparseDist } from '../pipeline/train-pipeline.ts';
import { createSimCluster } from '../runtime/sim/sim-cluster.ts';
import {
  batchSpecFor,
  buildDlrmRank,
  smallDlrmConfig,
  type DlrmConfig,
} from '../models/dlrm-rank.ts';

export interface LearningOptions {
  steps: number;
  batchSize: number;
  worldSize?: number;
  heldOutExamples?: number;
  config?: Partial<DlrmConfig>;
  seed?: number;
}

export interface LearningResult {
  trainLosses: number[];
  heldOutLoss: number;
  auc: number;
  bayesOptimalLoss: number;
  plantedAuc: number;
}

/** The synthetic log matching a DLRM config's features. */
export function syntheticLogFor(config: DlrmConfig, seed: number): SyntheticClickLog {
  return new SyntheticClickLog({
    seed,
    denseDim: config.denseIn,
    features: config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows }))),
  });
}

export async function trainAndEvaluate(o: LearningOptions): Promise<LearningResult> {
  if (tf.getBackend() !== 'wasm') {
    await tf.setBackend('wasm');
    await tf.ready();
  }
  const worldSize = o.worldSize ?? 1;
  const config = smallDlrmConfig({ optimizer: 'adagrad', lr: 0.05, ...o.config });
  const data = syntheticLogFor(config, o.seed ?? 11);
  const heldOut = data.heldOut();
  const cluster = createSimCluster({ worldSize });
  const local = o.batchSize / worldSize;
  const evalBatches = [
    ...heldOut.batches(o.batchSize, {
      count: Math.ceil((o.heldOutExamples ?? 4096) / o.batchSize),
    }),
  ];
  const perRank = await Promise.all(
    cluster.pgs.map(async (pg, rank) => {
      const r = buildDlrmRank({
        pg,
        distPg: cluster.distPgs[rank],
        device: cluster.devices[rank],
        config,
      });
      const opts = {
        model: r.model,
        optimizer: r.optimizer,
        device: cluster.devices[rank],
        pg,
        batchSpec: batchSpecFor(config),
      };
      const train = new TrainPipelineSparseDist({ ...opts, name: 'train' });
      const losses: number[] = [];
      const slice = (b: import('../tensors/index.ts').Batch) =>
        b.sliceSamples(rank * local, (rank + 1) * local);
      for await (const out of train.run(
        [...data.batches(o.batchSize, { count: o.steps })].map(slice),
      ))
        losses.push(out.loss);
      r.model.eval();
      const evaluate = new TrainPipelineSparseDist({ ...opts, name: 'eval' });
      const logits: number[] = [];
      for await (const out of evaluate.run(evalBatches.map(slice))) logits.push(...out.output);
      train.dispose();
      evaluate.dispose();
      return { losses, logits };
    }),
  );
  // Ranks hold consecutive slices of every global batch: reassemble the global order.
  const logits: number[] = [];
  const labels: number[] = [];
  evalBatches.forEach((b, i) => {
    for (let r = 0; r < worldSize; r++)
      logits.push(...perRank[r].logits.slice(i * local, (i + 1) * local));
    labels.push(...b.labels);
  });
  const planted = evalBatches.flatMap((b) => [...heldOut.plantedProbabilities(b)]);
  return {
    trainLosses: perRank[0].losses,
    heldOutLoss: logLossOfLogits(logits, labels),
    auc: rocAuc(logits, labels),
    bayesOptimalLoss: heldOut.bayesOptimalLogLoss(evalBatches),
    plantedAuc: rocAuc(planted, labels),
  };
}
