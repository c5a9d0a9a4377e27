/**
 * More of the command line's part of the reliability corpus (run by cli-bad-inputs.test.ts
 * with the other CLI cases): size limits and the memory estimate, output paths checked
 * before the first batch (by real path), Criteo numbers that overflow, and a diverged run.
 * Each exits non-zero with exactly one line, prints nothing on stdout, writes no summary,
 * leaves every given file as it was and creates none of `absent`.
 */
import type { CliBadInputCase } from './bad-inputs.cases.ts';

const row = (n: number, i5 = String(n % 7)) =>
  [
    String(n % 2),
    ...Array.from({ length: 13 }, (_, j) => (j === 4 ? i5 : String((n * 7 + j) % 20))),
    ...Array.from({ length: 26 }, (_, j) => ((n * 31 + j * 17) % 4096).toString(16)),
  ].join('\t');
const TSV = `${[0, 1, 2, 3].map((n) => row(n)).join('\n')}\n`;
const HUGE = '9'.repeat(400);
const TINY = ['--ranks', '1', '--batches', '4', '--batch-size', '32', '--held-out-examples', '0'];
const SMALL_BATCH = [
  '--ranks',
  '1',
  '--batches',
  '2',
  '--batch-size',
  '2',
  '--held-out-examples',
  '0',
];

const cap = (flag: string, value: string, range: string): CliBadInputCase => ({
  id: `cli-cap${flag}-${value.length > 12 ? 'huge' : value}`,
  title: `${flag} ${value} (over its limit)`,
  argv: ['train', flag, value],
  code: 2,
  line: `sparsepipe: ${flag} must be an integer in ${range}, got "${value}"`,
});

export const CLI_LIMIT_CASES: ReadonlyArray<CliBadInputCase & { absent?: string[] }> = [
  cap('--batches', '1000000001', '[1, 1000000000]'),
  cap('--batch-size', '16777217', '[1, 16777216]'),
  cap('--batch-size', '99999999999', '[1, 16777216]'),
  cap('--batch-size', '1e9', '[1, 16777216]'),
  cap('--grad-accum', '65537', '[1, 65536]'),
  cap('--held-out-examples', '1000001', '[0, 1000000]'),
  cap('--cache-rows', '2147483648', '[1, 2147483647]'),
  cap('--seed', '4294967296', '[0, 4294967295]'),
  cap('--start-batch', '1000000001', '[0, 1000000000]'),
  cap('--table-rows', '2147483648', '[1, 2147483647]'),
  cap('--embedding-dim', '4097', '[1, 4096]'),
  cap('--ranks', '1025', '[1, 1024]'),
  {
    id: 'cli-memory-tables',
    title: '--table-rows 2000000000 (tables larger than the machine)',
    argv: ['train', '--table-rows', '2000000000', '--batches', '1'],
    code: 2,
    line: /^sparsepipe: --table-rows 2000000000: this run needs about 715\.3 GiB of memory \(batch 0\.0 GiB, tables 715\.3 GiB, held-out data 0\.0 GiB\), more than half of this machine's \d+\.\d GiB$/,
  },
  {
    id: 'cli-memory-batch',
    title: '--batch-size 16000000 (more memory than the machine has)',
    argv: ['train', '--batch-size', '16000000', '--batches', '1'],
    code: 2,
    line: /^sparsepipe: --batch-size 16000000: this run needs about 99\.1 GiB of memory \(batch 99\.1 GiB, tables 0\.0 GiB, held-out data 0\.0 GiB\), more than half of this machine's \d+\.\d GiB$/,
  },
  {
    id: 'cli-memory-wasm',
    title: '--batch-size 1000000 on the sim device (more than a WebAssembly memory)',
    argv: ['train', '--batch-size', '1000000', '--batches', '1'],
    code: 2,
    line: /^sparsepipe: --batch-size 1000000: (the batch needs about 6\.2 GiB of tensors, more than the 4\.0 GiB a WebAssembly memory can hold \(--device sim\); use a smaller batch|this run needs about 6\.2 GiB of memory .*)$/,
  },
  {
    id: 'cli-output-trailing-slash',
    title: '--trace out/ (a directory spelling)',
    argv: ['train', ...TINY, '--trace', '{dir}/out/'],
    code: 2,
    line: 'sparsepipe: --trace {dir}/out/: names a directory; give a file name',
  },
  {
    id: 'cli-output-existing-dir',
    title: '--trace naming an existing directory',
    argv: ['train', ...TINY, '--trace', '{dir}/sub'],
    files: { 'sub/keep.txt': 'keep' },
    code: 2,
    line: 'sparsepipe: --trace {dir}/sub: is a directory',
  },
  {
    id: 'cli-output-missing-dir',
    title: '--trace-events in a directory that does not exist',
    argv: ['train', ...TINY, '--trace-events', '{dir}/nope/events.json'],
    code: 2,
    line: 'sparsepipe: --trace-events {dir}/nope/events.json: the directory {dir}/nope does not exist',
  },
  {
    id: 'cli-output-same-file',
    title: '--trace and --json naming one file',
    argv: ['train', ...TINY, '--trace', '{dir}/summary.json'],
    code: 2,
    line: /^sparsepipe: --trace and --json name the same path "\S+\/summary\.json"$/,
  },
  {
    id: 'cli-output-same-file-dot',
    title: '--trace-events ./summary.json spelled with /./',
    argv: ['train', ...TINY, '--trace-events', '{dir}/./summary.json'],
    code: 2,
    line: /^sparsepipe: --trace-events \S+\/\.\/summary\.json and --json \S+\/summary\.json name the same file \(\S+\/summary\.json\)$/,
  },
  {
    id: 'cli-output-same-file-dotdot',
    title: '--trace spelled through sub/..',
    argv: ['train', ...TINY, '--trace', '{dir}/sub/../summary.json'],
    files: { 'sub/keep.txt': 'keep' },
    code: 2,
    line: /^sparsepipe: --trace \S+\/sub\/\.\.\/summary\.json and --json \S+\/summary\.json name the same file \(\S+\/summary\.json\)$/,
  },
  {
    id: 'cli-output-trace-and-events',
    title: '--trace and --trace-events naming one file',
    argv: ['train', ...TINY, '--trace', '{dir}/t.json', '--trace-events', '{dir}/t.json'],
    code: 2,
    line: /^sparsepipe: --trace and --trace-events name the same path "\S+\/t\.json"$/,
  },
  {
    id: 'cli-output-is-data',
    title: '--trace naming the --data file',
    argv: ['train', ...TINY, '--data', '{dir}/d.tsv', '--trace', '{dir}/d.tsv'],
    files: { 'd.tsv': TSV },
    code: 2,
    line: 'sparsepipe: --trace {dir}/d.tsv: is the --data file; it would be overwritten',
  },
  {
    id: 'cli-checkpoint-out-file',
    title: '--checkpoint-out naming a file',
    argv: ['train', ...TINY, '--checkpoint-out', '{dir}/f'],
    files: { f: 'not a checkpoint' },
    code: 2,
    line: 'sparsepipe: --checkpoint-out {dir}/f: exists and is not a directory',
  },
  {
    id: 'cli-checkpoint-out-foreign-dir',
    title: '--checkpoint-out naming a directory that is not a checkpoint',
    argv: ['train', ...TINY, '--checkpoint-out', '{dir}/photos'],
    files: { 'photos/cat.jpg': 'meow' },
    code: 2,
    line: 'sparsepipe: --checkpoint-out {dir}/photos: exists, is not empty and holds no manifest.json: refusing to replace it',
  },
  {
    id: 'cli-criteo-overflow',
    title: 'a Criteo integer past 1.8e308',
    argv: ['train', ...SMALL_BATCH, '--data', '{dir}/d.tsv'],
    files: {
      'd.tsv': `${row(0)}\n${row(1, HUGE)}\n${[2, 3, 4, 5].map((n) => row(n)).join('\n')}\n`,
    },
    code: 1,
    line: `sparsepipe: the dataloader threw while fetching batch 0: {dir}/d.tsv:2: column I5: "${'9'.repeat(40)}…" is too large (overflows)`,
  },
  {
    id: 'cli-criteo-overflow-negative',
    title: 'a Criteo integer below -1.8e308',
    argv: ['train', ...SMALL_BATCH, '--data', '{dir}/d.tsv'],
    files: {
      'd.tsv': `${row(0)}\n${row(1)}\n${row(2, `-${HUGE}`)}\n${[3, 4, 5].map((n) => row(n)).join('\n')}\n`,
    },
    code: 1,
    line: `sparsepipe: the dataloader threw while fetching batch 1: {dir}/d.tsv:3: column I5: "-${'9'.repeat(39)}…" is too large (overflows)`,
  },
  {
    id: 'cli-diverged-run',
    title: '--lr 1e30: the loss becomes NaN',
    argv: ['train', ...TINY, '--lr', '1e30', '--checkpoint-out', '{dir}/ck'],
    code: 1,
    line: 'sparsepipe: batch 1: the loss is NaN; first non-finite parameter: dense bottom.layers.0.weight[0] is NaN; training stopped (a smaller --lr may help)',
    absent: ['ck'],
  },
];
