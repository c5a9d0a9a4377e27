/**
 * Implement a machine's named effect: run `work(params)` and answer the actor with
 * `<name>.done` (carrying `output`) or `<name>.error` (carrying `error`). Synchronous work
 * answers in the same turn (the event is queued behind the current macrostep).
 *
 * @example
 * coordinatorMachine.provide({ actions: { forward: effect('forward', (p: BatchInput) => engine.forward(p)) } });
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';

export function effect<TParams, TOutput>(
  name: string,
  work: (params: TParams) => TOutput | Promise<TOutput>,
): (args: { self: AnyActorRef }, params: TParams) => void {
  return ({ self }, params) => {
    const answer = (event: AnyEventObject): void => {
      // An actor stopped meanwhile (pipeline disposed) takes no more events.
      if (self.getSnapshot().status === 'active') self.send(event);
    };
    let result: TOutput | Promise<TOutput>;
    try {
      result = work(params);
    } catch (error) {
      answer({ type: `${name}.error`, error });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (output) => answer({ type: `${name}.done`, output }),
        (error: unknown) => answer({ type: `${name}.error`, error }),
      );
    } else {
      answer({ type: `${name}.done`, output: result });
    }
  };
}
