/**
 * `sparsepipe train`: parse and check the options, load a checkpoint to resume from, run
 * every rank through the backend's launcher, then write the checkpoint, the trace and the
 * JSON summary (each atomically, the summary last, nothing after a failure) and print the
 * report.
 *
 * ```
 * argv ─ parseTrainArgs ─ preflight (files, checkpoint) ─ specs (one per rank)
 *      ─ launcher.launch ─ results ─ logical params, summary
 *      ─ --checkpoint-out, --trace, --json ─ report on stdout
 * ```
 *
 * @example
 * process.exitCode = await main(['train', '--batches', '8', '--json', 'run.json']);
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { PipelineEvent } from '../protocol/index.ts';
import { wallClock } from '../runtime/wall-clock.ts';
import { countCriteoRows } from '../data/criteo-tsv.ts';
import { CheckpointError } from '../checkpoint/checkpoint-error.ts';
import {
  checkCheckpointTarget,
  readCheckpoint,
  writeCheckpoint,
  type LoadedCheckpoint,
} from '../checkpoint/checkpoint-dir.ts';
import { compareResumeKey } from '../checkpoint/manifest.ts';
import type { DlrmConfig } from '../models/dlrm-rank.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { checkOutputs, type OutputFile } from './output-paths.ts';
import { toChromeTrace } from '../trace/chrome-trace.ts';
import { CliError, UsageError, type CliIo } from './cli-io.ts';
import type { RankFault } from './fault-injection.ts';
import { startInspectorSession, type InspectorSession } from './inspector-session.ts';
import type { LaunchObserver, RankLauncher } from './launchers/rank-launcher.ts';
import { mpiDirectPlan } from './launchers/mpi-direct.ts';
import { mpiLauncher } from './launchers/mpi-launcher.ts';
import { simLauncher } from './launchers/sim-launcher.ts';
import { threadsLauncher } from './launchers/threads-launcher.ts';
import { logicalParams } from './logical-params.ts';
import { lossPlotSvg } from './loss-plot-svg.ts';
import { modelConfigFor, SYNTHETIC } from './model-config.ts';
import { ProgressBar } from './progress-bar.ts';
import { syntheticLogFor } from './rank-data.ts';
import type { RankJobSpec } from './rank-job.ts';
import { formatReport } from './report.ts';
import { resumeKeyOf } from './resume-key.ts';
import { checkMemory } from './memory-estimate.ts';
import { dataIdentity, type DataIdentity } from './data-identity.ts';
import { buildSummary, type TrainSummary } from './summary.ts';
import { PIPELINE_KIND, type TrainOptions } from './train-options.ts';
import { sparsepipeVersion } from './version.ts';

/** Test hooks of a run (not command-line options). */
export interface TrainHooks {
  /** Kill a rank mid-run (`SPARSEPIPE_FAULT`, src/cli/fault-injection.ts). */
  fault?: RankFault | null;
}

/**
 * Train with complete options; resolves with the summary (null in a process that is not the leader).
 *
 * @example
 * const summary = await train(parseTrainArgs(['--batches', '4']) as TrainOptions, io);
 */
export async function train(
  options: TrainOptions,
  io: CliIo,
  hooks: TrainHooks = {},
): Promise<TrainSummary | null> {
  const direct = mpiDirectPlan(options); // --backend mpi started by an external mpirun: this process is one rank
  if (direct) options = direct.options;
  if (!direct || direct.leader) await preflight(options); // outputs are rank 0's
  const config = modelConfigFor(options);
  checkMemory(options, config); // before anything is allocated
  // Only what a checkpoint records needs the data's identity (one pass over the file).
  const data =
    options.data !== SYNTHETIC && (options.resume || options.checkpointOut)
      ? await dataIdentity(options.data)
      : null;
  const resumed = options.resume
    ? await loadForResume(options.resume, options, config, data)
    : null;
  const firstBatch = resumed?.manifest.nextBatch ?? 0;
  // --eval-only: train nothing; the held-out pass runs through the eval pipeline.
  if (options.evalOnly) options = { ...options, batches: firstBatch };
  const split = options.data === SYNTHETIC ? null : await splitCriteoFile(options, firstBatch);
  const specs = rankSpecs(options, config, resumed, firstBatch, split);
  const launcher: RankLauncher =
    direct?.launcher ??
    { sim: simLauncher, threads: threadsLauncher, mpi: mpiLauncher }[options.backend];

  const inspector: InspectorSession | null =
    options.inspect !== null
      ? await startInspectorSession(
          options.inspect,
          `sparsepipe train — ${options.ranks} ranks, ${options.pipeline}`,
          { paused: options.inspectWait, pipelineKinds: [PIPELINE_KIND[options.pipeline]] },
        )
      : null;
  if (inspector) io.err(`sparsepipe: inspector at ${inspector.url}`);
  if (inspector && options.inspectWait)
    io.err('sparsepipe: the run starts paused: press resume or step in the inspector page');
  const toTrain = options.batches - firstBatch;
  const bar =
    io.isTTY && toTrain > 0
      ? new ProgressBar({
          total: toTrain,
          examplesPerBatch: options.batchSize,
          write: io.errRaw,
          now: wallClock.now,
        })
      : null;
  const observer: LaunchObserver = {
    onIteration: bar ? (m) => bar.update(m) : undefined,
    rankHooks: inspector ? () => ({ onPipeline: (p) => inspector.attach(p) }) : undefined,
  };

  const t0 = wallClock.now();
  let wallMs = 0;
  let outcome: Awaited<ReturnType<RankLauncher['launch']>>;
  try {
    outcome = await launcher.launch({ options, specs, fault: hooks.fault ?? null }, observer);
  } finally {
    wallMs = wallClock.now() - t0;
    bar?.done();
    // The page must stay reachable after a short run, with or without a terminal: the
    // inspector serves until Ctrl-C or SIGTERM, then the outputs are written.
    if (inspector) {
      inspector.finish();
      io.err(
        `sparsepipe: the run is over; the inspector keeps serving ${inspector.url} until Ctrl-C (or SIGTERM), then the outputs are written`,
      );
      await untilInterrupted();
    }
    await inspector?.close();
  }
  if (outcome.role === 'follower') return null;

  const { results } = outcome;
  const trained = Math.min(...results.map((r) => r.losses.length));
  if (toTrain > 0 && trained === 0)
    throw new CliError(
      `--data ${options.data}: no batch could be trained (not one global batch of ${options.batchSize} ` +
        `well-formed rows${options.skipBadRows ? ` after skipping ${results[0].skippedRows} malformed rows` : ''}); nothing written`,
    );
  if (trained < toTrain)
    io.err(
      `sparsepipe: warning: --data ${options.data} ran out after ${firstBatch + trained} batches ` +
        `(--batches ${options.batches}); the summary counts the ${firstBatch + trained} trained (batchesTrained)`,
    );
  const version = await sparsepipeVersion();
  const states = results.map((r) => r.checkpoint);
  const pending = states[0]?.pipeline.windowSize ?? 0;
  let bayesOptimalLoss: number | null = null;
  if (options.data === SYNTHETIC && options.heldOutExamples > 0) {
    const heldOut = syntheticLogFor(config, options.seed).heldOut();
    bayesOptimalLoss = heldOut.bayesOptimalLogLoss(heldOut.examples(0, options.heldOutExamples));
  }
  const summary = buildSummary({
    version,
    options,
    results,
    simulatedMs: outcome.simulatedMs,
    clock: outcome.clock,
    wallMs,
    params: logicalParams(results),
    bayesOptimalLoss,
    resumedFrom: options.resume,
    pendingMicroBatches: options.checkpointOut ? pending : 0,
  });

  const written: string[] = [];
  if (options.checkpointOut) {
    const ranks = states.flatMap((s) => (s === null ? [] : [s]));
    if (ranks.length !== states.length || ranks.length === 0)
      throw new CliError('internal: a rank returned no checkpoint state');
    const nextBatch = ranks[0].pipeline.nextBatch;
    if (nextBatch !== summary.batchesTrained) {
      throw new CliError(
        `internal: the pipeline reports next batch ${nextBatch} after ${summary.batchesTrained} batches trained; no checkpoint written`,
      );
    }
    await writeCheckpoint(options.checkpointOut, {
      resumeKey: resumeKeyOf(options, config, data),
      nextBatch,
      ranks,
      createdBy: `sparsepipe ${version}`,
    });
    written.push(`checkpoint ${options.checkpointOut}/`);
  }
  if (options.trace) {
    await writeFileAtomic(
      options.trace,
      JSON.stringify(toChromeTrace(mergeEvents(results.map((r) => r.events)))),
    );
    written.push(`trace ${options.trace}`);
  }
  if (options.traceEvents) {
    await writeFileAtomic(
      options.traceEvents,
      JSON.stringify(mergeEvents(results.map((r) => r.events))),
    );
    written.push(`events ${options.traceEvents}`);
  }
  if (options.report) {
    await mkdir(options.report, { recursive: true });
    const title = `sparsepipe train: ${options.model} (${options.modelSize}), ${options.data === SYNTHETIC ? 'synthetic data' : basename(options.data)}, ${options.optimizer} lr ${options.lr}`;
    await writeFileAtomic(
      join(options.report, 'loss.svg'),
      lossPlotSvg({
        losses: summary.losses,
        firstBatch: summary.firstBatch,
        heldOutLoss: summary.heldOutLoss,
        title,
      }),
    );
    await writeFileAtomic(
      join(options.report, 'report.txt'),
      `${formatReport(summary, []).join('\n')}\n`,
    );
    written.push(`report ${join(options.report, 'report.txt')} and loss.svg`);
  }
  if (options.json) {
    await writeFileAtomic(options.json, `${JSON.stringify(summary, null, 2)}\n`);
    written.push(`summary ${options.json}`);
  }
  for (const line of formatReport(summary, written)) io.out(line);
  return summary;
}

/** Check inputs and output locations before a long run. */
async function preflight(o: TrainOptions): Promise<void> {
  if (o.data !== SYNTHETIC) {
    const s = await stat(o.data).catch(() => null);
    if (!s?.isFile())
      throw new UsageError(
        `--data ${JSON.stringify(o.data)}: no such file (give "synthetic" or a Criteo TSV file)`,
      );
  }
  const outputs: OutputFile[] = [];
  if (o.json !== null) outputs.push({ flag: '--json', path: o.json });
  if (o.trace !== null) outputs.push({ flag: '--trace', path: o.trace });
  if (o.traceEvents !== null) outputs.push({ flag: '--trace-events', path: o.traceEvents });
  await checkOutputs(outputs, o.data === SYNTHETIC ? null : o.data);
  if (o.report !== null) {
    const r = await stat(o.report).catch(() => null);
    if (r && !r.isDirectory())
      throw new UsageError(`--report ${o.report}: is a file, not a directory`);
    const parent = await stat(join(o.report, '..')).catch(() => null);
    if (!r && !parent?.isDirectory())
      throw new UsageError(`--report ${o.report}: its parent directory does not exist`);
  }
  if (o.checkpointOut) {
    try {
      await checkCheckpointTarget(o.checkpointOut);
    } catch (e) {
      if (e instanceof CheckpointError)
        throw new UsageError(`--checkpoint-out ${e.dir}: ${e.reason}`);
      throw e;
    }
  }
}

/** Read a checkpoint and check it fits this run; throws one line naming what does not. */
async function loadForResume(
  dir: string,
  o: TrainOptions,
  config: DlrmConfig,
  data: DataIdentity | null,
): Promise<LoadedCheckpoint> {
  let loaded: LoadedCheckpoint;
  try {
    loaded = await readCheckpoint(dir);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CliError(`--resume ${e.dir}: ${e.reason}`);
    throw e;
  }
  const problems = compareResumeKey(loaded.manifest.resumeKey, resumeKeyOf(o, config, data));
  if (problems.length > 0)
    throw new CliError(
      `--resume ${dir}: options differ from the checkpoint's: ${problems.join('; ')}`,
    );
  const done = loaded.manifest.nextBatch;
  if (done > o.batches && !o.evalOnly)
    throw new CliError(
      `--resume ${dir}: the checkpoint has already trained ${done} batches, more than --batches ${o.batches}`,
    );
  return loaded;
}

/** How a Criteo file is split: rows trained on, rows held out for evaluation. */
interface CriteoSplit {
  rows: number;
  trainRows: number;
  heldOutRows: { from: number; to: number } | null;
}

/**
 * The documented split of a Criteo file (docs/design.md "Real data"): its last
 * `min(--held-out-examples, rows / 10)` rows are held out (none when that is fewer than
 * the ranks), the rows before are trained on. A file with not even one global batch to
 * train on fails before any rank starts.
 */
async function splitCriteoFile(o: TrainOptions, firstBatch: number): Promise<CriteoSplit> {
  const rows = await countCriteoRows(o.data);
  let held = Math.min(o.heldOutExamples, Math.floor(rows / 10));
  if (held < o.ranks) held = 0;
  const trainRows = rows - held;
  if (trainRows < o.batchSize && o.batches > firstBatch)
    throw new CliError(
      `--data ${o.data}: ${rows} data rows${held > 0 ? ` (${held} held out for evaluation)` : ''} leave ` +
        `${trainRows} to train on, fewer than one global batch of ${o.batchSize} (--batch-size); no batch could be trained`,
    );
  return { rows, trainRows, heldOutRows: held > 0 ? { from: trainRows, to: rows } : null };
}

function rankSpecs(
  o: TrainOptions,
  config: DlrmConfig,
  resumed: LoadedCheckpoint | null,
  firstBatch: number,
  split: CriteoSplit | null,
): RankJobSpec[] {
  return Array.from({ length: o.ranks }, (_, rank) => ({
    rank,
    worldSize: o.ranks,
    config,
    pipeline: o.pipeline,
    gradAccum: o.gradAccum,
    gradAccumSchedule: o.gradAccumSchedule,
    data:
      split === null
        ? { kind: 'synthetic', seed: o.seed }
        : {
            kind: 'criteo',
            path: o.data,
            skipBadRows: o.skipBadRows,
            trainRows: split.trainRows,
            heldOutRows: split.heldOutRows,
          },
    denseMath: o.denseMath,
    blasThreads: o.blasThreads,
    globalBatchSize: o.batchSize,
    firstBatch,
    totalBatches: o.batches,
    pauseAtEnd: o.checkpointOut !== null,
    captureCheckpoint: o.checkpointOut !== null,
    heldOutExamples: split === null ? o.heldOutExamples : split.heldOutRows ? o.heldOutExamples : 0,
    events: o.trace || o.traceEvents ? 'all' : 'spans',
    resume: resumed ? resumed.ranks[rank] : null,
    interpreter: o.interpreter,
    lookAhead: {
      embLookupStream: o.embLookupStream,
      startBatch: o.startBatch,
      stashGradients: o.stashGradients,
    },
  }));
}

/** Resolves at the first SIGINT (Ctrl-C) or SIGTERM, which then no longer end the process. */
function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** All ranks' events in time order (stable: ties keep rank order). */
function mergeEvents(perRank: readonly PipelineEvent[][]): PipelineEvent[] {
  return perRank.flat().sort((a, b) => a.t - b.t);
}
