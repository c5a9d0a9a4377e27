/**
 * Implement a machine's named effect: run `work(params)` and answer the actor with
 * `<name>.done` (carrying `output`) or `<name>.error` (carrying `error`). Synchronous work
 * answers in the same turn (the event is queued behind the current macrostep).
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
      answer(self, { type: errorType, error });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (output) => answer(self, { type: doneType, output }),
        (error: unknown) => answer(self, { type: errorType, error }),
      );
    } else {
      answer(self, { type: doneType, output: result });
    }
  };
}

/** An actor stopped meanwhile (pipeline disposed) takes no more events. */
function answer(
  self: AnyActorRef,
  event: { type: string; output?: unknown; error?: unknown },
): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}
