/**
 * sparsepipe — pipelined training of sharded recommendation models as an actor system.
 *
 * @example
 * import { TrainPipelineSparseDist } from 'sparsepipe';
 * const pipeline = new TrainPipelineSparseDist({ model, optimizer, device });
 * for await (const out of pipeline.run(loader)) console.log(out.batch, out.loss);
 */
export * from './protocol/index.ts';
export * from './tensors/index.ts';
export * from './data/index.ts';
export * from './runtime/index.ts';
export * from './trace/index.ts';
export * from './optim/index.ts';
export * from './modules/module.ts';
export * from './modules/forward-scope.ts';
export * from './modules/amp.ts';
export * from './modules/dlrm.ts';
export * from './modules/dense/index.ts';
export * from './modules/embedding/index.ts';
export * from './modules/sharding/index.ts';
export * from './modules/feature-processors/index.ts';
export * from './pipeline/train-pipeline.ts';
export * from './pipeline/options.ts';
export * from './pipeline/look-ahead-pipelines.ts';
export * from './pipeline/prefetch-pipeline.ts';
export * from './pipeline/staged/pipeline-stage.ts';
export * from './pipeline/staged/staged-train-pipeline.ts';
export * from './pipeline/staged/sparse-data-dist-util.ts';
export * from './pipeline/staged/staged-sparse-dist.ts';
export * from './pipeline/arg-info.ts';
export * from './pipeline/model-tracer.ts';
export { GRAD_ACCUM_SCHEDULES, type GradAccumSchedule } from '../machines/accumulation-schedule.ts';
export { coordinatorMachine } from '../machines/coordinator.ts';
export { coordinatorMachineFor, isDetached } from '../machines/pipeline-kinds.ts';
export { stageMachine } from '../machines/stage.ts';
export { shardedModuleBatchMachine } from '../machines/sharded-module-batch.ts';
