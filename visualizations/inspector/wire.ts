/**
 * Messages between the inspector server and its page (JSON over the WebSocket at `/ws`).
 *
 * ```
 * server → page: init (charts, events so far, timeline, status) · events (a batch) ·
 *                timeline (SVG) · status · ack · error
 * page → server: control { action: pause | resume | step }
 * ```
 *
 * @example
 * ws.send(JSON.stringify({ type: 'control', action: 'step' } satisfies ClientMessage));
 */
import type { PipelineEvent } from '../../src/protocol/index.ts';

export type ControlAction = 'pause' | 'resume' | 'step';

export type ServerMessage =
  | {
      type: 'init';
      title: string;
      charts: Array<{ name: string; svg: string }>;
      events: readonly PipelineEvent[];
      timeline: string;
      paused: boolean;
      done: boolean;
      controls: boolean;
    }
  | { type: 'events'; events: readonly PipelineEvent[] }
  | { type: 'timeline'; svg: string }
  | { type: 'status'; paused: boolean; done: boolean; controls: boolean }
  | { type: 'ack'; action: ControlAction }
  | { type: 'error'; message: string };

export type ClientMessage = { type: 'control'; action: ControlAction };
