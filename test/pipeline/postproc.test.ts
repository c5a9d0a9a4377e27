/**
 * Pipelined post-processing: an id-remapping module between the batch and the sharded
 * embedding collection is found by the tracer, runs ahead on the dist stage, and so the
 * collection behind it is pipelined — and training equals the unpipelined run (and the
 * sparse-dist run without the postproc support, where the collection resolves on demand),
 * bit for bit. A postproc with trainable parameters is left out, with the reason.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { Module } from '../../src/modules/module.ts';
import { PostprocModule } from '../../src/modules/postproc.ts';
import { planModules } from '../../src/pipeline/module-plan.ts';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { KeyedJaggedTensor } from '../../src/tensors/keyed-jagged-tensor.ts';
import type { ShardedEmbeddingBagCollection } from '../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import {
  allParams,
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from './fixtures.ts';

beforeAll(useWasm);

const ROWS = 50; // tinyConfig's table rows

/** Remap every id to (7·id + 3) mod rows, counting the calls that really computed. */
class RemapIds extends PostprocModule<KeyedJaggedTensor, KeyedJaggedTensor> {
  computed = 0;
  protected transform(kjt: KeyedJaggedTensor): KeyedJaggedTensor {
    this.computed++;
    const values = kjt.values.map((id) => (7 * id + 3) % ROWS);
    return new KeyedJaggedTensor({
      keys: kjt.keys,
      values,
      lengths: kjt.lengths,
      weights: kjt.weights,
      stride: kjt.stride,
    });
  }
}

/** The same remap with a (useless) trainable scale: may not run ahead. */
class TrainableRemap extends RemapIds {
  readonly scale = tf.variable(tf.scalar(1));
}

/** The DLRM's sparse arch: remap, then the sharded collection. */
class RemappedSparseArch extends Module {
  constructor(
    readonly remap: RemapIds,
    readonly ebc: ShardedEmbeddingBagCollection,
  ) {
    super();
  }
  forward(features: KeyedJaggedTensor): tf.Tensor2D {
    return this.ebc.forward(this.remap.forward(features));
  }
}

async function run(kind: PipelineKind, worldSize: number, Remap: typeof RemapIds = RemapIds) {
  const config = tinyConfig();
  const { ranks } = buildCluster(kind, worldSize, config, { gradAccum: 2 });
  const remaps = ranks.map((r) => {
    const remap = new Remap();
    r.model.sparseArch = new RemappedSparseArch(remap, r.ebc);
    return remap;
  });
  const data = syntheticFor(config);
  const events: PipelineEvent[] = [];
  ranks[0].pipeline.events$.subscribe((e) => events.push(e));
  const outputs = await Promise.all(
    ranks.map(async (r, rank) => {
      const outs: Array<{ loss: number; output: number[] }> = [];
      for await (const o of r.pipeline.run(localBatches(data, 16, 6, rank, worldSize)))
        outs.push({ loss: o.loss, output: [...o.output] });
      return outs;
    }),
  );
  const first = localBatches(data, 16, 1, 0, worldSize)[0];
  return {
    outputs,
    params: ranks.map(allParams),
    events,
    remaps,
    plan: planModules(ranks[0].model, first),
  };
}

describe('pipelined post-processing', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: the remap runs ahead on the dist stage; training equals the unpipelined run`, async () => {
      const reference = await run('none', worldSize);
      const piped = await run('sparseDist', worldSize);
      expect(piped.outputs).toEqual(reference.outputs);
      piped.params.forEach((p, r) => {
        for (const [name, v] of Object.entries(reference.params[r]))
          expect(Array.from(p[name]), `rank ${r} ${name}`).toEqual(Array.from(v));
      });
      // the tracer's report: the collection is pipelined through the postproc
      expect(piped.plan.pipelinedPostprocs).toEqual([
        { name: 'sparseArch.remap', feeds: 'sparseArch.ebc' },
      ]);
      expect(piped.plan.describe()).toContain(
        'sparseArch.remap: postproc run ahead on the dist stage (feeds sparseArch.ebc)',
      );
      expect(piped.plan.describe()).toContain(
        'sparseArch.ebc: pipelined, input sparseArch.remap(batch.sparse)',
      );
      expect(piped.events.filter((e) => e.type === 'module.postprocPipelined')).toHaveLength(1);
      expect(piped.events.some((e) => e.type === 'module.notPipelined')).toBe(false);
      // computed once per batch (ahead), not again in the forward; plus the pipeline's and
      // this test's tracing calls
      expect(piped.remaps[0].computed).toBe(6 + 2);
    });
  }

  it('a postproc with trainable parameters is not run ahead: the tracer says why', () => {
    const config = tinyConfig();
    const { ranks } = buildCluster('sparseDist', 1, config);
    ranks[0].model.sparseArch = new RemappedSparseArch(new TrainableRemap(), ranks[0].ebc);
    const first = localBatches(syntheticFor(config), 16, 1, 0, 1)[0];
    const plan = planModules(ranks[0].model, first);
    expect(plan.pipelinedPostprocs).toEqual([]);
    expect(plan.notPipelined.map((n) => [n.name, n.reason])).toEqual([
      [
        'sparseArch.ebc',
        "postproc 'sparseArch.remap' has trainable parameters (it cannot run a batch ahead)",
      ],
    ]);
    ranks[0].pipeline.dispose();
  });
});
