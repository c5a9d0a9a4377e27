/**
 * The pairwise dot interaction as it was first written (a per-example copy of the n vectors,
 * then plain loops): the reference the fast loops of `src/modules/dense/pairwise-dots.ts`
 * must equal bit for bit. Test code only.
 */
/** `(F+1)F/2`: the number of pairs `i < j` among `F+1` vectors. */
function pairCount(numSparse: number): number {
  return ((numSparse + 1) * numSparse) / 2;
}

/** Copy example `b`'s n = F+1 vectors (dense first) into `v: [n·dim]`. */
function stackExample(
  dense: Float32Array,
  sparse: Float32Array,
  b: number,
  numSparse: number,
  dim: number,
  v: Float32Array,
): void {
  const d0 = b * dim;
  for (let t = 0; t < dim; t++) v[t] = dense[d0 + t];
  const s0 = b * numSparse * dim;
  const w = numSparse * dim;
  for (let t = 0; t < w; t++) v[dim + t] = sparse[s0 + t];
}

/**
 * Forward: `out[b] = [dense[b], ⟨vᵢ, vⱼ⟩ (i < j)]`, `out: [batch, dim + pairCount(numSparse)]`.
 *
 * @example
 * pairwiseDotsForward(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2, out); // out = [1, 2, 11]
 */
export function referenceDotsForward(
  dense: Float32Array,
  sparse: Float32Array,
  batch: number,
  numSparse: number,
  dim: number,
  out: Float32Array,
): void {
  const n = numSparse + 1;
  const width = dim + pairCount(numSparse);
  const v = new Float32Array(n * dim);
  for (let b = 0; b < batch; b++) {
    stackExample(dense, sparse, b, numSparse, dim, v);
    const row = b * width;
    for (let t = 0; t < dim; t++) out[row + t] = v[t];
    let p = row + dim;
    for (let i = 0; i < n; i++) {
      const oi = i * dim;
      for (let j = i + 1; j < n; j++) {
        const oj = j * dim;
        let s = 0;
        for (let t = 0; t < dim; t++) s += v[oi + t] * v[oj + t];
        out[p++] = s;
      }
    }
  }
}

/**
 * Backward: from `dOut: [batch, dim + pairs]` to `dDense: [batch, dim]` and
 * `dSparse: [batch, numSparse·dim]` (both overwritten). `dvᵢ = Σⱼ g(i,j) vⱼ`, plus the
 * pass-through gradient for the dense vector.
 *
 * @example
 * pairwiseDotsBackward(dense, sparse, dOut, batch, numSparse, dim, dDense, dSparse);
 */
export function referenceDotsBackward(
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
  const acc = new Float64Array(n * dim);
  const v = new Float32Array(n * dim);
  for (let b = 0; b < batch; b++) {
    stackExample(dense, sparse, b, numSparse, dim, v);
    const row = b * width;
    for (let t = 0; t < dim; t++) acc[t] = dOut[row + t];
    acc.fill(0, dim);
    let p = row + dim;
    for (let i = 0; i < n; i++) {
      const oi = i * dim;
      for (let j = i + 1; j < n; j++) {
        const g = dOut[p++];
        const oj = j * dim;
        for (let t = 0; t < dim; t++) {
          acc[oi + t] += g * v[oj + t];
          acc[oj + t] += g * v[oi + t];
        }
      }
    }
    for (let t = 0; t < dim; t++) dDense[b * dim + t] = acc[t];
    const base = b * numSparse * dim;
    for (let t = dim; t < n * dim; t++) dSparse[base + t - dim] = acc[t];
  }
}
