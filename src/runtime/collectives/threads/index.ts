/**
 * The `threads` process-group backend: ranks as worker threads of one process.
 *
 * Main thread: {@link launchThreadRanks} / {@link startThreadRanks}. Inside a rank: the entry
 * module's default export receives a {@link ThreadRankContext} with its
 * {@link ThreadProcessGroup} (`group.channel(name)` for more ordered channels).
 *
 * @example
 * import { launchThreadRanks } from './runtime/collectives/threads/index.ts';
 * const results = await launchThreadRanks({ worldSize: 4, entry: new URL('./rank.ts', import.meta.url) });
 */
export * from './thread-process-group.ts';
export * from './launch-thread-ranks.ts';
export * from './mesh-ports.ts';
export type { ThreadRankContext, ThreadRankMain, SerializedError } from './rank-control.ts';
