/**
 * Sharded-module actors are reused across batches: a rank keeps one per in-flight batch
 * (≤ 3 for sparse-dist), every batch still walks the module's states from its START, and
 * the `actor.state` events carry the batch each actor is working on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { buildShapesOnlyRank, shapesOnlyBatches } from '../../src/testing/shapes-only.ts';
import { TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { useWasm } from './fixtures.ts';
import { TRAINING_BATCH_WALK } from '../machines/state-walks.ts';

beforeAll(useWasm);

describe('module actors across batches', () => {
  it('12 batches use at most 3 module actors, and each batch goes START → … → done', async () => {
    const c = createSimCluster({ worldSize: 1 });
    const r = buildShapesOnlyRank({
      pg: c.pgs[0],
      device: c.devices[0],
      features: 4,
      dim: 8,
      dense: 'none',
    });
    const moduleActors = new Set<string>();
    const inspect = (e: InspectionEvent): void => {
      if (e.type !== '@xstate.snapshot') return;
      const machine = (e.snapshot as { machine?: { id?: string } }).machine;
      if (machine?.id === 'shardedModule') moduleActors.add(e.actorRef.sessionId);
    };
    const p = new TrainPipelineSparseDist({
      model: r.model,
      optimizer: r.optimizer,
      device: c.devices[0],
      pg: c.pgs[0],
      inspect,
    });
    const states: Array<Extract<PipelineEvent, { type: 'actor.state' }>> = [];
    p.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor.startsWith('module:')) states.push(e);
    });
    const trained: number[] = [];
    for await (const o of p.run(
      shapesOnlyBatches({ features: 4, batchSize: 4, idsPerFeature: 2, count: 12 }),
    ))
      trained.push(o.batch);
    p.dispose();
    r.model.dispose();

    expect(trained).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(moduleActors.size).toBeGreaterThan(0);
    expect(moduleActors.size).toBeLessThanOrEqual(3);
    for (let b = 0; b < 12; b++) {
      expect(states.filter((e) => e.batch === b).map((e) => e.to)).toEqual(TRAINING_BATCH_WALK);
    }
  });
});
