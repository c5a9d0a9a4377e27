/**
 * Gradient-accumulation schedules as pure functions (the coordinator's guards call them).
 *
 * `exact` (the default): with `A` micro-batches per optimizer step, the optimizer is reset
 * before call `c` when `c % A == 0`, stepped after the backward of call `c` when
 * `c % A == A − 1`, every loss is scaled by `1/A`, and a final partial window is flushed
 * when the data ends (stepped, with gradients rescaled by `A/m` for the `m` micro-batches
 * it holds). So `A` micro-batches of `B` train exactly like one batch of `A·B`.
 *
 * `torchrec-0.3.2` reproduces the seed for old runs and is **defective** for `A ≠ 2`
 * (docs/design.md "The seed pipeline and what sparsepipe fixes"): reset when `c > 0 && (c + 2) % A == 0`, step when `c > 0 && (c + 1) % A == 0`,
 * no flush. E.g. `A = 3` steps see micro-batches {1,2}, {4,5}, … and drop 0, 3, 6, ….
 *
 * `c` counts training `progress` calls that trained a batch, from 0.
 *
 * @example
 * shouldStepOptimizer('exact', 3, 4, false);           // true: calls 0..3 form one window
 * shouldResetOptimizer('torchrec-0.3.2', 1, 3);        // true: the seed discards batch 0
 */
export type GradAccumSchedule = 'exact' | 'torchrec-0.3.2';

export const GRAD_ACCUM_SCHEDULES: readonly GradAccumSchedule[] = ['exact', 'torchrec-0.3.2'];

function checkAccum(gradAccum: number): void {
  if (!Number.isInteger(gradAccum) || gradAccum < 1) {
    throw new RangeError(`gradAccum must be an integer ≥ 1, got ${gradAccum}`);
  }
}

/** Zero the gradients at the start of call `calls`? */
export function shouldResetOptimizer(
  schedule: GradAccumSchedule,
  calls: number,
  gradAccum: number,
): boolean {
  checkAccum(gradAccum);
  if (schedule === 'exact') return calls % gradAccum === 0;
  return calls > 0 && (calls + 2) % gradAccum === 0;
}

/** Step the optimizer after the backward of call `calls`? `isLast`: no batch follows it. */
export function shouldStepOptimizer(
  schedule: GradAccumSchedule,
  calls: number,
  gradAccum: number,
  isLast: boolean,
): boolean {
  checkAccum(gradAccum);
  if (schedule === 'exact') return calls % gradAccum === gradAccum - 1 || isLast;
  return calls > 0 && (calls + 1) % gradAccum === 0;
}

/** Factor applied to the loss of every micro-batch. */
export function lossScaleFor(gradAccum: number): number {
  checkAccum(gradAccum);
  return 1 / gradAccum;
}

/**
 * Factor applied to the accumulated gradients at a step holding `microBatches` micro-batches:
 * `A / m` on the exact schedule (1 for a full window), always 1 on the seed's schedule.
 */
export function stepScaleFor(
  schedule: GradAccumSchedule,
  gradAccum: number,
  microBatches: number,
): number {
  checkAccum(gradAccum);
  if (schedule !== 'exact' || microBatches <= 0) return 1;
  return gradAccum / microBatches;
}

/**
 * Which micro-batches (call indices) reach each optimizer step over `calls` training calls —
 * a simulation of the schedule used by tests and docs.
 *
 * @example
 * microBatchesPerStep('torchrec-0.3.2', 3, 12); // [[1,2],[4,5],[7,8],[10,11]]
 */
export function microBatchesPerStep(
  schedule: GradAccumSchedule,
  gradAccum: number,
  calls: number,
): number[][] {
  const steps: number[][] = [];
  let window: number[] = [];
  for (let c = 0; c < calls; c++) {
    if (shouldResetOptimizer(schedule, c, gradAccum)) window = [];
    window.push(c);
    if (shouldStepOptimizer(schedule, c, gradAccum, c === calls - 1)) {
      steps.push(window);
      window = [];
    }
  }
  return steps;
}
