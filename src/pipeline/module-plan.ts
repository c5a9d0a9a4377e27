/**
 * The model rewrite: trace the model on its first batch and turn the result into the
 * engine's module plan (which sharded modules are pipelined, and how to read each one's
 * input from a batch).
 *
 * @example
 * const plan = planModules(model, firstBatch);
 * plan.pipelined.map((p) => p.name); // ['sparseArch']
 */
import type { ModulePlan } from '../protocol/index.ts';
import type { Model } from '../modules/module.ts';
import type { Batch } from '../tensors/index.ts';
import { extractInput, formatArgInfo } from './arg-info.ts';
import { traceModel } from './model-tracer.ts';

export function planModules(
  model: Model<Batch>,
  firstBatch: Batch,
): ModulePlan<Batch> & { describe(): string[] } {
  const trace = traceModel(model, firstBatch);
  return {
    pipelined: trace.pipelined.map((p) => ({
      name: p.name,
      module: p.module,
      extract: (batch: Batch) => extractInput(p.argInfo, batch),
    })),
    notPipelined: trace.notPipelined,
    pipelinedPostprocs: trace.pipelinedPostprocs,
    describe: () => [
      ...trace.pipelined.map((p) => `${p.name}: pipelined, input ${formatArgInfo(p.argInfo)}`),
      ...trace.notPipelined.map((p) => `${p.name}: not pipelined (${p.reason})`),
      ...trace.pipelinedPostprocs.map(
        (p) => `${p.name}: postproc run ahead on the dist stage (feeds ${p.feeds})`,
      ),
    ],
  };
}
