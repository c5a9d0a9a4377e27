/**
 * P3 (docs/design.md "Performance targets"): real wall-clock training on wasm (`TfjsDevice`), the reference DLRM
 * (8 × 100k × 16, MLPs 512-256-16 / 512-256-1), global batch 512, world 1: the actor
 * pipeline against the direct port of the seed's progress(), on the same model, devices and
 * data. Runs alternate (A B, B A, …); each run times its steady middle (after warm-up,
 * before the drain). Ratio = direct examples/s ÷ actor examples/s = actor time per example
 * ÷ direct time per example; target ≤ 1.02 (the orchestration is noise).
 *
 * The machine may be shared: the verdict uses the median wall-clock examples/s of the
 * alternating runs; beside it are the pooled median iteration time and the rates per CPU
 * second of this process (tfjs wasm runs on one thread here, but GC helper threads count
 * too, so CPU time is a second opinion, not a cleaner one).
 *
 * Run: npx tsx bench/p3-actor-vs-direct.ts [--quick]
 */
import { referenceDlrmConfig } from '../src/models/dlrm-rank.ts';
import { RealSession, type RealRunResult } from './lib/real-run.ts';
import { fmt, isQuick, median, writeReport } from './lib/report.ts';
import type { Runner } from './lib/sim-run.ts';

const quick = isQuick();
const pairs = quick ? 2 : 8;
const measured = quick ? 6 : 15;
const warmup = 3;
const session = await RealSession.create({ config: referenceDlrmConfig(), globalBatch: 512 });
await session.run('direct', { warmup: 2, measured: 2 }); // JIT / wasm warm-up
await session.run('actor', { warmup: 2, measured: 2 });
const runs: RealRunResult[] = [];
for (let i = 0; i < pairs; i++) {
  const order: Runner[] = i % 2 === 0 ? ['actor', 'direct'] : ['direct', 'actor'];
  for (const r of order) runs.push(await session.run(r, { warmup, measured }));
}
const of = (r: Runner) => runs.filter((x) => x.runner === r);
const wall = (r: Runner) => median(of(r).map((x) => x.examplesPerSec));
const cpu = (r: Runner) => median(of(r).map((x) => x.examples / (x.cpuMs / 1000)));
const iter = (r: Runner) => median(of(r).flatMap((x) => x.iterationMs));
const ratioCpu = cpu('direct') / cpu('actor');
const ratioWall = wall('direct') / wall('actor');
const ratioIter = iter('actor') / iter('direct');
// per pair ratios (adjacent runs share the machine's load)
const pairRatios: number[] = [];
for (let i = 0; i < pairs; i++) {
  const [p, q] = [runs[2 * i], runs[2 * i + 1]];
  const a = p.runner === 'actor' ? p : q;
  const d = p.runner === 'actor' ? q : p;
  pairRatios.push(d.examplesPerSec / a.examplesPerSec);
}
const TARGET = 1.02;
writeReport({
  name: 'p3-actor-vs-direct',
  title: 'P3 — real (wasm), reference DLRM, batch 512, world 1: actor pipeline vs direct port',
  command: `npx tsx bench/p3-actor-vs-direct.ts${quick ? ' --quick' : ''}`,
  columns: [
    'pipeline',
    'examples/s (wall, median)',
    'examples / CPU s (median)',
    'iteration ms (wall, median)',
    'CPU ms per iteration (median)',
    'runs',
  ],
  rows: (['actor', 'direct'] as const).map((r) => [
    r === 'actor' ? 'actor pipeline (TrainPipelineSparseDist)' : 'direct port of the seed',
    fmt(wall(r), 0),
    fmt(cpu(r), 0),
    fmt(iter(r), 1),
    fmt(median(of(r).map((x) => x.cpuMs / x.batches)), 1),
    of(r).length,
  ]),
  summary: {
    target: `actor ÷ direct time per example ≤ ${TARGET}`,
    verdict: `${ratioWall <= TARGET ? 'met' : 'NOT met'}: ${fmt(ratioWall, 4)} (median examples/s, wall); pooled median iteration ${fmt(ratioIter, 4)}; CPU time ${fmt(ratioCpu, 4)}`,
    'per-pair wall ratios (direct ÷ actor examples/s)': pairRatios.map((x) => Number(x.toFixed(4))),
  },
  notes: [
    `${pairs} alternating pairs, each run ${warmup} warm-up + ${measured} timed + 2 drain batches of 512; the same model keeps training across runs.`,
    'Ratio > 1 means the actor pipeline is slower. Wall-clock numbers move with other load on the (shared, 2-core) machine; CPU time is this process only.',
  ],
  data: runs,
  headlines: [
    {
      id: 'P3',
      what: 'real wasm, reference DLRM, batch 512, world 1: actor ÷ direct port (time per example)',
      target: `≤ ${TARGET}`,
      result: `${fmt(ratioWall, 4)} wall examples/s (median iteration ${fmt(ratioIter, 4)}, CPU ${fmt(ratioCpu, 4)})`,
      met: ratioWall <= TARGET,
    },
  ],
});
