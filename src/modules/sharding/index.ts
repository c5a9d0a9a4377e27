/**
 * Sharded embeddings: plans, the planner, input/output distribution and the
 * `ShardedEmbeddingBagCollection` the pipeline drives.
 *
 * @example
 * import { planSharding, ShardedEmbeddingBagCollection } from './modules/sharding/index.ts';
 */
export * from './plan.ts';
export * from './planner.ts';
export * from './shard-layout.ts';
export * from './bucketize.ts';
export * from './received-input.ts';
export * from './sharded-state.ts';
export * from './sharded-embedding-bag-collection.ts';
