/**
 * Implement a machine's named effect: run `work(params)` and answer the actor with
 * `<name>.done` (carrying `output`) or `<name>.error` (carrying `error`). Synchronous work
 * answers in the same turn (the event is queued behind the current macrostep). Work that
 * throws a {@link RejectedInput} answers `<name>.error` with its cause and
 * `recoverable: true`: the input was refused before any state changed.
 *
 * Effects run several times per pipeline iteration on every rank, so the implementation
 * creates no closure on the synchronous path and only the two promise callbacks on the
 * asynchronous one (the TypeScript loader wraps every named closure with a
 * `defineProperty('name')`, which costs more than the rest of the answer).
 *
 * @example
 * coordinatorMachine.provide({ actions: { forward: effect('forward', (p: BatchInput) => engine.forward(p)) } });
 */
import type { AnyActorRef } from 'xstate';

export function effect<TParams, TOutput>(
  name: string,
  work: (params: TParams) => TOutput | Promise<TOutput>,
): (args: { self: AnyActorRef }, params: TParams) => void {
  const doneType = `${name}.done`;
  const errorType = `${name}.error`;
  return ({ self }, params) => {
    let result: TOutput | Promise<TOutput>;
    try {
      result = work(params);
    } catch (error) {
      answer(self, failure(errorType, error));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (output) => answer(self, { type: doneType, output }),
        (error: unknown) => answer(self, failure(errorType, error)),
      );
    } else {
      answer(self, { type: doneType, output: result });
    }
  };
}

/**
 * An effect's work refused its input before touching any state (e.g. a batch that failed
 * validation): the machine answers `cause` as the error and stays usable.
 *
 * @example
 * throw new RejectedInput(new InvalidBatchError('lengths', 'sum 7 ≠ values 8', 3));
 */
export class RejectedInput extends Error {
  override readonly name = 'RejectedInput';
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

function failure(
  type: string,
  error: unknown,
): { type: string; error: unknown; recoverable?: true } {
  return error instanceof RejectedInput
    ? { type, error: error.cause, recoverable: true }
    : { type, error };
}

/** An actor stopped meanwhile (pipeline disposed) takes no more events. */
function answer(
  self: AnyActorRef,
  event: { type: string; output?: unknown; error?: unknown; recoverable?: true },
): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}
