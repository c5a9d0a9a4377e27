/**
 * Errors of the `mpi` backend beyond the shared collective errors.
 *
 * @example
 * try { await createMpiProcessGroup(); } catch (e) { if (e instanceof MpiUnavailableError) console.error(e.message); }
 */
import type { Rank } from '../../../protocol/index.ts';
import { CollectiveTimeoutError } from '../../../protocol/index.ts';

/** Open MPI (or the koffi FFI package) is not installed. */
export class MpiUnavailableError extends Error {
  override readonly name = 'MpiUnavailableError';
  constructor(
    readonly library: string,
    readonly detail: string,
  ) {
    super(`Open MPI not found (${library}): install Debian's openmpi-bin (${detail})`);
  }
}

/** An MPI function returned an error code. */
export class MpiCallError extends Error {
  override readonly name = 'MpiCallError';
  constructor(
    readonly fn: string,
    readonly code: number,
    readonly mpiMessage: string,
  ) {
    super(`${fn} failed with MPI error ${code}${mpiMessage ? `: ${mpiMessage}` : ''}`);
  }
}

/**
 * An MPI collective timed out. MPI collectives cannot be cancelled, so the process group is
 * unusable afterwards and the job is aborted (`MPI_Abort`) after a short delay.
 * `missingRanks` is best effort: the ranks whose arrival notice for this call had not reached
 * this rank.
 */
export class MpiCollectiveTimeoutError extends CollectiveTimeoutError {
  constructor(
    collective: string,
    rank: Rank,
    missingRanks: readonly Rank[],
    timeoutMs: number,
    abortDelayMs: number,
  ) {
    super(collective, rank, missingRanks, timeoutMs);
    const abort = `MPI collectives cannot be cancelled, so the job is aborted in ${abortDelayMs} ms`;
    this.message =
      missingRanks.length > 0
        ? `${this.message} (best effort: ranks whose arrival notice had not reached rank ${rank}); ${abort}`
        : `${collective} on rank ${rank} timed out after ${timeoutMs} ms: every rank's arrival notice came but the collective did not complete; ${abort}`;
  }
}

/** A call on an MPI group made unusable by an earlier timeout (the job is being aborted). */
export class MpiGroupBrokenError extends Error {
  override readonly name = 'MpiGroupBrokenError';
  constructor(
    readonly rank: Rank,
    readonly call: string,
    override readonly cause: Error,
  ) {
    super(
      `${call} on rank ${rank}: the MPI process group is unusable after an earlier failure, the job is being aborted (${cause.message})`,
    );
  }
}

/** Ranks created MPI channels in different orders (channels pair up by creation order). */
export class MpiChannelMismatchError extends Error {
  override readonly name = 'MpiChannelMismatchError';
  constructor(
    readonly rank: Rank,
    readonly channel: string,
    readonly otherRank: Rank,
  ) {
    super(
      `MPI channel "${channel}" on rank ${rank} was paired with a different channel on rank ${otherRank}: ` +
        'every rank must create its channels (createMpiProcessGroup / group.channel) in the same order',
    );
  }
}
