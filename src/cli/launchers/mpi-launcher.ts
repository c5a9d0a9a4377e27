/**
 * `--backend mpi`: `mpirun` starts one process per rank on this host (Open MPI, through
 * src/runtime/collectives/mpi), each running `mpi-rank-entry.ts` on a `TfjsDevice`. Specs go
 * to the ranks and results come back through a temporary job directory (`spec-<r>` /
 * `result-<r>`, JSON + little-endian arrays); it is removed afterwards. No progress bar.
 *
 * A rank process that dies (e.g. killed by `SPARSEPIPE_FAULT`) makes `mpirun` end the whole
 * job; the launch rejects with one line naming the rank mpirun reported:
 * `--backend mpi: rank 1 failed: its process exited on signal 9 (Killed)`.
 *
 * When `mpirun` or `libmpi.so.40` is missing the run fails with one line saying what to
 * install (Debian `openmpi-bin`).
 *
 * @example
 * const outcome = await mpiLauncher.launch(plan, {});
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../../runtime/tfjs-backend.ts';
import { CliError } from '../cli-io.ts';
import type { RankFault } from '../fault-injection.ts';
import { loadOptionalModule } from '../optional-module.ts';
import { moduleUrl } from '../../runtime/module-url.ts';
import type { RankResult } from '../rank-job.ts';
import { readArrayJson, writeArrayJson } from './array-files.ts';
import type { LaunchOutcome, LaunchPlan, RankLauncher } from './rank-launcher.ts';

/** `JOB_DIR/job.json`. */
export interface MpiJob {
  device: BackendChoice;
  /** Collective timeout in the ranks, real ms. */
  timeoutMs: number;
  /** `SPARSEPIPE_FAULT`: that rank's process SIGKILLs itself before that batch. */
  fault?: RankFault | null;
}

const ENTRY = fileURLToPath(moduleUrl('./mpi-rank-entry.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Longest setTimeout Node accepts: the job is not timed out in practice. */
const NO_JOB_TIMEOUT_MS = 2 ** 31 - 1;

export const mpiLauncher: RankLauncher = {
  backend: 'mpi',
  async launch(plan: LaunchPlan): Promise<LaunchOutcome> {
    const mod = await loadOptionalModule('mpi');
    const availability = mod.mpiAvailability();
    if (!availability.available) throw new CliError(`--backend mpi: ${availability.reason}`);
    const device = plan.options.device;
    if (device === 'sim')
      throw new CliError('--backend mpi needs a real --device (wasm, cpu or gpu)');
    const worldSize = plan.options.ranks;
    const dir = await mkdtemp(join(tmpdir(), 'sparsepipe-mpi-'));
    try {
      const job: MpiJob = { device, timeoutMs: 120_000, fault: plan.fault ?? null };
      await writeFile(join(dir, 'job.json'), JSON.stringify(job));
      for (const spec of plan.specs) await writeArrayJson(dir, `spec-${spec.rank}`, spec);
      const run = await mod.runMpiJob({
        worldSize,
        cwd: ROOT,
        // Sources need tsx in the rank processes; the compiled package runs on plain Node.
        command: ENTRY.endsWith('.ts')
          ? [process.execPath, '--import', 'tsx', ENTRY, dir]
          : [process.execPath, ENTRY, dir],
        jobTimeoutMs: NO_JOB_TIMEOUT_MS,
      });
      const failed = run.reports.find((r) => (r.payload as { ok?: boolean })?.ok === false);
      if (failed)
        throw new CliError(
          `--backend mpi: rank ${failed.rank} failed: ${(failed.payload as { error: string }).error}`,
        );
      const died = deadRank(`${run.stdout}\n${run.stderr}`);
      if (died)
        throw new CliError(`--backend mpi: rank ${died.rank} failed: its process ${died.how}`);
      const ok = new Set(
        run.reports.filter((r) => (r.payload as { ok?: boolean })?.ok === true).map((r) => r.rank),
      );
      if (run.exitCode !== 0 || ok.size !== worldSize) {
        const missing = Array.from({ length: worldSize }, (_, r) => r).filter((r) => !ok.has(r));
        const last = run.stderr.trim().split('\n').filter(Boolean).at(-1) ?? '';
        throw new CliError(
          `--backend mpi: mpirun ended with ${run.signal ? `signal ${run.signal}` : `exit code ${run.exitCode}`}` +
            (missing.length ? `, no result from rank ${missing.join(', ')}` : '') +
            (last ? ` (${last.slice(0, 200)})` : ''),
        );
      }
      const results: RankResult[] = [];
      for (let r = 0; r < worldSize; r++)
        results.push(await readArrayJson<RankResult>(dir, `result-${r}`));
      return { role: 'leader', results, simulatedMs: null, clock: 'wall' };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/**
 * The rank mpirun reports as having died, from its notice
 * `… process rank 1 with PID 123 on node h exited on signal 9 (Killed).`
 */
function deadRank(output: string): { rank: number; how: string } | null {
  const m =
    /process rank (\d+) with PID \d+ on node \S+ (exited on signal \d+(?: \([^)]*\))?)/.exec(
      output,
    );
  return m ? { rank: Number(m[1]), how: m[2] } : null;
}
