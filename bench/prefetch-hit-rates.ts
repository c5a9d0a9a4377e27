/**
 * Prefetch pipeline vs sparse-dist with the same cached tables, on the simulator with a slow
 * tier, over a sweep of cache sizes (hit rates). Sparse-dist fills a batch's missed rows on
 * the compute stream right before its lookup (the misses are exposed); the prefetch pipeline
 * fills batch i+1's rows on its own stream while batch i computes. Both train bit for bit
 * the same (tests: test/pipeline/prefetch.test.ts).
 *
 *   npx tsx bench/prefetch-hit-rates.ts [--quick]
 *
 * Model: the small DLRM (4 tables × 1000 rows × dim 8, row-wise Adagrad), world 2, global
 * batch 256, synthetic data. Costs: `--cost copy=1,dist=2,fwd=3,bwd=4,opt=1` and a slow
 * tier of 20,000 or 4,000 B/ms (a missed row moves 36 B). Iteration time = median virtual ms between
 * consecutive iterations over the second half of the run; bound = max(copy, dist, fwd+bwd+opt).
 */
import { CostModel, parseCostOverrides } from '../src/runtime/sim/cost-model.ts';
import { smallDlrmConfig } from '../src/models/dlrm-config.ts';
import { simulateCluster } from '../src/testing/simulate-cluster.ts';
import type { PipelineKind } from '../machines/coordinator-types.ts';
import { useBackend } from './lib/sim-run.ts';
import { fmt, isQuick, median, writeReport } from './lib/report.ts';

const quick = isQuick();
await useBackend('wasm');
const COST = 'copy=1,dist=2,fwd=3,bwd=4,opt=1';
const SLOW_TIERS = [20_000, 4_000];
const BOUND = Math.max(1, 2, 3 + 4 + 1);
const fractions = quick ? [0.02, 0.1, 0.5, 1] : [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
const batches = quick ? 12 : 24;

async function run(kind: PipelineKind, fraction: number, slowTierBytesPerMs: number) {
  const costModel = new CostModel({
    slowTierBytesPerMs,
    overrides: parseCostOverrides(COST),
  });
  const result = await simulateCluster({
    worldSize: 2,
    costModel,
    batches,
    globalBatchSize: 256,
    seed: 3,
    pipeline: kind,
    dlrm: {
      optimizer: 'adagrad',
      tables: smallDlrmConfig().tables.map((t) => ({ ...t, cache: { fraction } })),
    },
  });
  if (!result.ok) throw new Error(`${kind} at ${fraction}: a rank failed`);
  const t = result.ranks[0].outputs.map((o) => o.t);
  const gaps = t.slice(1).map((x, i) => x - t[i]);
  let hits = 0;
  let misses = 0;
  for (const e of result.log)
    if (e.type === 'cache.fill') {
      hits += e.hits;
      misses += e.misses;
    }
  for (const p of result.pipelines) p.dispose();
  return {
    iterationMs: median(gaps.slice(Math.floor(gaps.length / 2))),
    hitRate: hits / Math.max(1, hits + misses),
  };
}

const rows: Array<Array<string | number>> = [];
const data: unknown[] = [];
let best = 0;
for (const tier of SLOW_TIERS)
  for (const fraction of fractions) {
    const sparse = await run('sparseDist', fraction, tier);
    const prefetch = await run('prefetchSparseDist', fraction, tier);
    const speedup = sparse.iterationMs / prefetch.iterationMs;
    best = Math.max(best, speedup);
    rows.push([
      tier,
      `${fraction * 100} %`,
      fmt(sparse.hitRate, 3),
      fmt(sparse.iterationMs, 3),
      fmt(prefetch.iterationMs, 3),
      fmt(prefetch.iterationMs / BOUND, 3),
      fmt(speedup, 3),
    ]);
    data.push({ slowTierBytesPerMs: tier, fraction, sparse, prefetch });
  }
writeReport({
  name: 'prefetch-hit-rates',
  title: 'Prefetch pipeline vs sparse-dist, same cached tables, over cache sizes (sim, world 2)',
  command: `npx tsx bench/prefetch-hit-rates.ts${quick ? ' --quick' : ''}`,
  columns: [
    'slow tier B/ms',
    'cache (of rows)',
    'hit rate',
    'sparse-dist iteration ms',
    'prefetch iteration ms',
    'prefetch ÷ bound',
    'sparse-dist ÷ prefetch',
  ],
  rows,
  summary: { boundMs: BOUND, bestSpeedup: Number(best.toFixed(3)) },
  notes: [
    `--cost ${COST}; bound = max(copy, dist, fwd+bwd+opt) = ${BOUND} ms (without fills).`,
    "sparse-dist pays each batch's fill on the compute stream; prefetch hides it under the previous batch's compute while fill ≤ compute, and is bound by the fill beyond.",
  ],
  data,
});
