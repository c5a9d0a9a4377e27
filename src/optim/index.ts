/**
 * Optimizers: dense SGD / Adagrad with accumulation and all-reduce, dynamic loss scaling,
 * and the `CombinedOptimizer` the pipeline steps.
 *
 * @example
 * import { SGD, GradScaler, CombinedOptimizer } from './optim/index.ts';
 */
export * from './combined-optimizer.ts';
export * from './dense-optimizer.ts';
export * from './grad-scaler.ts';
