/**
 * P5 / P5b (docs/design.md "Performance targets"): examples/s on the reference DLRM (8 ×
 * 100k × 16, bottom 512-256-16, dot interaction, top 512-256-1, BCE, SGD, global batch
 * 512), side by side in one run:
 *
 * - PyTorch on the CPU (Debian `python3-torch`, bench/p5_pytorch.py), 1 thread and 2
 *   threads: `torch.set_num_threads(T)` AND `OPENBLAS_NUM_THREADS=T` (PyTorch's matMuls run
 *   on OpenBLAS, whose own pool otherwise takes every core);
 * - sparsepipe world 1 (actor pipeline in this process), its matMuls on OpenBLAS pinned to
 *   1 thread (docs/dense-math.md), and on tfjs's stock wasm kernels for reference;
 * - sparsepipe `threads` world 2 (1 BLAS thread per rank) and `sim` world 1, through the CLI
 *   (`sparsepipe train … --device wasm`, its `iterationMs`).
 *
 * Rounds alternate the systems; medians of the wall-clock rates. Targets (P5): sparsepipe
 * world 1 ÷ PyTorch 1 thread ≥ 1.0; also reported: threads world 2 ÷ PyTorch 2 threads.
 *
 * P5b: the same DLRM in plain `@tensorflow/tfjs` layers (`tf.layers.embedding` + `model.fit`,
 * bench/lib/tfjs-layers-dlrm.ts) — one step on wasm (the gather gradient throws) and one on
 * cpu (dense gradients; killed after a time limit).
 *
 * Run: npx tsx bench/p5-vs-pytorch.ts [--quick]
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { referenceDlrmConfig } from '../src/models/dlrm-rank.ts';
import { initDenseMath } from '../src/runtime/dense-math/dense-math.ts';
import { RealSession } from './lib/real-run.ts';
import { lastJsonLine, runChild } from './lib/child.ts';
import { fmt, isQuick, median, writeReport } from './lib/report.ts';

const quick = isQuick();
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = quick ? 1 : 3;
const torchIters = quick ? 10 : 25;
const spMeasured = quick ? 6 : 15;
const cliBatches = quick ? 12 : 24;
const B = 512;
const notes: string[] = [];
const samples = new Map<string, number[]>();
const add = (k: string, v: number) => samples.set(k, [...(samples.get(k) ?? []), v]);

// ── which systems can run here ──────────────────────────────────────────────────────────
async function findTorchPython(): Promise<string | null> {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = await runChild(py, ['-c', 'import torch; print(torch.__version__)'], {
      timeoutMs: 60_000,
    });
    if (r.code === 0) return py;
  }
  return null;
}
const python = await findTorchPython();
if (!python)
  notes.push(
    'PyTorch: not importable by /usr/bin/python3 or python3 — install Debian `python3-torch libopenblas0-pthread`; PyTorch rows skipped.',
  );
const hasThreads = existsSync(join(ROOT, 'src/runtime/collectives/threads/index.ts'));
if (!hasThreads)
  notes.push(
    'sparsepipe threads world 2: src/runtime/collectives/threads/ does not exist — skipped.',
  );
const jsonDir = mkdtempSync(join(tmpdir(), 'sparsepipe-p5-'));
const tsx = [process.execPath, '--import', 'tsx'] as const;

async function torch(threads: number): Promise<void> {
  const r = await runChild(
    python!,
    [
      join(ROOT, 'bench/p5_pytorch.py'),
      '--threads',
      String(threads),
      '--warmup',
      '5',
      '--iterations',
      String(torchIters),
    ],
    {
      timeoutMs: 600_000,
      env: {
        ...process.env,
        OPENBLAS_NUM_THREADS: String(threads),
        OMP_NUM_THREADS: String(threads),
      },
    },
  );
  const d = lastJsonLine<{ examples_per_sec: number; torch: string; iteration_ms: number[] }>(
    r.stdout,
  );
  if (!d)
    return void notes.push(
      `PyTorch ${threads} thread(s) failed: ${r.stderr.trim().split('\n').pop()}`,
    );
  // median iteration → rate (robust to a noisy neighbour)
  add(
    `PyTorch ${d.torch} CPU, ${threads} thread${threads > 1 ? 's' : ''}`,
    (B * 1000) / median(d.iteration_ms),
  );
}

async function cli(backend: 'threads' | 'sim', ranks: number): Promise<void> {
  const out = join(jsonDir, `${backend}-${ranks}.json`);
  const args = [
    'src/cli/main.ts',
    'train',
    '--model-size',
    'reference',
    '--backend',
    backend,
    '--ranks',
    String(ranks),
    '--device',
    'wasm',
    '--dense-math',
    'auto',
    '--blas-threads',
    '1',
    '--batch-size',
    String(B),
    '--batches',
    String(cliBatches),
    '--optimizer',
    'sgd',
    '--lr',
    '0.05',
    '--held-out-examples',
    '0',
    '--json',
    out,
  ];
  const r = await runChild(tsx[0], [...tsx.slice(1), ...args], { timeoutMs: 900_000, cwd: ROOT });
  if (r.code !== 0 || !existsSync(out))
    return void notes.push(
      `CLI ${backend} world ${ranks} failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop()}`,
    );
  const d = JSON.parse(readFileSync(out, 'utf8')) as {
    iterationMs: number;
    denseMath: { engine: string };
  };
  add(
    `sparsepipe ${backend} world ${ranks} (CLI, ${d.denseMath.engine})`,
    (B * 1000) / d.iterationMs,
  );
}

const session = await RealSession.create({ config: referenceDlrmConfig(), globalBatch: B });
await session.run('actor', { warmup: 2, measured: 2 });
const blasInfo = (() => {
  try {
    return initDenseMath('blas', { threads: 1 });
  } catch (e) {
    notes.push(`sparsepipe on OpenBLAS: ${(e as Error).message} — its rows are skipped.`);
    return null;
  }
})();
const BLAS_KEY = 'sparsepipe world 1 (in process, OpenBLAS 1 thread)';
const WASM_KEY = 'sparsepipe world 1 (in process, stock wasm)';
async function inProcess(engine: 'blas' | 'wasm'): Promise<void> {
  initDenseMath(engine, { threads: 1 });
  const r = await session.run('actor', { warmup: 3, measured: spMeasured });
  add(engine === 'blas' ? BLAS_KEY : WASM_KEY, (B * 1000) / median(r.iterationMs));
}

for (let round = 0; round < rounds; round++) {
  const steps: Array<() => Promise<void>> = [
    ...(python ? [() => torch(1)] : []),
    ...(blasInfo ? [() => inProcess('blas')] : []),
    ...(python ? [() => torch(2)] : []),
    () => inProcess('wasm'),
    ...(hasThreads ? [() => cli('threads', 2), () => cli('sim', 1)] : []),
  ];
  if (round % 2 === 1) steps.reverse();
  for (const s of steps) await s();
}

// ── P5b: plain tfjs layers ──────────────────────────────────────────────────────────────
const layersTimeout = quick ? 60_000 : 300_000;
const layers: Record<string, string> = {};
for (const backend of ['wasm', 'cpu'] as const) {
  const r = await runChild(
    tsx[0],
    [...tsx.slice(1), 'bench/lib/tfjs-layers-dlrm.ts', backend, String(B)],
    { timeoutMs: backend === 'wasm' ? 300_000 : layersTimeout, cwd: ROOT },
  );
  const d = lastJsonLine<{ ok: boolean; stepMs?: number; error?: string; afterMs?: number }>(
    r.stdout,
  );
  layers[backend] = r.timedOut
    ? `cannot train: one model.fit step did not finish in ${layersTimeout / 1000} s (killed)`
    : !d
      ? `failed: ${r.stderr.trim().split('\n').pop()}`
      : d.ok
        ? `one step took ${fmt(d.stepMs! / 1000, 1)} s`
        : `cannot train: model.fit throws "${d.error}"`;
}

const rate = (k: string) => median(samples.get(k) ?? []);
const torchKey = (threads: number) =>
  [...samples.keys()].find(
    (k) => k.startsWith('PyTorch') && k.endsWith(`${threads} thread${threads > 1 ? 's' : ''}`),
  );
const torch1 = torchKey(1);
const torch2 = torchKey(2);
const threadsKey = [...samples.keys()].find((k) => k.startsWith('sparsepipe threads world 2'));
/** `a ÷ b` of two rows' medians (NaN when either is missing). */
const ratio = (a: string | undefined, b: string | undefined) =>
  a && b && samples.has(a) && samples.has(b) ? rate(a) / rate(b) : NaN;
const p5 = ratio(BLAS_KEY, torch1);
const p5two = ratio(threadsKey, torch2);
const peer = (k: string) => (k.includes('world 2') ? torch2 : torch1);
const rows: Array<Array<string | number>> = [...samples.keys()].map((k) => [
  k,
  fmt(rate(k), 0),
  fmt((B * 1000) / rate(k), 1),
  k.startsWith('PyTorch') ? '—' : fmt(ratio(k, peer(k)), 3),
  (samples.get(k) ?? []).map((x) => x.toFixed(0)).join(', '),
]);
for (const backend of ['wasm', 'cpu'] as const)
  rows.push([
    `@tensorflow/tfjs layers (${backend}): tf.layers.embedding + model.fit`,
    '—',
    '—',
    '—',
    layers[backend],
  ]);
const verdict = (x: number, target: number) =>
  Number.isFinite(x)
    ? `${x >= target ? 'met' : 'NOT met'}: ${fmt(x, 3)}`
    : 'not measured (see notes)';
writeReport({
  name: 'p5-vs-pytorch',
  title: 'P5 / P5b — reference DLRM, batch 512: sparsepipe vs PyTorch CPU vs plain tfjs layers',
  command: `npm run bench -- --only p5${quick ? ' --quick' : ''}   (or: npx tsx bench/p5-vs-pytorch.ts${quick ? ' --quick' : ''})`,
  columns: [
    'system',
    'examples/s (median)',
    'ms per iteration',
    '÷ PyTorch, same threads',
    'samples (examples/s) or outcome',
  ],
  rows,
  summary: {
    'P5 target': 'sparsepipe world 1 (OpenBLAS, 1 thread) ÷ PyTorch 1 thread ≥ 1.0',
    'P5 verdict': verdict(p5, 1),
    'world 2 (threads) ÷ PyTorch 2 threads': Number.isFinite(p5two)
      ? fmt(p5two, 3)
      : 'not measured',
    'P5b verdict':
      layers.wasm.startsWith('cannot') && layers.cpu.startsWith('cannot')
        ? 'shown: plain tfjs cannot train the reference DLRM'
        : `wasm: ${layers.wasm}; cpu: ${layers.cpu}`,
  },
  notes: [
    `${rounds} alternating round(s); a rate is batch ÷ median iteration time of a run (PyTorch: ${torchIters} timed steps after 5; in-process sparsepipe: ${spMeasured} after 3; CLI: median of the second half of ${cliBatches} batches, data generated on the fly).`,
    'PyTorch uses nn.EmbeddingBag(sparse=True) + torch.optim.SGD (only touched rows updated), the fastest plain-PyTorch path.',
    `Wall clock on a shared 2-core machine (load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')} at the end): other load moves all systems; the alternation spreads it.`,
    ...notes,
  ],
  data: Object.fromEntries(samples),
  headlines: [
    {
      id: 'P5',
      what: 'reference DLRM: sparsepipe world 1 (OpenBLAS) ÷ PyTorch CPU, both 1 BLAS thread (examples/s)',
      target: '≥ 1.0',
      result: Number.isFinite(p5)
        ? `${fmt(p5, 3)} (${fmt(rate(BLAS_KEY), 0)} vs ${fmt(rate(torch1!), 0)} examples/s)`
        : 'not measured',
      met: Number.isFinite(p5) ? p5 >= 1 : null,
    },
    {
      id: 'P5 (2)',
      what: 'reference DLRM: sparsepipe threads world 2 ÷ PyTorch CPU 2 threads (examples/s)',
      target: 'reported',
      result: Number.isFinite(p5two)
        ? `${fmt(p5two, 3)} (${fmt(rate(threadsKey!), 0)} vs ${fmt(rate(torch2!), 0)} examples/s)`
        : 'not measured',
      met: null,
    },
    {
      id: 'P5b',
      what: 'same DLRM in plain tfjs layers (embedding + model.fit)',
      target: 'cannot train it',
      result: `wasm: ${layers.wasm}; cpu: ${layers.cpu}`,
      met: layers.wasm.startsWith('cannot') && layers.cpu.startsWith('cannot'),
    },
  ],
});
