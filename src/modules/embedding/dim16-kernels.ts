/**
 * The embedding kernels of `kernels.ts` and the fused SGD update, written out for rows of
 * 16 values (the reference DLRM's dimension, and the most common one in practice). Each
 * value of a row lives in its own local variable, so V8 keeps the 16 running sums in
 * registers instead of loading and storing a `Float64Array` accumulator per id; the
 * general loops run 2–3× slower on these rows.
 *
 * Every function computes exactly what its general counterpart computes, in the same
 * order and in the same float64 arithmetic, so results are bitwise equal (tested against
 * the general loops on random inputs). The callers (`pooledLookup`,
 * `accumulatePooledGrad`, the fused SGD and row-wise Adagrad) choose these loops when the width is 16 and
 * {@link dim16Loops}`.enabled`, and count each use in `dim16Loops.calls`.
 *
 * @example
 * const before = dim16Loops.calls.lookup;
 * pooledLookup({ table: { weights, rowStart: 0, nRows, width: 16 }, bags, pooling: 'sum', out, outStride: 128, outColOffset: 0 });
 * dim16Loops.calls.lookup === before + 1; // true
 */
import type { SparseGradAccumulator } from './sparse-grad-accumulator.ts';

/**
 * `enabled`: whether callers use these loops for 16-wide rows (tests turn it off to run the
 * general loops on the same inputs); `calls`: how many times each loop ran.
 */
export const dim16Loops = { enabled: true, calls: { lookup: 0, backward: 0, sgd: 0, adagrad: 0 } };

/** Row width the loops in this file are written for. */
export const DIM16 = 16;

/**
 * Pooled lookup of `nBags` bags from a `[nRows, 16]` block; see `pooledLookup`. Returns the
 * index of the first bag holding an id outside the block (then nothing of that bag or
 * later ones is written), or -1.
 */
export function pooledLookupDim16(
  weights: Float32Array,
  rowStart: number,
  nRows: number,
  values: Int32Array,
  offsets: Int32Array,
  bagStart: number,
  nBags: number,
  idW: Float32Array | undefined,
  mean: boolean,
  out: Float32Array,
  outStride: number,
  outColOffset: number,
  outRowOffset: number,
): number {
  dim16Loops.calls.lookup++;
  for (let b = 0; b < nBags; b++) {
    const start = offsets[bagStart + b];
    const end = offsets[bagStart + b + 1];
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0,
      a4 = 0,
      a5 = 0,
      a6 = 0,
      a7 = 0;
    let a8 = 0,
      a9 = 0,
      a10 = 0,
      a11 = 0,
      a12 = 0,
      a13 = 0,
      a14 = 0,
      a15 = 0;
    for (let i = start; i < end; i++) {
      const local = values[i] - rowStart;
      if (local < 0 || local >= nRows) return b;
      const r = local * 16;
      if (idW) {
        const w = idW[i];
        a0 += w * weights[r];
        a1 += w * weights[r + 1];
        a2 += w * weights[r + 2];
        a3 += w * weights[r + 3];
        a4 += w * weights[r + 4];
        a5 += w * weights[r + 5];
        a6 += w * weights[r + 6];
        a7 += w * weights[r + 7];
        a8 += w * weights[r + 8];
        a9 += w * weights[r + 9];
        a10 += w * weights[r + 10];
        a11 += w * weights[r + 11];
        a12 += w * weights[r + 12];
        a13 += w * weights[r + 13];
        a14 += w * weights[r + 14];
        a15 += w * weights[r + 15];
      } else {
        // 1 · x is x: the general loop's product by the default weight changes nothing.
        a0 += weights[r];
        a1 += weights[r + 1];
        a2 += weights[r + 2];
        a3 += weights[r + 3];
        a4 += weights[r + 4];
        a5 += weights[r + 5];
        a6 += weights[r + 6];
        a7 += weights[r + 7];
        a8 += weights[r + 8];
        a9 += weights[r + 9];
        a10 += weights[r + 10];
        a11 += weights[r + 11];
        a12 += weights[r + 12];
        a13 += weights[r + 13];
        a14 += weights[r + 14];
        a15 += weights[r + 15];
      }
    }
    const o = (outRowOffset + b) * outStride + outColOffset;
    const n = end - start;
    if (mean && n > 0) {
      out[o] = a0 / n;
      out[o + 1] = a1 / n;
      out[o + 2] = a2 / n;
      out[o + 3] = a3 / n;
      out[o + 4] = a4 / n;
      out[o + 5] = a5 / n;
      out[o + 6] = a6 / n;
      out[o + 7] = a7 / n;
      out[o + 8] = a8 / n;
      out[o + 9] = a9 / n;
      out[o + 10] = a10 / n;
      out[o + 11] = a11 / n;
      out[o + 12] = a12 / n;
      out[o + 13] = a13 / n;
      out[o + 14] = a14 / n;
      out[o + 15] = a15 / n;
    } else {
      out[o] = a0;
      out[o + 1] = a1;
      out[o + 2] = a2;
      out[o + 3] = a3;
      out[o + 4] = a4;
      out[o + 5] = a5;
      out[o + 6] = a6;
      out[o + 7] = a7;
      out[o + 8] = a8;
      out[o + 9] = a9;
      out[o + 10] = a10;
      out[o + 11] = a11;
      out[o + 12] = a12;
      out[o + 13] = a13;
      out[o + 14] = a14;
      out[o + 15] = a15;
    }
  }
  return -1;
}

/**
 * Scatter-add of pooled gradients into a 16-wide accumulator; see `accumulatePooledGrad`
 * (`meanPooling`: each bag's contributions are divided by its length). Returns the index of
 * the first bag holding an id outside `[rowStart, rowStart + nRows)` (its earlier ids, and
 * earlier bags, are already added), or -1.
 */
export function accumulatePooledGradDim16(
  into: SparseGradAccumulator,
  rowStart: number,
  nRows: number,
  values: Int32Array,
  offsets: Int32Array,
  bagStart: number,
  nBags: number,
  idW: Float32Array | undefined,
  meanPooling: boolean,
  scale: number,
  grad: Float32Array,
  gradStride: number,
  gradColOffset: number,
  gradRowOffset: number,
): number {
  dim16Loops.calls.backward++;
  for (let b = 0; b < nBags; b++) {
    const start = offsets[bagStart + b];
    const end = offsets[bagStart + b + 1];
    if (end === start) continue;
    const bagScale = meanPooling ? scale / (end - start) : scale;
    const g = (gradRowOffset + b) * gradStride + gradColOffset;
    const g0 = grad[g],
      g1 = grad[g + 1],
      g2 = grad[g + 2],
      g3 = grad[g + 3];
    const g4 = grad[g + 4],
      g5 = grad[g + 5],
      g6 = grad[g + 6],
      g7 = grad[g + 7];
    const g8 = grad[g + 8],
      g9 = grad[g + 9],
      g10 = grad[g + 10],
      g11 = grad[g + 11];
    const g12 = grad[g + 12],
      g13 = grad[g + 13],
      g14 = grad[g + 14],
      g15 = grad[g + 15];
    for (let i = start; i < end; i++) {
      const local = values[i] - rowStart;
      if (local < 0 || local >= nRows) return b;
      const c = idW ? bagScale * idW[i] : bagScale;
      const o = into.slotFor(local) * 16;
      const d = into.data;
      d[o] += c * g0;
      d[o + 1] += c * g1;
      d[o + 2] += c * g2;
      d[o + 3] += c * g3;
      d[o + 4] += c * g4;
      d[o + 5] += c * g5;
      d[o + 6] += c * g6;
      d[o + 7] += c * g7;
      d[o + 8] += c * g8;
      d[o + 9] += c * g9;
      d[o + 10] += c * g10;
      d[o + 11] += c * g11;
      d[o + 12] += c * g12;
      d[o + 13] += c * g13;
      d[o + 14] += c * g14;
      d[o + 15] += c * g15;
    }
  }
  return -1;
}

/**
 * Fused SGD over a 16-wide block: `w[row] -= step · g[slot]` for every slot of `grads`
 * (first-touch order), reading gradient columns `[c0, c0 + 16)`. Returns the first slot
 * whose row is outside the block (nothing from it on is written), or -1.
 */
export function sgdApplyDim16(
  weights: Float32Array,
  nRows: number,
  grads: SparseGradAccumulator,
  step: number,
  c0: number,
): number {
  dim16Loops.calls.sgd++;
  const rows = grads.slotRows;
  const g = grads.data;
  const gw = grads.width;
  const n = grads.size;
  for (let s = 0; s < n; s++) {
    const row = rows[s];
    if (row < 0 || row >= nRows) return s;
    const w = row * 16;
    const o = s * gw + c0;
    weights[w] = weights[w] - step * g[o];
    weights[w + 1] = weights[w + 1] - step * g[o + 1];
    weights[w + 2] = weights[w + 2] - step * g[o + 2];
    weights[w + 3] = weights[w + 3] - step * g[o + 3];
    weights[w + 4] = weights[w + 4] - step * g[o + 4];
    weights[w + 5] = weights[w + 5] - step * g[o + 5];
    weights[w + 6] = weights[w + 6] - step * g[o + 6];
    weights[w + 7] = weights[w + 7] - step * g[o + 7];
    weights[w + 8] = weights[w + 8] - step * g[o + 8];
    weights[w + 9] = weights[w + 9] - step * g[o + 9];
    weights[w + 10] = weights[w + 10] - step * g[o + 10];
    weights[w + 11] = weights[w + 11] - step * g[o + 11];
    weights[w + 12] = weights[w + 12] - step * g[o + 12];
    weights[w + 13] = weights[w + 13] - step * g[o + 13];
    weights[w + 14] = weights[w + 14] - step * g[o + 14];
    weights[w + 15] = weights[w + 15] - step * g[o + 15];
  }
  return -1;
}

/**
 * Fused row-wise Adagrad over a 16-wide block whose gradient rows are 16 wide too (the
 * block is the whole logical row): per slot, `m[row] += mean(v²)` with `v = scale · g`,
 * then `w[row] -= lr / (sqrt(m[row]) + eps) · v`; see `fused-optimizers.ts`. Returns the
 * first slot whose row is outside the block (nothing from it on is written), or -1.
 */
export function adagradApplyDim16(
  weights: Float32Array,
  nRows: number,
  grads: SparseGradAccumulator,
  momentum: Float32Array,
  scale: number,
  lr: number,
  eps: number,
): number {
  dim16Loops.calls.adagrad++;
  const rows = grads.slotRows;
  const g = grads.data;
  const n = grads.size;
  for (let s = 0; s < n; s++) {
    const row = rows[s];
    if (row < 0 || row >= nRows) return s;
    const o = s * 16;
    const v0 = scale * g[o],
      v1 = scale * g[o + 1],
      v2 = scale * g[o + 2],
      v3 = scale * g[o + 3];
    const v4 = scale * g[o + 4],
      v5 = scale * g[o + 5],
      v6 = scale * g[o + 6],
      v7 = scale * g[o + 7];
    const v8 = scale * g[o + 8],
      v9 = scale * g[o + 9],
      v10 = scale * g[o + 10],
      v11 = scale * g[o + 11];
    const v12 = scale * g[o + 12],
      v13 = scale * g[o + 13],
      v14 = scale * g[o + 14],
      v15 = scale * g[o + 15];
    // the squares summed one by one, in column order, as the general loop does
    let sq = 0;
    sq += v0 * v0;
    sq += v1 * v1;
    sq += v2 * v2;
    sq += v3 * v3;
    sq += v4 * v4;
    sq += v5 * v5;
    sq += v6 * v6;
    sq += v7 * v7;
    sq += v8 * v8;
    sq += v9 * v9;
    sq += v10 * v10;
    sq += v11 * v11;
    sq += v12 * v12;
    sq += v13 * v13;
    sq += v14 * v14;
    sq += v15 * v15;
    momentum[row] = momentum[row] + sq / 16;
    const mult = lr / (Math.sqrt(momentum[row]) + eps); // the float32 value just stored
    const w = row * 16;
    weights[w] = weights[w] - mult * v0;
    weights[w + 1] = weights[w + 1] - mult * v1;
    weights[w + 2] = weights[w + 2] - mult * v2;
    weights[w + 3] = weights[w + 3] - mult * v3;
    weights[w + 4] = weights[w + 4] - mult * v4;
    weights[w + 5] = weights[w + 5] - mult * v5;
    weights[w + 6] = weights[w + 6] - mult * v6;
    weights[w + 7] = weights[w + 7] - mult * v7;
    weights[w + 8] = weights[w + 8] - mult * v8;
    weights[w + 9] = weights[w + 9] - mult * v9;
    weights[w + 10] = weights[w + 10] - mult * v10;
    weights[w + 11] = weights[w + 11] - mult * v11;
    weights[w + 12] = weights[w + 12] - mult * v12;
    weights[w + 13] = weights[w + 13] - mult * v13;
    weights[w + 14] = weights[w + 14] - mult * v14;
    weights[w + 15] = weights[w + 15] - mult * v15;
  }
  return -1;
}
