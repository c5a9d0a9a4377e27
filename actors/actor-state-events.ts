/**
 * Turns an actor's snapshots into `actor.state` events (`{ actor, from, to }`) on a bus,
 * so the trace, the inspector and tests see every state change of every actor.
 *
 * @example
 * reportStates(actor, 'coordinator', bus);
 */
import type { AnyActorRef } from 'xstate';
import type { EventBus } from '../src/trace/event-bus.ts';

/** `{ progressing: 'forward' }` → `progressing.forward`. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}.${stateName(v)}`)
      .join(',');
  }
  return String(value);
}

/**
 * `extra` adds fields to every event: fixed, or read from the snapshot (a reused module
 * actor reports the batch it is on). State names are built only while the bus is observed.
 */
export function reportStates<TSnapshot extends { value: unknown }>(
  actor:
    | { getSnapshot(): TSnapshot; subscribe(next: (s: TSnapshot) => void): { unsubscribe(): void } }
    | AnyActorRef,
  name: string,
  bus: EventBus,
  extra:
    | { batch?: number; module?: string }
    | ((snapshot: TSnapshot) => { batch?: number; module?: string }) = {},
): () => void {
  const extraOf = typeof extra === 'function' ? extra : () => extra;
  let lastValue: unknown = (actor.getSnapshot() as TSnapshot).value;
  let last: string | null = null;
  if (bus.observed) {
    last = stateName(lastValue);
    bus.emit({
      type: 'actor.state',
      actor: name,
      from: '',
      to: last,
      ...extraOf(actor.getSnapshot() as TSnapshot),
    });
  }
  const sub = (actor as AnyActorRef).subscribe({
    next(snapshot: TSnapshot) {
      const value = snapshot.value;
      // Snapshots whose state did not change (context only) keep the same value object.
      if (value === lastValue) return;
      const previous = lastValue;
      lastValue = value;
      if (!bus.observed) {
        last = null;
        return;
      }
      const from = last ?? stateName(previous);
      const now = stateName(value);
      last = now;
      if (now !== from)
        bus.emit({ type: 'actor.state', actor: name, from, to: now, ...extraOf(snapshot) });
    },
    error() {},
  });
  return () => sub.unsubscribe();
}
