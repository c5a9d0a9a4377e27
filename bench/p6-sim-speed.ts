/**
 * P6 (docs/design.md "Performance targets"): simulated rank-iterations per second, world 8, shapes-only model
 * (src/testing/shapes-only.ts: real collectives with correctly sized messages, no embedding
 * math, constant dense stand-in), coalescing scheduler, op logs off, hazard checker off.
 * Targets: on XState's interpreter (the default) no regression against the figure
 * recorded before the default changed (1,447); on the compiled opt-in ≥ 2,000.
 *
 * Side by side, alternating, median of the repeats: the sim floor (the same ops and
 * collectives issued by plain code), the direct port of the seed's progress(), the actor
 * pipeline on XState's own interpreter (the default) and on the compiled machines
 * (`interpreter: 'compiled'`, with and without the hazard checker). Rates are per CPU second of this process (robust to other load
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
/** The default's rate before the default changed (README, same bench): it must not regress. */
const XSTATE_BEFORE = 1447;
const DEFAULT = "actor pipeline, XState's interpreter (default)";
const COMPILED = 'actor pipeline, compiled (opt-in)';
type Kind =
  | 'sim floor'
  | 'direct port'
  | typeof DEFAULT
  | typeof COMPILED
  | 'actor pipeline, compiled, hazard checker on';
const kinds: Kind[] = [
  'sim floor',
  'direct port',
  DEFAULT,
  COMPILED,
  'actor pipeline, compiled, hazard checker on',
];
const samples = new Map<Kind, Array<{ cpu: number; wall: number }>>(kinds.map((k) => [k, []]));

// warm-up (JIT) of every path
await simFloor({ worldSize: W, iterations: 10, localBatch: 64 });
for (const path of [
  { runner: 'direct' },
  { runner: 'actor' },
  { runner: 'actor', interpreter: 'compiled' },
] as const) {
  await runSim({
    ...path,
    model: 'shapes',
    dense: 'none',
    worldSize: W,
    costs,
    batches: 10,
    coalesce: true,
  });
}

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
            hazards: kind === 'actor pipeline, compiled, hazard checker on' ? 'report' : 'off',
            interpreter: kind === DEFAULT ? 'xstate' : 'compiled',
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
const actorUs = 1e6 / rate(COMPILED);
const xstateActorUs = 1e6 / rate(DEFAULT);
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
  k === DEFAULT
    ? rate(k) >= XSTATE_BEFORE
      ? '✓'
      : '✗'
    : k.startsWith('actor pipeline')
      ? rate(k) >= TARGET
        ? '✓'
        : '✗'
      : '—',
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
    `target (default ≥ ${XSTATE_BEFORE}, compiled ≥ ${TARGET})`,
  ],
  rows,
  summary: {
    target: `default (XState): no regression against ${XSTATE_BEFORE}/s; compiled: ≥ ${TARGET}/s`,
    verdict: `default ${fmt(rate(DEFAULT), 0)}/s (${rate(DEFAULT) >= XSTATE_BEFORE ? 'no regression' : 'REGRESSED'}); compiled ${fmt(rate(COMPILED), 0)}/s (${rate(COMPILED) >= TARGET ? 'met' : 'NOT met'})`,
    'actor overhead per rank-iteration, compiled (CPU µs, actor − direct port)': Number(
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
      what: `sim shapes-only, world ${W}: rank-iterations/s, XState's interpreter (default) and compiled (opt-in)`,
      target: `default ≥ ${XSTATE_BEFORE} (no regression); compiled ≥ ${TARGET}`,
      result: `default ${fmt(rate(DEFAULT), 0)}/CPU-s, compiled ${fmt(rate(COMPILED), 0)}/CPU-s (direct port ${fmt(rate('direct port'), 0)}, sim floor ${fmt(rate('sim floor'), 0)})`,
      met: rate(DEFAULT) >= XSTATE_BEFORE && rate(COMPILED) >= TARGET,
    },
  ],
});
