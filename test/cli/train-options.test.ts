/**
 * Flag validation of `sparsepipe train`: every bad input exits 2 with ONE line on stderr
 * naming the flag and the value; defaults fill every option.
 */
import { describe, expect, it } from 'vitest';
import { parseTrainArgs, DEFAULT_BATCHES, type TrainOptions } from '../../src/cli/train-options.ts';
import { runCli } from './run-cli.ts';

describe('sparsepipe train flags', () => {
  it('defaults match docs/design.md "Command line"', () => {
    const o = parseTrainArgs([]) as TrainOptions;
    expect(o).toMatchObject({
      model: 'dlrm',
      modelSize: 'small',
      data: 'synthetic',
      ranks: 4,
      backend: 'sim',
      device: 'sim',
      pipeline: 'sparse-dist',
      batches: DEFAULT_BATCHES,
      batchSize: 256,
      gradAccum: 1,
      gradAccumSchedule: 'exact',
      optimizer: 'adagrad',
      lr: 0.05,
      seed: 1,
      checkpointOut: null,
      resume: null,
      json: null,
      trace: null,
      inspect: null,
      interpreter: 'xstate',
    });
  });

  it("runs XState's interpreter unless --interpreter compiled opts in", () => {
    expect((parseTrainArgs([]) as TrainOptions).interpreter).toBe('xstate');
    expect((parseTrainArgs(['--interpreter', 'compiled']) as TrainOptions).interpreter).toBe(
      'compiled',
    );
    expect(() => parseTrainArgs(['--interpreter', 'fast'])).toThrow(
      '--interpreter must be one of xstate, compiled, got "fast"',
    );
  });

  it('reads --flag value, --flag=value, switches and an optional value', () => {
    const o = parseTrainArgs([
      '--ranks=2',
      '--lr',
      '0.1',
      '--cost',
      'copy=2,fwd=3',
      '--inspect',
      '--batch-size',
      '64',
    ]) as TrainOptions;
    expect(o.ranks).toBe(2);
    expect(o.lr).toBe(0.1);
    expect(o.costOverrides).toEqual({ copy: 2, forward: 3 });
    expect(o.inspect).toBe(0);
    expect((parseTrainArgs(['--inspect', '9000']) as TrainOptions).inspect).toBe(9000);
    expect(parseTrainArgs(['--help'])).toBe('help');
  });

  it('a real backend defaults to the wasm device', () => {
    expect((parseTrainArgs(['--backend', 'threads']) as TrainOptions).device).toBe('wasm');
  });

  const cases: Array<[string[], string]> = [
    [['--grad-accum', '0'], 'sparsepipe: --grad-accum must be an integer in [1, 65536], got "0"'],
    [['--ranks', 'four'], 'sparsepipe: --ranks must be an integer in [1, 1024], got "four"'],
    [
      ['--batches', '2.5'],
      'sparsepipe: --batches must be an integer in [1, 1000000000], got "2.5"',
    ],
    [['--lr', '-1'], 'sparsepipe: --lr must be a number > 0, got "-1"'],
    [['--lr', 'fast'], 'sparsepipe: --lr must be a number > 0, got "fast"'],
    [
      ['--pipeline', 'sparse_dist'],
      'sparsepipe: --pipeline must be one of none, base, sparse-dist, fused-sparse-dist, semi-sync, prefetch, got "sparse_dist"',
    ],
    [['--optimizer', 'adam'], 'sparsepipe: --optimizer must be one of sgd, adagrad, got "adam"'],
    [
      ['--grad-accum-schedule', 'torchrec'],
      'sparsepipe: --grad-accum-schedule must be one of exact, torchrec-0.3.2, got "torchrec"',
    ],
    [['--backend', 'nccl'], 'sparsepipe: --backend must be one of sim, threads, mpi, got "nccl"'],
    [
      ['--frobnicate'],
      'sparsepipe: unknown option --frobnicate for `sparsepipe train` (see `sparsepipe train --help`)',
    ],
    [['--ranks', '2', '--ranks', '3'], 'sparsepipe: --ranks is given twice'],
    [['--seed'], 'sparsepipe: --seed needs a value'],
    [
      ['--batch-size', '250'],
      'sparsepipe: --batch-size 250 is not divisible by --ranks 4 (it is the global batch, split evenly across ranks)',
    ],
    [
      ['--cost', 'fwd=3,speed=9'],
      'sparsepipe: --cost: unknown key "speed" in "fwd=3,speed=9" (known: copy, dist, distSplits, distData, forward, backward, optimizer, outputDist, collective, lookup, cacheFill, fwd, bwd, opt, fill)',
    ],
    [
      ['--cost', 'fwd=-3'],
      'sparsepipe: --cost: value of "fwd" must be a number of ms ≥ 0, got "-3"',
    ],
    [
      ['--device', 'cpu', '--cost', 'fwd=3'],
      'sparsepipe: --cost sets simulated op durations and needs --device sim, got --device cpu',
    ],
    [
      ['--backend', 'mpi', '--device', 'sim'],
      'sparsepipe: --device sim needs --backend sim (--backend mpi runs real ranks: choose --device wasm, cpu or gpu)',
    ],
    [
      ['--skip-bad-rows'],
      'sparsepipe: --skip-bad-rows applies to a Criteo TSV file given with --data FILE.tsv, not to synthetic data',
    ],
    [['--inspect', '70000'], 'sparsepipe: --inspect must be an integer in [0, 65535], got "70000"'],
    [
      ['--json', 'x.json', '--trace', 'x.json'],
      'sparsepipe: --trace and --json name the same path "x.json"',
    ],
    [
      ['extra'],
      'sparsepipe: unexpected argument "extra" for `sparsepipe train` (options start with --)',
    ],
    [
      ['--data', '/nonexistent/day_0.tsv'],
      'sparsepipe: --data "/nonexistent/day_0.tsv": no such file (give "synthetic" or a Criteo TSV file)',
    ],
    [
      ['--json', '/nonexistent-dir/out.json'],
      'sparsepipe: --json /nonexistent-dir/out.json: the directory /nonexistent-dir does not exist',
    ],
  ];
  for (const [args, line] of cases) {
    it(`${args.join(' ')} → exit 2 and one line`, async () => {
      const run = await runCli(['train', ...args]);
      expect(run.code).toBe(2);
      expect(run.err).toEqual([line]);
      expect(run.out).toEqual([]);
    });
  }
});

describe('sparsepipe command', () => {
  it('unknown command → exit 2', async () => {
    const run = await runCli(['trian']);
    expect(run.code).toBe(2);
    expect(run.err).toEqual([
      'sparsepipe: unknown command "trian" (commands: train, simulate, plan, compare, bench, charts, inspect; see sparsepipe --help)',
    ]);
  });

  it('--help and train --help print usage; bench points at npm run bench', async () => {
    expect((await runCli(['--help'])).out.join('\n')).toContain('sparsepipe <command>');
    const train = await runCli(['train', '--help']);
    expect(train.code).toBe(0);
    for (const flag of [
      '--model',
      '--data',
      '--ranks',
      '--backend',
      '--device',
      '--pipeline',
      '--batches',
      '--batch-size',
      '--grad-accum',
      '--grad-accum-schedule',
      '--optimizer',
      '--lr',
      '--seed',
      '--cost',
      '--checkpoint-out',
      '--resume',
      '--trace',
      '--json',
      '--inspect',
      '--skip-bad-rows',
      '--model-size',
    ]) {
      expect(train.out.join('\n'), flag).toContain(flag);
    }
    const bench = await runCli(['bench']);
    expect(bench.code).toBe(0);
    expect(bench.out.join('\n')).toContain('npm run bench');
  });

  it('inspect without a file → exit 2', async () => {
    const run = await runCli(['inspect']);
    expect(run.code).toBe(2);
    expect(run.err).toHaveLength(1);
  });
});
