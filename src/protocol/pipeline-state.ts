/**
 * What a checkpoint holds of a pipeline (plain data): the accumulation counters, the data
 * position and the loss-scaler state. The coordinator keeps the counters, the facade
 * exports and imports the whole, the checkpoint format stores it.
 *
 * @example
 * const state: PipelineState = { calls: 6, windowSize: 2, batchesTrained: 6, nextBatch: 6 };
 */

/** The coordinator's counters: what a checkpoint must hold to resume mid-accumulation-window. */
export interface PipelineCounters {
  calls: number;
  windowSize: number;
  batchesTrained: number;
}

/** Everything needed to resume a loss scaler (`GradScaler`). */
export interface GradScalerState {
  scale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  /** Consecutive clean steps since the last growth or backoff. */
  growthTracker: number;
  enabled: boolean;
}

/**
 * What a checkpoint holds of a pipeline: the accumulation counters, the number of batches
 * trained (the data position) and the loss-scaler state. Taken between `progress` calls.
 */
export interface PipelineState extends PipelineCounters {
  /** Index the next batch will get. */
  nextBatch: number;
  gradScaler?: GradScalerState;
}
