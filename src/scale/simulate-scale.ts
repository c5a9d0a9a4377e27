/**
 * `simulateScale`: run a {@link ScaleModelSpec} under a {@link ScalePlan} on a topology,
 * every rank in shapes only (src/models/scale-model.ts) on one sim cluster, through the
 * pipeline of any kind ({@link runScaleRanks}), and summarise the steady
 * state: iteration time, examples per second, which stream bounds it, memory per rank, and
 * each stage's time. Deterministic: the same options give the same report, byte for byte
 * (the report holds no wall-clock value).
 *
 * @example
 * const r = await simulateScale({ spec: scaleModel('small'), topology: topologyPreset('dgx-a100'), plan, batches: 8 });
 * r.iterationMs; r.boundBy; // e.g. 'default'
 */
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { planCosts, type PlanCosts } from '../modules/scale/plan-costs.ts';
import type { ScaleModelSpec } from '../modules/scale/model-spec.ts';
import type { ScalePlan } from '../modules/scale/scale-plan.ts';
import type { CostOverrides } from '../runtime/sim/cost-model.ts';
import { createSimCluster } from '../runtime/sim/sim-cluster.ts';
import type { Topology } from '../runtime/sim/topology.ts';
import { topologyCostModel } from '../runtime/sim/topology-cost-model.ts';
import type { Interpreter } from '../pipeline/options.ts';
import { runScaleRanks, steadyIterationMs } from './run-scale-ranks.ts';
import { OpLog } from '../runtime/op-log.ts';

export interface SimulateScaleOptions {
  spec: ScaleModelSpec;
  topology: Topology;
  plan: ScalePlan;
  /** Default `sparseDist`. */
  pipeline?: PipelineKind;
  /** Batches per rank (default 20). */
  batches?: number;
  /** Fixed per-stage costs that win over the priced ones (`--cost`). */
  overrides?: CostOverrides;
  /** Default `compiled` (the fast interpreter; large worlds need it). */
  interpreter?: Interpreter;
  /** Costs already computed for this plan (the plan search reuses them). */
  costs?: PlanCosts;
}

/** Per-iteration time of each stage, ms (per-rank stages: the slowest rank). */
export interface ScaleStages {
  copy: number;
  splits: number;
  inputDist: number;
  lookupForward: number;
  outputDist: number;
  denseForward: number;
  denseBackward: number;
  gradDist: number;
  lookupBackward: number;
  allReduce: number;
}

export interface ScaleReport {
  model: string;
  topology: string;
  pipeline: PipelineKind;
  worldSize: number;
  ranksPerHost: number;
  hosts: number;
  batches: number;
  globalBatchSize: number;
  /** Steady-state iteration, virtual ms (median gap over the second half of the run). */
  iterationMs: number;
  examplesPerSecond: number;
  /** The stream whose work per iteration is the iteration (within 1 %), or `dependencies (…)` when waits between streams add to it. */
  boundBy: string;
  memoryPerRankBytes: number;
  hbmCapacityBytes: number;
  fitsInHbm: boolean;
  stages: ScaleStages;
  /**
   * Occupancy per iteration of each stream on its busiest rank, ms, measured over the second
   * half of the run: Σ (end − start) of its ops (an op waiting in a collective occupies it).
   */
  streams: Record<string, number>;
  /** TorchRec's analytic plan score: the largest per-rank Σ of shard estimates, ms. */
  analyticMs: number;
  /** Virtual time of the whole run, ms. */
  simulatedMs: number;
}

/** The priced time of each stage of one iteration (per-rank stages: the slowest rank). */
export function stageTimes(costs: PlanCosts): ScaleStages {
  const max = (a: Float64Array) => a.reduce((m, x) => Math.max(m, x), 0);
  return {
    copy: costs.copyMs,
    splits: costs.splitsMs,
    inputDist: costs.inputDistMs,
    lookupForward: max(costs.lookupForwardMs),
    outputDist: costs.outputDistMs,
    denseForward: costs.denseForwardMs,
    denseBackward: costs.denseBackwardMs,
    gradDist: costs.gradDistMs,
    lookupBackward: max(costs.lookupBackwardMs),
    allReduce: costs.allReduceMs,
  };
}

/** Which stream bounds an iteration of `iterationMs` (see {@link ScaleReport.boundBy}). */
export function boundByStream(streams: Record<string, number>, iterationMs: number): string {
  const entries = Object.entries(streams).sort((a, b) => b[1] - a[1]);
  const [name, busy] = entries[0];
  if (iterationMs <= busy * 1.01) return name;
  return `dependencies (${entries.map(([n, v]) => `${n} ${v.toFixed(3)}`).join(', ')} ms do not overlap fully)`;
}

/** Round to 6 significant digits so reports read well and compare exactly. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

function roundAll<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)])) as T;
}

/**
 * Simulate and report (see the module doc).
 *
 * @example
 * const report = await simulateScale({ spec, topology, plan, pipeline: 'base', batches: 10 });
 */
export async function simulateScale(o: SimulateScaleOptions): Promise<ScaleReport> {
  const costs = o.costs ?? planCosts(o.spec, o.plan, o.topology);
  const { worldSize, ranksPerHost, hosts } = costs.layout;
  const batches = o.batches ?? 20;
  const costModel = topologyCostModel(o.topology, o.overrides);
  // stream occupancy: Σ (end − start) of every op per rank and stream that starts in the
  // window from rank 0's return of batch ⌊n/2⌋ to its return of batch n − 2 (steady state:
  // copies run two batches ahead, so the last two iterations have none); an op waiting in a
  // collective occupies its stream
  const busy = new Map<string, Float64Array>();
  const open = new Map<string, number>();
  const half = Math.floor(batches / 2);
  const last = Math.max(half + 1, batches - 2);
  let from = Infinity;
  let to = Infinity;
  const log = new OpLog(false);
  log.subscribe((e) => {
    const key = `${e.rank}|${e.stream}|${e.seq}`;
    if (e.phase === 'start') open.set(key, e.t);
    else {
      const t0 = open.get(key);
      open.delete(key);
      if (t0 === undefined || e.phase !== 'end' || t0 < from || t0 >= to) return;
      let perRank = busy.get(e.stream);
      if (!perRank) {
        perRank = new Float64Array(worldSize);
        busy.set(e.stream, perRank);
      }
      perRank[e.rank] += e.t - t0;
    }
  });
  const cluster = createSimCluster({
    worldSize,
    costModel,
    // collectives are rendezvous here: the device ops around them carry the priced time
    collectiveCostModel: costModel.withOverrides({ collective: 0 }),
    hazards: 'off',
    opLog: log,
    coalesce: true,
    timeoutMs: Infinity,
  });
  const times = await runScaleRanks({
    cluster,
    costs,
    spec: o.spec,
    kind: o.pipeline ?? 'sparseDist',
    batches,
    interpreter: o.interpreter,
    onBatch: (rank, done, now) => {
      if (rank === 0 && done === half) from = now;
      if (rank === 0 && done === last) to = now;
    },
  });
  const iterationMs = steadyIterationMs(times);
  const stages = stageTimes(costs);
  const measured = last - half;
  const streams: Record<string, number> = {};
  for (const [name, perRank] of [...busy].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    streams[name] = perRank.reduce((m, x) => Math.max(m, x), 0) / measured;
  const globalBatchSize = o.spec.batchSize * worldSize;
  return {
    model: o.spec.name,
    topology: o.topology.name,
    pipeline: o.pipeline ?? 'sparseDist',
    worldSize,
    ranksPerHost,
    hosts,
    batches,
    globalBatchSize,
    iterationMs: round(iterationMs),
    examplesPerSecond: round((globalBatchSize / iterationMs) * 1000),
    boundBy: boundByStream(streams, iterationMs),
    memoryPerRankBytes: Math.round(costs.memoryPerRankBytes),
    hbmCapacityBytes: o.topology.hbmCapacityBytes,
    fitsInHbm: costs.memoryPerRankBytes <= o.topology.hbmCapacityBytes,
    stages: roundAll(stages),
    streams: roundAll(streams),
    analyticMs: round(costs.analyticMaxMs),
    simulatedMs: round(cluster.scheduler.now()),
  };
}
