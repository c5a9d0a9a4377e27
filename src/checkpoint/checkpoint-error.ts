/**
 * A checkpoint could not be written, read or applied. The message is one line naming the
 * directory, the file or field, and what is wrong.
 *
 * @example
 * try { await readCheckpoint('ckpt') } catch (e) { if (e instanceof CheckpointError) console.error(e.message); }
 */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    /** The checkpoint directory. */
    readonly dir: string,
    /** What is wrong (without the directory). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint ${dir}: ${reason}`, options);
  }
}
