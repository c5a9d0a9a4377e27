/**
 * The CLI's fallback Chrome-trace exporter (used when src/trace/chrome-trace.ts is absent):
 * one process per rank, one thread per stream, spans as complete events in time order.
 */
import { describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { minimalChromeTrace } from '../../src/cli/chrome-trace-export.ts';

describe('minimalChromeTrace', () => {
  it('pairs spans per rank, stream and batch and keeps points as instants', () => {
    const events = [
      { type: 'copy.start', rank: 1, t: 1, batch: 0 },
      { type: 'pipeline.connect', rank: 0, t: 0 },
      { type: 'copy.end', rank: 1, t: 3, batch: 0 },
      { type: 'forward.start', rank: 0, t: 2, batch: 0 },
      { type: 'forward.end', rank: 0, t: 4, batch: 0 },
    ] as PipelineEvent[];
    const { traceEvents } = minimalChromeTrace(events);
    const timed = traceEvents.filter((e) => e.ph !== 'M');
    expect(timed.map((e) => [e.name, e.ph, e.pid, e.ts, e.dur])).toEqual([
      ['pipeline.connect', 'i', 0, 0, undefined],
      ['copy', 'X', 1, 1000, 2000],
      ['forward', 'X', 0, 2000, 2000],
    ]);
    expect(timed[1].args).toEqual({ batch: 0 });
    expect(traceEvents.filter((e) => e.name === 'process_name').map((e) => e.args)).toEqual([
      { name: 'rank 0' },
      { name: 'rank 1' },
    ]);
  });
});
