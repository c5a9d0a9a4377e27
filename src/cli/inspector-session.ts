/**
 * `sparsepipe train --inspect [PORT]`: hand the run's actors and pipelines to the state-chart
 * inspector (`visualizations/inspector/server.ts`), when it is available.
 *
 * **Contract with the inspector module**: it exports
 * `startInspector({ port }): Promise<InspectorSession>` (see {@link InspectorSession}); the
 * CLI passes `session.inspect(rank)` as every pipeline's XState `inspect` observer and
 * `session.attach(rank, pipeline)` for each pipeline (events$, pause/step controls), and
 * calls `close()` when the run is over.
 *
 * @example
 * const session = await startInspectorSession(4317);
 */
import type { InspectionEvent, Observer } from 'xstate';
import type { TrainPipeline } from '../pipeline/train-pipeline.ts';
import { CliError } from './cli-io.ts';
import { importOptional } from './optional-module.ts';

export interface InspectorSession {
  /** Where the page is served. */
  url: string;
  inspect(rank: number): Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  attach(rank: number, pipeline: TrainPipeline): void;
  close(): Promise<void>;
}

export const INSPECTOR_MODULE = new URL('../../visualizations/inspector/server.ts', import.meta.url);

export async function startInspectorSession(port: number): Promise<InspectorSession> {
  const mod = await importOptional(INSPECTOR_MODULE);
  const start = mod?.startInspector;
  if (typeof start !== 'function') {
    throw new CliError('--inspect is not available yet (visualizations/inspector/server.ts does not export startInspector({ port }))');
  }
  return (start as (o: { port: number }) => Promise<InspectorSession>)({ port });
}
