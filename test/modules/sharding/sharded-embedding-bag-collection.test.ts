import { describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { EmbeddingBagCollection } from '../../../src/modules/embedding/embedding-bag-collection.ts';
import type { FusedOptimizerConfig } from '../../../src/modules/embedding/fused-optimizers.ts';
import { withForwardScope } from '../../../src/modules/forward-scope.ts';
import type { ShardingPlan } from '../../../src/modules/sharding/plan.ts';
import { planSharding } from '../../../src/modules/sharding/planner.ts';
import { ShardedEmbeddingBagCollection } from '../../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import {
  assembleStateDict,
  assembleTables,
  combineParamsSummaries,
} from '../../../src/modules/sharding/sharded-state.ts';
import { KeyedJaggedTensor } from '../../../src/tensors/keyed-jagged-tensor.ts';
import { CombinedOptimizer } from '../../../src/optim/combined-optimizer.ts';
import type { OpCost, StreamName } from '../../../src/protocol/index.ts';
import {
  forwardBackward,
  maxRelDiff,
  quadraticGrad,
  randomBatch,
  rng,
  simCluster,
  splitBatch,
} from './sim-cluster.ts';

const TABLES: EmbeddingBagConfig[] = [
  { name: 'big', rows: 64, dim: 4, pooling: 'mean', features: ['x', 'y'] },
  { name: 'wide', rows: 30, dim: 6, pooling: 'sum', features: ['z'] },
  { name: 'small', rows: 12, dim: 2, pooling: 'sum', features: ['w'] },
];
const MIXED = (W: number) =>
  planSharding(TABLES, W, { prefer: { big: 'row_wise', wide: 'column_wise' } });

function build(
  plan: ShardingPlan,
  optimizer: FusedOptimizerConfig,
  extra: { gradReduction?: 'mean' | 'sum' } = {},
) {
  const W = plan.worldSize;
  const cluster = simCluster(W);
  const modules = cluster.groups.map(
    (pg, r) =>
      new ShardedEmbeddingBagCollection({
        tables: TABLES,
        plan,
        seed: 5,
        optimizer,
        env: { rank: r, worldSize: W, pg, device: cluster.devices[r] },
        ...extra,
      }),
  );
  return { ...cluster, modules };
}

describe('ShardedEmbeddingBagCollection', () => {
  for (const optimizer of [
    { kind: 'sgd', lr: 0.5 },
    { kind: 'adagrad', lr: 0.05 },
  ] as const) {
    it(`${optimizer.kind}: A=4 micro-batches of 32 on 2 ranks train like one unsharded batch of 128`, async () => {
      const ref = new EmbeddingBagCollection({ tables: TABLES, seed: 5, optimizer });
      const { modules } = build(MIXED(2), optimizer);
      const next = rng(77);
      const width = ref.layout.totalWidth;
      for (let step = 0; step < 4; step++) {
        const batch = randomBatch(next, TABLES, 128, 4, true);
        const target = Float32Array.from({ length: 128 * width }, () => next() - 0.5);
        ref.backward(batch, quadraticGrad(ref.lookup(batch), target));
        ref.step();
        modules.forEach((m) => m.zeroGrad());
        for (let a = 0; a < 4; a++) {
          const micro = batch.sliceSamples(a * 32, (a + 1) * 32);
          const t = target.subarray(a * 32 * width, (a + 1) * 32 * width);
          await forwardBackward(modules, splitBatch(micro, 2), step * 4 + a, (p, r) =>
            quadraticGrad(p, t.subarray(r * 16 * width, (r + 1) * 16 * width), 1 / 4),
          );
        }
        await Promise.all(modules.map((m) => m.step()));
      }
      const tables = assembleTables(modules);
      for (const tb of TABLES)
        expect(maxRelDiff(tables[tb.name], ref.tableWeights(tb.name)), tb.name).toBeLessThan(1e-5);
    });
  }

  it("gradReduction 'sum' with uneven local batches equals the unsharded module on the concatenated batch", async () => {
    const optimizer = { kind: 'adagrad', lr: 0.05 } as const;
    const ref = new EmbeddingBagCollection({ tables: TABLES, seed: 5, optimizer });
    const { modules } = build(MIXED(3), optimizer, { gradReduction: 'sum' });
    const next = rng(8);
    const sizes = [5, 2, 4];
    const N = 11;
    const width = ref.layout.totalWidth;
    for (let step = 0; step < 5; step++) {
      const batch = randomBatch(next, TABLES, N, 3, false);
      const target = Float32Array.from({ length: N * width }, () => next() - 0.5);
      const refOut = ref.lookup(batch);
      ref.backward(batch, quadraticGrad(refOut, target));
      ref.step();
      const starts = [0, 5, 7, 11];
      const locals = sizes.map((_, r) => batch.sliceSamples(starts[r], starts[r + 1]));
      // global mean loss: every rank scales by its share
      const pooled = await forwardBackward(modules, locals, step, (p, r) =>
        quadraticGrad(
          p,
          target.subarray(starts[r] * width, starts[r + 1] * width),
          p.batchSize / N,
        ),
      );
      pooled.forEach((p, r) =>
        expect(
          maxRelDiff(p.values, refOut.values.subarray(starts[r] * width, starts[r + 1] * width)),
        ).toBeLessThan(1e-5),
      );
      await Promise.all(modules.map((m) => m.step()));
    }
    const tables = assembleTables(modules);
    for (const tb of TABLES)
      expect(maxRelDiff(tables[tb.name], ref.tableWeights(tb.name)), tb.name).toBeLessThan(1e-5);
  });

  it('issues the input dist on dataDist (splits, then data) and compute / output dist / backward on default', async () => {
    const { modules, devices } = build(MIXED(2), { kind: 'sgd', lr: 0.1 });
    const seen: Array<[StreamName, OpCost['kind']]> = [];
    const dev = devices[0];
    const run = dev.run.bind(dev);
    dev.run = ((stream, cost, fn, options) => {
      seen.push([stream, cost.kind]);
      return run(stream, cost, fn, options);
    }) as typeof dev.run;
    const next = rng(1);
    const locals = splitBatch(randomBatch(next, TABLES, 4, 2, false), 2);
    const outputDist: boolean[] = [];
    await Promise.all(
      modules.map(async (m, r) => {
        const ctx = m.createContext(0);
        const splits = m.inputDist(ctx, locals[r]);
        const data = await splits.wait();
        expect(await splits.wait()).toBe(data); // idempotent
        await data.wait();
        const out = await m.computeAndOutputDist(ctx, {
          onOutputDist: () => outputDist.push(true),
        });
        await m.backward(ctx, new Float32Array(out.values.length));
        await expect(m.backward(ctx, new Float32Array(out.values.length))).rejects.toThrow(
          /backward for batch 0 before computeAndOutputDist/,
        );
      }),
    );
    expect(outputDist).toEqual([true, true]);
    expect(seen).toEqual([
      ['dataDist', 'distSplits'],
      ['dataDist', 'distData'],
      ['default', 'lookup'], // timed by flops or `lookup=`, not by the pipeline's fwd stage cost
      ['default', 'outputDist'],
      ['default', 'collective'],
      ['default', 'other'], // row-gradient scatter
    ]);
  });

  it('forward resolves through the pipeline scope', () => {
    const { modules } = build(MIXED(1), { kind: 'sgd', lr: 0.1 });
    const kjt = randomBatch(rng(2), TABLES, 2, 2, false);
    const sentinel = {} as never;
    const got = withForwardScope(
      {
        resolve: (m, input) =>
          m === modules[0] && input === kjt ? sentinel : (undefined as never),
      },
      () => modules[0].forward(kjt),
    );
    expect(got).toBe(sentinel);
    expect(() => modules[0].forward(kjt)).toThrow(/outside a pipeline/);
    expect(modules[0].outputWidth).toBe(4 + 4 + 6 + 2);
  });

  it('state: assembled logical state equals the unsharded one, loads into another plan and world size, and resumes exactly', async () => {
    const optimizer = { kind: 'adagrad', lr: 0.05 } as const;
    const a = build(MIXED(3), optimizer);
    const next = rng(4);
    const batches = Array.from({ length: 6 }, () => ({
      batch: randomBatch(next, TABLES, 6, 3, false),
      target: Float32Array.from({ length: 6 * 16 }, () => next() - 0.5),
    }));
    const train = async (mods: ShardedEmbeddingBagCollection[], from: number, to: number) => {
      const W = mods.length;
      const Bl = 6 / W;
      for (let s = from; s < to; s++) {
        const { batch, target } = batches[s];
        await forwardBackward(mods, splitBatch(batch, W), s, (p, r) =>
          quadraticGrad(p, target.subarray(r * Bl * 16, (r + 1) * Bl * 16)),
        );
        await Promise.all(mods.map((m) => m.step()));
      }
    };
    await train(a.modules, 0, 3);
    const checkpoint = assembleStateDict(a.modules.map((m) => m.stateDict()));
    await train(a.modules, 3, 6);
    const uninterrupted = assembleStateDict(a.modules.map((m) => m.stateDict()));

    // resume on 2 ranks, table-wise plan, from the logical checkpoint
    const b = build(planSharding(TABLES, 2), optimizer);
    b.modules.forEach((m) => m.loadStateDict(checkpoint));
    expect(assembleStateDict(b.modules.map((m) => m.stateDict()))).toEqual(checkpoint);
    await train(b.modules, 3, 6);
    const resumed = assembleStateDict(b.modules.map((m) => m.stateDict()));
    for (const tb of TABLES) {
      expect(maxRelDiff(resumed.tables[tb.name], uninterrupted.tables[tb.name])).toBeLessThan(1e-5);
      expect(
        maxRelDiff(
          resumed.optimizer[tb.name].momentum!,
          uninterrupted.optimizer[tb.name].momentum!,
          1e-6,
        ),
      ).toBeLessThan(1e-5);
    }
    // same plan: per-rank sharded state loads back bitwise
    const c = build(MIXED(3), optimizer);
    c.modules.forEach((m, r) => m.loadStateDict(a.modules[r].stateDict()));
    expect(assembleTables(c.modules)).toEqual(assembleTables(a.modules));
    expect(() => b.modules[0].loadStateDict(a.modules[0].stateDict())).toThrow(/no shard of table/);

    // summaries: names and shapes do not depend on the plan; values match the logical tables
    const summary = await Promise.all(a.modules.map((m) => m.paramsSummary()));
    const local = combineParamsSummaries(a.modules.map((m) => m.paramsSummaryPartial()));
    const ref = new EmbeddingBagCollection({ tables: TABLES, seed: 5, optimizer });
    ref.loadStateDict(uninterrupted);
    const want = ref.paramsSummary();
    expect(Object.keys(summary[0])).toEqual(Object.keys(want));
    for (const name of Object.keys(want)) {
      expect(summary[0][name].shape).toEqual(want[name].shape);
      expect(summary[1][name]).toEqual(summary[0][name]);
      expect(Math.abs(summary[0][name].l2 - want[name].l2)).toBeLessThan(1e-5 * want[name].l2);
      expect(Math.abs(local[name].sum - want[name].sum)).toBeLessThan(1e-6);
    }
  });

  it('serves as a sparse part of a CombinedOptimizer (step, zeroGrad, non-finite check, state)', async () => {
    const { modules } = build(MIXED(2), { kind: 'adagrad', lr: 0.1 });
    const combined = modules.map((m) => new CombinedOptimizer({ sparse: { ebc: m.optimizer } }));
    const locals = splitBatch(randomBatch(rng(6), TABLES, 4, 3, false), 2);
    const before = assembleTables(modules);
    await forwardBackward(modules, locals, 0, (p) => new Float32Array(p.values.length).fill(NaN));
    expect(modules.some((m) => m.optimizer.hasNonFiniteGrads())).toBe(true);
    await Promise.all(combined.map((c) => c.zeroGrad()));
    expect(modules.some((m) => m.optimizer.hasNonFiniteGrads())).toBe(false);
    await Promise.all(combined.map((c) => c.step(1)));
    expect(assembleTables(modules)).toEqual(before);
    await forwardBackward(modules, locals, 1, (p) => new Float32Array(p.values.length).fill(0.5));
    await Promise.all(combined.map((c) => c.step(1)));
    expect(assembleTables(modules)).not.toEqual(before);
    const saved = modules[1].optimizer.exportState();
    expect(saved.kind).toBe('sharded-ebc');
    modules[1].optimizer.importState(saved);
  });

  it('checks its construction and its input', async () => {
    const { groups, devices } = simCluster(2);
    const plan = MIXED(2);
    expect(
      () =>
        new ShardedEmbeddingBagCollection({
          tables: TABLES,
          plan,
          seed: 1,
          optimizer: { kind: 'sgd', lr: 1 },
          env: { rank: 1, worldSize: 2, pg: groups[0], device: devices[0] },
        }),
    ).toThrow(/env.rank 1 differs from pg.rank 0/);
    expect(
      () =>
        new ShardedEmbeddingBagCollection({
          tables: TABLES,
          plan: MIXED(3),
          seed: 1,
          optimizer: { kind: 'sgd', lr: 1 },
          env: { rank: 0, worldSize: 2, pg: groups[0], device: devices[0] },
        }),
    ).toThrow(/plan.worldSize 3 must agree/);
    const m = new ShardedEmbeddingBagCollection({
      tables: TABLES,
      plan,
      seed: 1,
      optimizer: { kind: 'sgd', lr: 1 },
      env: { rank: 0, worldSize: 2, pg: groups[0], device: devices[0] },
    });
    const bad = new KeyedJaggedTensor({
      keys: ['x', 'y', 'z'],
      lengths: Int32Array.from([0, 0, 0]),
      values: new Int32Array(0),
    });
    expect(() => m.inputDist(m.createContext(3), bad)).toThrow(/no key 'w'/);
    const ctx = m.createContext(4);
    await expect(m.computeAndOutputDist(ctx)).rejects.toThrow(
      /computeAndOutputDist for batch 4 before its input dist completed/,
    );
  });
});
