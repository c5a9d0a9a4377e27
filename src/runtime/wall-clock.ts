/**
 * The real-time {@link Clock}: `performance.now()` and the host's timers. Used by the tfjs
 * device and by pipelines on real backends. This is the one place library code touches
 * real time.
 *
 * @example
 * const actor = createActor(machine, { clock: wallClock }).start();
 * const t0 = wallClock.now();
 */
import type { Clock } from '../protocol/index.ts';

export const wallClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn: (...args: unknown[]) => void, timeoutMs: number): unknown =>
    globalThis.setTimeout(fn, timeoutMs),
  clearTimeout: (id: unknown): void =>
    globalThis.clearTimeout(id as ReturnType<typeof globalThis.setTimeout>),
};
