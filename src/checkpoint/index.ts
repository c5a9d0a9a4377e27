/**
 * Checkpoints: a directory with a `manifest.json` and one little-endian `.bin` per rank
 * (FORMAT.md), written atomically and checked on read; capture and restore of a rank's
 * parameters, optimizer state, gradient accumulators and pipeline counters.
 *
 * @example
 * import { captureRankState, writeCheckpoint, readCheckpoint, restoreRankState } from './checkpoint/index.ts';
 */
export * from './checkpoint-error.ts';
export * from './manifest.ts';
export * from './rank-state.ts';
export {
  checkCheckpointTarget,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointContents,
  type LoadedCheckpoint,
} from './checkpoint-dir.ts';
export {
  BinarySink,
  decodeArrays,
  encodeArrays,
  type ArrayDtype,
  type ArrayRef,
} from './array-tree.ts';
