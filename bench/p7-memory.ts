/**
 * P7 (docs/design.md "Performance targets"): memory stays flat.
 *
 * 1. Heap over 100k simulated iterations (shapes-only model, world 1, actor pipeline,
 *    coalescing scheduler, op log off, hazard checker on as by default): `heapUsed` after a
 *    forced GC at 10 %, 50 % and 100 % of the run; growth from 10 % to 100 % must be ≤ 5 %.
 * 2. `tf.memory().numTensors` over 1k real iterations (a tiny real DLRM on wasm, world 1,
 *    TfjsDevice): no growth between iteration 10 and iteration 1,000.
 *
 * Needs `--expose-gc`: run with `node --expose-gc --import tsx bench/p7-memory.ts [--quick]`
 * (`npm run bench` does).
 */
import * as tf from '@tensorflow/tfjs';
import { runSim, useBackend } from './lib/sim-run.ts';
import { fmt, isQuick, writeReport } from './lib/report.ts';
import { TfjsDevice } from '../src/runtime/tfjs-device.ts';
import { createSimProcessGroups } from '../src/runtime/collectives/sim-process-group.ts';
import { SimScheduler } from '../src/runtime/sim/sim-scheduler.ts';
import { batchSpecFor, buildDlrmRank, smallDlrmConfig } from '../src/models/dlrm-rank.ts';
import { SyntheticClickLog } from '../src/data/synthetic.ts';
import { TrainPipelineSparseDist } from '../src/pipeline/train-pipeline.ts';

const quick = isQuick();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('p7-memory needs --expose-gc: node --expose-gc --import tsx bench/p7-memory.ts');
  process.exit(2);
}
await useBackend('wasm');

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

// ── 1. heap over N sim iterations ───────────────────────────────────────────────────
const N = quick ? 10_000 : 100_000;
const checkpoints = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0].map((f) =>
  Math.round(f * N),
);
const heap = new Map<number, number>();
const started = performance.now();
const sim = await runSim({
  runner: 'actor',
  model: 'shapes',
  dense: 'none',
  worldSize: 1,
  costs: 'copy=2,dist=5,fwd=3,bwd=4,opt=1',
  batches: N,
  coalesce: true,
  hazards: 'report',
  onIteration: (i) => {
    if (checkpoints.includes(i)) heap.set(i, heapAfterGc());
  },
});
const simWallS = (performance.now() - started) / 1000;
const h10 = heap.get(checkpoints[0])!;
const h50 = heap.get(checkpoints[4])!;
const h100 = heap.get(checkpoints[9])!;
const growth = (h100 - h10) / h10;

// ── 2. tensors over 1k real iterations ──────────────────────────────────────────────
const REAL = quick ? 200 : 1000;
const config = smallDlrmConfig({ bottom: [16, 8], top: [16, 1], embeddingDim: 8 });
const device = new TfjsDevice({ rank: 0 });
const [pg] = createSimProcessGroups({ worldSize: 1, scheduler: new SimScheduler() });
const rank = buildDlrmRank({ pg, device, config });
const pipeline = new TrainPipelineSparseDist({
  model: rank.model,
  optimizer: rank.optimizer,
  device,
  pg,
  batchSpec: batchSpecFor(config),
});
const data = new SyntheticClickLog({
  seed: 5,
  features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
});
const pool = [...data.batches(64, { count: 50 })];
function* cycle() {
  for (let i = 0; i < REAL; i++) yield pool[i % pool.length];
}
const tensorsAt = new Map<number, number>();
let it = 0;
const realStart = performance.now();
for await (const _ of pipeline.run(cycle())) {
  it++;
  if (it === 10 || it === Math.round(REAL / 2) || it === REAL)
    tensorsAt.set(it, tf.memory().numTensors);
}
const realWallS = (performance.now() - realStart) / 1000;
pipeline.dispose();
const t10 = tensorsAt.get(10)!;
const tEnd = tensorsAt.get(REAL)!;

const mb = (b: number) => fmt(b / 2 ** 20, 2);
writeReport({
  name: 'p7-memory',
  title: 'P7 — memory: heap over sim iterations, tensors over real iterations',
  command: `node --expose-gc --import tsx bench/p7-memory.ts${quick ? ' --quick' : ''}`,
  columns: ['measure', 'at 10 %', 'at 50 %', 'at 100 %', 'growth 10 % → 100 %', 'target', 'met'],
  rows: [
    [
      `heapUsed after GC, ${N.toLocaleString('en')} sim iterations (MiB)`,
      mb(h10),
      mb(h50),
      mb(h100),
      `${fmt(growth * 100, 2)} %`,
      '≤ 5 %',
      growth <= 0.05 ? '✓' : '✗',
    ],
    [
      `tf.memory().numTensors, ${REAL} real iterations (wasm)`,
      `${t10} (it. 10)`,
      String(tensorsAt.get(Math.round(REAL / 2))),
      String(tEnd),
      String(tEnd - t10),
      '0',
      tEnd - t10 <= 0 ? '✓' : '✗',
    ],
  ],
  summary: {
    heap:
      growth <= 0.05 ? `flat: ${fmt(growth * 100, 2)} % growth` : `grows ${fmt(growth * 100, 2)} %`,
    tensors: tEnd - t10 <= 0 ? 'flat: 0 tensors gained' : `${tEnd - t10} tensors gained`,
  },
  notes: [
    `Heap samples (MiB) at every 10 %: ${checkpoints.map((c) => mb(heap.get(c)!)).join(', ')}.`,
    `Sim run: ${sim.rankIterations.toLocaleString('en')} iterations in ${fmt(simWallS, 0)} s wall; real run: ${REAL} iterations of a DLRM (4 tables × 1000 × 8, MLPs 16-8 / 16-1, batch 64) in ${fmt(realWallS, 1)} s.`,
  ],
  data: { heap: Object.fromEntries(heap), tensors: Object.fromEntries(tensorsAt) },
  headlines: [
    {
      id: 'P7',
      what: `heap over ${N.toLocaleString('en')} sim iterations`,
      target: '≤ 5 % growth',
      result: `${fmt(growth * 100, 2)} %`,
      met: growth <= 0.05,
    },
    {
      id: 'P7',
      what: `tf.memory().numTensors over ${REAL} real iterations`,
      target: '0 growth',
      result: `${tEnd - t10}`,
      met: tEnd - t10 <= 0,
    },
  ],
});
