/**
 * What each worker thread of `--backend threads` runs (the entry module of
 * `launchThreadRanks`): its rank's job on a `TfjsDevice`, with the worker's threads process
 * group (channel `default`) and a second channel for the input dist.
 *
 * @example
 * await launchThreadRanks({ worldSize: 2, entry: new URL('./threads-rank-entry.ts', import.meta.url), workerData: { device: 'wasm', specs } });
 */
import type { ThreadRankContext } from '../../runtime/collectives/threads/index.ts';
import type { BackendChoice } from '../../runtime/tfjs-backend.ts';
import { dieHook, type RankFault } from '../fault-injection.ts';
import type { RankJobSpec, RankResult } from '../rank-job.ts';
import { runRankJobOnDevice } from '../rank-worker.ts';

/** `workerData` of every rank. */
export interface ThreadsJob {
  device: BackendChoice;
  /** One spec per rank; rank r runs `specs[r]`. */
  specs: RankJobSpec[];
  /** `SPARSEPIPE_FAULT`: the rank's worker exits with code 137 before that batch. */
  fault?: RankFault | null;
}

export default async function threadsRank({
  rank,
  workerData,
  group,
}: ThreadRankContext<ThreadsJob>): Promise<RankResult> {
  const beforeBatch = dieHook(workerData.fault, rank, () => process.exit(137)); // in a worker: ends this worker only
  return runRankJobOnDevice(
    workerData.specs[rank],
    workerData.device,
    group,
    group.channel('dataDist'),
    beforeBatch ? { beforeBatch } : {},
  );
}
