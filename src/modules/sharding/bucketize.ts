/**
 * Sender side of the input dist: split the local batch into one message per destination
 * rank. For destination `d` and each of its slots (in layout order) the message holds the
 * slot's `B_local` bag lengths, then (in a separate buffer) the slot's ids and weights:
 * all ids for table-wise and column-wise shards, only the shard's rows for row-wise ones.
 *
 * Ids are sent as global row ids (the owner subtracts its `rowStart`).
 *
 * @example
 * const msg = bucketizeInput(kjt, layout, { weighted: false });
 * await pg.allToAllV(msg.values, msg.valueCounts, recvValueCounts);
 */
import type { KeyedJaggedTensor } from '../../tensors/keyed-jagged-tensor.ts';
import { slotTakesId, type ShardLayout } from './shard-layout.ts';

export interface BucketizedInput {
  /** Bag lengths, by destination then slot then sample. */
  lengths: Int32Array;
  lengthCounts: Int32Array;
  values: Int32Array;
  valueCounts: Int32Array;
  /** Per-id weights aligned with `values` (present when `weighted`; 1 where the batch had none). */
  weights: Float32Array | undefined;
  /** `slotValueStart[d][s]`: first position in `values` of slot `s` of destination `d` (one extra entry per `d` = end). */
  slotValueStart: number[][];
}

/**
 * Bucketize the local batch `kjt` (must contain every feature of the layout; extra keys are
 * ignored). Throws, naming the feature, sample and table, on an id outside `[0, rows)`.
 *
 * @example
 * bucketizeInput(kjt, buildShardLayout(tables, plan), { weighted: true });
 */
export function bucketizeInput(
  kjt: KeyedJaggedTensor,
  layout: ShardLayout,
  opts: { weighted: boolean },
): BucketizedInput {
  const B = kjt.stride;
  const W = layout.slotsByRank.length;
  const offsets = kjt.offsets();
  const keyIndex = new Map<string, number>();
  for (const f of layout.pooled.keys) {
    const k = kjt.keys.indexOf(f);
    if (k < 0)
      throw new Error(
        `sharded embedding input: the batch has no key '${f}' (keys: ${kjt.keys.join(', ') || 'none'})`,
      );
    keyIndex.set(f, k);
  }
  // range check once per feature, before anything is sent: one pass over the feature's ids
  // (contiguous in the batch), the sample found only to name it in the error
  const ids = kjt.values;
  layout.pooled.keys.forEach((f, key) => {
    const k = keyIndex.get(f)!;
    const table = layout.slotsByRank.flat().find((s) => s.key === key)!.table;
    const rows = table.rows;
    const end = offsets[(k + 1) * B];
    for (let i = offsets[k * B]; i < end; i++) {
      const id = ids[i];
      if (id < 0 || id >= rows) {
        let b = 0;
        while (offsets[k * B + b + 1] <= i) b++;
        throw new RangeError(
          `sharded embedding input: feature '${f}' sample ${b} has id ${id} outside table '${table.name}' rows [0, ${rows})`,
        );
      }
    }
  });

  const lengthCounts = new Int32Array(W);
  const valueCounts = new Int32Array(W);
  let nValues = 0;
  for (let d = 0; d < W; d++) {
    for (const slot of layout.slotsByRank[d]) {
      lengthCounts[d] += B;
      const k = keyIndex.get(slot.feature)!;
      if (slot.type !== 'row_wise') valueCounts[d] += offsets[(k + 1) * B] - offsets[k * B];
      else
        for (let i = offsets[k * B]; i < offsets[(k + 1) * B]; i++)
          if (slotTakesId(slot, kjt.values[i])) valueCounts[d]++;
    }
    nValues += valueCounts[d];
  }

  const lengths = new Int32Array(lengthCounts.reduce((a, c) => a + c, 0));
  const values = new Int32Array(nValues);
  const weights = opts.weighted ? new Float32Array(nValues) : undefined;
  const slotValueStart: number[][] = [];
  let lp = 0;
  let vp = 0;
  for (let d = 0; d < W; d++) {
    const starts: number[] = [];
    for (const slot of layout.slotsByRank[d]) {
      starts.push(vp);
      const k = keyIndex.get(slot.feature)!;
      if (slot.type !== 'row_wise') {
        // the slot takes every id of the feature: its bags as they are, in bulk copies
        const from = offsets[k * B];
        const to = offsets[(k + 1) * B];
        lengths.set(kjt.lengths.subarray(k * B, (k + 1) * B), lp);
        lp += B;
        values.set(kjt.values.subarray(from, to), vp);
        if (weights) {
          if (kjt.weights) weights.set(kjt.weights.subarray(from, to), vp);
          else weights.fill(1, vp, vp + to - from);
        }
        vp += to - from;
        continue;
      }
      for (let b = 0; b < B; b++) {
        const before = vp;
        for (let i = offsets[k * B + b]; i < offsets[k * B + b + 1]; i++) {
          const id = kjt.values[i];
          if (!slotTakesId(slot, id)) continue;
          values[vp] = id;
          if (weights) weights[vp] = kjt.weights ? kjt.weights[i] : 1;
          vp++;
        }
        lengths[lp++] = vp - before;
      }
    }
    starts.push(vp);
    slotValueStart.push(starts);
  }
  return { lengths, lengthCounts, values, valueCounts, weights, slotValueStart };
}
