/** Types-only contracts shared by every layer. Nothing here has side effects. */
export * from './ids.ts';
export * from './clock.ts';
export * from './events.ts';
export * from './device.ts';
export * from './process-group.ts';
export * from './pipelineable.ts';
export * from './sharded-module.ts';
export * from './pipeline-state.ts';
export * from './module-plan.ts';
export * from './dense-math.ts';
