/**
 * Embedding tables on typed arrays: kernels, sparse gradient accumulation, fused sparse
 * optimizers and the unsharded `EmbeddingBagCollection`.
 *
 * @example
 * import { EmbeddingBagCollection } from './modules/embedding/index.ts';
 */
export * from './config.ts';
export * from './init.ts';
export * from './kernels.ts';
export * from './sparse-grad-accumulator.ts';
export * from './fused-optimizers.ts';
export * from './table-shard.ts';
export * from './kjt-bags.ts';
export * from './embedding-bag-collection.ts';
