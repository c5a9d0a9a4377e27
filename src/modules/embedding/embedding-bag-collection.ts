/**
 * `EmbeddingBagCollection`: every table whole, in one process — the unsharded reference
 * the sharded collection must equal (docs/design.md "Numerics").
 *
 * - `lookup(kjt)` → pooled output, keys = features in table order, `[B, Σ dims]`.
 * - `backward(kjt, gradPooled)` only *accumulates* row gradients (and feature-processor
 *   gradients); `step(scale)` applies the fused optimizer to every touched row and clears;
 *   `zeroGrad()` clears without applying.
 * - Initial weights are a pure function of `(seed, table name, row, col)` (uniform
 *   ±sqrt(1/rows) unless the table sets `init`), so every sharding of the same tables with
 *   the same seed starts from the same parameters.
 *
 * @example
 * const ebc = new EmbeddingBagCollection({
 *   tables: [{ name: 't', rows: 100, dim: 4, pooling: 'sum', features: ['f'] }],
 *   seed: 42, optimizer: { kind: 'adagrad', lr: 0.1 },
 * });
 * const pooled = ebc.lookup(kjt);               // pooled.values: [B, 4]
 * ebc.backward(kjt, gradOfPooled);              // accumulate
 * ebc.step();                                   // apply + clear
 * ebc.tableWeights('t');                        // Float32Array [100 * 4]
 */
import type { PooledOutput } from '../../protocol/index.ts';
import type { KeyedJaggedTensor } from '../../tensors/keyed-jagged-tensor.ts';
import {
  applyFeatureProcessors,
  backwardFeatureProcessors,
  featureProcessorsHaveNonFiniteGrad,
  sgdStepFeatureProcessor,
  type FeatureProcessorMap,
} from '../feature-processors/feature-processor.ts';
import {
  pooledLayout,
  validateTableConfigs,
  type EmbeddingBagConfig,
  type PooledLayout,
} from './config.ts';
import type { FusedOptimizerConfig, FusedOptimizerState } from './fused-optimizers.ts';
import { accumulateIdWeightGrad, accumulatePooledGrad, pooledLookup } from './kernels.ts';
import { checkJaggedShape, featureBags } from './kjt-bags.ts';
import { EmbeddingTableShard, type LookupView } from './table-shard.ts';
import type { CacheStats } from '../embedding-cache/row-cache.ts';
import type { Bags } from './kernels.ts';

export interface EmbeddingBagCollectionOptions {
  tables: readonly EmbeddingBagConfig[];
  seed: number;
  /** Fused sparse optimizer (default `{ kind: 'sgd', lr: 0.01 }`). */
  optimizer?: FusedOptimizerConfig;
  /** Feature processors by feature name, applied before the lookup; trained by SGD with the optimizer's lr. */
  featureProcessors?: FeatureProcessorMap;
}

/** Logical state: whole tables, per-table optimizer state, feature-processor parameters. */
export interface EbcStateDict {
  tables: Record<string, Float32Array>;
  optimizer: Record<string, FusedOptimizerState>;
  featureProcessors: Record<string, Float32Array>;
}

/**
 * The optimizer face of an embedding collection, shaped like src/optim's `StepOptimizer` so
 * a `CombinedOptimizer` can hold it as a sparse part.
 *
 * @example
 * new CombinedOptimizer({ dense, sparse: { ebc: ebc.optimizer } });
 */
export interface EmbeddingStepOptimizer<S> {
  zeroGrad(): void;
  step(scale?: number): void | Promise<void>;
  hasNonFiniteGrads(): boolean;
  exportState(): S;
  importState(state: S): void;
}

/** What a fused embedding collection has that its optimizer face forwards to. */
export interface FusedEmbeddingModule<S> {
  zeroGrad(): void;
  step(scale?: number): void | Promise<void>;
  hasNonFiniteGrads(): boolean;
  stateDict(): S;
  loadStateDict(state: S): void;
}

/**
 * The optimizer face of a fused embedding module: the module's own `zeroGrad` / `step` /
 * `hasNonFiniteGrads`, its state dict as the optimizer state (tables and optimizer state
 * travel together).
 *
 * @example
 * const sparse = fusedStepOptimizer(ebc); sparse.step(0.5);
 */
export function fusedStepOptimizer<S>(m: FusedEmbeddingModule<S>): EmbeddingStepOptimizer<S> {
  return {
    zeroGrad: () => m.zeroGrad(),
    step: (scale = 1) => m.step(scale),
    hasNonFiniteGrads: () => m.hasNonFiniteGrads(),
    exportState: () => m.stateDict(),
    importState: (state) => m.loadStateDict(state),
  };
}

/** `{ shape, l2, sum }` of one logical parameter tensor (for `--json` params and digests). */
export interface ParamSummary {
  shape: number[];
  l2: number;
  sum: number;
}

export class EmbeddingBagCollection {
  readonly tables: readonly EmbeddingBagConfig[];
  readonly layout: PooledLayout;
  readonly optimizerConfig: FusedOptimizerConfig;
  readonly featureProcessors: FeatureProcessorMap | undefined;
  private readonly shards: EmbeddingTableShard[];

  constructor(opts: EmbeddingBagCollectionOptions) {
    validateTableConfigs(opts.tables);
    this.tables = opts.tables.map((t) => ({ ...t, features: [...t.features] }));
    this.layout = pooledLayout(this.tables);
    this.optimizerConfig = opts.optimizer ?? { kind: 'sgd', lr: 0.01 };
    this.featureProcessors = opts.featureProcessors;
    for (const f of Object.keys(opts.featureProcessors ?? {})) {
      if (!this.layout.keys.includes(f))
        throw new Error(`EmbeddingBagCollection: feature processor for unknown feature '${f}'`);
    }
    this.shards = this.tables.map(
      (table) =>
        new EmbeddingTableShard({
          table,
          seed: opts.seed,
          optimizer: this.optimizerConfig,
          block: { rowStart: 0, rowEnd: table.rows, colStart: 0, colEnd: table.dim },
        }),
    );
  }

  /** Pooled embeddings of every feature for the batch (feature processors applied first). */
  lookup(kjt: KeyedJaggedTensor): PooledOutput {
    checkJaggedShape(kjt, 'EmbeddingBagCollection.lookup');
    const input = applyFeatureProcessors(kjt, this.featureProcessors);
    const B = input.stride;
    const { keys, lengthPerKey, offsetPerKey, tableOfKey, totalWidth } = this.layout;
    const values = new Float32Array(B * totalWidth);
    keys.forEach((f, k) => {
      const shard = this.shards[tableOfKey[k]];
      const bags = featureBags(input, f);
      const view = cachedView(shard, kjt, bags);
      pooledLookup({
        table: view.table,
        bags: { ...bags, values: view.values },
        pooling: shard.table.pooling,
        out: values,
        outStride: totalWidth,
        outColOffset: offsetPerKey[k],
      });
    });
    return { keys, lengthPerKey, batchSize: B, values };
  }

  /** Accumulate the gradient of the loss given `gradPooled` (`[B, Σ dims]`, the layout of `lookup`). */
  backward(kjt: KeyedJaggedTensor, gradPooled: Float32Array): void {
    checkJaggedShape(kjt, 'EmbeddingBagCollection.backward');
    const B = kjt.stride;
    const { keys, offsetPerKey, tableOfKey, totalWidth } = this.layout;
    if (gradPooled.length !== B * totalWidth) {
      throw new Error(
        `EmbeddingBagCollection.backward: gradient has ${gradPooled.length} values, expected batch ${B} × width ${totalWidth}`,
      );
    }
    const input = applyFeatureProcessors(kjt, this.featureProcessors);
    const weightGrad = this.featureProcessors ? new Float32Array(input.values.length) : undefined;
    keys.forEach((f, k) => {
      const shard = this.shards[tableOfKey[k]];
      const bags = featureBags(input, f);
      const common = {
        bags,
        pooling: shard.table.pooling,
        grad: gradPooled,
        gradStride: totalWidth,
        gradColOffset: offsetPerKey[k],
      };
      accumulatePooledGrad({ ...common, table: shard.gradSlice }, shard.grad);
      if (weightGrad && this.featureProcessors![f]) {
        const view = cachedView(shard, kjt, bags);
        accumulateIdWeightGrad({
          ...common,
          bags: { ...bags, values: view.values },
          table: view.table,
          out: weightGrad,
        });
      }
    });
    if (weightGrad) backwardFeatureProcessors(input, this.featureProcessors, weightGrad);
    // The rows hold gradients now, which keeps them cached until the step.
    for (const s of this.shards) s.releaseRows(kjt);
  }

  /** Cache counters per cached table (empty when no table is cached). */
  cacheStats(): Record<string, CacheStats> {
    const out: Record<string, CacheStats> = {};
    for (const s of this.shards) {
      const st = s.cacheStats();
      if (st) out[s.table.name] = st;
    }
    return out;
  }

  /** Release the slow tiers' files of cached tables. */
  close(): void {
    for (const s of this.shards) s.close();
  }

  /** Apply the fused optimizer (gradients × `scale`) to touched rows and train feature processors; clears gradients. */
  step(scale = 1): void {
    for (const s of this.shards) s.step(scale);
    for (const p of Object.values(this.featureProcessors ?? {}))
      sgdStepFeatureProcessor(p, this.optimizerConfig.lr, scale);
  }

  zeroGrad(): void {
    for (const s of this.shards) s.zeroGrad();
    for (const p of Object.values(this.featureProcessors ?? {})) p.zeroGrad();
  }

  /** True when an accumulated gradient holds NaN or ±Infinity (loss-scaler overflow). */
  hasNonFiniteGrads(): boolean {
    return (
      this.shards.some((s) => s.grad.hasNonFinite()) ||
      featureProcessorsHaveNonFiniteGrad(this.featureProcessors)
    );
  }

  /**
   * This collection seen as the pipeline's sparse optimizer (`StepOptimizer` of src/optim):
   * `zeroGrad`, `step(scale)`, `hasNonFiniteGrads`, and `exportState` / `importState` = the
   * logical state dict (fused: tables and optimizer state travel together).
   */
  get optimizer(): EmbeddingStepOptimizer<EbcStateDict> {
    return fusedStepOptimizer(this);
  }

  /** The live weights of table `name`, row-major `[rows, dim]` (a copy from the slow tier for a cached table). */
  tableWeights(name: string): Float32Array {
    return this.shard(name).weights;
  }

  /** The accumulated (not yet applied) gradient of table `name`. */
  tableGrad(name: string): ReturnType<EmbeddingTableShard['grad']['toSparse']> {
    return this.shard(name).grad.toSparse();
  }

  stateDict(): EbcStateDict {
    const sd: EbcStateDict = { tables: {}, optimizer: {}, featureProcessors: {} };
    for (const s of this.shards) {
      const st = s.stateDict();
      sd.tables[s.table.name] = st.weights;
      sd.optimizer[s.table.name] = st.optimizer;
    }
    for (const [f, p] of Object.entries(this.featureProcessors ?? {}))
      sd.featureProcessors[f] = p.param.slice();
    return sd;
  }

  loadStateDict(sd: EbcStateDict): void {
    for (const s of this.shards) {
      const w = sd.tables[s.table.name];
      const opt = sd.optimizer[s.table.name];
      if (!w || !opt)
        throw new Error(
          `EmbeddingBagCollection.loadStateDict: no state for table '${s.table.name}'`,
        );
      s.loadStateDict({ table: s.table.name, ...s.block, weights: w, optimizer: opt });
    }
    for (const [f, p] of Object.entries(this.featureProcessors ?? {})) {
      const v = sd.featureProcessors[f];
      if (!v || v.length !== p.param.length)
        throw new Error(
          `EmbeddingBagCollection.loadStateDict: feature processor '${f}' state missing or of wrong length`,
        );
      p.param.set(v);
    }
  }

  /** `{ shape, l2, sum }` per table (keyed by table name) and per feature processor (`fp.<feature>`). */
  paramsSummary(): Record<string, ParamSummary> {
    const out: Record<string, ParamSummary> = {};
    for (const s of this.shards)
      out[s.table.name] = summarize([s.table.rows, s.table.dim], s.weights);
    for (const [f, p] of Object.entries(this.featureProcessors ?? {}))
      out[`fp.${f}`] = summarize([p.param.length], p.param);
    return out;
  }

  private shard(name: string): EmbeddingTableShard {
    const s = this.shards.find((x) => x.table.name === name);
    if (!s)
      throw new Error(
        `EmbeddingBagCollection: no table '${name}' (tables: ${this.tables.map((t) => t.name).join(', ')})`,
      );
    return s;
  }
}

/** Acquire a feature's rows for `owner` (a no-op uncached) and return the slice to read them from. */
function cachedView(shard: EmbeddingTableShard, owner: object, bags: Bags): LookupView {
  const from = bags.offsets[bags.bagStart ?? 0];
  const to = bags.offsets[(bags.bagStart ?? 0) + bags.nBags];
  shard.acquireRows(owner, bags.values, from, to);
  return shard.lookupSlice(bags.values, from, to);
}

function summarize(shape: number[], v: Float32Array): ParamSummary {
  let sq = 0;
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    sq += v[i] * v[i];
    sum += v[i];
  }
  return { shape, l2: Math.sqrt(sq), sum };
}
