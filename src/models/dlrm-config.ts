/**
 * The DLRM configurations the CLI trains and the harness simulates: `smallDlrmConfig()` (4
 * tables × 1000 rows × dim 8, MLPs 32-8 / 32-1, the default run) and `referenceDlrmConfig()`
 * (8 tables × 100,000 rows × dim 16, MLPs 512-256-16 / 512-256-1, the benchmarks' model),
 * with the feature names and batch validation spec a config implies.
 *
 * @example
 * const config = smallDlrmConfig({ optimizer: 'adagrad' });
 * batchSpecFor(config).keys; // ['f0', 'f1', 'f2', 'f3']
 */
import type { EmbeddingBagConfig } from '../modules/embedding/config.ts';
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
