/**
 * What one pipeline iteration costs in actor traffic: actors created, events, snapshots
 * and XState microsteps (counted with an `inspect` observer), bus events, and device ops —
 * per rank-iteration, on a world-1 shapes-only run (what each costs: `machine-costs.ts`).
 *
 * @example
 * const t = await actorTraffic(100); t.perIteration['@xstate.actor']; // actors created per iteration
 */
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { buildShapesOnlyRank, shapesOnlyBatches } from '../../src/testing/shapes-only.ts';
import { TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import type { StreamName } from '../../src/protocol/index.ts';

export interface ActorTraffic {
  perIteration: Record<string, number>;
  busEventsPerIteration: number;
  actorStateEventsPerIteration: number;
  deviceOpsPerIteration: number;
}

export async function actorTraffic(iterations: number): Promise<ActorTraffic> {
  const c = createSimCluster({ worldSize: 1 });
  const r = buildShapesOnlyRank({
    pg: c.pgs[0],
    device: c.devices[0],
    features: 8,
    dim: 16,
    dense: 'none',
  });
  const counts: Record<string, number> = {};
  const p = new TrainPipelineSparseDist({
    model: r.model,
    optimizer: r.optimizer,
    device: c.devices[0],
    pg: c.pgs[0],
    inspect: (e) => {
      counts[e.type] = (counts[e.type] ?? 0) + 1;
    },
  });
  let bus = 0;
  let states = 0;
  p.events$.subscribe((e) => {
    bus++;
    if (e.type === 'actor.state') states++;
  });
  for await (const _ of p.run(
    shapesOnlyBatches({ features: 8, batchSize: 64, idsPerFeature: 4, count: iterations }),
  ))
    void _;
  p.dispose();
  r.model.dispose();
  const ops = (['memcpy', 'dataDist', 'default'] as StreamName[]).reduce(
    (a, s) => a + c.devices[0].issuedOps(s),
    0,
  );
  return {
    perIteration: Object.fromEntries(
      Object.entries(counts).map(([k, v]) => [k, Number((v / iterations).toFixed(2))]),
    ),
    busEventsPerIteration: bus / iterations,
    actorStateEventsPerIteration: states / iterations,
    deviceOpsPerIteration: ops / iterations,
  };
}
