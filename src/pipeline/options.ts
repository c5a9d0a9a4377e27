/**
 * Options shared by every pipeline (names follow docs/design.md "Contracts" and TorchRec).
 *
 * @example
 * const options: TrainPipelineOptions = { model, optimizer, device, gradAccum: 4 };
 */
import type { InspectionEvent, Observer } from 'xstate';
import type { Device, ProcessGroup } from '../protocol/index.ts';
import type { GradAccumSchedule } from '../../machines/accumulation-schedule.ts';
import type { Model } from '../modules/module.ts';
import type { GradScaler } from '../optim/grad-scaler.ts';
import type { Batch, BatchSpec } from '../tensors/index.ts';
import type { PipelineOptimizer } from '../../actors/pipeline-optimizer.ts';
import type { Interpreter } from '../../actors/compiled-machine.ts';
export type { Interpreter } from '../../actors/compiled-machine.ts';
import type { PipelineState } from '../protocol/index.ts';
export type { PipelineState } from '../protocol/index.ts';

export interface TrainPipelineOptions {
  /** The model: a `Module` whose synchronous `forward(batch)` returns `{ losses, output }`. */
  model: Model<Batch>;
  /** Dense + fused sparse optimizers (e.g. a `CombinedOptimizer`). */
  optimizer: PipelineOptimizer;
  /** The rank's device (sim or tfjs). */
  device: Device;
  /** The data-parallel group (needed when ranks must agree, e.g. on skipping a step). */
  pg?: ProcessGroup;
  /** Micro-batches per optimizer step (default 1). */
  gradAccum?: number;
  /** `exact` (default) or the seed's defective `torchrec-0.3.2` (see machines/accumulation-schedule.ts). */
  gradAccumSchedule?: GradAccumSchedule;
  /** bfloat16 emulation at the sparse/dense boundary (src/modules/amp.ts). Default false. */
  amp?: boolean;
  /** Dynamic loss scaling: `true` for a default `GradScaler`, or your own. Default false. */
  gradScaling?: boolean | GradScaler;
  /** Train every batch, draining the pipeline at the end (default true). false: the seed's behaviour. */
  executeAllBatches?: boolean;
  /**
   * Validate every batch against this before it touches the device (docs/design.md
   * "Reliability"). Default: a spec derived from the model (`defaultBatchSpec`: its
   * `denseIn` and `featureNames`, the tables of its embedding modules); `false` turns
   * validation off.
   */
  batchSpec?: BatchSpec | false;
  /** XState inspection observer for every actor of this pipeline (e.g. the inspector, @statelyai/inspect). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * The statechart interpreter the pipeline's actors run; the machines, states and events
   * are the same. `'xstate'` (default): XState's own interpreter (microstep and action
   * inspection events). `'compiled'`: an opt-in accelerator for large simulations and
   * benches — a transition table compiled from each machine (`actors/compiled-machine.ts`),
   * cheaper per event, which refuses any machine construct it does not implement exactly.
   * An `inspect` observer always runs XState's interpreter.
   */
  interpreter?: Interpreter;
  /** Counters of a checkpointed pipeline (`pipeline.exportState()`); the dataloader must restart at the same batch. */
  resumeState?: PipelineState;
  /** A name for events and charts (default: the pipeline kind). */
  name?: string;
}

/** TorchRec's `emb_lookup_stream`: where the fused / semi-sync look-ahead lookup runs. */
export type EmbLookupStream = 'data-dist' | 'new' | 'current';

export const EMB_LOOKUP_STREAMS: readonly EmbLookupStream[] = ['data-dist', 'new', 'current'];

/** Options of {@link TrainPipelineFusedSparseDist} (src/pipeline/look-ahead-pipelines.ts). */
export interface FusedSparseDistOptions extends TrainPipelineOptions {
  /**
   * The look-ahead lookup's stream: `'data-dist'` (default, TorchRec's: shares the input-dist
   * stream), `'new'` (its own `embLookup` stream) or `'current'` (the compute stream: no
   * overlap, the schedule of sparse-dist).
   */
  embLookupStream?: EmbLookupStream;
}

/** Options of {@link TrainPipelineSemiSync}. */
export interface SemiSyncOptions extends FusedSparseDistOptions {
  /** The first batch trained semi-synchronously (TorchRec's `start_batch`; default 900 there, 0 here). */
  startBatch?: number;
  /** Apply batch i−1's dense gradients at step i (TorchRec's `stash_gradients`; default false). */
  stashGradients?: boolean;
}
