/**
 * The options a checkpoint records and a resumed run must repeat, keyed by flag, so a
 * mismatch is reported as `--ranks is 2, the checkpoint has 4`. The pipeline kind, backend,
 * device and cost model may differ: they do not change the math. A data file is recorded by
 * its size and sha256 (`--data contents`), so a changed file is refused at the same path and
 * the same file is accepted at another.
 *
 * @example
 * resumeKeyOf(options, config, null)['--batch-size']; // 256 (synthetic data: no data identity)
 */
import type { ResumeKey } from '../checkpoint/manifest.ts';
import type { DlrmConfig } from '../models/dlrm-rank.ts';
import type { DataIdentity } from './data-identity.ts';
import type { TrainOptions } from './train-options.ts';

/**
 * `data`: the Criteo file's size and sha256 (null for synthetic data, which `--seed`
 * identifies); the file is identified by its contents, not its path.
 */
export function resumeKeyOf(
  o: TrainOptions,
  config: DlrmConfig,
  data: DataIdentity | null,
): ResumeKey {
  return {
    '--model': o.model,
    '--model-size': o.modelSize,
    '--data': data ? 'a Criteo TSV file' : o.data,
    '--data contents': data,
    '--skip-bad-rows': o.skipBadRows,
    '--ranks': o.ranks,
    '--batch-size': o.batchSize,
    '--grad-accum': o.gradAccum,
    '--grad-accum-schedule': o.gradAccumSchedule,
    '--optimizer': o.optimizer,
    '--lr': o.lr,
    '--seed': o.seed,
    // optimizer, lr and seed are compared as flags above
    'model configuration': {
      denseIn: config.denseIn,
      bottom: config.bottom,
      top: config.top,
      embeddingDim: config.embeddingDim,
      // a row cache changes where rows live, not the math: a run may resume with another
      tables: config.tables.map(({ cache: _cache, ...t }) => t),
    },
  };
}
