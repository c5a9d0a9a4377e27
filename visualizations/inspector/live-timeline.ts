/**
 * The inspector's timeline: the last few iterations of a growing event log, rendered as
 * the same SVG Gantt as `visualizations/timeline`.
 *
 * @example
 * const svg = liveTimelineSvg(events, { iterations: 12 });
 */
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { renderTimelineSvg } from '../timeline/render-timeline-svg.ts';

export interface LiveTimelineOptions {
  /** Iterations (forward starts of the lowest rank) to show, most recent last. Default 16. */
  iterations?: number;
  /** Plot width in px (default 1100). */
  plotWidth?: number;
}

/**
 * The tail of `events` that holds the last `iterations` iterations (plus the two before,
 * so the copies and dists that fed them are drawn too).
 *
 * @example
 * recentEvents(events, 4).length <= events.length; // true
 */
export function recentEvents(
  events: readonly PipelineEvent[],
  iterations: number,
): readonly PipelineEvent[] {
  if (events.length === 0) return events;
  let lowest = Infinity;
  for (const e of events) if (e.rank < lowest) lowest = e.rank;
  let seen = 0;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'forward.start' && e.rank === lowest && ++seen === iterations + 2)
      return events.slice(i);
  }
  return events;
}

/**
 * Renders the recent part of the log (an empty chart when nothing happened yet).
 *
 * @example
 * socket.send(JSON.stringify({ type: 'timeline', svg: liveTimelineSvg(log) }));
 */
export function liveTimelineSvg(
  events: readonly PipelineEvent[],
  options: LiveTimelineOptions = {},
): string {
  const tail = recentEvents(events, options.iterations ?? 16);
  return renderTimelineSvg(tail, { plotWidth: options.plotWidth ?? 1100 });
}
