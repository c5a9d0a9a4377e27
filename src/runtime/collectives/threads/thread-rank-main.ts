/**
 * Runs inside a rank's worker thread (imported by `thread-rank-bootstrap.mjs`): builds the
 * rank's process group from the transferred mesh ports, listens for the launcher's
 * peer-failure notices, imports the entry module, runs its default export and reports the
 * result (or the error) to the launcher. The thread then stays up — its ports open, so
 * peers still mid-collective are not told it died — until the launcher terminates it.
 *
 * Not meant to be imported by user code; see `launchThreadRanks`.
 *
 * @example
 * // done by the launcher:
 * new Worker(bootstrapUrl, { workerData: { main: 'file:///…/thread-rank-main.ts', … } });
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  serializeError,
  type RankCommand,
  type RankReport,
  type RankWorkerData,
  type ThreadRankMain,
} from './rank-control.ts';
import { createThreadProcessGroup } from './thread-process-group.ts';

async function runRank(port: NonNullable<typeof parentPort>, data: RankWorkerData): Promise<void> {
  const report = (message: RankReport) => port.postMessage(message);
  try {
    const group = createThreadProcessGroup(data.mesh, {
      rank: data.rank,
      worldSize: data.worldSize,
      timeoutMs: data.timeoutMs,
    });
    port.on('message', (command: RankCommand) => {
      if (command.type === 'peerFailed') group.failPeer(command.rank, command.reason);
    });
    const module = (await import(data.entry)) as { default?: unknown };
    const main = module.default;
    if (typeof main !== 'function') {
      throw new TypeError(
        `thread rank entry ${data.entry} must have a default export function (ThreadRankMain), found ${typeof main}`,
      );
    }
    const value = await (main as ThreadRankMain)({
      rank: data.rank,
      worldSize: data.worldSize,
      workerData: data.userData,
      group,
    });
    try {
      report({ type: 'result', value });
    } catch (e) {
      throw new TypeError(
        `rank ${data.rank}: its result cannot be sent to the launcher (${(e as Error).message})`,
      );
    }
  } catch (e) {
    report({ type: 'error', error: serializeError(e) });
  }
}

if (isMainThread || !parentPort) {
  throw new Error(
    'thread-rank-main.ts runs inside a rank worker started by launchThreadRanks, not on the main thread',
  );
}
await runRank(parentPort, workerData as RankWorkerData);
