/**
 * A table larger than a memory budget, trained from a file slow tier behind a 1 % row cache,
 * side by side with the same table held whole in memory. Each configuration runs in its own
 * process, so the peak RSS (`maxRSS`) is that configuration's alone.
 *
 *   npx tsx bench/cached-table.ts [--quick] [--rows N] [--budget-mib M]
 *
 * Table: `rows` × dim 16 float32 (default 20,000,000 rows = 1,220 MiB of weights + 76 MiB of
 * row-wise Adagrad state); one feature, 8 ids per sample, batch 1,024, ids drawn from a
 * power law (id = ⌊rows·u⁴⌋: a hot head and a long tail, like click logs). Training step:
 * pooled lookup, backward of ½‖pooled‖², fused row-wise Adagrad. Throughput is examples per
 * second over the measured batches (after warm-up); the file tier lives in the OS temp dir
 * and is deleted at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddingBagCollection } from '../src/modules/embedding/embedding-bag-collection.ts';
import type { EmbeddingCacheConfig } from '../src/modules/embedding-cache/cache-config.ts';
import { KeyedJaggedTensor } from '../src/tensors/keyed-jagged-tensor.ts';
import { runChild } from './lib/child.ts';
import { fmt, isQuick, writeReport } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rows: { type: 'string' },
    'budget-mib': { type: 'string', default: '512' },
    child: { type: 'string' },
  },
});
const quick = isQuick();
const ROWS = Number(values.rows ?? (quick ? 5_000_000 : 20_000_000));
const DIM = 16;
const BATCH = 1024;
const IDS = 8;
const WARMUP = quick ? 2 : 5;
const MEASURED = quick ? 10 : 40;
const BUDGET_MIB = Number(values['budget-mib']);

interface ChildOutput {
  mode: string;
  examplesPerSecond: number;
  peakRssMiB: number;
  hitRate: number | null;
  setupMs: number;
}

function idsFor(step: number): Int32Array {
  // a counter-based generator: the same ids in every mode
  const out = new Int32Array(BATCH * IDS);
  let s = (step + 1) * 0x9e3779b1;
  for (let i = 0; i < out.length; i++) {
    s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) >>> 0;
    s = (s ^ (s >>> 13)) >>> 0;
    const u = s / 4294967296;
    out[i] = Math.min(ROWS - 1, Math.floor(ROWS * u * u * u * u));
  }
  return out;
}

type Mode = 'memory' | 'file-lru' | 'file-lfu';
const MODES: readonly Mode[] = ['file-lru', 'file-lfu', 'memory'];

async function child(mode: Mode): Promise<void> {
  const dir = mode !== 'memory' ? mkdtempSync(join(tmpdir(), 'sparsepipe-tier-')) : '';
  const cache: EmbeddingCacheConfig | undefined =
    mode !== 'memory'
      ? {
          fraction: 0.01,
          policy: mode === 'file-lru' ? 'lru' : 'lfu',
          slowTier: { kind: 'file', dir },
        }
      : undefined;
  const t0 = performance.now();
  const ebc = new EmbeddingBagCollection({
    tables: [{ name: 'big', rows: ROWS, dim: DIM, pooling: 'sum', features: ['f'], cache }],
    seed: 1,
    optimizer: { kind: 'adagrad', lr: 0.05 },
  });
  const setupMs = performance.now() - t0;
  const lengths = new Int32Array(BATCH).fill(IDS);
  let start = 0;
  for (let step = 0; step < WARMUP + MEASURED; step++) {
    if (step === WARMUP) start = performance.now();
    const kjt = new KeyedJaggedTensor({ keys: ['f'], values: idsFor(step), lengths });
    const pooled = ebc.lookup(kjt);
    ebc.backward(kjt, pooled.values); // d(½‖p‖²)/dp = p
    ebc.step();
  }
  const seconds = (performance.now() - start) / 1000;
  const stats = ebc.cacheStats().big;
  ebc.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const out: ChildOutput = {
    mode,
    examplesPerSecond: (MEASURED * BATCH) / seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    hitRate: stats ? stats.hits / (stats.hits + stats.misses) : null,
    setupMs,
  };
  console.log(JSON.stringify(out));
}

if ((MODES as readonly string[]).includes(values.child ?? '')) {
  await child(values.child as Mode);
} else {
  const results: ChildOutput[] = [];
  for (const mode of MODES) {
    const args = [
      '--import',
      'tsx',
      'bench/cached-table.ts',
      '--child',
      mode,
      '--rows',
      String(ROWS),
    ];
    if (quick) args.push('--quick');
    const r = await runChild(process.execPath, args, { timeoutMs: 1_800_000 });
    if (r.code !== 0) throw new Error(`cached-table child ${mode} failed: ${r.stderr.slice(-800)}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildOutput);
  }
  const tableMiB = (ROWS * DIM * 4) / 2 ** 20;
  const [lru, lfu, memory] = results;
  const command = `npx tsx bench/cached-table.ts${quick ? ' --quick' : ''} --rows ${ROWS} --budget-mib ${BUDGET_MIB}`;
  writeReport({
    name: 'cached-table',
    title: `Cached embedding tier: a ${fmt(tableMiB, 0)} MiB table (${ROWS.toLocaleString('en-US')} rows × ${DIM}) under a ${BUDGET_MIB} MiB budget`,
    command,
    columns: [
      'slow tier',
      'fast tier',
      'setup s',
      'examples/s',
      'hit rate',
      'peak RSS MiB',
      'within budget',
    ],
    rows: results.map((r) => [
      r.mode !== 'memory' ? 'file (pread/pwrite)' : 'none (whole table in memory)',
      r.mode !== 'memory' ? `1 % of rows, ${r.mode.slice(5).toUpperCase()}` : '—',
      fmt(r.setupMs / 1000, 2),
      Math.round(r.examplesPerSecond),
      r.hitRate === null ? '—' : fmt(r.hitRate, 3),
      fmt(r.peakRssMiB, 0),
      r.peakRssMiB <= BUDGET_MIB ? 'yes' : 'no',
    ]),
    summary: {
      tableMiB: Number(tableMiB.toFixed(0)),
      budgetMiB: BUDGET_MIB,
      fileTierPeakRssMiB: Number(Math.max(lru.peakRssMiB, lfu.peakRssMiB).toFixed(0)),
      fileTierWithinBudget: Math.max(lru.peakRssMiB, lfu.peakRssMiB) <= BUDGET_MIB,
      throughputLruOverMemory: Number(
        (lru.examplesPerSecond / memory.examplesPerSecond).toFixed(3),
      ),
      throughputLfuOverMemory: Number(
        (lfu.examplesPerSecond / memory.examplesPerSecond).toFixed(3),
      ),
    },
    notes: [
      'Batch 1,024 × 8 ids of one feature, ids ⌊rows·u⁴⌋; step = lookup, backward of ½‖pooled‖², fused row-wise Adagrad.',
      'Each row is measured in its own process; the file tier writes rows lazily (a row never trained is computed from the init).',
    ],
    data: results,
  });
}
