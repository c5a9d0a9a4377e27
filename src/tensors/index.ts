/**
 * Tensors of a recommendation batch: sparse ids (`KeyedJaggedTensor`), pooled embeddings
 * (`KeyedTensor`), the `Batch` the pipeline moves, and batch validation.
 *
 * @example
 * import { Batch, KeyedJaggedTensor, validateBatch } from 'sparsepipe';
 */
export * from './keyed-jagged-tensor.ts';
export * from './keyed-tensor.ts';
export * from './batch.ts';
export * from './validation.ts';
