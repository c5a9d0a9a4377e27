/**
 * Sparsepipe-only iteration time of the reference DLRM (batch 512, wasm, world 1), for
 * comparing two checkouts side by side on a shared machine: per-iteration wall times over
 * the steady middle, reported as min / median / mean (the min and the median move less
 * than the mean when other processes compete for the cores).
 *
 *   node --import tsx bench/p3-iteration-time.ts [actor|direct] [batches]
 *
 * @example
 * // $ node --import tsx bench/p3-iteration-time.ts actor 30
 * // {"runner":"actor","batches":30,"minMs":…,"medianMs":…,"meanMs":…,"cpuMsPerIteration":…}
 */
import { RealSession } from './lib/real-run.ts';
import { referenceDlrmConfig } from '../src/models/dlrm-rank.ts';

const runner = process.argv[2] === 'direct' ? 'direct' : 'actor';
const batches = Number(process.argv[3] ?? 30);
const session = await RealSession.create({ config: referenceDlrmConfig(), globalBatch: 512 });
const r = await session.run(runner, { warmup: 3, measured: batches });
const sorted = [...r.iterationMs].sort((a, b) => a - b);
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    runner,
    batches,
    minMs: round(sorted[0]),
    medianMs: round(sorted[Math.floor(sorted.length / 2)]),
    meanMs: round(r.wallMs / batches),
    cpuMsPerIteration: round(r.cpuMs / batches),
  }),
);
