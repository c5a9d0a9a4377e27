/**
 * A hand-written event log of a sparse-dist pipeline, at known virtual times, for the
 * timeline, trace and inspector tests (no pipeline needed).
 *
 * Per rank, batch i (period 10 ms, rank r shifted by r · 0.5 ms):
 * ```
 * memcpy    copy(i)            [10i,     10i+4]
 * dataDist  dist(i) splits     [10i+4,   10i+6]   data [10i+6, 10i+9]   (module 'sparse')
 * default   forward(i)         [10i+10,  10i+13]
 *           backward(i)        [10i+13,  10i+17]
 *           optimizer(i)       [10i+17,  10i+19]  with optimizer.step at 10i+18
 * ```
 * so copy(i+1) overlaps forward(i) and dist(i+1) overlaps backward(i). The coordinator's
 * `actor.state` events walk awaitingBatch → forward → startingNextDist → backward →
 * optimizerStep → ready for each batch.
 */
import type { PipelineEvent } from '../../src/protocol/index.ts';

export interface ScriptedRunOptions {
  ranks?: number;
  batches?: number;
  /** Also emit a second sharded module 'sparse2' whose dist overlaps the first one. */
  twoModules?: boolean;
}

export function scriptedRun(options: ScriptedRunOptions = {}): PipelineEvent[] {
  const ranks = options.ranks ?? 2;
  const batches = options.batches ?? 3;
  const out: PipelineEvent[] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const shift = rank * 0.5;
    const at = (t: number) => t + shift;
    out.push({ type: 'actor.state', rank, t: at(0), actor: 'coordinator', from: '', to: 'idle' });
    out.push({ type: 'pipeline.connect', rank, t: at(0) });
    out.push({
      type: 'actor.state',
      rank,
      t: at(0),
      actor: 'coordinator',
      from: 'idle',
      to: 'connecting',
    });
    let state = 'connecting';
    const go = (t: number, to: string) => {
      out.push({ type: 'actor.state', rank, t: at(t), actor: 'coordinator', from: state, to });
      state = to;
    };
    for (let i = 0; i < batches; i++) {
      const b = 10 * i;
      out.push({ type: 'batch.fetched', rank, t: at(b), batch: i });
      out.push({ type: 'copy.start', rank, t: at(b), batch: i });
      out.push({ type: 'copy.end', rank, t: at(b + 4), batch: i });
      out.push({ type: 'dist.start', rank, t: at(b + 4), batch: i, module: 'sparse' });
      out.push({ type: 'dist.splits', rank, t: at(b + 6), batch: i, module: 'sparse' });
      out.push({ type: 'dist.end', rank, t: at(b + 9), batch: i, module: 'sparse' });
      if (options.twoModules) {
        out.push({ type: 'dist.start', rank, t: at(b + 5), batch: i, module: 'sparse2' });
        out.push({ type: 'dist.end', rank, t: at(b + 8), batch: i, module: 'sparse2' });
      }
      go(b + 10, 'progressing.awaitingBatch');
      go(b + 10, 'progressing.forward');
      out.push({ type: 'forward.start', rank, t: at(b + 10), batch: i });
      out.push({ type: 'forward.end', rank, t: at(b + 13), batch: i });
      go(b + 13, 'progressing.startingNextDist');
      go(b + 13, 'progressing.backward');
      out.push({ type: 'backward.start', rank, t: at(b + 13), batch: i });
      out.push({ type: 'backward.end', rank, t: at(b + 17), batch: i });
      go(b + 17, 'progressing.optimizerStep');
      out.push({ type: 'optimizer.start', rank, t: at(b + 17), batch: i });
      out.push({ type: 'optimizer.step', rank, t: at(b + 18), batch: i, microBatches: 1 });
      out.push({ type: 'optimizer.end', rank, t: at(b + 19), batch: i });
      go(b + 19, 'ready');
    }
  }
  // Merge the ranks in time order (stable: within a rank, emission order is kept).
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.t - b.e.t || a.i - b.i)
    .map(({ e }) => e);
}
