/**
 * Run statistics: the steady-state iteration time (median of the second half) and the
 * per-stream busy fraction from span events.
 */
import { describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../../src/protocol/index.ts';
import { medianSecondHalf, streamBusyFraction } from '../../src/cli/run-stats.ts';

describe('medianSecondHalf', () => {
  it('uses the finite values of the second half', () => {
    expect(medianSecondHalf([NaN, 9, 1, 2, 4])).toBe(2);
    expect(medianSecondHalf([NaN, 100, 3, 5])).toBe(4);
    expect(medianSecondHalf([])).toBeNull();
    expect(medianSecondHalf([NaN])).toBeNull();
  });
});

describe('streamBusyFraction', () => {
  const ev = (type: string, t: number, batch: number, rank = 0, module?: string): PipelineEvent =>
    ({ type, t, batch, rank, ...(module ? { module } : {}) }) as PipelineEvent;

  it('unions the spans of each stream over the first-start … last-end window', () => {
    const events = [
      ev('copy.start', 0, 0),
      ev('copy.end', 2, 0),
      ev('dist.start', 2, 0, 0, 'a'),
      ev('dist.start', 3, 0, 0, 'b'),
      ev('dist.end', 5, 0, 0, 'a'),
      ev('dist.end', 6, 0, 0, 'b'),
      ev('forward.start', 6, 0),
      ev('forward.end', 8, 0),
      ev('backward.start', 8, 0),
      ev('backward.end', 10, 0),
    ];
    expect(streamBusyFraction(events)).toEqual({
      memcpy: 0.2,
      dataDist: 0.4,
      default: 0.4,
      embLookup: 0,
      prefetch: 0,
    });
  });

  it('averages over ranks', () => {
    const events = [
      ev('copy.start', 0, 0, 0),
      ev('copy.end', 10, 0, 0),
      ev('copy.start', 0, 0, 1),
      ev('forward.start', 0, 0, 1),
      ev('copy.end', 5, 0, 1),
      ev('forward.end', 10, 0, 1),
    ];
    expect(streamBusyFraction(events)).toEqual({
      memcpy: 0.75,
      dataDist: 0,
      default: 0.5,
      embLookup: 0,
      prefetch: 0,
    });
  });
});
