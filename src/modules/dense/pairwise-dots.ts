/**
 * The pairwise dot interaction as plain typed-array loops (forward and backward), for
 * {@link DotInteraction}. Per example, the n = F+1 vectors of width D are the dense vector
 * followed by the F sparse ones; the output row is `[dense, ⟨vᵢ, vⱼ⟩ for i < j (row-major)]`.
 *
 * On wasm, tfjs's batched `[B, n, D] × [B, D, n]` matMul takes its slow, non-XNNPACK path
 * (and so does its gradient): these loops are far faster on the reference DLRM.
 *
 * Numerics: every product of two float32 values is exact in float64; dots and gradients
 * add those products in float64, in a fixed order, and round once to float32. A dot adds
 * its D products by ascending `t`, starting from `+0`; the gradient of vector k adds
 * `g(k, m)·v_m` over `m ≠ k` by ascending m, starting from the pass-through gradient (the
 * dense vector) or `+0`. So results are deterministic and at least as exact as float32
 * matMuls. The loops read the inputs where they are (no per-example copy), and the width
 * D = 16 (the reference DLRM's) has loops unrolled by hand; every width gives the same
 * bits as the plain loops in that order.
 *
 * @example
 * const out = new Float32Array(batch * (dim + pairs));
 * pairwiseDotsForward(dense, sparse, batch, numSparse, dim, out);
 * pairwiseDotsBackward(dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse);
 */

/** `(F+1)F/2`: the number of pairs `i < j` among `F+1` vectors. */
export function pairCount(numSparse: number): number {
  return ((numSparse + 1) * numSparse) / 2;
}

/** How often each loop ran, by width (unrolled for 16, blocks of 8, or any): tests read it. */
export const pairwiseDotsCalls = {
  forward16: 0,
  forwardAny: 0,
  backward16: 0,
  backward8: 0,
  backwardAny: 0,
};

const pairTables = new Map<number, Int32Array>();

/**
 * `table[k·n + m]` (k ≠ m): the position of the pair `(min(k, m), max(k, m))` among the
 * row-major upper-triangle pairs of n vectors. Built once per n.
 *
 * @example
 * pairTable(3); // pairs (0,1) (0,2) (1,2) → table[0·3+2] = 1, table[2·3+1] = 2
 */
function pairTable(n: number): Int32Array {
  let table = pairTables.get(n);
  if (!table) {
    table = new Int32Array(n * n).fill(-1);
    let p = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        table[i * n + j] = p;
        table[j * n + i] = p;
        p++;
      }
    }
    pairTables.set(n, table);
  }
  return table;
}

/**
 * Forward: `out[b] = [dense[b], ⟨vᵢ, vⱼ⟩ (i < j)]`, `out: [batch, dim + pairCount(numSparse)]`.
 *
 * @example
 * pairwiseDotsForward(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2, out); // out = [1, 2, 11]
 */
export function pairwiseDotsForward(
  dense: Float32Array,
  sparse: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  out: Float32Array,
): void {
  if (dim === 16) {
    pairwiseDotsCalls.forward16++;
    forward16(dense, sparse, batch, numSparse, out);
    return;
  }
  pairwiseDotsCalls.forwardAny++;
  const width = dim + pairCount(numSparse);
  const sw = numSparse * dim;
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    const db = b * dim;
    const sb = b * sw;
    const se = sb + sw;
    for (let t = 0; t < dim; t++) out[row + t] = dense[db + t];
    let p = dotsAgainst(dense, db, sparse, sb, se, dim, out, row + dim);
    for (let oi = sb; oi < se; oi += dim)
      p = dotsAgainst(sparse, oi, sparse, oi + dim, se, dim, out, p);
  }
}

/**
 * `out[p++] = ⟨x[ox…], y[o…]⟩` for `o = from, from + dim, … < to`; returns the next p. Four
 * dots at a time share each load of x and run as four independent sums.
 */
function dotsAgainst(
  x: Float32Array,
  ox: number,
  y: Float32Array,
  from: number,
  to: number,
  dim: number,
  out: Float32Array,
  p: number,
): number {
  let o = from;
  for (; o + 4 * dim <= to; o += 4 * dim) {
    const o1 = o + dim;
    const o2 = o1 + dim;
    const o3 = o2 + dim;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let t = 0; t < dim; t++) {
      const xt = x[ox + t];
      s0 += xt * y[o + t];
      s1 += xt * y[o1 + t];
      s2 += xt * y[o2 + t];
      s3 += xt * y[o3 + t];
    }
    out[p] = s0;
    out[p + 1] = s1;
    out[p + 2] = s2;
    out[p + 3] = s3;
    p += 4;
  }
  for (; o < to; o += dim) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += x[ox + t] * y[o + t];
    out[p++] = s;
  }
  return p;
}

function forward16(
  dense: Float32Array,
  sparse: Float32Array,
  batch: number,
  numSparse: number,
  out: Float32Array,
): void {
  const width = 16 + pairCount(numSparse);
  const sw = numSparse * 16;
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    const db = b * 16;
    const sb = b * sw;
    const se = sb + sw;
    for (let t = 0; t < 16; t++) out[row + t] = dense[db + t];
    let p = dotsAgainst16(dense, db, sparse, sb, se, out, row + 16);
    for (let oi = sb; oi < se; oi += 16) p = dotsAgainst16(sparse, oi, sparse, oi + 16, se, out, p);
  }
}

/** {@link dotsAgainst} for dim 16: x held in registers, each dot one left-to-right sum from +0. */
function dotsAgainst16(
  x: Float32Array,
  ox: number,
  y: Float32Array,
  from: number,
  to: number,
  out: Float32Array,
  p: number,
): number {
  const x0 = x[ox];
  const x1 = x[ox + 1];
  const x2 = x[ox + 2];
  const x3 = x[ox + 3];
  const x4 = x[ox + 4];
  const x5 = x[ox + 5];
  const x6 = x[ox + 6];
  const x7 = x[ox + 7];
  const x8 = x[ox + 8];
  const x9 = x[ox + 9];
  const x10 = x[ox + 10];
  const x11 = x[ox + 11];
  const x12 = x[ox + 12];
  const x13 = x[ox + 13];
  const x14 = x[ox + 14];
  const x15 = x[ox + 15];
  for (let o = from; o < to; o += 16) {
    out[p++] =
      0 +
      x0 * y[o] +
      x1 * y[o + 1] +
      x2 * y[o + 2] +
      x3 * y[o + 3] +
      x4 * y[o + 4] +
      x5 * y[o + 5] +
      x6 * y[o + 6] +
      x7 * y[o + 7] +
      x8 * y[o + 8] +
      x9 * y[o + 9] +
      x10 * y[o + 10] +
      x11 * y[o + 11] +
      x12 * y[o + 12] +
      x13 * y[o + 13] +
      x14 * y[o + 14] +
      x15 * y[o + 15];
  }
  return p;
}

/**
 * Backward: from `dOut: [batch, dim + pairs]` to `dDense: [batch, dim]` and
 * `dSparse: [batch, numSparse·dim]` (both overwritten). `dvₖ = Σ_{m≠k} g(k,m) v_m`, plus the
 * pass-through gradient for the dense vector.
 *
 * @example
 * pairwiseDotsBackward(dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse);
 */
export function pairwiseDotsBackward(
  dense: Float32Array,
  sparse: Float32Array,
  dOut: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  dDense: Float32Array,
  dSparse: Float32Array,
): void {
  const n = numSparse + 1;
  const pairs = pairTable(n);
  if (dim === 16) {
    pairwiseDotsCalls.backward16++;
    backward16(dense, sparse, dOut, batch, numSparse, pairs, dDense, dSparse);
    return;
  }
  if (dim % 8 === 0) {
    pairwiseDotsCalls.backward8++;
    backward8(dense, sparse, dOut, batch, numSparse, dim, pairs, dDense, dSparse);
    return;
  }
  pairwiseDotsCalls.backwardAny++;
  backwardAny(dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse);
}

/** Any width: pair by pair, into float64 rows of every vector's gradient. */
function backwardAny(
  dense: Float32Array,
  sparse: Float32Array,
  dOut: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  dDense: Float32Array,
  dSparse: Float32Array,
): void {
  const n = numSparse + 1;
  const width = dim + pairCount(numSparse);
  const sw = numSparse * dim;
  const acc = new Float64Array(n * dim);
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    const db = b * dim;
    const sb = b * sw;
    for (let t = 0; t < dim; t++) acc[t] = dOut[row + t];
    acc.fill(0, dim);
    let p = row + dim;
    for (let i = 0; i < n; i++) {
      const x = i === 0 ? dense : sparse;
      const ox = i === 0 ? db : sb + (i - 1) * dim;
      const ai = i * dim;
      for (let j = i + 1; j < n; j++) {
        const g = dOut[p++];
        const oy = sb + (j - 1) * dim;
        const aj = j * dim;
        for (let t = 0; t < dim; t++) {
          acc[ai + t] += g * sparse[oy + t];
          acc[aj + t] += g * x[ox + t];
        }
      }
    }
    for (let t = 0; t < dim; t++) dDense[db + t] = acc[t];
    for (let t = 0; t < sw; t++) dSparse[sb + t] = acc[dim + t];
  }
}

/** Widths that are multiples of 8: each vector's gradient in blocks of 8 float64 sums. */
function backward8(
  dense: Float32Array,
  sparse: Float32Array,
  dOut: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  pairs: Int32Array,
  dDense: Float32Array,
  dSparse: Float32Array,
): void {
  const n = numSparse + 1;
  const width = dim + pairCount(numSparse);
  const sw = numSparse * dim;
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    const g0 = row + dim;
    const db = b * dim;
    const sb = b * sw;
    for (let k = 0; k < n; k++) {
      const target = k === 0 ? dDense : dSparse;
      const to = k === 0 ? db : sb + (k - 1) * dim;
      for (let c = 0; c < dim; c += 8) {
        let c0 = 0;
        let c1 = 0;
        let c2 = 0;
        let c3 = 0;
        let c4 = 0;
        let c5 = 0;
        let c6 = 0;
        let c7 = 0;
        if (k === 0) {
          const r = row + c;
          c0 = dOut[r];
          c1 = dOut[r + 1];
          c2 = dOut[r + 2];
          c3 = dOut[r + 3];
          c4 = dOut[r + 4];
          c5 = dOut[r + 5];
          c6 = dOut[r + 6];
          c7 = dOut[r + 7];
        } else {
          const g = dOut[g0 + pairs[k * n]];
          const o = db + c;
          c0 += g * dense[o];
          c1 += g * dense[o + 1];
          c2 += g * dense[o + 2];
          c3 += g * dense[o + 3];
          c4 += g * dense[o + 4];
          c5 += g * dense[o + 5];
          c6 += g * dense[o + 6];
          c7 += g * dense[o + 7];
        }
        for (let m = 1; m < n; m++) {
          if (m === k) continue;
          const g = dOut[g0 + pairs[k * n + m]];
          const o = sb + (m - 1) * dim + c;
          c0 += g * sparse[o];
          c1 += g * sparse[o + 1];
          c2 += g * sparse[o + 2];
          c3 += g * sparse[o + 3];
          c4 += g * sparse[o + 4];
          c5 += g * sparse[o + 5];
          c6 += g * sparse[o + 6];
          c7 += g * sparse[o + 7];
        }
        const t = to + c;
        target[t] = c0;
        target[t + 1] = c1;
        target[t + 2] = c2;
        target[t + 3] = c3;
        target[t + 4] = c4;
        target[t + 5] = c5;
        target[t + 6] = c6;
        target[t + 7] = c7;
      }
    }
  }
}

/** Width 16: each vector's gradient as 16 float64 sums held in locals. */
function backward16(
  dense: Float32Array,
  sparse: Float32Array,
  dOut: Float32Array,
  batch: number,
  numSparse: number,
  pairs: Int32Array,
  dDense: Float32Array,
  dSparse: Float32Array,
): void {
  const n = numSparse + 1;
  const width = 16 + pairCount(numSparse);
  const sw = numSparse * 16;
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    const g0 = row + 16;
    const db = b * 16;
    const sb = b * sw;
    for (let k = 0; k < n; k++) {
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      let c4 = 0;
      let c5 = 0;
      let c6 = 0;
      let c7 = 0;
      let c8 = 0;
      let c9 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      let c14 = 0;
      let c15 = 0;
      if (k === 0) {
        // The dense vector: its pass-through gradient comes first.
        c0 = dOut[row];
        c1 = dOut[row + 1];
        c2 = dOut[row + 2];
        c3 = dOut[row + 3];
        c4 = dOut[row + 4];
        c5 = dOut[row + 5];
        c6 = dOut[row + 6];
        c7 = dOut[row + 7];
        c8 = dOut[row + 8];
        c9 = dOut[row + 9];
        c10 = dOut[row + 10];
        c11 = dOut[row + 11];
        c12 = dOut[row + 12];
        c13 = dOut[row + 13];
        c14 = dOut[row + 14];
        c15 = dOut[row + 15];
      } else {
        // m = 0, the dense vector: g(k, 0)·dense.
        const g = dOut[g0 + pairs[k * n]];
        c0 += g * dense[db];
        c1 += g * dense[db + 1];
        c2 += g * dense[db + 2];
        c3 += g * dense[db + 3];
        c4 += g * dense[db + 4];
        c5 += g * dense[db + 5];
        c6 += g * dense[db + 6];
        c7 += g * dense[db + 7];
        c8 += g * dense[db + 8];
        c9 += g * dense[db + 9];
        c10 += g * dense[db + 10];
        c11 += g * dense[db + 11];
        c12 += g * dense[db + 12];
        c13 += g * dense[db + 13];
        c14 += g * dense[db + 14];
        c15 += g * dense[db + 15];
      }
      for (let m = 1; m < n; m++) {
        if (m === k) continue;
        const gm = dOut[g0 + pairs[k * n + m]];
        const o = sb + (m - 1) * 16;
        c0 += gm * sparse[o];
        c1 += gm * sparse[o + 1];
        c2 += gm * sparse[o + 2];
        c3 += gm * sparse[o + 3];
        c4 += gm * sparse[o + 4];
        c5 += gm * sparse[o + 5];
        c6 += gm * sparse[o + 6];
        c7 += gm * sparse[o + 7];
        c8 += gm * sparse[o + 8];
        c9 += gm * sparse[o + 9];
        c10 += gm * sparse[o + 10];
        c11 += gm * sparse[o + 11];
        c12 += gm * sparse[o + 12];
        c13 += gm * sparse[o + 13];
        c14 += gm * sparse[o + 14];
        c15 += gm * sparse[o + 15];
      }
      const target = k === 0 ? dDense : dSparse;
      const to = k === 0 ? db : sb + (k - 1) * 16;
      target[to] = c0;
      target[to + 1] = c1;
      target[to + 2] = c2;
      target[to + 3] = c3;
      target[to + 4] = c4;
      target[to + 5] = c5;
      target[to + 6] = c6;
      target[to + 7] = c7;
      target[to + 8] = c8;
      target[to + 9] = c9;
      target[to + 10] = c10;
      target[to + 11] = c11;
      target[to + 12] = c12;
      target[to + 13] = c13;
      target[to + 14] = c14;
      target[to + 15] = c15;
    }
  }
}
