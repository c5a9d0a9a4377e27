/**
 * The `--json` summary of a `sparsepipe train` run (docs/design.md "Contracts") and how it is computed from
 * the ranks' results.
 *
 * - `losses`: one per batch of this run — the mean over ranks of each rank's local mean
 *   loss, which equals the global batch's mean loss because every rank holds an equal slice.
 * - `batchesTrained` / `examples`: in all, a resumed checkpoint's batches included;
 *   `firstBatch` is the index of this run's first batch.
 * - `heldOutLoss` / `auc`: a forward-only pass over `heldOutExamples` examples of the
 *   synthetic log's held-out stream; `bayesOptimalLoss` is the planted model's log-loss on
 *   the same examples (null for a Criteo file).
 * - `iterationMs`: median time between consecutive iterations of rank 0 over the second
 *   half of the run, on `iterationClock` (virtual on the sim device, wall otherwise).
 * - `paramsDigest` / `params`: logical parameters (src/cli/logical-params.ts).
 *
 * @example
 * const summary = buildSummary({
 *   version: '0.1.0', options, results, simulatedMs: null, clock: 'wall', wallMs, params,
 *   bayesOptimalLoss: 0.47, resumedFrom: null, pendingMicroBatches: 0,
 * });
 * summary.finalLoss;
 */
import { logLossOfLogits as logLossFromLogits, rocAuc as aucByRanking } from '../data/metrics.ts';
import {
  paramsDigest,
  paramsSummary,
  type LogicalParam,
  type ParamStats,
} from './logical-params.ts';
import type { RankResult } from './rank-job.ts';
import { medianSecondHalf, streamBusyFraction, type StreamBusy } from './run-stats.ts';
import type { TrainOptions } from './train-options.ts';
import { concatFloat32 } from '../tensors/concat-typed.ts';
import type { DenseMathInfo } from '../protocol/index.ts';

export interface TrainSummary {
  sparsepipe: string;
  command: 'train';
  batchesTrained: number;
  examples: number;
  firstBatch: number;
  batchesThisRun: number;
  examplesThisRun: number;
  losses: number[];
  lossesAre: string;
  finalLoss: number | null;
  heldOutLoss: number | null;
  auc: number | null;
  heldOutExamples: number;
  bayesOptimalLoss: number | null;
  wallMs: number;
  simulatedMs: number | null;
  iterationMs: number | null;
  iterationClock: 'virtual' | 'wall';
  /** Wall ms of the training loops (setup and held-out evaluation excluded). */
  trainWallMs: number;
  /** Examples of this run per wall second of training. */
  examplesPerSecond: number;
  /** Fraction of the training time each stream was busy (mean over ranks). */
  streamBusy: StreamBusy;
  /** Malformed Criteo rows skipped (`--skip-bad-rows`); null for synthetic data. */
  skippedRows: number | null;
  checkpoint: {
    resumedFrom: string | null;
    written: string | null;
    /** Micro-batches held in the accumulation buffers when the run stopped (> 0: mid-window). */
    pendingMicroBatches: number;
  };
  /** Cached tables (`--cache-rows` / `--cache-fraction`): counters summed over ranks and tables; null uncached. */
  cache: CacheSummary | null;
  /** The matMul engine of rank 0 (every rank chooses the same): OpenBLAS version and threads, or wasm and why. */
  denseMath: DenseMathInfo;
  paramsDigest: string;
  params: Record<string, ParamStats>;
  options: Omit<TrainOptions, 'costOverrides'> & { costOverrides: TrainOptions['costOverrides'] };
}

export interface CacheSummary {
  hits: number;
  misses: number;
  evictions: number;
  writeBacks: number;
  /** hits ÷ (hits + misses). */
  hitRate: number;
  /** Peak rows held beyond capacity by in-flight batches (largest over table blocks). */
  overflowRows: number;
}

/** Cache counters of every rank and table, summed; null when no table is cached. */
export function cacheSummary(
  results: readonly Pick<RankResult, 'cacheStats'>[],
): CacheSummary | null {
  const all = results.flatMap((r) => Object.values(r.cacheStats ?? {}));
  if (all.length === 0) return null;
  const sum = (f: (s: (typeof all)[number]) => number) => all.reduce((a, s) => a + f(s), 0);
  const hits = sum((s) => s.hits);
  const misses = sum((s) => s.misses);
  return {
    hits,
    misses,
    evictions: sum((s) => s.evictions),
    writeBacks: sum((s) => s.writeBacks),
    hitRate: hits + misses > 0 ? hits / (hits + misses) : 0,
    overflowRows: Math.max(...all.map((s) => s.overflowSlots)),
  };
}

export interface SummaryInput {
  version: string;
  options: TrainOptions;
  results: readonly RankResult[];
  simulatedMs: number | null;
  clock: 'virtual' | 'wall';
  wallMs: number;
  params: ReadonlyMap<string, LogicalParam>;
  bayesOptimalLoss: number | null;
  resumedFrom: string | null;
  /** Micro-batches in the buffers at the end (from the checkpoint state, else 0). */
  pendingMicroBatches: number;
}

const finiteOrNull = (x: number | null | undefined): number | null =>
  x !== null && x !== undefined && Number.isFinite(x) ? x : null;

/**
 * Gather the ranks' results into the summary.
 *
 * @example
 * const s = buildSummary(input); s.losses.length === s.batchesThisRun;
 */
export function buildSummary(input: SummaryInput): TrainSummary {
  const { options, results } = input;
  const steps = Math.min(...results.map((r) => r.losses.length));
  const losses = Array.from(
    { length: steps },
    (_, i) => results.reduce((s, r) => s + r.losses[i], 0) / results.length,
  );
  const firstBatch = results[0].firstBatch;
  const examplesThisRun = results.reduce((s, r) => s + r.examples, 0);
  let heldOutLoss: number | null = null;
  let auc: number | null = null;
  let heldOutExamples = 0;
  const heldOut = results.flatMap((r) => (r.heldOut ? [r.heldOut] : []));
  if (heldOut.length === results.length) {
    const logits = concatFloat32(heldOut.flatMap((h) => h.logits));
    const labels = concatFloat32(heldOut.flatMap((h) => h.labels));
    heldOutExamples = labels.length;
    heldOutLoss = finiteOrNull(logLossFromLogits(logits, labels));
    auc = finiteOrNull(aucByRanking(logits, labels));
  }
  const events = results.flatMap((r) => r.events);
  const trainWallMs = Math.max(...results.map((r) => r.wallTrainMs));
  return {
    sparsepipe: input.version,
    command: 'train',
    batchesTrained: firstBatch + steps,
    examples: firstBatch * options.batchSize + examplesThisRun,
    firstBatch,
    batchesThisRun: steps,
    examplesThisRun,
    losses,
    lossesAre: "mean over ranks of each rank's local mean loss (= the global batch's mean loss)",
    finalLoss: steps > 0 ? losses[steps - 1] : null,
    heldOutLoss,
    auc,
    heldOutExamples,
    bayesOptimalLoss: finiteOrNull(input.bayesOptimalLoss),
    wallMs: input.wallMs,
    simulatedMs: finiteOrNull(input.simulatedMs),
    iterationMs: medianSecondHalf(results[0].iterationMs),
    iterationClock: input.clock,
    trainWallMs,
    examplesPerSecond: trainWallMs > 0 ? examplesThisRun / (trainWallMs / 1000) : 0,
    streamBusy: streamBusyFraction(events),
    skippedRows: options.data === 'synthetic' ? null : results[0].skippedRows,
    checkpoint: {
      resumedFrom: input.resumedFrom,
      written: options.checkpointOut,
      pendingMicroBatches: input.pendingMicroBatches,
    },
    cache: cacheSummary(results),
    denseMath: results[0].denseMath,
    paramsDigest: paramsDigest(input.params),
    params: paramsSummary(input.params),
    options: { ...options },
  };
}
