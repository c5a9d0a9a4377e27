/**
 * Feature processors: per-feature learned per-id weights applied before the embedding lookup.
 *
 * @example
 * import { PositionWeightedModule } from './modules/feature-processors/index.ts';
 */
export * from './feature-processor.ts';
export * from './position-weighted.ts';
