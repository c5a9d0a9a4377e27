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
 * matMuls. The loops read the inputs where they are (no per-example copy), and widths
 * that are multiples of 8 have their backward in blocks of 8; every width gives the same
 * bits as the plain loops in that order. On the wasm backend the interaction runs the
 * WebAssembly SIMD loops of `pairwise-dots-wasm.ts` (same bits); these loops serve the
 * other backends and widths.
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

/** How often each loop ran, by width (backward in blocks of 8, or any): tests read it. */
export const pairwiseDotsCalls = {
  forwardAny: 0,
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
