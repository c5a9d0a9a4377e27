/**
 * What one pipeline iteration costs in actor traffic: actors created, events, snapshots
 * and XState microsteps (counted with an `inspect` observer), bus events, and device ops —
 * per rank-iteration, on a world-1 shapes-only run. Plus micro-measurements of the XState
 * primitives on this machine (CPU µs): a `fromPromise` invoke round trip and a plain event
 * transition.
 *
 * @example
 * const t = await actorTraffic(100); t.perIteration['@xstate.actor']; // actors created per iteration
 */
import { assign, createActor, fromPromise, setup } from 'xstate';
import { createSimCluster } from '../../src/testing/sim-cluster.ts';
import { buildShapesOnlyRank, shapesOnlyBatches } from '../../src/testing/shapes-only.ts';
import { TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import type { StreamName } from '../../src/protocol/index.ts';
import { median } from './report.ts';

export interface ActorTraffic {
  perIteration: Record<string, number>;
  busEventsPerIteration: number;
  actorStateEventsPerIteration: number;
  deviceOpsPerIteration: number;
}

export async function actorTraffic(iterations: number): Promise<ActorTraffic> {
  const c = createSimCluster({ worldSize: 1 });
  const r = buildShapesOnlyRank({ pg: c.pgs[0], device: c.devices[0], features: 8, dim: 16, dense: 'none' });
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
  for await (const _ of p.run(shapesOnlyBatches({ features: 8, batchSize: 64, idsPerFeature: 4, count: iterations }))) void _;
  p.dispose();
  r.model.dispose();
  const ops = (['memcpy', 'dataDist', 'default'] as StreamName[]).reduce((a, s) => a + c.devices[0].issuedOps(s), 0);
  return {
    perIteration: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number((v / iterations).toFixed(2))])),
    busEventsPerIteration: bus / iterations,
    actorStateEventsPerIteration: states / iterations,
    deviceOpsPerIteration: ops / iterations,
  };
}

/** CPU µs of one `fromPromise` invoke round trip (state → invoke → done → next state) and of one event transition. */
export async function xstatePrimitiveCosts(n = 5000): Promise<{ invokeUs: number; eventUs: number }> {
  const loop = setup({ actors: { work: fromPromise(async () => 1) }, types: { context: {} as { n: number } } }).createMachine({
    context: { n: 0 },
    initial: 'a',
    states: {
      a: { invoke: { src: 'work', onDone: { target: 'b', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
      b: { always: 'a' },
    },
  });
  const pingPong = setup({ types: { context: {} as { n: number }, events: {} as { type: 'GO' } } }).createMachine({
    context: { n: 0 },
    initial: 'a',
    states: { a: { on: { GO: { target: 'b', actions: assign({ n: ({ context }) => context.n + 1 }) } } }, b: { on: { GO: 'a' } } },
  });
  const inv: number[] = [];
  const ev: number[] = [];
  for (let round = 0; round < 3; round++) {
    const a = createActor(loop).start();
    let c0 = process.cpuUsage();
    await new Promise<void>((res) => {
      const s = a.subscribe((snap) => {
        if (snap.context.n >= n) {
          s.unsubscribe();
          res();
        }
      });
    });
    let c = process.cpuUsage(c0);
    a.stop();
    inv.push((c.user + c.system) / n);
    const b = createActor(pingPong).start();
    c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) b.send({ type: 'GO' });
    c = process.cpuUsage(c0);
    b.stop();
    ev.push((c.user + c.system) / n);
  }
  return { invokeUs: median(inv), eventUs: median(ev) };
}
