/**
 * Drain (a defect of the seed fixed): with N batches, exactly N are trained, each once;
 * then `progress` reports done; a second iterator continues training.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import { buildCluster, localBatches, syntheticFor, tinyConfig, useWasm } from './fixtures.ts';

beforeAll(useWasm);

describe('drain', () => {
  for (const kind of ['sparseDist', 'base', 'none'] as const) {
    for (const n of [1, 2, 3, 10]) {
      it(`${kind}: ${n} batches → exactly ${n} trained, each once, then done`, async () => {
        const config = tinyConfig();
        const { ranks } = buildCluster(kind, 1, config);
        const p = ranks[0].pipeline;
        const rec = new EventRecorder().attach(p.events$);
        const batches = localBatches(syntheticFor(config), 8, n, 0, 1);
        const trained: number[] = [];
        for (;;) {
          const r = await p.progress(batches);
          if (r.done === true) {
            expect(r.value.batchesTrained).toBe(n);
            break;
          }
          trained.push(r.value.batch);
        }
        expect(trained).toEqual([...Array(n).keys()]);
        expect(rec.ofType('backward.end').map((e) => e.batch)).toEqual([...Array(n).keys()]);
        // done stays done for the same iterator
        const again = await p.progress(batches);
        expect(again.done).toBe(true);
        expect(rec.ofType('pipeline.exhausted')).toHaveLength(2);
      });
    }
  }

  it('a second iterator continues after exhaustion, numbering batches on', async () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config);
    const p = ranks[0].pipeline;
    const data = syntheticFor(config);
    const first = localBatches(data, 8, 3, 0, 1);
    const second = localBatches(data, 8, 4, 0, 1);
    const a: number[] = [];
    for await (const o of p.run(first)) a.push(o.batch);
    const b: number[] = [];
    for await (const o of p.run(second)) b.push(o.batch);
    expect(a).toEqual([0, 1, 2]);
    expect(b).toEqual([3, 4, 5, 6]);
    expect(p.batchesTrained).toBe(7);
  });

  it('executeAllBatches: false reproduces the seed: N−2 of N batches trained', async () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config, { executeAllBatches: false });
    const outs: number[] = [];
    for await (const o of ranks[0].pipeline.run(localBatches(syntheticFor(config), 8, 6, 0, 1)))
      outs.push(o.batch);
    expect(outs).toEqual([0, 1, 2, 3]);
  });
});
