/**
 * Eval mode runs forward only; amp emulates bfloat16 at the sparse/dense boundary; no
 * tensor leaks per iteration.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import { roundToBfloat16 } from '../../src/modules/amp.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

describe('modes', () => {
  it('eval (model.training = false): forward only, parameters unchanged', async () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config);
    const r = ranks[0];
    r.model.eval();
    const before = allParams(r);
    const rec = new EventRecorder().attach(r.pipeline.events$);
    const losses: number[] = [];
    for await (const o of r.pipeline.run(localBatches(syntheticFor(config), 16, 4, 0, 1)))
      losses.push(o.loss);
    expect(losses).toHaveLength(4);
    expect(rec.ofType('forward.end')).toHaveLength(4);
    expect(rec.ofType('backward.start')).toHaveLength(0);
    expect(rec.ofType('optimizer.step')).toHaveLength(0);
    const after = allParams(r);
    for (const [n, v] of Object.entries(before))
      expect(Array.from(after[n])).toEqual(Array.from(v));
  });

  it('amp: bfloat16 rounding changes the numbers slightly but training still works', async () => {
    expect(
      Array.from(roundToBfloat16(Float32Array.of(1.00390625, 1.01171875, -2.5, Infinity))),
    ).toEqual([1, 1.015625, -2.5, Infinity]);
    expect(Number.isNaN(roundToBfloat16(Float32Array.of(NaN))[0])).toBe(true);
    const config = tinyConfig();
    const run = async (amp: boolean) => {
      const { ranks } = buildCluster('sparseDist', 1, config, { amp });
      const losses: number[] = [];
      for await (const o of ranks[0].pipeline.run(localBatches(syntheticFor(config), 16, 4, 0, 1)))
        losses.push(o.loss);
      return losses;
    };
    const fp32 = await run(false);
    const bf16 = await run(true);
    expect(bf16).not.toEqual(fp32);
    for (let i = 0; i < 4; i++) expect(Math.abs(bf16[i] - fp32[i])).toBeLessThan(0.05);
  });

  it('no tensor leaks: tf.memory().numTensors is flat over 200 training iterations', async () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config, { gradAccum: 2, gradScaling: true });
    const p = ranks[0].pipeline;
    const iter = localBatches(syntheticFor(config), 8, 210, 0, 1).values();
    for (let i = 0; i < 10; i++) await p.progress(iter);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) await p.progress(iter);
    expect(tf.memory().numTensors).toBe(start);
  });
});
