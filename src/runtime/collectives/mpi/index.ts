/**
 * The `mpi` process-group backend: ranks as processes under Open MPI's `mpirun`, MPI called
 * through koffi.
 *
 * In a rank process: {@link createMpiProcessGroup} (and `group.channel(name)`); report with
 * {@link writeRankLine}. To launch: {@link runMpiJob} / {@link mpirunArgs}.
 *
 * @example
 * import { createMpiProcessGroup } from './runtime/collectives/mpi/index.ts';
 * const pg = await createMpiProcessGroup();
 */
export * from './mpi-process-group.ts';
export * from './mpi-errors.ts';
export * from './mpi-job.ts';
export { MpiRuntime } from './mpi-runtime.ts';
export { loadLibMpi, LIBMPI, type LibMpi } from './libmpi.ts';
