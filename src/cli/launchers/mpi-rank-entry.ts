/**
 * One rank process of `--backend mpi`, started by `mpirun … node --import tsx
 * mpi-rank-entry.ts JOB_DIR`: joins the MPI group (channel `default`, and `dataDist` for the
 * input dist), reads its spec from `JOB_DIR/spec-<rank>`, runs its job on a `TfjsDevice`,
 * writes `JOB_DIR/result-<rank>` and reports a rank line (`{ ok }` or `{ ok: false, error }`).
 *
 * Run by the MPI launcher, one process per rank:
 * `mpirun -np 2 node --import tsx src/cli/launchers/mpi-rank-entry.ts /tmp/sparsepipe-mpi-XXXX`
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMpiProcessGroup, writeRankLine } from '../../runtime/collectives/mpi/index.ts';
import { dieHook } from '../fault-injection.ts';
import type { RankJobSpec } from '../rank-job.ts';
import { runRankJobOnDevice } from '../rank-worker.ts';
import { readArrayJson, writeArrayJson } from './array-files.ts';
import type { MpiJob } from './mpi-launcher.ts';

const jobDir = process.argv[2];
const job = JSON.parse(await readFile(join(jobDir, 'job.json'), 'utf8')) as MpiJob;
const pg = await createMpiProcessGroup({ timeoutMs: job.timeoutMs });
const dist = await createMpiProcessGroup({ channel: 'dataDist', timeoutMs: job.timeoutMs });
try {
  const spec = await readArrayJson<RankJobSpec>(jobDir, `spec-${pg.rank}`);
  const beforeBatch = dieHook(job.fault, pg.rank, () => {
    process.kill(process.pid, 'SIGKILL');
  }); // SPARSEPIPE_FAULT
  const result = await runRankJobOnDevice(
    spec,
    job.device,
    pg,
    dist,
    beforeBatch ? { beforeBatch } : {},
  );
  await writeArrayJson(jobDir, `result-${pg.rank}`, result);
  writeRankLine(pg.rank, { ok: true });
} catch (e) {
  writeRankLine(pg.rank, { ok: false, error: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
} finally {
  await dist.close();
  await pg.close();
}
