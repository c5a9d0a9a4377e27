/**
 * The staged pipeline: `copy → startSparseDataDist → waitSparseDataDist` with the user's
 * `trainStep` trains exactly like `TrainPipelineSparseDist` (losses, outputs, parameters,
 * bit for bit, one and two ranks); a user-defined preprocessing stage sees every batch once
 * and in order, and runs overlapped with the compute of the previous batch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { CostModel, parseCostOverrides } from '../../src/runtime/sim/cost-model.ts';
import {
  copyStage,
  SparseDataDistUtil,
  type DistributedBatch,
} from '../../src/pipeline/staged/sparse-data-dist-util.ts';
import { StagedTrainPipeline } from '../../src/pipeline/staged/staged-train-pipeline.ts';
import type { PipelineStage } from '../../src/pipeline/staged/pipeline-stage.ts';
import { Batch } from '../../src/tensors/index.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

const BATCHES = 7;

/** Halve the dense features (a user's preprocessing). */
function halve(b: Batch): Batch {
  return new Batch({
    dense: b.dense.map((x) => x / 2),
    denseDim: b.denseDim,
    sparse: b.sparse,
    labels: b.labels,
  });
}

async function sparseDistReference(worldSize: number, prep: boolean) {
  const config = tinyConfig();
  const { ranks } = buildCluster('sparseDist', worldSize, config);
  const data = syntheticFor(config);
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Array<{ loss: number; output: number[] }> = [];
      const batches = localBatches(data, 16, BATCHES, rank, worldSize).map((b) =>
        prep ? halve(b) : b,
      );
      for await (const o of r.pipeline.run(batches))
        outs.push({ loss: o.loss, output: [...o.output] });
      return outs;
    }),
  );
  return { outputs, params: ranks.map(allParams) };
}

async function staged(worldSize: number, prep: boolean, costModel?: CostModel) {
  const config = tinyConfig();
  const { ranks, cluster } = buildCluster('sparseDist', worldSize, config, { costModel });
  for (const r of ranks) r.pipeline.dispose();
  const data = syntheticFor(config);
  const seen: number[][] = ranks.map(() => []);
  const events: PipelineEvent[] = [];
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const device = cluster.devices[rank];
      const sdd = new SparseDataDistUtil({ model: r.model, device });
      const prepStage: PipelineStage<Batch, Batch> = {
        name: 'halveDense',
        stream: 'memcpy',
        costMs: 6,
        run: (b) => {
          seen[rank].push(b.labels[0]);
          return halve(b);
        },
      };
      const [start, wait] = sdd.stages();
      const pipeline = new StagedTrainPipeline<DistributedBatch>({
        device,
        stages: prep ? [copyStage(), prepStage, start, wait] : [copyStage(), start, wait],
      });
      if (rank === 0) pipeline.events$.subscribe((e) => events.push(e));
      const outs: Array<{ loss: number; output: number[] }> = [];
      for await (const item of pipeline.run(localBatches(data, 16, BATCHES, rank, worldSize))) {
        const o = await sdd.trainStep(item, r.optimizer, pipeline);
        outs.push({ loss: o.loss, output: [...o.output] });
      }
      pipeline.dispose();
      return outs;
    }),
  );
  return { outputs, params: ranks.map(allParams), events, seen };
}

function expectSameTraining(
  a: { outputs: unknown[]; params: Record<string, Float32Array>[] },
  b: { outputs: unknown[]; params: Record<string, Float32Array>[] },
) {
  expect(a.outputs).toEqual(b.outputs);
  for (let r = 0; r < a.params.length; r++) {
    expect(Object.keys(a.params[r])).toEqual(Object.keys(b.params[r]));
    for (const [name, values] of Object.entries(b.params[r]))
      expect(Array.from(a.params[r][name]), `rank ${r} ${name}`).toEqual(Array.from(values));
  }
}

describe('StagedTrainPipeline', () => {
  for (const worldSize of [1, 2]) {
    it(`copy → input dist as stages == sparse-dist, world ${worldSize}, bit for bit`, async () => {
      const reference = await sparseDistReference(worldSize, false);
      const run = await staged(worldSize, false);
      expect(run.outputs[0]).toHaveLength(BATCHES);
      expectSameTraining(run, reference);
    });
  }

  it('a user preprocessing stage sees every batch once, in order, and runs overlapped with the compute', async () => {
    const costModel = new CostModel({
      overrides: parseCostOverrides('copy=1,dist=2,fwd=3,bwd=4,opt=1'),
    });
    const reference = await sparseDistReference(2, true);
    const run = await staged(2, true, costModel);
    expectSameTraining(run, reference);
    const data = syntheticFor(tinyConfig());
    const firstLabels = localBatches(data, 16, BATCHES, 0, 2).map((b) => b.labels[0]);
    expect(run.seen[0]).toEqual(firstLabels);
    // spans of rank 0: the prep stage per batch, and each batch's compute (forward → step)
    const span = (start: string, end: string, batch: number, stage?: string) => {
      const pick = (type: string) =>
        run.events.find(
          (e) =>
            e.type === type &&
            e.batch === batch &&
            (stage === undefined || (e.type.startsWith('stage.') && e.module === stage)),
        )!.t;
      return [pick(start), pick(end)] as const;
    };
    if (process.env.DUMP)
      for (const e of run.events)
        if (/start|end/.test(e.type))
          console.log(`${e.t.toFixed(2)} ${e.type} ${e.batch} ${e.module ?? ''}`);
    for (let j = 2; j < BATCHES; j++) {
      // the preprocessing of batch j runs while an earlier batch computes (forward → step)
      const [p0, p1] = span('stage.start', 'stage.end', j, 'halveDense');
      const overlaps = Array.from({ length: j }, (_, k) =>
        span('forward.start', 'optimizer.end', k),
      ).some(([c0, c1]) => p0 < c1 && c0 < p1);
      expect(overlaps, `halveDense b${j} overlaps compute`).toBe(true);
    }
    // steady state: one iteration per compute (fwd+bwd+opt = 8 ms), not compute + prep (14 ms)
    const starts = Array.from(
      { length: BATCHES },
      (_, k) => span('forward.start', 'forward.end', k)[0],
    );
    const gaps = starts.slice(1).map((t, k) => t - starts[k]);
    for (const g of gaps.slice(2)) expect(g).toBeCloseTo(8, 6);
  });

  it('refuses an empty stage list and duplicate names with the reason', () => {
    const { cluster } = buildCluster('none', 1, tinyConfig());
    const device = cluster.devices[0];
    expect(() => new StagedTrainPipeline({ device, stages: [] })).toThrow(
      'give at least one stage',
    );
    expect(() => new StagedTrainPipeline({ device, stages: [copyStage(), copyStage()] })).toThrow(
      "two stages are named 'copy'",
    );
  });
});

describe('simulateCluster({ staged })', () => {
  it('runs the staged sparse-dist trainer on every rank and trains like sparse-dist', async () => {
    const { simulateCluster } = await import('../../src/testing/simulate-cluster.ts');
    const common = { worldSize: 2, batches: 6, globalBatchSize: 16, seed: 5 };
    const reference = await simulateCluster({ ...common, pipeline: 'sparseDist' });
    const staged = await simulateCluster({ ...common, staged: {} });
    expect(staged.ok).toBe(true);
    expect(staged.stagedPipelines).toHaveLength(2);
    expect(staged.ranks.map((r) => r.batchesTrained)).toEqual([6, 6]);
    expect(staged.ranks.map((r) => r.outputs.map((o) => o.loss))).toEqual(
      reference.ranks.map((r) => r.outputs.map((o) => o.loss)),
    );
    expect(staged.log.some((e) => e.type === 'stage.start')).toBe(true);
    for (const p of [...reference.pipelines, ...staged.stagedPipelines]) p.dispose();
  });
});
