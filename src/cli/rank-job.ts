/**
 * One rank's share of a `sparsepipe train` run, for any backend: given the rank's process
 * groups and device, build its DLRM shard and pipeline, restore a checkpoint if any, train
 * its slice of every global batch, take the checkpoint state, evaluate on the held-out
 * stream, and return plain data ({@link RankResult}, structured-clone friendly so a worker
 * thread or MPI process can send it to the leader).
 *
 * The sim launcher runs every rank's job concurrently in one process; a threads or MPI
 * launcher runs one job per worker with that worker's process group.
 *
 * @example
 * const result = await runRankJob(spec, { pg, distPg, device }, { onIteration: (m) => bar.update(m) });
 */
import type { CacheStats } from '../modules/embedding-cache/row-cache.ts';
import type { InspectionEvent, Observer } from 'xstate';
import type { Device, PipelineEvent, ProcessGroup } from '../protocol/index.ts';
import { isSpanEvent } from '../protocol/index.ts';
import { wallClock } from '../runtime/wall-clock.ts';
import type { GradAccumSchedule } from '../../machines/accumulation-schedule.ts';
import type { IterationMetrics, TrainPipeline } from '../pipeline/train-pipeline.ts';
import { createPipeline, EvalPipelineSparseDist } from '../pipeline/look-ahead-pipelines.ts';
import type { SemiSyncOptions, TrainPipelineOptions } from '../pipeline/options.ts';
import { batchSpecFor, buildDlrmRank, type DlrmConfig } from '../models/dlrm-rank.ts';
import type { ShardedEbcStateDict } from '../modules/sharding/sharded-state.ts';
import type { DataloaderInput } from '../data/dataloader.ts';
import type { Batch } from '../tensors/batch.ts';
import {
  captureRankState,
  restoreRankState,
  resumeStateOf,
  type RankCheckpointState,
} from '../checkpoint/rank-state.ts';
import {
  criteoHeldOutRankBatches,
  criteoRankBatches,
  heldBatches,
  heldOutRankBatches,
  syntheticLogFor,
  syntheticRankBatches,
  type RankSlice,
} from './rank-data.ts';
import { PIPELINE_KIND, type InterpreterChoice, type PipelineChoice } from './train-options.ts';
import { checkFiniteLoss } from './non-finite.ts';
import type { DenseMathChoice, DenseMathInfo } from '../protocol/index.ts';
import { denseMathInfo } from '../runtime/dense-math/dense-math.ts';

/** Where a run's data comes from. */
export type DataSpec =
  | { kind: 'synthetic'; seed: number }
  | {
      kind: 'criteo';
      path: string;
      skipBadRows: boolean;
      /** Data rows `[0, trainRows)` are trained on (the file's first rows). */
      trainRows: number;
      /** Data rows held out for evaluation (the file's last rows), or null. */
      heldOutRows: { from: number; to: number } | null;
    };

/** Everything one rank needs to do its part (plain data). */
export interface RankJobSpec {
  rank: number;
  worldSize: number;
  config: DlrmConfig;
  pipeline: PipelineChoice;
  gradAccum: number;
  gradAccumSchedule: GradAccumSchedule;
  data: DataSpec;
  /** The wasm backend's matMul engine and OpenBLAS threads (docs/dense-math.md). */
  denseMath: DenseMathChoice;
  blasThreads: number;
  globalBatchSize: number;
  /** First global batch of this run (the checkpoint's `nextBatch`, else 0). */
  firstBatch: number;
  /** Train until this many batches have been trained in all. */
  totalBatches: number;
  /**
   * Stop after `totalBatches` as a pause, not an end: the data keeps flowing past it, so a
   * partial accumulation window stays in the buffers (for a checkpoint) instead of being
   * flushed as at the end of data.
   */
  pauseAtEnd: boolean;
  captureCheckpoint: boolean;
  /** Held-out examples to evaluate after training (0: none; Criteo: `data.heldOutRows`). */
  heldOutExamples: number;
  /** Which events to return: span events (for the report) or all (for a trace). */
  events: 'spans' | 'all';
  resume: RankCheckpointState | null;
  /** The actors' statechart interpreter (`--interpreter`). */
  interpreter: InterpreterChoice;
  /** Fused / semi-sync options (`--emb-lookup-stream`, `--start-batch`, `--stash-gradients`). */
  lookAhead?: Pick<SemiSyncOptions, 'embLookupStream' | 'startBatch' | 'stashGradients'>;
}

/** The environment a launcher gives a rank. */
export interface RankEnv {
  /** Default-stream group: output dist, backward, gradient all-reduce. */
  pg: ProcessGroup;
  /** Input-dist group (its own channel: the dist runs on another stream). */
  distPg?: ProcessGroup;
  device: Device;
  /**
   * Wraps real I/O (reading the data file) so that it takes no device time: the sim
   * launcher passes its virtual clock's `scheduler.hold`, so no collective can time out in
   * virtual time while a rank waits on the disk.
   */
  holdIo?: <T>(work: Promise<T>) => Promise<T>;
}

/** Optional callbacks (in-process launchers only). */
export interface RankHooks {
  onIteration?(metrics: IterationMetrics): void;
  /** XState inspection observer for this rank's actors (the inspector). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Called with each pipeline the rank creates (train, then eval). */
  onPipeline?(pipeline: TrainPipeline): void;
  /** Called before the rank trains global batch `batch` (the `SPARSEPIPE_FAULT` test hook: src/cli/fault-injection.ts). */
  beforeBatch?(batch: number): void | Promise<void>;
}

/** What a rank reports back (plain data). */
export interface RankResult {
  rank: number;
  firstBatch: number;
  /** Local mean loss of each batch trained in this run (a typed array: NaN survives every transport). */
  losses: Float64Array;
  /** Local examples trained in this run. */
  examples: number;
  /** `iterationMs` of each iteration (device clock: virtual on the sim device); NaN for the first. */
  iterationMs: Float64Array;
  /** Device clock at the start and end of training. */
  clockStart: number;
  clockEnd: number;
  /** Wall-clock ms of the training loop (setup and evaluation excluded). */
  wallTrainMs: number;
  /** This rank's replica of the dense parameters. */
  denseParams: Record<string, { shape: number[]; values: Float32Array }>;
  /** This rank's table shards (the leader assembles the logical tables). */
  sparseState: ShardedEbcStateDict;
  /** Held-out logits and labels of this rank's slices, per evaluation batch. */
  heldOut: { logits: Float32Array[]; labels: Float32Array[] } | null;
  checkpoint: RankCheckpointState | null;
  events: PipelineEvent[];
  /** Criteo rows skipped as malformed (`--skip-bad-rows`), as seen by this rank. */
  skippedRows: number;
  /** Counters of this rank's cached table blocks, by table (empty without `--cache-rows`). */
  cacheStats: Record<string, CacheStats>;
  /** The engine that ran this rank's matMuls. */
  denseMath: DenseMathInfo;
}

/**
 * Run one rank's part of a training run.
 *
 * @example
 * const results = await Promise.all(specs.map((s, r) => runRankJob(s, envs[r])));
 */
export async function runRankJob(
  spec: RankJobSpec,
  env: RankEnv,
  hooks: RankHooks = {},
): Promise<RankResult> {
  const { config } = spec;
  const rank = buildDlrmRank({ pg: env.pg, distPg: env.distPg, device: env.device, config });
  if (spec.resume) {
    try {
      restoreRankState({ model: rank.model, dense: rank.dense, ebc: rank.ebc }, spec.resume);
    } catch (e) {
      throw new Error(
        `--resume: rank ${spec.rank}'s state does not fit this model: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  const common: Omit<TrainPipelineOptions, 'name'> = {
    model: rank.model,
    optimizer: rank.optimizer,
    device: env.device,
    pg: env.pg,
    batchSpec: batchSpecFor(config),
    inspect: hooks.inspect,
    interpreter: spec.interpreter,
  };
  const pipeline = createPipeline(PIPELINE_KIND[spec.pipeline], {
    ...common,
    ...spec.lookAhead,
    gradAccum: spec.gradAccum,
    gradAccumSchedule: spec.gradAccumSchedule,
    resumeState: spec.resume ? resumeStateOf(spec.resume) : undefined,
    name: 'train',
  });
  hooks.onPipeline?.(pipeline);
  const events: PipelineEvent[] = [];
  const eventSub = pipeline.events$.subscribe((e) => {
    if (spec.events === 'all' || isSpanEvent(e)) events.push(e);
  });
  const iterationMs: number[] = [];
  const metricsSub = pipeline.metrics$.subscribe((m) => {
    iterationMs.push(m.iterationMs);
    hooks.onIteration?.(m);
  });

  const slice: RankSlice = {
    rank: spec.rank,
    worldSize: spec.worldSize,
    globalBatchSize: spec.globalBatchSize,
    from: spec.firstBatch,
    to: spec.pauseAtEnd ? Infinity : spec.totalBatches,
  };
  let skipped = (): number => 0;
  let source: DataloaderInput<Batch>;
  if (spec.data.kind === 'synthetic') {
    source = syntheticRankBatches(syntheticLogFor(config, spec.data.seed), slice);
  } else {
    const criteo = criteoRankBatches(spec.data.path, config, spec.data.skipBadRows, slice, {
      from: 0,
      to: spec.data.trainRows,
    });
    source = env.holdIo ? heldBatches(criteo.batches, env.holdIo) : criteo.batches;
    skipped = () => criteo.reader.skippedRows;
  }

  const losses: number[] = [];
  let examples = 0;
  const clockStart = env.device.clock.now();
  const wallStart = wallClock.now();
  try {
    const toTrain = spec.totalBatches - spec.firstBatch;
    while (losses.length < toTrain) {
      await hooks.beforeBatch?.(spec.firstBatch + losses.length);
      const r = await pipeline.progress(source);
      if (r.done) break;
      checkFiniteLoss(r.value.loss, spec.firstBatch + losses.length, rank);
      losses.push(r.value.loss);
      examples += r.value.output.length;
    }
  } finally {
    eventSub.unsubscribe();
    metricsSub.unsubscribe();
  }
  const clockEnd = env.device.clock.now();
  const wallTrainMs = wallClock.now() - wallStart;
  const checkpoint = spec.captureCheckpoint
    ? captureRankState(
        spec.rank,
        { model: rank.model, dense: rank.dense, ebc: rank.ebc },
        pipeline.exportState(),
      )
    : null;

  let heldOut: RankResult['heldOut'] = null;
  if (spec.heldOutExamples > 0 && spec.data.kind === 'synthetic') {
    const log = syntheticLogFor(config, spec.data.seed).heldOut();
    const batches = [...heldOutRankBatches(log, spec.heldOutExamples, spec.rank, spec.worldSize)];
    heldOut = await evaluate(common, batches, hooks);
  } else if (spec.data.kind === 'criteo' && spec.data.heldOutRows) {
    const read = criteoHeldOutRankBatches(
      spec.data.path,
      config,
      spec.data.skipBadRows,
      spec.data.heldOutRows,
      spec.rank,
      spec.worldSize,
    );
    const batches = await (env.holdIo ? env.holdIo(read) : read);
    heldOut = await evaluate(common, batches, hooks);
  }
  pipeline.dispose();

  const denseParams: RankResult['denseParams'] = {};
  for (const [name, v] of rank.model.namedParameters())
    denseParams[name] = {
      shape: [...v.shape],
      values: Float32Array.from(v.dataSync() as Float32Array),
    };
  const sparseState = rank.ebc.stateDict();
  const cacheStats = rank.ebc.cacheStats();
  rank.ebc.close();
  rank.dense.dispose();
  for (const [, v] of rank.model.namedParameters()) v.dispose();
  return {
    rank: spec.rank,
    firstBatch: spec.firstBatch,
    losses: Float64Array.from(losses),
    examples,
    iterationMs: Float64Array.from(iterationMs),
    clockStart,
    clockEnd,
    wallTrainMs,
    denseParams,
    sparseState,
    heldOut,
    checkpoint,
    events,
    skippedRows: skipped(),
    cacheStats,
    denseMath: denseMathInfo() ?? { requested: spec.denseMath, engine: 'stock' },
  };
}

/** Forward-only pass over this rank's held-out slices with an eval pipeline sharing the model. */
async function evaluate(
  common: Omit<TrainPipelineOptions, 'name'>,
  batches: readonly Batch[],
  hooks: RankHooks,
): Promise<NonNullable<RankResult['heldOut']>> {
  // TorchRec's EvalPipelineSparseDist: no backward, input dist of i+1 under forward of i.
  const evalPipeline = new EvalPipelineSparseDist({ ...common, name: 'eval' });
  hooks.onPipeline?.(evalPipeline);
  const logits: Float32Array[] = [];
  common.model.eval();
  try {
    for await (const out of evalPipeline.run(batches)) logits.push(out.output);
  } finally {
    common.model.train();
    evalPipeline.dispose();
  }
  return { logits, labels: batches.map((b) => b.labels) };
}
