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
import type { ModelSize, TrainOptions } from './train-options.ts';

/** Synthetic data reads this (the `--data` value of a synthetic run). */
export const SYNTHETIC = 'synthetic';

/**
 * The learning rate a model size trains well with when `--lr` is not given. Why the
 * reference model needs a smaller one: Adagrad's accumulator starts at 0, so its first
 * step moves every weight by `lr · sign(g)`, whatever the gradient's size; through the
 * reference model's 512-wide layers that shifts each pre-activation by up to
 * `lr × fan-in × |x|`. With 0.05 the reference run's loss went 0.709 → 280 at batch 1;
 * 0.02 → 8.4, 0.01 → 1.10, 0.005 → 0.97 at batch 2, 0.002 → no rise above the first loss
 * and the best AUC of the spike-free rates (command: `sparsepipe train --model-size
 * reference --batches 12 --ranks 2 --lr X --held-out-examples 1024`). The small model's
 * 32-wide layers take 0.05 without a spike.
 */
export const DEFAULT_LR: Readonly<Record<ModelSize, number>> = { small: 0.05, reference: 0.002 };

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
