/**
 * One rank, dense wire layout (world-one-layout.ts) against the general layout: the same
 * pooled outputs and trained weights bit for bit — table-wise and column-wise plans, SGD
 * and row-wise Adagrad, plain, weighted and position-weighted features, a cached table —
 * and counters showing which runs took it (row-wise slots do not).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import type { FusedOptimizerConfig } from '../../../src/modules/embedding/fused-optimizers.ts';
import { PositionWeightedModule } from '../../../src/modules/feature-processors/position-weighted.ts';
import type { ShardingType } from '../../../src/modules/sharding/plan.ts';
import { planSharding } from '../../../src/modules/sharding/planner.ts';
import { ShardedEmbeddingBagCollection } from '../../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import { assembleStateDict } from '../../../src/modules/sharding/sharded-state.ts';
import { worldOneLayout } from '../../../src/modules/sharding/world-one-layout.ts';
import { forwardBackward, quadraticGrad, randomBatch, rng, simCluster } from './sim-cluster.ts';

afterEach(() => {
  worldOneLayout.enabled = true;
});

type Mode = 'plain' | 'weighted' | 'position-weighted';

const tables = (cached: boolean): EmbeddingBagConfig[] => [
  { name: 'u', rows: 40, dim: 16, pooling: 'sum', features: ['a', 'b'] },
  { name: 'v', rows: 30, dim: 6, pooling: 'mean', features: ['c'] },
  {
    name: 'w',
    rows: 50,
    dim: 8,
    pooling: 'sum',
    features: ['d'],
    ...(cached ? { cache: { fraction: 0.3 } } : {}),
  },
];

function bits(a: ArrayLike<number>): string {
  return Buffer.from(Float64Array.from(a).buffer).toString('hex');
}

async function train(
  type: ShardingType | 'auto',
  optimizer: FusedOptimizerConfig,
  mode: Mode,
  cached: boolean,
) {
  const T = tables(cached);
  const prefer =
    type === 'auto' ? undefined : Object.fromEntries(T.map((t) => [t.name, type] as const));
  const plan = planSharding(T, 1, { prefer });
  const { groups, devices } = simCluster(1);
  const ebc = new ShardedEmbeddingBagCollection({
    tables: T,
    plan,
    seed: 9,
    optimizer,
    env: { rank: 0, worldSize: 1, pg: groups[0], device: devices[0] },
    featureProcessors:
      mode === 'position-weighted'
        ? {
            b: new PositionWeightedModule({
              maxLength: 5,
              initial: Float32Array.from([1, 0.5, 1.5, 0.75, 2]),
            }),
          }
        : undefined,
  });
  const next = rng(17);
  const outputs: string[] = [];
  for (let s = 0; s < 5; s++) {
    const batch = randomBatch(next, T, 6, 5, mode === 'weighted');
    const target = Float32Array.from({ length: 6 * ebc.outputWidth }, () => next() - 0.5);
    const [pooled] = await forwardBackward([ebc], [batch], s, (p) => quadraticGrad(p, target));
    expect(pooled.values.length).toBe(6 * ebc.outputWidth);
    outputs.push(bits(pooled.values));
    await ebc.step();
  }
  const state = assembleStateDict([ebc.stateDict()]);
  ebc.close();
  return {
    outputs,
    state: JSON.stringify(state, (_, v) => (ArrayBuffer.isView(v) ? bits(v as Float32Array) : v)),
  };
}

const CASES: Array<[ShardingType | 'auto', FusedOptimizerConfig, boolean]> = [
  // [plan, optimizer, takes the dense layout]
  ['auto', { kind: 'sgd', lr: 0.2 }, true],
  ['auto', { kind: 'adagrad', lr: 0.1 }, true],
  ['column_wise', { kind: 'sgd', lr: 0.2 }, true],
  ['column_wise', { kind: 'adagrad', lr: 0.1 }, true], // one rank: one column block per table
  ['row_wise', { kind: 'sgd', lr: 0.2 }, false],
];

describe('world 1: dense wire layout == general layout, bitwise', () => {
  for (const [type, optimizer, takes] of CASES) {
    for (const cached of [false, true]) {
      it(`${type}, ${optimizer.kind}${cached ? ', a cached table' : ''}: plain, weighted, position-weighted`, async () => {
        for (const mode of ['plain', 'weighted', 'position-weighted'] as const) {
          const before = { ...worldOneLayout };
          const fast = await train(type, optimizer, mode, cached);
          expect(worldOneLayout.lookups - before.lookups).toBe(takes ? 5 : 0);
          expect(worldOneLayout.backwards - before.backwards).toBe(takes ? 5 : 0);
          worldOneLayout.enabled = false;
          const general = await train(type, optimizer, mode, cached);
          worldOneLayout.enabled = true;
          expect(fast).toEqual(general);
        }
      });
    }
  }
});
