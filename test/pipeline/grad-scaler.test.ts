/**
 * GradScaler through the pipeline: an injected inf gradient skips exactly that step and
 * halves the scale; the parameters are untouched by the skipped step; training goes on.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import type { GradScaler } from '../../src/optim/grad-scaler.ts';
import type { Batch } from '../../src/tensors/index.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

describe('dynamic loss scaling', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: inf at batch 3 → that step skipped on every rank, scale halved, training continues`, async () => {
      const config = tinyConfig();
      const { ranks } = buildCluster('sparseDist', worldSize, config, { gradScaling: true });
      // Poison rank 0's loss at batch 3 (inf gradients); the ranks must agree to skip.
      const model = ranks[0].model;
      const forward = model.forward.bind(model);
      let calls = 0;
      model.forward = (batch: Batch) => {
        const out = forward(batch);
        // call 0 is the model rewrite's trace; calls 1.. are batches 0..
        if (calls++ === 4) {
          const poisoned = tf.mul(out.losses, Infinity) as tf.Scalar;
          out.losses.dispose();
          return { losses: poisoned, output: out.output };
        }
        return out;
      };
      const recs = ranks.map((r) => new EventRecorder().attach(r.pipeline.events$));
      const data = syntheticFor(config);
      const snapshots: Array<Record<string, Float32Array>[]> = ranks.map(() => []);
      await Promise.all(
        ranks.map(async (r, rank) => {
          for await (const o of r.pipeline.run(localBatches(data, 16, 6, rank, worldSize))) {
            snapshots[rank][o.batch] = allParams(r);
          }
        }),
      );
      for (let rank = 0; rank < worldSize; rank++) {
        const skipped = recs[rank].ofType('optimizer.skipped');
        expect(skipped.map((e) => e.batch)).toEqual([3]);
        expect(skipped[0].scale).toBe(2 ** 15);
        expect(recs[rank].ofType('optimizer.step').map((e) => e.batch)).toEqual([0, 1, 2, 4, 5]);
        const scaler = ranks[rank].pipeline.gradScaler as GradScaler;
        expect(scaler.scale).toBe(2 ** 15);
        // batch 3's step was skipped: parameters after it equal those after batch 2
        for (const [name, v] of Object.entries(snapshots[rank][2])) {
          expect(Array.from(snapshots[rank][3][name]), name).toEqual(Array.from(v));
        }
        for (const v of Object.values(snapshots[rank][5]))
          expect(v.every(Number.isFinite)).toBe(true);
      }
    });
  }
});
