/**
 * The sharded EBC gives its all-to-all sends up (`donate`): at world 1 the received pooled
 * rows, ids and gradients are the very arrays it sent, so no batch's buffers may be shared
 * with, or written by, another batch in flight. Every pipeline kind — those with look-ahead
 * (fused sparse dist, semi-sync, prefetch) keep several batches in flight — trains bit for
 * bit as with donation switched off (every exchange a copy), on one and two ranks, with and
 * without feature processors; counters prove the world-1 runs took the uncopied path and
 * that send buffers were reused (send-buffer-pool.ts), against fresh buffers every batch.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { sendBufferPool } from '../../src/modules/sharding/send-buffer-pool.ts';
import { simDonation } from '../../src/runtime/collectives/sim-process-group.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);
afterEach(() => {
  simDonation.enabled = true;
  sendBufferPool.enabled = true;
});

function bits(a: ArrayLike<number>): string {
  return Buffer.from(Float64Array.from(a).buffer).toString('hex');
}

async function train(kind: PipelineKind, worldSize: number, processors: boolean) {
  const config = tinyConfig({ optimizer: 'adagrad' });
  const { ranks } = buildCluster(kind, worldSize, config, {}, processors);
  const data = syntheticFor(config);
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: string[] = [];
      for await (const x of r.pipeline.run(localBatches(data, 32, 7, rank, worldSize)))
        outs.push(`${x.batch} ${x.loss} ${bits(x.output)}`);
      return outs;
    }),
  );
  const params = ranks.map((r) =>
    Object.entries(allParams(r)).map(([name, p]) => `${name} ${bits(p)}`),
  );
  for (const r of ranks) r.ebc.close();
  return { outputs, params };
}

const kinds: PipelineKind[] = [
  'sparseDist',
  'fusedSparseDist',
  'semiSync',
  'prefetchSparseDist',
  'base',
];

describe('donated all-to-all sends', () => {
  for (const worldSize of [1, 2])
    for (const kind of kinds)
      it(`${kind}, world ${worldSize}: donated equals copied, bit for bit`, async () => {
        for (const processors of [false, true]) {
          const before = simDonation.aliased;
          const reused = sendBufferPool.reused;
          const donated = await train(kind, worldSize, processors);
          const aliased = simDonation.aliased - before;
          // send buffers came back (world 1: released by the dense step) and were reused
          expect(sendBufferPool.reused - reused).toBeGreaterThan(0);
          simDonation.enabled = false;
          sendBufferPool.enabled = false;
          const copied = await train(kind, worldSize, processors);
          simDonation.enabled = true;
          sendBufferPool.enabled = true;
          expect(donated.outputs[0].length).toBe(7);
          expect(donated).toEqual(copied);
          // world 1: input dist (lengths, ids, + weights with processors), output dist
          // and gradient dist of every batch, uncopied
          if (worldSize === 1) expect(aliased).toBeGreaterThanOrEqual(7 * (processors ? 5 : 4));
          else expect(aliased).toBe(0);
        }
      });
});
