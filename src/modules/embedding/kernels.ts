/**
 * Embedding kernels on typed arrays (docs/design.md "Numerics"; FBGEMM's table-batched embedding in spirit):
 * pooled lookup of one feature over a jagged batch, its backward as a scatter-add of row
 * gradients, and the gradient w.r.t. per-id weights (for feature processors).
 *
 * Conventions shared by every kernel:
 * - **Bags**: bag `b` (0 ≤ b < nBags) holds ids `values[offsets[bagStart + b] .. offsets[bagStart + b + 1])`,
 *   so a key's slice of a `KeyedJaggedTensor` is used in place (`bagStart = k * stride`).
 * - **Table slice**: `weights` is row-major `[nRows, width]` holding global rows
 *   `[rowStart, rowStart + nRows)` and some contiguous block of columns (a column-wise shard
 *   owns columns `[c0, c1)`; the kernel only needs its width). Ids outside the slice throw.
 * - **Pooling**: `sum` = Σ wᵢ·row(idᵢ); `mean` = that sum ÷ (number of ids in the bag) —
 *   FBGEMM's choice: weights do not change the divisor. An empty bag pools to zeros.
 * - **Output / gradient matrices** are row-major with a row stride (`[B, totalWidth]`); the
 *   feature's slice starts at a column offset.
 * - Sums are taken in float64 and stored as float32.
 *
 * @example
 * const out = new Float32Array(2 * 4);
 * pooledLookup({
 *   table: { weights, rowStart: 0, nRows: 10, width: 2 },
 *   bags: { values: Int32Array.from([1, 2, 3]), offsets: Int32Array.from([0, 2, 3]), bagStart: 0, nBags: 2 },
 *   pooling: 'sum', out, outStride: 4, outColOffset: 2,
 * }); // out[0, 2..4) = row1 + row2, out[1, 2..4) = row3
 */
import type { PoolingMode } from './config.ts';
import {
  accumulatePooledGradDim16,
  DIM16,
  dim16Loops,
  pooledLookupDim16,
} from './dim16-kernels.ts';
import { touchRows } from './touch-rows.ts';
import { SparseGradAccumulator, type SparseRowGrads } from './sparse-grad-accumulator.ts';

/** A block of an embedding table: row-major `[nRows, width]`, first global row `rowStart`. */
export interface TableSlice {
  readonly weights: Float32Array;
  readonly rowStart: number;
  readonly nRows: number;
  readonly width: number;
  /** For error messages. */
  readonly name?: string;
}

/** A run of bags inside a jagged batch. */
export interface Bags {
  readonly values: Int32Array;
  readonly offsets: Int32Array;
  /** Index in `offsets` of the first bag (default 0). */
  readonly bagStart?: number;
  readonly nBags: number;
  /** Per-id weights aligned with `values` (default: all 1). */
  readonly weights?: Float32Array;
  /** For error messages. */
  readonly feature?: string;
}

export interface PooledLookupArgs {
  table: TableSlice;
  bags: Bags;
  pooling: PoolingMode;
  /** Row-major output; bag `b` goes to row `outRowOffset + b`, columns `[outColOffset, outColOffset + width)`. */
  out: Float32Array;
  outStride: number;
  outColOffset: number;
  outRowOffset?: number;
}

export interface PooledBackwardArgs {
  /** Only `rowStart` / `nRows` / `width` are read (the table values are not needed). */
  table: Pick<TableSlice, 'rowStart' | 'nRows' | 'width' | 'name'>;
  bags: Bags;
  pooling: PoolingMode;
  /** Gradient of the pooled output, same layout as {@link PooledLookupArgs.out}. */
  grad: Float32Array;
  gradStride: number;
  gradColOffset: number;
  gradRowOffset?: number;
  /** Extra factor on every contribution (default 1). */
  scale?: number;
}

export interface IdWeightGradArgs {
  table: TableSlice;
  bags: Bags;
  pooling: PoolingMode;
  grad: Float32Array;
  gradStride: number;
  gradColOffset: number;
  gradRowOffset?: number;
  /** `out[i] += dLoss/dWeight(values[i])` for every id `i` of the bags (indexed like `values`). */
  out: Float32Array;
}

function idOutOfRange(
  table: Pick<TableSlice, 'rowStart' | 'nRows' | 'name'>,
  bags: Bags,
  b: number,
  id: number,
): RangeError {
  const where = `${bags.feature ? `feature '${bags.feature}'` : 'embedding lookup'}${table.name ? ` (table '${table.name}')` : ''}`;
  return new RangeError(
    `${where}: id ${id} in bag ${b} is outside rows [${table.rowStart}, ${table.rowStart + table.nRows}) held here`,
  );
}

/** The error for the first id of bag `b` outside the slice (a 16-wide loop stopped at bag `b`). */
function firstIdOutOfRange(
  table: Pick<TableSlice, 'rowStart' | 'nRows' | 'name'>,
  bags: Bags,
  b: number,
): RangeError {
  const bagStart = bags.bagStart ?? 0;
  for (let i = bags.offsets[bagStart + b]; i < bags.offsets[bagStart + b + 1]; i++) {
    const local = bags.values[i] - table.rowStart;
    if (local < 0 || local >= table.nRows) return idOutOfRange(table, bags, b, bags.values[i]);
  }
  throw new Error(`embedding kernel: bag ${b} was reported out of range but all its ids are in it`);
}

/**
 * Pooled lookup of one feature: writes `nBags` rows of `table.width` values into `out`.
 *
 * @example
 * pooledLookup({ table, bags, pooling: 'mean', out, outStride: totalWidth, outColOffset: 8 });
 */
export function pooledLookup(args: PooledLookupArgs): void {
  const { table, bags, pooling, out, outStride, outColOffset } = args;
  const { weights, rowStart, nRows, width } = table;
  const { values, offsets, nBags } = bags;
  const bagStart = bags.bagStart ?? 0;
  const idW = bags.weights;
  const rowOffset = args.outRowOffset ?? 0;
  touchRows(weights, values, offsets[bagStart], offsets[bagStart + nBags], rowStart, nRows, width);
  if (width === DIM16 && dim16Loops.enabled) {
    const bad = pooledLookupDim16(
      weights,
      rowStart,
      nRows,
      values,
      offsets,
      bagStart,
      nBags,
      idW,
      pooling === 'mean',
      out,
      outStride,
      outColOffset,
      rowOffset,
    );
    if (bad >= 0) throw firstIdOutOfRange(table, bags, bad);
    return;
  }
  const acc = new Float64Array(width);
  for (let b = 0; b < nBags; b++) {
    const start = offsets[bagStart + b];
    const end = offsets[bagStart + b + 1];
    acc.fill(0);
    for (let i = start; i < end; i++) {
      const local = values[i] - rowStart;
      if (local < 0 || local >= nRows) throw idOutOfRange(table, bags, b, values[i]);
      const w = idW ? idW[i] : 1;
      const base = local * width;
      for (let j = 0; j < width; j++) acc[j] += w * weights[base + j];
    }
    const o = (rowOffset + b) * outStride + outColOffset;
    const n = end - start;
    if (pooling === 'mean' && n > 0) {
      for (let j = 0; j < width; j++) out[o + j] = acc[j] / n;
    } else {
      for (let j = 0; j < width; j++) out[o + j] = acc[j];
    }
  }
}

/**
 * Backward of {@link pooledLookup}: `grad[row(idᵢ)] += scale · wᵢ · s_b · gradPooled[b]` with
 * `s_b = 1/len(b)` for mean pooling (1 for sum), added into `into` (keyed by *local* row
 * `id - rowStart`, width `table.width`).
 *
 * @example
 * const acc = new SparseGradAccumulator(dim);
 * accumulatePooledGrad({ table, bags, pooling: 'sum', grad, gradStride: totalWidth, gradColOffset: 0 }, acc);
 */
export function accumulatePooledGrad(args: PooledBackwardArgs, into: SparseGradAccumulator): void {
  const { table, bags, pooling, grad, gradStride, gradColOffset } = args;
  const { rowStart, nRows, width } = table;
  if (into.width !== width)
    throw new Error(
      `accumulatePooledGrad: accumulator width ${into.width} != slice width ${width}`,
    );
  const { values, offsets, nBags } = bags;
  const bagStart = bags.bagStart ?? 0;
  const idW = bags.weights;
  const rowOffset = args.gradRowOffset ?? 0;
  const scale = args.scale ?? 1;
  if (width === DIM16 && dim16Loops.enabled) {
    const bad = accumulatePooledGradDim16(
      into,
      rowStart,
      nRows,
      values,
      offsets,
      bagStart,
      nBags,
      idW,
      pooling === 'mean',
      scale,
      grad,
      gradStride,
      gradColOffset,
      rowOffset,
    );
    if (bad >= 0) throw firstIdOutOfRange(table, bags, bad);
    return;
  }
  for (let b = 0; b < nBags; b++) {
    const start = offsets[bagStart + b];
    const end = offsets[bagStart + b + 1];
    if (end === start) continue;
    const bagScale = pooling === 'mean' ? scale / (end - start) : scale;
    const g = (rowOffset + b) * gradStride + gradColOffset;
    for (let i = start; i < end; i++) {
      const local = values[i] - rowStart;
      if (local < 0 || local >= nRows) throw idOutOfRange(table, bags, b, values[i]);
      const c = idW ? bagScale * idW[i] : bagScale;
      const o = into.offsetOf(local);
      const d = into.data;
      for (let j = 0; j < width; j++) d[o + j] += c * grad[g + j];
    }
  }
}

/**
 * Backward of {@link pooledLookup} as a fresh sparse gradient (unique ascending local rows).
 *
 * @example
 * const { rows, grads } = pooledBackward({ table, bags, pooling: 'sum', grad, gradStride: 4, gradColOffset: 0 });
 */
export function pooledBackward(args: PooledBackwardArgs): SparseRowGrads {
  const acc = new SparseGradAccumulator(args.table.width);
  accumulatePooledGrad(args, acc);
  return acc.toSparse();
}

/**
 * Gradient of the loss w.r.t. each per-id weight: `s_b · ⟨gradPooled[b], row(idᵢ)⟩` over the
 * slice's columns (a column shard gives a partial dot product; the caller sums the shards).
 *
 * @example
 * const dw = new Float32Array(values.length);
 * accumulateIdWeightGrad({ table, bags, pooling: 'sum', grad, gradStride: 4, gradColOffset: 0, out: dw });
 */
export function accumulateIdWeightGrad(args: IdWeightGradArgs): void {
  const { table, bags, pooling, grad, gradStride, gradColOffset, out } = args;
  const { weights, rowStart, nRows, width } = table;
  const { values, offsets, nBags } = bags;
  const bagStart = bags.bagStart ?? 0;
  const rowOffset = args.gradRowOffset ?? 0;
  for (let b = 0; b < nBags; b++) {
    const start = offsets[bagStart + b];
    const end = offsets[bagStart + b + 1];
    if (end === start) continue;
    const bagScale = pooling === 'mean' ? 1 / (end - start) : 1;
    const g = (rowOffset + b) * gradStride + gradColOffset;
    for (let i = start; i < end; i++) {
      const local = values[i] - rowStart;
      if (local < 0 || local >= nRows) throw idOutOfRange(table, bags, b, values[i]);
      const base = local * width;
      let dot = 0;
      for (let j = 0; j < width; j++) dot += grad[g + j] * weights[base + j];
      out[i] += bagScale * dot;
    }
  }
}
