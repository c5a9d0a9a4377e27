/**
 * A live sim run for the inspector tests: a world of N ranks training the tiny DLRM of
 * test/pipeline on an endless synthetic stream, with pause / resume / step applied to every
 * rank at once, and a clean stop (every rank trains the same number of batches, then drains).
 *
 * Collectives never time out here: while the run is paused a rank can sit in a collective
 * its peer will only join after the next `step`/`resume`, and on the virtual clock a
 * timeout would fire at once.
 */
import { merge, type Observable } from 'rxjs';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { CostModel, parseCostOverrides } from '../../src/runtime/index.ts';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { buildDlrmRank, batchSpecFor } from '../../src/models/dlrm-rank.ts';
import { TrainPipelineSparseDist, TrainPipeline } from '../../src/pipeline/train-pipeline.ts';
import type { Batch } from '../../src/tensors/index.ts';
import { syntheticFor, tinyConfig, useWasm } from '../pipeline/fixtures.ts';

export interface LiveSimRun {
  pipelines: TrainPipeline[];
  /** Events of every rank, merged. Subscribe before `start()`. */
  feed: Observable<PipelineEvent>;
  controls: { pause(): void; resume(): void; step(): void };
  /** Starts every rank's training loop. */
  start(): void;
  /** Lets every rank finish the same batches, drains, disposes; resolves with batches per rank. */
  stop(): Promise<number[]>;
}

export async function liveSimRun(
  options: { worldSize?: number; globalBatch?: number } = {},
): Promise<LiveSimRun> {
  await useWasm();
  const worldSize = options.worldSize ?? 2;
  const globalBatch = options.globalBatch ?? 16;
  const config = tinyConfig();
  const costModel = new CostModel({
    overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1'),
  });
  const cluster = createSimCluster({ worldSize, costModel, timeoutMs: Infinity });
  const pipelines = cluster.pgs.map((pg, rank) => {
    const r = buildDlrmRank({
      pg,
      distPg: cluster.distPgs[rank],
      device: cluster.devices[rank],
      config,
    });
    return new TrainPipelineSparseDist({
      model: r.model,
      optimizer: r.optimizer,
      device: cluster.devices[rank],
      pg,
      batchSpec: batchSpecFor(config),
    });
  });
  /** Batches a rank may still pull (Infinity until stop). */
  let limit = Infinity;
  const pulled = pipelines.map(() => 0);
  function* stream(rank: number): Generator<Batch> {
    const local = globalBatch / worldSize;
    for (const b of syntheticFor(config).batches(globalBatch, { count: Number.MAX_SAFE_INTEGER })) {
      if (pulled[rank] >= limit) return;
      pulled[rank]++;
      yield b.sliceSamples(rank * local, (rank + 1) * local);
    }
  }
  const controls = {
    pause: () => TrainPipeline.pauseTogether(pipelines),
    resume: () => pipelines.forEach((p) => p.resume()),
    step: () => pipelines.forEach((p) => p.step()),
  };
  let running: Promise<number[]> | null = null;
  return {
    pipelines,
    feed: merge(...pipelines.map((p) => p.events$)),
    controls,
    start() {
      running = Promise.all(
        pipelines.map(async (p, rank) => {
          let n = 0;
          for await (const _ of p.run(stream(rank))) n++;
          return n;
        }),
      );
    },
    async stop() {
      limit = Math.max(...pulled);
      controls.resume();
      const trained = running ? await running : pipelines.map(() => 0);
      pipelines.forEach((p) => p.dispose());
      return trained;
    },
  };
}
