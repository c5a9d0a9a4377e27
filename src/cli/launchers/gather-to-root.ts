/**
 * Gather one `Int32Array` from every rank to rank 0 with the two collectives every
 * `ProcessGroup` has, so results reach the leader through the network (MPI) rather than a
 * shared filesystem:
 *
 * ```
 * allToAllSplits  rank r ≠ 0 sends [len_r, 0, …, 0]      → rank 0 learns every len_r
 * allToAllV       rank r ≠ 0 sends its words to rank 0   → rank 0 receives them in rank order
 * ```
 *
 * Rank 0 sends nothing (not even to itself): it keeps its own value in memory.
 *
 * @example
 * const parts = await gatherToRoot(pg, pg.rank === 0 ? null : packWords(result));
 * // rank 0: [null, words of rank 1, words of rank 2, …]; other ranks: null
 */
import type { ProcessGroup } from '../../protocol/index.ts';

/**
 * Collective: every rank calls it. `words` is ignored on rank 0 (pass null). Resolves on
 * rank 0 with one entry per rank (`null` at index 0), elsewhere with `null`.
 *
 * @example
 * const parts = await gatherToRoot(pg, pg.rank === 0 ? null : Int32Array.of(pg.rank));
 */
export async function gatherToRoot(
  pg: ProcessGroup,
  words: Int32Array | null,
): Promise<Array<Int32Array | null> | null> {
  const root = pg.rank === 0;
  if (!root && words === null)
    throw new TypeError(`gatherToRoot: rank ${pg.rank} has nothing to send (words is null)`);
  // rank 0 keeps its own words and sends nothing
  const data = root || words === null ? new Int32Array(0) : words;
  const sendCounts = new Int32Array(pg.worldSize);
  sendCounts[0] = data.length;
  const recvCounts = await pg.allToAllSplits(sendCounts, { label: 'gather sizes to rank 0' });
  const received = await pg.allToAllV(data, sendCounts, recvCounts, {
    label: 'gather results to rank 0',
  });
  if (!root) return null;
  const parts: Array<Int32Array | null> = [null];
  let at = 0;
  for (let r = 1; r < pg.worldSize; r++) {
    parts.push(received.subarray(at, at + recvCounts[r]));
    at += recvCounts[r];
  }
  return parts;
}
