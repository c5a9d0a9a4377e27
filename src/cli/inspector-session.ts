/**
 * `sparsepipe train --inspect [PORT]`: serve the live state-chart inspector
 * (visualizations/inspector/server.ts) for this run. Every pipeline a rank creates is
 * attached: its events feed the page, and the page's pause / step / resume buttons act on
 * every attached pipeline at once. (While paused, ranks wait in collectives, so the sim
 * launcher turns collective timeouts off when inspecting.)
 *
 * @example
 * const session = await startInspectorSession(0, 'sparsepipe train');
 * session.attach(pipeline);
 * await session.close();
 */
import { Subject, type Subscription } from 'rxjs';
import type { PipelineEvent } from '../protocol/index.ts';
import type { TrainPipeline } from '../pipeline/train-pipeline.ts';
import { CliError } from './cli-io.ts';
import { importOptional } from './optional-module.ts';

export interface InspectorSession {
  /** Where the page is served. */
  url: string;
  attach(pipeline: TrainPipeline): void;
  close(): Promise<void>;
}

interface InspectorModule {
  startInspector(options: {
    port?: number;
    title?: string;
    feed?: Subject<PipelineEvent>;
    controls?: { pause(): void; resume(): void; step(): void };
  }): Promise<{ url: string; close(): Promise<void> }>;
}

const INSPECTOR_SERVER = new URL('../../visualizations/inspector/server.ts', import.meta.url);

export async function startInspectorSession(port: number, title: string): Promise<InspectorSession> {
  const mod = (await importOptional(INSPECTOR_SERVER)) as InspectorModule | null;
  if (typeof mod?.startInspector !== 'function') {
    throw new CliError('--inspect is not available yet (visualizations/inspector/server.ts is missing)');
  }
  const feed = new Subject<PipelineEvent>();
  const live = new Set<TrainPipeline>();
  const subs: Subscription[] = [];
  const each = (f: (p: TrainPipeline) => void) => () => live.forEach(f);
  const handle = await mod.startInspector({
    port,
    title,
    feed,
    controls: { pause: each((p) => p.pause()), resume: each((p) => p.resume()), step: each((p) => p.step()) },
  });
  return {
    url: handle.url,
    attach(pipeline) {
      live.add(pipeline);
      subs.push(pipeline.events$.subscribe({ next: (e) => feed.next(e), complete: () => live.delete(pipeline) }));
    },
    async close() {
      subs.forEach((s) => s.unsubscribe());
      feed.complete();
      await handle.close();
    },
  };
}
