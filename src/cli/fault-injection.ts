/**
 * A test hook of `sparsepipe train`: the environment variable `SPARSEPIPE_FAULT` makes one
 * rank die for real in the middle of a run, to show that a dead rank ends the job in
 * bounded time with a message naming it (never a hang).
 *
 * ```
 * SPARSEPIPE_FAULT=die:<rank>@<batch>   rank <rank> dies just before it trains global batch <batch>
 * ```
 *
 * How the rank dies depends on the backend (each launcher passes its own `die`):
 * - `threads`: its worker thread calls `process.exit(137)` (that worker only ends);
 * - `mpi`: its process sends itself `SIGKILL`;
 * - `sim`: its process groups are failed (`pgs.fail(rank)`) and its loop stops with an error.
 *
 * The value is parsed strictly: anything but `die:<rank>@<batch>` (decimal integers, no
 * spaces) with a rank below `--ranks` and a batch below `--batches` is a {@link UsageError}
 * (exit 2) naming the variable. A resumed run that starts past the batch never fires it.
 *
 * @example
 * // SPARSEPIPE_FAULT=die:1@3 npx sparsepipe train --backend threads --ranks 2 --batches 6
 * const fault = faultFromEnv(process.env, options); // { kind: 'die', rank: 1, batch: 3, text: 'die:1@3' }
 */
import { UsageError } from './cli-io.ts';
import type { RankHooks } from './rank-job.ts';

/** Name of the environment variable. */
export const FAULT_ENV = 'SPARSEPIPE_FAULT';

/** One injected fault (plain data: it travels to worker threads and MPI ranks). */
export interface RankFault {
  kind: 'die';
  /** The rank that dies. */
  rank: number;
  /** Global batch index it dies before training. */
  batch: number;
  /** The variable's value, for messages. */
  text: string;
}

const DIE = /^die:(\d+)@(\d+)$/;

/**
 * Parse a `SPARSEPIPE_FAULT` value for a run of `ranks` ranks and `batches` batches in all.
 *
 * @example
 * parseFault('die:1@3', { ranks: 2, batches: 8 }); // { kind: 'die', rank: 1, batch: 3, text: 'die:1@3' }
 * parseFault('die:2@3', { ranks: 2, batches: 8 }); // throws UsageError: SPARSEPIPE_FAULT="die:2@3": rank 2 is not below --ranks 2
 */
export function parseFault(text: string, run: { ranks: number; batches: number }): RankFault {
  const where = `${FAULT_ENV}=${JSON.stringify(text)}`;
  const m = DIE.exec(text);
  if (!m) throw new UsageError(`${where}: expected die:<rank>@<batch> (e.g. die:1@3)`);
  const rank = Number(m[1]);
  const batch = Number(m[2]);
  if (!Number.isSafeInteger(rank) || rank >= run.ranks)
    throw new UsageError(`${where}: rank ${m[1]} is not below --ranks ${run.ranks}`);
  if (!Number.isSafeInteger(batch) || batch >= run.batches)
    throw new UsageError(`${where}: batch ${m[2]} is not below --batches ${run.batches}`);
  return { kind: 'die', rank, batch, text };
}

/**
 * The fault the environment asks for, or null when `SPARSEPIPE_FAULT` is unset or empty.
 *
 * @example
 * const fault = faultFromEnv(process.env, { ranks: 2, batches: 8 });
 */
export function faultFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  run: { ranks: number; batches: number },
): RankFault | null {
  const text = env[FAULT_ENV];
  if (text === undefined || text === '') return null;
  return parseFault(text, run);
}

/**
 * What a rank says when it dies by the hook.
 *
 * @example
 * faultMessage({ kind: 'die', rank: 1, batch: 3, text: 'die:1@3' }); // 'rank 1 failed: killed by SPARSEPIPE_FAULT=die:1@3 before batch 3'
 */
export function faultMessage(fault: RankFault): string {
  return `rank ${fault.rank} failed: killed by ${FAULT_ENV}=${fault.text} before batch ${fault.batch}`;
}

/**
 * A `beforeBatch` hook for rank `rank` that calls `die(fault)` when that rank reaches the
 * fault's batch (undefined when the fault is for another rank or there is none).
 *
 * @example
 * const beforeBatch = dieHook(job.fault, spec.rank, () => process.exit(137));
 * await runRankJobOnDevice(spec, device, pg, distPg, { beforeBatch });
 */
export function dieHook(
  fault: RankFault | null | undefined,
  rank: number,
  die: (fault: RankFault) => void | Promise<void>,
): RankHooks['beforeBatch'] {
  if (!fault || fault.rank !== rank) return undefined;
  return async (batch) => {
    if (batch === fault.batch) await die(fault);
  };
}
