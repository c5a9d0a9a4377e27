/**
 * `--backend threads`: one worker thread per rank (src/runtime/collectives/threads), each
 * running `threads-rank-entry.ts` on a `TfjsDevice` of `--device` (wasm, cpu or gpu);
 * collectives go over the workers' MessagePort mesh. The results come back by structured
 * clone. No progress bar (iterations happen in the workers).
 *
 * A rank whose worker throws or exits (e.g. killed by `SPARSEPIPE_FAULT`) is detected by
 * `launchThreadRanks`, which fails the others' collectives at once; the launch then rejects
 * with one line naming the rank: `--backend threads: rank 1 failed: <why>`.
 *
 * @example
 * const outcome = await threadsLauncher.launch(plan, {});
 */
import { CliError } from '../cli-io.ts';
import { loadOptionalModule } from '../optional-module.ts';
import { moduleUrl } from '../../runtime/module-url.ts';
import type { RankResult } from '../rank-job.ts';
import type { ThreadsJob } from './threads-rank-entry.ts';
import type { LaunchOutcome, LaunchPlan, RankLauncher } from './rank-launcher.ts';

const ENTRY = moduleUrl('./threads-rank-entry.ts', import.meta.url);

type LaunchThreadRanks = (options: {
  worldSize: number;
  entry: URL;
  workerData: ThreadsJob;
}) => Promise<RankResult[]>;

export const threadsLauncher: RankLauncher = {
  backend: 'threads',
  async launch(plan: LaunchPlan): Promise<LaunchOutcome> {
    const { launchThreadRanks } = await loadOptionalModule('threads');
    const device = plan.options.device;
    if (device === 'sim')
      throw new CliError('--backend threads needs a real --device (wasm, cpu or gpu)');
    let results: RankResult[];
    try {
      results = await (launchThreadRanks as LaunchThreadRanks)({
        worldSize: plan.options.ranks,
        entry: ENTRY,
        workerData: { device, specs: plan.specs, fault: plan.fault ?? null },
      });
    } catch (e) {
      const failed = rankFailure(e);
      if (failed)
        throw new CliError(`--backend threads: rank ${failed.rank} failed: ${failed.reason}`, {
          cause: e,
        });
      throw e;
    }
    return { role: 'leader', results, simulatedMs: null, clock: 'wall' };
  },
};

/** The rank and reason of a `ThreadRankFailedError` (the module is loaded lazily, so matched by shape). */
function rankFailure(e: unknown): { rank: number; reason: string } | null {
  if (!(e instanceof Error) || e.name !== 'ThreadRankFailedError') return null;
  const { failedRank, reason } = e as Error & { failedRank?: unknown; reason?: unknown };
  return typeof failedRank === 'number' && typeof reason === 'string'
    ? { rank: failedRank, reason }
    : null;
}
