/**
 * Time is injected, never global. A `Clock` is what every actor, tracer and pipeline reads
 * time from; on the simulated cluster it is the virtual clock of the discrete-event engine,
 * on real devices it wraps `performance.now()`.
 *
 * The shape deliberately matches XState v5's `Clock` (`setTimeout` / `clearTimeout`) plus a
 * `now()` so it can be passed straight to `createActor(machine, { clock })`.
 *
 * @example
 * const t0 = clock.now();
 * const id = clock.setTimeout(() => console.log('fired at', clock.now()), 5);
 */
export interface Clock {
  /** Current time in milliseconds (virtual on the sim backend). */
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
}
