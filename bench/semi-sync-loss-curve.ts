/**
 * Semi-sync's training curve against sparse-dist's on the synthetic click log, whose
 * planted model gives the best possible held-out loss (`bayesOptimalLoss`): how much the
 * one-step staleness of the embeddings (and, with stashed gradients, of the dense part)
 * costs. Same seed, data, model and optimizer for every run; the small DLRM on 2 sim ranks.
 *
 * Run: npx tsx bench/semi-sync-loss-curve.ts [--quick]
 */
import { train } from '../src/cli/train.ts';
import { parseTrainArgs, type TrainOptions } from '../src/cli/train-options.ts';
import type { CliIo } from '../src/cli/cli-io.ts';
import { fmt, isQuick, writeReport } from './lib/report.ts';

const quick = isQuick();
const batches = quick ? 48 : 160;
const silent: CliIo = { out: () => {}, err: () => {}, errRaw: () => {}, isTTY: false };

const runs: Array<{ name: string; args: string[] }> = [
  { name: 'sparse-dist', args: ['--pipeline', 'sparse-dist'] },
  { name: 'semi-sync (startBatch 0)', args: ['--pipeline', 'semi-sync'] },
  {
    name: 'semi-sync (startBatch 0, stash)',
    args: ['--pipeline', 'semi-sync', '--stash-gradients'],
  },
  {
    name: `semi-sync (startBatch ${batches / 4})`,
    args: ['--pipeline', 'semi-sync', '--start-batch', String(batches / 4)],
  },
];

/** Mean of `xs` over windows of `w` (the curve, smoothed). */
function windows(xs: readonly number[], w: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + w <= xs.length; i += w)
    out.push(xs.slice(i, i + w).reduce((a, b) => a + b, 0) / w);
  return out;
}

const rows: Array<Array<string | number>> = [];
const data: unknown[] = [];
let reference: number[] | null = null;
for (const run of runs) {
  const options = parseTrainArgs([
    '--ranks',
    '2',
    '--batches',
    String(batches),
    '--batch-size',
    '256',
    '--seed',
    '3',
    '--held-out-examples',
    '8192',
    ...run.args,
  ]) as TrainOptions;
  const s = await train(options, silent);
  if (!s) throw new Error('no summary');
  const curve = windows(s.losses, batches / 8);
  reference ??= s.losses;
  const gap = s.losses.map((l, i) => Math.abs(l - reference![i]));
  rows.push([
    run.name,
    curve.map((x) => fmt(x, 3)).join(' '),
    fmt(s.heldOutLoss ?? NaN, 4),
    fmt((s.heldOutLoss ?? NaN) - (s.bayesOptimalLoss ?? NaN), 4),
    fmt(s.auc ?? NaN, 4),
    fmt(Math.max(...gap), 4),
  ]);
  data.push({
    run: run.name,
    losses: s.losses,
    heldOutLoss: s.heldOutLoss,
    auc: s.auc,
    bayesOptimalLoss: s.bayesOptimalLoss,
  });
}

writeReport({
  name: 'semi-sync-loss-curve',
  title:
    'Semi-sync vs sparse-dist: training loss curve and held-out loss (synthetic, planted optimum known)',
  command: `npx tsx bench/semi-sync-loss-curve.ts${quick ? ' --quick' : ''}`,
  columns: [
    'pipeline',
    `train loss, mean per ${batches / 8} batches`,
    'held-out loss',
    'above Bayes-optimal',
    'AUC',
    'max |Δ loss| vs sparse-dist',
  ],
  rows,
  summary: { batches, globalBatch: 256, ranks: 2 },
  notes: [
    `small DLRM, adagrad lr 0.05, ${batches} batches of 256, seed 3, 8192 held-out examples; the Bayes-optimal loss is the planted model's on the same held-out stream.`,
  ],
  data,
});
