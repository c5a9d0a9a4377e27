/**
 * Per-shard estimates in TorchRec's terms — forward and backward compute and comms of one
 * embedding shard, in ms — re-derived from TorchRec's planner
 * (`torchrec/distributed/planner/shard_estimators.py`, `_get_tw_sharding_perf`,
 * `_get_rw_sharding_perf`, `_get_twrw_sharding_perf`; factors from `constants.py`).
 * docs/simulation.md writes the formulas out; in short, with B the per-rank batch, W the
 * world, L the ranks per host, d the shard's columns, s = 4 bytes per float, 8 bytes per id,
 * P = Σ pooling factors of the table's features, F the number of features:
 *
 * | sharding | ids looked up `I` | lookup bytes | block penalty | fwdComms |
 * |---|---|---|---|---|
 * | TW, CW | `B·P·W` | `I·max(d,32)·s` | yes | `O / bw(W)` |
 * | RW | `B·P·W / W` | `I·d·s` | no | `O / bw(W)` |
 * | TWRW | `B·P·W / L` | `I·d·s` | no | `O / intra + O·(L/W) / inter` (second term when W > L) |
 *
 * where `O = B·F·W·d·s` (the pooled output written), `fwdCompute = (⌈I·8⌉ + lookup + O) ·
 * penalty / deviceBw`, `bwdCompute = 2·fwdCompute` (TorchRec's BWD_COMPUTE_MULTIPLIER; it includes the
 * fused optimizer) plus, for RW and TWRW, the batched copy `O·2.455 / deviceBw`; `bwdComms =
 * fwdComms`; `bw(W)` is intra-host bandwidth when the world fits one host, else inter-host.
 * Block penalty (FBGEMM kernels use 128-wide blocks): 1 for d ≥ 128, 1.15 for 64 ≤ d < 128,
 * 1.75 below. Weighted features (per-sample weights) read ids twice and add 1.1 ×
 * fwdCompute to the backward.
 *
 * @example
 * const e = shardEstimate({ sharding: 'TW', dim: 128, poolingFactors: [20], batchSize: 512, worldSize: 16, ranksPerHost: 8 }, topologyPreset('torchrec-default'));
 * e.fwdCompute; // (⌈512·20·16·8⌉ + 512·20·16·128·4 + 512·16·128·4) / (897·1024³/1000)
 */
import type { Topology } from './topology.ts';

/** TorchRec's sharding types, by their short names. */
export type ShardingKind = 'TW' | 'RW' | 'CW' | 'TWRW';
export const SHARDING_KINDS: readonly ShardingKind[] = ['TW', 'RW', 'CW', 'TWRW'];

/** The embedding kernel: where the rows live (TorchRec's `kernel_bw_lookup`). */
export type EmbeddingKernel = 'fused' | 'fused-uvm-caching';

/** TorchRec's empirical factors (constants.py). */
export const TORCHREC_FACTORS = {
  /** Bytes per id in the input (int64). */
  idBytes: 8,
  /** FBGEMM's full block: 32 threads × 4-vectors. */
  fullBlockDim: 128,
  halfBlockPenalty: 1.15,
  quarterBlockPenalty: 1.75,
  /** Backward compute (with the fused optimizer) over forward compute. */
  bwdComputeMultiplier: 2,
  /** Weighted features: extra backward kernel over forward compute. */
  weightedKernelMultiplier: 1.1,
  /** Row-wise backward's batched copy, over the output bytes. */
  batchedCopyPerfFactor: 2.455,
  /** Lookups read at least 32 columns (kernel granularity). */
  minLookupDim: 32,
  /** UVM caching: share of rows in HBM when none is given. */
  uvmCachingRatio: 0.2,
} as const;

/** One shard's inputs. */
export interface ShardEstimateInput {
  sharding: ShardingKind;
  /** Columns of this shard (the table's dim, or the column block's for CW). */
  dim: number;
  /** Average ids per sample of each feature looked up in the table (TorchRec's `input_lengths`). */
  poolingFactors: readonly number[];
  /** Batch per rank. */
  batchSize: number;
  worldSize: number;
  ranksPerHost: number;
  /** Per-sample weights (default false). */
  weighted?: boolean;
  /** Bytes per embedding value (default 4, fp32). */
  valueBytes?: number;
  /** Default `fused` (rows in HBM). */
  kernel?: EmbeddingKernel;
  /** UVM caching ratio (kernel `fused-uvm-caching`; default 0.2). */
  cachingRatio?: number;
}

/** TorchRec's `Perf`: ms per iteration of one shard. */
export interface ShardEstimate {
  fwdCompute: number;
  fwdComms: number;
  bwdCompute: number;
  bwdComms: number;
}

/** Sum of the four parts. */
export function estimateTotal(e: ShardEstimate): number {
  return e.fwdCompute + e.fwdComms + e.bwdCompute + e.bwdComms;
}

/**
 * The device bandwidth a lookup runs at (TorchRec's `kernel_bw_lookup` for cuda): HBM for
 * `fused`; `(r·HBM + (1−r)·DDR) / 10` for `fused-uvm-caching`.
 *
 * @example
 * kernelBandwidth(topologyPreset('torchrec-default'), 'fused'); // 897 · 1024³ / 1000
 */
export function kernelBandwidth(
  topology: Topology,
  kernel: EmbeddingKernel = 'fused',
  cachingRatio: number = TORCHREC_FACTORS.uvmCachingRatio,
): number {
  if (kernel === 'fused') return topology.hbmBytesPerMs;
  return (cachingRatio * topology.hbmBytesPerMs + (1 - cachingRatio) * topology.ddrBytesPerMs) / 10;
}

/** TorchRec's block-usage penalty for a lookup of `dim` columns. */
export function blockPenalty(dim: number): number {
  if (dim >= TORCHREC_FACTORS.fullBlockDim) return 1;
  return dim >= 64 ? TORCHREC_FACTORS.halfBlockPenalty : TORCHREC_FACTORS.quarterBlockPenalty;
}

/**
 * One shard's estimate (see the module doc for the formulas).
 *
 * @example
 * shardEstimate({ sharding: 'RW', dim: 64, poolingFactors: [10, 2], batchSize: 256, worldSize: 8, ranksPerHost: 8 }, topo).bwdComms;
 */
export function shardEstimate(input: ShardEstimateInput, topology: Topology): ShardEstimate {
  const f = TORCHREC_FACTORS;
  const { dim, batchSize: B, worldSize: W, ranksPerHost: L } = input;
  const s = input.valueBytes ?? 4;
  const weighted = input.weighted ?? false;
  const deviceBw = kernelBandwidth(topology, input.kernel, input.cachingRatio);
  const sumPooling = input.poolingFactors.reduce((a, b) => a + b, 0);
  const features = input.poolingFactors.length;
  // ids per rank's batch, divided among the shards that split the rows
  const share = input.sharding === 'RW' ? W : input.sharding === 'TWRW' ? L : 1;
  const batchInputs = (B * sumPooling) / share;
  const batchOutputs = B * features;
  let inputRead = Math.ceil(batchInputs * W * f.idBytes);
  if (weighted) inputRead *= 2;
  const lookupDim =
    input.sharding === 'TW' || input.sharding === 'CW' ? Math.max(dim, f.minLookupDim) : dim;
  const lookup = batchInputs * W * lookupDim * s;
  const output = batchOutputs * W * dim * s;
  const penalty = input.sharding === 'TW' || input.sharding === 'CW' ? blockPenalty(dim) : 1;
  const fwdCompute = ((inputRead + lookup + output) * penalty) / deviceBw;
  let fwdComms: number;
  if (input.sharding === 'TWRW') {
    fwdComms = output / topology.intraHostBytesPerMs;
    if (W > L) fwdComms += (output * (L / W)) / topology.interHostBytesPerMs;
  } else {
    const bw = W > L ? topology.interHostBytesPerMs : topology.intraHostBytesPerMs;
    fwdComms = output / bw;
  }
  let bwdCompute = fwdCompute * f.bwdComputeMultiplier;
  if (weighted) bwdCompute += fwdCompute * f.weightedKernelMultiplier;
  if (input.sharding === 'RW' || input.sharding === 'TWRW')
    bwdCompute += (output * f.batchedCopyPerfFactor) / deviceBw;
  return { fwdCompute, fwdComms, bwdCompute, bwdComms: fwdComms };
}
