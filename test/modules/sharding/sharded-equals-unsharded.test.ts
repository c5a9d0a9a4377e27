import { describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { EmbeddingBagCollection } from '../../../src/modules/embedding/embedding-bag-collection.ts';
import type { FusedOptimizerConfig } from '../../../src/modules/embedding/fused-optimizers.ts';
import { PositionWeightedModule } from '../../../src/modules/feature-processors/position-weighted.ts';
import type { ShardingPlan, ShardingType } from '../../../src/modules/sharding/plan.ts';
import { planSharding } from '../../../src/modules/sharding/planner.ts';
import { tableRowWiseShards } from '../../../src/modules/sharding/plan.ts';
import { ShardedEmbeddingBagCollection } from '../../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import { assembleStateDict } from '../../../src/modules/sharding/sharded-state.ts';
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
  { name: 't0', rows: 37, dim: 4, pooling: 'sum', features: ['a', 'b'] },
  { name: 't1', rows: 23, dim: 5, pooling: 'mean', features: ['c'] },
  { name: 't2', rows: 50, dim: 3, pooling: 'sum', features: ['d'] },
];
const MAX_LEN = 4;
const GLOBAL_B = 12;
const STEPS = 20;
const SEED = 1234;

type Mode = 'plain' | 'weighted' | 'position-weighted';

function plans(W: number): Record<string, ShardingPlan> {
  const all = (type: ShardingType) =>
    planSharding(TABLES, W, { prefer: Object.fromEntries(TABLES.map((t) => [t.name, type])) });
  return {
    'table-wise': planSharding(TABLES, W),
    'row-wise': all('row_wise'),
    'column-wise': all('column_wise'),
    mixed: planSharding(TABLES, W, { prefer: { t0: 'row_wise', t1: 'column_wise' } }),
    ...(W % 2 === 0
      ? {
          // hosts of 2 ranks: each table row-wise inside one host, tables spread over hosts
          'table-row-wise': {
            worldSize: W,
            tables: Object.fromEntries(
              TABLES.map((t, i) => [
                t.name,
                { type: 'row_wise' as const, shards: tableRowWiseShards(t, i % (W / 2), 2) },
              ]),
            ),
          },
        }
      : {}),
  };
}

function processors(mode: Mode): Record<string, PositionWeightedModule> | undefined {
  if (mode !== 'position-weighted') return undefined;
  // non-trivial start so the weights matter from step 0
  return {
    b: new PositionWeightedModule({
      maxLength: MAX_LEN,
      initial: Float32Array.from([1, 0.5, 1.5, 0.75]),
    }),
    c: new PositionWeightedModule({ maxLength: MAX_LEN }),
  };
}

/** The reference: one process, the concatenated batch, a mean loss over it. */
function runUnsharded(optimizer: FusedOptimizerConfig, mode: Mode) {
  const ebc = new EmbeddingBagCollection({
    tables: TABLES,
    seed: SEED,
    optimizer,
    featureProcessors: processors(mode),
  });
  const next = rng(99);
  const outputs: Float32Array[] = [];
  for (let s = 0; s < STEPS; s++) {
    const batch = randomBatch(next, TABLES, GLOBAL_B, MAX_LEN, mode === 'weighted');
    const target = Float32Array.from(
      { length: GLOBAL_B * ebc.layout.totalWidth },
      () => next() - 0.5,
    );
    const pooled = ebc.lookup(batch);
    outputs.push(pooled.values);
    ebc.backward(batch, quadraticGrad(pooled, target));
    ebc.step();
  }
  return { outputs, state: ebc.stateDict() };
}

async function runSharded(plan: ShardingPlan, optimizer: FusedOptimizerConfig, mode: Mode) {
  const W = plan.worldSize;
  const { groups, devices } = simCluster(W);
  const modules = groups.map(
    (pg, r) =>
      new ShardedEmbeddingBagCollection({
        tables: TABLES,
        plan,
        seed: SEED,
        optimizer,
        env: { rank: r, worldSize: W, pg, device: devices[r] },
        featureProcessors: processors(mode),
      }),
  );
  const next = rng(99);
  const outputs: Float32Array[] = [];
  const width = modules[0].outputWidth;
  const Bl = GLOBAL_B / W;
  for (let s = 0; s < STEPS; s++) {
    const batch = randomBatch(next, TABLES, GLOBAL_B, MAX_LEN, mode === 'weighted');
    const target = Float32Array.from({ length: GLOBAL_B * width }, () => next() - 0.5);
    const pooled = await forwardBackward(modules, splitBatch(batch, W), s, (p, r) =>
      quadraticGrad(p, target.subarray(r * Bl * width, (r + 1) * Bl * width)),
    );
    const global = new Float32Array(GLOBAL_B * width);
    pooled.forEach((p, r) => {
      expect(p.keys).toEqual(['a', 'b', 'c', 'd']);
      expect(p.batchSize).toBe(Bl);
      global.set(p.values, r * Bl * width);
    });
    outputs.push(global);
    await Promise.all(modules.map((m) => m.step()));
  }
  return { outputs, state: assembleStateDict(modules.map((m) => m.stateDict())), modules };
}

const OPTIMIZERS: Record<string, FusedOptimizerConfig> = {
  sgd: { kind: 'sgd', lr: 0.3 },
  adagrad: { kind: 'adagrad', lr: 0.05 },
};

describe.each(['plain', 'weighted', 'position-weighted'] as const)(
  'sharded == unsharded (%s)',
  (mode) => {
    describe.each(Object.keys(OPTIMIZERS))('%s', (opt) => {
      const reference = runUnsharded(OPTIMIZERS[opt], mode);
      for (const W of [1, 2, 3, 4]) {
        for (const [planName, plan] of Object.entries(plans(W))) {
          it(`${planName}, world ${W}: same pooled outputs every step and same parameters after ${STEPS} steps`, async () => {
            const got = await runSharded(plan, OPTIMIZERS[opt], mode);
            for (let s = 0; s < STEPS; s++)
              expect(
                maxRelDiff(got.outputs[s], reference.outputs[s]),
                `step ${s} pooled`,
              ).toBeLessThan(1e-5);
            for (const t of TABLES)
              expect(
                maxRelDiff(got.state.tables[t.name], reference.state.tables[t.name]),
                `table ${t.name}`,
              ).toBeLessThan(1e-5);
            if (opt === 'adagrad') {
              for (const t of TABLES)
                expect(
                  maxRelDiff(
                    got.state.optimizer[t.name].momentum!,
                    reference.state.optimizer[t.name].momentum!,
                    1e-6,
                  ),
                  `momentum ${t.name}`,
                ).toBeLessThan(1e-5);
            }
            for (const f of Object.keys(reference.state.featureProcessors)) {
              expect(
                maxRelDiff(got.state.featureProcessors[f], reference.state.featureProcessors[f]),
                `processor ${f}`,
              ).toBeLessThan(1e-5);
            }
            // training actually moved the parameters
            expect(
              maxRelDiff(
                got.state.tables.t0,
                new EmbeddingBagCollection({ tables: TABLES, seed: SEED }).tableWeights('t0'),
              ),
            ).toBeGreaterThan(1e-2);
          });
        }
      }
    });
  },
);
