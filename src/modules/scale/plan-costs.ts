/**
 * What one iteration of a {@link ScalePlan} costs on a topology, op by op — the numbers the
 * shapes-only simulation charges (docs/simulation.md gives every formula):
 *
 * - per rank: embedding lookup forward and backward = Σ over its shards of TorchRec's
 *   `fwdCompute` / `bwdCompute` ({@link shardEstimate}); memory = Σ shard rows × (dim + 1)
 *   × 4 bytes (fp32 rows and one row-wise Adagrad value per row) + dense parameters × 12
 *   bytes (weights, gradients, one optimizer state) + the batch's received ids and pooled
 *   outputs;
 * - per collective (they end together, so the slowest rank's time counts):
 *   input dist = splits all-to-all (4 bytes per table per peer) then the ids all-to-all
 *   (8 bytes per id, 4 per length, to every rank holding a shard the id may hit);
 *   output dist = all-to-all of the TW/CW pooled blocks and TWRW's inter-host stage +
 *   reduce-scatter of the RW partial sums + the slowest host's intra-host TWRW
 *   reduce-scatter; gradient dist (backward) = the same transfers reversed, same time;
 *   dense all-reduce of the dense gradients ({@link allReduceMs});
 * - dense forward = flops / throughput, backward = 2 × forward; the batch copy over HBM↔DDR.
 *
 * @example
 * const costs = planCosts(scaleModel('medium'), plan, topologyPreset('dgx-a100'));
 * costs.outputDistMs; costs.lookupForwardMs[0]; costs.memoryPerRankBytes;
 */
import {
  allReduceMs,
  allToAllMs,
  copyMs,
  denseMs,
  reduceScatterMs,
  type AllToAllBytes,
} from '../../runtime/sim/collective-times.ts';
import {
  estimateTotal,
  shardEstimate,
  type ShardEstimate,
  type ShardingKind,
} from '../../runtime/sim/shard-estimates.ts';
import { hostLayout, type HostLayout, type Topology } from '../../runtime/sim/topology.ts';
import {
  batchBytes,
  denseForwardFlops,
  denseParameters,
  type ScaleModelSpec,
  type ScaleTable,
} from './model-spec.ts';
import { checkScalePlan, shardShapes, type ScalePlan, type TablePlacement } from './scale-plan.ts';

/** Identical shards of one table (same rows and columns) on `ranks`, with TorchRec's estimate of each (ms). */
export interface ShardGroup extends ShardEstimate {
  table: string;
  sharding: ShardingKind;
  ranks: number[];
  rows: number;
  dim: number;
}

export interface PlanCosts {
  layout: HostLayout;
  /** Per rank, ms. */
  lookupForwardMs: Float64Array;
  lookupBackwardMs: Float64Array;
  /** Per rank, TorchRec's analytic total (Σ fwd + bwd compute + comms of its shards), ms. */
  analyticMs: Float64Array;
  /** Per rank, bytes. */
  memoryBytes: Float64Array;
  splitsMs: number;
  inputDistMs: number;
  outputDistMs: number;
  gradDistMs: number;
  denseForwardMs: number;
  denseBackwardMs: number;
  allReduceMs: number;
  copyMs: number;
  /** Every shard, identical shards of a table grouped (a RW table over 4,096 ranks is one group). */
  shards: ShardGroup[];
  /** TorchRec's plan score: the largest per-rank analytic total, ms. */
  analyticMaxMs: number;
  memoryPerRankBytes: number;
}

/** Per-rank all-to-all bytes, accumulated per host with per-rank corrections (O(tables × (hosts + shards))). */
class AllToAllAccumulator {
  private readonly hostSendIntra: Float64Array;
  private readonly hostSendInter: Float64Array;
  private readonly hostRecvIntra: Float64Array;
  private readonly hostRecvInter: Float64Array;
  private everyRecvInter = 0;
  private readonly rankSendIntra: Float64Array;
  private readonly rankSendInter: Float64Array;
  private readonly rankRecvIntra: Float64Array;
  private readonly rankRecvInter: Float64Array;

  constructor(private readonly layout: HostLayout) {
    const { hosts, worldSize } = layout;
    this.hostSendIntra = new Float64Array(hosts);
    this.hostSendInter = new Float64Array(hosts);
    this.hostRecvIntra = new Float64Array(hosts);
    this.hostRecvInter = new Float64Array(hosts);
    this.rankSendIntra = new Float64Array(worldSize);
    this.rankSendInter = new Float64Array(worldSize);
    this.rankRecvIntra = new Float64Array(worldSize);
    this.rankRecvInter = new Float64Array(worldSize);
  }

  private host(r: number): number {
    return Math.floor(r / this.layout.ranksPerHost);
  }

  /** Every rank sends `b` bytes to each rank of `targets` (not to itself). */
  everyoneSendsTo(targets: readonly number[], b: number): void {
    const { hosts, ranksPerHost: L, worldSize: W } = this.layout;
    const perHost = new Map<number, number>();
    for (const s of targets) perHost.set(this.host(s), (perHost.get(this.host(s)) ?? 0) + 1);
    const n = targets.length;
    // senders on host h: intra to the targets on h, inter to the rest
    for (let h = 0; h < hosts; h++) {
      const c = perHost.get(h) ?? 0;
      this.hostSendIntra[h] += b * c;
      this.hostSendInter[h] += b * (n - c);
    }
    for (const s of targets) {
      this.rankSendIntra[s] -= b; // not to itself
      this.rankRecvIntra[s] += b * (L - 1);
      this.rankRecvInter[s] += b * (W - L);
    }
  }

  /** Rank `s` sends `b` bytes to every other rank (a pooled block for each rank's samples). */
  sendsToEveryone(s: number, b: number): void {
    const { ranksPerHost: L, worldSize: W } = this.layout;
    const h = this.host(s);
    this.rankSendIntra[s] += b * (L - 1);
    this.rankSendInter[s] += b * (W - L);
    this.hostRecvIntra[h] += b;
    this.rankRecvIntra[s] -= b;
    this.everyRecvInter += b;
    this.hostRecvInter[h] -= b;
  }

  /** Raw per-rank additions. */
  add(r: number, bytes: Partial<AllToAllBytes>): void {
    this.rankSendIntra[r] += bytes.sendIntra ?? 0;
    this.rankSendInter[r] += bytes.sendInter ?? 0;
    this.rankRecvIntra[r] += bytes.recvIntra ?? 0;
    this.rankRecvInter[r] += bytes.recvInter ?? 0;
  }

  /** Every rank off host `h` receives `b` inter-host bytes. */
  everyoneOffHostReceives(h: number, b: number): void {
    this.everyRecvInter += b;
    this.hostRecvInter[h] -= b;
  }

  bytesOf(r: number): AllToAllBytes {
    const h = this.host(r);
    return {
      sendIntra: this.hostSendIntra[h] + this.rankSendIntra[r],
      sendInter: this.hostSendInter[h] + this.rankSendInter[r],
      recvIntra: this.hostRecvIntra[h] + this.rankRecvIntra[r],
      recvInter: this.everyRecvInter + this.hostRecvInter[h] + this.rankRecvInter[r],
    };
  }

  /** The collective's time: its slowest rank's. */
  slowestMs(topology: Topology): number {
    let worst = 0;
    for (let r = 0; r < this.layout.worldSize; r++)
      worst = Math.max(worst, allToAllMs(topology, this.bytesOf(r)));
    return worst;
  }
}

/**
 * Price every op of one iteration of `plan` (see the module doc).
 *
 * @example
 * planCosts(spec, plan, topology).analyticMaxMs;
 */
export function planCosts(spec: ScaleModelSpec, plan: ScalePlan, topology: Topology): PlanCosts {
  checkScalePlan(spec, plan);
  const layout = hostLayout(topology, plan.worldSize, plan.ranksPerHost);
  const { worldSize: W, ranksPerHost: L, hosts: H } = layout;
  const B = spec.batchSize;
  const byName = new Map<string, ScaleTable>(spec.tables.map((t) => [t.name, t]));
  const lookupForwardMs = new Float64Array(W);
  const lookupBackwardMs = new Float64Array(W);
  const analyticMs = new Float64Array(W);
  const memoryBytes = new Float64Array(W);
  const ids = new AllToAllAccumulator(layout);
  const pooled = new AllToAllAccumulator(layout);
  let rwReduceBytes = 0;
  const twrwReduceBytes = new Float64Array(H);
  const shards: ShardGroup[] = [];
  const estimates = new Map<string, ShardEstimate>();

  for (const p of plan.tables) {
    const t = byName.get(p.table)!;
    const groups = new Map<string, ShardGroup>();
    for (const s of shardShapes(t, p)) {
      const key = `${p.sharding}:${s.dim}:${t.poolingFactor}`;
      let e = estimates.get(key);
      if (!e) {
        e = shardEstimate(
          {
            sharding: p.sharding,
            dim: s.dim,
            poolingFactors: [t.poolingFactor],
            batchSize: B,
            worldSize: W,
            ranksPerHost: L,
          },
          topology,
        );
        estimates.set(key, e);
      }
      const shape = `${s.rows}x${s.dim}`;
      const group = groups.get(shape);
      if (group) group.ranks.push(s.rank);
      else {
        const g = {
          table: t.name,
          sharding: p.sharding,
          ranks: [s.rank],
          rows: s.rows,
          dim: s.dim,
          ...e,
        };
        groups.set(shape, g);
        shards.push(g);
      }
      lookupForwardMs[s.rank] += e.fwdCompute;
      lookupBackwardMs[s.rank] += e.bwdCompute;
      analyticMs[s.rank] += estimateTotal(e);
      memoryBytes[s.rank] += s.rows * (s.dim + 1) * 4;
    }
    addTransfers(p, t);
  }

  function addTransfers(p: TablePlacement, t: ScaleTable): void {
    const idBytes = B * t.poolingFactor * 8;
    const lengthBytes = B * 4;
    const k = p.ranks.length;
    switch (p.sharding) {
      case 'TW':
      case 'CW': {
        ids.everyoneSendsTo(p.ranks, idBytes + lengthBytes);
        for (const s of shardShapes(t, p)) pooled.sendsToEveryone(s.rank, B * s.dim * 4);
        break;
      }
      case 'RW':
        ids.everyoneSendsTo(p.ranks, idBytes / k + lengthBytes);
        rwReduceBytes += W * B * t.dim * 4;
        break;
      case 'TWRW': {
        ids.everyoneSendsTo(p.ranks, idBytes / k + lengthBytes);
        const h = Math.floor(p.ranks[0] / L);
        twrwReduceBytes[h] += W * B * t.dim * 4;
        // after the intra-host reduce-scatter, each rank of h holds the pooled rows of its
        // local index on every host and sends them to the H − 1 other hosts
        const block = B * t.dim * 4;
        for (const r of p.ranks) pooled.add(r, { sendInter: block * (H - 1) });
        pooled.everyoneOffHostReceives(h, block);
        break;
      }
    }
  }

  // received ids and pooled outputs of one batch live on the device too
  for (let r = 0; r < W; r++) {
    const idsIn = ids.bytesOf(r);
    memoryBytes[r] += idsIn.recvIntra + idsIn.recvInter;
  }
  const pooledBytes = B * spec.tables.reduce((a, t) => a + t.dim, 0) * 4;
  const denseBytes = denseParameters(spec) * 4;
  for (let r = 0; r < W; r++) memoryBytes[r] += pooledBytes + 3 * denseBytes;

  const splits = new AllToAllAccumulator(layout);
  if (W > 1)
    splits.everyoneSendsTo(
      Array.from({ length: W }, (_, r) => r),
      4 * spec.tables.length,
    );
  const splitsMs = splits.slowestMs(topology);
  const inputDistMs = ids.slowestMs(topology);
  let twrwMs = 0;
  for (let h = 0; h < H; h++)
    twrwMs = Math.max(
      twrwMs,
      reduceScatterMs(topology, { worldSize: L, ranksPerHost: L, hosts: 1 }, twrwReduceBytes[h]),
    );
  const outputDistMs =
    pooled.slowestMs(topology) + reduceScatterMs(topology, layout, rwReduceBytes) + twrwMs;
  const denseForwardMs = denseMs(topology, denseForwardFlops(spec));
  let analyticMaxMs = 0;
  let memoryPerRankBytes = 0;
  for (let r = 0; r < W; r++) {
    analyticMaxMs = Math.max(analyticMaxMs, analyticMs[r]);
    memoryPerRankBytes = Math.max(memoryPerRankBytes, memoryBytes[r]);
  }
  return {
    layout,
    lookupForwardMs,
    lookupBackwardMs,
    analyticMs,
    memoryBytes,
    splitsMs,
    inputDistMs,
    outputDistMs,
    gradDistMs: outputDistMs,
    denseForwardMs,
    denseBackwardMs: 2 * denseForwardMs,
    allReduceMs: W > 1 ? allReduceMs(topology, layout, denseBytes) : 0,
    copyMs: copyMs(topology, batchBytes(spec)),
    shards,
    analyticMaxMs,
    memoryPerRankBytes,
  };
}
