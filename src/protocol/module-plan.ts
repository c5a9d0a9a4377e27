/**
 * The result of the model rewrite: which sharded modules of a model are pipelined (their
 * input read straight from the batch, so their input dist can start ahead of the forward)
 * and which are not (with the reason). The tracer in src/pipeline produces it on the first
 * batch; the rank engine in actors/ runs the pipelined modules' input dists from it.
 *
 * @example
 * const plan: ModulePlan<Batch> = { pipelined: [{ name: 'sparseArch', module, extract: (b) => b.sparse }], notPipelined: [] };
 */
import type { ShardedModuleContract } from './sharded-module.ts';

/** Where a pipelined module's input comes from. */
export interface PipelinedModulePlan<TBatch> {
  name: string;
  module: ShardedModuleContract;
  /** The module's input, read from a batch (attribute and index access only). */
  extract(batch: TBatch): unknown;
}

/** A sharded module the rewrite left alone: its calls are resolved during the forward. */
export interface NotPipelinedModule {
  name: string;
  module: ShardedModuleContract;
  reason: string;
}

export interface ModulePlan<TBatch> {
  pipelined: PipelinedModulePlan<TBatch>[];
  notPipelined: NotPipelinedModule[];
  /** Postproc modules run ahead on the dist stage, and the sharded module each feeds (none if absent). */
  pipelinedPostprocs?: Array<{ name: string; feeds: string }>;
}
