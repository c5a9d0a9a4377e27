/**
 * Run every rank of a sim cluster through a pipeline of one kind, in shapes only (the
 * scale model of src/models/scale-model.ts, each stage priced by `costs`), and return when
 * each rank's `progress` returned each batch, in virtual ms. `simulate`, `plan` and
 * `compare` all drive their clusters with this, and read the steady state with
 * {@link steadyIterationMs}.
 *
 * @example
 * const cluster = createSimCluster({ worldSize: 2, costModel, coalesce: true, timeoutMs: Infinity });
 * const times = await runScaleRanks({ cluster, costs, spec: scaleModel('small'), kind: 'sparseDist', batches: 12 });
 * steadyIterationMs(times); // the slowest rank's steady iteration, ms
 */
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { buildScaleRank, scaleBatches } from '../models/scale-model.ts';
import type { ScaleModelSpec } from '../modules/scale/model-spec.ts';
import type { PlanCosts } from '../modules/scale/plan-costs.ts';
import { createPipeline } from '../pipeline/look-ahead-pipelines.ts';
import type { EmbLookupStream, Interpreter } from '../pipeline/options.ts';
import type { createSimCluster } from '../runtime/sim/sim-cluster.ts';

export interface RunScaleRanksOptions {
  cluster: ReturnType<typeof createSimCluster>;
  costs: PlanCosts;
  spec: ScaleModelSpec;
  kind: PipelineKind;
  /** Batches per rank. */
  batches: number;
  /** Default `compiled` (the fast interpreter; large worlds need it). */
  interpreter?: Interpreter;
  /** Stream of the fused / semi-sync look-ahead lookup. */
  embLookupStream?: EmbLookupStream;
  /** One batch's cache fill from the slow tier, ms (0: no cache). */
  cacheFillMs?: number;
  /** Called each time `rank` finishes a batch (`done` = batches finished so far on it). */
  onBatch?: (rank: number, done: number, nowMs: number) => void;
}

/**
 * Per rank, the virtual time at which each batch finished; throws when a rank trained fewer
 * batches than asked.
 *
 * @example
 * const [rank0] = await runScaleRanks({ cluster, costs, spec, kind: 'base', batches: 4 });
 * rank0.length; // 4
 */
export async function runScaleRanks(o: RunScaleRanksOptions): Promise<number[][]> {
  const { cluster } = o;
  return Promise.all(
    cluster.devices.map(async (device, rank) => {
      const { model, optimizer } = buildScaleRank({
        rank,
        pg: cluster.pgs[rank],
        distPg: cluster.distPgs[rank],
        device,
        costs: o.costs,
        cacheFillMs: o.cacheFillMs,
      });
      const pipeline = createPipeline(o.kind, {
        model,
        optimizer,
        device,
        pg: cluster.pgs[rank],
        interpreter: o.interpreter ?? 'compiled',
        embLookupStream: o.embLookupStream,
      });
      const done: number[] = [];
      const data = scaleBatches(o.spec, o.batches);
      for (;;) {
        const r = await pipeline.progress(data);
        if (r.done) break;
        done.push(cluster.scheduler.now());
        o.onBatch?.(rank, done.length, cluster.scheduler.now());
      }
      pipeline.dispose();
      if (done.length !== o.batches)
        throw new Error(`rank ${rank} trained ${done.length} of ${o.batches} batches`);
      return done;
    }),
  );
}

/**
 * The slowest rank's median gap between `progress` returns over the second half of the run.
 *
 * @example
 * steadyIterationMs([[0, 5, 10, 15, 20]]); // 5
 */
export function steadyIterationMs(times: readonly (readonly number[])[]): number {
  let worst = 0;
  for (const t of times) {
    const gaps = t.slice(1).map((x, i) => x - t[i]);
    const second = gaps.slice(Math.floor(gaps.length / 2)).sort((a, b) => a - b);
    const n = second.length;
    if (n === 0) continue;
    worst = Math.max(
      worst,
      n % 2 === 1 ? second[(n - 1) / 2] : (second[n / 2 - 1] + second[n / 2]) / 2,
    );
  }
  return worst;
}
