/**
 * Launching an `mpi` job from Node (CLI, tests): the `mpirun` command line for one host
 * without network, a runner that collects what each rank reports, and the one-line report
 * format ranks print on stdout.
 *
 * A rank reports with {@link writeRankLine} (`@@sparsepipe-rank {"rank":r,"payload":…}`);
 * {@link runMpiJob} spawns `mpirun`, waits for it (killing the whole job after
 * `jobTimeoutMs`, so nothing hangs) and parses the reports from the output.
 *
 * @example
 * const job = await runMpiJob({ worldSize: 4, command: ['node', '--import', 'tsx', 'train-rank.ts', '--steps', '100'] });
 * if (job.exitCode !== 0) console.error(job.stderr);
 * const perRank = job.reports; // [{ rank: 0, payload: … }, …]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { Clock, Rank } from '../../../protocol/index.ts';
import { wallClock } from '../../wall-clock.ts';
import { loadLibMpi } from './libmpi.ts';

/** How to run the ranks (see {@link mpirunArgs}). */
export interface MpirunOptions {
  worldSize: number;
  /** The command every rank runs, e.g. `['node', '--import', 'tsx', 'rank.ts', 'arg']`. */
  command: readonly string[];
  /** Allow more ranks than cores (default true). */
  oversubscribe?: boolean;
  /** Needed when running as root (default: whether this process is root). */
  allowRunAsRoot?: boolean;
  /** MCA parameters, merged over the single-host defaults `{ btl: 'self,vader', mpi_yield_when_idle: '1' }`. */
  mca?: Readonly<Record<string, string>>;
  /** Environment exported to the ranks (`-x`), merged over `{ UV_THREADPOOL_SIZE: '8' }`. */
  env?: Readonly<Record<string, string>>;
  /** Process binding (default `none`: Node needs more than one core per rank). */
  bindTo?: 'none' | 'core' | 'socket';
  /** More mpirun arguments before the command (e.g. `['--hostfile', 'hosts']` for several hosts, with `mca: { btl: 'self,vader,tcp' }`). */
  extraArgs?: readonly string[];
}

/**
 * `mpirun`'s arguments for a single host without network: shared-memory transport
 * (`btl self,vader`), waiting ranks yielding the CPU, no binding, `--oversubscribe`, `--allow-run-as-root` when root, and a
 * larger libuv pool (each channel's blocked collective holds one of its threads).
 *
 * @example
 * mpirunArgs({ worldSize: 2, command: ['node', 'rank.mjs'], allowRunAsRoot: false });
 * // ['-np', '2', '--oversubscribe', '--bind-to', 'none', '--mca', 'btl', 'self,vader', '--mca', 'mpi_yield_when_idle', '1',
 * //  '-x', 'UV_THREADPOOL_SIZE=8', 'node', 'rank.mjs']
 */
export function mpirunArgs(options: MpirunOptions): string[] {
  const { worldSize, command } = options;
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`mpirunArgs: worldSize must be an integer ≥ 1, got ${worldSize}`);
  if (command.length === 0) throw new RangeError('mpirunArgs: command is empty');
  const args = ['-np', String(worldSize)];
  if (options.oversubscribe ?? true) args.push('--oversubscribe');
  if (options.allowRunAsRoot ?? process.getuid?.() === 0) args.push('--allow-run-as-root');
  args.push('--bind-to', options.bindTo ?? 'none');
  for (const [key, value] of Object.entries({
    btl: 'self,vader',
    mpi_yield_when_idle: '1',
    ...options.mca,
  }))
    args.push('--mca', key, value);
  for (const [key, value] of Object.entries({ UV_THREADPOOL_SIZE: '8', ...options.env }))
    args.push('-x', `${key}=${value}`);
  return [...args, ...(options.extraArgs ?? []), ...command];
}

/** Options of {@link runMpiJob}. */
export interface MpiJobOptions extends MpirunOptions {
  /** The launcher (default `mpirun`). */
  mpirun?: string;
  /** Kill the job (SIGTERM, then SIGKILL 2 s later) after this long (default 120 000 ms). */
  jobTimeoutMs?: number;
  cwd?: string;
  /** Time source for the job timeout (default the wall clock). */
  clock?: Clock;
}

/** One rank's report line. */
export interface RankReportLine {
  readonly rank: Rank;
  readonly payload: unknown;
}

/** How a job ended. */
export interface MpiJobResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The job ran into `jobTimeoutMs` and was killed. */
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Every report line, in output order. */
  readonly reports: readonly RankReportLine[];
}

/**
 * Run `mpirun` and collect the ranks' reports (see the module doc). Resolves however the
 * job ends; rejects only when `mpirun` cannot be started.
 *
 * @example
 * const { exitCode, reports } = await runMpiJob({ worldSize: 2, command: ['node', 'rank.mjs'], jobTimeoutMs: 30_000 });
 */
export function runMpiJob(options: MpiJobOptions): Promise<MpiJobResult> {
  const clock = options.clock ?? wallClock;
  const jobTimeoutMs = options.jobTimeoutMs ?? 120_000;
  const args = mpirunArgs(options);
  return new Promise((resolve, reject) => {
    const child = spawn(options.mpirun ?? 'mpirun', args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let killTimer: unknown;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killJob = (signal: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), signal); // the whole process group: mpirun and its ranks
      } catch {
        child.kill(signal);
      }
    };
    const jobTimer = clock.setTimeout(() => {
      timedOut = true;
      killJob('SIGTERM');
      killTimer = clock.setTimeout(() => killJob('SIGKILL'), 2_000);
    }, jobTimeoutMs);
    child.on('error', (e) => {
      clock.clearTimeout(jobTimer);
      reject(new Error(`could not start ${options.mpirun ?? 'mpirun'}: ${e.message}`));
    });
    child.on('close', (exitCode, signal) => {
      clock.clearTimeout(jobTimer);
      clock.clearTimeout(killTimer);
      // a malformed report fails the job; it must never leave the promise pending
      let reports: RankReportLine[];
      try {
        reports = parseRankLines(stdout);
      } catch (e) {
        reject(
          new Error(`mpirun (exit ${exitCode ?? signal}): ${(e as Error).message}`, { cause: e }),
        );
        return;
      }
      resolve({ exitCode, signal, timedOut, stdout, stderr, reports });
    });
  });
}

/** Prefix of a rank's report line. */
export const RANK_LINE_MARKER = '@@sparsepipe-rank ';

/**
 * A report line for `payload` (JSON-serializable).
 *
 * @example
 * formatRankLine(1, { loss: 0.5 }); // '@@sparsepipe-rank {"rank":1,"payload":{"loss":0.5}}\n'
 */
export function formatRankLine(rank: Rank, payload: unknown): string {
  return `${RANK_LINE_MARKER}${JSON.stringify({ rank, payload })}\n`;
}

/**
 * Print a report line on stdout in one write. Keep reports short (well under 1 KB): mpirun
 * forwards each rank's output in chunks of its own size and interleaves the ranks' chunks,
 * so a long line can arrive cut by another rank's output (then {@link runMpiJob} rejects,
 * naming the malformed line). Bulk results belong in files, as the CLI's ranks write them.
 *
 * @example
 * writeRankLine(pg.rank, { scenario: 'barrier', outcome });
 */
export function writeRankLine(rank: Rank, payload: unknown): void {
  process.stdout.write(formatRankLine(rank, payload));
}

/**
 * Every report line in `output` (other lines ignored; `\r` from mpirun's pty tolerated).
 * Throws naming the line when a marked line is not valid JSON.
 *
 * @example
 * parseRankLines('noise\n@@sparsepipe-rank {"rank":0,"payload":1}\r\n'); // [{ rank: 0, payload: 1 }]
 */
export function parseRankLines(output: string): RankReportLine[] {
  const reports: RankReportLine[] = [];
  for (const raw of output.split('\n')) {
    const at = raw.indexOf(RANK_LINE_MARKER);
    if (at < 0) continue;
    const text = raw.slice(at + RANK_LINE_MARKER.length).replace(/\r$/, '');
    let parsed: { rank?: unknown; payload?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (e) {
      throw new Error(`malformed rank report line (${(e as Error).message}): ${raw.slice(0, 200)}`);
    }
    if (typeof parsed.rank !== 'number')
      throw new Error(`rank report line without a rank: ${raw.slice(0, 200)}`);
    reports.push({ rank: parsed.rank, payload: parsed.payload });
  }
  return reports;
}

/**
 * Whether MPI jobs can run here: `mpirun` on the PATH and `libmpi.so.40` loadable.
 *
 * @example
 * const mpi = mpiAvailability();
 * if (!mpi.available) console.log(`skipping MPI: ${mpi.reason}`);
 */
export function mpiAvailability(
  mpirun = 'mpirun',
): { available: true } | { available: false; reason: string } {
  const probe = spawnSync(mpirun, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return {
      available: false,
      reason: `${mpirun} is not runnable (${probe.error?.message ?? `exit ${probe.status}`}): install Debian's openmpi-bin`,
    };
  }
  try {
    loadLibMpi();
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
  return { available: true };
}
