/**
 * Held-out metrics from logits and 0/1 labels: mean log-loss (binary cross-entropy with
 * logits, computed stably in float64) and ROC AUC by ranking (the Mann–Whitney statistic,
 * tied scores sharing their average rank).
 *
 * @example
 * logLossFromLogits(Float32Array.of(0), Float32Array.of(1)); // 0.693…
 * aucByRanking(Float32Array.of(0.1, 0.9), Float32Array.of(0, 1)); // 1
 */

/**
 * Mean of `−[y·log σ(z) + (1−y)·log(1−σ(z))]`.
 *
 * @example
 * logLossFromLogits(logits, labels);
 */
export function logLossFromLogits(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (logits.length !== labels.length) throw new RangeError(`logLossFromLogits: ${logits.length} logits for ${labels.length} labels`);
  if (logits.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i];
    // softplus(z) − y·z, stable for large |z|
    sum += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return sum / logits.length;
}

/**
 * Area under the ROC curve; NaN when only one class is present.
 *
 * @example
 * aucByRanking([0.2, 0.2, 0.7], [0, 1, 1]); // 0.75
 */
export function aucByRanking(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (n !== labels.length) throw new RangeError(`aucByRanking: ${n} scores for ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSumPositives = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] > 0.5) {
        positives++;
        rankSumPositives += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}
