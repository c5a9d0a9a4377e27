/**
 * CLI start-up: how long `sparsepipe --help` and a bad-flag error take, side by side with
 * `node -e 0` (the floor no Node program can beat) in one run, interleaved so machine noise
 * hits every command alike. Reports medians and the ratio to `node -e 0`.
 *
 * Run: npx tsx bench/cli-startup.ts [--quick] [--bin PATH] [--before PATH]
 *   --bin PATH     the command to measure (default bin/sparsepipe.js)
 *   --before PATH  also measure another build of the command in the same run, e.g. a checkout
 *                  of an older commit (`git worktree add /tmp/before <commit>` with its
 *                  node_modules linked): rows labelled "before:"
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isQuick, machine, writeReport } from './lib/report.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const binArg = process.argv.indexOf('--bin');
const BIN = binArg > 0 ? process.argv[binArg + 1] : join(ROOT, 'bin/sparsepipe.js');
const beforeArg = process.argv.indexOf('--before');
const BEFORE = beforeArg > 0 ? process.argv[beforeArg + 1] : null;
const rounds = isQuick() ? 5 : 15;

interface Case {
  label: string;
  args: string[];
  expectCode: number;
}
const cases: Case[] = [
  { label: 'node -e 0', args: ['-e', '0'], expectCode: 0 },
  { label: 'sparsepipe --help', args: [BIN, '--help'], expectCode: 0 },
  { label: 'sparsepipe train --bogus (exit 2)', args: [BIN, 'train', '--bogus'], expectCode: 2 },
  { label: 'sparsepipe --version', args: [BIN, '--version'], expectCode: 0 },
  ...(BEFORE
    ? [
        { label: 'before: sparsepipe --help', args: [BEFORE, '--help'], expectCode: 0 },
        {
          label: 'before: sparsepipe train --bogus (exit 2)',
          args: [BEFORE, 'train', '--bogus'],
          expectCode: 2,
        },
      ]
    : []),
];

const samples = new Map<string, number[]>(cases.map((c) => [c.label, []]));
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, c.args, { cwd: ROOT, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== c.expectCode)
      throw new Error(`${c.label}: exit ${r.status}, expected ${c.expectCode}\n${r.stderr}`);
    samples.get(c.label)!.push(ms);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const floor = median(samples.get('node -e 0')!);
const rows = cases.map((c) => {
  const m = median(samples.get(c.label)!);
  return [c.label, m.toFixed(0), (m / floor).toFixed(2), (m - floor).toFixed(0)];
});
const help = median(samples.get('sparsepipe --help')!);
writeReport({
  name: 'cli-startup',
  title: 'CLI start-up vs `node -e 0` (median wall ms)',
  command: `npx tsx bench/cli-startup.ts${isQuick() ? ' --quick' : ''}${BEFORE ? ` --before ${BEFORE}` : ''}`,
  columns: ['command', 'median ms', '÷ node -e 0', 'above node -e 0 (ms)'],
  rows,
  summary: {
    'help ms': Number(help.toFixed(0)),
    'help ÷ node -e 0': Number((help / floor).toFixed(2)),
    rounds,
    machine: machine(),
  },
  data: Object.fromEntries(samples),
});
