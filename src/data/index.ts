/**
 * Data: the deterministic synthetic click log with a planted model, the Criteo TSV reader
 * and the adapters that turn any dataloader into a pull source.
 *
 * @example
 * import { SyntheticClickLog, readCriteoTsv, toPullSource } from 'sparsepipe';
 */
export * from './synthetic.ts';
export * from './criteo-tsv.ts';
export * from './dataloader.ts';
export { ZipfSampler } from './zipf-sampler.ts';
export * from './metrics.ts';
export * from './dataloader-error.ts';
