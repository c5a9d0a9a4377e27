/**
 * Types of the coordinator machine: its input, context, events and the contracts of the
 * effects it runs. Pure types; the implementations live in `actors/` and are
 * `.provide()`d by the pipeline facades.
 */
import type { BatchIndex, PipelineCounters, Rank } from '../src/protocol/index.ts';
import type { GradAccumSchedule } from './accumulation-schedule.ts';
import type { EffectDone, EffectError } from './not-provided.ts';

/** The pipeline kinds; each is a configuration of the coordinator (machines/pipeline-kinds.ts). */
export type PipelineKind =
  | 'none'
  | 'base'
  | 'sparseDist'
  | 'fusedSparseDist'
  | 'semiSync'
  | 'eval'
  | 'prefetchSparseDist';

export interface CoordinatorInput {
  rank: Rank;
  kind: PipelineKind;
  gradAccum: number;
  gradAccumSchedule: GradAccumSchedule;
  /** Counters restored from a checkpoint (see `PipelineState`). */
  resume?: PipelineCounters;
  /** Semi-sync: the first batch whose successor is looked up before its backward (default 0). */
  startBatch?: number;
}

export type { PipelineCounters } from '../src/protocol/index.ts';

/** What the last `progress` call produced. */
export type ProgressResult =
  | { kind: 'output'; batch: BatchIndex; output: unknown }
  | { kind: 'exhausted'; batchesTrained: number }
  | { kind: 'error'; error: unknown; recoverable: boolean };

export interface CoordinatorContext extends CoordinatorInput {
  /** The pipeline has been filled from the current source. */
  connected: boolean;
  /** Training iterations completed (the `calls` of the accumulation schedule). */
  calls: number;
  /** Batches trained or evaluated since creation. */
  batchesTrained: number;
  /** Micro-batches whose gradients are in the accumulation buffers. */
  windowSize: number;
  /** The batch of the iteration in progress. */
  current: { batch: BatchIndex; isLast: boolean } | null;
  /** Mode requested by the `PROGRESS` in progress. */
  training: boolean;
  /** Another pipeline used the model since this one last ran. */
  syncRequired: boolean;
  /** The caller passed a source different from the one the pipeline was filled from. */
  newSource: boolean;
  /** Inspector controls: paused, and how many iterations may run while paused. */
  paused: boolean;
  /** While paused, iterations still run until `batchesTrained` reaches this (ranks pause together). */
  pauseFrom: number;
  stepTokens: number;
  /** Incremented every time a `progress` call is answered; `lastResult` holds the answer. */
  resultSeq: number;
  lastResult: ProgressResult | null;
  /** Output of the forward of the current iteration (opaque to the machine). */
  output: unknown;
}

/** The coordinator's effects (named actions provided by the facade). */
export type CoordinatorEffect =
  | 'connect'
  | 'sync'
  | 'awaitBatch'
  | 'zeroGrad'
  | 'forward'
  | 'startNextDist'
  | 'backward'
  | 'optimizerStep'
  | 'complete'
  | 'drain'
  | 'embeddingStep'
  | 'lookupNext'
  | 'prefetchNext'
  | 'denseStep';

export const COORDINATOR_EFFECTS: readonly CoordinatorEffect[] = [
  'connect',
  'sync',
  'awaitBatch',
  'zeroGrad',
  'forward',
  'startNextDist',
  'backward',
  'optimizerStep',
  'complete',
  'drain',
];

export type CoordinatorEvent =
  | { type: 'PROGRESS'; training: boolean; syncRequired?: boolean; newSource?: boolean }
  | { type: 'PAUSE'; atBatchesTrained?: number }
  | { type: 'RESUME' }
  | { type: 'STEP' }
  | { type: 'RESET' }
  | { type: 'DETACH' }
  | { type: 'ATTACH' }
  | EffectDone<'awaitBatch', AwaitBatchOutput>
  | EffectDone<'backward' | 'complete', unknown>
  | EffectDone<Exclude<CoordinatorEffect, 'awaitBatch' | 'backward' | 'complete'>>
  | EffectError<CoordinatorEffect>;

/** What `awaitBatch` resolves with: the batch to run now, or `null` when none is left. */
export interface AwaitBatchOutput {
  batch: BatchIndex | null;
  /** True when no batch follows this one (the source is exhausted and nothing else is in flight). */
  isLast: boolean;
}

export interface BatchInput {
  rank: Rank;
  batch: BatchIndex;
  training: boolean;
}

export interface StepInput {
  rank: Rank;
  batch: BatchIndex;
  /** Multiply accumulated gradients by this before applying (A/m for a partial window). */
  scale: number;
  microBatches: number;
}
