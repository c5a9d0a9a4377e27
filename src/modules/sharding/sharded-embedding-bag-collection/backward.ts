/**
 * The backward pass of a sharded collection: pooled gradients travel to the shard owners
 * (an all-to-all on the default stream), which scatter-add them into their shards'
 * gradient accumulators and, for features with a processor, turn d loss / d weight into
 * the processor's gradient at each id's position.
 *
 * ```
 * backward(gradOutput)
 *   └─ allToAllV pooled gradients to shard owners   default stream (kind 'collective')
 *   └─ scatter-add row gradients (accumulate)       default stream (kind 'other', by flops)
 *   └─ with feature processors: d loss / d weight → processor gradient at the id's position
 * ```
 *
 * @example
 * await backward(held, device, pg, sendPool, ctx, gradOfPooled); // ctx.state.stage === 'done'
 */
import type { Device, ProcessGroup } from '../../../protocol/index.ts';
import { accumulateIdWeightGrad, accumulatePooledGrad } from '../../embedding/kernels.ts';
import type { SendBufferPool } from '../send-buffer-pool.ts';
import { worldOneLayout } from '../world-one-layout.ts';
import { releaseCachedRows } from './cached-rows.ts';
import {
  denseWireLayout,
  gradCols,
  gradWidthSum,
  sourceSlotOffsets,
  sumInts,
} from './lookup-and-combine.ts';
import type { RankShards, ShardedEbcContext } from './types.ts';

/**
 * Scatter `gradOutput` (`[sample][pooled column]`, as the forward returned the pooled rows)
 * of batch `ctx` into the gradient accumulators of `held`'s shards, sending through `pg`
 * on `device`'s default stream; moves `ctx` to stage `done` and unpins its cached rows.
 * `gradOutput` is read until the returned promise settles (at world 1 it is sent as it
 * is): do not write it before.
 */
export async function backward(
  held: RankShards,
  device: Device,
  pg: ProcessGroup,
  sendPool: SendBufferPool,
  ctx: ShardedEbcContext,
  gradOutput: Float32Array,
): Promise<void> {
  const computed = ctx.state;
  if (computed.stage !== 'computed') {
    throw new Error(
      `${held.name}: backward for batch ${ctx.batch} before computeAndOutputDist (stage '${computed.stage}')`,
    );
  }
  const { local, received: recv, batchSizes, weights } = computed;
  const B = local.stride;
  const { offsetPerKey, totalWidth } = held.shardLayout.pooled;
  if (gradOutput.length !== B * totalWidth) {
    throw new Error(
      `${held.name}: backward for batch ${ctx.batch} got ${gradOutput.length} gradient values, expected ${B} samples × ${totalWidth}`,
    );
  }
  const label = `${held.name} b${ctx.batch}`;
  // 1. pooled gradients to the shard owners
  const sendCounts = Int32Array.from(
    held.shardLayout.slotsByRank,
    (slots) => B * gradWidthSum(held, slots),
  );
  const recvCounts = batchSizes.map((b) => b * gradWidthSum(held, held.mySlots));
  const dense = denseWireLayout(held);
  // one rank, dense layout: the output gradient goes as it is (donated below: neither this
  // backward nor its caller writes it while the backward is pending)
  const send = dense ? gradOutput : sendPool.take(sumInts(sendCounts));
  let p = 0;
  const localLengths = local.lengths;
  for (const slots of dense ? [] : held.shardLayout.slotsByRank) {
    for (const slot of slots) {
      const { start, width } = gradCols(held, slot);
      const col = offsetPerKey[slot.key] + start;
      const meanRw = slot.type === 'row_wise' && slot.table.pooling === 'mean';
      const k = local.keys.indexOf(slot.feature);
      for (let b = 0; b < B; b++) {
        const n = meanRw ? localLengths[k * B + b] : 1;
        const f = n > 0 ? 1 / n : 0;
        const g = b * totalWidth + col;
        if (meanRw) for (let c = 0; c < width; c++) send[p++] = gradOutput[g + c] * f;
        else for (let c = 0; c < width; c++) send[p++] = gradOutput[g + c];
      }
    }
  }
  const got = await device.run(
    'default',
    { kind: 'collective', bytes: 4 * send.length, label: `${label} grad dist` },
    () =>
      pg.allToAllV(send, sendCounts, recvCounts, {
        label: `${label} grad dist`,
        donate: true,
      }),
  );
  // 2. scatter-add into the local shards' accumulators (and per-id weight gradients),
  //    straight from the received buffer: slot by slot, each source's samples in rank
  //    order (the order of the concatenated batch)
  const N = recv.kjt.stride;
  const at = sourceSlotOffsets(held, recv, (slot) => gradCols(held, slot).width);
  if (dense) worldOneLayout.backwards++;
  const fps = held.featureProcessors;
  const weightGrad = fps ? new Float32Array(recv.kjt.values.length) : undefined;
  await device.run(
    'default',
    {
      kind: 'other',
      flops: 2 * recv.kjt.values.length * Math.max(1, gradWidthSum(held, held.mySlots)),
      label: `${label} scatter`,
    },
    () => {
      const offsets = recv.kjt.offsets();
      held.mySlots.forEach((slot, s) => {
        const shard = held.shards.get(slot.table.name)!;
        const cols = gradCols(held, slot);
        const pooling = slot.type === 'row_wise' ? 'sum' : slot.table.pooling;
        const processed = weightGrad !== undefined && fps![slot.feature] !== undefined;
        const view = processed
          ? shard.lookupSlice(recv.kjt.values, offsets[s * N], offsets[(s + 1) * N])
          : undefined;
        for (let j = 0; j < held.worldSize; j++) {
          const b0 = recv.sourceBagStart[j];
          const n = recv.sourceBagStart[j + 1] - b0;
          if (n === 0) continue;
          const bags = {
            values: recv.kjt.values,
            offsets,
            bagStart: s * N + b0,
            nBags: n,
            weights,
            feature: slot.feature,
          };
          // the slot's gradient columns: a [samples, cols.width] block of the received
          // buffer, or (dense layout) columns of the [sample][pooled column] rows
          const grad = dense ? got : got.subarray(at[j][s], at[j][s] + n * cols.width);
          const gradStride = dense ? totalWidth : cols.width;
          const col0 = (dense ? offsetPerKey[slot.key] + cols.start : 0) - cols.start;
          const gradRowOffset = dense ? b0 : 0;
          accumulatePooledGrad(
            {
              table: shard.gradSlice,
              bags,
              pooling,
              grad,
              gradStride,
              gradColOffset: col0 + shard.gradColStart,
              gradRowOffset,
            },
            shard.grad,
          );
          if (view)
            accumulateIdWeightGrad({
              table: view.table,
              bags: { ...bags, values: view.values },
              pooling,
              grad,
              gradStride,
              gradColOffset: col0 + slot.shard.colStart,
              gradRowOffset,
              out: weightGrad!,
            });
        }
      });
    },
  );
  // 3. per-id weight gradients → processor gradients, at the positions that travelled with the ids
  if (weightGrad) {
    const positions = recv.kjt.weights!;
    const offsets = recv.kjt.offsets();
    held.mySlots.forEach((slot, s) => {
      const fp = fps![slot.feature];
      if (!fp) return;
      for (let i = offsets[s * N]; i < offsets[(s + 1) * N]; i++)
        fp.accumulateAt(positions[i], weightGrad[i]);
    });
  }
  // our own send (not the caller's gradient): scattered, nothing refers to it any more
  if (!dense) sendPool.giveBack(send);
  ctx.state = { stage: 'done' };
  // Cached tables: the rows now hold gradients, which keeps them resident until the step.
  releaseCachedRows(held, ctx);
}
