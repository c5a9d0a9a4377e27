/**
 * Refuse, before anything is allocated, a `sparsepipe train` run that cannot fit in memory
 * (docs/reliability.md "Size limits"). The estimate is deliberately simple and generous:
 *
 * ```
 * batch part   = global batch × bytes per example in flight
 *                (inputs: dense + label + 4 ids and a length per feature; activations of
 *                 the MLPs and pooled embeddings, ×4 for forward, gradients and temporaries;
 *                 ×3 batches in flight in the pipeline)
 * table part   = Σ tables rows × dim × 4 bytes × 3 (weights, optimizer state, gradients)
 * held-out     = held-out examples × input bytes per example (materialized for evaluation)
 * ```
 *
 * The budget is half of the machine's memory; the tfjs tensors of a rank also live in one
 * WebAssembly memory (at most 4 GiB) on the wasm/sim devices, so the batch part must fit
 * there too. The error names the flag that drives the largest part.
 *
 * @example
 * checkMemory(options, config); // throws UsageError: --batch-size 50000000: this run needs about 96.9 GiB …
 */
import { totalmem } from 'node:os';
import type { DlrmConfig } from '../models/dlrm-config.ts';
import { UsageError } from './cli-io.ts';
import type { TrainOptions } from './train-options.ts';

const GiB = 1024 ** 3;
/** One WebAssembly memory (wasm32) holds at most this much. */
export const WASM_MEMORY_BYTES = 4 * GiB;
const IN_FLIGHT = 3;
const ACTIVATION_COPIES = 4;

export interface MemoryEstimate {
  batchBytes: number;
  tableBytes: number;
  heldOutBytes: number;
  total: number;
}

export function estimateMemory(
  o: Pick<TrainOptions, 'batchSize' | 'heldOutExamples'>,
  config: DlrmConfig,
): MemoryEstimate {
  const features = config.tables.reduce((n, t) => n + t.features.length, 0);
  const inputFloats = config.denseIn + 1 + features * (4 + 1);
  const widths = [...config.bottom, ...config.top].reduce((a, b) => a + b, 0);
  const activationFloats =
    (widths + features * config.embeddingDim + (features + 1) ** 2) * ACTIVATION_COPIES;
  const batchBytes = o.batchSize * (inputFloats + activationFloats) * 4 * IN_FLIGHT;
  const tableBytes = config.tables.reduce((n, t) => n + t.rows * t.dim * 4 * 3, 0);
  const heldOutBytes = o.heldOutExamples * inputFloats * 4;
  return { batchBytes, tableBytes, heldOutBytes, total: batchBytes + tableBytes + heldOutBytes };
}

/** The flag(s) that sized the embedding tables. */
function tablesFlag(o: Pick<TrainOptions, 'modelSize' | 'tableRows' | 'embeddingDim'>): string {
  const given = [
    o.tableRows !== null ? `--table-rows ${o.tableRows}` : null,
    o.embeddingDim !== null ? `--embedding-dim ${o.embeddingDim}` : null,
  ].filter((x) => x !== null);
  return given.length > 0 ? given.join(' ') : `--model-size ${o.modelSize} (embedding tables)`;
}

const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

/** Throws a {@link UsageError} naming the flag when the run cannot fit (see the module doc). */
export function checkMemory(
  o: Pick<
    TrainOptions,
    'batchSize' | 'heldOutExamples' | 'device' | 'modelSize' | 'tableRows' | 'embeddingDim'
  >,
  config: DlrmConfig,
  machineBytes = totalmem(),
): void {
  const e = estimateMemory(o, config);
  const budget = machineBytes / 2;
  const parts: Array<[number, string]> = [
    [e.batchBytes, `--batch-size ${o.batchSize}`],
    [e.tableBytes, tablesFlag(o)],
    [e.heldOutBytes, `--held-out-examples ${o.heldOutExamples}`],
  ];
  const [, flag] = parts.reduce((a, b) => (b[0] > a[0] ? b : a));
  if (e.total > budget) {
    throw new UsageError(
      `${flag}: this run needs about ${gib(e.total)} of memory (batch ${gib(e.batchBytes)}, tables ${gib(e.tableBytes)}, held-out data ${gib(e.heldOutBytes)}), more than half of this machine's ${gib(machineBytes)}`,
    );
  }
  if ((o.device === 'sim' || o.device === 'wasm') && e.batchBytes > WASM_MEMORY_BYTES) {
    throw new UsageError(
      `--batch-size ${o.batchSize}: the batch needs about ${gib(e.batchBytes)} of tensors, more than the 4.0 GiB a WebAssembly memory can hold (--device ${o.device}); use a smaller batch`,
    );
  }
}
