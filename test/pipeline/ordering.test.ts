/**
 * Ordering: the event log of a sim run satisfies the seed's happens-before relations, and
 * the same run twice gives the identical log.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { CostModel, parseCostOverrides } from '../../src/runtime/index.ts';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import { buildCluster, localBatches, syntheticFor, tinyConfig, useWasm } from './fixtures.ts';

beforeAll(useWasm);

async function record(worldSize: number): Promise<PipelineEvent[][]> {
  const config = tinyConfig();
  const costModel = new CostModel({
    overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1'),
  });
  const { ranks } = buildCluster('sparseDist', worldSize, config, { costModel });
  const recs = ranks.map((r) => new EventRecorder().attach(r.pipeline.events$));
  const data = syntheticFor(config);
  await Promise.all(
    ranks.map(async (r, rank) => {
      for await (const _ of r.pipeline.run(localBatches(data, 16, 8, rank, worldSize))) void _;
    }),
  );
  return recs.map((r) => r.events);
}

function find(log: PipelineEvent[], type: string, batch: number, from = 0): number {
  const i = log.findIndex((e, k) => k >= from && e.type === type && e.batch === batch);
  if (i < 0) throw new Error(`no ${type} for batch ${batch}`);
  return i;
}

describe('happens-before (sparse-dist, sim)', () => {
  it('copy(i+2) issued before forward(i) ends; dist(i+1) after forward(i) is issued and copy(i+1) ends; forward(i) after dist(i)', async () => {
    const logs = await record(2);
    for (const log of logs) {
      const n = 8;
      for (let i = 0; i < n; i++) {
        const fwdEnd = find(log, 'forward.end', i);
        if (i + 2 < n) expect(find(log, 'batch.fetched', i + 2)).toBeLessThan(fwdEnd);
        if (i + 1 < n) {
          const distStart = find(log, 'dist.start', i + 1);
          // the coordinator entered `forward` for batch i before dist(i+1) was started
          const enteredForward = log.findIndex(
            (e, k) =>
              k > find(log, 'batch.fetched', Math.min(i + 2, n - 1)) - 1 &&
              e.type === 'actor.state' &&
              e.actor === 'coordinator' &&
              e.to === 'progressing.forward',
          );
          expect(enteredForward).toBeGreaterThanOrEqual(0);
          expect(enteredForward).toBeLessThan(distStart);
          const copyEnd = find(log, 'copy.end', i + 1);
          expect(copyEnd).toBeLessThan(distStart);
          expect(log[copyEnd].t).toBeLessThanOrEqual(log[distStart].t);
        }
        const distEnd = find(log, 'dist.end', i);
        const fwdStart = find(log, 'forward.start', i);
        expect(distEnd).toBeLessThan(fwdStart);
        expect(log[distEnd].t).toBeLessThanOrEqual(log[fwdStart].t);
      }
    }
  });

  it('the same run twice gives the identical event log', async () => {
    const a = await record(2);
    const b = await record(2);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});
