/**
 * Identifiers shared by every layer: ranks, batch indices, stream names.
 *
 * @example
 * const s: StreamName = 'dataDist';
 */

/** Index of a process (or simulated device) in a process group, 0-based. */
export type Rank = number;

/** 0-based index of a batch in the order the dataloader yielded it (across iterators). */
export type BatchIndex = number;

/**
 * The streams of a pipelined device (TorchRec: memcpy stream, data_dist stream, default
 * stream, and the fused / semi-sync pipelines' own embedding-lookup stream).
 */
export type StreamName = 'memcpy' | 'dataDist' | 'default' | 'embLookup' | 'prefetch';

export const STREAM_NAMES: readonly StreamName[] = [
  'memcpy',
  'dataDist',
  'default',
  'embLookup',
  'prefetch',
];
