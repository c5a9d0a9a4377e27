/**
 * Reference timelines from a small deterministic sim run (world 2, the small DLRM,
 * `--cost copy=2,dist=5,fwd=3,bwd=4,opt=1`, 8 batches of 16): one SVG per pipeline kind,
 * side by side in `visualizations/generated/`, so the overlap of TrainPipelineSparseDist
 * (copy and dist of later batches under the compute of this one) can be seen against
 * TrainPipelineBase and the non-pipelined trainer, plus the Chrome trace of the sparse-dist run.
 *
 * Run: `npx tsx bench/reference-timelines.ts [--out DIR]`.
 *
 * @example
 * const files = await generateReferenceTimelines('visualizations/generated');
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { PipelineKind } from '../machines/coordinator-types.ts';
import { CostModel, parseCostOverrides } from '../src/runtime/index.ts';
import { simulateCluster, type SimulateClusterOptions } from '../src/testing/simulate-cluster.ts';
import { Batch } from '../src/tensors/index.ts';
import { smallDlrmConfig, type DlrmConfig } from '../src/models/dlrm-config.ts';
import { toChromeTrace } from '../src/trace/chrome-trace.ts';
import { GENERATED_DIR } from '../visualizations/charts/generate.ts';
import { renderTimelineSvg } from '../visualizations/timeline/render-timeline-svg.ts';

export const REFERENCE_COST = 'copy=2,dist=5,fwd=3,bwd=4,opt=1';

/** The prefetch run's tables: in a slow tier behind a cache of a quarter of the rows; fills cost 3 ms. */
const PREFETCH_COST = `${REFERENCE_COST},fill=3`;

const RUNS: ReadonlyArray<{
  kind: PipelineKind;
  file: string;
  title: string;
  cost?: string;
  dlrm?: Partial<DlrmConfig>;
  staged?: SimulateClusterOptions['staged'];
  lookAhead?: SimulateClusterOptions['lookAhead'];
}> = [
  { kind: 'sparseDist', file: 'timeline-sparse-dist.svg', title: 'TrainPipelineSparseDist' },
  { kind: 'base', file: 'timeline-base.svg', title: 'TrainPipelineBase' },
  { kind: 'none', file: 'timeline-none.svg', title: 'NonPipelinedTrainer' },
  {
    kind: 'fusedSparseDist',
    file: 'timeline-fused-sparse-dist.svg',
    title: 'TrainPipelineFusedSparseDist (lookup of i+1 on its own stream under step i)',
    cost: `${REFERENCE_COST},lookup=2`,
    lookAhead: { embLookupStream: 'new' },
  },
  {
    kind: 'semiSync',
    file: 'timeline-semi-sync.svg',
    title: 'TrainPipelineSemiSync (lookup of i+1 under forward and backward of i)',
    cost: `${REFERENCE_COST},lookup=2`,
    lookAhead: { embLookupStream: 'new', startBatch: 0 },
  },
  {
    kind: 'prefetchSparseDist',
    file: 'timeline-prefetch.svg',
    title: 'TrainPipelinePrefetchSparseDist (cached tables, 25 % of rows)',
    cost: PREFETCH_COST,
    dlrm: {
      tables: smallDlrmConfig().tables.map((t) => ({ ...t, cache: { fraction: 0.25 } })),
    },
  },
  {
    // drawn for the staged pipeline; the kind only names the run
    kind: 'sparseDist',
    file: 'timeline-staged.svg',
    title: 'Staged: copy → halveDense (user, 4 ms) → start/wait sparse data dist',
    staged: {
      stages: () => [
        {
          name: 'halveDense',
          stream: 'memcpy',
          costMs: 4,
          run: (b) =>
            new Batch({
              dense: b.dense.map((x) => x / 2),
              denseDim: b.denseDim,
              sparse: b.sparse,
              labels: b.labels,
            }),
        },
      ],
    },
  },
];

/**
 * Runs the reference sims and writes their timelines (and the sparse-dist Chrome trace);
 * resolves with the files written.
 *
 * @example
 * await generateReferenceTimelines(GENERATED_DIR);
 */
export async function generateReferenceTimelines(
  outDir: string = GENERATED_DIR,
  /** Only these kinds' runs (default: every run, the staged one included). */
  kinds?: readonly PipelineKind[],
): Promise<string[]> {
  if (tf.getBackend() !== 'wasm') {
    await tf.setBackend('wasm');
    await tf.ready();
  }
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const runs = kinds ? RUNS.filter((r) => !r.staged && kinds.includes(r.kind)) : RUNS;
  for (const run of runs) {
    const cost = run.cost ?? REFERENCE_COST;
    const costModel = new CostModel({ overrides: parseCostOverrides(cost) });
    const result = await simulateCluster({
      worldSize: 2,
      costModel,
      batches: 8,
      globalBatchSize: 16,
      seed: 7,
      pipeline: run.kind,
      dlrm: run.dlrm,
      staged: run.staged,
      lookAhead: run.lookAhead,
    });
    if (!result.ok) {
      const failed = result.ranks.find((r) => r.error)?.error;
      throw new Error(
        `reference run '${run.kind}' failed: ${failed?.message ?? 'a rank did not finish'}`,
      );
    }
    const title = `${run.title} · world 2 · sim --cost ${cost} · 8 batches (virtual ms)`;
    const file = join(outDir, run.file);
    writeFileSync(file, renderTimelineSvg(result.log, { title, pxPerMs: 9 }));
    written.push(file);
    if (run.kind === 'sparseDist' && !run.staged) {
      const trace = join(outDir, 'trace-sparse-dist.json');
      writeFileSync(trace, `${JSON.stringify(toChromeTrace(result.log))}\n`);
      written.push(trace);
    }
    for (const p of result.pipelines) p.dispose();
    for (const p of result.stagedPipelines) p.dispose();
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--out');
  const outDir = i >= 0 ? process.argv[i + 1] : GENERATED_DIR;
  for (const f of await generateReferenceTimelines(outDir)) console.log(`wrote ${f}`);
}
