/**
 * The equivalences of docs/design.md "Numerics" through the CLI: the logical parameters (and their digest) do
 * not depend on the pipeline kind, and N ranks equal 1 rank at the same global batch.
 */
import { describe, expect, it } from 'vitest';
import type { TrainSummary } from '../../src/cli/summary.ts';
import { trainSummary, withTmp } from './run-cli.ts';

const BASE = ['--batch-size', '32', '--held-out-examples', '64', '--batches', '6'];

function maxRelParamDiff(a: TrainSummary, b: TrainSummary): number {
  expect(Object.keys(a.params)).toEqual(Object.keys(b.params));
  let worst = 0;
  for (const [name, p] of Object.entries(a.params)) {
    const q = b.params[name];
    expect(q.shape, name).toEqual(p.shape);
    for (const k of ['l2', 'sum'] as const) {
      const d = Math.abs(p[k] - q[k]) / Math.max(1e-6, Math.abs(p[k]), Math.abs(q[k]));
      worst = Math.max(worst, d);
    }
  }
  return worst;
}

describe('CLI equivalences', () => {
  it('--pipeline none, base and sparse-dist give the same paramsDigest and losses', async () => {
    await withTmp(async (dir) => {
      const runs: Array<Awaited<ReturnType<typeof trainSummary>>> = [];
      for (const pipeline of ['none', 'base', 'sparse-dist'])
        runs.push(
          await trainSummary(dir, pipeline, [
            ...BASE,
            '--ranks',
            '2',
            '--pipeline',
            pipeline,
            '--grad-accum',
            '2',
          ]),
        );
      expect(runs[1].paramsDigest).toBe(runs[0].paramsDigest);
      expect(runs[2].paramsDigest).toBe(runs[0].paramsDigest);
      expect(runs[2].losses).toEqual(runs[0].losses);
      expect(runs[2].heldOutLoss).toBe(runs[0].heldOutLoss);
    });
  });

  it('--ranks 1 and --ranks 4 at the same global batch give the same parameters (l2 and sum within 1e-5)', async () => {
    await withTmp(async (dir) => {
      const one = await trainSummary(dir, 'one', [...BASE, '--ranks', '1']);
      const four = await trainSummary(dir, 'four', [...BASE, '--ranks', '4']);
      expect(maxRelParamDiff(one, four)).toBeLessThan(1e-5);
      four.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i], 5));
      expect(four.heldOutLoss!).toBeCloseTo(one.heldOutLoss!, 5);
      // The digests differ: dense gradients are averaged over 4 replicas in another float
      // summation order than one rank's mean over the whole batch (observed, not required).
    });
  });

  it('--device sim and --device wasm (same in-process ranks on the wall clock) train identically', async () => {
    await withTmp(async (dir) => {
      const sim = await trainSummary(dir, 'sim', [...BASE, '--ranks', '2']);
      const wasm = await trainSummary(dir, 'wasm', [...BASE, '--ranks', '2', '--device', 'wasm']);
      expect(wasm.paramsDigest).toBe(sim.paramsDigest);
      expect(wasm.iterationClock).toBe('wall');
      expect(wasm.simulatedMs).toBeNull();
    });
  });
});
