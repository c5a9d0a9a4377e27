/**
 * A deterministic synthetic click log with a *planted* ground-truth model.
 *
 * Each example has `denseDim` dense features (standard normal, stored as float32) and, for
 * every sparse feature, a bag of ids drawn Zipf-like over the feature's table. A hidden
 * model — a random embedding per (feature, row), dense weights, per-feature projections and
 * pairwise interaction weights — gives each example a logit
 *
 * ```
 * logit = bias + scale · ( √s_d·dense(x) + √s_1·first-order(P) + √s_2·pairwise(P) )
 *   dense(x)        = w·x                         (standardized)
 *   first-order(P)  = Σ_f u_f·P_f                 (standardized)
 *   pairwise(P)     = Σ_{f<g} c_fg (P_f·P_g)      (standardized; DLRM's dot interaction)
 *   P_f             = mean of the truth embeddings of feature f's ids (0 for an empty bag)
 * ```
 *
 * and the label is Bernoulli(sigmoid(logit)). `(s_d, s_1, s_2)` are the shares of the
 * logit's variance (`termShares`, default 0.4 / 0.4 / 0.2). Each term is standardized on a calibration
 * sample, and `bias` is solved so the mean click rate is `baseRate`; with the default
 * `logitScale` the planted model's AUC is ≈ 0.78 and the labels stay noisy. Measured with
 * the defaults (8 tables × 1000 rows): a DLRM (bottom 64-16, top 64-32-1, Adagrad 0.05)
 * reaches a held-out log-loss of 0.513 after 300 steps of batch 128, from 0.558 for the
 * base rate towards 0.473 for the planted model.
 *
 * **Determinism.** Example `n` of a stream depends only on `(seed, stream, n)` (a counter-
 * based generator), so `batches(B)` only *groups* the stream: 8 batches of 32 hold the same
 * 256 examples as 2 batches of 128, and any rank can produce any slice. `heldOut()` is the
 * same planted model on a disjoint stream.
 *
 * @example
 * const log = new SyntheticClickLog({ seed: 1, features: [{ key: 'C1', rows: 1000 }, { key: 'C2', rows: 500 }] });
 * for (const batch of log.batches(128, { count: 300 })) train(batch);
 * const test = log.heldOut().examples(0, 10_000);
 * console.log(log.bayesOptimalLogLoss(test));
 */
import { Batch } from '../tensors/batch.ts';
import { KeyedJaggedTensor } from '../tensors/keyed-jagged-tensor.ts';
import { ExampleRng, hashInts, hashPair, uniformAt } from '../tensors/counter-prng.ts';
import { ZipfSampler } from './zipf-sampler.ts';

/** One sparse feature of the synthetic log: its key and table size. */
export interface SyntheticFeature {
  key: string;
  rows: number;
  /** Overrides `SyntheticClickLogOptions.idsPerFeature` for this feature. */
  idsPerFeature?: IdsPerFeature;
}

/** Ids per (example, feature): a fixed count, or uniform in `[min, max]` (jagged bags; 0 allowed). */
export type IdsPerFeature = number | { min: number; max: number };

export interface SyntheticClickLogOptions {
  /** Any safe integer; the same seed and options give the same log. */
  seed: number;
  /** Dense features per example (default 13, like Criteo). */
  denseDim?: number;
  /** Sparse features (default: `C1..C8`, 1000 rows each). */
  features?: readonly SyntheticFeature[];
  /** Pooling factor (default 4). */
  idsPerFeature?: IdsPerFeature;
  /** Zipf exponent of id popularity (default 1.05; 0 = uniform). */
  zipfExponent?: number;
  /** Width of the hidden truth embeddings (default 8). */
  embeddingDim?: number;
  /** Standard deviation of the planted logit (default 1.2: planted AUC ≈ 0.78, Bayes log-loss ≈ 0.465 at base rate 0.25). */
  logitScale?: number;
  /** Mean click probability (default 0.25). */
  baseRate?: number;
  /** Examples used to standardize the logit terms and solve the bias (default 4096). */
  calibrationExamples?: number;
  /** Which stream: 0 training (default), 1 held-out, any other integer another disjoint stream. */
  stream?: number;
  /**
   * Shares of the planted logit's variance from the dense term, the first-order sparse term
   * and the pairwise (dot-interaction) term; normalized to sum 1 (default 0.4 / 0.4 / 0.2).
   */
  termShares?: { dense: number; firstOrder: number; pairwise: number };
}

/** One example of the stream. */
export interface SyntheticExample {
  /** Position in its stream. */
  readonly index: number;
  /** `[denseDim]` float32 values. */
  readonly dense: Float32Array;
  /** Ids of each feature, in `features` order. */
  readonly ids: readonly Int32Array[];
  /** 0 or 1. */
  readonly label: number;
  /** The planted click probability (the label was drawn from it). */
  readonly probability: number;
}

/** Which part of the stream `batches` covers. */
export interface SyntheticBatchRange {
  /** Index of the first example (default 0). */
  start?: number;
  /** Number of batches (default: endless). */
  count?: number;
}

const TRAIN_STREAM = 0;
const HELD_OUT_STREAM = 1;
const DEFAULT_FEATURES: readonly SyntheticFeature[] = Array.from({ length: 8 }, (_, i) => ({
  key: `C${i + 1}`,
  rows: 1000,
}));
const SQRT3 = Math.sqrt(3);

/** The hidden model shared by every stream of a log. */
interface PlantedModel {
  denseWeights: Float64Array;
  /** Per feature, a projection of width embeddingDim. */
  projections: Float64Array[];
  /** Pair weights c_fg, row-major over f<g in loop order. */
  pairWeights: Float64Array;
  /** Means and standard deviations of the three raw terms. */
  mean: [number, number, number];
  std: [number, number, number];
  bias: number;
}

export class SyntheticClickLog {
  readonly seed: number;
  readonly denseDim: number;
  readonly features: readonly SyntheticFeature[];
  readonly keys: readonly string[];
  readonly embeddingDim: number;
  readonly zipfExponent: number;
  readonly logitScale: number;
  readonly baseRate: number;
  /** Which stream of the log this is: 0 training, 1 held-out. */
  readonly stream: number;
  private readonly idCounts: ReadonlyArray<{ min: number; max: number }>;
  private readonly samplers: readonly ZipfSampler[];
  private readonly model: PlantedModel;
  private readonly rowSeeds: Int32Array;
  private readonly pooledScratch: Float64Array;
  private readonly termScratch = new Float64Array(3);
  /** √share of each term (dense, first-order, pairwise). */
  private readonly termWeights: Float64Array;
  /** Ids of the example being drawn: feature f's are `idScratch[f][0 … countScratch[f])`. */
  private readonly idScratch: Int32Array[];
  private readonly countScratch: Int32Array;
  private readonly options: SyntheticClickLogOptions;

  /**
   * @param shareWith reuse the planted model of a log built from the same
   *   options apart from `stream`, instead of drawing and calibrating it again.
   */
  constructor(options: SyntheticClickLogOptions, shareWith?: SyntheticClickLog) {
    const o = options;
    if (!Number.isSafeInteger(o.seed))
      throw new RangeError(`SyntheticClickLog: seed must be a safe integer; got ${o.seed}`);
    this.options = { ...o };
    this.seed = o.seed;
    this.denseDim = o.denseDim ?? 13;
    this.features = (o.features ?? DEFAULT_FEATURES).map((f) => ({ ...f }));
    this.keys = this.features.map((f) => f.key);
    this.embeddingDim = o.embeddingDim ?? 8;
    this.zipfExponent = o.zipfExponent ?? 1.05;
    this.logitScale = o.logitScale ?? 1.2;
    this.baseRate = o.baseRate ?? 0.25;
    this.stream = o.stream ?? TRAIN_STREAM;
    checkOptions(this, o);
    this.termWeights = termWeights(o.termShares ?? { dense: 0.4, firstOrder: 0.4, pairwise: 0.2 });
    this.idCounts = this.features.map((f) =>
      idRange(f.idsPerFeature ?? o.idsPerFeature ?? 4, f.key),
    );
    this.samplers = this.features.map(
      (f, i) => new ZipfSampler(f.rows, this.zipfExponent, hashInts([this.seed, 0x5c7a, i])),
    );
    if (shareWith && !sameModelOptions(shareWith.options, o)) {
      throw new RangeError(
        'SyntheticClickLog: shareWith must be built from the same options (apart from stream)',
      );
    }
    this.rowSeeds = Int32Array.from(this.features, (_, f) => hashInts([this.seed, 0xe3b, f]));
    this.pooledScratch = new Float64Array(this.features.length * this.embeddingDim);
    this.idScratch = this.idCounts.map((r) => new Int32Array(r.max));
    this.countScratch = new Int32Array(this.features.length);
    this.model = shareWith ? shareWith.model : this.plantModel(o.calibrationExamples ?? 4096);
  }

  /**
   * Another stream of this log: same planted model, disjoint examples.
   *
   * @example
   * const evalStream = log.withStream(2);
   */
  withStream(stream: number): SyntheticClickLog {
    return new SyntheticClickLog({ ...this.options, stream }, this);
  }

  /**
   * The held-out stream: same planted model and options, disjoint examples.
   *
   * @example
   * const auc = evaluate(model, log.heldOut().batches(512, { count: 20 }));
   */
  heldOut(): SyntheticClickLog {
    return this.withStream(HELD_OUT_STREAM);
  }

  /**
   * Example `n` of this stream (depends only on seed, stream and `n`).
   *
   * @example
   * log.example(0).label; // 0 or 1
   */
  example(n: number): SyntheticExample {
    checkIndex(n);
    const rng = new ExampleRng(hashInts([this.seed, this.stream, n]));
    const dense = new Float32Array(this.denseDim);
    this.drawFeatures(rng, dense, 0);
    const probability = sigmoid(this.logit(dense, 0));
    const label = rng.uniform() < probability ? 1 : 0;
    const ids = this.idScratch.map((bag, f) => bag.slice(0, this.countScratch[f]));
    return { index: n, dense, ids, label, probability };
  }

  /**
   * Examples `[start, start + count)`.
   *
   * @example
   * const first256 = log.examples(0, 256);
   */
  examples(start: number, count: number): SyntheticExample[] {
    return Array.from({ length: count }, (_, i) => this.example(start + i));
  }

  /**
   * Consecutive batches of `batchSize` examples starting at example `start` (default 0);
   * `count` batches, or endless. Batch `i` holds examples `start + i·B … start + (i+1)·B − 1`.
   *
   * @example
   * const [b0, b1] = log.batches(128, { count: 2 });
   */
  batches(batchSize: number, range: SyntheticBatchRange = {}): Iterable<Batch> {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be an integer ≥ 1; got ${batchSize}`);
    const start = range.start ?? 0;
    const count = range.count ?? Infinity;
    if (!Number.isSafeInteger(start) || start < 0)
      throw new RangeError(`start must be a non-negative example index; got ${start}`);
    if (!(count >= 0)) throw new RangeError(`count must be ≥ 0; got ${count}`);
    const self = this;
    return {
      *[Symbol.iterator]() {
        for (let i = 0; i < count; i++) yield self.generateBatch(start + i * batchSize, batchSize);
      },
    };
  }

  /**
   * Pack examples into a `Batch` (features in `keys` order).
   *
   * @example
   * const batch = log.batchOf(log.examples(0, 4));
   */
  batchOf(examples: readonly SyntheticExample[]): Batch {
    const B = examples.length;
    const K = this.features.length;
    const dense = new Float32Array(B * this.denseDim);
    const labels = new Float32Array(B);
    const lengths = new Int32Array(K * B);
    let total = 0;
    examples.forEach((e, b) => {
      dense.set(e.dense, b * this.denseDim);
      labels[b] = e.label;
      for (let k = 0; k < K; k++) {
        lengths[k * B + b] = e.ids[k].length;
        total += e.ids[k].length;
      }
    });
    const values = new Int32Array(total);
    let at = 0;
    for (let k = 0; k < K; k++) {
      for (const e of examples) {
        values.set(e.ids[k], at);
        at += e.ids[k].length;
      }
    }
    return new Batch({
      dense,
      denseDim: this.denseDim,
      labels,
      batchSize: B,
      sparse: new KeyedJaggedTensor({ keys: this.keys, stride: B, values, lengths }),
    });
  }

  /**
   * The planted click probability of each sample of a batch (recomputed from its features;
   * equal to the examples' `probability`).
   *
   * @example
   * const p = log.plantedProbabilities(batch); // Float64Array [B]
   */
  plantedProbabilities(batch: Batch): Float64Array {
    const B = batch.batchSize;
    const K = this.features.length;
    if (
      batch.denseDim !== this.denseDim ||
      batch.sparse.keys.length !== K ||
      batch.sparse.keys.some((k, i) => k !== this.keys[i])
    ) {
      throw new RangeError(
        `plantedProbabilities: the batch does not have this log's denseDim ${this.denseDim} and keys ${this.keys.join(', ')}`,
      );
    }
    const out = new Float64Array(B);
    const { values } = batch.sparse;
    const offsets = batch.sparse.offsets();
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < K; f++) {
        const from = offsets[f * B + b];
        const n = offsets[f * B + b + 1] - from;
        if (n > this.idScratch[f].length) this.idScratch[f] = new Int32Array(n);
        this.idScratch[f].set(values.subarray(from, from + n));
        this.countScratch[f] = n;
      }
      out[b] = sigmoid(this.logit(batch.dense, b * this.denseDim));
    }
    return out;
  }

  /**
   * Mean log-loss of the planted probabilities on the given examples' (or batches') labels:
   * the best loss any model can expect on this data.
   *
   * @example
   * log.bayesOptimalLogLoss(log.heldOut().examples(0, 10_000)); // ≈ 0.465 with the defaults
   */
  bayesOptimalLogLoss(items: Iterable<SyntheticExample | Batch>): number {
    let sum = 0;
    let n = 0;
    for (const item of items) {
      if (item instanceof Batch) {
        const p = this.plantedProbabilities(item);
        p.forEach((pi, b) => (sum += logLoss(pi, item.labels[b])));
        n += item.batchSize;
      } else {
        sum += logLoss(item.probability, item.label);
        n += 1;
      }
    }
    if (n === 0) throw new RangeError('bayesOptimalLogLoss needs at least one example');
    return sum / n;
  }

  /** Examples `[start, start + B)` straight into batch buffers. */
  private generateBatch(start: number, B: number): Batch {
    checkIndex(start);
    const K = this.features.length;
    const dense = new Float32Array(B * this.denseDim);
    const labels = new Float32Array(B);
    const lengths = new Int32Array(K * B);
    const perKey = this.idCounts.map((r) => new Int32Array(r.max * B));
    const fill = new Int32Array(K);
    for (let b = 0; b < B; b++) {
      const rng = new ExampleRng(hashInts([this.seed, this.stream, start + b]));
      this.drawFeatures(rng, dense, b * this.denseDim);
      labels[b] = rng.uniform() < sigmoid(this.logit(dense, b * this.denseDim)) ? 1 : 0;
      for (let f = 0; f < K; f++) {
        const n = this.countScratch[f];
        lengths[f * B + b] = n;
        perKey[f].set(this.idScratch[f].subarray(0, n), fill[f]);
        fill[f] += n;
      }
    }
    const values = new Int32Array(fill.reduce((s, n) => s + n, 0));
    let at = 0;
    for (let f = 0; f < K; f++) {
      values.set(perKey[f].subarray(0, fill[f]), at);
      at += fill[f];
    }
    const sparse = new KeyedJaggedTensor({ keys: this.keys, stride: B, values, lengths });
    return new Batch({ dense, denseDim: this.denseDim, labels, batchSize: B, sparse });
  }

  /** Draw one example's dense features into `dense[at…]` and its ids into the id scratch. */
  private drawFeatures(rng: ExampleRng, dense: Float32Array, at: number): void {
    for (let j = 0; j < this.denseDim; j++) dense[at + j] = rng.gaussian();
    for (let f = 0; f < this.features.length; f++) {
      const { min, max } = this.idCounts[f];
      const count = min === max ? min : rng.int(min, max);
      const bag = this.idScratch[f];
      const sampler = this.samplers[f];
      for (let p = 0; p < count; p++) bag[p] = sampler.sample(rng.uniform());
      this.countScratch[f] = count;
    }
  }

  /** Planted logit of dense features `dense[at…]` and the ids in the id scratch. */
  private logit(dense: Float32Array, at: number): number {
    const t = this.rawTerms(dense, at, this.model);
    const m = this.model;
    let z = 0;
    for (let i = 0; i < 3; i++) z += (this.termWeights[i] * (t[i] - m.mean[i])) / m.std[i];
    return m.bias + this.logitScale * z;
  }

  /** The three unstandardized terms (dense, first-order sparse, pairwise) of `dense[at…]` and the id scratch. */
  private rawTerms(
    dense: Float32Array,
    at: number,
    m: Pick<PlantedModel, 'denseWeights' | 'projections' | 'pairWeights'>,
  ): Float64Array {
    let d = 0;
    for (let j = 0; j < this.denseDim; j++) d += m.denseWeights[j] * dense[at + j];
    const D = this.embeddingDim;
    const K = this.features.length;
    const pooled = this.pooledScratch;
    pooled.fill(0);
    let first = 0;
    for (let f = 0; f < K; f++) {
      const n = this.countScratch[f];
      if (n === 0) continue;
      const ids = this.idScratch[f];
      const base = f * D;
      for (let i = 0; i < n; i++) this.addTruthRow(f, ids[i], pooled, base);
      const proj = m.projections[f];
      for (let c = 0; c < D; c++) {
        pooled[base + c] /= n;
        first += proj[c] * pooled[base + c];
      }
    }
    let pair = 0;
    let q = 0;
    for (let f = 0; f < K; f++) {
      for (let g = f + 1; g < K; g++, q++) {
        let dot = 0;
        for (let c = 0; c < D; c++) dot += pooled[f * D + c] * pooled[g * D + c];
        pair += m.pairWeights[q] * dot;
      }
    }
    const t = this.termScratch;
    t[0] = d;
    t[1] = first;
    t[2] = pair;
    return t;
  }

  /**
   * Add the hidden embedding of row `row` of feature `f` to `out[at..at+D)`. Entries are
   * uniform on [-√3, √3) (unit variance), a pure function of (seed, f, row, c): no table.
   */
  private addTruthRow(f: number, row: number, out: Float64Array, at: number): void {
    const state = hashPair(this.rowSeeds[f], row);
    for (let c = 0; c < this.embeddingDim; c++) {
      out[at + c] += SQRT3 * (2 * uniformAt((state + Math.imul(c + 1, 0x6d2b79f5)) | 0) - 1);
    }
  }

  /** Draw the hidden weights, standardize the terms and solve the bias on a calibration stream. */
  private plantModel(calibrationExamples: number): PlantedModel {
    const rng = new ExampleRng(hashInts([this.seed, 0x91a7]));
    const K = this.features.length;
    const D = this.embeddingDim;
    const denseWeights = Float64Array.from({ length: this.denseDim }, () => rng.gaussian());
    const projections = this.features.map(() =>
      Float64Array.from({ length: D }, () => rng.gaussian()),
    );
    const pairWeights = Float64Array.from({ length: (K * (K - 1)) / 2 }, () => rng.gaussian());
    const weights = { denseWeights, projections, pairWeights };

    const n = Math.max(2, calibrationExamples);
    const terms: Array<[number, number, number]> = [];
    const dense = new Float32Array(this.denseDim);
    for (let i = 0; i < n; i++) {
      // a 4-tuple seed: never equal to an example's (seed, stream, n)
      this.drawFeatures(new ExampleRng(hashInts([this.seed, 0xca1, i, 0])), dense, 0);
      const t = this.rawTerms(dense, 0, weights);
      terms.push([t[0], t[1], t[2]]);
    }
    const mean: [number, number, number] = [0, 0, 0];
    const std: [number, number, number] = [1, 1, 1];
    for (let i = 0; i < 3; i++) {
      const xs = terms.map((t) => t[i]);
      mean[i] = xs.reduce((s, x) => s + x, 0) / n;
      const v = xs.reduce((s, x) => s + (x - mean[i]) ** 2, 0) / (n - 1);
      std[i] = v > 1e-12 ? Math.sqrt(v) : 1; // an absent term (no dense / < 2 features) stays 0
    }
    const z = terms.map(
      (t) =>
        this.logitScale *
        t.reduce((s, x, i) => s + (this.termWeights[i] * (x - mean[i])) / std[i], 0),
    );
    // Solve mean(sigmoid(bias + z)) = baseRate by bisection (monotone in bias).
    let lo = -30;
    let hi = 30;
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      const rate = z.reduce((s, zi) => s + sigmoid(mid + zi), 0) / n;
      if (rate < this.baseRate) lo = mid;
      else hi = mid;
    }
    return { ...weights, mean, std, bias: (lo + hi) / 2 };
  }
}

function termWeights(shares: {
  dense: number;
  firstOrder: number;
  pairwise: number;
}): Float64Array {
  const xs = [shares.dense, shares.firstOrder, shares.pairwise];
  const total = xs.reduce((s, x) => s + x, 0);
  if (xs.some((x) => !(x >= 0) || !Number.isFinite(x)) || !(total > 0)) {
    throw new RangeError(
      `SyntheticClickLog: termShares must be finite numbers ≥ 0 with a positive sum; got ${JSON.stringify(shares)}`,
    );
  }
  return Float64Array.from(xs, (x) => Math.sqrt(x / total));
}

function checkIndex(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`example index must be a non-negative safe integer; got ${n}`);
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function logLoss(p: number, y: number): number {
  const eps = 1e-12;
  const q = Math.min(1 - eps, Math.max(eps, p));
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
}

function idRange(spec: IdsPerFeature, key: string): { min: number; max: number } {
  const r = typeof spec === 'number' ? { min: spec, max: spec } : spec;
  if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 0 || r.max < r.min) {
    throw new RangeError(
      `SyntheticClickLog: idsPerFeature of ${key} must be an integer ≥ 0 or { min, max } with 0 ≤ min ≤ max; got ${JSON.stringify(spec)}`,
    );
  }
  return r;
}

function sameModelOptions(a: SyntheticClickLogOptions, b: SyntheticClickLogOptions): boolean {
  return JSON.stringify({ ...a, stream: 0 }) === JSON.stringify({ ...b, stream: 0 });
}

function checkOptions(log: SyntheticClickLog, o: SyntheticClickLogOptions): void {
  if (!Number.isInteger(log.denseDim) || log.denseDim < 0)
    throw new RangeError(`SyntheticClickLog: denseDim must be an integer ≥ 0; got ${o.denseDim}`);
  if (!Number.isInteger(log.embeddingDim) || log.embeddingDim < 1)
    throw new RangeError(
      `SyntheticClickLog: embeddingDim must be an integer ≥ 1; got ${o.embeddingDim}`,
    );
  if (!(log.baseRate > 0 && log.baseRate < 1))
    throw new RangeError(`SyntheticClickLog: baseRate must be in (0, 1); got ${o.baseRate}`);
  if (!(log.logitScale >= 0) || !Number.isFinite(log.logitScale))
    throw new RangeError(
      `SyntheticClickLog: logitScale must be a finite number ≥ 0; got ${o.logitScale}`,
    );
  if (!Number.isSafeInteger(log.stream))
    throw new RangeError(`SyntheticClickLog: stream must be a safe integer; got ${o.stream}`);
  const seen = new Set<string>();
  for (const f of log.features) {
    if (seen.has(f.key))
      throw new RangeError(`SyntheticClickLog: feature key "${f.key}" appears twice`);
    seen.add(f.key);
    if (!Number.isInteger(f.rows) || f.rows < 1)
      throw new RangeError(
        `SyntheticClickLog: feature ${f.key} must have an integer rows ≥ 1; got ${f.rows}`,
      );
  }
}
