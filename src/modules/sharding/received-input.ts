/**
 * Owner side of the input dist: turn what every source rank sent (each in its own
 * slot-major order) into one jagged batch of this rank's slots × all samples, samples
 * ordered [source rank][local sample] — i.e. exactly the order of the global batch
 * formed by concatenating the ranks' local batches. Lookups and row-gradient sums therefore
 * visit ids in the same order as the unsharded module on the concatenated batch.
 *
 * @example
 * const recv = assembleReceivedInput(mySlots, batchSizes, lengths, values, weights);
 * recv.kjt.keys;          // my slots' features
 * recv.kjt.stride;        // Σ batchSizes
 */
import { KeyedJaggedTensor } from '../../tensors/keyed-jagged-tensor.ts';
import type { Slot } from './shard-layout.ts';

export interface ReceivedInput {
  /** Keys = this rank's slot features (layout order), stride = Σ source batch sizes. */
  kjt: KeyedJaggedTensor;
  /** First sample of each source rank (length W + 1). */
  sourceBagStart: number[];
  /** `valueStart[s][j]`: first position in `kjt.values` of slot `s`'s ids from source `j` (length W + 1 per slot). */
  valueStart: number[][];
}

/**
 * Reorder received lengths / values / weights (concatenated over sources in rank order,
 * each source's block in slot-major order) into a {@link ReceivedInput}. With one source
 * the arrays are already in order and become the batch's own (no copy): pass arrays the
 * caller owns, as the all-to-all's results are.
 *
 * @example
 * assembleReceivedInput(layout.slotsByRank[rank], Int32Array.from([2, 2]), lengths, values, undefined);
 */
export function assembleReceivedInput(
  slots: readonly Slot[],
  batchSizes: Int32Array,
  lengths: Int32Array,
  values: Int32Array,
  weights: Float32Array | undefined,
): ReceivedInput {
  const W = batchSizes.length;
  const S = slots.length;
  const sourceBagStart = [0];
  for (let j = 0; j < W; j++) sourceBagStart.push(sourceBagStart[j] + batchSizes[j]);
  const N = sourceBagStart[W];
  if (lengths.length !== S * N)
    throw new Error(
      `sharded embedding input dist: received ${lengths.length} lengths, expected ${S} slots × ${N} samples`,
    );

  // where each (source, slot) block starts in the received buffers
  const srcLen: number[][] = []; // [j][s] position in `lengths`
  const srcVal: number[][] = []; // [j][s] position in `values`, plus end
  let lp = 0;
  let vp = 0;
  for (let j = 0; j < W; j++) {
    const ls: number[] = [];
    const vs: number[] = [];
    for (let s = 0; s < S; s++) {
      ls.push(lp);
      vs.push(vp);
      for (let b = 0; b < batchSizes[j]; b++) vp += lengths[lp++];
    }
    vs.push(vp);
    srcLen.push(ls);
    srcVal.push(vs);
  }
  if (vp !== values.length)
    throw new Error(
      `sharded embedding input dist: lengths sum to ${vp} but ${values.length} ids arrived`,
    );

  // One source: its blocks are already in slot order, so the received arrays (this rank's
  // own, fresh from the all-to-all) are used as they are.
  const inPlace = W === 1;
  const outLengths = inPlace ? lengths : new Int32Array(S * N);
  const outValues = inPlace ? values : new Int32Array(values.length);
  const outWeights = weights && !inPlace ? new Float32Array(values.length) : weights;
  const valueStart: number[][] = [];
  let op = 0;
  for (let s = 0; s < S; s++) {
    const starts: number[] = [];
    for (let j = 0; j < W; j++) {
      starts.push(op);
      const a = srcVal[j][s];
      const e = srcVal[j][s + 1];
      if (!inPlace) {
        outLengths.set(
          lengths.subarray(srcLen[j][s], srcLen[j][s] + batchSizes[j]),
          s * N + sourceBagStart[j],
        );
        outValues.set(values.subarray(a, e), op);
        if (outWeights) outWeights.set(weights!.subarray(a, e), op);
      }
      op += e - a;
    }
    starts.push(op);
    valueStart.push(starts);
  }
  const kjt = new KeyedJaggedTensor({
    keys: slots.map((s) => s.feature),
    values: outValues,
    lengths: outLengths,
    weights: outWeights,
    stride: N,
  });
  return { kjt, sourceBagStart, valueStart };
}
