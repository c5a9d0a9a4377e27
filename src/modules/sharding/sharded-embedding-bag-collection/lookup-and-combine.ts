/**
 * The pooled rows of a sharded collection on the wire: the lookup of this rank's slots
 * into the output dist's send buffer, where each (source rank, slot) block sits in it,
 * the combine of the received blocks into `[sample][pooled column]` rows, and the columns
 * of the pooled gradient each slot's owner needs. Module-level functions of what one rank
 * holds ({@link RankShards}); the collection calls them inside its device ops.
 *
 * @example
 * const at = sourceSlotOffsets(held, recv, (slot) => slot.shard.colEnd - slot.shard.colStart);
 * const send = localLookup(held, sendPool, recv, effectiveWeights(held, recv), size, false);
 * const pooled = combineOutputs(held, local, received);
 */
import type { PooledOutput } from '../../../protocol/index.ts';
import type { KeyedJaggedTensor } from '../../../tensors/keyed-jagged-tensor.ts';
import { pooledLookup } from '../../embedding/kernels.ts';
import type { ReceivedInput } from '../received-input.ts';
import type { SendBufferPool } from '../send-buffer-pool.ts';
import type { Slot } from '../shard-layout.ts';
import { usesWorldOneLayout, worldOneLayout } from '../world-one-layout.ts';
import type { RankShards } from './types.ts';

/** The columns of the pooled gradient sent for one slot. */
export interface SlotGradCols {
  /** First logical column of the gradient sent for the slot. */
  start: number;
  width: number;
}

export function sumInts(a: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Pooled columns the slots hold (the widths of their blocks). */
export function slotWidthSum(slots: readonly Slot[]): number {
  let w = 0;
  for (const s of slots) w += s.shard.colEnd - s.shard.colStart;
  return w;
}

/** Columns of the pooled gradient a slot's owner needs: its own, or the whole row for row-wise statistics. */
export function gradCols(held: RankShards, slot: Slot): SlotGradCols {
  const shard = slot.shard;
  if (held.needsFullRowGrad) return { start: 0, width: slot.table.dim };
  return { start: shard.colStart, width: shard.colEnd - shard.colStart };
}

/** Gradient columns the slots' owners need, summed. */
export function gradWidthSum(held: RankShards, slots: readonly Slot[]): number {
  let w = 0;
  for (const s of slots) w += gradCols(held, s).width;
  return w;
}

/** Whether this rank's pooled rows and gradients cross the all-to-all in the dense layout (world-one-layout.ts). */
export function denseWireLayout(held: RankShards): boolean {
  return usesWorldOneLayout(
    held.worldSize,
    held.mySlots,
    gradWidthSum(held, held.mySlots),
    held.shardLayout.pooled.totalWidth,
  );
}

/**
 * Per-id weights of the received ids: for slots with a feature processor the received
 * weights are positions, turned into weights with the processor's current parameters.
 */
export function effectiveWeights(held: RankShards, recv: ReceivedInput): Float32Array | undefined {
  const fps = held.featureProcessors;
  const received = recv.kjt.weights;
  if (!fps || !received) return received;
  const out = received.slice();
  const N = recv.kjt.stride;
  const offsets = recv.kjt.offsets();
  held.mySlots.forEach((slot, s) => {
    const fp = fps[slot.feature];
    if (!fp) return;
    for (let i = offsets[s * N]; i < offsets[(s + 1) * N]; i++) out[i] = fp.weightAt(received[i]);
  });
  return out;
}

/**
 * `at[j][s]`: where slot `s`'s block for source rank `j` starts in a buffer laid out as
 * the output dist sends it (and the gradient dist receives it): source-major, then slot,
 * then the source's samples × `widthOf(slot)`.
 */
export function sourceSlotOffsets(
  held: RankShards,
  recv: ReceivedInput,
  widthOf: (slot: Slot) => number,
): number[][] {
  const at: number[][] = [];
  let p = 0;
  for (let j = 0; j < held.worldSize; j++) {
    const n = recv.sourceBagStart[j + 1] - recv.sourceBagStart[j];
    at.push(
      held.mySlots.map((slot) => {
        const start = p;
        p += n * widthOf(slot);
        return start;
      }),
    );
  }
  return at;
}

/**
 * Pooled lookups of my slots, written straight into the output dist's send buffer of
 * `size` floats (taken from `sendPool`): for each source rank (rank order), each slot's
 * pooled rows of that rank's samples; or, with `dense` (see world-one-layout.ts), in
 * `[sample][pooled column]`.
 */
export function localLookup(
  held: RankShards,
  sendPool: SendBufferPool,
  recv: ReceivedInput,
  weights: Float32Array | undefined,
  size: number,
  dense: boolean,
): Float32Array {
  const N = recv.kjt.stride;
  const offsets = recv.kjt.offsets();
  const send = sendPool.take(size);
  const { offsetPerKey, totalWidth } = held.shardLayout.pooled;
  if (dense) worldOneLayout.lookups++;
  const at = sourceSlotOffsets(held, recv, (slot) => slot.shard.colEnd - slot.shard.colStart);
  held.mySlots.forEach((slot, s) => {
    const shard = held.shards.get(slot.table.name)!;
    const w = shard.block.colEnd - shard.block.colStart;
    // cached tables: the rows were acquired by this batch's fill op (prefetch)
    const view = shard.lookupSlice(recv.kjt.values, offsets[s * N], offsets[(s + 1) * N]);
    for (let j = 0; j < held.worldSize; j++) {
      const b0 = recv.sourceBagStart[j];
      const n = recv.sourceBagStart[j + 1] - b0;
      if (n === 0) continue;
      pooledLookup({
        table: view.table,
        bags: {
          values: view.values,
          offsets,
          bagStart: s * N + b0,
          nBags: n,
          weights,
          feature: slot.feature,
        },
        pooling: slot.type === 'row_wise' ? 'sum' : slot.table.pooling,
        ...(dense
          ? // [sample][pooled column]: the feature's columns of each sample's row
            {
              out: send,
              outStride: totalWidth,
              outColOffset: offsetPerKey[slot.key] + slot.shard.colStart,
              outRowOffset: b0,
            }
          : { out: send.subarray(at[j][s], at[j][s] + n * w), outStride: w, outColOffset: 0 }),
      });
    }
  });
  return send;
}

/**
 * The received blocks of the output dist (every rank's slots, rank order, each a
 * `[B_local, width]` block) placed into fresh `[sample][pooled column]` rows: table- and
 * column-wise blocks copied, row-wise partial sums added in rank order, row-wise mean
 * pooling divided by the whole bag's length.
 */
export function combineOutputs(
  held: RankShards,
  local: KeyedJaggedTensor,
  got: Float32Array,
): PooledOutput {
  const B = local.stride;
  const layout = held.shardLayout.pooled;
  const { keys, lengthPerKey, offsetPerKey, totalWidth } = layout;
  const values = new Float32Array(B * totalWidth);
  let p = 0;
  for (const slots of held.shardLayout.slotsByRank) {
    for (const slot of slots) {
      const w = slot.shard.colEnd - slot.shard.colStart;
      const col = offsetPerKey[slot.key] + slot.shard.colStart;
      if (slot.type === 'row_wise') {
        for (let b = 0; b < B; b++)
          for (let c = 0; c < w; c++) values[b * totalWidth + col + c] += got[p++];
      } else {
        // a plain copy: a subarray view per sample (B × tables of them) cost more than the copy
        for (let b = 0; b < B; b++) {
          const o = b * totalWidth + col;
          for (let c = 0; c < w; c++) values[o + c] = got[p + c];
          p += w;
        }
      }
    }
  }
  // row-wise mean: divide the reduced sums by the whole bag's length
  layout.keys.forEach((f, key) => {
    const table = held.tables[layout.tableOfKey[key]];
    if (held.shardLayout.typeOfKey[key] !== 'row_wise' || table.pooling !== 'mean') return;
    const k = local.keys.indexOf(f);
    for (let b = 0; b < B; b++) {
      const n = local.lengths[k * B + b];
      if (n === 0) continue;
      const o = b * totalWidth + offsetPerKey[key];
      for (let c = 0; c < table.dim; c++) values[o + c] = values[o + c] / n;
    }
  });
  return { keys, lengthPerKey, batchSize: B, values };
}
