/**
 * The model rewrite: which sharded modules are pipelined (inputs read straight from the
 * batch, positional or keyword), which are not (inputs computed by the model) and why —
 * and a model with a non-pipelined module still trains exactly like the unpipelined run.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Model, Module, type ModelOutput } from '../../src/modules/module.ts';
import { resolveShardedForward } from '../../src/modules/forward-scope.ts';
import type { ShardedModuleContract } from '../../src/protocol/index.ts';
import { traceModel } from '../../src/pipeline/model-tracer.ts';
import { formatArgInfo } from '../../src/pipeline/arg-info.ts';
import { ShardedEmbeddingBagCollection } from '../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import { planSharding } from '../../src/modules/sharding/planner.ts';
import { SGD } from '../../src/optim/dense-optimizer.ts';
import { CombinedOptimizer } from '../../src/optim/combined-optimizer.ts';
import { Linear } from '../../src/modules/dense/mlp.ts';
import { bceWithLogits } from '../../src/modules/dense/loss.ts';
import { createSimCluster } from '../../src/runtime/sim/sim-cluster.ts';
import { NonPipelinedTrainer, TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import { EventRecorder } from '../../src/trace/event-recorder.ts';
import { Batch, KeyedJaggedTensor } from '../../src/tensors/index.ts';
import { localBatches, syntheticFor, tinyConfig, useWasm } from './fixtures.ts';

beforeAll(useWasm);

/** A stand-in sharded module for tracing only. */
class FakeSharded extends Module implements ShardedModuleContract {
  readonly isShardedModule = true as const;
  constructor(readonly outputWidth: number) {
    super();
  }
  createContext() {
    return {};
  }
  inputDist(): never {
    throw new Error('not used');
  }
  computeAndOutputDist(): never {
    throw new Error('not used');
  }
  backward(): never {
    throw new Error('not used');
  }
  forward(input: unknown): tf.Tensor2D {
    return resolveShardedForward(this, input);
  }
}

function batchOf(n = 2): Batch {
  return new Batch({
    dense: new Float32Array(n * 2),
    denseDim: 2,
    sparse: new KeyedJaggedTensor({
      keys: ['a', 'b'],
      values: Int32Array.of(0, 1),
      lengths: Int32Array.of(1, 0, 0, 1),
    }),
    labels: new Float32Array(n),
  });
}

describe('traceModel', () => {
  it('finds attribute paths, index paths and keyword arguments; names the reason for computed inputs', () => {
    class M extends Model<Batch> {
      direct = new FakeSharded(3);
      computed = new FakeSharded(2);
      kw = new FakeSharded(1);
      kwDirect = new FakeSharded(1);
      unused = new FakeSharded(1);
      forward(batch: Batch): ModelOutput {
        const a = this.direct.forward(batch.sparse);
        const b = this.computed.forward(batch.sparse.permute([1, 0]));
        this.kw.forward({ features: batch.sparse, scale: [1, 2] });
        this.kwDirect.forward({ features: batch.sparse });
        const out = tf.concat([a, b], 1);
        return { losses: tf.sum(out), output: out };
      }
    }
    const plan = traceModel(new M(), batchOf());
    const byName = Object.fromEntries([
      ...plan.pipelined.map((p) => [p.name, formatArgInfo(p.argInfo)]),
      ...plan.notPipelined.map((p) => [p.name, p.reason]),
    ]);
    expect(byName.direct).toBe('batch.sparse');
    expect(byName.computed).toMatch(/computed by the model/);
    expect(byName.kw).toBe(
      "keyword argument 'scale' is computed by the model, not read from the batch",
    );
    expect(byName.kwDirect).toBe('{ features: batch.sparse }');
    expect(byName.unused).toMatch(/not called/);
  });
});

/** Two embedding collections: one reads batch.sparse, one a computed (split) KJT. */
class TwoCollections extends Model<Batch> {
  head: Linear;
  constructor(
    readonly left: ShardedEmbeddingBagCollection,
    readonly right: ShardedEmbeddingBagCollection,
  ) {
    super();
    this.head = new Linear({
      inFeatures: left.outputWidth + right.outputWidth + 13,
      outFeatures: 1,
      seed: 3,
    });
  }
  forward(batch: Batch): ModelOutput {
    const a = this.left.forward(batch.sparse);
    const [, rightFeatures] = batch.sparse.split([2, 1]);
    const b = this.right.forward(rightFeatures);
    return tf.tidy(() => {
      const x = tf.concat([a, b, tf.tensor2d(batch.dense, [batch.batchSize, batch.denseDim])], 1);
      const logits = this.head.forward(x);
      return {
        losses: bceWithLogits(logits, tf.tensor2d(batch.labels, [batch.batchSize, 1])),
        output: logits,
      };
    });
  }
}

async function trainTwo(pipelined: boolean, worldSize: number) {
  const config = tinyConfig();
  const cluster = createSimCluster({ worldSize });
  const data = syntheticFor(config);
  return Promise.all(
    cluster.pgs.map(async (pg, rank) => {
      const env = {
        rank,
        worldSize,
        pg,
        distPg: cluster.distPgs[rank],
        device: cluster.devices[rank],
      };
      const leftTables = config.tables.slice(0, 2);
      const rightTables = config.tables.slice(2);
      const left = new ShardedEmbeddingBagCollection({
        tables: leftTables,
        plan: planSharding(leftTables, worldSize),
        env,
        optimizer: { kind: 'sgd', lr: 0.1 },
        seed: 1,
        name: 'left',
      });
      const right = new ShardedEmbeddingBagCollection({
        tables: rightTables,
        plan: planSharding(rightTables, worldSize),
        env,
        optimizer: { kind: 'sgd', lr: 0.1 },
        seed: 2,
        name: 'right',
      });
      const model = new TwoCollections(left, right);
      const allReduce = worldSize > 1 ? (f: Float32Array) => pg.allReduce(f, 'avg') : undefined;
      const optimizer = new CombinedOptimizer({
        dense: new SGD(model, { lr: 0.1, allReduce }),
        sparse: { left: left.optimizer, right: right.optimizer },
      });
      const P = pipelined ? TrainPipelineSparseDist : NonPipelinedTrainer;
      const p = new P({ model, optimizer, device: cluster.devices[rank], pg });
      const rec = new EventRecorder().attach(p.events$);
      const losses: number[] = [];
      for await (const o of p.run(localBatches(data, 16, 5, rank, worldSize))) losses.push(o.loss);
      const weights = [...left.localShards(), ...right.localShards()].map((s) =>
        Array.from(s.weights),
      );
      return { losses, weights, notPipelined: rec.ofType('module.notPipelined') };
    }),
  );
}

describe('a model with a non-pipelined module', () => {
  for (const worldSize of [1, 2]) {
    it(`world ${worldSize}: says so (module.notPipelined) and trains exactly like the unpipelined run`, async () => {
      const piped = await trainTwo(true, worldSize);
      const plain = await trainTwo(false, worldSize);
      for (let r = 0; r < worldSize; r++) {
        expect(piped[r].notPipelined.map((e) => [e.module, e.reason])).toEqual([
          ['right', 'input is computed by the model (not an attribute or index path of the batch)'],
        ]);
        expect(piped[r].losses).toEqual(plain[r].losses);
        expect(piped[r].weights).toEqual(plain[r].weights);
        expect(piped[r].losses).toHaveLength(5);
      }
    });
  }
});
