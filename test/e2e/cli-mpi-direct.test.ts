/**
 * `sparsepipe train --backend mpi` started by an external `mpirun` (src/cli/launchers/mpi-direct.ts):
 * every process is one rank, results reach rank 0 through MPI, and the run equals the
 * simulated cluster bit for bit. A `--ranks` that disagrees with `-np` and a rank failing
 * mid-run both end the job with exit ≠ 0 and one line, writing nothing.
 *
 * The pieces that need no MPI (result packing, the world from the environment, the options
 * check) are checked first; the mpirun runs are skipped, with the reason printed, where
 * Open MPI is missing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mpiAvailability } from '../../src/runtime/collectives/mpi/index.ts';
import { mpiDirectLauncher, mpiDirectPlan } from '../../src/cli/launchers/mpi-direct.ts';
import { mpirunWorld, ranksFlagGiven } from '../../src/cli/launchers/mpi-world.ts';
import { packWords, unpackWords } from '../../src/cli/launchers/result-words.ts';
import { parseTrainArgs, type TrainOptions } from '../../src/cli/train-options.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const mpi = mpiAvailability();
if (!mpi.available) console.log(`mpirun-started CLI tests skipped: ${mpi.reason}`);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command in the repository; kill its whole process group if it outlives `limitMs`. */
function run(command: string, args: string[], limitMs = 45_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const MPIRUN = ['--allow-run-as-root', '--oversubscribe', '--mca', 'btl', 'self,vader'];
const SPARSEPIPE = ['node', 'bin/sparsepipe.js', 'train'];
const sparsepipeLines = (text: string) =>
  text.split('\n').filter((l) => l.startsWith('sparsepipe'));

function options(argv: string[]): TrainOptions {
  const parsed = parseTrainArgs(argv);
  if (parsed === 'help') throw new Error('unexpected --help');
  return parsed;
}

describe('pieces of the mpirun-started mode (no MPI needed)', () => {
  it('packs a rank result into Int32 words and back, NaN and every array type intact', () => {
    const value = {
      rank: 1,
      losses: Float64Array.of(0.25, NaN, -0),
      denseParams: {
        'top.0.weight': { shape: [2, 3], values: Float32Array.of(1, 2, 3, 4, 5, Infinity) },
      },
      ids: Int32Array.of(-7, 2 ** 31 - 1),
      heldOut: null,
      events: [
        { type: 'dist.start', rank: 1, batch: 0, t: 0.5 },
        { type: 'pipeline.drain', rank: 1, t: 2 },
      ],
      text: 'tables ünïcode',
    };
    const words = packWords(value);
    expect(words).toBeInstanceOf(Int32Array);
    const back = unpackWords<typeof value>(words.slice(), "rank 1's result");
    expect(back).toEqual(value);
    expect(Object.is(back.losses[2], -0)).toBe(true);
    expect(back.ids).toBeInstanceOf(Int32Array);
    expect(() => unpackWords(words.subarray(0, 5), "rank 1's result")).toThrow(
      /^rank 1's result: header announces \d+ bytes but only 20 arrived$/,
    );
    expect(() => unpackWords(Int32Array.of(1, 2, 3), "rank 2's result")).toThrow(
      /rank 2's result: does not start with the packed-result magic/,
    );
  });

  it('knows it was started by mpirun from Open MPI variables, and fits the options to the world', () => {
    expect(mpirunWorld({})).toBeNull();
    expect(mpirunWorld({ OMPI_COMM_WORLD_SIZE: '3', OMPI_COMM_WORLD_RANK: '2' })).toEqual({
      size: 3,
      rank: 2,
    });
    expect(() => mpirunWorld({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '2' })).toThrow(
      /OMPI_COMM_WORLD_SIZE="2" and OMPI_COMM_WORLD_RANK="2" are not a rank below a world size/,
    );
    expect(ranksFlagGiven(['train', '--backend', 'mpi', '--ranks=2'])).toBe(true);
    expect(ranksFlagGiven(['train', '--backend', 'mpi', '--json', 'r.json'])).toBe(false);

    const env = { OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '1' };
    const argv = ['train', '--backend', 'mpi', '--batch-size', '32'];
    expect(mpiDirectPlan(options(argv.slice(1)), {}, argv)).toBeNull(); // no mpirun: the usual launcher
    expect(
      mpiDirectPlan(options(['--batch-size', '32']), env, ['train', '--batch-size', '32']),
    ).toBeNull(); // --backend sim
    const plan = mpiDirectPlan(options(argv.slice(1)), env, argv)!;
    expect(plan).toMatchObject({
      leader: false,
      launcher: mpiDirectLauncher,
      options: { ranks: 2, device: 'wasm' },
    });

    const refuse = (args: string[]) => () => mpiDirectPlan(options(args), env, ['train', ...args]);
    expect(refuse(['--backend', 'mpi', '--ranks', '4'])).toThrow(
      '--ranks 4 does not match the MPI world size 2 (mpirun started 2 processes, one per rank): give --ranks 2 or leave --ranks out',
    );
    // --inspect with a real backend is refused while parsing, before mpirun matters
    expect(() => options(['--backend', 'mpi', '--inspect'])).toThrow(
      /^--inspect needs --backend sim/,
    );
    expect(refuse(['--backend', 'mpi', '--ranks', '1', '--batch-size', '3'])).toThrow(
      /--ranks 1 does not match/,
    );
    const world3 = { OMPI_COMM_WORLD_SIZE: '3', OMPI_COMM_WORLD_RANK: '0' };
    const four = ['--backend', 'mpi', '--batch-size', '4'];
    // --ranks left out: the world size replaces the default, and the global batch must split across it
    expect(() => mpiDirectPlan(options(four), world3, ['train', ...four])).toThrow(
      '--batch-size 4 is not divisible by the MPI world size 3 (it is the global batch, split evenly across ranks)',
    );
    // not a sparsepipe command line (a program calling main()): the options' --ranks counts as given
    expect(() => mpiDirectPlan(options(four), world3, [])).toThrow(
      '--ranks 4 does not match the MPI world size 3',
    );
  });
});

describe.skipIf(!mpi.available)('sparsepipe train under an external mpirun', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsepipe-mpi-direct-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs one rank per process, gathers to rank 0 through MPI, and equals --backend sim', async () => {
    const common = ['--batches', '6', '--batch-size', '32'];
    const F = join(dir, 'mpi.json');
    const G = join(dir, 'sim.json');
    const [viaMpi, sim] = await Promise.all([
      run('mpirun', [
        ...MPIRUN,
        '-np',
        '2',
        ...SPARSEPIPE,
        '--backend',
        'mpi',
        ...common,
        '--json',
        F,
      ]),
      run('node', [
        'bin/sparsepipe.js',
        'train',
        '--backend',
        'sim',
        '--ranks',
        '2',
        ...common,
        '--json',
        G,
      ]),
    ]);
    expect(sim.code, sim.stderr).toBe(0);
    expect(viaMpi.code, viaMpi.stderr).toBe(0);
    expect(sparsepipeLines(viaMpi.stderr)).toEqual([]); // no rank complains, and followers print nothing
    expect(viaMpi.stdout.match(/^sparsepipe train: /gm)).toHaveLength(1); // one report, rank 0's
    const m = JSON.parse(await readFile(F, 'utf8')) as Record<string, unknown>;
    const s = JSON.parse(await readFile(G, 'utf8')) as Record<string, unknown>;
    expect(m.paramsDigest).toBe(s.paramsDigest);
    expect(m.losses).toEqual(s.losses);
    expect(m.heldOutLoss).toBe(s.heldOutLoss);
    expect(m.iterationClock).toBe('wall');
    expect((m.options as { ranks: number }).ranks).toBe(2); // from the MPI world size
  });

  it('refuses a --ranks that is not the MPI world size, writing nothing', async () => {
    const F = join(dir, 'mismatch.json');
    const r = await run('mpirun', [
      ...MPIRUN,
      '-np',
      '2',
      ...SPARSEPIPE,
      '--backend',
      'mpi',
      '--ranks',
      '3',
      '--batches',
      '6',
      '--batch-size',
      '48',
      '--json',
      F,
    ]);
    expect(r.code).not.toBe(0);
    const lines = sparsepipeLines(r.stderr);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toBe(
        'sparsepipe: --ranks 3 does not match the MPI world size 2 (mpirun started 2 processes, one per rank): give --ranks 2 or leave --ranks out',
      );
    }
    expect(existsSync(F)).toBe(false);
  });

  it('ends the whole job when one rank fails mid-run: exit ≠ 0, one line naming the rank, nothing written', async () => {
    const row = (i: number) =>
      [
        String(i % 3 === 0 ? 1 : 0),
        ...Array.from({ length: 13 }, (_, j) => String((i * 7 + j) % 11)),
        ...Array.from({ length: 26 }, (_, j) => ((i * 31 + j * 17) % 4096).toString(16)),
      ].join('\t');
    const rows = Array.from({ length: 64 }, (_, i) => row(i));
    const good = join(dir, 'good.tsv');
    const bad = join(dir, 'bad.tsv');
    await writeFile(good, `${rows.join('\n')}\n`);
    await writeFile(bad, `${rows.map((l, i) => (i === 39 ? '1\tnot-a-number' : l)).join('\n')}\n`);
    const F = join(dir, 'failed.json');
    const args = [
      ...SPARSEPIPE,
      '--backend',
      'mpi',
      '--batches',
      '6',
      '--batch-size',
      '8',
      '--json',
      F,
    ];
    // MPMD: rank 0 reads a good file, rank 1 one whose row 40 (global batch 4) is malformed; rank 0 is then waiting in a collective.
    const r = await run('mpirun', [
      ...MPIRUN,
      '-np',
      '1',
      ...args,
      '--data',
      good,
      ':',
      '-np',
      '1',
      ...args,
      '--data',
      bad,
    ]);
    expect(r.code).not.toBe(0);
    expect(sparsepipeLines(r.stderr)).toEqual([
      `sparsepipe: rank 1: the dataloader threw while fetching batch 4: ${bad}:40: expected 40 tab-separated columns (label, I1-I13, C1-C26), got 2`,
    ]);
    expect(r.stdout).not.toMatch(/sparsepipe train:/);
    expect(existsSync(F)).toBe(false);
  });
});
