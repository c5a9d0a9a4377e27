/**
 * The shapes-only model (src/testing/shapes-only.ts) and the sweep helpers of the schedule
 * benches: the pipeline trains it end to end at world 1 and 2, its output has the real
 * collection's shape, no tensor leaks, and the actor pipeline and the direct port reach the
 * analytic iteration times the P1 / P2 benches compare against.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { buildShapesOnlyRank, shapesOnlyBatches } from '../../src/testing/shapes-only.ts';
import { TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import { runSim } from '../../bench/lib/sim-run.ts';
import { costSweep, directPortModelOf, iterationBoundOf } from '../../bench/lib/cost-sweep.ts';
import { useWasm } from '../pipeline/fixtures.ts';

beforeAll(useWasm);

describe('shapes-only model', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: trains every batch, outputs [B, 1], leaks no tensor`, async () => {
      const cluster = createSimCluster({ worldSize });
      const before = tf.memory().numTensors;
      const outs = await Promise.all(
        cluster.pgs.map(async (pg, rank) => {
          const r = buildShapesOnlyRank({
            pg,
            distPg: cluster.distPgs[rank],
            device: cluster.devices[rank],
            features: 4,
            dim: 8,
          });
          expect(r.ebc.outputWidth).toBe(32);
          const p = new TrainPipelineSparseDist({
            model: r.model,
            optimizer: r.optimizer,
            device: cluster.devices[rank],
            pg,
          });
          const got: Array<{ batch: number; n: number }> = [];
          for await (const o of p.run(
            shapesOnlyBatches({ features: 4, batchSize: 6, idsPerFeature: 2, count: 5 }),
          ))
            got.push({ batch: o.batch, n: o.output.length });
          p.dispose();
          r.model.dispose();
          return got;
        }),
      );
      for (const got of outs)
        expect(got).toEqual([0, 1, 2, 3, 4].map((batch) => ({ batch, n: 6 })));
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("dense 'none' runs no tfjs: every batch trained, zero pooled gradients of the right size reach the module, no tensor made", async () => {
    const cluster = createSimCluster({ worldSize: 2 });
    const ranks = cluster.pgs.map((pg, rank) => {
      const r = buildShapesOnlyRank({
        pg,
        distPg: cluster.distPgs[rank],
        device: cluster.devices[rank],
        features: 4,
        dim: 8,
        dense: 'none',
      });
      const grads: number[] = [];
      const backward = r.ebc.backward.bind(r.ebc);
      r.ebc.backward = (ctx, grad) => {
        grads.push(grad.length);
        return backward(ctx, grad);
      };
      return {
        r,
        grads,
        pipeline: new TrainPipelineSparseDist({
          model: r.model,
          optimizer: r.optimizer,
          device: cluster.devices[rank],
          pg,
        }),
      };
    });
    const before = tf.memory().numTensors;
    const outs = await Promise.all(
      ranks.map(async ({ pipeline }) => {
        const got: Array<{ batch: number; n: number; loss: number }> = [];
        for await (const o of pipeline.run(
          shapesOnlyBatches({ features: 4, batchSize: 6, idsPerFeature: 2, count: 4 }),
        ))
          got.push({ batch: o.batch, n: o.output.length, loss: o.loss });
        return got;
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
    for (const { r, grads, pipeline } of ranks) {
      expect(r.model.shapesOnlyDense).toBe(true);
      expect(grads).toEqual([6 * 32, 6 * 32, 6 * 32, 6 * 32]);
      pipeline.dispose();
      r.model.dispose();
    }
    for (const got of outs)
      expect(got).toEqual([0, 1, 2, 3].map((batch) => ({ batch, n: 6, loss: 0 })));
  });

  it('rejects a batch whose keys differ from its features, naming both', async () => {
    const cluster = createSimCluster({ worldSize: 1 });
    const r = buildShapesOnlyRank({
      pg: cluster.pgs[0],
      device: cluster.devices[0],
      features: 3,
      dim: 2,
    });
    const [batch] = shapesOnlyBatches({ features: 2, batchSize: 2, idsPerFeature: 1, count: 1 });
    expect(() => r.ebc.inputDist(r.ebc.createContext(0), batch.sparse)).toThrow(
      /keys \[f0, f1\], expected \[f0, f1, f2\]/,
    );
    r.model.dispose();
  });
});

describe('schedule bench helpers', () => {
  it('the sweep has ≥ 50 deterministic cost models covering every adversarial category', () => {
    const a = costSweep();
    expect(a.length).toBeGreaterThanOrEqual(50);
    expect(costSweep()).toEqual(a);
    for (const c of [
      'dist dominant',
      'copy dominant',
      'compute dominant',
      'splits > forward',
      'tiny',
    ] as const)
      expect(a.some((x) => x.category === c)).toBe(true);
  });

  it('actor pipeline reaches the bound and the direct port its analytic time (splits > fwd case)', async () => {
    const c = costSweep({ random: 0 }).find((x) => x.name === 'splits 4× forward')!;
    const actor = await runSim({
      runner: 'actor',
      model: 'shapes',
      dense: 'constant',
      worldSize: 2,
      costs: c.costs,
      batches: 10,
      coalesce: true,
    });
    const direct = await runSim({
      runner: 'direct',
      model: 'shapes',
      dense: 'constant',
      worldSize: 2,
      costs: c.costs,
      batches: 10,
      coalesce: true,
    });
    expect(actor.iterationMs).toBeCloseTo(iterationBoundOf(c), 3);
    expect(direct.iterationMs).toBeCloseTo(directPortModelOf(c), 3);
  });
});
