/**
 * The coordinator's own events in every variant the machine distinguishes (train / eval
 * requests, sync, new source, pauses, steps, reset), for tests that explore or fuzz it; the
 * effect answers are added per test.
 *
 * @example
 * const events = [...COORDINATOR_REQUESTS, { type: 'connect.done' }];
 */
import type { AnyEventObject } from 'xstate';

export const COORDINATOR_REQUESTS: readonly AnyEventObject[] = [
  { type: 'PROGRESS', training: true },
  { type: 'PROGRESS', training: false },
  { type: 'PROGRESS', training: true, syncRequired: true },
  { type: 'PROGRESS', training: true, newSource: true },
  { type: 'PAUSE' },
  { type: 'PAUSE', atBatchesTrained: 2 },
  { type: 'RESUME' },
  { type: 'STEP' },
  { type: 'RESET' },
];
