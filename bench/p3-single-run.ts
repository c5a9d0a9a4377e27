/**
 * One whole-process run of P3's workload (reference DLRM, batch 512, wasm, world 1) with
 * one runner, for timing whole processes side by side:
 *
 *   node --import tsx bench/p3-single-run.ts actor 30
 *   node --import tsx bench/p3-single-run.ts direct 30
 */
import { RealSession } from './lib/real-run.ts';
import { referenceDlrmConfig } from '../src/models/dlrm-rank.ts';

const runner = process.argv[2] === 'direct' ? 'direct' : 'actor';
const batches = Number(process.argv[3] ?? 30);
const session = await RealSession.create({ config: referenceDlrmConfig(), globalBatch: 512 });
const r = await session.run(runner, { warmup: 2, measured: batches });
console.log(
  JSON.stringify({
    runner,
    batches,
    wallMsPerIteration: r.wallMs / batches,
    cpuMsPerIteration: r.cpuMs / batches,
  }),
);
