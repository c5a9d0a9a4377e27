/**
 * The simulator's floor: the ops and collectives one shapes-only pipeline iteration issues
 * (copy; splits ×2 and lengths/ids all-to-alls on dataDist; lookup, output dist, forward,
 * backward, grad dist, scatter, optimizer with a 1-float all-reduce on default), issued by
 * plain code with no pipeline, no actors and no tfjs — how fast the sim itself goes.
 *
 * @example
 * const r = await simFloor({ worldSize: 8, iterations: 200, localBatch: 64 });
 * r.rankIterations / (r.cpuMs / 1000); // rank-iterations per CPU second
 */
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';
import { SimDevice } from '../../src/runtime/sim/sim-device.ts';
import { CostModel, parseCostOverrides } from '../../src/runtime/sim/cost-model.ts';
import { createSimProcessGroups } from '../../src/runtime/collectives/sim-process-group.ts';
import { collectiveModelFor } from '../../src/runtime/sim/sim-cluster.ts';

export async function simFloor(o: {
  worldSize: number;
  iterations: number;
  localBatch: number;
  costs?: string;
}): Promise<{ wallMs: number; cpuMs: number; rankIterations: number; simulatedMs: number }> {
  const W = o.worldSize;
  const B = o.localBatch;
  const F = 8;
  const dim = 16;
  const ids = 4;
  const scheduler = new SimScheduler({ coalesce: true });
  const cm = new CostModel({
    overrides: parseCostOverrides(o.costs ?? 'copy=2,dist=5,fwd=3,bwd=4,opt=1'),
  });
  const pgs = createSimProcessGroups({
    worldSize: W,
    scheduler,
    costModel: collectiveModelFor(cm),
  });
  const dpgs = createSimProcessGroups({
    worldSize: W,
    scheduler,
    costModel: collectiveModelFor(cm),
  });
  const devices = pgs.map(
    (_, r) => new SimDevice({ rank: r, scheduler, costModel: cm, opLog: false, hazards: 'off' }),
  );
  const owned = (r: number) =>
    Array.from({ length: F }, (_, k) => Math.floor((k * W) / F)).filter((x) => x === r).length;
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    devices.map(async (d, r) => {
      const pg = pgs[r];
      const dpg = dpgs[r];
      const lengthCounts = Int32Array.from({ length: W }, (_, j) => B * owned(j));
      const valueCounts = lengthCounts.map((n) => n * ids);
      const recvLengths = new Int32Array(W).fill(B * owned(r));
      const recvValues = recvLengths.map((n) => n * ids);
      const lengths = new Int32Array(B * F).fill(ids);
      const values = new Int32Array(B * F * ids);
      const outSend = recvLengths.map((n) => n * dim);
      const outRecv = lengthCounts.map((n) => n * dim);
      const one = new Float32Array(1);
      // Payloads are the pipeline's (pooled embeddings, dense gradients), not the sim's: made once.
      const pooledSend = new Float32Array(B * owned(r) * dim * W);
      const gradSend = new Float32Array(B * F * dim);
      for (let i = 0; i < o.iterations; i++) {
        const copy = d.run('memcpy', { kind: 'copy' }, () => 0);
        await d.run('dataDist', { kind: 'distSplits' }, async () => {
          await dpg.allToAllSplits(valueCounts);
          await dpg.allToAllSplits(valueCounts);
        });
        await d.run('dataDist', { kind: 'distData' }, async () => {
          await dpg.allToAllV(lengths, lengthCounts, recvLengths);
          await dpg.allToAllV(values, valueCounts, recvValues);
        });
        await d.run('default', { kind: 'other' }, () => 0);
        await d.run('default', { kind: 'outputDist' }, () =>
          pg.allToAllV(pooledSend, outSend, outRecv),
        );
        await d.run('default', { kind: 'forward' }, () => 0);
        await d.run('default', { kind: 'backward' }, () => 0);
        await d.run('default', { kind: 'collective' }, () =>
          pg.allToAllV(gradSend, outRecv, outSend),
        );
        await d.run('default', { kind: 'other' }, () => 0);
        await d.run('default', { kind: 'optimizer' }, () =>
          W > 1 ? pg.allReduce(one, 'avg') : undefined,
        );
        await copy;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs: performance.now() - wall0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rankIterations: W * o.iterations,
    simulatedMs: scheduler.now(),
  };
}
