/**
 * Placeholder implementation for an actor slot: the facade must `.provide()` the real one.
 *
 * @example
 * actors: { forward: fromPromise<void, BatchInput>(notProvided('forward')) }
 */
export function notProvided(slot: string): () => Promise<never> {
  return () => Promise.reject(new Error(`actor '${slot}' was not provided: call machine.provide({ actors: { ${slot}: … } })`));
}
