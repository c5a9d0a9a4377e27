/**
 * Parity (TorchRec's own test idea): for the same seed and data, the pipelined run equals
 * the non-pipelined run step by step — every batch's loss and output, and the final
 * parameters of every rank.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

async function runKind(kind: PipelineKind, worldSize: number, batches: number) {
  const config = tinyConfig();
  const { ranks } = buildCluster(kind, worldSize, config);
  const data = syntheticFor(config);
  const perRank = ranks.map((_, r) => localBatches(data, 16, batches, r, worldSize));
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Array<{ batch: number; loss: number; output: number[] }> = [];
      for await (const o of r.pipeline.run(perRank[rank]))
        outs.push({ batch: o.batch, loss: o.loss, output: [...o.output] });
      return outs;
    }),
  );
  return { outputs, params: ranks.map(allParams) };
}

describe('pipelined == non-pipelined', () => {
  for (const worldSize of [1, 2, 4]) {
    it(`world ${worldSize}: sparse-dist and base equal no pipeline, batch by batch and in final parameters`, async () => {
      const reference = await runKind('none', worldSize, 6);
      for (const kind of ['base', 'sparseDist'] as const) {
        const run = await runKind(kind, worldSize, 6);
        expect(run.outputs).toEqual(reference.outputs);
        for (let r = 0; r < worldSize; r++) {
          expect(Object.keys(run.params[r])).toEqual(Object.keys(reference.params[r]));
          for (const [name, values] of Object.entries(reference.params[r])) {
            expect(Array.from(run.params[r][name]), `${kind} rank ${r} ${name}`).toEqual(
              Array.from(values),
            );
          }
        }
      }
    });
  }

  it('training changes the parameters (the comparison above is not vacuous)', async () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config);
    const before = allParams(ranks[0]);
    const data = syntheticFor(config);
    for await (const _ of ranks[0].pipeline.run(localBatches(data, 16, 3, 0, 1))) void _;
    const after = allParams(ranks[0]);
    const changed = Object.keys(before).filter((n) =>
      Array.from(before[n]).some((v, i) => v !== after[n][i]),
    );
    expect(changed.length).toBe(Object.keys(before).length);
  });
});
