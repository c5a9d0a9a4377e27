/**
 * `sparsepipe train --inspect [PORT]`: serve the live state-chart inspector
 * (visualizations/inspector/server.ts) for this run. Every pipeline a rank creates is
 * attached: its events feed the page, and the page's pause / step / resume buttons act on
 * every attached pipeline at once. (While paused, ranks wait in collectives, so the sim
 * launcher turns collective timeouts off when inspecting.)
 *
 * The session remembers whether the page paused the run: a pipeline attached while paused
 * (a rank's first pipeline with `--inspect-wait`, which starts the session paused, or the
 * evaluation pipeline after a pause) is paused before it runs, until resume or step.
 * `finish()` tells the page the run is over (it shows "finished") while it stays served.
 *
 * @example
 * const session = await startInspectorSession(0, 'sparsepipe train', { paused: true });
 * session.attach(pipeline); // paused until the page's resume or step
 * session.finish();
 * await session.close();
 */
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { Subject, type Subscription } from 'rxjs';
import type { PipelineEvent } from '../protocol/index.ts';
import { TrainPipeline } from '../pipeline/train-pipeline.ts';
import { loadOptionalModule } from './optional-module.ts';

export interface InspectorSession {
  /** Where the page is served. */
  url: string;
  attach(pipeline: TrainPipeline): void;
  /** The run is over: stop the feed (the page shows "finished"); the page stays served. */
  finish(): void;
  close(): Promise<void>;
}

export interface InspectorSessionOptions {
  /** Start paused: pipelines wait for the page's resume or step (`--inspect-wait`). */
  paused?: boolean;
  /** The pipeline kinds of the run (their coordinator charts are shown too). */
  pipelineKinds?: readonly PipelineKind[];
}

export async function startInspectorSession(
  port: number,
  title: string,
  options: InspectorSessionOptions = {},
): Promise<InspectorSession> {
  const mod = await loadOptionalModule('inspector');
  const feed = new Subject<PipelineEvent>();
  const live = new Set<TrainPipeline>();
  const subs: Subscription[] = [];
  let paused = options.paused ?? false;
  const each = (f: (p: TrainPipeline) => void) => () => live.forEach(f);
  const handle = await mod.startInspector({
    port,
    title,
    feed,
    paused,
    pipelineKinds: options.pipelineKinds,
    controls: {
      pause: () => {
        paused = true;
        TrainPipeline.pauseTogether(live);
      },
      resume: () => {
        paused = false;
        each((p) => p.resume())();
      },
      step: each((p) => p.step()),
    },
  });
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    subs.forEach((s) => s.unsubscribe());
    feed.complete();
  };
  return {
    url: handle.url,
    attach(pipeline) {
      live.add(pipeline);
      subs.push(
        pipeline.events$.subscribe({
          next: (e) => feed.next(e),
          complete: () => live.delete(pipeline),
        }),
      );
      if (paused) pipeline.pause();
    },
    finish,
    async close() {
      finish();
      await handle.close();
    },
  };
}
