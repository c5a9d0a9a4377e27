/**
 * P6 (docs/design.md "Performance targets"): simulated rank-iterations per second, world 8, shapes-only model
 * (src/testing/shapes-only.ts: real collectives with correctly sized messages, no embedding
 * math, constant dense stand-in), coalescing scheduler, op logs off, hazard checker off.
 * Target ≥ 2,000.
 *
 * Side by side, alternating, median of the repeats: the sim floor (the same ops and
 * collectives issued by plain code), the direct port of the seed's progress(), the actor
 * pipeline (its actors on the compiled machines, the default) and the same pipeline on
 * XState's own interpreter. Rates are per CPU second of this process (robust to other load
 * on the machine) and per wall second. Then the actor traffic of one iteration and what the
 * pipeline's machines cost alone (instant effects) on either interpreter, which explain
 * the gaps.
 *
 * Run: npx tsx bench/p6-sim-speed.ts [--quick]
 */
import { runSim, useBackend } from './lib/sim-run.ts';
import { simFloor } from './lib/sim-floor.ts';
import { actorTraffic } from './lib/actor-traffic.ts';
import { machineCosts } from './lib/machine-costs.ts';
import { fmt, isQuick, median, writeReport } from './lib/report.ts';

const quick = isQuick();
await useBackend('wasm');
const W = 8;
const iterations = quick ? 60 : 200;
const repeats = quick ? 2 : 3;
const TARGET = 2000;
const costs = 'copy=2,dist=5,fwd=3,bwd=4,opt=1';
type Kind =
  | 'sim floor'
  | 'direct port'
  | 'actor pipeline'
  | 'actor pipeline, hazard checker on'
  | "actor pipeline on XState's interpreter";
const kinds: Kind[] = [
  'sim floor',
  'direct port',
  'actor pipeline',
  'actor pipeline, hazard checker on',
  "actor pipeline on XState's interpreter",
];
const samples = new Map<Kind, Array<{ cpu: number; wall: number }>>(kinds.map((k) => [k, []]));

// warm-up (JIT) of every path
await simFloor({ worldSize: W, iterations: 10, localBatch: 64 });
await runSim({
  runner: 'direct',
  model: 'shapes',
  dense: 'none',
  worldSize: W,
  costs,
  batches: 10,
  coalesce: true,
});
await runSim({
  runner: 'actor',
  model: 'shapes',
  dense: 'none',
  worldSize: W,
  costs,
  batches: 10,
  coalesce: true,
});
await runSim({
  runner: 'actor',
  model: 'shapes',
  dense: 'none',
  worldSize: W,
  costs,
  batches: 10,
  coalesce: true,
  interpreter: 'xstate',
});

for (let rep = 0; rep < repeats; rep++) {
  for (const kind of kinds) {
    const r =
      kind === 'sim floor'
        ? await simFloor({ worldSize: W, iterations, localBatch: 64, costs })
        : await runSim({
            runner: kind === 'direct port' ? 'direct' : 'actor',
            model: 'shapes',
            dense: 'none',
            worldSize: W,
            costs,
            batches: iterations,
            coalesce: true,
            hazards: kind === 'actor pipeline, hazard checker on' ? 'report' : 'off',
            interpreter: kind === "actor pipeline on XState's interpreter" ? 'xstate' : 'compiled',
          });
    samples.get(kind)!.push({
      cpu: r.rankIterations / (r.cpuMs / 1000),
      wall: r.rankIterations / (r.wallMs / 1000),
    });
  }
}
const rate = (k: Kind) => median(samples.get(k)!.map((s) => s.cpu));
const wallRate = (k: Kind) => median(samples.get(k)!.map((s) => s.wall));
const traffic = await actorTraffic(quick ? 40 : 100);
const machines = machineCosts(quick ? 2000 : 5000, 3, 'xstate');
const compiledMachines = machineCosts(quick ? 2000 : 5000, 3, 'compiled');
const actorUs = 1e6 / rate('actor pipeline');
const xstateActorUs = 1e6 / rate("actor pipeline on XState's interpreter");
const directUs = 1e6 / rate('direct port');
const floorUs = 1e6 / rate('sim floor');
const machineRow = (m: typeof machines) => ({
  'coordinator iteration (7 events)': Number(m.coordinatorIterationUs.toFixed(1)),
  'module actor on one batch (6 events, reused actor)': Number(m.moduleBatchUs.toFixed(1)),
  'stage job (2 events)': Number(m.stageJobUs.toFixed(1)),
  'per rank-iteration (coordinator + module + copy and dist jobs interleaved over 8 ranks)': Number(
    m.rankIterationUs.toFixed(0),
  ),
});

const rows = kinds.map((k) => [
  k,
  fmt(rate(k), 0),
  fmt(wallRate(k), 0),
  fmt(1e6 / rate(k), 0),
  k.startsWith('actor pipeline') ? (rate(k) >= TARGET ? '✓' : '✗') : '—',
]);
writeReport({
  name: 'p6-sim-speed',
  title: `P6 — sim speed, shapes-only, world ${W}: rank-iterations per second`,
  command: `npx tsx bench/p6-sim-speed.ts${quick ? ' --quick' : ''}`,
  columns: [
    'what',
    'rank-it / CPU s (median)',
    'rank-it / wall s (median)',
    'CPU µs per rank-iteration',
    `≥ ${TARGET}`,
  ],
  rows,
  summary: {
    target: `≥ ${TARGET} rank-iterations/s`,
    verdict:
      rate('actor pipeline') >= TARGET
        ? `met: ${fmt(rate('actor pipeline'), 0)}/s`
        : `NOT met: ${fmt(rate('actor pipeline'), 0)}/s (${fmt(TARGET / rate('actor pipeline'), 1)}× short)`,
    'actor overhead per rank-iteration (CPU µs, actor − direct port)': Number(
      (actorUs - directUs).toFixed(0),
    ),
    "actor overhead on XState's interpreter (CPU µs, actor − direct port)": Number(
      (xstateActorUs - directUs).toFixed(0),
    ),
    'pipeline-independent cost (direct port − sim floor, CPU µs)': Number(
      (directUs - floorUs).toFixed(0),
    ),
    'actor traffic per rank-iteration': traffic,
    "the pipeline's machines alone with instant effects, compiled (CPU µs)":
      machineRow(compiledMachines),
    "the pipeline's machines alone with instant effects, XState's interpreter (CPU µs)":
      machineRow(machines),
    'plain XState event on a 2-state machine (CPU µs: how fast this host runs XState now)': Number(
      machines.plainEventUs.toFixed(1),
    ),
  },
  notes: [
    `${iterations} batches per rank per run, ${repeats} alternating repeats, local batch 64 (global 512), 8 features × 4 ids × dim 16, costs ${costs}.`,
    'CPU rates count this process only, so they hold under other load; wall rates depend on it.',
  ],
  data: Object.fromEntries([...samples].map(([k, v]) => [k, v])),
  headlines: [
    {
      id: 'P6',
      what: `sim shapes-only, world ${W}: rank-iterations/s (actor pipeline)`,
      target: `≥ ${TARGET}`,
      result: `${fmt(rate('actor pipeline'), 0)}/CPU-s (direct port ${fmt(rate('direct port'), 0)}, sim floor ${fmt(rate('sim floor'), 0)})`,
      met: rate('actor pipeline') >= TARGET,
    },
  ],
});
