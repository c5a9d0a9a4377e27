/**
 * The DLRM a `sparsepipe train` run builds: `--model-size small` (4 tables × 1000 rows ×
 * dim 8, MLPs 32-8 / 32-1) or `reference` (8 tables × 100,000 rows × dim 16, MLPs
 * 512-256-16 / 512-256-1; docs/design.md "Performance targets"), with the run's optimizer,
 * learning rate and seed. On a Criteo file the tables are the 26 categorical columns
 * `C1`…`C26`, each with the size's rows and dim. `--table-rows` and `--embedding-dim`
 * replace every table's rows and dim (the bottom MLP then ends in that dim, as the dot
 * interaction needs); a Criteo id is hashed into its table's rows.
 *
 * @example
 * modelConfigFor({ modelSize: 'small', optimizer: 'sgd', lr: 0.05, seed: 1, data: 'synthetic', tableRows: null, embeddingDim: null }).tables.length; // 4
 */
import { CRITEO_CATEGORICAL_COLUMNS } from '../data/criteo-tsv.ts';
import { referenceDlrmConfig, smallDlrmConfig, type DlrmConfig } from '../models/dlrm-rank.ts';
import type { TrainOptions } from './train-options.ts';

/** Synthetic data reads this (the `--data` value of a synthetic run). */
export const SYNTHETIC = 'synthetic';

export function modelConfigFor(
  o: Pick<
    TrainOptions,
    'modelSize' | 'optimizer' | 'lr' | 'seed' | 'data' | 'tableRows' | 'embeddingDim'
  > &
    Partial<Pick<TrainOptions, 'cache'>>,
): DlrmConfig {
  const config = uncachedConfigFor(o);
  const cache = o.cache;
  if (!cache) return config;
  return { ...config, tables: config.tables.map((t) => ({ ...t, cache })) };
}

function uncachedConfigFor(
  o: Pick<
    TrainOptions,
    'modelSize' | 'optimizer' | 'lr' | 'seed' | 'data' | 'tableRows' | 'embeddingDim'
  >,
): DlrmConfig {
  const size = o.modelSize === 'reference' ? referenceDlrmConfig() : smallDlrmConfig();
  const dim = o.embeddingDim ?? size.embeddingDim;
  const rows = o.tableRows ?? size.tables[0].rows;
  const base: DlrmConfig = {
    ...size,
    embeddingDim: dim,
    bottom: [...size.bottom.slice(0, -1), dim],
    tables: size.tables.map((t) => ({ ...t, rows, dim })),
  };
  const hyper = { optimizer: o.optimizer, lr: o.lr, seed: o.seed };
  if (o.data === SYNTHETIC) return { ...base, ...hyper };
  const { pooling } = base.tables[0];
  const tables = CRITEO_CATEGORICAL_COLUMNS.map((key) => ({
    name: `t_${key}`,
    rows,
    dim,
    pooling,
    features: [key],
  }));
  return { ...base, ...hyper, tables };
}
