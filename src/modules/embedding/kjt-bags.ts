/**
 * Views of one key of a `KeyedJaggedTensor` as kernel {@link Bags}, with the checks every
 * embedding module needs (key present, lengths consistent with values and stride).
 *
 * @example
 * const bags = featureBags(kjt, 'item'); // { values, offsets, bagStart, nBags, weights, feature }
 */
import type { KeyedJaggedTensor } from '../../tensors/keyed-jagged-tensor.ts';
import type { Bags } from './kernels.ts';

/**
 * Throws when `kjt`'s lengths, values, weights and stride disagree, or a length is negative.
 *
 * @example
 * checkJaggedShape(kjt, 'EmbeddingBagCollection.lookup');
 */
export function checkJaggedShape(kjt: KeyedJaggedTensor, where: string): void {
  if (kjt.lengths.length !== kjt.keys.length * kjt.stride) {
    throw new Error(
      `${where}: lengths has ${kjt.lengths.length} entries, expected keys (${kjt.keys.length}) × stride (${kjt.stride})`,
    );
  }
  let total = 0;
  for (let i = 0; i < kjt.lengths.length; i++) {
    const n = kjt.lengths[i];
    if (n < 0)
      throw new Error(
        `${where}: key '${kjt.keys[Math.floor(i / kjt.stride)]}' sample ${i % kjt.stride} has negative length ${n}`,
      );
    total += n;
  }
  if (total !== kjt.values.length)
    throw new Error(`${where}: lengths sum to ${total} but there are ${kjt.values.length} values`);
  if (kjt.weights && kjt.weights.length !== kjt.values.length) {
    throw new Error(`${where}: ${kjt.weights.length} weights for ${kjt.values.length} values`);
  }
}

/**
 * The bags of key `feature` (throws naming the feature when the key is missing).
 *
 * @example
 * pooledLookup({ table, bags: featureBags(kjt, 'user'), pooling: 'sum', out, outStride, outColOffset: 0 });
 */
export function featureBags(
  kjt: KeyedJaggedTensor,
  feature: string,
  where = 'embedding lookup',
): Bags {
  const k = kjt.keys.indexOf(feature);
  if (k < 0)
    throw new Error(
      `${where}: the batch has no key '${feature}' (keys: ${kjt.keys.join(', ') || 'none'})`,
    );
  return {
    values: kjt.values,
    offsets: kjt.offsets(),
    bagStart: k * kjt.stride,
    nBags: kjt.stride,
    weights: kjt.weights,
    feature,
  };
}
