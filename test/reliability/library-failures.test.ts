/**
 * The library's part of the reliability suite beyond the bad-input corpus:
 *
 * - an actor that stops with an error (a guard or action throws inside the coordinator, a
 *   stage or a module actor) rejects the pending `progress()` with an ActorFailedError
 *   naming the actor, the original error as its cause — it never hangs — and every later
 *   call rejects with the same error;
 * - without any `batchSpec`, batches are validated against a spec derived from the model
 *   (the README's library example gives none): NaN dense features, an id outside its table
 *   and a missing feature are typed errors naming batch and field, parameters unchanged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActorRefLike, AnyActorRef } from 'xstate';
import { SyntheticClickLog } from '../../src/data/synthetic.ts';
import { buildDlrmRank } from '../../src/models/dlrm-rank.ts';
import { smallDlrmConfig } from '../../src/models/dlrm-config.ts';
import { ActorFailedError, TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import { defaultBatchSpec } from '../../src/pipeline/default-batch-spec.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { initBackend } from '../../src/runtime/index.ts';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { Batch, InvalidBatchError, KeyedJaggedTensor } from '../../src/tensors/index.ts';
import { paramsDigest } from '../../src/testing/params-digest.ts';

const config = smallDlrmConfig();
const features = config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows })));
const log = new SyntheticClickLog({ seed: 3, denseDim: 13, features, idsPerFeature: 2 });

beforeAll(() => initBackend('wasm'));

/** Every actor of a pipeline by id, seen through its inspection observer. */
const refs = new WeakMap<TrainPipelineSparseDist, Map<string, ActorRefLike>>();
const actors = (p: TrainPipelineSparseDist) => refs.get(p)!;

function setup() {
  const seen = new Map<string, ActorRefLike>();
  const cluster = createSimCluster({ worldSize: 1 });
  const r = buildDlrmRank({
    pg: cluster.pgs[0],
    distPg: cluster.distPgs[0],
    device: cluster.devices[0],
    config,
  });
  // No batchSpec: like the README's library example.
  const pipeline = new TrainPipelineSparseDist({
    model: r.model,
    optimizer: r.optimizer,
    device: cluster.devices[0],
    inspect: (e) => {
      if (e.type === '@xstate.actor' && 'id' in e.actorRef && typeof e.actorRef.id === 'string')
        seen.set(e.actorRef.id, e.actorRef);
    },
  });
  refs.set(pipeline, seen);
  const events: PipelineEvent[] = [];
  pipeline.events$.subscribe((e) => events.push(e));
  return { pipeline, model: r.model, events };
}

/** A dataloader whose next batch arrives only when `release` is called. */
function gatedLoader() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const batches = [...log.batches(8, { count: 4 })];
  return {
    release,
    loader: (async function* () {
      await gate;
      yield* batches;
    })(),
  };
}

const FAILURES: Array<{
  id: string;
  actor: string;
  break(p: TrainPipelineSparseDist): void;
  cause: RegExp;
}> = [
  {
    id: 'stage-guard-throws',
    actor: 'copyStage',
    break: (p) => actors(p).get('rank0.copyStage')!.send({ type: 'SUBMIT' }),
    cause: /Cannot read properties of undefined \(reading 'inputReady'\)/,
  },
  {
    id: 'dist-stage-guard-throws',
    actor: 'distStage',
    break: (p) => actors(p).get('rank0.distStage')!.send({ type: 'SUBMIT' }),
    cause: /Cannot read properties of undefined \(reading 'inputReady'\)/,
  },
  {
    id: 'compute-stage-guard-throws',
    actor: 'computeStage',
    break: (p) => actors(p).get('rank0.computeStage')!.send({ type: 'SUBMIT' }),
    cause: /Cannot read properties of undefined \(reading 'inputReady'\)/,
  },
];

describe('an actor failure rejects the pending progress()', () => {
  it.each(FAILURES)('$id: the $actor actor fails while progress() waits', async (c) => {
    const { pipeline, model, events } = setup();
    const { release, loader } = gatedLoader();
    const before = paramsDigest(model);
    const pending = pipeline.progress(loader);
    await new Promise((r) => setTimeout(r, 20));
    c.break(pipeline);
    release();
    const error = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActorFailedError);
    expect((error as ActorFailedError).actor).toBe(c.actor);
    expect((error as Error).message).toMatch(new RegExp(`^the ${c.actor} actor failed: `));
    expect(String((error as Error).cause)).toMatch(c.cause);
    expect(events.filter((e) => e.type === 'pipeline.failed')).toHaveLength(1);
    // Every later call rejects with the same error; nothing was trained.
    await expect(pipeline.progress(loader)).rejects.toBe(error);
    expect(paramsDigest(model)).toBe(before);
  });

  it('coordinator-guard-throws: a malformed event to the coordinator fails it; progress() rejects', async () => {
    const { pipeline, events } = setup();
    const { release, loader } = gatedLoader();
    const pending = pipeline.progress(loader);
    await new Promise((r) => setTimeout(r, 20));
    (pipeline.coordinator as AnyActorRef).send({
      type: 'PROGRESS',
      newSource: undefined,
      training: true,
      syncRequired: undefined,
    });
    (pipeline.coordinator as AnyActorRef).send({
      type: 'PAUSE',
      atBatchesTrained: {
        valueOf: () => {
          throw new Error('boom');
        },
      },
    });
    release();
    const error = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActorFailedError);
    expect((error as ActorFailedError).actor).toBe('coordinator');
    expect(events.some((e) => e.type === 'pipeline.failed')).toBe(true);
  });
});

describe('default batch validation (no batchSpec given)', () => {
  it('derives the spec from the model: dense width, feature order, table sizes', () => {
    const { pipeline } = setup();
    expect(defaultBatchSpec(pipeline.options.model)).toEqual({
      denseDim: 13,
      keys: ['f0', 'f1', 'f2', 'f3'],
      rowsPerKey: { f0: 1000, f1: 1000, f2: 1000, f3: 1000 },
    });
  });

  const good = () => [...log.batches(8, { count: 4 })];
  const withDense = (b: Batch, i: number, v: number) => {
    const dense = b.dense.slice();
    dense[i] = v;
    return new Batch({
      dense,
      denseDim: 13,
      labels: b.labels,
      batchSize: b.batchSize,
      sparse: b.sparse,
    });
  };
  const withId = (b: Batch, id: number) => {
    const values = b.sparse.values.slice();
    values[0] = id;
    const sparse = new KeyedJaggedTensor({
      keys: b.sparse.keys,
      stride: b.batchSize,
      values,
      lengths: b.sparse.lengths,
    });
    return new Batch({
      dense: b.dense,
      denseDim: 13,
      labels: b.labels,
      batchSize: b.batchSize,
      sparse,
    });
  };
  const CASES: Array<{ id: string; bad(b: Batch): Batch; field: string; message: string }> = [
    {
      id: 'nan-dense',
      bad: (b) => withDense(b, 5, NaN),
      field: 'dense[0][5]',
      message: 'batch 1: dense[0][5]: value NaN is not finite (row 0, column 5)',
    },
    {
      id: 'inf-dense',
      bad: (b) => withDense(b, 14, Infinity),
      field: 'dense[1][1]',
      message: 'batch 1: dense[1][1]: value Infinity is not finite (row 1, column 1)',
    },
    {
      id: 'id-out-of-range',
      bad: (b) => withId(b, 1000),
      field: 'sparse.values[f0][0][0]',
      message:
        'batch 1: sparse.values[f0][0][0]: id 1000 is out of range [0, 1000) of feature f0 (sample 0, position 0)',
    },
    {
      id: 'negative-id',
      bad: (b) => withId(b, -1),
      field: 'sparse.values[f0][0][0]',
      message:
        'batch 1: sparse.values[f0][0][0]: id -1 is out of range [0, 1000) of feature f0 (sample 0, position 0)',
    },
  ];
  it.each(CASES)(
    '$id: typed error naming batch and field; parameters unchanged; the next batch trains',
    async (c) => {
      const { pipeline, model } = setup();
      const batches = good();
      batches[1] = c.bad(batches[1]);
      const loader = batches.values();
      const trained: number[] = [];
      let error: unknown = null;
      for (let call = 0; call < 8; call++) {
        const before = paramsDigest(model);
        const r = await pipeline.progress(loader).then(
          (v) => v,
          (e: unknown) => {
            error = e;
            return null;
          },
        );
        if (r === null) {
          expect(paramsDigest(model), 'the failed call changed the parameters').toBe(before);
          continue;
        }
        if (r.done) break;
        trained.push(r.value.batch);
      }
      expect(error).toBeInstanceOf(InvalidBatchError);
      expect((error as InvalidBatchError).field).toBe(c.field);
      expect((error as Error).message).toBe(c.message);
      expect(trained).toEqual([0, 2, 3]);
    },
  );
});
