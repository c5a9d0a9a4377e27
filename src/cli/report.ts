/**
 * The end-of-run report printed on stdout: what ran, the loss (first / last / min, and the
 * whole curve as a sparkline with its worst point, so a spike cannot hide), held-out
 * quality, throughput, the steady-state iteration time (labelled simulated or wall), what
 * the simulated times are based on, how busy each stream was, the parameter digest and the
 * files written.
 *
 * @example
 * for (const line of formatReport(summary, ['summary.json'])) console.log(line);
 */
import { CostModel } from '../runtime/sim/cost-model.ts';
import { sparkline } from './sparkline.ts';
import type { TrainSummary } from './summary.ts';

const f = (x: number | null, digits = 4): string => (x === null ? 'n/a' : x.toFixed(digits));
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** e.g. `blas: OpenBLAS 0.3.21 (Cooperlake), 1 thread per rank (--dense-math auto)`. */
function describeDenseMath(d: TrainSummary['denseMath']): string {
  const asked = `--dense-math ${d.requested}`;
  if (d.engine === 'blas')
    return `blas: ${d.library ?? 'OpenBLAS'}, ${d.threads} thread${d.threads === 1 ? '' : 's'} per rank (${asked})`;
  if (d.engine === 'wasm')
    return `wasm: tfjs's own kernels (${asked}${d.fallbackReason ? `; ${d.fallbackReason}` : ''})`;
  return `the device's own kernels (${asked}${d.fallbackReason ? `; ${d.fallbackReason}` : ''})`;
}

export function formatReport(s: TrainSummary, written: readonly string[]): string[] {
  const o = s.options;
  const data = o.data === 'synthetic' ? 'synthetic data' : o.data;
  const lines = [
    `sparsepipe train: ${o.model} (${o.modelSize}) on ${data}, ${o.ranks} rank${o.ranks === 1 ? '' : 's'} (${o.backend} backend, ${o.device} device), pipeline ${o.pipeline}`,
    `  batches     ${s.batchesThisRun} this run (${s.examplesThisRun} examples)` +
      (s.firstBatch > 0
        ? `, ${s.batchesTrained} in all from checkpoint batch ${s.firstBatch}`
        : '') +
      `; global batch ${o.batchSize}, grad-accum ${o.gradAccum} (${o.gradAccumSchedule}), ${o.optimizer} lr ${o.lr}, seed ${o.seed}`,
  ];
  if (s.losses.length > 0) {
    lines.push(
      `  loss        first ${f(s.losses[0])}  last ${f(s.losses[s.losses.length - 1])}  min ${f(Math.min(...s.losses))}  (global batch mean)`,
    );
    const worst = s.losses.reduce((w, v, i) => (v > s.losses[w] ? i : w), 0);
    lines.push(
      `  curve       ${sparkline(s.losses)}  (${s.losses.length} batches; max ${f(s.losses[worst])} at batch ${s.firstBatch + worst})`,
    );
  }
  if (s.heldOutLoss !== null) {
    const bayes = s.bayesOptimalLoss !== null ? `, Bayes-optimal ${f(s.bayesOptimalLoss)}` : '';
    lines.push(
      `  held-out    loss ${f(s.heldOutLoss)}  AUC ${f(s.auc)}  (${s.heldOutExamples} examples${bayes})`,
    );
  }
  const iter =
    s.iterationMs === null
      ? 'n/a'
      : `${s.iterationMs.toFixed(3)} ${s.iterationClock === 'virtual' ? 'simulated ms' : 'ms'} (median of the second half)`;
  lines.push(
    `  throughput  ${Math.round(s.examplesPerSecond).toLocaleString('en-US')} examples/s (wall, training only); iteration ${iter}`,
  );
  lines.push(
    `  time        wall ${(s.wallMs / 1000).toFixed(2)} s (training ${(s.trainWallMs / 1000).toFixed(2)} s)` +
      (s.simulatedMs !== null
        ? `; simulated ${s.simulatedMs.toFixed(3)} ms (the sim device's clock)`
        : ''),
  );
  if (o.device === 'sim') lines.push(`  sim cost    ${costModelNote(o.cost)}`);
  const b = s.streamBusy;
  lines.push(
    `  streams     busy memcpy ${pct(b.memcpy)}  dataDist ${pct(b.dataDist)}  default ${pct(b.default)}  (of ${s.iterationClock} training time, mean over ranks)`,
  );
  if (s.skippedRows !== null) lines.push(`  data        ${s.skippedRows} malformed rows skipped`);
  if (s.cache) {
    const c = s.cache;
    lines.push(
      `  cache       hit rate ${pct(c.hitRate)}: ${c.hits} hits, ${c.misses} misses, ${c.evictions} evictions, ${c.writeBacks} write-backs`,
    );
  }
  if (s.checkpoint.pendingMicroBatches > 0) {
    lines.push(
      `  checkpoint  stopped mid accumulation window: ${s.checkpoint.pendingMicroBatches} micro-batch(es) held for the resumed run`,
    );
  }
  lines.push(`  dense math  ${describeDenseMath(s.denseMath)}`);
  lines.push(`  params      sha256 ${s.paramsDigest}`);
  if (written.length > 0) lines.push(`  wrote       ${written.join(', ')}`);
  return lines;
}

/**
 * One line on what the simulated times are made of.
 *
 * @example
 * costModelNote(''); // 'default cost model: a nominal accelerator (copies 12 GB/s + 10 µs, …); --cost sets stage times'
 */
export function costModelNote(cost: string): string {
  if (cost !== '') return `fixed stage times from --cost ${cost} (ms per op)`;
  const m = new CostModel().options();
  const gbps = (bytesPerMs: number) => `${+(bytesPerMs / 1e6).toPrecision(3)} GB/s`;
  const us = (ms: number) => `${+(ms * 1000).toPrecision(3)} µs`;
  return (
    `default cost model: a nominal accelerator (copies ${gbps(m.copyBytesPerMs)} + ${us(m.latencyMs)}, ` +
    `compute ${+(m.flopsPerMs / 1e9).toPrecision(3)} TFLOP/s, collectives ${us(m.alphaMs)} + ${gbps(m.betaBytesPerMs)}); ` +
    '--cost sets stage times (docs/simulation.md)'
  );
}
