/**
 * The command's policy for a diverged run (docs/reliability.md "Non-finite values"): the
 * first batch whose loss is NaN or ±Infinity stops training with one line naming the batch,
 * the loss and the first non-finite parameter (dense layers in model order, then embedding
 * shards), and the command exits 1 without writing a summary or a checkpoint. (A library
 * user with `gradScaling` on gets the loss scaler's skip-and-halve instead; the command has
 * no loss scaling.)
 *
 * @example
 * checkFiniteLoss(NaN, 7, rank); // throws NonFiniteError: batch 7: the loss is NaN; first non-finite parameter: …
 */
import type { Module } from '../modules/module.ts';
import type { ShardedEmbeddingBagCollection } from '../modules/sharding/sharded-embedding-bag-collection.ts';
import { firstNonFinite } from '../checkpoint/checkpoint-integrity.ts';

export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
}

/** The rank's parameters, named like the checkpoint's rank state. */
export interface ParameterSource {
  model: Module;
  ebc: ShardedEmbeddingBagCollection;
}

/** The first non-finite parameter of a rank (`dense.bottom.layers.0.weight[12] is NaN`), or undefined. */
export function firstNonFiniteParameter(rank: ParameterSource): string | undefined {
  for (const [name, v] of rank.model.namedParameters()) {
    const bad = firstNonFinite(v.dataSync() as Float32Array, `dense ${name}`);
    if (bad) return bad;
  }
  for (const shard of rank.ebc.stateDict().shards) {
    const bad = firstNonFinite(
      shard.weights,
      `table ${shard.table} shard ${shard.rowStart}-${shard.rowEnd} weights`,
    );
    if (bad) return bad;
  }
  return undefined;
}

/** Throws {@link NonFiniteError} unless `loss` is finite. */
export function checkFiniteLoss(loss: number, batch: number, rank: ParameterSource): void {
  if (Number.isFinite(loss)) return;
  const bad = firstNonFiniteParameter(rank);
  throw new NonFiniteError(
    `batch ${batch}: the loss is ${loss}; ${bad ? `first non-finite parameter: ${bad}` : 'every parameter is still finite'}; training stopped (a smaller --lr may help)`,
  );
}
