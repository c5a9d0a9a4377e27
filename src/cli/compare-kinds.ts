/**
 * Every pipeline kind on one simulated cluster and one fixed cost model: each kind's
 * steady-state iteration time, its own lower bound (from its schedule's dependencies), the
 * stream that bounds it, and its speed-up over `base`. The ranks run the shapes-only scale
 * model (src/models/scale-model.ts) with every stage priced by the given costs, through the
 * real actor pipelines, in virtual time.
 *
 * Stage costs (ms per iteration): `copy` (H2D), `dist` (input dist: splits + data, half
 * each), `lookup` (embedding lookup), `outputDist` (default 0), `fwd`, `bwd` (dense), `opt`
 * (dense optimizer). The bounds (docs/pipelines.md derives each):
 *
 * | kind | bound |
 * |---|---|
 * | none | copy + dist + lookup + outputDist + fwd + bwd + opt |
 * | base | max(copy, dist + lookup + outputDist + fwd + bwd + opt) |
 * | sparse-dist | max(copy, dist, lookup + outputDist + fwd + bwd + opt) |
 * | fused-sparse-dist | max(copy, fwd + bwd + opt, max(fwd, dist) + lookup + outputDist) |
 * | semi-sync | max(copy, max(fwd + bwd, dist + lookup + outputDist) + opt) |
 * | prefetch (with `fill`) | max(copy, dist, fill, lookup + outputDist + fwd + bwd + opt) |
 *
 * With cached tables (`fill` > 0: one batch's cache fill) every other kind pays the fill
 * before its lookup, on the lookup's stream, and `prefetch` joins the comparison.
 *
 * To compare another kind, add a {@link ComparedKind} to {@link COMPARED_KINDS}.
 *
 * @example
 * const r = await comparePipelines({ worldSize: 2, costs: { copy: 1, dist: 4, lookup: 3, fwd: 2, bwd: 3, opt: 2 } });
 * r.pipelines['fused-sparse-dist'].iterationMs;
 */
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import type { EmbLookupStream } from '../pipeline/options.ts';
import { scaleModel } from '../modules/scale/model-spec.ts';
import type { PlanCosts } from '../modules/scale/plan-costs.ts';
import { CostModel } from '../runtime/sim/cost-model.ts';
import { createSimCluster } from '../runtime/sim/sim-cluster.ts';
import { runScaleRanks, steadyIterationMs } from '../scale/run-scale-ranks.ts';

/** Stage costs of one iteration, ms. */
export interface StageCosts {
  copy: number;
  dist: number;
  lookup: number;
  outputDist: number;
  fwd: number;
  bwd: number;
  opt: number;
  /**
   * Cached tables: one batch's cache fill from the slow tier (0: no cache). Paid before the
   * lookup on its stream, except by `prefetch`, which fills a batch ahead on its own stream.
   */
  fill: number;
}

/** A kind's lower bound and the stream (or chain of streams) that attains it. */
export interface Bound {
  ms: number;
  by: string;
}

/** One kind in the comparison. */
export interface ComparedKind {
  /** The name in the report and `--json` (the CLI's `--pipeline` spelling). */
  name: string;
  kind: PipelineKind;
  bound(c: StageCosts): Bound;
}

/** The largest term (the first one on ties). */
function largest(terms: ReadonlyArray<[string, number]>): Bound {
  let best = terms[0];
  for (const t of terms) if (t[1] > best[1] + 1e-12) best = t;
  return { ms: best[1], by: best[0] };
}

export const COMPARED_KINDS: readonly ComparedKind[] = [
  {
    name: 'none',
    kind: 'none',
    bound: (c) => ({
      ms: c.copy + c.dist + c.fill + c.lookup + c.outputDist + c.fwd + c.bwd + c.opt,
      by: 'all stages in sequence',
    }),
  },
  {
    name: 'base',
    kind: 'base',
    bound: (c) =>
      largest([
        ['default', c.dist + c.fill + c.lookup + c.outputDist + c.fwd + c.bwd + c.opt],
        ['memcpy', c.copy],
      ]),
  },
  {
    name: 'sparse-dist',
    kind: 'sparseDist',
    bound: (c) =>
      largest([
        ['default', c.fill + c.lookup + c.outputDist + c.fwd + c.bwd + c.opt],
        ['dataDist', c.dist],
        ['memcpy', c.copy],
      ]),
  },
  {
    name: 'fused-sparse-dist',
    kind: 'fusedSparseDist',
    // lookup(i+1) starts when batch i's embedding backward and step are done (right after
    // forward i: the dense backward and step run under it) and dist(i+1) (started at
    // forward i) has arrived; forward i+1 waits for it and for the dense step.
    bound: (c) =>
      largest([
        ['default', c.fwd + c.bwd + c.opt],
        ['default → lookup', c.fwd + c.fill + c.lookup + c.outputDist],
        ['dataDist → lookup', c.dist + c.fill + c.lookup + c.outputDist],
        ['memcpy', c.copy],
      ]),
  },
  {
    name: 'semi-sync',
    kind: 'semiSync',
    // lookup(i+1) runs under forward + backward of i; step i waits for it (it reads the
    // tables step i writes).
    bound: (c) =>
      largest([
        ['default', c.fwd + c.bwd + c.opt],
        ['dataDist → lookup → default', c.dist + c.fill + c.lookup + c.outputDist + c.opt],
        ['memcpy', c.copy],
      ]),
  },
];

/**
 * The prefetch pipeline (cached tables): copy i+3, dist i+2 and the fill of i+1 each on
 * their own stream under batch i's compute.
 */
export const PREFETCH_KIND: ComparedKind = {
  name: 'prefetch',
  kind: 'prefetchSparseDist',
  bound: (c) =>
    largest([
      ['default', c.lookup + c.outputDist + c.fwd + c.bwd + c.opt],
      ['prefetch', c.fill],
      ['dataDist', c.dist],
      ['memcpy', c.copy],
    ]),
};

export interface CompareOptions {
  worldSize: number;
  costs: Partial<StageCosts>;
  /** Batches per rank (default 24; the steady state is read over the second half). */
  batches?: number;
  /** Stream of the fused / semi-sync look-ahead lookup (default `data-dist`). */
  embLookupStream?: EmbLookupStream;
  /** Kinds to run (default every one of {@link COMPARED_KINDS}). */
  kinds?: readonly ComparedKind[];
}

export interface KindResult {
  iterationMs: number;
  boundMs: number;
  boundBy: string;
  /** iterationMs ÷ boundMs. */
  ofBound: number;
  /** base's iterationMs ÷ this one's. */
  speedupOverBase: number | null;
}

export interface CompareReport {
  worldSize: number;
  batches: number;
  costs: StageCosts;
  embLookupStream: EmbLookupStream;
  pipelines: Record<string, KindResult>;
}

/** Every stage cost at 0: the start of a cost model the caller fills in. */
export function zeroStageCosts(): StageCosts {
  return { copy: 0, dist: 0, lookup: 0, outputDist: 0, fwd: 0, bwd: 0, opt: 0, fill: 0 };
}

/** Fill the missing stage costs with 0 (and check the given ones). */
export function stageCosts(given: Partial<StageCosts>): StageCosts {
  const c = zeroStageCosts();
  for (const [k, v] of Object.entries(given)) {
    if (!(k in c))
      throw new RangeError(`unknown stage cost '${k}' (known: ${Object.keys(c).join(', ')})`);
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v < 0)
      throw new RangeError(`stage cost ${k} must be a finite number ≥ 0, got ${v}`);
    c[k as keyof StageCosts] = v;
  }
  return c;
}

/** Per-stage times of the scale model for these costs (every rank alike). */
function planCostsOf(c: StageCosts, worldSize: number): PlanCosts {
  const perRank = (v: number) => new Float64Array(worldSize).fill(v);
  return {
    layout: { worldSize, ranksPerHost: worldSize, hosts: 1 },
    lookupForwardMs: perRank(c.lookup),
    lookupBackwardMs: perRank(0),
    analyticMs: perRank(0),
    memoryBytes: perRank(0),
    splitsMs: c.dist / 2,
    inputDistMs: c.dist / 2,
    outputDistMs: c.outputDist,
    gradDistMs: 0,
    denseForwardMs: c.fwd,
    denseBackwardMs: c.bwd,
    allReduceMs: c.opt,
    copyMs: c.copy,
    shards: [],
    analyticMaxMs: 0,
    memoryPerRankBytes: 0,
  };
}

/** Steady-state iteration time of one kind. */
export async function runKind(
  kind: PipelineKind,
  worldSize: number,
  c: StageCosts,
  batches: number,
  embLookupStream: EmbLookupStream,
): Promise<number> {
  // The copy is priced by bytes in the scale model: the fixed `copy` override sets it.
  const costModel = new CostModel({ overrides: { copy: c.copy } });
  const cluster = createSimCluster({
    worldSize,
    costModel,
    collectiveCostModel: costModel.withOverrides({ collective: 0 }),
    hazards: 'off',
    opLogs: false,
    coalesce: true,
    timeoutMs: Infinity,
  });
  const times = await runScaleRanks({
    cluster,
    costs: planCostsOf(c, worldSize),
    spec: scaleModel('small'),
    kind,
    batches,
    embLookupStream,
    cacheFillMs: c.fill,
  });
  return steadyIterationMs(times);
}

/**
 * Run every kind and compare (see the module doc).
 *
 * @example
 * const { pipelines } = await comparePipelines({ worldSize: 8, costs: { dist: 6, lookup: 4, fwd: 2, bwd: 3, opt: 2 } });
 */
export async function comparePipelines(o: CompareOptions): Promise<CompareReport> {
  const costs = stageCosts(o.costs);
  const batches = o.batches ?? 24;
  const embLookupStream = o.embLookupStream ?? 'data-dist';
  const pipelines: Record<string, KindResult> = {};
  // prefetch is compared when a cache is configured (a fill cost)
  const kinds = o.kinds ?? (costs.fill > 0 ? [...COMPARED_KINDS, PREFETCH_KIND] : COMPARED_KINDS);
  for (const k of kinds) {
    const iterationMs = await runKind(k.kind, o.worldSize, costs, batches, embLookupStream);
    const bound = k.bound(costs);
    pipelines[k.name] = {
      iterationMs: round(iterationMs),
      boundMs: round(bound.ms),
      boundBy: bound.by,
      ofBound: round(bound.ms > 0 ? iterationMs / bound.ms : 1),
      speedupOverBase: null,
    };
  }
  const base = pipelines.base?.iterationMs;
  for (const r of Object.values(pipelines))
    r.speedupOverBase = base && r.iterationMs > 0 ? round(base / r.iterationMs) : null;
  return { worldSize: o.worldSize, batches, costs, embLookupStream, pipelines };
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}
