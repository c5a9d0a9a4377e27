/**
 * The sparse data dist as stages of a {@link StagedTrainPipeline} (TorchRec's
 * `SparseDataDistUtil`), and the rest of a sparse-dist iteration as one call for the user's
 * loop.
 *
 * - {@link copyStage}: the batch to the device on `memcpy`.
 * - `startSparseDataDist` (`dataDist`): on the first batch, traces the model to find the
 *   sharded modules whose input comes straight from the batch (like the sparse-dist
 *   pipeline); then starts each one's input dist and waits for the splits exchange.
 * - `waitSparseDataDist` (`dataDist`): waits for the ids / lengths exchange.
 * - `trainStep(item, optimizer)`: what the sparse-dist pipeline does for one batch once its
 *   input dist is done — zero grad, lookup and output dist, dense forward and backward
 *   (tfjs), sparse backward, optimizer step — so a staged pipeline `copy → start dist →
 *   wait dist` with `trainStep` trains exactly like `TrainPipelineSparseDist`. Sharded
 *   modules that could not be pipelined are distributed and looked up on demand.
 *
 * @example
 * const sdd = new SparseDataDistUtil({ model, device });
 * const pipeline = new StagedTrainPipeline<DistributedBatch>({ device, stages: [copyStage(), ...sdd.stages()] });
 * for await (const item of pipeline.run(loader)) await sdd.trainStep(item, optimizer, pipeline);
 */
import { runDenseStep, type ResolvedCall } from '../../../actors/dense-step.ts';
import { accumulateDense, type PipelineOptimizer } from '../../../actors/pipeline-optimizer.ts';
import type { Model } from '../../modules/module.ts';
import type {
  Awaitable,
  Device,
  PipelineEventInput,
  ShardedModuleContract,
} from '../../protocol/index.ts';
import { Batch } from '../../tensors/index.ts';
import { planModules } from '../module-plan.ts';
import type { PipelineStage } from './pipeline-stage.ts';

/** One sharded-module call of a batch: its context, and the data exchange once started. */
export interface DistributedCall {
  readonly name: string;
  readonly module: ShardedModuleContract;
  readonly context: unknown;
  data?: Awaitable<void>;
}

/** A batch whose sparse features are being (or have been) distributed. */
export interface DistributedBatch {
  readonly index: number;
  readonly batch: Batch;
  readonly calls: readonly DistributedCall[];
}

/** Where `trainStep` reports its spans (a `StagedTrainPipeline`: `pipeline.emit`). */
export interface SpanSink {
  emit(event: PipelineEventInput): void;
}

/**
 * The copy stage: the batch to the device on the `memcpy` stream.
 *
 * @example
 * new StagedTrainPipeline({ device, stages: [copyStage(), ...sdd.stages()] });
 */
export function copyStage(): PipelineStage<Batch, Batch> {
  return { name: 'copy', stream: 'memcpy', run: (b) => Batch.from(b).clone() };
}

export interface SparseDataDistUtilOptions {
  model: Model<Batch>;
  device: Device;
}

export class SparseDataDistUtil {
  private readonly model: Model<Batch>;
  private readonly device: Device;
  private plan: ReturnType<typeof planModules> | null = null;
  private next = 0;

  constructor(o: SparseDataDistUtilOptions) {
    this.model = o.model;
    this.device = o.device;
  }

  /** Names of the pipelined modules and why the others are not (after the first batch). */
  describe(): string[] {
    return this.plan?.describe() ?? [];
  }

  /** The two input-dist stages: `startSparseDataDist`, then `waitSparseDataDist`. */
  stages(): [
    PipelineStage<Batch, DistributedBatch>,
    PipelineStage<DistributedBatch, DistributedBatch>,
  ] {
    return [
      { name: 'startSparseDataDist', stream: 'dataDist', run: (b) => this.start(b) },
      { name: 'waitSparseDataDist', stream: 'dataDist', run: (d) => this.wait(d) },
    ];
  }

  private async start(batch: Batch): Promise<DistributedBatch> {
    const index = this.next++;
    this.plan ??= planModules(this.model, batch);
    const calls: DistributedCall[] = [];
    const splits: Promise<Awaitable<void>>[] = [];
    for (const p of this.plan.pipelined) {
      const context = p.module.createContext(index);
      splits.push(p.module.inputDist(context, p.extract(batch)).wait());
      calls.push({ name: p.name, module: p.module, context });
    }
    const data = await Promise.all(splits);
    data.forEach((d, j) => {
      calls[j].data = d;
    });
    return { index, batch, calls };
  }

  private async wait(d: DistributedBatch): Promise<DistributedBatch> {
    await Promise.all(d.calls.map((c) => c.data?.wait()));
    return d;
  }

  /**
   * One training iteration of a distributed batch, as the sparse-dist pipeline runs it
   * (gradient accumulation 1): zero grad, lookups and output dists, dense forward and
   * backward, sparse backward, optimizer step. Resolves with the batch's loss and output.
   */
  async trainStep(
    item: DistributedBatch,
    optimizer: PipelineOptimizer,
    spans?: SpanSink,
  ): Promise<{ loss: number; output: Float32Array }> {
    const { device, model } = this;
    const batch = item.index;
    await optimizer.zeroGrad();
    const grads = new Map<DistributedCall, Float32Array>();
    const calls = [...item.calls];
    const resolved: ResolvedCall[] = [];
    const outputs = await Promise.all(calls.map((c) => c.module.computeAndOutputDist(c.context)));
    calls.forEach((c, j) =>
      resolved.push({
        module: c.module,
        callIndex: 0,
        output: outputs[j],
        setGrad: (g) => grads.set(c, g),
      }),
    );
    for (;;) {
      const result = await device.run(
        'default',
        { kind: 'forward', label: `forward b${batch}` },
        () => {
          spans?.emit({ type: 'forward.start', batch });
          return runDenseStep({
            model,
            batch: item.batch,
            calls: resolved,
            training: true,
            lossScale: 1,
            amp: false,
          });
        },
      );
      if (result.missing.length > 0) {
        // Not pipelined (input computed by the model): distribute and look up on demand.
        for (const m of result.missing) {
          const call: DistributedCall = {
            name: 'unpipelined',
            module: m.module,
            context: m.module.createContext(batch),
          };
          const data = await m.module.inputDist(call.context, m.input).wait();
          await data.wait();
          const output = await m.module.computeAndOutputDist(call.context);
          calls.push(call);
          resolved.push({
            module: m.module,
            callIndex: m.callIndex,
            output,
            setGrad: (g) => grads.set(call, g),
          });
        }
        continue;
      }
      spans?.emit({ type: 'forward.end', batch });
      const sparse: Promise<void>[] = [];
      await device.run('default', { kind: 'backward', label: `backward b${batch}` }, () => {
        spans?.emit({ type: 'backward.start', batch });
        if (result.denseGrads) {
          accumulateDense(optimizer, result.denseGrads);
          for (const g of result.denseGrads.values()) g.dispose();
        }
        for (const c of calls) sparse.push(c.module.backward(c.context, grads.get(c)!));
      });
      await Promise.all(sparse);
      spans?.emit({ type: 'backward.end', batch });
      await device.run('default', { kind: 'optimizer', label: `optimizer b${batch}` }, async () => {
        spans?.emit({ type: 'optimizer.start', batch });
        await optimizer.synchronize?.();
        await optimizer.step(1);
      });
      spans?.emit({ type: 'optimizer.end', batch });
      return { loss: result.loss, output: result.output };
    }
  }
}
