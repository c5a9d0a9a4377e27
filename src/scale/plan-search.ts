/**
 * Plans chosen by simulation: build every candidate plan ({@link candidatePlans}), rank
 * them by TorchRec's analytic score, simulate the best few with the chosen pipeline kind
 * ({@link simulateScale}), and pick the plan whose simulated iteration is shortest. The
 * analytic score sums each rank's shard estimates as if nothing overlapped and leaves out
 * the input dist, the dense part and the all-reduce; the simulated schedule has all of
 * them, overlapped as the pipeline kind overlaps them — so the two orders can differ, and
 * the report says how.
 *
 * @example
 * const r = await searchPlans({ spec, topology, worldSize: 64, pipeline: 'sparseDist', batches: 8 });
 * r.winner.name; r.runnerUp?.name; r.why; r.rankingChange;
 */
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import type { ScaleModelSpec } from '../modules/scale/model-spec.ts';
import { candidatePlans, rankPlans, type RankedPlan } from '../modules/scale/plan-candidates.ts';
import type { PlanCosts } from '../modules/scale/plan-costs.ts';
import { formatRanks } from '../modules/scale/scale-plan.ts';
import type { CostOverrides } from '../runtime/sim/cost-model.ts';
import type { ShardingKind } from '../runtime/sim/shard-estimates.ts';
import { hostLayout, type Topology } from '../runtime/sim/topology.ts';
import type { Interpreter } from '../pipeline/options.ts';
import { simulateScale, type ScaleReport } from './simulate-scale.ts';

export interface PlanSearchOptions {
  spec: ScaleModelSpec;
  topology: Topology;
  worldSize: number;
  ranksPerHost?: number;
  pipeline?: PipelineKind;
  batches?: number;
  /** How many of the analytic best to simulate (default 3). */
  simulateTop?: number;
  overrides?: CostOverrides;
  interpreter?: Interpreter;
}

/** One group of identical shards of a table, in TorchRec's terms (ms per iteration, each shard). */
export interface ShardRow {
  table: string;
  sharding: ShardingKind;
  /** The ranks holding these shards, as ranges (`0-7,16`). */
  ranks: string;
  /** Shards in the group (one per rank listed). */
  shards: number;
  rows: number;
  dim: number;
  fwdCompute: number;
  fwdComms: number;
  bwdCompute: number;
  bwdComms: number;
}

export interface CandidateResult {
  name: string;
  /** TorchRec's score: the largest per-rank Σ of shard estimates, ms. */
  analyticMs: number;
  analyticRank: number;
  simulated?: ScaleReport;
  simulatedRank?: number;
}

export interface PlanSearchResult {
  worldSize: number;
  ranksPerHost: number;
  pipeline: PipelineKind;
  candidates: CandidateResult[];
  rejected: Array<{ name: string; reason: string }>;
  winner: CandidateResult;
  runnerUp?: CandidateResult;
  /** Why the winner won: each one's iteration and the stream bounding it. */
  why: string;
  /** How the simulated order differs from the analytic one. */
  rankingChange: string;
  /** The winner's shards beside its simulated iteration. */
  shards: ShardRow[];
}

const r6 = (x: number): number => Number(x.toPrecision(6));

/**
 * The shards of a priced plan as rows (identical shards of a table grouped).
 *
 * @example
 * shardRows(costs)[0]; // { table: 't0', sharding: 'RW', ranks: '0-63', shards: 64, … }
 */
export function shardRows(costs: PlanCosts): ShardRow[] {
  return costs.shards.map((g) => ({
    table: g.table,
    sharding: g.sharding,
    ranks: formatRanks(g.ranks),
    shards: g.ranks.length,
    rows: r6(g.rows),
    dim: g.dim,
    fwdCompute: r6(g.fwdCompute),
    fwdComms: r6(g.fwdComms),
    bwdCompute: r6(g.bwdCompute),
    bwdComms: r6(g.bwdComms),
  }));
}

/** A candidate that was simulated. */
type SimulatedCandidate = CandidateResult & { simulated: ScaleReport };

const wasSimulated = (c: CandidateResult): c is SimulatedCandidate => c.simulated !== undefined;

function describe(c: SimulatedCandidate): string {
  const s = c.simulated;
  return `${c.name}: ${s.iterationMs} ms per iteration, bound by ${s.boundBy} (streams per iteration: memcpy ${s.streams.memcpy}, dataDist ${s.streams.dataDist}, default ${s.streams.default} ms; analytic ${c.analyticMs} ms)`;
}

/**
 * Search (see the module doc).
 *
 * @example
 * const { winner, runnerUp, why } = await searchPlans({ spec: scaleModel('small'), topology: topologyPreset('dgx-a100'), worldSize: 16 });
 */
export async function searchPlans(o: PlanSearchOptions): Promise<PlanSearchResult> {
  const layout = hostLayout(o.topology, o.worldSize, o.ranksPerHost);
  const { candidates, rejected } = candidatePlans(o.spec, o.topology, layout);
  if (candidates.length === 0)
    throw new Error(
      `no plan of model ${o.spec.name} fits ${o.worldSize} ranks of ${o.topology.name}: ${rejected.map((r) => r.reason).join('; ')}`,
    );
  const ranked: RankedPlan[] = rankPlans(o.spec, o.topology, candidates);
  const top = Math.min(o.simulateTop ?? 3, ranked.length);
  const results: CandidateResult[] = ranked.map((p, i) => ({
    name: p.name,
    analyticMs: r6(p.analyticMs),
    analyticRank: i + 1,
  }));
  for (let i = 0; i < top; i++) {
    results[i].simulated = await simulateScale({
      spec: o.spec,
      topology: o.topology,
      plan: ranked[i].plan,
      costs: ranked[i].costs,
      pipeline: o.pipeline,
      batches: o.batches ?? 12,
      overrides: o.overrides,
      interpreter: o.interpreter,
    });
  }
  const simulated = results
    .filter(wasSimulated)
    .sort(
      (a, b) =>
        a.simulated.iterationMs - b.simulated.iterationMs || a.analyticRank - b.analyticRank,
    );
  simulated.forEach((c, i) => {
    c.simulatedRank = i + 1;
  });
  const winner = simulated[0];
  const runnerUp = simulated[1];
  const why = runnerUp
    ? `${describe(winner)}; runner-up ${describe(runnerUp)}`
    : `${describe(winner)}; the only candidate simulated`;
  const moved = simulated.filter((c) => c.simulatedRank !== c.analyticRank);
  const pct = (c: SimulatedCandidate, of: (c: SimulatedCandidate) => number) => {
    const d = r6((of(c) / of(winner) - 1) * 100);
    return `${d >= 0 ? '+' : ''}${d} %`;
  };
  const margins = runnerUp
    ? `; runner-up vs winner: simulated ${pct(runnerUp, (c) => c.simulated.iterationMs)}, analytic ${pct(runnerUp, (c) => c.analyticMs)}`
    : '';
  const rankingChange =
    (moved.length === 0
      ? `the simulated schedule kept the analytic order of the ${simulated.length} simulated plans (${simulated.map((c) => c.name).join(' < ')})`
      : `the simulated schedule changed the order: ${moved.map((c) => `${c.name} analytic #${c.analyticRank} → simulated #${c.simulatedRank}`).join(', ')}`) +
    margins;
  const winnerPlan = ranked.find((p) => p.name === winner.name);
  if (!winnerPlan) throw new Error(`plan search: the winner ${winner.name} is not a ranked plan`);
  return {
    worldSize: layout.worldSize,
    ranksPerHost: layout.ranksPerHost,
    pipeline: o.pipeline ?? 'sparseDist',
    candidates: results,
    rejected,
    winner,
    runnerUp,
    why,
    rankingChange,
    shards: shardRows(winnerPlan.costs),
  };
}
