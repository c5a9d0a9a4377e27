/**
 * The pipeline on its compiled machines and on XState's own interpreter is the same
 * pipeline: a simulated 2-rank run (real DLRM math, gradient accumulation, a drained
 * dataloader) gives the same event log — every span, point and `actor.state` change, with
 * its virtual time — and bitwise-equal parameters.
 */
import { describe, expect, it } from 'vitest';
import { simulateCluster } from '../../src/testing.ts';

describe('interpreter: compiled == xstate', () => {
  it('same event log and same parameters on a 2-rank simulated run', async () => {
    const run = (interpreter: 'compiled' | 'xstate') =>
      simulateCluster({
        worldSize: 2,
        batches: 7,
        globalBatchSize: 32,
        gradAccum: 2,
        interpreter,
        seed: 3,
      });
    const compiled = await run('compiled');
    const xstate = await run('xstate');
    expect(compiled.ok).toBe(true);
    expect(compiled.ranks.map((r) => r.batchesTrained)).toEqual([7, 7]);
    const strip = (log: typeof compiled.log) => log.map((e) => JSON.stringify(e));
    expect(compiled.log.filter((e) => e.type === 'actor.state').length).toBeGreaterThan(100);
    expect(strip(compiled.log)).toEqual(strip(xstate.log));
    expect(compiled.paramsDigest(0)).toBe(xstate.paramsDigest(0));
    expect(compiled.paramsDigest(1)).toBe(xstate.paramsDigest(1));
  });
});
