/**
 * Errors of collectives beyond the protocol's {@link CollectiveTimeoutError} and
 * {@link PeerFailedError}: ranks that made different calls, invalid arguments, a closed
 * group. Every backend throws these same classes.
 *
 * @example
 * try { await pg.barrier(); } catch (e) { if (e instanceof CollectiveMismatchError) console.error(e.message); }
 */
import type { Rank } from '../../protocol/index.ts';

/** Two ranks made incompatible calls at the same position of the collective sequence. */
export class CollectiveMismatchError extends Error {
  override readonly name = 'CollectiveMismatchError';
  constructor(
    /** Position of the call in the group's collective sequence (0-based). */
    readonly index: number,
    readonly firstRank: Rank,
    readonly firstCall: string,
    readonly otherRank: Rank,
    readonly otherCall: string,
    /** The rank this error was delivered to. */
    readonly rank: Rank,
  ) {
    super(
      `collective #${index} mismatch: rank ${firstRank} called ${firstCall} but rank ${otherRank} called ${otherCall} (seen by rank ${rank})`,
    );
  }
}

/** A rank passed invalid arguments; every rank of that collective gets this error. */
export class InvalidCollectiveError extends Error {
  override readonly name = 'InvalidCollectiveError';
  constructor(
    readonly index: number,
    readonly call: string,
    /** The rank whose arguments were invalid. */
    readonly offendingRank: Rank,
    readonly problem: string,
    readonly rank: Rank,
  ) {
    super(
      `collective #${index} ${call} on rank ${offendingRank}: ${problem} (seen by rank ${rank})`,
    );
  }
}

/** The process group of this rank was closed; pending and later calls reject with this. */
export class ProcessGroupClosedError extends Error {
  override readonly name = 'ProcessGroupClosedError';
  constructor(
    readonly rank: Rank,
    readonly call: string,
  ) {
    super(`${call} on rank ${rank}: the process group is closed`);
  }
}
