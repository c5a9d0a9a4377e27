/**
 * Evaluation metrics of binary click prediction: mean log-loss and ROC AUC.
 *
 * @example
 * logLoss(Float64Array.of(0.9, 0.2), Float32Array.of(1, 0)); // ≈ 0.164
 * rocAuc(Float64Array.of(0.9, 0.2), Float32Array.of(1, 0));   // 1
 */

/** Mean binary cross-entropy of probabilities `p` against labels (clamped away from 0 and 1). */
export function logLoss(p: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (p.length !== labels.length)
    throw new RangeError(`logLoss: ${p.length} predictions for ${labels.length} labels`);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i]));
    sum -= labels[i] * Math.log(q) + (1 - labels[i]) * Math.log(1 - q);
  }
  return p.length === 0 ? NaN : sum / p.length;
}

/** Mean BCE of logits (numerically stable), for model outputs. */
export function logLossOfLogits(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (logits.length !== labels.length)
    throw new RangeError(`logLossOfLogits: ${logits.length} logits for ${labels.length} labels`);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i];
    sum += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return logits.length === 0 ? NaN : sum / logits.length;
}

/** Area under the ROC curve (ties get half credit); NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (n !== labels.length) throw new RangeError(`rocAuc: ${n} scores for ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] > 0.5) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
