/**
 * Pausing the ranks of one job together: every rank stops at the same iteration boundary
 * (none is left inside an iteration waiting for a paused peer), a step runs exactly one
 * iteration on every rank, and resume trains the rest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { TrainPipeline } from '../../src/pipeline/train-pipeline.ts';
import { buildCluster, localBatches, syntheticFor, tinyConfig, useWasm } from './fixtures.ts';

beforeAll(useWasm);

describe('TrainPipeline.pauseTogether', () => {
  for (const afterBatches of [0, 1, 3]) {
    it(`world 2, paused after rank 0 trained ${afterBatches}: both ranks hold at the same boundary; step = one batch each`, async () => {
      const config = tinyConfig();
      const { ranks } = buildCluster('sparseDist', 2, config, { timeoutMs: Infinity });
      const pipelines = ranks.map((r) => r.pipeline);
      const data = syntheticFor(config);
      const counts = [0, 0];
      let paused = afterBatches === 0;
      if (paused) TrainPipeline.pauseTogether(pipelines);
      const runs = ranks.map(async (r, rank) => {
        for await (const _ of r.pipeline.run(localBatches(data, 16, 10, rank, 2))) {
          counts[rank]++;
          // pause from inside rank 0's loop: rank 1 is somewhere else in its iteration
          if (!paused && rank === 0 && counts[0] === afterBatches) {
            paused = true;
            TrainPipeline.pauseTogether(pipelines);
          }
        }
      });
      const held = await Promise.all(
        pipelines.map((p) =>
          waitFor(p.coordinator, (s) => s.matches('paused'), { timeout: 20_000 }),
        ),
      );
      const at = held.map((s) => s.context.batchesTrained);
      expect(at[0]).toBe(at[1]);
      expect(at[0]).toBeGreaterThanOrEqual(afterBatches);
      pipelines.forEach((p) => p.step());
      const after = await Promise.all(
        pipelines.map((p) =>
          waitFor(
            p.coordinator,
            (s) => s.matches('paused') && s.context.batchesTrained === at[0] + 1,
            { timeout: 20_000 },
          ),
        ),
      );
      expect(after.map((s) => s.context.batchesTrained)).toEqual([at[0] + 1, at[0] + 1]);
      pipelines.forEach((p) => p.resume());
      await Promise.all(runs);
      expect(counts).toEqual([10, 10]);
    });
  }
});
