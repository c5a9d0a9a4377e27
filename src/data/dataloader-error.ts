/**
 * An error thrown by the user's dataloader while the pipeline fetched a batch, named as
 * such (the original error is its `cause`). It fails the pipeline: a throwing iterator is
 * finished. Pass a new dataloader to a new pipeline (or resume from a checkpoint).
 *
 * @example
 * try { await pipeline.progress(loader); } catch (e) { if (e instanceof DataloaderError) console.log(e.position, e.cause); }
 */
export class DataloaderError extends Error {
  override readonly name = 'DataloaderError';
  constructor(
    /** Index the batch being fetched would have had. */
    readonly position: number,
    override readonly cause: unknown,
  ) {
    super(
      `the dataloader threw while fetching batch ${position}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}
