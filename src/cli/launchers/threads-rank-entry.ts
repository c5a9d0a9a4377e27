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
import type { RankJobSpec, RankResult } from '../rank-job.ts';
import { runRankJobOnDevice } from '../rank-worker.ts';

/** `workerData` of every rank. */
export interface ThreadsJob {
  device: BackendChoice;
  /** One spec per rank; rank r runs `specs[r]`. */
  specs: RankJobSpec[];
}

export default async function threadsRank({ rank, workerData, group }: ThreadRankContext<ThreadsJob>): Promise<RankResult> {
  return runRankJobOnDevice(workerData.specs[rank], workerData.device, group, group.channel('dataDist'));
}
