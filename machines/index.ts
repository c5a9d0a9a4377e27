/** Pure statecharts of the pipeline (xstate + src/protocol types only). */
export * from './accumulation-schedule.ts';
export * from './coordinator-types.ts';
export * from './coordinator.ts';
export * from './stage.ts';
export * from './sharded-module-batch.ts';
export * from './not-provided.ts';
