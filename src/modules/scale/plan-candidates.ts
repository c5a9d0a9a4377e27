/**
 * Candidate plans for a {@link ScaleModelSpec} on a world, each built greedily (largest
 * table first onto the least-loaded place, load = TorchRec's per-shard estimate total,
 * within each rank's HBM):
 *
 * - `all-TW`, `all-RW`, `all-CW` (each table in column blocks of 64 when it has ≥ 128
 *   columns, else 2 blocks), `all-TWRW` (tables onto hosts);
 * - `greedy-mixed`: per table, whichever of TW, CW, TWRW and RW gives the smallest largest
 *   per-rank load after placing it (TorchRec's greedy idea);
 *
 * A candidate that does not fit HBM is dropped with the reason. {@link rankPlans} orders
 * the rest by TorchRec's plan score (the largest per-rank analytic total).
 *
 * @example
 * const { candidates, rejected } = candidatePlans(spec, topology, layout);
 * rankPlans(spec, topology, candidates)[0].name; // the analytic favourite
 */
import {
  estimateTotal,
  shardEstimate,
  type ShardingKind,
} from '../../runtime/sim/shard-estimates.ts';
import type { HostLayout, Topology } from '../../runtime/sim/topology.ts';
import type { ScaleModelSpec, ScaleTable } from './model-spec.ts';
import { planCosts, type PlanCosts } from './plan-costs.ts';
import { hostRanks, shardShapes, type ScalePlan, type TablePlacement } from './scale-plan.ts';

export interface NamedPlan {
  name: string;
  plan: ScalePlan;
}

export interface RankedPlan extends NamedPlan {
  costs: PlanCosts;
  analyticMs: number;
}

export const PLAN_STRATEGIES = ['all-TW', 'all-RW', 'all-CW', 'all-TWRW', 'greedy-mixed'] as const;
export type PlanStrategy = (typeof PLAN_STRATEGIES)[number];

/** Loads and memory of the ranks while a plan is built. */
class Placer {
  readonly load: Float64Array;
  readonly memory: Float64Array;
  readonly allRanks: readonly number[];

  constructor(
    readonly spec: ScaleModelSpec,
    readonly topology: Topology,
    readonly layout: HostLayout,
  ) {
    this.load = new Float64Array(layout.worldSize);
    this.memory = new Float64Array(layout.worldSize);
    this.allRanks = Array.from({ length: layout.worldSize }, (_, r) => r);
  }

  perShard(kind: ShardingKind, dim: number, t: ScaleTable): number {
    return estimateTotal(
      shardEstimate(
        {
          sharding: kind,
          dim,
          poolingFactors: [t.poolingFactor],
          batchSize: this.spec.batchSize,
          worldSize: this.layout.worldSize,
          ranksPerHost: this.layout.ranksPerHost,
        },
        this.topology,
      ),
    );
  }

  /** The cheapest placement of `t` as `kind` (ranks chosen by load), or undefined when it does not fit. */
  propose(kind: ShardingKind, t: ScaleTable): { p: TablePlacement; worst: number } | undefined {
    const { worldSize: W, ranksPerHost: L, hosts: H } = this.layout;
    const byLoad = (ranks: readonly number[]) =>
      [...ranks].sort((a, b) => this.load[a] - this.load[b] || a - b);
    let ranks: readonly number[];
    switch (kind) {
      case 'TW':
        ranks = [byLoad(this.allRanks.filter((r) => this.fits(r, t.rows * (t.dim + 1) * 4)))[0]];
        if (ranks[0] === undefined) return undefined;
        break;
      case 'CW': {
        const k = Math.min(W, t.dim >= 128 ? Math.floor(t.dim / 64) : 2);
        if (k < 2) return undefined;
        ranks = byLoad(this.allRanks).slice(0, k);
        break;
      }
      case 'RW':
        ranks = this.allRanks;
        break;
      case 'TWRW': {
        if (H < 2 && W === L && L < 2) return undefined;
        let best = 0;
        let bestLoad = Infinity;
        for (let h = 0; h < H; h++) {
          let m = 0;
          for (let i = 0; i < L; i++) m = Math.max(m, this.load[h * L + i]);
          if (m < bestLoad) {
            bestLoad = m;
            best = h;
          }
        }
        ranks = hostRanks(best, L);
        break;
      }
    }
    const p: TablePlacement = { table: t.name, sharding: kind, ranks };
    let worst = 0;
    for (const s of shardShapes(t, p)) {
      if (!this.fits(s.rank, s.rows * (s.dim + 1) * 4)) return undefined;
      worst = Math.max(worst, this.load[s.rank] + this.perShard(kind, s.dim, t));
    }
    return { p, worst };
  }

  place(p: TablePlacement, t: ScaleTable): void {
    for (const s of shardShapes(t, p)) {
      this.load[s.rank] += this.perShard(p.sharding, s.dim, t);
      this.memory[s.rank] += s.rows * (s.dim + 1) * 4;
    }
  }

  private fits(rank: number, bytes: number): boolean {
    // leave a fifth of HBM for activations, dense parameters and buffers
    return this.memory[rank] + bytes <= 0.8 * this.topology.hbmCapacityBytes;
  }
}

/**
 * Build one candidate plan; throws naming the first table that fits nowhere.
 *
 * @example
 * buildPlan('all-TWRW', spec, topology, layout).tables[0].ranks; // the 8 ranks of a host
 */
export function buildPlan(
  strategy: PlanStrategy,
  spec: ScaleModelSpec,
  topology: Topology,
  layout: HostLayout,
): ScalePlan {
  const placer = new Placer(spec, topology, layout);
  const order = [...spec.tables].sort(
    (a, b) =>
      b.rows * b.dim * b.poolingFactor - a.rows * a.dim * a.poolingFactor ||
      (a.name < b.name ? -1 : 1),
  );
  const kinds: Record<PlanStrategy, ShardingKind[]> = {
    'all-TW': ['TW'],
    'all-RW': ['RW'],
    'all-CW': ['CW'],
    'all-TWRW': ['TWRW'],
    'greedy-mixed': ['TW', 'CW', 'TWRW', 'RW'],
  };
  const placed = new Map<string, TablePlacement>();
  for (const t of order) {
    let best: { p: TablePlacement; worst: number } | undefined;
    for (const kind of kinds[strategy]) {
      const c = placer.propose(kind, t);
      if (c && (!best || c.worst < best.worst)) best = c;
    }
    if (!best)
      throw new Error(
        `${strategy}: table '${t.name}' (${t.rows} rows × ${t.dim}) fits no rank's HBM (${(topology.hbmCapacityBytes / 1e9).toFixed(0)} GB) as ${kinds[strategy].join('/')}`,
      );
    placer.place(best.p, t);
    placed.set(t.name, best.p);
  }
  return {
    worldSize: layout.worldSize,
    ranksPerHost: layout.ranksPerHost,
    tables: spec.tables.map((t) => placed.get(t.name)!),
  };
}

/**
 * Every strategy's plan that can be built, and why the others cannot.
 *
 * @example
 * candidatePlans(spec, topology, layout).rejected; // [{ name: 'all-TW', reason: 'all-TW: table …' }]
 */
export function candidatePlans(
  spec: ScaleModelSpec,
  topology: Topology,
  layout: HostLayout,
): { candidates: NamedPlan[]; rejected: Array<{ name: string; reason: string }> } {
  const candidates: NamedPlan[] = [];
  const rejected: Array<{ name: string; reason: string }> = [];
  for (const name of PLAN_STRATEGIES) {
    if (name === 'all-TWRW' && layout.hosts < 2) {
      rejected.push({ name, reason: 'all-TWRW: one host only (TWRW is RW there)' });
      continue;
    }
    try {
      candidates.push({ name, plan: buildPlan(name, spec, topology, layout) });
    } catch (e) {
      rejected.push({ name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { candidates, rejected };
}

/**
 * Price each plan and order them by TorchRec's score (ascending; ties by name).
 *
 * @example
 * rankPlans(spec, topology, candidates).map((p) => [p.name, p.analyticMs]);
 */
export function rankPlans(
  spec: ScaleModelSpec,
  topology: Topology,
  plans: readonly NamedPlan[],
): RankedPlan[] {
  return plans
    .map((p) => {
      const costs = planCosts(spec, p.plan, topology);
      return { ...p, costs, analyticMs: costs.analyticMaxMs };
    })
    .sort((a, b) => a.analyticMs - b.analyticMs || (a.name < b.name ? -1 : 1));
}
