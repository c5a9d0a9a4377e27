/**
 * The eval pipeline equals the model's plain eval forward (the unpipelined trainer with the
 * model in eval mode) on the same batches and changes no parameter; and detach() / attach()
 * mid-run — with the detached model evaluated through an eval pipeline meanwhile — loses and
 * repeats no batch: the final parameters equal an uninterrupted run's, bit for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EvalPipelineSparseDist } from '../../src/pipeline/look-ahead-pipelines.ts';
import { isDetached } from '../../machines/pipeline-kinds.ts';
import { batchSpecFor } from '../../src/models/dlrm-config.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
  type RankSetup,
} from './fixtures.ts';

beforeAll(useWasm);

const config = tinyConfig();
/** Held-out data: another seed of the same synthetic log. */
const heldOut = syntheticFor(config, 99);

function evaluator(
  r: RankSetup,
  rank: number,
  cluster: ReturnType<typeof buildCluster>['cluster'],
) {
  return new EvalPipelineSparseDist({
    model: r.model,
    optimizer: r.optimizer,
    device: cluster.devices[rank],
    pg: cluster.pgs[rank],
    batchSpec: batchSpecFor(config),
  });
}

async function outputsOf(
  run: AsyncIterable<{ batch: number; loss: number; output: Float32Array }>,
) {
  const outs: Array<{ batch: number; loss: number; output: number[] }> = [];
  for await (const o of run) outs.push({ batch: o.batch, loss: o.loss, output: [...o.output] });
  return outs;
}

describe('eval pipeline', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: equals the plain eval forward batch by batch and trains nothing`, async () => {
      // reference: the unpipelined trainer with the model in eval mode
      const plain = buildCluster('none', worldSize, config);
      const expected = await Promise.all(
        plain.ranks.map((r, rank) => {
          r.model.eval();
          return outputsOf(r.pipeline.run(localBatches(heldOut, 16, 5, rank, worldSize)));
        }),
      );
      const piped = buildCluster('sparseDist', worldSize, config);
      const before = piped.ranks.map(allParams);
      const got = await Promise.all(
        piped.ranks.map((r, rank) =>
          // the model stays in training mode: the eval pipeline evaluates anyway
          outputsOf(
            evaluator(r, rank, piped.cluster).run(localBatches(heldOut, 16, 5, rank, worldSize)),
          ),
        ),
      );
      expect(got).toEqual(expected);
      expect(got[0].map((o) => o.batch)).toEqual([0, 1, 2, 3, 4]);
      expect(piped.ranks.map(allParams)).toEqual(before);
    });
  }

  it('its coordinator has no backward or optimizer state', async () => {
    const { ranks, cluster } = buildCluster('sparseDist', 1, config);
    const states = new Set<string>();
    const p = evaluator(ranks[0], 0, cluster);
    p.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator-eval') states.add(e.to);
    });
    await outputsOf(p.run(localBatches(heldOut, 16, 3, 0, 1)));
    expect([...states].some((s) => s.includes('completing'))).toBe(true);
    expect([...states].some((s) => /backward|optimizer/.test(s))).toBe(false);
  });
});

describe('detach() / attach()', () => {
  for (const kind of ['sparseDist', 'fusedSparseDist'] as const) {
    it(`${kind}, world 2: detached mid-run and evaluated meanwhile, then attached: no batch lost or repeated`, async () => {
      const train = syntheticFor(config);
      const batches = (rank: number) => localBatches(train, 16, 8, rank, 2);
      const uninterrupted = buildCluster(kind, 2, config);
      await Promise.all(
        uninterrupted.ranks.map((r, rank) => outputsOf(r.pipeline.run(batches(rank)))),
      );

      const { ranks, cluster } = buildCluster(kind, 2, config);
      const events: PipelineEvent[] = [];
      ranks[0].pipeline.events$.subscribe((e) => events.push(e));
      const trained = await Promise.all(
        ranks.map(async (r, rank) => {
          const p = r.pipeline;
          const loader = batches(rank).values();
          const seen: number[] = [];
          for (let i = 0; i < 3; i++) {
            const step = await p.progress(loader);
            if (!step.done) seen.push(step.value.batch);
          }
          const model = p.detach();
          expect(model).toBe(r.model);
          expect(isDetached(p.coordinator.getSnapshot())).toBe(true);
          // the model is used by another pipeline while detached
          await outputsOf(evaluator(r, rank, cluster).run(localBatches(heldOut, 16, 3, rank, 2)));
          if (rank === 0) p.attach(model);
          // rank 1 attaches through progress()
          for (;;) {
            const step = await p.progress(loader);
            if (step.done) break;
            seen.push(step.value.batch);
          }
          return seen;
        }),
      );
      expect(trained).toEqual([
        [0, 1, 2, 3, 4, 5, 6, 7],
        [0, 1, 2, 3, 4, 5, 6, 7],
      ]);
      expect(ranks.map(allParams)).toEqual(uninterrupted.ranks.map(allParams));
      expect(events.filter((e) => e.type.startsWith('pipeline.')).map((e) => e.type)).toEqual(
        expect.arrayContaining(['pipeline.detach', 'pipeline.attach']),
      );
    });
  }

  it('refuses to attach another model, and to detach while progress() runs', async () => {
    const a = buildCluster('sparseDist', 1, config);
    const b = buildCluster('sparseDist', 1, config);
    const p = a.ranks[0].pipeline;
    expect(() => p.attach(b.ranks[0].model)).toThrow(/belong to the model it was built with/);
    const loader = localBatches(syntheticFor(config), 16, 3, 0, 1).values();
    const running = p.progress(loader);
    expect(() => p.detach()).toThrow(/while progress\(\) is running/);
    await running;
  });
});
