/**
 * Placeholder implementation for an effect slot: the facade must `.provide()` the real one.
 *
 * Effects are named actions: entering a state runs its effect, which starts the work and
 * later sends `<name>.done` (with `output`) or `<name>.error` (with `error`) back to the
 * machine (see `effect()` in actors/effect.ts). Machines stay pure — under XState's pure
 * `transition()` the effects are only returned, never run — and a live actor pays one event
 * per effect rather than a child actor per invoke (~10 µs against ~70 µs measured here).
 *
 * @example
 * actions: { forward: notProvidedEffect<BatchInput>('forward') }
 */
export function notProvidedEffect<TParams>(slot: string): (args: unknown, params: TParams) => void {
  return () => {
    throw new Error(
      `effect '${slot}' was not provided: call machine.provide({ actions: { ${slot}: effect(…) } })`,
    );
  };
}

/** The event an effect sends when its work is done. */
export type EffectDone<TSlot extends string, TOutput = undefined> = TOutput extends undefined
  ? { type: `${TSlot}.done`; output?: undefined }
  : { type: `${TSlot}.done`; output: TOutput };

/** The event an effect sends when its work failed. */
export interface EffectError<TSlot extends string> {
  type: `${TSlot}.error`;
  error: unknown;
  /**
   * True when the work rejected its input before touching any state (e.g. a batch that
   * failed validation): the machine answers the error and stays usable.
   */
  recoverable?: boolean;
}

/**
 * What an event says about a failure: its error and whether it is recoverable (only an
 * effect's `.error` event carries one; any other event answers an internal error).
 *
 * @example
 * failureOf({ type: 'connect.error', error: e, recoverable: true }); // { error: e, recoverable: true }
 */
export function failureOf(event: { type: string } | EffectError<string>): {
  error: unknown;
  recoverable: boolean;
} {
  if ('error' in event) return { error: event.error, recoverable: event.recoverable === true };
  return { error: new Error(`internal: '${event.type}' is not a failure`), recoverable: false };
}
