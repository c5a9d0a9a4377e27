/**
 * The states the pipeline's actors walk through, shared by the tests that check them:
 * a sharded-module actor on one training batch (after `awaitingBatch`, or `done` when the
 * actor is reused), and the coordinator on one training iteration with A = 1 (after the
 * gate, or connecting on the first call).
 *
 * @example
 * expect(states).toEqual(['awaitingBatch', ...TRAINING_BATCH_WALK]);
 * expect(trace).toEqual(['idle', 'gate', 'connecting', ...TRAINING_ITERATION_WALK]);
 */
export const TRAINING_BATCH_WALK: readonly string[] = [
  'distInFlight.waitingForSplits',
  'distInFlight.dataInFlight',
  'ready',
  'computeAndOutputDist.computing',
  'computeAndOutputDist.outputDist',
  'done',
];

export const TRAINING_ITERATION_WALK: readonly string[] = [
  'progressing.awaitingBatch',
  'progressing.zeroGrad',
  'progressing.forward',
  'progressing.startingNextDist',
  'progressing.backward',
  'progressing.optimizerStep',
  'ready',
];
