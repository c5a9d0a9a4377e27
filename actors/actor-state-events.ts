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

export function reportStates(actor: AnyActorRef, name: string, bus: EventBus, extra: { batch?: number; module?: string } = {}): () => void {
  let lastValue: unknown = actor.getSnapshot().value;
  let last = stateName(lastValue);
  bus.emit({ type: 'actor.state', actor: name, from: '', to: last, ...extra });
  const sub = actor.subscribe({
    next(snapshot) {
      const value = (snapshot as { value: unknown }).value;
      // Snapshots whose state did not change (context only) keep the same value object.
      if (value === lastValue) return;
      lastValue = value;
      const now = stateName(value);
      if (now !== last) {
        bus.emit({ type: 'actor.state', actor: name, from: last, to: now, ...extra });
        last = now;
      }
    },
    error() {},
  });
  return () => sub.unsubscribe();
}
