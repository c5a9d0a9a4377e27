/**
 * `simulateCluster`: run a whole training job on N simulated devices in virtual time and
 * get back what every rank did — the harness entry point of `sparsepipe/testing`.
 *
 * It builds the sim cluster (one virtual clock; per rank a sim device, a default-stream
 * process group and an input-dist process group), a model per rank (default: a small DLRM
 * sharded over the ranks; or your factory), a dataloader per rank (default: the synthetic
 * click log, each global batch split evenly across ranks; or your factory), the pipeline
 * (`sparseDist`, `base` or `none`) and the injected faults, then runs every rank's
 * `progress` loop concurrently until each has drained its data, failed, or crashed.
 *
 * Nothing hangs: collectives time out (`timeoutMs`, virtual), and a rank still running at
 * `maxVirtualMs` ends with {@link SimulationTimeLimitError}. The run is deterministic: the
 * same options give the same log, byte for byte (dataloader pulls take no virtual time).
 *
 * ```
 *            ┌──────────── one SimScheduler (virtual ms) ────────────┐
 * rank r:  dataloader → simDataloader(faults) → pipeline.progress ⟲  → outputs, error?
 *          model(r) on SimDevice(r): memcpy │ dataDist │ default streams
 *          pgs[r] (default channel) ─┐      distPgs[r] (input dist) ─┐
 *                                    └── sim collective fabrics ─────┘
 * all ranks' events → one merged log (emission order = virtual-time order)
 * ```
 *
 * @example
 * const costModel = new CostModel({ overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1') });
 * const result = await simulateCluster({ worldSize: 2, costModel, batches: 12, globalBatchSize: 32, seed: 7 });
 * result.ok;                                  // true: every rank trained 12 batches
 * result.ranks[1].outputs.map((o) => o.loss);
 * steadyStateIterationMs(result);             // 8 (virtual ms) = boundFor(costModel).ms
 * assertSchedule(happensBefore(result.log, { type: 'copy.end', batch: 3 }, { type: 'dist.start', batch: 3 }));
 *
 * @example
 * // faults: rank 1 crashes at t = 40 ms; every other rank fails with PeerFailedError naming it
 * const r = await simulateCluster({ worldSize: 2, batches: 20, globalBatchSize: 16, costModel,
 *   faults: [{ kind: 'crash', rank: 1, atMs: 40 }] });
 * r.ranks[0].error; // PeerFailedError: rank 1 failed: injected crash … (seen by rank 0)
 */
import { StagedSparseDistTrainer } from '../pipeline/staged/staged-sparse-dist.ts';
import type { PipelineStage } from '../pipeline/staged/pipeline-stage.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import type { GradAccumSchedule } from '../../machines/accumulation-schedule.ts';
import type { PipelineEvent, ProcessGroup, Rank } from '../protocol/index.ts';
import type { Model } from '../modules/module.ts';
import type { Batch, BatchSpec } from '../tensors/index.ts';
import type { CostModel } from '../runtime/sim/cost-model.ts';
import type { SimDevice } from '../runtime/sim/sim-device.ts';
import type { StreamHazard } from '../runtime/sim/hazard-checker.ts';
import type { HazardMode } from '../runtime/stream-engine.ts';
import { SyntheticClickLog } from '../data/synthetic.ts';
import { ensureBackend } from '../runtime/tfjs-backend.ts';
import type { DataloaderInput } from '../data/dataloader.ts';
import { EventRecorder } from '../trace/event-recorder.ts';
import type { GradScaler } from '../optim/grad-scaler.ts';
import type { IterationOutput, TrainPipeline } from '../pipeline/train-pipeline.ts';
import { createPipeline } from '../pipeline/look-ahead-pipelines.ts';
import type { SemiSyncOptions, TrainPipelineOptions } from '../pipeline/options.ts';
import { createSimCluster, type SimCluster } from '../runtime/sim/sim-cluster.ts';
import {
  batchSpecFor,
  buildDlrmRank,
  smallDlrmConfig,
  type DlrmConfig,
} from '../models/dlrm-rank.ts';
import {
  RankCrashedError,
  checkFault,
  describeFault,
  slowedCostModel,
  type CollectiveChannel,
  type CrashFault,
  type Fault,
  type FaultRecord,
} from './faults.ts';
import { FaultyProcessGroup } from './faulty-process-group.ts';
import { simDataloader } from './sim-dataloader.ts';
import { NonFiniteLoss } from './non-finite-loss.ts';
import { paramsDigest } from './params-digest.ts';
import {
  eventsMatching,
  formatMs,
  steadyStateIterationMs,
  type EventMatcher,
} from './schedule-assertions.ts';

/**
 * What a model factory is given for one rank.
 *
 * @example
 * const model = ({ pg, distPg, device }: RankContext) => buildDlrmRank({ pg, distPg, device, config });
 */
export interface RankContext {
  rank: Rank;
  worldSize: number;
  /** Default-stream channel (output dist, backward, gradient all-reduce); faults applied. */
  pg: ProcessGroup;
  /** Input-dist channel (dataDist stream); faults applied. Pass it to your sharded modules. */
  distPg: ProcessGroup;
  device: SimDevice;
  seed: number;
}

/**
 * One rank's model as a factory returns it.
 *
 * @example
 * const built: RankModel = { model: r.model, optimizer: r.optimizer, batchSpec: batchSpecFor(config) };
 */
export interface RankModel {
  model: Model<Batch>;
  optimizer: TrainPipelineOptions['optimizer'];
  /** Validate every batch against this (docs/design.md "Reliability"); omitted: batches are not validated. */
  batchSpec?: BatchSpec;
}

/**
 * What a data factory is given for one rank.
 *
 * @example
 * const data = ({ rank, localBatchSize }: RankDataContext) => myBatches(rank, localBatchSize);
 */
export interface RankDataContext {
  rank: Rank;
  worldSize: number;
  seed: number;
  batches: number;
  globalBatchSize: number;
  /** `globalBatchSize / worldSize`: the batch size each rank trains on. */
  localBatchSize: number;
  /** The DLRM config of the default model (its features), when the default model is used. */
  config?: DlrmConfig;
}

/**
 * Options of {@link simulateCluster}; only `worldSize`, `batches` and `globalBatchSize` are required.
 *
 * @example
 * const o: SimulateClusterOptions = { worldSize: 2, batches: 8, globalBatchSize: 32, pipeline: 'base', faults: [] };
 */
export interface SimulateClusterOptions {
  worldSize: number;
  /** Global batches in the run (each rank trains `batches` local batches). */
  batches: number;
  /** Examples per global batch, split evenly across ranks (must be divisible by `worldSize`). */
  globalBatchSize: number;
  /** Seed of the default model and data (default 1). */
  seed?: number;
  /** Device op durations (default `new CostModel()`). */
  costModel?: CostModel;
  /** Collective durations (default: derived from `costModel`, see `collectiveModelFor`). */
  collectiveCostModel?: CostModel;
  /** Collective timeout, virtual ms (default: the sim backend's 30 000). */
  timeoutMs?: number;
  /** Stream-hazard checker mode of every device (default `report`). */
  hazards?: HazardMode;
  /** Build one rank's model and optimizer (default: a small sharded DLRM, see `dlrm`). */
  model?: (ctx: RankContext) => RankModel;
  /** Overrides of the default model's config (`smallDlrmConfig`). */
  dlrm?: Partial<DlrmConfig>;
  /** One rank's dataloader (default: the synthetic click log of the default DLRM's features). */
  data?: (ctx: RankDataContext) => DataloaderInput<unknown>;
  /** Default `sparseDist`. */
  pipeline?: PipelineKind;
  /**
   * Run a staged pipeline instead (src/pipeline/staged): copy, the user stages this returns
   * for each rank, then the sparse data dist as stages, and the sparse-dist compute.
   * `pipeline` and the accumulation / scaling options do not apply.
   */
  staged?: { stages?: (ctx: { rank: Rank; device: SimDevice }) => PipelineStage<Batch, Batch>[] };
  /** Fused / semi-sync options (`embLookupStream`, `startBatch`, `stashGradients`). */
  lookAhead?: Pick<SemiSyncOptions, 'embLookupStream' | 'startBatch' | 'stashGradients'>;
  gradAccum?: number;
  gradAccumSchedule?: GradAccumSchedule;
  gradScaling?: boolean | GradScaler;
  amp?: boolean;
  executeAllBatches?: boolean;
  /** The actors' statechart interpreter (default XState's; see `TrainPipelineOptions.interpreter`). */
  interpreter?: TrainPipelineOptions['interpreter'];
  /** Same-instant timers fire in one turn (default false; faster for large lock-step worlds). */
  coalesce?: boolean;
  /** Keep an op log per device (default true). */
  opLogs?: boolean;
  /**
   * Record every rank's events into `log` (default true). Large worlds turn it off: the
   * log is then empty and `iterationMs()` is computed from the ranks' `progress` times.
   */
  keepLog?: boolean;
  /** Validate batches before they touch a device (default true when a batch spec is known). */
  validate?: boolean;
  faults?: readonly Fault[];
  /** Ranks still running at this virtual time end with {@link SimulationTimeLimitError} (default 86 400 000 = 24 h). */
  maxVirtualMs?: number;
}

/**
 * What one rank did.
 *
 * @example
 * const { batchesTrained, error } = result.ranks[1];
 */
export interface RankResult {
  rank: Rank;
  /** Every `progress` output, in order, with the virtual time it was returned. */
  outputs: Array<IterationOutput & { t: number }>;
  /** Batches the rank's pipeline trained. */
  batchesTrained: number;
  /** True when the rank drained its data (`progress` answered done). */
  exhausted: boolean;
  /** Why the rank stopped early: a pipeline error, {@link RankCrashedError}, {@link SimulationTimeLimitError}. */
  error?: Error;
  /** Virtual time the rank's loop ended. */
  finishedAt: number;
}

/**
 * What {@link simulateCluster} returns: per-rank results, the merged log, the end time, hazards, faults and helpers.
 *
 * @example
 * const r: SimulationResult = await simulateCluster(options);
 * if (!r.ok) console.error(r.summary());
 */
export interface SimulationResult {
  worldSize: number;
  ranks: RankResult[];
  /** Every event of every rank, in the order they happened. */
  log: PipelineEvent[];
  /** Virtual time when the last rank's loop ended. */
  endMs: number;
  /** Stream hazards reported by each rank's device. */
  hazards: StreamHazard[][];
  /** Each injected fault and when it took effect. */
  faults: FaultRecord[];
  /** True when every rank drained its data without error. */
  ok: boolean;
  cluster: SimCluster;
  pipelines: TrainPipeline[];
  /** With `staged`: each rank's staged trainer (then `pipelines` is empty). */
  stagedPipelines: StagedSparseDistTrainer[];
  models: RankModel[];
  /** The default model's config (undefined with a model factory). */
  config?: DlrmConfig;
  /** Events matching `m` (all events without it). */
  events(m?: Partial<EventMatcher>): PipelineEvent[];
  /** Loss per trained batch of `rank` (default 0). */
  losses(rank?: Rank): number[];
  /** {@link steadyStateIterationMs} of the merged log. */
  iterationMs(): number;
  /** sha256 of `rank`'s parameters (see `paramsDigest`). */
  paramsDigest(rank: Rank): string;
  /** Errors by rank (ranks that ended without error are left out). */
  errors(): Array<{ rank: Rank; error: Error }>;
  /** A few readable lines: per rank batches trained, end time, error. */
  summary(): string;
}

/**
 * A rank was still running when the virtual time limit passed (a hang the harness stopped).
 *
 * @example
 * if (result.ranks[0].error instanceof SimulationTimeLimitError) console.log(result.ranks[0].error.lastEvent);
 */
export class SimulationTimeLimitError extends Error {
  override readonly name = 'SimulationTimeLimitError';
  constructor(
    readonly rank: Rank,
    readonly limitMs: number,
    readonly lastEvent: PipelineEvent | undefined,
  ) {
    super(
      `rank ${rank} was still running at the virtual time limit of ${limitMs} ms` +
        (lastEvent
          ? `; its last event was ${lastEvent.type}${lastEvent.batch !== undefined ? ` (batch ${lastEvent.batch})` : ''} at t=${formatMs(lastEvent.t)} ms`
          : '; it emitted no event'),
    );
  }
}

const DEFAULT_MAX_VIRTUAL_MS = 86_400_000;

/**
 * Run a simulated training job; see the module doc.
 *
 * @example
 * const r = await simulateCluster({ worldSize: 4, batches: 8, globalBatchSize: 64, pipeline: 'base', gradAccum: 2 });
 * console.log(r.summary());
 */
export async function simulateCluster(options: SimulateClusterOptions): Promise<SimulationResult> {
  const { worldSize, batches, globalBatchSize } = options;
  checkOptions(options);
  await ensureBackend(); // wasm unless the caller activated a backend
  const seed = options.seed ?? 1;
  const faults = options.faults ?? [];
  faults.forEach((f, i) => checkFault(f, worldSize, `faults[${i}]`));
  const records: FaultRecord[] = faults.map((fault) => ({
    fault,
    description: describeFault(fault),
  }));
  const fired = (fault: Fault, t: number): void => {
    const rec = records.find((r) => r.fault === fault);
    if (rec && rec.firedAt === undefined) rec.firedAt = t;
  };

  const slowdown = (rank: Rank): number =>
    faults.reduce((m, f) => (f.kind === 'slowRank' && f.rank === rank ? m * f.multiplier : m), 1);
  const cluster = createSimCluster({
    worldSize,
    costModel: options.costModel,
    collectiveCostModel: options.collectiveCostModel,
    timeoutMs: options.timeoutMs,
    hazards: options.hazards,
    coalesce: options.coalesce,
    opLogs: options.opLogs,
    deviceCostModel: (rank, base) =>
      slowdown(rank) === 1 ? base : slowedCostModel(base, slowdown(rank)),
  });
  const { scheduler } = cluster;
  applyRankDelays(cluster, faults, fired);

  const config = options.model ? undefined : smallDlrmConfig({ seed, ...options.dlrm });
  const recorder = new EventRecorder();
  const localBatchSize = globalBatchSize / worldSize;

  const ranks = cluster.devices.map((device, rank) => {
    const pg = withCollectiveFaults(cluster, rank, 'default', faults, fired);
    const distPg = withCollectiveFaults(cluster, rank, 'dist', faults, fired);
    const built: RankModel = options.model
      ? options.model({ rank, worldSize, pg, distPg, device, seed })
      : (() => {
          const dlrm = config ?? smallDlrmConfig({ seed, ...options.dlrm });
          const r = buildDlrmRank({ pg, distPg, device, config: dlrm });
          return { model: r.model, optimizer: r.optimizer, batchSpec: batchSpecFor(dlrm) };
        })();
    const pipeline = options.staged
      ? new StagedSparseDistTrainer({
          model: built.model,
          optimizer: built.optimizer,
          device,
          stages: options.staged.stages?.({ rank, device }),
          interpreter: options.interpreter,
        })
      : createPipeline(options.pipeline ?? 'sparseDist', {
          ...options.lookAhead,
          model: built.model,
          optimizer: built.optimizer,
          device,
          pg,
          gradAccum: options.gradAccum,
          gradAccumSchedule: options.gradAccumSchedule,
          gradScaling: options.gradScaling,
          amp: options.amp,
          executeAllBatches: options.executeAllBatches,
          batchSpec: options.validate === false ? undefined : built.batchSpec,
          interpreter: options.interpreter,
        });
    if (options.keepLog !== false) recorder.attach(pipeline.events$);
    for (const f of faults) {
      if (f.kind === 'nonFiniteGrad' && f.rank === rank) {
        new NonFiniteLoss(built.model, {
          atBatch: f.atBatch,
          value: f.value,
          onFired: () => fired(f, scheduler.now()),
        }).watch(pipeline.events$);
      }
    }
    const dataContext: RankDataContext = {
      rank,
      worldSize,
      seed,
      batches,
      globalBatchSize,
      localBatchSize,
      config,
    };
    const input = options.data
      ? options.data(dataContext)
      : defaultData(config ?? smallDlrmConfig({ seed }), dataContext);
    const loader = simDataloader(input, {
      scheduler,
      stalls: faults.filter((f) => f.kind === 'dataloaderStall' && f.rank === rank) as Extract<
        Fault,
        { kind: 'dataloaderStall' }
      >[],
      error: faults.find((f) => f.kind === 'dataloaderError' && f.rank === rank) as
        | Extract<Fault, { kind: 'dataloaderError' }>
        | undefined,
      onFired: fired,
    });
    return { rank, built, pipeline, loader, stop: stopSignal() };
  });

  // Crashes and the time limit stop a rank's loop from outside.
  const timers: unknown[] = [];
  for (const f of faults) {
    if (f.kind !== 'crash') continue;
    timers.push(scheduler.setTimeout(() => crash(f), f.atMs));
  }
  const finished = new Set<Rank>();
  function crash(f: CrashFault): void {
    if (finished.has(f.rank)) return;
    fired(f, scheduler.now());
    const reason = `injected crash${f.reason ? ` (${f.reason})` : ''} at t=${scheduler.now()} ms`;
    cluster.pgs.fail(f.rank, reason);
    cluster.distPgs.fail(f.rank, reason);
    ranks[f.rank].stop.fire(new RankCrashedError(f, scheduler.now()));
  }
  const maxVirtualMs = options.maxVirtualMs ?? DEFAULT_MAX_VIRTUAL_MS;
  timers.push(
    scheduler.setTimeout(() => {
      for (const r of ranks) {
        if (finished.has(r.rank)) continue;
        const last = [...recorder.events].reverse().find((e) => e.rank === r.rank);
        r.stop.fire(new SimulationTimeLimitError(r.rank, maxVirtualMs, last));
      }
    }, maxVirtualMs),
  );

  const results = await Promise.all(
    ranks.map(async ({ rank, pipeline, loader, stop }): Promise<RankResult> => {
      const outputs: RankResult['outputs'] = [];
      let exhausted = false;
      let error: Error | undefined;
      try {
        for (;;) {
          const step = pipeline.progress(loader);
          step.catch(() => undefined); // a stopped rank abandons its call
          const r = await Promise.race([step, stop.promise]);
          if (r.done) {
            exhausted = true;
            break;
          }
          outputs.push({ ...r.value, t: scheduler.now() });
        }
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      finished.add(rank);
      if (finished.size === worldSize) for (const t of timers) scheduler.clearTimeout(t);
      return {
        rank,
        outputs,
        batchesTrained: pipeline.batchesTrained,
        exhausted,
        error,
        finishedAt: scheduler.now(),
      };
    }),
  );
  const endMs = Math.max(0, ...results.map((r) => r.finishedAt));
  // Let abandoned collectives time out and in-flight work settle, so nothing fires later.
  await scheduler.runUntilIdle();

  const log = recorder.events;
  recorder.detach();
  const result: SimulationResult = {
    worldSize,
    ranks: results,
    log,
    endMs,
    hazards: cluster.devices.map((d) => [...d.hazards]),
    faults: records,
    ok: results.every((r) => r.exhausted && !r.error),
    cluster,
    pipelines: ranks.flatMap((r) =>
      r.pipeline instanceof StagedSparseDistTrainer ? [] : [r.pipeline],
    ),
    stagedPipelines: ranks.flatMap((r) =>
      r.pipeline instanceof StagedSparseDistTrainer ? [r.pipeline] : [],
    ),
    models: ranks.map((r) => r.built),
    config,
    events: (m = {}) => eventsMatching(log, m),
    losses: (rank = 0) => results[rank].outputs.map((o) => o.loss),
    iterationMs: () =>
      options.keepLog === false ? progressIterationMs(results) : steadyStateIterationMs(log),
    paramsDigest: (rank) => paramsDigest(ranks[rank].built.model),
    errors: () => results.flatMap((r) => (r.error ? [{ rank: r.rank, error: r.error }] : [])),
    summary: () =>
      [
        `${worldSize} rank(s), ${options.pipeline ?? 'sparseDist'} pipeline, ended at t=${formatMs(endMs)} ms (virtual)`,
        ...results.map(
          (r) =>
            `rank ${r.rank}: ${r.batchesTrained} batch(es) trained, ${r.exhausted ? 'drained' : 'stopped'} at t=${formatMs(r.finishedAt)} ms` +
            (r.error ? ` — ${r.error.name}: ${r.error.message}` : ''),
        ),
        ...records.map(
          (f) =>
            `fault: ${f.description}${f.firedAt === undefined ? ' (never fired)' : ` (fired at t=${formatMs(f.firedAt)} ms)`}`,
        ),
      ].join('\n'),
  };
  return result;
}

/** The worst rank's median gap between `progress` returns over the second half of its run. */
function progressIterationMs(results: readonly RankResult[]): number {
  let worst = NaN;
  for (const r of results) {
    const t = r.outputs.map((o) => o.t);
    const gaps = t.slice(1).map((x, i) => x - t[i]);
    const second = gaps.slice(Math.floor(gaps.length / 2)).sort((a, b) => a - b);
    if (second.length === 0) continue;
    const n = second.length;
    const median = n % 2 === 1 ? second[(n - 1) / 2] : (second[n / 2 - 1] + second[n / 2]) / 2;
    if (!(median <= worst)) worst = median;
  }
  return worst;
}

function checkOptions(o: SimulateClusterOptions): void {
  const int = (name: string, v: unknown, min: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new RangeError(
        `simulateCluster: ${name} must be an integer ≥ ${min}, got ${String(v)}`,
      );
  };
  int('worldSize', o.worldSize, 1);
  int('batches', o.batches, 0);
  int('globalBatchSize', o.globalBatchSize, 1);
  if (o.globalBatchSize % o.worldSize !== 0) {
    throw new RangeError(
      `simulateCluster: globalBatchSize ${o.globalBatchSize} is not divisible by worldSize ${o.worldSize} (each rank trains an equal share)`,
    );
  }
  if (o.maxVirtualMs !== undefined && !(o.maxVirtualMs > 0))
    throw new RangeError(`simulateCluster: maxVirtualMs must be > 0, got ${o.maxVirtualMs}`);
}

/** The synthetic click log of the config's features; rank r gets its slice of each global batch. */
function defaultData(config: DlrmConfig, ctx: RankDataContext): Iterable<Batch> {
  const log = new SyntheticClickLog({
    seed: ctx.seed,
    denseDim: config.denseIn,
    features: config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows }))),
  });
  const { rank, localBatchSize: local } = ctx;
  return {
    *[Symbol.iterator]() {
      for (const b of log.batches(ctx.globalBatchSize, { count: ctx.batches }))
        yield b.sliceSamples(rank * local, (rank + 1) * local);
    },
  };
}

/** Slow ranks and all-collective delays: `setDelay` on both channels. */
function applyRankDelays(
  cluster: SimCluster,
  faults: readonly Fault[],
  fired: (f: Fault, t: number) => void,
): void {
  for (let rank = 0; rank < cluster.devices.length; rank++) {
    let extraMs = 0;
    let multiplier = 1;
    for (const f of faults) {
      if (f.rank !== rank) continue;
      if (f.kind === 'slowRank') multiplier *= f.multiplier;
      else if (f.kind === 'delayCollective' && f.index === undefined) extraMs += f.extraMs;
      else continue;
      fired(f, cluster.scheduler.now());
    }
    if (extraMs === 0 && multiplier === 1) continue;
    cluster.pgs.setDelay(rank, { extraMs, multiplier });
    cluster.distPgs.setDelay(rank, { extraMs, multiplier });
  }
}

/** The rank's channel, wrapped when per-call collective faults target it. */
function withCollectiveFaults(
  cluster: SimCluster,
  rank: Rank,
  channel: CollectiveChannel,
  faults: readonly Fault[],
  fired: (f: Fault, t: number) => void,
): ProcessGroup {
  const groups = channel === 'default' ? cluster.pgs : cluster.distPgs;
  const mine = (f: Fault) =>
    f.rank === rank && (('channel' in f ? f.channel : undefined) ?? 'default') === channel;
  const delays = faults.filter(
    (f): f is Extract<Fault, { kind: 'delayCollective' }> =>
      f.kind === 'delayCollective' && f.index !== undefined && mine(f),
  );
  const drop = faults.find(
    (f): f is Extract<Fault, { kind: 'dropCollective' }> => f.kind === 'dropCollective' && mine(f),
  );
  if (delays.length === 0 && !drop) return groups[rank];
  return new FaultyProcessGroup(groups[rank], {
    scheduler: cluster.scheduler,
    timeoutMs: groups.fabric.timeoutMs,
    channel,
    delays,
    drop,
    onFired: fired,
  });
}

interface StopSignal {
  promise: Promise<never>;
  fire(error: Error): void;
}

function stopSignal(): StopSignal {
  let fire!: (error: Error) => void;
  const promise = new Promise<never>((_, reject) => {
    fire = reject;
  });
  promise.catch(() => undefined);
  return { promise, fire };
}
