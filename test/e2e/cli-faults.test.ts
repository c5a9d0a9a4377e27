/**
 * A rank that dies for real mid-run ends `sparsepipe train` within bounded time, with one
 * stderr line naming the rank and no summary written — on every backend. The death is
 * injected with the `SPARSEPIPE_FAULT=die:<rank>@<batch>` test hook (src/cli/fault-injection.ts):
 * a worker thread that calls `process.exit(137)`, an MPI rank process that SIGKILLs itself
 * (skipped where Open MPI is absent), a simulated rank whose process groups fail.
 *
 * Each run is killed by the test after {@link HANG_MS}: a run still going then is a hang.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mpiAvailability } from '../../src/runtime/collectives/mpi/index.ts';
import { FAULT_ENV, parseFault } from '../../src/cli/fault-injection.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/sparsepipe.js');
/** A run still going after this long is a hang (the runs below end in a few seconds). */
const HANG_MS = 30_000;
const TINY = ['--ranks', '2', '--batches', '6', '--batch-size', '32', '--held-out-examples', '64'];

const mpi = mpiAvailability();
if (!mpi.available) console.log(`[cli-faults] MPI case skipped: ${mpi.reason}`);

interface Ended {
  code: number | null;
  /** Set when the test had to kill a hung run. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Run the installed command with `env` added, killing it (and its children) after HANG_MS. */
function sparsepipe(args: string[], env: Record<string, string>): Promise<Ended> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const watchdog = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), HANG_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - t0 });
    });
  });
}

async function dieMidRun(
  backend: 'sim' | 'threads' | 'mpi',
  rank: number,
  batch: number,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-faults-'));
  try {
    const json = join(dir, 'run.json');
    const r = await sparsepipe(['train', ...TINY, '--backend', backend, '--json', json], {
      [FAULT_ENV]: `die:${rank}@${batch}`,
    });
    console.log(
      `[cli-faults] ${backend}: exit ${r.code} after ${(r.elapsedMs / 1000).toFixed(1)} s: ${r.stderr.trim()}`,
    );
    expect(r.signal, `the ${backend} run hung and was killed after ${HANG_MS} ms`).toBeNull();
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^sparsepipe: (--backend ${backend}: )?rank ${rank} failed: \\S`),
    );
    expect(existsSync(json), 'no summary is written after a failure').toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a rank that dies mid-run ends the job, naming the rank', () => {
  it(
    '--backend threads: the worker exits with code 137 at batch 3',
    () => dieMidRun('threads', 1, 3),
    HANG_MS + 10_000,
  );

  it.skipIf(!mpi.available)(
    '--backend mpi: the rank process is SIGKILLed at batch 3',
    () => dieMidRun('mpi', 1, 3),
    HANG_MS + 10_000,
  );

  it(
    '--backend sim: the rank process groups fail at batch 3',
    () => dieMidRun('sim', 1, 3),
    HANG_MS + 10_000,
  );

  it('rank 0 dying is reported too (sim)', () => dieMidRun('sim', 0, 2), HANG_MS + 10_000);
});

describe(`${FAULT_ENV} is parsed strictly`, () => {
  const run = { ranks: 2, batches: 6 };

  it('accepts die:<rank>@<batch>', () => {
    expect(parseFault('die:1@3', run)).toEqual({ kind: 'die', rank: 1, batch: 3, text: 'die:1@3' });
    expect(parseFault('die:0@0', run)).toEqual({ kind: 'die', rank: 0, batch: 0, text: 'die:0@0' });
  });

  it.each([
    ['die:x@3', 'expected die:<rank>@<batch>'],
    ['kill:1@3', 'expected die:<rank>@<batch>'],
    ['die:1', 'expected die:<rank>@<batch>'],
    [' die:1@3', 'expected die:<rank>@<batch>'],
    ['die:-1@3', 'expected die:<rank>@<batch>'],
    ['die:2@3', 'rank 2 is not below --ranks 2'],
    ['die:1@6', 'batch 6 is not below --batches 6'],
  ])('rejects %j: %s', (text, reason) => {
    expect(() => parseFault(text, run)).toThrow(`${FAULT_ENV}=${JSON.stringify(text)}: ${reason}`);
  });

  it(
    'the command exits 2 with one line for a bad value, before training',
    async () => {
      const r = await sparsepipe(['train', ...TINY], { [FAULT_ENV]: 'die:9@1' });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`sparsepipe: ${FAULT_ENV}="die:9@1": rank 9 is not below --ranks 2\n`);
    },
    HANG_MS,
  );
});
