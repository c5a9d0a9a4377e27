/**
 * An actor of the pipeline stopped with an error — an action or a guard threw inside the
 * coordinator, a stage or a sharded-module actor. The pending `progress()` rejects with
 * this error (the original is its `cause`), and so does every later call: the pipeline has
 * failed for good (docs/reliability.md "Library").
 *
 * @example
 * try { await pipeline.progress(loader); }
 * catch (e) { if (e instanceof ActorFailedError) console.error(e.actor, e.cause); }
 */
export class ActorFailedError extends Error {
  override readonly name = 'ActorFailedError';
  constructor(
    /** Which actor failed: `coordinator`, `copyStage`, `module:ebc`, … */
    readonly actor: string,
    cause: unknown,
  ) {
    super(`the ${actor} actor failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}
