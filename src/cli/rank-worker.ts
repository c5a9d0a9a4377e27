/**
 * What a worker thread or MPI process runs for its rank: initialise the tfjs backend, put
 * the rank on a `TfjsDevice`, and run its job with the process groups the backend built
 * (see src/cli/launchers/threads-rank-entry.ts and mpi-rank-entry.ts).
 *
 * @example
 * // inside a worker, after building pg and distPg for rank r:
 * const result = await runRankJobOnDevice(spec, 'wasm', pg, distPg);
 * parentPort.postMessage(result, transferListOf(result));
 */
import type { ProcessGroup } from '../protocol/index.ts';
import { initBackend, type BackendChoice } from '../runtime/tfjs-backend.ts';
import { TfjsDevice } from '../runtime/tfjs-device.ts';
import { runRankJob, type RankHooks, type RankJobSpec, type RankResult } from './rank-job.ts';

export async function runRankJobOnDevice(
  spec: RankJobSpec,
  device: BackendChoice,
  pg: ProcessGroup,
  distPg?: ProcessGroup,
  hooks: RankHooks = {},
): Promise<RankResult> {
  // only rank 0 says (once) that OpenBLAS is missing; every rank reports its engine
  await initBackend(device, {
    denseMath: spec.denseMath,
    threads: spec.blasThreads,
    ...(spec.rank === 0 ? {} : { warn: false }),
  });
  return runRankJob(spec, { pg, distPg, device: new TfjsDevice({ rank: spec.rank }) }, hooks);
}

/**
 * The ArrayBuffers of a result, to transfer instead of copy (`postMessage(result, list)`).
 *
 * @example
 * port.postMessage(result, transferListOf(result));
 */
export function transferListOf(result: RankResult): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) seen.add(v.buffer);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit);
  };
  visit(result);
  return [...seen];
}
