import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatRankLine,
  loadLibMpi,
  mpiAvailability,
  MpiUnavailableError,
  mpirunArgs,
  parseRankLines,
  runMpiJob,
  type MpiJobResult,
} from '../../../src/runtime/collectives/mpi/index.ts';
import { describeProcessGroupConformance, type ConformanceBackend } from './conformance.ts';
import {
  conformanceScenarios,
  type RankOutcome,
  type ScenarioName,
  type ScenarioParams,
} from './conformance-scenarios.ts';
import type { MpiExtraName } from './mpi-rank-main.ts';

const availability = mpiAvailability();
const hasMpi = availability.available;
if (!availability.available) console.log(`MPI tests skipped: ${availability.reason}`);

const root = fileURLToPath(new URL('../../../', import.meta.url));
const rankMain = fileURLToPath(new URL('./mpi-rank-main.ts', import.meta.url));

function rankCommand(mode: string, spec: unknown): string[] {
  return ['node', '--import', 'tsx', rankMain, mode, JSON.stringify(spec)];
}

/** Every scenario of one world size in one job; lastRankNeverArrives last (its timeout aborts the job). */
const extras: MpiExtraName[] = ['mismatch', 'invalid', 'channelsOpposite'];
const allScenarios = [
  ...(Object.keys(conformanceScenarios) as ScenarioName[]).filter(
    (s) => s !== 'lastRankNeverArrives',
  ),
  ...extras,
  'lastRankNeverArrives',
];
const jobs = new Map<string, Promise<MpiJobResult>>();

function conformanceJob(worldSize: number, params: ScenarioParams): Promise<MpiJobResult> {
  const key = `${worldSize}:${JSON.stringify(params)}`;
  let job = jobs.get(key);
  if (!job) {
    job = runMpiJob({
      worldSize,
      cwd: root,
      command: rankCommand('conformance', { scenarios: allScenarios, params }),
      jobTimeoutMs: 60_000,
    });
    jobs.set(key, job);
  }
  return job;
}

async function outcomesOf(
  worldSize: number,
  scenario: string,
  params: ScenarioParams,
): Promise<RankOutcome[]> {
  const job = await conformanceJob(worldSize, params);
  const byRank: (RankOutcome | undefined)[] = new Array(worldSize).fill(undefined);
  for (const { rank, payload } of job.reports) {
    const p = payload as { scenario: string; outcome: RankOutcome };
    if (p.scenario === scenario) byRank[rank] = p.outcome;
  }
  const missing = byRank.flatMap((o, r) => (o ? [] : [r]));
  if (missing.length) {
    throw new Error(
      `scenario ${scenario}: no report from rank(s) ${missing.join(', ')} (exit ${job.exitCode})\n${job.stdout}\n${job.stderr}`,
    );
  }
  return byRank as RankOutcome[];
}

const mpiBackend = (worldSize: number): ConformanceBackend => ({
  run: (name, params) => outcomesOf(worldSize, name, params),
});
const PARAMS: ScenarioParams = { timeoutMs: 400 };

describe.skipIf(!hasMpi)('mpi (mpirun, one process per rank)', () => {
  describeProcessGroupConformance('mpi', async (n) => mpiBackend(n), {
    worldSizes: [2, 4],
    timeoutMs: PARAMS.timeoutMs,
  });

  for (const n of [2, 4]) {
    describe(`world size ${n}: errors and channels on real MPI`, () => {
      it('mismatched calls reject on every rank naming both', async () => {
        for (const [r, o] of (await outcomesOf(n, 'mismatch', PARAMS)).entries()) {
          expect(o).toEqual({
            ok: false,
            error: {
              name: 'CollectiveMismatchError',
              message: `collective #0 mismatch: rank 0 called barrier but rank 1 called allReduce(sum, 2 floats) (seen by rank ${r})`,
            },
          });
        }
      });

      it('invalid arguments reject on every rank naming the offender', async () => {
        for (const [r, o] of (await outcomesOf(n, 'invalid', PARAMS)).entries()) {
          expect(o).toEqual({
            ok: false,
            error: {
              name: 'InvalidCollectiveError',
              message: `collective #0 allToAllSplits(${n + 1} splits) on rank ${n - 1}: send has ${n + 1} splits, world size is ${n} (seen by rank ${r})`,
            },
          });
        }
      });

      it('two channels used concurrently in opposite orders do not mismatch', async () => {
        const got = await outcomesOf(n, 'channelsOpposite', PARAMS);
        const sum = Array.from({ length: n }, (_, r) => r).reduce((a, b) => a + b, 0);
        expect(got).toEqual(
          got.map((_, r) => ({
            ok: true,
            value: [Array.from({ length: n }, (_, j) => 10 * j + r), 'ok', [sum], 'ok'],
          })),
        );
      });

      it('the timed-out job ends by MPI_Abort, the reason on stderr', async () => {
        const job = await conformanceJob(n, PARAMS);
        expect(job.timedOut).toBe(false);
        expect(job.exitCode).not.toBe(0);
        expect(job.stderr).toMatch(
          new RegExp(
            `\\[sparsepipe mpi\\] rank \\d: allReduce #0 "grads" .* rank\\(s\\) ${n - 1} never arrived .*calling MPI_Abort in 500 ms`,
          ),
        );
      });
    });
  }

  it('a killed rank process ends the job in bounded time, mpirun naming the rank', async () => {
    const job = await runMpiJob({
      worldSize: 3,
      cwd: root,
      command: rankCommand('kill', { victim: 1 }),
      jobTimeoutMs: 30_000,
    });
    expect(job.timedOut).toBe(false); // ended by mpirun, not by our watchdog (the survivors' timeout is 60 s)
    expect(job.exitCode).not.toBe(0);
    expect(
      job.reports
        .filter((l) => l.payload === 'waiting')
        .map((l) => l.rank)
        .sort(),
    ).toEqual([0, 2]);
    expect(job.stdout + job.stderr).toMatch(
      /process rank 1 with PID \d+ on node \S+ exited on signal 9 \(Killed\)/,
    );
    expect(
      job.reports.some((l) => l.payload === 'the allReduce completed without the victim'),
    ).toBe(false);
  });
});

describe('mpi: pieces that need no MPI', () => {
  it('a missing library is an MpiUnavailableError telling what to install', () => {
    expect(() => loadLibMpi('libmpi-not-here.so.40')).toThrow(MpiUnavailableError);
    expect(() => loadLibMpi('libmpi-not-here.so.40')).toThrow(
      /^Open MPI not found \(libmpi-not-here\.so\.40\): install Debian's openmpi-bin/,
    );
  });

  it('mpirun arguments for one host without network', () => {
    expect(mpirunArgs({ worldSize: 2, command: ['node', 'r.mjs'], allowRunAsRoot: false })).toEqual(
      [
        '-np',
        '2',
        '--oversubscribe',
        '--bind-to',
        'none',
        '--mca',
        'btl',
        'self,vader',
        '--mca',
        'mpi_yield_when_idle',
        '1',
        '-x',
        'UV_THREADPOOL_SIZE=8',
        'node',
        'r.mjs',
      ],
    );
    const custom = mpirunArgs({
      worldSize: 3,
      command: ['x'],
      allowRunAsRoot: true,
      oversubscribe: false,
      mca: { btl: 'self,tcp' },
      env: { A: '1' },
      extraArgs: ['--hostfile', 'h'],
    });
    expect(custom).toEqual([
      '-np',
      '3',
      '--allow-run-as-root',
      '--bind-to',
      'none',
      '--mca',
      'btl',
      'self,tcp',
      '--mca',
      'mpi_yield_when_idle',
      '1',
      '-x',
      'UV_THREADPOOL_SIZE=8',
      '-x',
      'A=1',
      '--hostfile',
      'h',
      'x',
    ]);
    expect(() => mpirunArgs({ worldSize: 0, command: ['x'] })).toThrow(/worldSize/);
  });

  it('rank report lines round-trip through noisy pty output', () => {
    const out = `banner\n${formatRankLine(1, { a: [1, 2] }).replace('\n', '\r\n')}other\n${formatRankLine(0, 'x')}`;
    expect(parseRankLines(out)).toEqual([
      { rank: 1, payload: { a: [1, 2] } },
      { rank: 0, payload: 'x' },
    ]);
    expect(() => parseRankLines('@@sparsepipe-rank {oops\n')).toThrow(/malformed rank report line/);
  });

  it('runMpiJob rejects on a malformed report instead of never settling', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-fake-mpirun-'));
    try {
      const fake = join(dir, 'mpirun');
      writeFileSync(fake, '#!/bin/sh\necho \'@@sparsepipe-rank {"rank":0,"payl\'\n', {
        mode: 0o755,
      });
      await expect(runMpiJob({ worldSize: 1, command: ['x'], mpirun: fake })).rejects.toThrow(
        /^mpirun \(exit 0\): malformed rank report line/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
