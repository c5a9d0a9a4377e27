/**
 * The optimizer step in two parts, for the pipelines that look the next batch up between
 * them (fused sparse-dist, semi-sync): the **embedding step** (fused sparse optimizers,
 * which also step the feature processors) and the **dense step**.
 *
 * A `CombinedOptimizer` splits by part name (`'dense'`, `'sparse.<name>'`); any other
 * optimizer is all dense. The parts update disjoint parameters, so stepping the sparse
 * parts before the dense one gives bit-for-bit the parameters of one combined step.
 *
 * @example
 * const { dense, sparse } = splitOptimizer(optimizer);
 * for (const s of sparse) await s.step(scale);
 * await dense?.step(scale);
 */
import type { StepOptimizer } from '../src/optim/combined-optimizer.ts';
import type { PipelineOptimizer } from './pipeline-optimizer.ts';

export interface SplitOptimizer {
  dense: StepOptimizer | undefined;
  sparse: StepOptimizer[];
}

interface NamedParts {
  readonly names: readonly string[];
  get(name: string): StepOptimizer | undefined;
}

function hasNamedParts(o: PipelineOptimizer): o is PipelineOptimizer & NamedParts {
  return Array.isArray((o as Partial<NamedParts>).names) && typeof o.get === 'function';
}

export function splitOptimizer(optimizer: PipelineOptimizer): SplitOptimizer {
  if (!hasNamedParts(optimizer)) return { dense: optimizer, sparse: [] };
  const sparse: StepOptimizer[] = [];
  for (const name of optimizer.names) {
    const part = optimizer.get(name);
    if (part && name.startsWith('sparse.')) sparse.push(part);
  }
  return { dense: optimizer.get('dense'), sparse };
}
