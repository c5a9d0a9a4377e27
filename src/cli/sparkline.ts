/**
 * A loss curve in one line of text: the values are averaged into at most `width` buckets
 * (in order) and each bucket drawn as one of eight block heights between the curve's
 * minimum and maximum. A spike shows as a lone tall block; a flat curve as a row of the
 * lowest block.
 *
 * @example
 * sparkline([0.7, 280, 1.7, 0.8, 0.6]); // '▁█▁▁▁'
 * sparkline([4, 3, 2, 1]);              // '█▆▃▁'
 */
const BLOCKS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[], width = 60): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const buckets = bucketMeans(values, width);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return buckets
    .map((v) => {
      if (!Number.isFinite(v)) return '×';
      if (hi === lo) return BLOCKS[0];
      return BLOCKS[Math.min(7, Math.round(((v - lo) / (hi - lo)) * 7))];
    })
    .join('');
}

/**
 * `values` averaged into at most `width` consecutive buckets of (nearly) equal size; a
 * bucket holding a non-finite value is NaN.
 *
 * @example
 * bucketMeans([1, 2, 3, 4], 2); // [1.5, 3.5]
 */
export function bucketMeans(values: readonly number[], width: number): number[] {
  const n = Math.min(values.length, Math.max(1, width));
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    const from = Math.floor((b * values.length) / n);
    const to = Math.floor(((b + 1) * values.length) / n);
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i];
    out.push(sum / (to - from));
  }
  return out;
}
