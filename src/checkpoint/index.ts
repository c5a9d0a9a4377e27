/**
 * Checkpoints: a directory with a `manifest.json` and one little-endian `.bin` per rank
 * (FORMAT.md), written atomically and checked on read; capture and restore of a rank's
 * parameters, optimizer state, gradient accumulators and pipeline counters.
 *
 * @example
 * await writeCheckpoint('ckpt', { resumeKey, nextBatch: 12, ranks: [captureRankState(0, parts, pipelineState)] });
 * const { ranks } = await readCheckpoint('ckpt');
 * restoreRankState(parts, ranks[0]);
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
