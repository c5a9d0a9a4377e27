/**
 * Build one rank's DLRM (sharded embedding collection + dense replica) and its optimizer —
 * the model the CLI trains and the harness simulates. Every rank gets the same initial
 * parameters (seeded), its own table shards, and a dense optimizer whose gradients are
 * averaged over the process group once per step.
 *
 * @example
 * const { model, optimizer } = buildDlrmRank({ pg, device, config: smallDlrmConfig() });
 */
import type { Device, ProcessGroup } from '../protocol/index.ts';
import type { EmbeddingBagConfig } from '../modules/embedding/config.ts';
import type { FeatureProcessorMap } from '../modules/feature-processors/feature-processor.ts';
import { planSharding } from '../modules/sharding/planner.ts';
import type { ShardingPlan } from '../modules/sharding/plan.ts';
import { ShardedEmbeddingBagCollection } from '../modules/sharding/sharded-embedding-bag-collection.ts';
import { DLRM } from '../modules/dlrm.ts';
import { Adagrad, SGD } from '../optim/dense-optimizer.ts';
import { CombinedOptimizer } from '../optim/combined-optimizer.ts';
import type { BatchSpec } from '../tensors/index.ts';

export interface DlrmConfig {
  denseIn: number;
  bottom: readonly number[];
  top: readonly number[];
  embeddingDim: number;
  tables: readonly EmbeddingBagConfig[];
  optimizer: 'sgd' | 'adagrad';
  lr: number;
  seed: number;
}

/** A small DLRM for tests and the default CLI run: 4 tables × 1000 rows × dim 8. */
export function smallDlrmConfig(overrides: Partial<DlrmConfig> = {}): DlrmConfig {
  const embeddingDim = overrides.embeddingDim ?? 8;
  return {
    denseIn: 13,
    bottom: [32, embeddingDim],
    top: [32, 1],
    embeddingDim,
    tables: [0, 1, 2, 3].map((i) => ({
      name: `t${i}`,
      rows: 1000,
      dim: embeddingDim,
      pooling: 'sum' as const,
      features: [`f${i}`],
    })),
    optimizer: 'sgd',
    lr: 0.05,
    seed: 1,
    ...overrides,
  };
}

/** The reference DLRM of docs/design.md "Performance targets": 8 tables × 100,000 rows × dim 16, MLPs 512-256-16 / 512-256-1. */
export function referenceDlrmConfig(overrides: Partial<DlrmConfig> = {}): DlrmConfig {
  return {
    denseIn: 13,
    bottom: [512, 256, 16],
    top: [512, 256, 1],
    embeddingDim: 16,
    tables: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({
      name: `t${i}`,
      rows: 100_000,
      dim: 16,
      pooling: 'sum' as const,
      features: [`f${i}`],
    })),
    optimizer: 'sgd',
    lr: 0.05,
    seed: 1,
    ...overrides,
  };
}

/** Feature names of a config, in table order. */
export function featureNames(config: DlrmConfig): string[] {
  return config.tables.flatMap((t) => [...t.features]);
}

/** The validation spec of batches for a config. */
export function batchSpecFor(config: DlrmConfig): BatchSpec {
  const rowsPerKey: Record<string, number> = {};
  for (const t of config.tables) for (const f of t.features) rowsPerKey[f] = t.rows;
  return { denseDim: config.denseIn, keys: featureNames(config), rowsPerKey };
}

export interface DlrmRank {
  model: DLRM;
  ebc: ShardedEmbeddingBagCollection;
  optimizer: CombinedOptimizer;
  dense: SGD | Adagrad;
  plan: ShardingPlan;
}

export function buildDlrmRank(options: {
  pg: ProcessGroup;
  /** Channel for the input dist (default: pg; pipelines need a separate one when worldSize > 1). */
  distPg?: ProcessGroup;
  device: Device;
  config: DlrmConfig;
  plan?: ShardingPlan;
  featureProcessors?: FeatureProcessorMap;
}): DlrmRank {
  const { pg, device, config } = options;
  const plan = options.plan ?? planSharding(config.tables, pg.worldSize);
  const ebc = new ShardedEmbeddingBagCollection({
    tables: config.tables,
    plan,
    env: { rank: pg.rank, worldSize: pg.worldSize, pg, distPg: options.distPg, device },
    optimizer:
      config.optimizer === 'adagrad'
        ? { kind: 'adagrad', lr: config.lr }
        : { kind: 'sgd', lr: config.lr },
    seed: config.seed,
    featureProcessors: options.featureProcessors,
    name: 'sparseArch',
  });
  const model = new DLRM({
    denseIn: config.denseIn,
    bottom: config.bottom,
    top: config.top,
    sparseArch: ebc,
    featureNames: featureNames(config),
    embeddingDim: config.embeddingDim,
    seed: config.seed,
  });
  const allReduce =
    pg.worldSize > 1
      ? (flat: Float32Array) => pg.allReduce(flat, 'avg', { label: 'dense grads' })
      : undefined;
  const dense =
    config.optimizer === 'adagrad'
      ? new Adagrad(model, { lr: config.lr, allReduce })
      : new SGD(model, { lr: config.lr, allReduce });
  const optimizer = new CombinedOptimizer({ dense, sparse: { sparseArch: ebc.optimizer } });
  return { model, ebc, optimizer, dense, plan };
}
