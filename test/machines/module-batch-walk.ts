/**
 * The states a sharded-module actor walks through for one training batch, after
 * `awaitingBatch` (or `done`, when the actor is reused): shared by the machine test and the
 * pipeline test that checks every batch walks them.
 *
 * @example
 * expect(states).toEqual(['awaitingBatch', ...TRAINING_BATCH_WALK]);
 */
export const TRAINING_BATCH_WALK: readonly string[] = [
  'distInFlight.waitingForSplits',
  'distInFlight.dataInFlight',
  'ready',
  'computeAndOutputDist.computing',
  'computeAndOutputDist.outputDist',
  'computed',
  'backward',
  'done',
];
