/**
 * Drives a machine with XState's pure `transition()` / `getMicrosteps()` only: no actor
 * system, no promises. Every effect the machine asks to run is answered at once by
 * a `respond` function (done with an output, error, or left running), so a whole scenario is
 * a synchronous list of events. Every microstep's state value is recorded, transient states
 * (`always` hops) included.
 *
 * @example
 * const d = new PureDriver(coordinatorMachine, input, (c) => c.src === 'awaitBatch' ? { output: { batch: 0, isLast: true } } : { output: undefined });
 * d.send({ type: 'PROGRESS', training: true });
 * d.trace; // ['gate', 'connecting', 'progressing.awaitingBatch', …, 'ready']
 */
import {
  getMicrosteps,
  initialTransition,
  transition,
  type AnyEventObject,
  type AnyStateMachine,
  type SnapshotFrom,
  type StateValue,
} from 'xstate';
import { effectDone, effectError, startedEffects, type StartedEffect } from './effect-events.ts';

/** How a test answers an effect: done, failed, or left running (`undefined`). */
export type ChildResponse = { output?: unknown } | { error: unknown } | undefined;

/** A spawned child together with the snapshot right after the transition that spawned it. */
export interface SpawnRecord<TSnapshot> extends StartedEffect {
  at: TSnapshot;
}

/** `{ progressing: 'zeroGrad' }` → `'progressing.zeroGrad'` (single active leaf per level). */
export function valuePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] as [string, StateValue | undefined];
  return child === undefined || (typeof child === 'object' && Object.keys(child).length === 0)
    ? key
    : `${key}.${valuePath(child)}`;
}

export class PureDriver<TMachine extends AnyStateMachine> {
  snapshot: SnapshotFrom<TMachine>;
  /** State value (as a dotted path) after every microstep, in order. */
  readonly trace: string[] = [];
  /** Every child spawned, in order. */
  readonly spawned: Array<SpawnRecord<SnapshotFrom<TMachine>>> = [];

  constructor(
    private readonly machine: TMachine,
    input: unknown,
    private readonly respond: (child: StartedEffect, at: SnapshotFrom<TMachine>) => ChildResponse,
  ) {
    const [snapshot, actions] = (
      initialTransition as (
        m: TMachine,
        i: unknown,
      ) => [SnapshotFrom<TMachine>, Array<{ type: string; params?: unknown }>]
    )(machine, input);
    this.snapshot = snapshot;
    this.trace.push(valuePath((snapshot as unknown as { value: StateValue }).value));
    this.answer(actions);
  }

  /** Send `event`, then answer every child spawned as a consequence, until the machine rests. */
  send(event: AnyEventObject): this {
    this.queue.push(event);
    if (!this.draining) this.drain();
    return this;
  }

  get value(): string {
    return valuePath((this.snapshot as unknown as { value: StateValue }).value);
  }

  private readonly queue: AnyEventObject[] = [];
  private draining = false;

  private drain(): void {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const event = this.queue.shift()!;
        const micro = getMicrosteps(this.machine, this.snapshot as never, event as never);
        for (const [s] of micro) this.trace.push(valuePath((s as { value: StateValue }).value));
        const [next, actions] = transition(
          this.machine,
          this.snapshot as never,
          event as never,
        ) as unknown as [SnapshotFrom<TMachine>, Array<{ type: string; params?: unknown }>];
        this.snapshot = next;
        this.answer(actions);
      }
    } finally {
      this.draining = false;
    }
  }

  private answer(actions: Array<{ type: string; params?: unknown }>): void {
    for (const child of startedEffects(actions)) {
      this.spawned.push({ ...child, at: this.snapshot });
      const response = this.respond(child, this.snapshot);
      if (response === undefined) continue;
      this.queue.push(
        'error' in response
          ? effectError(child.id, response.error)
          : effectDone(child.id, response.output),
      );
    }
    if (!this.draining && this.queue.length > 0) this.drain();
  }

  /** Complete a child that was left running. */
  resolve(src: string, output?: unknown): this {
    return this.send(effectDone(this.childId(src), output));
  }

  /** Fail a child that was left running. */
  reject(src: string, error: unknown): this {
    return this.send(effectError(this.childId(src), error));
  }

  private childId(src: string): string {
    const last = [...this.spawned].reverse().find((c) => c.src === src);
    if (!last)
      throw new Error(
        `no child with src '${src}' was spawned; spawned: ${this.spawned.map((c) => c.src).join(', ')}`,
      );
    return last.id;
  }
}
