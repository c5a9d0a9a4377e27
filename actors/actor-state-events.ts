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
  let last = stateName(actor.getSnapshot().value);
  bus.emit({ type: 'actor.state', actor: name, from: '', to: last, ...extra });
  const sub = actor.subscribe({
    next(snapshot) {
      const now = stateName((snapshot as { value: unknown }).value);
      if (now !== last) {
        bus.emit({ type: 'actor.state', actor: name, from: last, to: now, ...extra });
        last = now;
      }
    },
    error() {},
  });
  return () => sub.unsubscribe();
}
