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
import type { FeatureProcessorMap } from '../modules/feature-processors/feature-processor.ts';
import { planSharding } from '../modules/sharding/planner.ts';
import type { ShardingPlan } from '../modules/sharding/plan.ts';
import { ShardedEmbeddingBagCollection } from '../modules/sharding/sharded-embedding-bag-collection.ts';
import { DLRM } from '../modules/dlrm.ts';
import { Adagrad, SGD } from '../optim/dense-optimizer.ts';
import { CombinedOptimizer } from '../optim/combined-optimizer.ts';
import { featureNames, type DlrmConfig } from './dlrm-config.ts';

export {
  batchSpecFor,
  featureNames,
  referenceDlrmConfig,
  smallDlrmConfig,
  type DlrmConfig,
} from './dlrm-config.ts';

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
  // in place: `flat` is the optimizer's own per-step array, read back at once; the result
  // then costs no new 1.2 MB array per step (on the threads backend a new ArrayBuffer per
  // step kept V8 starting full mark-compacts)
  const allReduce =
    pg.worldSize > 1
      ? (flat: Float32Array) => pg.allReduce(flat, 'avg', { label: 'dense grads', inPlace: true })
      : undefined;
  const dense =
    config.optimizer === 'adagrad'
      ? new Adagrad(model, { lr: config.lr, allReduce })
      : new SGD(model, { lr: config.lr, allReduce });
  const optimizer = new CombinedOptimizer({ dense, sparse: { sparseArch: ebc.optimizer } });
  return { model, ebc, optimizer, dense, plan };
}
