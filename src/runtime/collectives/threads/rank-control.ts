/**
 * The contract between the thread launcher (main thread) and a rank's worker: what the
 * worker receives as `workerData`, the control messages on `parentPort`, and the shape of
 * the entry module a rank runs.
 *
 * An entry module's default export is a {@link ThreadRankMain}: it gets its rank, the world
 * size, the launcher's `workerData` and its process group, and returns a structured-cloneable
 * result (or throws — which counts as this rank failing).
 *
 * @example
 * // my-rank.ts
 * import type { ThreadRankContext } from 'sparsepipe/…/threads/index.ts';
 * export default async function ({ rank, group }: ThreadRankContext<{ steps: number }>) {
 *   return Array.from(await group.allReduce(Float32Array.of(rank), 'sum'));
 * }
 */
import type { MessagePort } from 'node:worker_threads';
import type { Rank } from '../../../protocol/index.ts';
import type { ThreadProcessGroup } from './thread-process-group.ts';

/** What a rank's entry function receives. */
export interface ThreadRankContext<D = unknown> {
  readonly rank: Rank;
  readonly worldSize: number;
  /** The launcher's `workerData`, cloned into this thread. */
  readonly workerData: D;
  /** Channel `"default"`; `group.channel(name)` for more. */
  readonly group: ThreadProcessGroup;
}

/** The default export of an entry module. */
export type ThreadRankMain<D = unknown, R = unknown> = (
  context: ThreadRankContext<D>,
) => R | Promise<R>;

/** `workerData` of a rank worker (built by the launcher). */
export interface RankWorkerData {
  /** URL of tsx's ESM API to register in the worker, or null when not needed. */
  readonly loader: string | null;
  /** URL of `thread-rank-main.ts`. */
  readonly main: string;
  /** URL of the user's entry module. */
  readonly entry: string;
  readonly rank: Rank;
  readonly worldSize: number;
  readonly timeoutMs: number;
  /** `mesh[j]`: port to rank j; null at the own rank. */
  readonly mesh: readonly (MessagePort | null)[];
  readonly userData: unknown;
}

/** An error as it crosses threads. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** `PeerFailedError.failedRank`, when the error was one. */
  readonly failedRank?: Rank;
}

/** worker → launcher */
export type RankReport =
  | { readonly type: 'result'; readonly value: unknown }
  | { readonly type: 'error'; readonly error: SerializedError };

/** launcher → worker */
export type RankCommand = {
  readonly type: 'peerFailed';
  readonly rank: Rank;
  readonly reason: string;
};

/**
 * A JSON- and clone-safe copy of a thrown value.
 *
 * @example
 * serializeError(new TypeError('bad')); // { name: 'TypeError', message: 'bad', stack: '…' }
 */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const failedRank = (e as { failedRank?: unknown }).failedRank;
    return {
      name: e.name,
      message: e.message,
      ...(e.stack ? { stack: e.stack } : {}),
      ...(e.name === 'PeerFailedError' && typeof failedRank === 'number' ? { failedRank } : {}),
    };
  }
  return { name: 'Error', message: `non-Error value thrown: ${String(e)}` };
}
