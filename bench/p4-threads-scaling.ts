/**
 * P4 — real ranks on 2 cores: `threads` world 2 ÷ world 1 examples/s on the reference DLRM
 * (global batch 512, wasm), both through the CLI, run alternately (A B A B …) so a noisy
 * neighbour hits both alike. Target ≥ 1.7 (limit 2.0). Rates come from the summary's
 * `iterationMs` (median time between iterations over the second half of each run).
 *
 * Run: npx tsx bench/p4-threads-scaling.ts [--quick]
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.ts';
import { fmt, isQuick, median, writeReport } from './lib/report.ts';

const quick = isQuick();
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const B = 512;
const batches = quick ? 12 : 24;
const rounds = quick ? 2 : 3;
const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-p4-'));
const samples: Record<number, number[]> = { 1: [], 2: [] };
const notes: string[] = [];

async function run(ranks: number, round: number): Promise<void> {
  const out = join(dir, `threads-${ranks}-${round}.json`);
  const args = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'train',
    '--model-size',
    'reference',
    '--backend',
    'threads',
    '--device',
    'wasm',
    '--dense-math',
    'auto',
    '--blas-threads',
    '1',
    '--ranks',
    String(ranks),
    '--batch-size',
    String(B),
    '--batches',
    String(batches),
    '--optimizer',
    'sgd',
    '--held-out-examples',
    '0',
    '--json',
    out,
  ];
  const r = await runChild(process.execPath, args, { timeoutMs: 900_000, cwd: ROOT });
  if (r.code !== 0 || !existsSync(out))
    return void notes.push(
      `threads world ${ranks} failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop()}`,
    );
  const { iterationMs } = JSON.parse(readFileSync(out, 'utf8')) as { iterationMs: number };
  samples[ranks].push((B * 1000) / iterationMs);
}

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? [1, 2] : [2, 1];
  for (const ranks of order) await run(ranks, round);
}

const one = median(samples[1]);
const two = median(samples[2]);
const ratio = two / one;
writeReport({
  name: 'p4-threads-scaling',
  title:
    'P4 — real: threads world 2 ÷ world 1 examples/s (reference DLRM, batch 512, wasm + OpenBLAS 1 thread per rank, 2 cores)',
  command: `npx tsx bench/p4-threads-scaling.ts${quick ? ' --quick' : ''}`,
  columns: ['ranks', 'examples/s (median)', 'samples'],
  rows: [
    [1, fmt(one, 0), samples[1].map((x) => x.toFixed(0)).join(', ')],
    [2, fmt(two, 0), samples[2].map((x) => x.toFixed(0)).join(', ')],
  ],
  summary: {
    'world 2 ÷ world 1': fmt(ratio, 3),
    target: '≥ 1.7 (limit 2.0)',
    verdict: ratio >= 1.7 ? 'met' : 'NOT met',
  },
  notes: [
    ...notes,
    `Load average at the end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(
        ' / ',
      )}: world 2 needs both cores to itself, so other load on a shared machine hits it harder than world 1.`,
  ],
  headlines: [
    {
      id: 'P4',
      what: 'real: threads world 2 ÷ world 1 examples/s on 2 cores',
      target: '≥ 1.7',
      result: fmt(ratio, 3),
      met: ratio >= 1.7,
    },
  ],
});
